"""Writing the workbook in place (issue 12): every part cobro does not edit comes back byte for byte.

The ledger here carries what a real user's workbook may carry — a chart over the Summary, an image (logo), a pivot
table with its cache, comments, defined names, a second table the user made, an Office add-in's state in
``xl/webextensions/`` and, as .xlsm, a VBA project — and goes through ``log``, ``remind``, ``reconcile --apply`` and
``refresh``. After each command, only the edited sheets and their tables differ; openpyxl and LibreOffice open the
result; LibreOffice's recalculated Summary equals cobro's aging (so it includes the appended rows).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import zipfile
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from cobro import money
from cobro_cli import run
from sheets_templates import build_workbook
from sheets_templates.libreoffice import recalculate, soffice_path
from sync.xlsx_package import Package
from sync.xlsx_store import XlsxStore

AS_OF = dt.date(2026, 11, 20)
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
# Any bytes do for a VBA project in byte-identity checks; an OLE compound-file signature keeps it plausible.
VBA_BYTES = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(range(256)) * 8

PIVOT_CACHE = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<pivotCacheDefinition xmlns="{MAIN}" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"
 r:id="rId1" refreshOnLoad="1" recordCount="3"><cacheSource type="worksheet"><worksheetSource ref="A1:B4"
 sheet="Mis datos"/></cacheSource><cacheFields count="2"><cacheField name="Zona" numFmtId="0"><sharedItems count="2">
<s v="Norte"/><s v="Sur"/></sharedItems></cacheField><cacheField name="Valor" numFmtId="0"><sharedItems
 containsSemiMixedTypes="0" containsString="0" containsNumber="1" containsInteger="1" minValue="1" maxValue="3"/>
</cacheField></cacheFields></pivotCacheDefinition>"""
PIVOT_RECORDS = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<pivotCacheRecords xmlns="{MAIN}" count="3"><r><x v="0"/><n v="1"/></r><r><x v="1"/><n v="2"/></r><r><x v="0"/>
<n v="3"/></r></pivotCacheRecords>"""
PIVOT_TABLE = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<pivotTableDefinition xmlns="{MAIN}" name="TablaDinamica1" cacheId="7" dataCaption="Valores" updatedVersion="6"
 minRefreshableVersion="3" createdVersion="6" useAutoFormatting="1" itemPrintTitles="1" indent="0" outline="1"
 outlineData="1"><location ref="E1:F4" firstHeaderRow="1" firstDataRow="1" firstDataCol="1"/><pivotFields count="2">
<pivotField axis="axisRow" showAll="0"><items count="3"><item x="0"/><item x="1"/><item t="default"/></items>
</pivotField><pivotField dataField="1" showAll="0"/></pivotFields><rowFields count="1"><field x="0"/></rowFields>
<rowItems count="3"><i><x/></i><i><x v="1"/></i><i t="grand"><x/></i></rowItems><colItems count="1"><i/></colItems>
<dataFields count="1"><dataField name="Suma de Valor" fld="1" baseField="0" baseItem="0"/></dataFields>
</pivotTableDefinition>"""
WEBEXT = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<we:webextension xmlns:we="http://schemas.microsoft.com/office/webextensions/webextension/2010/11"
 id="{6A1B2C3D-0000-4000-8000-000000000001}"><we:reference id="wa200000000" version="1.0.0.0" store="en-US"
 storeType="OMEX"/><we:alternateReferences/><we:properties><we:property name="cobro.binding"
 value="&quot;Facturas&quot;"/></we:properties><we:bindings/><we:snapshot
 xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"/></we:webextension>"""
TASKPANES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<wetp:taskpanes xmlns:wetp="http://schemas.microsoft.com/office/webextensions/taskpanes/2010/11"><wetp:taskpane
 dockstate="right" visibility="0" width="350" row="4"><wetp:webextensionref
 xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" r:id="rId1"/></wetp:taskpane>
</wetp:taskpanes>"""
TASKPANES_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1"
 Type="http://schemas.microsoft.com/office/2011/relationships/webextension" Target="webextension1.xml"/>
</Relationships>"""


def _png() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (40, 20), (200, 30, 30)).save(buf, "PNG")
    return buf.getvalue()


def _add_rel(rels: str, rid: str, rtype: str, target: str) -> str:
    return rels.replace("</Relationships>", f'<Relationship Id="{rid}" Type="{rtype}" Target="{target}"/>'
                                            "</Relationships>")


def _zip_surgery(src: Path, dst: Path, xlsm: bool) -> None:
    """Add what openpyxl cannot write: a pivot table with its cache, an add-in's task pane, a VBA project."""
    zin = zipfile.ZipFile(src)
    files = {i.filename: zin.read(i.filename) for i in zin.infolist()}
    wb = files["xl/workbook.xml"].decode()
    sheets = re.findall(r'<sheet [^>]*name="([^"]+)"[^>]*r:id="(rId\d+)"', wb)
    rels = files["xl/_rels/workbook.xml.rels"].decode()
    rid_of = dict(sheets)
    target = re.search(rf'Id="{rid_of["Mis datos"]}"[^>]*Target="([^"]+)"', rels) or \
        re.search(rf'Target="([^"]+)"[^>]*Id="{rid_of["Mis datos"]}"', rels)
    assert target is not None
    sheet_part = "xl/" + target.group(1).lstrip("/").removeprefix("xl/")
    rels = _add_rel(rels, "rId901", "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
                    "pivotCacheDefinition", "pivotCache/pivotCacheDefinition1.xml")
    # pivotCaches come after calcPr in the schema
    cache = ('<pivotCaches><pivotCache xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" '
             'cacheId="7" r:id="rId901"/></pivotCaches>')
    wb = re.sub(r"(<calcPr[^>]*/>)", lambda m: m.group(1) + cache, wb)
    ct = files["[Content_Types].xml"].decode()
    over = {
        "/xl/pivotCache/pivotCacheDefinition1.xml":
            "application/vnd.openxmlformats-officedocument.spreadsheetml.pivotCacheDefinition+xml",
        "/xl/pivotCache/pivotCacheRecords1.xml":
            "application/vnd.openxmlformats-officedocument.spreadsheetml.pivotCacheRecords+xml",
        "/xl/pivotTables/pivotTable1.xml":
            "application/vnd.openxmlformats-officedocument.spreadsheetml.pivotTable+xml",
        "/xl/webextensions/webextension1.xml": "application/vnd.ms-office.webextension+xml",
        "/xl/webextensions/taskpanes.xml": "application/vnd.ms-office.webextensiontaskpanes+xml",
    }
    for part, ctype in over.items():
        ct = ct.replace("</Types>", f'<Override PartName="{part}" ContentType="{ctype}"/></Types>')
    files["xl/pivotCache/pivotCacheDefinition1.xml"] = PIVOT_CACHE.encode()
    files["xl/pivotCache/pivotCacheRecords1.xml"] = PIVOT_RECORDS.encode()
    files["xl/pivotCache/_rels/pivotCacheDefinition1.xml.rels"] = _add_rel(
        TASKPANES_RELS.split("<Relationship ")[0] + "</Relationships>", "rId1",
        "http://schemas.openxmlformats.org/officeDocument/2006/relationships/pivotCacheRecords",
        "pivotCacheRecords1.xml").encode()
    files["xl/pivotTables/pivotTable1.xml"] = PIVOT_TABLE.encode()
    files["xl/pivotTables/_rels/pivotTable1.xml.rels"] = _add_rel(
        TASKPANES_RELS.split("<Relationship ")[0] + "</Relationships>", "rId1",
        "http://schemas.openxmlformats.org/officeDocument/2006/relationships/pivotCacheDefinition",
        "../pivotCache/pivotCacheDefinition1.xml").encode()
    sheet_rels_name = sheet_part.replace("worksheets/", "worksheets/_rels/") + ".rels"
    sheet_rels = files.get(sheet_rels_name, (TASKPANES_RELS.split("<Relationship ")[0] + "</Relationships>")
                           .encode()).decode()
    files[sheet_rels_name] = _add_rel(sheet_rels, "rId902", "http://schemas.openxmlformats.org/officeDocument/2006/"
                                      "relationships/pivotTable", "../pivotTables/pivotTable1.xml").encode()
    files["xl/webextensions/webextension1.xml"] = WEBEXT.encode()
    files["xl/webextensions/taskpanes.xml"] = TASKPANES.encode()
    files["xl/webextensions/_rels/taskpanes.xml.rels"] = TASKPANES_RELS.encode()
    root_rels = _add_rel(files["_rels/.rels"].decode(), "rId903",
                         "http://schemas.microsoft.com/office/2011/relationships/webextensiontaskpanes",
                         "xl/webextensions/taskpanes.xml")
    files["_rels/.rels"] = root_rels.encode()
    if xlsm:
        ct = ct.replace("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
                        "application/vnd.ms-excel.sheet.macroEnabled.main+xml")
        ct = ct.replace("</Types>", '<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/>'
                                    "</Types>")
        rels = _add_rel(rels, "rId904", "http://schemas.microsoft.com/office/2006/relationships/vbaProject",
                        "vbaProject.bin")
        files["xl/vbaProject.bin"] = VBA_BYTES
    files["xl/workbook.xml"] = wb.encode()
    files["xl/_rels/workbook.xml.rels"] = rels.encode()
    files["[Content_Types].xml"] = ct.encode()
    with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for name, data in files.items():
            zout.writestr(name, data)


def rich_ledger(folder: Path, xlsm: bool = False, invoices: int = 200, customers: int = 30,
                dashboard: bool = True) -> Path:
    """A demo ledger with every part a real user's workbook may carry (see the module docstring); without the
    Dashboard sheet when ``dashboard`` is off (a workbook made before it existed)."""
    from openpyxl.chart import BarChart, Reference
    from openpyxl.comments import Comment
    from openpyxl.drawing.image import Image as XLImage
    from openpyxl.workbook.defined_name import DefinedName
    from openpyxl.worksheet.table import Table

    from cobro.demo.generate import generate_ledger

    folder.mkdir(parents=True, exist_ok=True)
    base = folder / "base.xlsx"
    led = generate_ledger(customers=customers, invoices=invoices, seed=5, locale="es", as_of=AS_OF)
    build_workbook(base, locale="es", ledger=led, as_of=AS_OF, dashboard=dashboard)
    wb = openpyxl.load_workbook(base)
    summary = wb["Resumen"]
    chart = BarChart()
    chart.title = "Antigüedad"
    chart.add_data(Reference(summary, min_col=2, max_col=4, min_row=8, max_row=9), titles_from_data=False)
    summary.add_chart(chart, "H2")
    summary.add_image(XLImage(io.BytesIO(_png())), "A30")
    wb["Clientes"]["A1"].comment = Comment("Identificador interno", "Ana")
    wb.defined_names["TipoIVA"] = DefinedName("TipoIVA", attr_text="'Configuración'!$B$2")
    mine = wb.create_sheet("Mis datos")
    for row in (["Zona", "Valor"], ["Norte", 1], ["Sur", 2], ["Norte", 3]):
        mine.append(row)
    mine.add_table(Table(displayName="MiTabla", ref="A1:B4"))
    mine["D1"] = "=SUM(MiTabla[Valor])"
    wb.save(base)
    out = folder / ("cobranza.xlsm" if xlsm else "cobranza.xlsx")
    _zip_surgery(base, out, xlsm)
    base.unlink()
    return out


# ------------------------------------------------------------------------------------------------ helpers


def members(path: Path) -> dict[str, bytes]:
    """Each member's stored bytes (local header + compressed data), in archive order."""
    pkg = Package(path.read_bytes(), path.name)
    return {m.name: bytes(pkg.data[m.local_start:m.local_end]) for m in
            sorted(pkg.members.values(), key=lambda m: m.local_start)}


def sheet_parts(path: Path, titles: set[str]) -> set[str]:
    """The worksheet parts of the sheets titled ``titles`` and their table parts."""
    from sync.xlsx_sheet import WorkbookParts

    parts = WorkbookParts(Package(path.read_bytes(), path.name))
    out: set[str] = set()
    for s in parts.sheets:
        if s.title in titles:
            parts.load_tables(s)
            out.add(s.part)
            out.update(t.part for t in s.tables)
    return out


def changed_parts(before: dict[str, bytes], after: dict[str, bytes]) -> set[str]:
    assert list(after) == list(before), "the member order changed"
    return {k for k in before if before[k] != after[k]}


def statement_for(path: Path, out: Path, n: int = 4) -> Path:
    """A bank CSV paying the first ``n`` open invoices in full, quoting their ids."""
    led = XlsxStore(path).load()
    from cobro.balances import invoice_balances

    b = invoice_balances(led, AS_OF)
    open_ = b[(b["balance"] > 0) & (b["currency"] == "EUR")].head(n)
    lines = []
    for _, r in open_.iterrows():
        amount = money.to_decimal(int(r["balance"]), "EUR")
        text = f"{amount:.2f}".replace(".", ",")
        lines.append(f"18/11/2026;18/11/2026;TRANSF FRA {r['invoice_id']};{text};0,00")
    out.write_text("Fecha;Fecha valor;Concepto;Importe;Saldo\n" + "\n".join(lines) + "\n", encoding="latin-1")
    return out


# ------------------------------------------------------------------------------------------------ tests


@pytest.fixture(params=["xlsx", "xlsm"])
def rich(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    return rich_ledger(tmp_path / "book", xlsm=request.param == "xlsm")


def test_rich_fixture_carries_every_part(rich: Path) -> None:
    names = set(members(rich))
    for expected in ("xl/charts/chart1.xml", "xl/drawings/drawing1.xml", "xl/pivotTables/pivotTable1.xml",
                     "xl/pivotCache/pivotCacheDefinition1.xml", "xl/pivotCache/pivotCacheRecords1.xml",
                     "xl/comments/comment1.xml", "xl/webextensions/webextension1.xml",
                     "xl/webextensions/taskpanes.xml"):
        assert expected in names, expected
    assert any(n.startswith("xl/media/") for n in names)
    if rich.suffix == ".xlsm":
        assert "xl/vbaProject.bin" in names
    assert b"TipoIVA" in zipfile.ZipFile(rich).read("xl/workbook.xml")


def _run(args: list[str]) -> None:
    rc = run(args)
    assert rc == 0, f"cobro {' '.join(args)} exited {rc}"


def test_commands_change_only_their_sheets(rich: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for var in ("COBRO_SMTP_HOST", "COBRO_SMTP_PORT", "COBRO_SMTP_USER", "COBRO_SMTP_PASSWORD"):
        monkeypatch.delenv(var, raising=False)
    led = XlsxStore(rich).load()
    customer = str(led.customers["customer_id"].iloc[0])
    stmt = statement_for(rich, tmp_path / "extracto.csv")
    contacts_before = len(led.contacts)
    payments_before = len(led.payments)
    steps: list[tuple[list[str], set[str]]] = [
        (["log", str(rich), customer, "--outcome", "no_answer", "--as-of", AS_OF.isoformat(), "--user", "ana"],
         {"Gestiones", "Facturas"}),
        (["remind", str(rich), "--as-of", AS_OF.isoformat()], {"Gestiones", "Facturas"}),
        (["reconcile", str(rich), str(stmt), "--auto", "--as-of", AS_OF.isoformat()], {"Conciliación"}),
        (["reconcile", str(rich), "--apply", "--as-of", AS_OF.isoformat()], {"Pagos", "Conciliación", "Facturas"}),
        (["refresh", str(rich), "--as-of", AS_OF.isoformat()], {"Facturas", "Pagos", "Panel"}),
    ]
    for args, allowed in steps:
        before = members(rich)
        _run(args)
        after = members(rich)
        changed = changed_parts(before, after)
        assert changed <= sheet_parts(rich, allowed), (args[0], sorted(changed - sheet_parts(rich, allowed)))
        for name in set(before) - changed:
            assert before[name] == after[name]
        wb = openpyxl.load_workbook(rich, keep_vba=rich.suffix == ".xlsm")  # openpyxl opens it
        assert "Mis datos" in wb.sheetnames
    capsys.readouterr()
    led = XlsxStore(rich).load()
    assert len(led.contacts) > contacts_before + 1  # the logged call and the reminders
    assert len(led.payments) == payments_before + 4  # the statement applied
    # every table covers its data
    wb = openpyxl.load_workbook(rich)
    for title, table in (("Gestiones", "Contacts"), ("Pagos", "Payments"), ("Facturas", "Invoices")):
        ws = wb[title]
        ref = next(t.ref for t in ws.tables.values() if t.name == table)
        last = max(c.row for row in ws.iter_rows() for c in row if c.value not in (None, ""))
        assert ref.endswith(str(last)), (title, ref, last)
    if rich.suffix == ".xlsm":
        assert zipfile.ZipFile(rich).read("xl/vbaProject.bin") == VBA_BYTES


def test_refresh_adds_a_missing_dashboard_and_keeps_every_other_part(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """A rich workbook made before the Dashboard existed: refresh adds the sheet (worksheet, table, drawing and
    charts last); every old member keeps its bytes but the edited sheets and the bookkeeping that names the new
    parts; a second refresh updates the sheet and adds nothing."""
    book = rich_ledger(tmp_path / "book", xlsm=True, dashboard=False)
    before = members(book)
    _run(["refresh", str(book), "--as-of", AS_OF.isoformat()])
    after = members(book)
    assert list(after)[:len(before)] == list(before)
    added = [n for n in after if n not in before]
    assert {n.split("/")[1] for n in added} == {"worksheets", "tables", "drawings", "charts"}
    changed = {n for n in before if before[n] != after[n]}
    bookkeeping = {"[Content_Types].xml", "xl/workbook.xml", "xl/_rels/workbook.xml.rels", "xl/styles.xml"}
    assert changed - sheet_parts(book, {"Facturas", "Pagos"}) == bookkeeping
    assert zipfile.ZipFile(book).read("xl/vbaProject.bin") == VBA_BYTES
    wb = openpyxl.load_workbook(book, keep_vba=True)
    assert wb.sheetnames[-1] == "Panel" and "Mis datos" in wb.sheetnames
    ws = wb["Panel"]
    assert len(ws._charts) >= 1 and list(ws.tables) == ["Dashboard"]
    assert len([r for r in ws.iter_rows(min_row=2, values_only=True) if r[0]]) > 20
    _run(["refresh", str(book), "--as-of", (AS_OF + dt.timedelta(days=1)).isoformat()])
    again = members(book)
    assert list(again) == list(after)
    assert changed_parts(after, again) <= sheet_parts(book, {"Facturas", "Pagos", "Panel"})
    capsys.readouterr()


@pytest.mark.skipif(soffice_path() is None, reason="LibreOffice (soffice) is not installed")
def test_libreoffice_opens_the_result_and_its_summary_counts_appended_rows(tmp_path: Path,
                                                                            capsys: pytest.CaptureFixture[str]
                                                                            ) -> None:
    from cobro.aging import aging
    from sheets_templates import read_summary

    book = rich_ledger(tmp_path / "book", xlsm=True)
    before = aging(XlsxStore(book).load(), AS_OF).totals
    stmt = statement_for(book, tmp_path / "extracto.csv")
    _run(["reconcile", str(book), str(stmt), "--auto", "--as-of", AS_OF.isoformat()])
    _run(["reconcile", str(book), "--apply", "--as-of", AS_OF.isoformat()])
    capsys.readouterr()
    result = recalculate(book, tmp_path / "lo", timeout=300)
    summary = read_summary(result)
    ref = aging(XlsxStore(book).load(), AS_OF)
    assert summary and not before.equals(ref.totals)  # the applied payments move the figures
    for cur, row in ref.totals.iterrows():
        for col, value in row.items():
            if str(col) not in summary[str(cur)]:
                continue
            got = summary[str(cur)][str(col)]
            assert money.round_to_minor(Decimal(repr(float(got))), str(cur)) == int(value), (cur, col, got, value)


def test_writer_keeps_the_calc_flag_and_workbook_part(rich: Path) -> None:
    """A workbook saved by Excel asks for no recalculation; cobro's edit makes its cached Summary stale, so the
    workbook part gains fullCalcOnLoad (the only change to it)."""
    import pandas as pd

    from sync.store import Changes

    data = rich.read_bytes()
    wb_xml = zipfile.ZipFile(rich).read("xl/workbook.xml")
    stripped = re.sub(rb'\s+fullCalcOnLoad="1"', b"", wb_xml)
    assert stripped != wb_xml
    buf = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as zin, zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            zout.writestr(info, stripped if info.filename == "xl/workbook.xml" else zin.read(info.filename))
    rich.write_bytes(buf.getvalue())
    store = XlsxStore(rich)
    store.load()
    store.commit(Changes(update={"Customers": pd.DataFrame({"_row": [2], "notes": ["llamar"]})}))
    after = zipfile.ZipFile(rich).read("xl/workbook.xml")
    assert after == stripped.replace(b"<calcPr ", b"<calcPr ").replace(
        re.search(rb"<calcPr\b[^>]*?(?=/?>)", stripped).group(0),  # type: ignore[union-attr]
        re.search(rb"<calcPr\b[^>]*?(?=/?>)", stripped).group(0) + b' fullCalcOnLoad="1"')  # type: ignore[union-attr]
    assert json.dumps(len(XlsxStore(rich).load().customers))


def test_appended_rows_take_validations_and_conditional_formats(tmp_path: Path) -> None:
    """Ranges of data validations and conditional formats that cover the table's rows grow with it; ranges
    elsewhere stay as they are."""
    import pandas as pd
    import xlsxwriter

    from cobro.schema import CUSTOMERS, PAYMENTS
    from sync.store import Changes

    path = tmp_path / "dv.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    red = wb.add_format({"font_color": "red"})
    ws = wb.add_worksheet(CUSTOMERS.title("es"))
    ws.add_table(0, 0, 1, len(CUSTOMERS.columns) - 1, {
        "name": "Customers", "columns": [{"header": c.header("es")} for c in CUSTOMERS.columns],
        "data": [["C1", "Acme"] + [None] * (len(CUSTOMERS.columns) - 2)]})
    ws = wb.add_worksheet(PAYMENTS.title("es"))
    headers = [c.header("es") for c in PAYMENTS.columns]
    ws.add_table(0, 0, 2, len(headers) - 1, {"name": "Payments", "columns": [{"header": h} for h in headers],
                                             "data": [[f"P{i}", None, "C1", None, 10.0 * i, "EUR"] for i in (1, 2)]})
    ws.data_validation(1, 6, 2, 6, {"validate": "list", "source": ["transferencia", "efectivo"]})
    ws.conditional_format(1, 4, 2, 4, {"type": "cell", "criteria": "<", "value": 0, "format": red})
    ws.data_validation(10, 12, 10, 12, {"validate": "integer", "criteria": ">", "value": 0})  # elsewhere
    wb.close()
    store = XlsxStore(path)
    store.load_raw()
    store.commit(Changes(append={"Payments": pd.DataFrame({"customer_id": ["C1", "C1"], "amount": [500, 700],
                                                           "currency": ["EUR", "EUR"]})}))
    sheet = zipfile.ZipFile(path).read("xl/worksheets/sheet2.xml").decode()
    assert 'sqref="G2:G5"' in sheet and 'sqref="E2:E5"' in sheet and 'sqref="M11"' in sheet
    wb2 = openpyxl.load_workbook(path)
    assert wb2["Pagos"].tables["Payments"].ref == "A1:J5"


def test_a_missing_cobro_sheet_is_added_with_only_the_bookkeeping_it_needs(tmp_path: Path) -> None:
    """A ledger without the Matches sheet: the write adds it (a new worksheet part, its relationship, its
    content type, its entry in the workbook part); every other part is unchanged."""
    import pandas as pd

    from sync.store import Changes
    from sync.xlsx_store import commit_with_openpyxl
    from tests.conftest import write_user_workbook

    base = write_user_workbook(tmp_path / "base.xlsx")
    wb = openpyxl.load_workbook(base)
    del wb["Conciliación"]
    path = tmp_path / "sin-conciliacion.xlsx"
    wb.save(path)
    ref = tmp_path / "ref.xlsx"
    ref.write_bytes(path.read_bytes())
    frame = pd.DataFrame({"statement_line": ["L1", "L2"], "date": [pd.Timestamp("2026-11-18")] * 2,
                          "amount": [10000, 2550], "currency": ["EUR", "EUR"], "text": ["TRF F-2", "=1+1"],
                          "invoice_ids": [("F-2",), ()], "action": ["accept", ""]})
    before = members(path)
    store = XlsxStore(path)
    store.load_raw()
    store.commit(Changes(replace={"Matches": frame}))
    commit_with_openpyxl(ref, Changes(replace={"Matches": frame}), "es")
    after = members(path)
    added = [n for n in after if n not in before]
    assert len(added) == 1 and added[0].startswith("xl/worksheets/sheet")
    assert list(after)[:len(before)] == list(before)  # the old members keep their order; the new one comes last
    changed = {n for n in before if before[n] != after[n]}
    assert changed == {"[Content_Types].xml", "xl/workbook.xml", "xl/_rels/workbook.xml.rels"}
    got, want = openpyxl.load_workbook(path)["Conciliación"], openpyxl.load_workbook(ref)["Conciliación"]
    assert [[c.value for c in r] for r in got.iter_rows()] == [[c.value for c in r] for r in want.iter_rows()]
    led = XlsxStore(path).load()
    assert led.matches["statement_line"].tolist() == ["L1", "L2"]


def test_appended_rows_are_built_as_the_general_path_builds_them(tmp_path: Path) -> None:
    """The fast path for rows appended below the template (an import appends a million) writes exactly the bytes
    the general row builder writes: the calculated columns' formulas that read the same on every row, formatted
    empty cells, a formula that shifts with its row (translated per row), and the values set."""
    import pandas as pd

    from cobro.schema import SHEETS_BY_KEY, find_sheet
    from sync.xlsx_edit import _SheetEdit
    from sync.xlsx_package import Package
    from sync.xlsx_sheet import CellWriter, WorkbookParts, _row_xml, _row_xml_general
    from tests.conftest import write_user_workbook

    path = write_user_workbook(tmp_path / "u.xlsx")
    parts = WorkbookParts(Package(path.read_bytes(), path.name))
    frames = {"Payments": pd.DataFrame({"date": [pd.Timestamp("2026-11-20")] * 3, "customer_id": ["C1", "C2", ""],
                                        "amount": [12345, 1, 999999], "currency": ["EUR", "USD", "EUR"],
                                        "reference": ["TRF 1", "=1+1", ""]}),
              "Contacts": pd.DataFrame({"timestamp": [pd.Timestamp("2026-11-20 10:00")] * 2,
                                        "customer_id": ["C1", "C2"], "channel": ["email", "phone"],
                                        "outcome": ["sent", "no_answer"], "notes": ["a & b", "<x>"]})}
    for key, frame in frames.items():
        spec = SHEETS_BY_KEY[key]
        sheet = next(s for s in parts.sheets if find_sheet(s.title) is spec)
        edit = _SheetEdit(parts, sheet, spec, "es")
        edit.append(frame)
        plan = edit.plan
        assert plan.new_rows is not None and plan.template_row is not None
        tpl_ref = f"AD{plan.template_row}"  # a user's formula that shifts with its row, beside the table
        plan.template_cells[30] = (None, f"A{plan.template_row}*2+$B$1", tpl_ref)
        plan.copy_cols = max(plan.copy_cols, 30)
        writer = CellWriter(parts)
        first, last = plan.new_rows
        built = 0
        for r in range(first, last + 1):
            if r == plan.template_row:
                continue
            fast = _row_xml(edit.scan, plan, writer, edit.sst, r, None)
            assert fast == _row_xml_general(edit.scan, plan, writer, edit.sst, r, None), (key, r)
            assert f"<f>A{r}*2+$B$1</f>".encode() in fast
            built += 1
        assert built and plan.new_row_cells is not None


def test_date_columns_are_converted_whole_as_cell_by_cell() -> None:
    """The whole-column conversion of dates and timestamps (a million imported rows) gives what ``to_cell`` gives
    cell by cell: dates as dates, timestamps to the second, blanks as None, before 1970 too."""
    import warnings

    import pandas as pd

    from cobro.schema import CONTACTS, INVOICES
    from sync.cells import to_cell
    from sync.xlsx_edit import _column_cells

    cases = ((INVOICES.column("issue_date"), ["2026-01-02", None, "1999-12-31 13:45", "1901-03-04"]),
             (CONTACTS.column("timestamp"), ["2026-01-02 10:11:12.987654321", None, "1960-05-06 01:02:03.5",
                                            "2040-12-31 23:59:59.999"]))
    for column, values in cases:
        series = pd.Series(pd.to_datetime(values, format="ISO8601"), dtype="datetime64[ns]")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # to_cell drops the nanoseconds, saying so
            want = [to_cell(column, v, "EUR", "es") for v in series.to_numpy(dtype=object)]
        got = _column_cells(column, series, ["EUR"] * len(series), "es")
        assert got == want and [type(v) for v in got] == [type(v) for v in want]
