"""The workbook's Dashboard (issue 14): the template's sheet with native charts over the Summary's formulas, and
``cobro refresh`` writing KPIs, the worklist's top 20 and the forecast into its table without dropping anything."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from pathlib import Path

import openpyxl
import pytest

from cobro.demo.generate import DEFAULT_AS_OF, generate_ledger
from cobro.forecast import forecast
from cobro.kpis import kpis
from cobro.report.dashboard import dashboard_frame
from cobro.worklist import worklist
from sheets_templates import build_workbook
from sync.cycle import holds_dashboard, refresh
from sync.xlsx_store import XlsxStore


@pytest.fixture
def book(tmp_path: Path) -> Path:
    path = tmp_path / "panel.xlsx"
    build_workbook(path, locale="es", ledger=generate_ledger(customers=20, invoices=300), as_of=DEFAULT_AS_OF,
                   dashboard=True)
    return path


def test_dashboard_rows_are_the_core_functions_figures() -> None:
    led = generate_ledger(customers=20, invoices=300)
    f = dashboard_frame(led, DEFAULT_AS_OF, locale="en")
    k = kpis(led, DEFAULT_AS_OF, months=3)
    dso = f[(f["section"] == "KPI") & (f["label"] == "DSO")]
    assert [float(c.dso) for c in k.currencies if c.dso is not None] == dso["figure"].dropna().tolist()
    wl = f[f["section"] == "worklist"]
    assert len(wl) == min(20, len(worklist(led, DEFAULT_AS_OF).rows))
    assert wl["label"].iloc[0].startswith("1. ")
    fc = forecast(led, DEFAULT_AS_OF)
    for cur, weeks in fc.inflow.items():
        got = f[(f["section"] == "forecast") & (f["currency"] == cur)]["amount"].tolist()
        assert got == [*weeks, fc.later[cur]]


def test_refresh_fills_the_dashboard_and_keeps_everything_else(book: Path) -> None:
    before = openpyxl.load_workbook(book)
    names = before.sheetnames
    assert names[-1] == "Panel" and len(before["Panel"]._charts) >= 1
    store = XlsxStore(book)
    led = store.load()
    assert holds_dashboard(store)
    n = refresh(store, DEFAULT_AS_OF, led)
    assert n == len(led.invoices)
    wb = openpyxl.load_workbook(book)
    assert wb.sheetnames == names
    ws = wb["Panel"]
    assert len(ws._charts) == len(before["Panel"]._charts)  # the native charts survive the in-place write
    rows = list(ws.iter_rows(min_row=1, values_only=True))
    assert rows[0][:6] == ("Sección", "Concepto", "Moneda", "Importe", "Cifra", "Detalle")
    sections = {r[0] for r in rows[1:] if r[0]}
    assert sections == {"indicador", "lista de trabajo", "previsión"}
    assert ws.tables["Dashboard"].ref.startswith("A1:F")
    # the chart reads the Summary's formula cells
    chart = ws._charts[0]
    refs = [s.val.numRef.f for s in chart.series]
    assert all(r.startswith("'Resumen'!") for r in refs)
    # a second refresh replaces the rows (no duplicates)
    store2 = XlsxStore(book)
    refresh(store2, DEFAULT_AS_OF + dt.timedelta(days=1), store2.load())
    rows2 = list(openpyxl.load_workbook(book)["Panel"].iter_rows(min_row=2, values_only=True))
    assert len([r for r in rows2 if r[0]]) == len([r for r in rows[1:] if r[0]])


def test_refresh_adds_the_dashboard_to_a_ledger_without_one_and_keeps_every_part(tmp_path: Path) -> None:
    """A workbook made without the Dashboard: the first refresh adds the sheet (table and native charts over the
    Summary) — the old members keep their bytes and order except the bookkeeping; the next refresh updates it."""
    from sync.xlsx_package import Package

    path = tmp_path / "plain.xlsx"
    build_workbook(path, locale="en", ledger=generate_ledger(customers=5, invoices=30, locale="en"),
                   as_of=DEFAULT_AS_OF, dashboard=False)

    def members() -> dict[str, bytes]:
        pkg = Package(path.read_bytes(), path.name)
        return {m.name: bytes(pkg.data[m.local_start:m.local_end])
                for m in sorted(pkg.members.values(), key=lambda m: m.local_start)}

    before, titles = members(), openpyxl.load_workbook(path).sheetnames
    store = XlsxStore(path)
    led = store.load()
    assert not holds_dashboard(store)
    refresh(store, DEFAULT_AS_OF, led)
    after = members()
    assert list(after)[:len(before)] == list(before)  # the old members first, in their order
    touched = {n for n in before if before[n] != after[n]}
    sheets = {"xl/worksheets/sheet3.xml", "xl/worksheets/sheet4.xml"}  # Invoices and Payments (derived columns)
    assert touched - sheets == {"[Content_Types].xml", "xl/workbook.xml", "xl/_rels/workbook.xml.rels",
                                "xl/styles.xml"}
    added = [n for n in after if n not in before]
    kinds = [n.split("/")[1] for n in added]
    assert sorted(set(kinds)) == ["charts", "drawings", "tables", "worksheets"] and kinds.count("worksheets") == 2
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == [*titles, "Dashboard"]
    ws = wb["Dashboard"]
    assert len(ws._charts) == kinds.count("charts") >= 1 and ws.tables["Dashboard"].ref.startswith("A1:F")
    assert all(s.val.numRef.f.startswith("'Summary'!") for s in ws._charts[0].series)
    rows = [r for r in ws.iter_rows(min_row=2, values_only=True) if r[0]]
    assert {r[0] for r in rows} == {"KPI", "worklist", "forecast"}
    store = XlsxStore(path)
    led = store.load()
    assert holds_dashboard(store)
    refresh(store, DEFAULT_AS_OF + dt.timedelta(days=1), led)
    again = members()
    assert list(again) == list(after)  # updated in place: no second sheet
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames.count("Dashboard") == 1
    assert len([r for r in wb["Dashboard"].iter_rows(min_row=2, values_only=True) if r[0]]) == len(rows)


@pytest.mark.parametrize("made", ["template", "added"])
def test_libreoffice_draws_the_chart_from_the_summary_formulas(made: str, tmp_path: Path) -> None:
    """The Dashboard the template builds, and the one refresh adds to a workbook without it, drawn by LibreOffice
    from the Summary's formulas."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if not soffice or not shutil.which("pdftoppm"):
        pytest.skip("LibreOffice (soffice) and pdftoppm are needed to draw the workbook")
    book = tmp_path / "panel.xlsx"
    build_workbook(book, locale="es", ledger=generate_ledger(customers=20, invoices=300), as_of=DEFAULT_AS_OF,
                   dashboard=made == "template")
    store = XlsxStore(book)
    refresh(store, DEFAULT_AS_OF, store.load())
    wb = openpyxl.load_workbook(book)
    out = tmp_path / "out"
    out.mkdir()
    subprocess.run([soffice, "--headless", f"-env:UserInstallation=file://{tmp_path}/lo", "--convert-to", "pdf",
                    "--outdir", str(out), str(book)], check=True, capture_output=True, timeout=240)
    pdf = out / "panel.pdf"
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "Antigüedad de saldos — EUR" in text and "lista de trabajo" in text
    assert wb.sheetnames[-1] == "Panel"
    # keep a picture of the page that carries the chart (LibreOffice drew it from the Summary's formulas)
    pages = text.split("\f")
    first = next(i for i, p in enumerate(pages) if "Antigüedad de saldos — EUR" in p) + 1
    subprocess.run(["pdftoppm", "-r", "60", "-png", "-f", str(first), "-l", str(first), str(pdf),
                    str(tmp_path / "panel")], check=True)
    import numpy as np
    from PIL import Image

    shot = next(tmp_path.glob("panel*.png"))
    assert (np.asarray(Image.open(shot).convert("L")) < 200).mean() > 0.01
    target = Path(__file__).resolve().parent.parent / "test-artefacts" / "report"
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy2(shot, target / ("dashboard-libreoffice.png" if made == "template" else
                                 "dashboard-added-libreoffice.png"))


def test_a_sheet_of_the_users_named_panel_is_theirs(tmp_path: Path) -> None:
    """A user's own sheet titled "Panel" is not cobro's Dashboard: refresh neither writes into it nor adds a second
    one, says so on stderr, and that sheet comes back byte for byte."""
    from click.testing import CliRunner

    from cobro_cli import main
    from sync.cycle import foreign_dashboard
    from sync.xlsx_package import Package
    from sync.xlsx_sheet import WorkbookParts

    path = tmp_path / "own-panel.xlsx"
    build_workbook(path, locale="es", ledger=generate_ledger(customers=20, invoices=300), as_of=DEFAULT_AS_OF,
                   dashboard=False)
    wb = openpyxl.load_workbook(path)
    ws = wb.create_sheet("Panel")
    ws["A1"], ws["B3"], ws["A5"] = "Mis notas", 42, "Objetivo"
    wb.save(path)

    def panel_part() -> bytes:
        pkg = Package(path.read_bytes(), path.name)
        parts = WorkbookParts(pkg)
        return pkg.read(next(s.part for s in parts.sheets if s.title == "Panel"))

    before_titles, before = openpyxl.load_workbook(path).sheetnames, panel_part()
    store = XlsxStore(path)
    store.load()
    assert not holds_dashboard(store) and foreign_dashboard(store) == "Panel"
    result = CliRunner().invoke(main, ["refresh", str(path), "--as-of", DEFAULT_AS_OF.isoformat()])
    assert result.exit_code == 0, result.output
    assert "«Panel» no es el panel de cobro" in result.stderr
    assert openpyxl.load_workbook(path).sheetnames == before_titles  # no second Dashboard
    assert panel_part() == before
    rows = list(openpyxl.load_workbook(path)["Panel"].iter_rows(values_only=True))
    assert rows[0][0] == "Mis notas" and all(len([v for v in r if v is not None]) <= 1 for r in rows)

