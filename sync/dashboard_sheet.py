"""Add the Dashboard sheet (``Panel``/``Dashboard``) to a workbook that has none, in place (issue 14).

``cobro refresh`` fills the Dashboard table through the store; a workbook made before the Dashboard existed (or
with ``build_workbook(dashboard=False)``) gets the sheet added first, exactly as the template builds it: the empty
``Dashboard`` table and one native stacked-bar chart per currency over the Summary's formula cells.

The sheet is built by ``sheets_templates.dashboard.dashboard_package`` in a scratch workbook and its parts are
grafted into the ledger's package (``sync.xlsx_package.rewrite_package``): every existing member is copied as its
exact bytes, except the bookkeeping that names the new parts — ``xl/workbook.xml`` (one ``<sheet>`` entry), its
relationships, ``[Content_Types].xml`` and the styles part (the new cells' formats appended, nothing renumbered).
The new members (worksheet, its relationships, table, drawing, charts) come last. The sheet's strings are inline
(the workbook's shared strings stay as they are). The write is atomic and refused when the file changed since it
was read.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

from cobro.schema import DASHBOARD, SUMMARY_TITLE, find_sheet, normalize_header

from .fileio import atomic_write
from .xlsx_package import Package, WorkbookError, rewrite_package
from .xlsx_sheet import NS_REL, REL_WORKSHEET, WorkbookParts, read_rels, rels_part

CT_SHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
CT = {"table": "application/vnd.openxmlformats-officedocument.spreadsheetml.table+xml",
      "drawing": "application/vnd.openxmlformats-officedocument.drawing+xml",
      "chart": "application/vnd.openxmlformats-officedocument.drawingml.chart+xml"}
SUMMARY_ROWS = 40  # the Summary's header and currency rows lie within these


def lacks_dashboard(data: bytes, name: str = "workbook") -> bool:
    """Whether the workbook ``data`` has no sheet titled like the Dashboard (worksheet or not)."""
    parts = WorkbookParts(Package(data, name))
    return not any(find_sheet(t) is DASHBOARD for t in parts.all_titles)


def add_dashboard(path: str | Path, locale: str) -> bool:
    """Add the Dashboard sheet to the workbook at ``path`` when it has none; True when it was added. ``locale``:
    the language of its sheets (the sheet's title and headers)."""
    target = Path(path)
    data = target.read_bytes()
    pkg = Package(data, target.name)
    pkg.check_sizes()
    if not lacks_dashboard(data, target.name):
        return False
    out = io.BytesIO()
    graft_dashboard(pkg, locale, out)

    def unchanged() -> None:
        if target.read_bytes() != data:
            raise WorkbookError(f"{target.name} changed while cobro was adding its Dashboard sheet; nothing was "
                                "written. Run the command again.", source=str(target))

    atomic_write(target, out.getvalue(), before_replace=unchanged)
    return True


# ----------------------------------------------------------------------------------------------- the Summary


def _summary_shape(pkg: Package, parts: WorkbookParts) -> tuple[str, list[str], list[int], list[object]] | None:
    """The Summary's title, currencies (in row order), bucket bounds and header row, or None without one."""
    from python_calamine import CalamineWorkbook

    from sheets_templates import summary_layout

    titles = {normalize_header(t) for t in SUMMARY_TITLE.values()}
    title = next((s.title for s in parts.sheets if normalize_header(s.title) in titles), None)
    if title is None:
        return None
    try:
        rows = CalamineWorkbook.from_filelike(io.BytesIO(pkg.data)).get_sheet_by_name(title).to_python(
            skip_empty_area=False, nrows=SUMMARY_ROWS)
    except Exception:  # a Summary calamine cannot read: the sheet comes without charts
        return None
    bucket_row = summary_layout([], [30]).bucket_cells[0][0]
    bounds: list[int] = []
    for v in rows[bucket_row][1:] if len(rows) > bucket_row else []:
        if isinstance(v, (int, float)) and not isinstance(v, bool) and v == int(v):
            bounds.append(int(v))
        else:
            break
    layout = summary_layout([], bounds)
    currencies = []
    for row in rows[layout.first_currency_row:]:
        cur = str(row[0]).strip() if row and row[0] is not None else ""
        if len(cur) != 3 or not cur.isalpha():
            break
        currencies.append(cur.upper())
    header = list(rows[layout.header_row]) if len(rows) > layout.header_row else []
    return title, currencies, bounds, header


# ----------------------------------------------------------------------------------------------- grafting


def graft_dashboard(pkg: Package, locale: str, out: io.BytesIO) -> None:
    """Write ``pkg`` with the Dashboard sheet added to ``out`` (see the module docstring)."""
    from sheets_templates import summary_layout
    from sheets_templates.dashboard import dashboard_package
    from sheets_templates.workbook import DEFAULT_BUCKETS

    parts = WorkbookParts(pkg)
    shape = _summary_shape(pkg, parts)
    if shape is None:
        summary_title, currencies, bounds, header = SUMMARY_TITLE.get(locale, "Summary"), [], [], []
    else:
        summary_title, currencies, bounds, header = shape
    layout = summary_layout(currencies, bounds or list(DEFAULT_BUCKETS))
    scratch = Package(dashboard_package(locale, layout, summary_title, header), "dashboard")
    sparts = WorkbookParts(scratch)
    src_sheet = sparts.sheets[1].part
    names = set(pkg.names())

    def free(folder: str, stem: str) -> str:
        n = 1
        while f"xl/{folder}/{stem}{n}.xml" in names:
            n += 1
        names.add(f"xl/{folder}/{stem}{n}.xml")
        return f"xl/{folder}/{stem}{n}.xml"

    added: dict[str, bytes] = {}
    overrides: list[tuple[str, str]] = []
    sheet_part = free("worksheets", "sheet")
    overrides.append((sheet_part, CT_SHEET))
    styles = _StyleGraft(pkg, parts, scratch, sparts)
    sheet_rels: dict[str, str] = {}
    for rid, (rtype, src) in read_rels(scratch, src_sheet).items():
        kind = rtype.rsplit("/", 1)[-1]
        if kind == "table":
            new = free("tables", "table")
            added[new] = _table(scratch.read(src), pkg, styles)
        elif kind == "drawing":
            new = free("drawings", "drawing")
            chart_of: dict[str, str] = {}
            for crid, (ctype, chart) in read_rels(scratch, src).items():
                if ctype.endswith("/chart"):
                    c_new = free("charts", "chart")
                    chart_of[crid] = c_new
                    added[c_new] = scratch.read(chart)
                    overrides.append((c_new, CT["chart"]))
            added[rels_part(new)] = _rels({k: (NS_REL + "/chart", "../charts/" + v.rsplit("/", 1)[1])
                                           for k, v in chart_of.items()})
            added[new] = scratch.read(src)
        else:
            continue
        overrides.append((new, CT[kind]))
        sheet_rels[rid] = new
    added[rels_part(sheet_part)] = _rels({rid: (NS_REL + "/" + ("table" if "/tables/" in p else "drawing"),
                                                "../" + p.split("/", 1)[1]) for rid, p in sheet_rels.items()})
    added[sheet_part] = _sheet(scratch.read(src_sheet), sparts, styles)
    changed = _bookkeeping(pkg, parts, DASHBOARD.title(locale), sheet_part, overrides)
    if styles.new_xml is not None and styles.part is not None:
        changed[styles.part] = styles.new_xml
    order = [sheet_part, rels_part(sheet_part)] + [n for n in added if n not in (sheet_part, rels_part(sheet_part))]
    rewrite_package(pkg, out, {k: (lambda v=v: iter([v])) for k, v in changed.items()},
                    [(n, (lambda v=added[n]: iter([v]))) for n in order])


def _rels(entries: dict[str, tuple[str, str]]) -> bytes:
    body = "".join(f'<Relationship Id="{rid}" Type="{rtype}" Target="{target}"/>'
                   for rid, (rtype, target) in entries.items())
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="http://schemas.'
            f'openxmlformats.org/package/2006/relationships">{body}</Relationships>').encode()


def _bookkeeping(pkg: Package, parts: WorkbookParts, title: str, sheet_part: str,
                 overrides: list[tuple[str, str]]) -> dict[str, bytes]:
    """workbook.xml with the new ``<sheet>`` last, its relationships, and the content types of the new parts."""
    wb_part = parts.workbook_part
    rels_name = rels_part(wb_part)
    rels = pkg.read(rels_name)
    ids = {int(x) for x in re.findall(rb'Id="rId(\d+)"', rels)}
    rid = f"rId{max(ids, default=0) + 1}"
    folder = wb_part.rsplit("/", 1)[0] + "/" if "/" in wb_part else ""
    target = sheet_part[len(folder):] if sheet_part.startswith(folder) else "/" + sheet_part
    rel = f'<Relationship Id="{rid}" Type="{REL_WORKSHEET}" Target="{target}"/>'.encode()
    rels = re.sub(rb"</(\w+:)?Relationships>\s*$", lambda m: rel + m.group(0), rels, count=1)
    wb = parts.workbook_xml
    sheet_ids = [int(x) for x in re.findall(rb'<(?:\w+:)?sheet\b[^>]*?\bsheetId="(\d+)"', wb)]
    m = re.search(rb"</(\w+:)?sheets>", wb)
    if m is None:
        raise WorkbookError(f"{pkg.name}: the workbook part lists no sheets", source=pkg.name)
    p = (m.group(1) or b"").decode()
    from .xlsx_sheet import xml_text

    entry = (f'<{p}sheet name="{xml_text(title)}" sheetId="{max(sheet_ids, default=0) + 1}"'
             f' xmlns:r="{NS_REL}" r:id="{rid}"/>').encode()
    wb = wb[:m.start()] + entry + wb[m.start():]
    ct = pkg.read("[Content_Types].xml")
    over = "".join(f'<Override PartName="/{name}" ContentType="{ctype}"/>' for name, ctype in overrides).encode()
    ct = re.sub(rb"</(\w+:)?Types>\s*$", lambda mm: over + mm.group(0), ct, count=1)
    return {wb_part: wb, rels_name: rels, "[Content_Types].xml": ct}


def _table(xml: bytes, pkg: Package, styles: _StyleGraft) -> bytes:
    """The Dashboard table with an id no other table of the workbook uses and its column formats re-pointed."""
    used = [0]
    for name in pkg.names():
        if re.fullmatch(r"xl/tables/[^/]+\.xml", name):
            m = re.search(rb'<(?:\w+:)?table\b[^>]*?\sid="(\d+)"', pkg.read(name)[:4096])
            if m:
                used.append(int(m.group(1)))
    xml = re.sub(rb'(<table\b[^>]*?\sid=")\d+"', lambda m: m.group(1) + str(max(used) + 1).encode() + b'"', xml,
                 count=1)
    return re.sub(rb'\sdataDxfId="(\d+)"', lambda m: styles.dxf(int(m.group(1))), xml)


def _sheet(xml: bytes, sparts: WorkbookParts, styles: _StyleGraft) -> bytes:
    """The Dashboard worksheet with inline strings (not the scratch's shared strings), not the selected tab, its
    cell styles re-pointed into the workbook's styles."""
    from .xlsx_sheet import xml_text

    sst = sparts.shared_strings

    def inline(m: re.Match[bytes]) -> bytes:
        attrs = re.sub(rb'\st="s"', b' t="inlineStr"', m.group(1))
        text = xml_text(str(sst[int(m.group(2))]))
        return b"<c" + attrs + b"><is><t xml:space=\"preserve\">" + text.encode() + b"</t></is></c>"

    xml = re.sub(rb'<c\b([^>]*\st="s"[^>]*)><v>(\d+)</v></c>', inline, xml)
    xml = xml.replace(b' tabSelected="1"', b"")
    return re.sub(rb'(<(?:c|col|row)\b[^>]*?\s)(s|style)="(\d+)"',
                  lambda m: m.group(1) + m.group(2) + b'="' + str(styles.xf(int(m.group(3)))).encode() + b'"', xml)


class _StyleGraft:
    """The scratch workbook's cell formats and differential formats appended to the workbook's styles part.

    Only appended: no existing index moves. A styles part written with prefixed elements (rare) is left alone,
    and the new cells then take the default format."""

    def __init__(self, pkg: Package, parts: WorkbookParts, scratch: Package, sparts: WorkbookParts) -> None:
        self.part = next((t for rt, t in parts.rels.values() if rt.endswith("/styles")), None)
        src_part = next(t for rt, t in sparts.rels.values() if rt.endswith("/styles"))
        self.src = scratch.read(src_part).decode("utf-8")
        xml = pkg.read(self.part).decode("utf-8") if self.part and self.part in pkg else ""
        self.ok = bool(xml) and re.search(r"<\w+:styleSheet\b", xml) is None
        self.xml = xml
        self.new_xml: bytes | None = None
        self._xf: dict[int, int] = {0: 0}
        self._dxf: dict[int, int] = {}
        if self.ok:
            self._graft()

    @staticmethod
    def _items(xml: str, group: str, item: str) -> list[str]:
        m = re.search(rf"<{group}\b[^>]*?(?:/>|>(.*?)</{group}>)", xml, re.S)
        if m is None or m.group(1) is None:
            return []
        return re.findall(rf"<{item}\b(?:[^>]*?/>|.*?</{item}>)", m.group(1), re.S)

    def _append(self, group: str, item: str, new: list[str], before: tuple[str, ...]) -> int:
        """Append ``new`` items to ``group`` (created before the first of ``before`` when absent); the index of
        the first appended item."""
        have = len(self._items(self.xml, group, item))
        if not new:
            return have
        m = re.search(rf"<{group}\b([^>]*?)(/>|>)", self.xml)
        if m is None:
            at = min((i.start() for t in before if (i := re.search(rf"<{t}\b", self.xml))),
                     default=self.xml.rindex("</styleSheet>"))
            self.xml = self.xml[:at] + f'<{group} count="{len(new)}">{"".join(new)}</{group}>' + self.xml[at:]
            return 0
        attrs = re.sub(r'\scount="\d+"', "", m.group(1))
        head = f'<{group}{attrs} count="{have + len(new)}">'
        if m.group(2) == "/>":
            self.xml = self.xml[:m.start()] + head + "".join(new) + f"</{group}>" + self.xml[m.end():]
        else:
            close = self.xml.index(f"</{group}>", m.end())
            self.xml = (self.xml[:m.start()] + head + self.xml[m.end():close] + "".join(new)
                        + self.xml[close:])
        return have

    def _graft(self) -> None:
        src = self.src
        ids = [int(x) for x in re.findall(r'numFmtId="(\d+)"', self.xml)]
        next_id = max([163, *ids]) + 1
        fmt_of: dict[int, int] = {}
        new_fmts = []
        existing = {code: int(i) for i, code in re.findall(r'<numFmt\b[^>]*numFmtId="(\d+)"[^>]*formatCode="([^"]*)"',
                                                             self.xml)}
        for i, code in re.findall(r'<numFmt\b[^>]*numFmtId="(\d+)"[^>]*formatCode="([^"]*)"',
                                  self._group(src, "numFmts")):
            if code in existing:
                fmt_of[int(i)] = existing[code]
            else:
                fmt_of[int(i)] = next_id
                new_fmts.append(f'<numFmt numFmtId="{next_id}" formatCode="{code}"/>')
                next_id += 1
        self._append("numFmts", "numFmt", new_fmts, ("fonts",))
        font0 = self._append("fonts", "font", self._items(src, "fonts", "font")[1:], ("fills",))
        fill0 = self._append("fills", "fill", self._items(src, "fills", "fill")[2:], ("borders",))
        border0 = self._append("borders", "border", self._items(src, "borders", "border")[1:], ("cellStyleXfs",))

        def remap(xf: str) -> str:
            def one(m: re.Match[str]) -> str:
                key, v = m.group(1), int(m.group(2))
                if key == "numFmtId":
                    v = fmt_of.get(v, v)
                elif key == "fontId":
                    v = 0 if v == 0 else font0 + v - 1
                elif key == "fillId":
                    v = v if v < 2 else fill0 + v - 2
                elif key == "borderId":
                    v = 0 if v == 0 else border0 + v - 1
                else:  # xfId: the workbook's Normal style
                    v = 0
                return f'{key}="{v}"'
            return re.sub(r'(numFmtId|fontId|fillId|borderId|xfId)="(\d+)"', one, xf)

        xfs = self._items(src, "cellXfs", "xf")
        first = self._append("cellXfs", "xf", [remap(x) for x in xfs[1:]], ("cellStyles",))
        self._xf.update({i: first + i - 1 for i in range(1, len(xfs))})

        def dxf_fmt(d: str) -> str:
            def one(m: re.Match[str]) -> str:
                nonlocal next_id
                next_id += 1
                return f'numFmtId="{next_id - 1}"'
            return re.sub(r'numFmtId="(\d+)"', one, d)

        dxfs = self._items(src, "dxfs", "dxf")
        d0 = self._append("dxfs", "dxf", [dxf_fmt(d) for d in dxfs], ("tableStyles", "colors", "extLst"))
        self._dxf = {i: d0 + i for i in range(len(dxfs))}
        self.new_xml = self.xml.encode("utf-8")

    @staticmethod
    def _group(xml: str, group: str) -> str:
        m = re.search(rf"<{group}\b[^>]*>(.*?)</{group}>", xml, re.S)
        return m.group(1) if m else ""

    def xf(self, i: int) -> int:
        return self._xf.get(i, 0) if self.ok else 0

    def dxf(self, i: int) -> bytes:
        """The ``dataDxfId`` attribute re-pointed (dropped when the styles part was left alone)."""
        return f' dataDxfId="{self._dxf[i]}"'.encode() if self.ok and i in self._dxf else b""
