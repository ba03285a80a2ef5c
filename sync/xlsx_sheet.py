"""Cell edits of one worksheet part, streamed: the rows cobro touches are rewritten, every other row is copied.

A worksheet part is ``<worksheet>… <sheetData> <row>…</row>… </sheetData> …</worksheet>``. ``SheetScan`` reads the
rows once with a regular expression (rows never nest; attribute values and text are escaped, and a DOCTYPE was
refused before) to learn what the edit needs: the header rows, the last data row, the template row whose formats and
calculated-column formulas appended rows copy, the sheet's last column. ``SheetEdit.stream`` then yields the new part
in pieces: the bytes between the touched rows are passed through unchanged, touched rows are rebuilt cell by cell,
new rows are merged in order, and the dimension, data-validation and conditional-format ranges grow with the table.

Values are written as the openpyxl path writes them (numbers, dates as serial numbers in a date format, text as
inline strings — valid OOXML that keeps ``sharedStrings.xml`` untouched).
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from xml.sax.saxutils import escape

from .xlsx_package import Package, WorkbookError

NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
NS_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
REL_WORKSHEET = NS_REL + "/worksheet"
REL_TABLE = NS_REL + "/table"

_ATTR = re.compile(rb"""([\w:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_REF = re.compile(r"^\$?([A-Z]{1,3})\$?(\d+)$")


# ----------------------------------------------------------------------------------------- small helpers


@functools.lru_cache(maxsize=1 << 14)
def col_letter(col: int) -> str:
    """The column letters of 1-based ``col``: 1 → ``A``, 27 → ``AA``."""
    out = ""
    while col:
        col, rem = divmod(col - 1, 26)
        out = chr(65 + rem) + out
    return out


def col_index(letters: str) -> int:
    """The 1-based index of upper-case column ``letters``: ``A`` → 1, ``AA`` → 27."""
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


def split_ref(ref: str) -> tuple[int, int]:
    """``"B12"`` → (column 2, row 12)."""
    m = _REF.match(ref.strip().upper())
    if not m:
        raise ValueError(ref)
    return col_index(m.group(1)), int(m.group(2))


def range_bounds(ref: str) -> tuple[int, int, int, int]:
    """``"A1:P4"`` → (min_col, min_row, max_col, max_row)."""
    a, _, b = ref.partition(":")
    c1, r1 = split_ref(a)
    c2, r2 = split_ref(b or a)
    return min(c1, c2), min(r1, r2), max(c1, c2), max(r1, r2)


def range_ref(c1: int, r1: int, c2: int, r2: int) -> str:
    return f"{col_letter(c1)}{r1}:{col_letter(c2)}{r2}"


def attrs(raw: bytes) -> dict[str, str]:
    return {m.group(1).decode(): (m.group(2) if m.group(2) is not None else m.group(3) or b"").decode("utf-8")
            for m in _ATTR.finditer(raw)}


def _unescape(text: bytes) -> str:
    s = text.decode("utf-8")
    if "&" in s:
        s = (s.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&apos;", "'"))
        s = re.sub(r"&#x([0-9a-fA-F]+);", lambda m: chr(int(m.group(1), 16)), s)
        s = re.sub(r"&#(\d+);", lambda m: chr(int(m.group(1))), s)
        s = s.replace("&amp;", "&")
    return _decode_x(s)


_X_ESC = re.compile(r"_x([0-9A-Fa-f]{4})_")


def _decode_x(s: str) -> str:
    return _X_ESC.sub(lambda m: chr(int(m.group(1), 16)), s) if "_x" in s else s


_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def xml_text(s: str) -> str:
    """Text for an OOXML string: XML-escaped; control characters (illegal in XML) as Excel's ``_xHHHH_``."""
    if "_x" in s:
        s = _X_ESC.sub(lambda m: "_x005F" + m.group(0), s)
    s = _ILLEGAL.sub(lambda m: f"_x{ord(m.group(0)):04X}_", s)
    return escape(s)


def parse_xml(data: bytes, name: str, part: str) -> ET.Element:
    try:
        return ET.fromstring(data)
    except ET.ParseError as e:
        raise WorkbookError(f"{name}: part {part} is not well-formed XML ({e})", source=name) from None


def resolve_target(base_part: str, target: str) -> str:
    """A relationship target relative to the part that holds it, as a zip member name."""
    if target.startswith("/"):
        return target.lstrip("/")
    folder = base_part.rsplit("/", 1)[0].split("/") if "/" in base_part else []
    for piece in target.split("/"):
        if piece == "..":
            if folder:
                folder.pop()
        elif piece and piece != ".":
            folder.append(piece)
    return "/".join(folder)


def rels_part(part: str) -> str:
    folder, _, name = part.rpartition("/")
    return f"{folder}/_rels/{name}.rels" if folder else f"_rels/{name}.rels"


def read_rels(pkg: Package, part: str) -> dict[str, tuple[str, str]]:
    """Relationship id → (type, member name) of ``part``."""
    rp = rels_part(part)
    if rp not in pkg:
        return {}
    root = parse_xml(pkg.read(rp, 16 << 20), pkg.name, rp)
    out = {}
    for rel in root.iter(f"{{{NS_PKG_REL}}}Relationship"):
        if rel.get("TargetMode") == "External":
            continue
        out[rel.get("Id", "")] = (rel.get("Type", ""), resolve_target(part, rel.get("Target", "")))
    return out


# ------------------------------------------------------------------------------------------ workbook model


@dataclass
class TablePart:
    part: str
    name: str
    display_name: str
    ref: str
    xml: bytes


@dataclass
class SheetPart:
    title: str
    part: str
    tables: list[TablePart] = field(default_factory=list)


class WorkbookParts:
    """Which member holds which sheet and table; the shared strings and date styles, read only when asked."""

    def __init__(self, pkg: Package):
        self.pkg = pkg
        self.workbook_part = self._main_part()
        wb_xml = pkg.read(self.workbook_part, 64 << 20)
        self.workbook_xml = wb_xml
        root = parse_xml(wb_xml, pkg.name, self.workbook_part)
        if root.tag != f"{{{NS_MAIN}}}workbook":
            raise WorkbookError(
                f"{pkg.name} is saved as 'Strict Open XML' (or is not a spreadsheet); cobro writes the usual Excel "
                "format: open it and save it as 'Excel Workbook (.xlsx)'", source=pkg.name)
        pr = root.find(f"{{{NS_MAIN}}}workbookPr")
        self.date1904 = pr is not None and pr.get("date1904", "0").lower() in ("1", "true")
        rels = read_rels(pkg, self.workbook_part)
        self.sheets: list[SheetPart] = []
        sheets_el = root.find(f"{{{NS_MAIN}}}sheets")
        self.all_titles: list[str] = []
        for sh in (sheets_el if sheets_el is not None else []):
            self.all_titles.append(sh.get("name", ""))
            rid = sh.get(f"{{{NS_REL}}}id", "")
            rtype, target = rels.get(rid, ("", ""))
            if rtype.endswith("/worksheet") and target in pkg:
                self.sheets.append(SheetPart(sh.get("name", ""), target))
        self.rels = rels
        self._sst: SharedStrings | None = None
        self._styles: DateStyles | None = None

    def _main_part(self) -> str:
        rels = read_rels(self.pkg, "")
        for rtype, target in rels.values():
            if rtype.endswith("/officeDocument"):
                return target
        if "xl/workbook.xml" in self.pkg:
            return "xl/workbook.xml"
        raise WorkbookError(f"{self.pkg.name} is not a readable .xlsx workbook (no workbook part)",
                            source=self.pkg.name)

    def load_tables(self, sheet: SheetPart) -> None:
        for rtype, target in read_rels(self.pkg, sheet.part).values():
            if rtype == REL_TABLE and target in self.pkg:
                xml = self.pkg.read(target, 16 << 20)
                root = parse_xml(xml, self.pkg.name, target)
                sheet.tables.append(TablePart(target, root.get("name", ""), root.get("displayName", ""),
                                              root.get("ref", ""), xml))

    @property
    def shared_strings(self) -> SharedStrings:
        if self._sst is None:
            part = next((t for rt, t in self.rels.values() if rt.endswith("/sharedStrings")), None)
            self._sst = SharedStrings(self.pkg.read(part) if part and part in self.pkg else b"")
        return self._sst

    @property
    def date_styles(self) -> DateStyles:
        if self._styles is None:
            part = next((t for rt, t in self.rels.values() if rt.endswith("/styles")), None)
            self._styles = DateStyles(self.pkg.read(part, 64 << 20) if part and part in self.pkg else b"",
                                      self.pkg.name, part or "styles")
        return self._styles

    def workbook_with_full_calc(self) -> bytes | None:
        """workbook.xml asking the spreadsheet to recalculate everything on open (its cached formula results,
        e.g. the Summary, predate cobro's edit), or None when it already says so."""
        xml = self.workbook_xml
        m = re.search(rb"<(\w+:)?calcPr\b[^>]*?/?>", xml)
        if m:
            tag = m.group(0)
            if re.search(rb"""fullCalcOnLoad\s*=\s*["'](1|true)["']""", tag):
                return None
            tag2 = re.sub(rb"""\s+fullCalcOnLoad\s*=\s*["'][^"']*["']""", b"", tag)
            end = -2 if tag2.endswith(b"/>") else -1
            tag2 = tag2[:end] + b' fullCalcOnLoad="1"' + tag2[end:]
            return xml[:m.start()] + tag2 + xml[m.end():]
        prefix = re.search(rb"<(\w+:)?workbook\b", xml)
        p = prefix.group(1) or b"" if prefix else b""
        after = rb"oleSize|customWorkbookViews|pivotCaches|smartTagPr|smartTagTypes|webPublishing|fileRecoveryPr|" \
                rb"webPublishObjects|extLst"
        m = re.search(rb"<" + re.escape(p) + rb"(" + after + rb")\b", xml) or re.search(
            rb"</" + re.escape(p) + rb"workbook>", xml)
        if not m:
            return None
        return xml[:m.start()] + b"<" + p + b'calcPr fullCalcOnLoad="1"/>' + xml[m.start():]


class SharedStrings:
    """The shared-string table, parsed only as far as the highest index asked for."""

    _SI = re.compile(rb"<(?:\w+:)?si\b[^>]*?(?:/>|>(.*?)</(?:\w+:)?si>)", re.DOTALL)
    _T = re.compile(rb"<(?:\w+:)?t\b[^>]*?(?:/>|>(.*?)</(?:\w+:)?t>)", re.DOTALL)
    _RPH = re.compile(rb"<(?:\w+:)?rPh\b.*?</(?:\w+:)?rPh>", re.DOTALL)
    _EMPTY = re.compile(rb"<(?:\w+:)?si\b[^>]*?(?:/>|>\s*(?:<(?:\w+:)?t\b[^>]*?(?:/>|>\s*</(?:\w+:)?t>))?\s*"
                        rb"</(?:\w+:)?si>)")

    def __init__(self, data: bytes):
        self.data = data
        self._starts: list[int] | None = None
        self._items: dict[int, str] = {}
        self._empty: set[int] | None = None

    def __getitem__(self, i: int) -> str:
        got = self._items.get(i)
        if got is not None:
            return got
        if self._starts is None:  # one pass finds where each string starts; only the ones asked for are decoded
            self._starts = [m.start() for m in re.finditer(rb"<(?:\w+:)?si\b", self.data)]
        if not 0 <= i < len(self._starts):
            return ""
        m = self._SI.match(self.data, self._starts[i])
        body = self._RPH.sub(b"", (m.group(1) or b"") if m else b"")
        text = "".join(_unescape(t.group(1) or b"") for t in self._T.finditer(body))
        self._items[i] = text
        return text

    def is_empty(self, i: int) -> bool:
        if self._empty is None:
            # One C-speed pass over the table finds the rare empty strings, so a blank check never parses it all.
            starts = [m.start() for m in self._SI.finditer(self.data)] if b"<si/>" in self.data or re.search(
                rb"<(?:\w+:)?t\b[^>]*?(/>|>\s*<)", self.data) else []
            empties = {m.start() for m in self._EMPTY.finditer(self.data)}
            self._empty = {k for k, s in enumerate(starts) if s in empties}
        return i in self._empty


_BUILTIN_DATE_FMTS = set(range(14, 23)) | set(range(27, 37)) | set(range(45, 48)) | set(range(50, 59))


class DateStyles:
    """Which cell formats (``s`` indices) show dates; one to use for a date written in a column without one."""

    def __init__(self, data: bytes, name: str, part: str):
        self.date_xfs: set[int] = set()
        self.datetime_xfs: set[int] = set()
        self.data, self.part = data, part
        self.new_xml: bytes | None = None  # styles.xml with the date formats added, when it had none
        if not data:
            return
        root = parse_xml(data, name, part)
        custom: dict[int, str] = {}
        fmts = root.find(f"{{{NS_MAIN}}}numFmts")
        for f in (fmts if fmts is not None else []):
            try:
                custom[int(f.get("numFmtId", "-1"))] = f.get("formatCode", "")
            except ValueError:
                continue
        xfs = root.find(f"{{{NS_MAIN}}}cellXfs")
        for i, xf in enumerate(xfs if xfs is not None else []):
            try:
                fid = int(xf.get("numFmtId", "0"))
            except ValueError:
                continue
            code = custom.get(fid)
            if code is not None:
                plain = re.sub(r'"[^"]*"|\[[^\]]*\]|\\.', "", code).lower()
                if re.search(r"[dy]", plain) or re.search(r"m{1,4}(?![^;]*[hs])", plain) and "0" not in plain:
                    self.date_xfs.add(i)
                    if "h" in plain:
                        self.datetime_xfs.add(i)
            elif fid in _BUILTIN_DATE_FMTS:
                self.date_xfs.add(i)
                if fid == 22:
                    self.datetime_xfs.add(i)

    def add_date_formats(self) -> None:
        """A workbook without any date format gets two cell formats (date, date and time) appended to its cell
        formats, as openpyxl adds one when it writes a date: the styles part is then rewritten."""
        if self.date_xfs or not self.data or self.new_xml is not None:
            return
        m = re.search(rb"<(\w+:)?cellXfs\b([^>]*?)(/?)>", self.data)
        if m is None:
            return
        p = (m.group(1) or b"").decode()
        count = len(re.findall(rb"<(?:\w+:)?xf\b", self.data[m.end():self.data.find(b"cellXfs>", m.end())])) \
            if not m.group(3) else 0
        xfs = (f'<{p}xf numFmtId="14" fontId="0" fillId="0" borderId="0" applyNumberFormat="1"/>'
               f'<{p}xf numFmtId="22" fontId="0" fillId="0" borderId="0" applyNumberFormat="1"/>').encode()
        opening = re.sub(rb'\s+count="\d+"', b"", m.group(0)[:-2 if m.group(3) else -1]) + \
            f' count="{count + 2}">'.encode()
        if m.group(3):
            new = self.data[:m.start()] + opening + xfs + f"</{p}cellXfs>".encode() + self.data[m.end():]
        else:
            end = self.data.find(f"</{p}cellXfs>".encode(), m.end())
            new = self.data[:m.start()] + opening + self.data[m.end():end] + xfs + self.data[end:]
        self.new_xml = bytes(new)
        self.date_xfs.update({count, count + 1})
        self.datetime_xfs.add(count + 1)

    def fallback(self, with_time: bool) -> int | None:
        pool = (self.datetime_xfs or self.date_xfs) if with_time else (self.date_xfs - self.datetime_xfs
                                                                         or self.date_xfs)
        return min(pool) if pool else None


# ----------------------------------------------------------------------------------------- the sheet edit


@dataclass
class Cell:
    """One cell of a row being rebuilt: its style and either raw inner XML or a new value."""

    s: str | None = None
    raw: bytes | None = None     # the original element, kept when nothing changes in the cell
    formula: str | None = None   # a formula to write (without "=")
    value: object = None
    has_value: bool = False


_EPOCH_1900 = dt.datetime(1899, 12, 30)
_EPOCH_1904 = dt.datetime(1904, 1, 1)


def serial(value: dt.date | dt.datetime, date1904: bool) -> float | int:
    """The Excel serial number of a date or datetime (1900 or 1904 date system)."""
    if isinstance(value, dt.datetime):
        base = _EPOCH_1904 if date1904 else _EPOCH_1900
        delta = value.replace(tzinfo=None) - base
        days = delta.days + delta.seconds / 86400 + delta.microseconds / 86_400_000_000
        if not date1904 and days < 61:
            days -= 1
        return int(days) if days == int(days) else days
    base_d = (_EPOCH_1904 if date1904 else _EPOCH_1900).date()
    days = (value - base_d).days
    if not date1904 and days < 61:
        days -= 1
    return days


def number_text(value: object) -> str:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, float):
        return repr(value) if value == value and value not in (float("inf"), float("-inf")) else "0"
    return str(value)


class SheetScan:
    """One pass over a worksheet part: what an edit needs to know before it writes."""

    def __init__(self, xml: bytes, name: str, part: str):
        self.xml = xml
        m = re.search(rb"<(\w+:)?sheetData\b[^>]*?(/?)>", xml)
        if not m:
            raise WorkbookError(f"{name}: worksheet {part} has no sheetData", source=name)
        self.prefix = m.group(1) or b""
        p = re.escape(self.prefix)
        self.body_start = m.end()
        if m.group(2):  # <sheetData/>
            self.body_end = m.end()
            self.empty_tag = (m.start(), m.end())
        else:
            end = xml.find(b"</" + self.prefix + b"sheetData>", m.end())
            if end < 0:
                raise WorkbookError(f"{name}: worksheet {part} is truncated", source=name)
            self.body_end = end
            self.empty_tag = None
        self.row_re = re.compile(rb"<" + p + rb"row\b([^>]*?)(?:/>|>(.*?)</" + p + rb"row>)", re.DOTALL)
        self.cell_re = re.compile(rb"<" + p + rb"c\b([^>]*?)(?:/>|>(.*?)</" + p + rb"c>)", re.DOTALL)
        self.v_re = re.compile(rb"<" + p + rb"v\b[^>]*?(?:/>|>(.*?)</" + p + rb"v>)", re.DOTALL)
        self.f_re = re.compile(rb"<" + p + rb"f\b([^>]*?)(?:/>|>(.*?)</" + p + rb"f>)", re.DOTALL)
        self.t_re = re.compile(rb"<" + p + rb"t\b[^>]*?(?:/>|>(.*?)</" + p + rb"t>)", re.DOTALL)
        self.name, self.part = name, part
        self._index: tuple[list[int], list[int]] | bool | None = None

    def rows(self) -> Iterator[tuple[int, re.Match[bytes]]]:
        """(row number, match) for every row element, numbering rows without ``r`` as Excel does."""
        last = 0
        for m in self.row_re.finditer(self.xml, self.body_start, self.body_end):
            r = attrs(m.group(1)).get("r") if b"r" in m.group(1) else None
            try:
                last = int(r) if r else last + 1
            except ValueError:
                raise WorkbookError(f"{self.name}: worksheet {self.part} has a bad row number {r!r}",
                                    source=self.name) from None
            yield last, m

    def index(self) -> tuple[list[int], list[int]] | None:
        """(row numbers, start offsets) of every row, from one C-speed pass; None when some row does not carry
        its number or rows are out of order (then the rows are read one by one)."""
        if self._index is None:
            p = re.escape(self.prefix)
            opening = re.compile(rb"<" + p + rb"row\b([^>]*)>")
            numbered = re.compile(rb"""\br\s*=\s*["'](\d+)["']""")
            starts: list[int] = []
            numbers: list[int] = []
            ok = True
            for m in opening.finditer(self.xml, self.body_start, self.body_end):
                n = numbered.search(m.group(1))
                if n is None:
                    ok = False
                    break
                starts.append(m.start())
                numbers.append(int(n.group(1)))
            if ok and any(a >= b for a, b in zip(numbers, numbers[1:], strict=False)):
                ok = False
            self._index = (numbers, starts) if ok else False
        return self._index or None

    def rows_at(self, wanted: Iterable[int]) -> Iterator[tuple[int, re.Match[bytes]]]:
        """The rows numbered ``wanted`` that exist, in order, without reading the others: each is found by its
        opening tag as spreadsheet programs write it (``<row r="N"``), searching on from the previous one; a sheet
        written otherwise is indexed once."""
        targets = sorted(set(wanted))
        if self._index is None and targets:
            last = next(self.rows_backwards(), None)
            top = last[0] if last is not None else 0
            pos = self.body_start
            tag = b"<" + self.prefix + b'row r="'
            for k, r in enumerate(targets):
                if r > top:
                    return
                at = self.xml.find(tag + str(r).encode() + b'"', pos, self.body_end)
                m = self.row_re.match(self.xml, at, self.body_end) if at >= 0 else None
                if m is None:
                    targets = targets[k:]  # not where expected: index the sheet once and go on from there
                    break
                yield r, m
                pos = m.end()
            else:
                return
        idx = self.index()
        if idx is None:
            tset = set(targets)
            yield from ((r, m) for r, m in self.rows() if r in tset)
            return
        numbers, starts = idx
        for r in targets:
            i = bisect.bisect_left(numbers, r)
            if i < len(numbers) and numbers[i] == r:
                m = self.row_re.match(self.xml, starts[i], self.body_end)
                if m is not None:
                    yield r, m

    def rows_backwards(self) -> Iterator[tuple[int, re.Match[bytes]]]:
        """The rows from the last one up, each found with rfind (no pass over the whole sheet); a sheet whose rows
        do not carry their number is read forwards once."""
        tag = b"<" + self.prefix + b"row"
        pos = self.body_end
        while True:
            at = self.xml.rfind(tag, self.body_start, pos)
            if at < 0:
                return
            pos = at
            if self.xml[at + len(tag):at + len(tag) + 1] not in (b" ", b">", b"/", b"\t", b"\r", b"\n"):
                continue  # <rowBreaks… is no row
            m = self.row_re.match(self.xml, at, self.body_end)
            if m is None:
                continue
            r = attrs(m.group(1)).get("r")
            if r is None or not r.isdigit():  # numbered by position: count them from the top, once
                yield from ((n, mm) for n, mm in reversed(list(self.rows())) if mm.start() <= at)
                return
            yield int(r), m

    def cells(self, row: int, body: bytes | None) -> Iterator[tuple[int, dict[str, str], re.Match[bytes]]]:
        col = 0
        for m in self.cell_re.finditer(body or b""):
            a = attrs(m.group(1))
            ref = a.get("r")
            if ref:
                try:
                    col = split_ref(ref)[0]
                except ValueError:
                    raise WorkbookError(f"{self.name}: worksheet {self.part} row {row} has a bad cell reference "
                                        f"{ref!r}", source=self.name) from None
            else:
                col += 1
            yield col, a, m

    def value(self, a: dict[str, str], m: re.Match[bytes], sst: SharedStrings) -> object:
        """The cell's value as openpyxl shows it (a formula as ``=…``), enough for headers and blank checks."""
        inner = m.group(2) or b""
        f = self.f_re.search(inner)
        if f is not None and (f.group(2) or b"shared" in (f.group(1) or b"")):
            return "=" + _unescape(f.group(2) or b"")
        t = a.get("t", "n")
        if t == "inlineStr":
            return "".join(_unescape(x.group(1) or b"") for x in self.t_re.finditer(inner)) or None
        v = self.v_re.search(inner)
        if v is None or v.group(1) is None:
            return None
        text = v.group(1)
        if t == "s":
            try:
                return sst[int(text)]
            except ValueError:
                return None
        if t in ("str", "e"):
            return _unescape(text)
        if t == "b":
            return text.strip() == b"1"
        try:
            num = float(text)
        except ValueError:
            return _unescape(text)
        return int(num) if num.is_integer() and b"." not in text and b"E" not in text.upper() else num

    def is_blank(self, a: dict[str, str], m: re.Match[bytes], sst: SharedStrings) -> bool:
        inner = m.group(2)
        if not inner:
            return True
        if a.get("t") == "s":
            v = self.v_re.search(inner)
            if v is None or not v.group(1):
                return True
            try:
                return sst.is_empty(int(v.group(1)))
            except ValueError:
                return True
        return self.value(a, m, sst) in (None, "")


@dataclass
class EditPlan:
    """What to write into one worksheet: set cells, rows to build from a template, ranges to grow."""

    sets: dict[int, dict[int, object]] = field(default_factory=dict)   # row → col → value (None = clear)
    new_rows: tuple[int, int] | None = None         # appended rows (first, last)
    template_row: int | None = None
    data_cols: set[int] = field(default_factory=set)
    copy_cols: int = 0                              # columns 1..copy_cols take the template's formats
    template_cells: dict[int, tuple[str | None, str | None, str]] = field(default_factory=dict)  # col→(s, f, ref)
    grow_from_row: int | None = None                # ranges reaching this row grow to new_rows' last
    grow_cols: tuple[int, int] | None = None
    max_row: int = 0
    max_col: int = 0
    # what every appended row takes from the template, made once (``_new_row_cells``)
    new_row_cells: tuple[dict[int, tuple[bytes, bytes]], dict[int, str], list[tuple[int, str | None, str, str]]] | \
        None = None


def plan_template(scan: SheetScan, plan: EditPlan, sst: SharedStrings) -> None:
    """Capture the template row's styles and formulas (shared formulas resolved to their master's text)."""
    if plan.template_row is None:
        return
    masters: dict[str, tuple[str, str]] = {}
    target = next((m for _r, m in scan.rows_at([plan.template_row])), None)
    if target is None:
        return
    needs_master = False
    for col, a, cm in scan.cells(plan.template_row, target.group(2)):
        f = scan.f_re.search(cm.group(2) or b"")
        formula = None
        if f is not None:
            fa = attrs(f.group(1) or b"")
            if f.group(2):
                formula = _unescape(f.group(2))
            elif fa.get("t") == "shared" and "si" in fa:
                formula = "\x00" + fa["si"]
                needs_master = True
        ref = a.get("r") or f"{col_letter(col)}{plan.template_row}"
        plan.template_cells[col] = (a.get("s"), formula, ref)
    if needs_master:
        for r, m in scan.rows():
            if r > plan.template_row:
                break
            for col, _a, cm in scan.cells(r, m.group(2)):
                f = scan.f_re.search(cm.group(2) or b"")
                if f is not None and f.group(2) and b"shared" in (f.group(1) or b""):
                    fa = attrs(f.group(1))
                    if "si" in fa and fa["si"] not in masters:
                        masters[fa["si"]] = (_unescape(f.group(2)), f"{col_letter(col)}{r}")
        for col, (s, formula, ref) in list(plan.template_cells.items()):
            if formula and formula.startswith("\x00"):
                got = masters.get(formula[1:])
                if got is None:
                    plan.template_cells[col] = (s, None, ref)
                else:
                    from openpyxl.formula.translate import Translator

                    text = Translator("=" + got[0], origin=got[1]).translate_formula(ref)
                    plan.template_cells[col] = (s, text[1:], ref)


@functools.lru_cache(maxsize=256)
def _translator(formula: str, origin: str) -> Any:
    """A formula tokenized once (openpyxl's Translator keeps the tokens and translates them to any cell)."""
    from openpyxl.formula.translate import Translator

    return Translator("=" + formula, origin=origin)


_CELL = re.compile(r"([A-Z]+)([0-9]+)")


@functools.lru_cache(maxsize=256)
def _same_down_the_column(formula: str, origin: str) -> bool:
    """Whether ``formula`` reads the same in every cell below ``origin`` in its column: it holds no relative row
    reference (a calculated column's structured references, ``[@Importe]``, absolute and whole-column ones)."""
    m = _CELL.fullmatch(origin)
    if m is None:
        return False
    t = _translator(formula, origin)
    return all(t.translate_formula(f"{m.group(1)}{int(m.group(2)) + d}")[1:] == formula for d in (1, 997))


def _translate(formula: str, origin: str, dest: str) -> str:
    """``formula`` of cell ``origin`` as it reads copied to ``dest`` (a calculated column's next rows: a million
    appended rows tokenize it once, not a million times, and a formula that reads the same in every row of its
    column is not translated at all)."""
    try:
        o, d = _CELL.fullmatch(origin), _CELL.fullmatch(dest)
        if o and d and o.group(1) == d.group(1) and int(d.group(2)) > int(o.group(2)) and \
                _same_down_the_column(formula, origin):
            return formula
        return _translator(formula, origin).translate_formula(dest)[1:]
    except Exception:  # a formula the translator cannot tokenize is copied as it is
        return formula


@functools.lru_cache(maxsize=1024)
def _formula_xml(formula: str) -> str:
    """A cell's ``<f>`` element (the same few formulas on every appended row: escaped once)."""
    return f"<f>{xml_text(formula)}</f>"


class CellWriter:
    """Turns values into cell XML the way the openpyxl path stores them."""

    def __init__(self, parts: WorkbookParts):
        self.parts = parts

    def cell(self, ref: str, s: str | None, value: object, formula: str | None = None) -> bytes:
        style = s
        inner = ""
        t = ""
        if formula is not None:
            inner = _formula_xml(formula)
        elif value is None:
            pass
        elif isinstance(value, bool):
            t, inner = ' t="b"', f"<v>{int(value)}</v>"
        elif isinstance(value, (dt.date, dt.datetime)):
            with_time = isinstance(value, dt.datetime)
            styles = self.parts.date_styles
            if style is None or int(style or 0) not in styles.date_xfs:
                fb = styles.fallback(with_time)
                if fb is None:  # no date format anywhere in the workbook: ISO text reads back as the same date
                    text = value.isoformat(sep=" ") if with_time else value.isoformat()
                    return self._text(ref, style, text)
                style = str(fb)
            inner = f"<v>{number_text(serial(value, self.parts.date1904))}</v>"
        elif isinstance(value, (int, float, Decimal)):
            inner = f"<v>{number_text(value)}</v>"
        else:
            return self._text(ref, style, str(value))
        sa = f' s="{style}"' if style not in (None, "", "0") else ""
        if not inner:
            return f'<c r="{ref}"{sa}/>'.encode()
        return f'<c r="{ref}"{sa}{t}>{inner}</c>'.encode()

    @staticmethod
    def _text(ref: str, style: str | None, text: str) -> bytes:
        sa = f' s="{style}"' if style not in (None, "", "0") else ""
        if text == "":
            return f'<c r="{ref}"{sa}/>'.encode()
        return f'<c r="{ref}"{sa} t="inlineStr"><is><t xml:space="preserve">{xml_text(text)}</t></is></c>'.encode()


def _grow_sqref(sqref: str, from_row: int, to_row: int, cols: tuple[int, int] | None) -> str:
    out = []
    for piece in sqref.split():
        try:
            c1, r1, c2, r2 = range_bounds(piece)
        except ValueError:
            out.append(piece)
            continue
        if r1 <= from_row <= r2 < to_row and (cols is None or (c1 <= cols[1] and c2 >= cols[0])):
            out.append(range_ref(c1, r1, c2, to_row) if ":" in piece or r1 != r2 else piece)
        else:
            out.append(piece)
    return " ".join(out)


def grow_ranges(tail: bytes, plan: EditPlan) -> bytes:
    """Data-validation and conditional-format ranges that reach the template row reach the new last row."""
    if plan.new_rows is None or plan.grow_from_row is None:
        return tail
    to_row = plan.new_rows[1]

    def attr_sub(m: re.Match[bytes]) -> bytes:
        new = _grow_sqref(m.group(2).decode(), plan.grow_from_row or 0, to_row, plan.grow_cols)
        return m.group(1) + new.encode() + m.group(3)

    tail = re.sub(rb'(<(?:\w+:)?(?:conditionalFormatting|dataValidation)\b[^>]*?\bsqref=")([^"]*)(")',
                  attr_sub, tail)
    tail = re.sub(rb"(<(?:\w+:)?sqref>)([^<]*)(</(?:\w+:)?sqref>)", attr_sub, tail)
    return tail


def stream_sheet(scan: SheetScan, plan: EditPlan, writer: CellWriter, sst: SharedStrings,
                 chunk: int = 1 << 20) -> Iterator[bytes]:
    """The new worksheet part, in pieces."""
    xml = scan.xml
    if scan.empty_tag is not None:  # <sheetData/> becomes an open element
        head = xml[:scan.empty_tag[0]] + b"<" + scan.prefix + b"sheetData>"
    else:
        head = xml[:scan.body_start]
    yield _with_dimension(head, plan)
    new_first, new_last = plan.new_rows or (0, -1)
    pending = sorted(set(range(new_first, new_last + 1)) | set(plan.sets))
    targets = set(pending)
    pi = 0
    pos = scan.body_start
    buf: list[bytes] = []
    size = 0
    for r, m in scan.rows_at(targets):
        if m.start() - pos > chunk:  # a long run of untouched rows passes through without being copied
            if buf:
                yield b"".join(buf)
                buf, size = [], 0
            yield from _through(xml, pos, m.start(), chunk)
        elif m.start() > pos:
            buf.append(xml[pos:m.start()])
            size += m.start() - pos
        while pi < len(pending) and pending[pi] < r:
            buf.append(_row_xml(scan, plan, writer, sst, pending[pi], None))
            pi += 1
        if pi < len(pending) and pending[pi] == r:
            pi += 1
        buf.append(_row_xml(scan, plan, writer, sst, r, m))
        pos = m.end()
        if size > chunk or len(buf) > 4096:
            yield b"".join(buf)
            buf, size = [], 0
    if scan.body_end > pos:
        if buf:
            yield b"".join(buf)
            buf = []
        yield from _through(xml, pos, scan.body_end, chunk)
    while pi < len(pending):
        buf.append(_row_xml(scan, plan, writer, sst, pending[pi], None))
        pi += 1
        if len(buf) > 4096:
            yield b"".join(buf)
            buf = []
    yield b"".join(buf)
    tail = xml[scan.body_end:]
    if scan.empty_tag is not None:
        tail = b"</" + scan.prefix + b"sheetData>" + tail
    yield grow_ranges(tail, plan)


def _through(xml: bytes, start: int, end: int, chunk: int) -> Iterator[bytes]:
    view = memoryview(xml)
    for at in range(start, end, chunk):
        yield view[at:min(at + chunk, end)]  # type: ignore[misc]


def _with_dimension(head: bytes, plan: EditPlan) -> bytes:
    m = re.search(rb'(<(?:\w+:)?dimension\b[^>]*?\bref=")([^"]*)(")', head)
    if not m:
        return head
    try:
        c1, r1, c2, r2 = range_bounds(m.group(2).decode())
    except ValueError:
        return head
    c2, r2 = max(c2, plan.max_col), max(r2, plan.max_row)
    return head[:m.start(2)] + range_ref(c1, r1, c2, r2).encode() + head[m.end(2):]


def _template_columns(plan: EditPlan) -> Iterator[tuple[int, str | None, str | None, str]]:
    """What a new row copies from the template row, per column: ``(col, style, formula, origin)``, with the style
    only when it is not the default one and the formula only in a column cobro does not write."""
    for col in range(1, plan.copy_cols + 1):
        tpl = plan.template_cells.get(col)
        if tpl is None:
            continue
        s, formula, origin = tpl
        yield (col, s if s not in (None, "", "0") else None, formula if col not in plan.data_cols else None, origin)


def _new_row_cells(plan: EditPlan, writer: CellWriter
                   ) -> tuple[dict[int, tuple[bytes, bytes]], dict[int, str], list[tuple[int, str | None, str, str]]]:
    """For rows appended below the template row: each template cell that is the same on every such row but for
    its row number (a formula that reads the same down its column, or a formatted empty cell) as the bytes before
    and after that number; each column's style; and the formulas that shift with their row, as
    ``(col, style, formula, origin)`` (the caller translates them per row)."""
    if plan.new_row_cells is None:
        fixed: dict[int, tuple[bytes, bytes]] = {}
        styles: dict[int, str] = {}
        shifting: list[tuple[int, str | None, str, str]] = []
        probe = (plan.new_rows or (0, 0))[1] + 1  # any row below the template: only the reference carries it
        for col, s, formula, origin in _template_columns(plan):
            if s is not None:
                styles[col] = s
            ref = f"{col_letter(col)}{probe}"
            if formula is not None:
                if not _same_down_the_column(formula, origin):
                    shifting.append((col, s, formula, origin))
                    continue
                xml = writer.cell(ref, s, None, formula)
            elif s is not None:
                xml = writer.cell(ref, s, None)
            else:
                continue
            head = f'<c r="{ref}"'.encode()
            assert xml.startswith(head)
            fixed[col] = (head[:-len(str(probe)) - 1], xml[len(head) - 1:])
        plan.new_row_cells = (fixed, styles, shifting)
    return plan.new_row_cells


def _row_xml(scan: SheetScan, plan: EditPlan, writer: CellWriter, sst: SharedStrings, r: int,
             m: re.Match[bytes] | None) -> bytes:
    p = scan.prefix.decode()
    new_first, new_last = plan.new_rows or (0, -1)
    if m is None and not p and plan.template_row is not None and new_first <= r <= new_last and \
            r > plan.template_row:
        # A brand-new row below the template (an import appends a million): what it takes from the template is
        # made once; the same cells as the general path below builds.
        fixed, styles, shifting = _new_row_cells(plan, writer)
        number = str(r).encode()
        new: dict[int, bytes] = {col: head + number + tail for col, (head, tail) in fixed.items()}
        for col, s, formula, origin in shifting:
            ref = f"{col_letter(col)}{r}"
            new[col] = writer.cell(ref, s, None, _translate(formula, origin, ref))
        for col, value in plan.sets.get(r, {}).items():
            new[col] = writer.cell(f"{col_letter(col)}{r}", styles.get(col), value)
        if not new:
            return f'<row r="{r}"/>'.encode()
        return f'<row r="{r}">'.encode() + b"".join(new[c] for c in sorted(new)) + b"</row>"
    return _row_xml_general(scan, plan, writer, sst, r, m)


def _row_xml_general(scan: SheetScan, plan: EditPlan, writer: CellWriter, sst: SharedStrings, r: int,
                     m: re.Match[bytes] | None) -> bytes:
    """Any row: an existing one (``m``) with its cells kept, restyled or set, or a new one from the template."""
    p = scan.prefix.decode()
    cells: dict[int, bytes] = {}
    styles: dict[int, str | None] = {}
    if m is not None:
        for col, a, cm in scan.cells(r, m.group(2)):
            cells[col] = cm.group(0)
            styles[col] = a.get("s")
        row_attrs = m.group(1).decode("utf-8")
        if "r=" not in row_attrs:
            row_attrs = f' r="{r}"' + row_attrs
        row_attrs = re.sub(r"""\s+spans\s*=\s*["'][^"']*["']""", "", row_attrs)
    else:
        row_attrs = f' r="{r}"'
    new_first, new_last = plan.new_rows or (0, -1)
    if new_first <= r <= new_last and plan.template_row is not None and r != plan.template_row:
        for col, s, formula, origin in _template_columns(plan):
            if s is not None:
                styles[col] = s
            ref = f"{col_letter(col)}{r}"
            if formula is not None:
                cells[col] = writer.cell(ref, styles.get(col), None, _translate(formula, origin, ref))
            elif col in cells:
                cells[col] = _restyle(cells[col], styles.get(col), scan)
            elif s is not None:
                cells[col] = writer.cell(ref, s, None)
    for col, value in plan.sets.get(r, {}).items():
        cells[col] = writer.cell(f"{col_letter(col)}{r}", styles.get(col), value)
    inner = b"".join(cells[c] for c in sorted(cells))
    if p:  # a prefixed sheet (x:row, x:c): the cells built here use the default namespace's bare names
        inner = re.sub(rb"<(/?)(c|v|f|is|t)\b", lambda mm: b"<" + mm.group(1) + p.encode() + mm.group(2), inner)
    if not inner:
        return f"<{p}row{row_attrs}/>".encode()
    return f"<{p}row{row_attrs}>".encode() + inner + f"</{p}row>".encode()


def _restyle(cell: bytes, s: str | None, scan: SheetScan) -> bytes:
    m = re.match(rb"<(\w+:)?c\b([^>]*?)(/?>)", cell)
    if not m or s is None:
        return cell
    a = re.sub(rb"""\s+s\s*=\s*["'][^"']*["']""", b"", m.group(2))
    return cell[:m.start(2)] + a + f' s="{s}"'.encode() + cell[m.end(2):]


def table_xml(table: TablePart, ref: str, new_columns: list[str]) -> bytes:
    """The table definition with a new range (its autoFilter too) and extra columns appended."""
    xml = table.xml

    def set_ref(tag: bytes) -> bytes:
        return re.sub(rb'(\bref=")[^"]*(")', lambda m: m.group(1) + ref.encode() + m.group(2), tag, count=1)

    xml = re.sub(rb"<(\w+:)?table\b[^>]*>", lambda m: set_ref(m.group(0)), xml, count=1)
    xml = re.sub(rb"<(\w+:)?autoFilter\b[^>]*?>", lambda m: set_ref(m.group(0)), xml, count=1)
    if new_columns:
        m = re.search(rb"<(\w+:)?tableColumns\b([^>]*)>", xml)
        if m:
            p = (m.group(1) or b"").decode()
            ids = [int(x) for x in re.findall(rb'<(?:\w+:)?tableColumn\b[^>]*?\bid="(\d+)"', xml)]
            count = len(ids) + len(new_columns)
            start = max(ids, default=0)
            extra = "".join(f'<{p}tableColumn id="{start + i + 1}" name="{escape(n, {chr(34): "&quot;"})}"/>'
                            for i, n in enumerate(new_columns)).encode()
            end = xml.find(b"</" + p.encode() + b"tableColumns>", m.end())
            opening = re.sub(rb'\bcount="\d+"', f'count="{count}"'.encode(), m.group(0))
            xml = xml[:m.start()] + opening + xml[m.end():end] + extra + xml[end:]
    return xml
