"""The part of a workbook one customer's contact concerns, read without parsing the whole ledger (issue 12).

``cobro log`` appends one Contacts row and re-derives the ``reminder_level``/``last_contact`` columns of the
invoices it concerns. Parsing 100,000 invoices, their payments and the whole contact log for that costs seconds; what
it needs is small:

- Settings, Customers and Levels (small sheets), read whole;
- the Invoices rows of the customer and of the invoices the contact lists;
- the Contacts rows that can move those invoices' derived columns: rows of those invoices' customers (a row without
  invoice ids concerns the whole account) and rows listing one of those invoices.

Rows are found in the sheet XML by searching for the ids' text (an inline string, a formula's cached text, a
number) and for references to the shared strings that contain it, so the selection is a superset: it also takes
a row that merely mentions an id (a note, an order number), and rows whose text is encoded in a way a byte search
cannot see through (character references, rich-text runs, ``_xHHHH_`` escapes). The rows found are copied, with
the first rows of the sheet (where the header is found), into a small workbook that calamine reads exactly as it
reads the whole one; ``cobro.ledger.parse_ledger`` types and validates them; then the invoices are filtered exactly
(customer id, or a listed invoice id) and so are the contacts. The derived columns of an invoice depend only on its
own contacts, so they come out as the whole-ledger computation gives them.

Anything outside what this reader handles (a prefixed or UTF-16 part, rows without numbers, an id with XML
special characters, a missing sheet) returns ``None``: the caller loads the whole ledger as before.
"""

from __future__ import annotations

import io
import os
import re
import sys
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cobro.ledger import Ledger, _text, parse_ledger
from cobro.schema import SHEETS_BY_KEY, find_sheet

from .xlsx_package import Package
from .xlsx_raw import HEADER_SCAN_ROWS, RawWorkbook, _locale, _settings_from_rows, _table_from_rows
from .xlsx_sheet import NS_MAIN, NS_REL, WorkbookParts

HEAD_ROWS = 2 * HEADER_SCAN_ROWS  # rows kept as they are at the top of a trimmed sheet (the header is among them)
CHUNK = 8 << 20                   # a large sheet is searched this many inflated bytes at a time
WINDOW = 1 << 20                  # bytes per search call (the interpreter is let go between calls)
WHOLE = ("Settings", "Customers", "Levels")   # small sheets, read whole

_ROW_OPEN = re.compile(rb"<row\b([^>]*?)(/?)>")
_ROW_NUM = re.compile(rb"""\br\s*=\s*["'](\d+)["']""")
_CELL = re.compile(rb"<c\b([^>]*?)(?:/>|>(.*?)</c>)", re.DOTALL)
_CELL_REF = re.compile(rb"""(\sr\s*=\s*["'])([A-Za-z]{1,3})\d+(["'])""")
_SHARED = re.compile(rb"""\st\s*=\s*["']s["']""")
_V = re.compile(rb"<v\b[^>]*>\s*(\d+)\s*</v>")
_XML_SPECIAL = set("&<>\"'")


@dataclass
class Concerning:
    """What ``read_concerning`` found: the raw tables (rows by their sheet row), the typed ledger and the worksheet
    parts it inflated whole (the writer reuses them instead of inflating them again)."""

    raw: RawWorkbook
    ledger: Ledger
    inflated: dict[str, bytes]


# ----------------------------------------------------------------------------------------------- searching


def _trie(words: Iterable[bytes]) -> bytes:
    """A regular expression matching any of ``words`` (a trie: one branch per distinct next byte)."""
    tree: dict[int | None, object] = {}
    for w in words:
        node = tree
        for ch in w:
            node = node.setdefault(ch, {})  # type: ignore[assignment]
        node[None] = True

    def build(node: dict[int | None, object]) -> bytes:
        alts = [re.escape(bytes([ch])) + build(sub) for ch, sub in sorted(  # type: ignore[arg-type]
            (k, v) for k, v in node.items() if k is not None)]
        if not alts:
            return b""
        body = alts[0] if len(alts) == 1 else b"(?:" + b"|".join(alts) + b")"
        return b"(?:" + body + b")?" if None in node else body

    return build(tree)


class _Finder:
    """Finds any of some byte strings: one ``bytes.find`` pass per string when they are few, else regular
    expressions that each start with a literal prefix (the engine then jumps between occurrences of the prefix;
    an alternation of the strings would test every byte)."""

    def __init__(self, words: Iterable[bytes], most: int = 4, literals: Iterable[bytes] = ()):
        uniq = sorted(set(w for w in words if w))
        self.longest = max((len(w) for w in uniq), default=0)
        self.literals: list[bytes] = list(literals)
        self.patterns: list[re.Pattern[bytes]] = []
        if len(uniq) <= most:
            self.literals += uniq
            return
        groups: dict[bytes, list[bytes]] = {}
        for k in (4, 3, 2, 1):
            groups = {}
            for w in uniq:
                groups.setdefault(w[:k], []).append(w)
            if len(groups) <= most:
                break
        for ws in groups.values():
            if len(ws) == 1:
                self.literals.append(ws[0])
                continue
            prefix = os.path.commonprefix(ws)
            self.patterns.append(re.compile(re.escape(prefix) + _trie(w[len(prefix):] for w in ws)))

    @classmethod
    def of(cls, words: Sequence[bytes], refs: Iterable[int]) -> _Finder:
        """A finder for ids (``words``), references to the shared strings ``refs`` and the markers of text a byte
        search cannot read through (each family searched on its own: their prefixes differ)."""
        f = cls(words, literals=_opaque(words))
        r = cls(_refs(refs), most=4)
        if r.patterns:  # many references: one pass with the "<v>" prefix rather than one per digit
            r.literals, r.patterns = [], [re.compile(b"<v>" + _trie(w[3:] for w in _refs(refs)))]
        f.literals += r.literals
        f.patterns += r.patterns
        f.longest = max(f.longest, r.longest)
        return f

    def positions(self, buf: bytes | bytearray, start: int = 0, end: int | None = None) -> Iterator[int]:
        """Where the words start in ``buf[start:end]``, WINDOW bytes per search call: between calls another
        thread (the one inflating the next chunk) gets the interpreter, instead of waiting out a long search."""
        end = len(buf) if end is None else end
        for w in self.literals:
            for lo in range(start, end, WINDOW):
                hi = min(lo + WINDOW, end)
                at = buf.find(w, lo, min(hi + len(w) - 1, end))
                while 0 <= at < hi:
                    yield at
                    at = buf.find(w, at + 1, min(hi + len(w) - 1, end))
        for p in self.patterns:
            for lo in range(start, end, WINDOW):
                hi = min(lo + WINDOW, end)
                for m in p.finditer(buf, lo, min(hi + self.longest, end)):
                    if m.start() >= hi:
                        break
                    yield m.start()


def _needles(texts: Iterable[str]) -> list[bytes] | None:
    """The ids as their bytes in the XML, or None for an id a byte search could miss (blank, XML specials)."""
    out = []
    for t in texts:
        if not t or _XML_SPECIAL & set(t):
            return None
        out.append(t.encode("utf-8"))
    return out


def _opaque(words: Sequence[bytes], runs: bytes = b"<is><r>") -> list[bytes]:
    """Markers of cell text a byte search for ``words`` could not read through: rich-text runs always (``runs``: in
    a sheet, those of an inline string); character references when a word is not ASCII (an ASCII id is never
    written as references); ``_xHHHH_`` escapes when a word holds ``_x`` or a control character (the only text
    writers escape so)."""
    out = [runs]
    if any(not w.isascii() for w in words):
        out.append(b"&#")
    if any(b"_x" in w or any(c < 32 for c in w) for w in words):
        out.append(b"_x")
    return out


def _refs(indexes: Iterable[int]) -> list[bytes]:
    return [b"<v>%d</v>" % i for i in indexes]


class _Strings:
    """The shared-string table: where each string starts, and its inner XML (``<t>``, runs) by index."""

    def __init__(self, data: bytes | bytearray):
        self.data = data
        # "<si" opens a string item and nothing else ("<" in text is escaped): found at array speed
        a = np.frombuffer(data, dtype=np.uint8)
        self.starts = np.flatnonzero((a[:-2] == 60) & (a[1:-1] == 115) & (a[2:] == 105)) if len(a) > 2 else \
            np.zeros(0, dtype=np.int64)
        self._inner: dict[int, bytes | None] = {}

    def index_at(self, pos: int) -> int:
        return int(self.starts.searchsorted(pos, side="right")) - 1

    def hits(self, words: Sequence[bytes]) -> set[int]:
        """Indexes of the strings whose text contains one of ``words``: found by their bytes, or, for the strings
        a byte search cannot read through (runs, references, escapes), by their decoded text."""
        found = {i for i in map(self.index_at, _Finder(words).positions(self.data)) if i >= 0}
        texts = [w.decode("utf-8") for w in words]
        for i in {self.index_at(at) for at in _Finder((), literals=_opaque(words, b"<r>")).positions(self.data)}:
            if i >= 0 and i not in found:
                inner = self.inner(i)
                if inner is not None and any(t in _decoded(inner) for t in texts):
                    found.add(i)
        return found

    def inner(self, i: int) -> bytes | None:
        if i in self._inner:
            return self._inner[i]
        got = None
        if 0 <= i < len(self.starts):
            start = int(self.starts[i])
            gt = self.data.find(b">", start)
            if gt >= 0 and self.data[gt - 1:gt] == b"/":
                got = b""
            elif gt >= 0:
                end = self.data.find(b"</si>", gt)
                got = bytes(self.data[gt + 1:end]) if end >= 0 else None
        self._inner[i] = got
        return got


def _decoded(inner: bytes) -> str:
    """A string item's text (its runs' text, phonetic runs left out)."""
    from .xlsx_sheet import _unescape

    body = re.sub(rb"<rPh\b.*?</rPh>", b"", inner, flags=re.DOTALL)
    return "".join(_unescape(t.group(1) or b"") for t in re.finditer(
        rb"<t\b[^>]*?(?:/>|>(.*?)</t>)", body, re.DOTALL))


@dataclass
class _Trimmed:
    """A sheet cut down to its first rows and the rows found, ready for the small workbook."""

    head: bytes                     # the part up to and including <sheetData>, without its dimension
    rows: list[tuple[int, bytes]]   # (sheet row, row XML), in order
    bound: int                      # rows up to here are kept as they are; later ones are renumbered after it


class _Unhandled(Exception):
    """The sheet is written in a way this reader does not handle (the caller reads the whole ledger)."""


def _head(buf: bytes | bytearray) -> tuple[bytes, int] | None:
    """The part's bytes up to its ``<sheetData>`` (dimension left out) and where the rows start (-1: no rows);
    None when the buffer does not reach ``<sheetData>`` yet."""
    m = re.search(rb"<(\w+:)?sheetData\b[^>]*?(/?)>", buf)
    if m is None:
        return None
    if m.group(1) or buf[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise _Unhandled
    head = re.sub(rb"<dimension\b[^>]*/>", b"", bytes(buf[:m.start()])) + b"<sheetData>"
    return head, (m.end() if not m.group(2) else -1)


def _rows_at(buf: bytes | bytearray, start: int, end: int, finder: _Finder) -> dict[int, bytes]:
    """The rows of ``buf[start:end]`` (whole rows) in which ``finder`` finds something, by sheet row."""
    out: dict[int, bytes] = {}
    seen: set[int] = set()
    for pos in finder.positions(buf, start, end):
        at = buf.rfind(b"<row", start, pos)
        while at >= 0 and buf[at + 4:at + 5] not in (b" ", b">", b"\t", b"\r", b"\n"):
            at = buf.rfind(b"<row", start, at)
        if at < 0 or at in seen:
            continue
        gt = buf.find(b">", at)
        close = buf.find(b"</row>", gt)
        if buf[gt - 1:gt] == b"/" or close < 0 or close < pos:
            continue  # not inside a row (a validation's formula, the sheet's tail)
        seen.add(at)
        row = bytes(buf[at:close + 6])
        n = _ROW_NUM.search(row, 0, gt - at)
        if n is None:
            raise _Unhandled
        out[int(n.group(1))] = row
    return out


def _first_rows(buf: bytes | bytearray, start: int, end: int, more: bool
                ) -> tuple[list[tuple[int, bytes]], int] | None:
    """The rows at the top of the sheet (up to HEAD_ROWS past the first one holding a value), and that bound.
    None (``more``: the buffer goes on) when the buffer ends first."""
    rows: list[tuple[int, bytes]] = []
    bound = None
    pos = start
    while True:
        m = _ROW_OPEN.search(buf, pos, end)
        if m is None:
            if more:
                return None
            break
        n = _ROW_NUM.search(m.group(1))
        if n is None:
            raise _Unhandled
        r = int(n.group(1))
        if bound is not None and r > bound:
            break
        if m.group(2):
            stop = m.end()
        else:
            close = buf.find(b"</row>", m.end(), end)
            if close < 0:
                if more:
                    return None
                break
            stop = close + 6
        xml = bytes(buf[m.start():stop])
        if bound is None and (b"<v" in xml or b"<is" in xml):
            bound = r + HEAD_ROWS
        rows.append((r, xml))
        pos = stop
    return rows, (bound if bound is not None else HEAD_ROWS)


def _search_sheet(xml: bytes | bytearray, finder: _Finder) -> _Trimmed:
    """The first rows of a whole inflated sheet and the rows ``finder`` finds something in."""
    got = _head(xml)
    if got is None:
        raise _Unhandled
    head, body = got
    if body < 0:
        return _Trimmed(head, [], HEAD_ROWS)
    end = xml.find(b"</sheetData>", body)
    if end < 0:
        raise _Unhandled
    first = _first_rows(xml, body, end, more=False)
    assert first is not None
    top, bound = first
    found = _rows_at(xml, body, end, finder)
    found.update(top)
    return _Trimmed(head, sorted(found.items()), bound)


def _inflated(pkg: Package, part: str) -> Iterator[bytes]:
    """A member's bytes CHUNK at a time, inflated by a thread (zlib lets go of the interpreter meanwhile, so the
    search of one chunk runs while the next is inflated)."""
    import queue
    import threading

    q: queue.Queue[bytes | BaseException] = queue.Queue(maxsize=2)
    stop = threading.Event()

    def work() -> None:
        try:
            for piece in pkg.chunks(part, CHUNK):
                if stop.is_set():
                    return
                q.put(piece)
            q.put(b"")
        except BaseException as e:  # handed to the reader
            q.put(e)

    t = threading.Thread(target=work, name="cobro-inflate", daemon=True)
    t.start()
    try:
        while True:
            got = q.get()
            if isinstance(got, BaseException):
                raise got
            yield got
            if not got:
                return
    finally:
        stop.set()
        while t.is_alive():  # let the thread see the stop (it may wait on a full queue)
            try:
                q.get_nowait()
            except queue.Empty:
                t.join(0.01)


def _search_stream(pkg: Package, part: str, finder: _Finder) -> _Trimmed:
    """As ``_search_sheet``, CHUNK inflated bytes at a time: a large sheet is never held whole."""
    trimmed: _Trimmed | None = None
    found: dict[int, bytes] = {}
    carry = b""
    for piece in _inflated(pkg, part):
        buf = carry + piece
        start = 0
        if trimmed is None:
            got = _head(buf)
            if got is None:
                if not piece or len(buf) > (64 << 20):
                    raise _Unhandled
                carry = buf
                continue
            head, body = got
            if body < 0:
                return _Trimmed(head, [], HEAD_ROWS)
            sd_end = buf.find(b"</sheetData>", body)
            first = _first_rows(buf, body, sd_end if sd_end >= 0 else len(buf), more=bool(piece) and sd_end < 0)
            if first is None:
                if len(buf) > (64 << 20):
                    raise _Unhandled
                carry = buf
                continue
            top, bound = first
            trimmed = _Trimmed(head, [], bound)
            found.update(top)
            start = body
        last = buf.rfind(b"</row>")
        done = buf.find(b"</sheetData>", max(last, start))  # after the last whole row: no pass over the chunk
        if done < 0 and not piece:
            raise _Unhandled  # a truncated sheet: the whole read reports it
        cut = done if done >= 0 else last + 6
        if cut < start + 6 and done < 0:
            carry = buf
            continue
        for r, row in _rows_at(buf, start, cut, finder).items():
            found.setdefault(r, row)
        if done >= 0:
            break
        carry = bytes(buf[cut:])
    if trimmed is None:
        raise _Unhandled
    trimmed.rows = sorted(found.items())
    return trimmed


# ----------------------------------------------------------------------------------------------- the small workbook


_SHARED_CELL = re.compile(rb"""<c\b([^>]*?)\st="s"([^>]*)>\s*<v>\s*(\d+)\s*</v>\s*</c>""")


def _inline(xml: bytes, strings: _Strings) -> bytes:
    """Shared-string cells made inline strings with the same inner XML (the small workbook has no string table)."""
    if b't="s"' not in xml and b"t='s'" not in xml:
        return xml
    bad = False

    def fast(m: re.Match[bytes]) -> bytes:
        nonlocal bad
        inner = strings.inner(int(m.group(3)))
        if inner is None:
            bad = True
            return m.group(0)
        return b"<c" + m.group(1) + b' t="inlineStr"' + m.group(2) + b"><is>" + inner + b"</is></c>"

    def cell(m: re.Match[bytes]) -> bytes:  # any other shape of a shared-string cell
        nonlocal bad
        attrs = m.group(1)
        if not _SHARED.search(attrs):
            return m.group(0)
        v = _V.search(m.group(2) or b"")
        inner = strings.inner(int(v.group(1))) if v else None
        if inner is None:
            bad = bad or v is not None
            return b"<c" + _SHARED.sub(b"", attrs) + b"/>"
        return b"<c" + _SHARED.sub(b' t="inlineStr"', attrs) + b"><is>" + inner + b"</is></c>"

    out = _SHARED_CELL.sub(fast, xml)
    if b't="s"' in out or b"t='s'" in out:
        out = _CELL.sub(cell, out)
    if bad:  # a reference past the string table: left to the whole read
        raise _Unhandled
    return out


def _renumber(row: bytes, new: int) -> bytes:
    m = _ROW_OPEN.match(row)
    assert m is not None
    opening = _ROW_NUM.sub(b'r="%d"' % new, m.group(0), count=1)
    body = _CELL_REF.sub(lambda c: c.group(1) + c.group(2) + str(new).encode() + c.group(3), row[m.end():])
    return opening + body


def _sheet_xml(title: str, t: _Trimmed, strings: _Strings) -> tuple[str, bytes, dict[int, int]]:
    """The trimmed sheet's XML (rows past ``bound`` renumbered right after it), and small-workbook row → sheet row
    for the renumbered ones."""
    parts = [t.head]
    where: dict[int, int] = {}
    nxt = t.bound
    for r, row in t.rows:
        if r > t.bound:
            nxt += 1
            row = _renumber(row, nxt)
            where[nxt] = r
        parts.append(_inline(row, strings))
    parts.append(b"</sheetData></worksheet>")
    return title, b"".join(parts), where


def _workbook(sheets: list[tuple[str, bytes]], styles: bytes | None, date1904: bool) -> bytes:
    """A minimal package of ``(title, sheet XML)`` with the source's cell formats (dates read as dates)."""
    from xml.sax.saxutils import quoteattr

    buf = io.BytesIO()
    ct = ['<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
          '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
          '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
          '<Default Extension="xml" ContentType="application/xml"/>'
          '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.'
          'spreadsheetml.sheet.main+xml"/>']
    rels = ['<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">']
    entries = []
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        for i, (title, xml) in enumerate(sheets, start=1):
            z.writestr(f"xl/worksheets/sheet{i}.xml", xml)
            ct.append(f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="application/vnd.'
                      'openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>')
            rels.append(f'<Relationship Id="rId{i}" Type="{NS_REL}/worksheet" Target="worksheets/sheet{i}.xml"/>')
            entries.append(f'<sheet name={quoteattr(title)} sheetId="{i}" r:id="rId{i}"/>')
        if styles is not None:
            z.writestr("xl/styles.xml", styles)
            ct.append('<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-'
                      'officedocument.spreadsheetml.styles+xml"/>')
            rels.append(f'<Relationship Id="rId{len(sheets) + 1}" Type="{NS_REL}/styles" Target="styles.xml"/>')
        z.writestr("[Content_Types].xml", "".join(ct) + "</Types>")
        z.writestr("_rels/.rels", '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                   '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                   f'<Relationship Id="rId1" Type="{NS_REL}/officeDocument" Target="xl/workbook.xml"/>'
                   '</Relationships>')
        z.writestr("xl/_rels/workbook.xml.rels", "".join(rels) + "</Relationships>")
        pr = '<workbookPr date1904="1"/>' if date1904 else ""
        z.writestr("xl/workbook.xml", f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><workbook '
                   f'xmlns="{NS_MAIN}" xmlns:r="{NS_REL}">{pr}<sheets>{"".join(entries)}</sheets></workbook>')
    return buf.getvalue()


def _read_small(sheets: dict[str, tuple[str, bytes, dict[int, int]]], styles: bytes | None, date1904: bool
                ) -> dict[str, tuple[list[list[object]], tuple[int, int]]]:
    """Per key: calamine's rows of the small workbook's sheet and its start (row, column), 0-based."""
    from python_calamine import CalamineWorkbook

    package = _workbook([(title, xml) for title, xml, _where in sheets.values()], styles, date1904)
    wb = CalamineWorkbook.from_filelike(io.BytesIO(package))
    out = {}
    for key, (title, _xml, _where) in sheets.items():
        sheet = wb.get_sheet_by_name(title)
        out[key] = (sheet.to_python(), sheet.start or (0, 0))
    return out


# ----------------------------------------------------------------------------------------------- reading


def large_part(data: bytes, name: str, kind: str) -> bytes | None:
    """A large part ``read_concerning`` reads whole and the writer reuses, inflated — ``"strings"`` (the shared
    strings) or ``"contacts"`` (the Contacts sheet) — so a thread can inflate it while the modules load and the
    invoices are searched; None when the package cannot be read (``read_concerning`` then reports why)."""
    try:
        pkg = Package(data, name)
        pkg.check_sizes()
        parts = WorkbookParts(pkg)
        if kind == "strings":
            part = next((t for rt, t in parts.rels.values() if rt.endswith("/sharedStrings")), None)
        else:
            title = next((t for t in parts.all_titles if find_sheet(t) is SHEETS_BY_KEY["Contacts"]), None)
            part = next((s.part for s in parts.sheets if s.title == title), None)
        return pkg.read(part) if part is not None and part in pkg else None
    except Exception:  # the partial read proper raises what a read of this package raises
        return None


def read_concerning(data: bytes, name: str, customer_id: str, invoice_ids: Sequence[str] = (),
                    prefetched: Mapping[str, Future[bytes | None]] | None = None) -> Concerning | None:
    """The ledger as far as a contact with ``customer_id`` about ``invoice_ids`` (blank: the whole account)
    concerns it: whole Settings/Customers/Levels, the invoices of the customer and the listed ones, and the
    contacts that bear on their derived columns. ``None`` when the workbook needs the whole-ledger read.
    Raises as a whole read does (``WorkbookError``; ``LedgerError`` for problems in the rows read). ``prefetched``:
    ``large_part`` of these bytes by kind, under way on another thread."""
    was = sys.getswitchinterval()
    sys.setswitchinterval(min(was, 0.0005))  # the search hands the interpreter to the inflating thread promptly
    try:
        return _read_concerning(data, name, customer_id, [i for i in dict.fromkeys(invoice_ids) if i], prefetched)
    except _Unhandled:
        return None
    finally:
        sys.setswitchinterval(was)


def _read_concerning(data: bytes, name: str, customer_id: str, ids: list[str],
                     prefetched: Mapping[str, Future[bytes | None]] | None) -> Concerning | None:
    wanted = _needles([customer_id, *ids])
    if wanted is None:
        return None
    def ready(kind: str) -> bytes | None:
        future = (prefetched or {}).get(kind)
        return future.result() if future is not None else None

    pkg = Package(data, name)  # the same refusals as a full read: hostile sizes, DOCTYPEs
    pkg.check_sizes()
    pkg.check_prologs()
    parts = WorkbookParts(pkg)
    raw = RawWorkbook()
    part_of: dict[str, str] = {}
    worksheets = {s.title: s.part for s in parts.sheets}
    for title in parts.all_titles:
        spec = find_sheet(title)
        if spec is not None and spec.key not in raw.titles:
            raw.titles[spec.key] = title
            if title in worksheets:
                part_of[spec.key] = worksheets[title]
    if any(k not in part_of for k in ("Settings", "Customers", "Invoices", "Contacts")) or any(
            k in raw.titles and k not in part_of for k in WHOLE):
        return None
    sst_part = next((t for rt, t in parts.rels.values() if rt.endswith("/sharedStrings")), None)
    sst = b""
    if sst_part and sst_part in pkg:
        got = ready("strings")
        sst = got if got is not None and len(got) == pkg.members[sst_part].info.file_size else pkg.read(sst_part)
    if re.search(rb"<\w+:sst\b", sst[:4096]) or sst[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return None
    strings = _Strings(sst)
    styles_part = next((t for rt, t in parts.rels.values() if rt.endswith("/styles")), None)
    styles = pkg.read(styles_part, 64 << 20) if styles_part and styles_part in pkg else None
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="cobro-inflate") as pool:
        # the Contacts part inflates meanwhile (zlib lets go of the interpreter): the invoices are searched first

        def inflate_contacts() -> bytes:
            got = ready("contacts")
            declared = pkg.members[part_of["Contacts"]].info.file_size
            return got if got is not None and len(got) == declared else pkg.read(part_of["Contacts"])

        contacts = pool.submit(inflate_contacts)
        try:
            return _read_parts(pkg, parts, raw, part_of, strings, styles, contacts, customer_id, ids, wanted)
        finally:
            contacts.cancel()


def _read_parts(pkg: Package, parts: WorkbookParts, raw: RawWorkbook, part_of: dict[str, str], strings: _Strings,
                styles: bytes | None, contacts: Future[bytes], customer_id: str, ids: list[str], wanted: list[bytes]
                ) -> Concerning | None:
    """``_read_concerning`` once the package is open: the invoices, then the contacts (``contacts``: the part
    inflating on another thread), then the small sheets."""

    # 1. the invoices of the customer and of the listed ids
    inv = _search_stream(pkg, part_of["Invoices"], _Finder.of(wanted, strings.hits(wanted)))
    small = {"Invoices": _sheet_xml(raw.titles["Invoices"], inv, strings)}
    read = _read_small(small, styles, parts.date1904)
    iraw = _raw_table("Invoices", read["Invoices"], small["Invoices"][2], inv.bound)
    iraw = iraw.loc[_concerned_invoices(iraw, customer_id, ids)].reset_index(drop=True)
    invoices = {_text(v) for v in iraw["invoice_id"]} if "invoice_id" in iraw else set()
    customers = {customer_id} | ({_text(v) for v in iraw["customer_id"]} if "customer_id" in iraw else set())
    invoices.discard("")
    customers.discard("")

    # 2. the contacts that bear on those invoices; the small sheets whole
    words = _needles(sorted(customers | invoices))
    if words is None:
        return None
    con_xml = contacts.result()
    con = _search_sheet(con_xml, _Finder.of(words, strings.hits(words)))
    small = {"Contacts": _sheet_xml(raw.titles["Contacts"], con, strings)}
    for key in WHOLE:
        if key in part_of:
            small[key] = _sheet_xml(raw.titles[key], _whole(pkg.read(part_of[key])), strings)
    read.update(_read_small(small, styles, parts.date1904))
    raw.tables = {"Invoices": iraw}
    for key, (title, _xml, where) in small.items():
        raw.heads[title] = _heads(read[key])
        if key == "Settings":
            rows, start = read[key]
            raw.settings, raw.settings_rows = _settings_from_rows(rows, start[0] + 1)
        else:
            raw.tables[key] = _raw_table(key, read[key], where, con.bound if key == "Contacts" else 0)
    raw.heads[raw.titles["Invoices"]] = _heads(read["Invoices"])
    craw = raw.tables["Contacts"]
    raw.tables["Contacts"] = craw.loc[_concerned_contacts(craw, customers, invoices)].reset_index(drop=True)
    raw.locale = _locale(raw)
    ledger = parse_ledger(raw.tables, raw.settings, raw.settings_rows, locale=raw.locale)
    inflated = {part_of["Contacts"]: con_xml}
    sst_part = next((t for rt, t in parts.rels.values() if rt.endswith("/sharedStrings")), None)
    if sst_part in pkg:  # the writer reads it to tell blank cells (the Contacts' last row)
        inflated[sst_part] = strings.data  # type: ignore[index,assignment]
    return Concerning(raw, ledger, inflated)


def _whole(xml: bytes | bytearray) -> _Trimmed:
    """A small sheet whole: its rows as they are, none renumbered."""
    got = _head(xml)
    if got is None:
        raise _Unhandled
    head, body = got
    if body < 0:
        return _Trimmed(head, [], HEAD_ROWS)
    end = xml.find(b"</sheetData>", body)
    if end < 0:
        raise _Unhandled
    return _Trimmed(head, [(0, bytes(xml[body:end]))], 0)


def _heads(read: tuple[list[list[object]], tuple[int, int]]) -> list[list[object]]:
    """The sheet's first rows as ``read_raw`` records them (row 1, column A first)."""
    rows, start = read
    head: list[list[object]] = [[] for _ in range(min(start[0], HEADER_SCAN_ROWS))]
    for row in rows[:max(HEADER_SCAN_ROWS - start[0], 0)]:
        head.append([None] * start[1] + [None if v == "" else v for v in row])
    return head


def _raw_table(key: str, read: tuple[list[list[object]], tuple[int, int]], where: dict[int, int], bound: int
               ) -> pd.DataFrame:
    """The raw table of a small-workbook sheet, ``_row`` mapped back to the sheet's rows. Unhandled when the header
    window reaches past the rows kept as they are (the header found might then differ from the sheet's)."""
    rows, start = read
    if where and start[0] + HEADER_SCAN_ROWS > bound:
        raise _Unhandled
    table = _table_from_rows(SHEETS_BY_KEY[key], rows, start[0] + 1)
    if where and "_row" in table.columns and len(table):
        table["_row"] = pd.array([where.get(r, r) for r in table["_row"].tolist()], dtype="int64")
    return table


def _concerned_invoices(iraw: pd.DataFrame, customer_id: str, ids: Sequence[str]) -> np.ndarray:
    """The invoice rows of the customer or listed (ids as ``parse_ledger`` reads them)."""
    cust = [_text(v) for v in iraw["customer_id"]] if "customer_id" in iraw else [""] * len(iraw)
    inv = [_text(v) for v in iraw["invoice_id"]] if "invoice_id" in iraw else [""] * len(iraw)
    listed = set(ids)
    return np.array([c == customer_id or i in listed for c, i in zip(cust, inv, strict=True)], dtype=bool)


def _concerned_contacts(craw: pd.DataFrame, customers: set[str], invoices: set[str]) -> np.ndarray:
    """The contact rows of those customers or listing one of those invoices."""
    from cobro.ledger import _as_tuple

    cust = [_text(v) for v in craw["customer_id"]] if "customer_id" in craw else [""] * len(craw)
    lists = [_as_tuple(_text(v)) for v in craw["invoice_ids"]] if "invoice_ids" in craw else [()] * len(craw)
    return np.array([c in customers or any(i in invoices for i in lst) for c, lst in zip(cust, lists, strict=True)],
                    dtype=bool)
