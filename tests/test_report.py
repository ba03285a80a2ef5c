"""The collections report (issue 14): its numbers are the aging/KPI functions' own; the PDF has content on every
page (pdftoppm); the HTML shows its charts in a real Chromium with no console error and no external request."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from cobro.aging import aging
from cobro.demo.generate import DEFAULT_AS_OF, generate_ledger
from cobro.forecast import backtest, forecast
from cobro.kpis import kpis
from cobro.report import build, month_ends

CHROMIUM = "/usr/bin/chromium"
ARTEFACTS = Path(__file__).resolve().parent.parent / "test-artefacts" / "report"


@pytest.fixture(scope="module")
def ledger() -> object:
    return generate_ledger()


@pytest.fixture(scope="module")
def report(ledger: object) -> object:
    return build(ledger, DEFAULT_AS_OF, months=12, forecast=forecast(ledger, DEFAULT_AS_OF),
                 backtest=backtest(ledger, DEFAULT_AS_OF), locale="es")


def _keep(path: Path) -> None:
    """Keep a picture as a test artefact (test-artefacts/report/, and $COBRO_ARTIFACTS/report when set)."""
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copy2(path, ARTEFACTS / path.name)
    target = os.environ.get("COBRO_ARTIFACTS")
    if target:
        (Path(target) / "report").mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, Path(target) / "report" / path.name)


def test_numbers_are_the_aging_and_kpi_functions_results(ledger: object, report: object) -> None:
    ag = aging(ledger, DEFAULT_AS_OF)
    assert report.aging.totals.equals(ag.totals)
    k = kpis(ledger, DEFAULT_AS_OF, months=3)
    assert report.kpis.to_json() == kpis(ledger, DEFAULT_AS_OF, months=3, locale="es").to_json()
    assert [c.dso for c in report.kpis.currencies] == [c.dso for c in k.currencies]
    ends = month_ends(DEFAULT_AS_OF, 12)
    assert list(report.trend_dates) == ends and ends[-1] == DEFAULT_AS_OF and ends[0] == dt.date(2025, 12, 31)
    labels = ["not_due", *ag.labels, "total_due"]
    for i, end in enumerate(ends):
        a = aging(ledger, end).totals
        ki = kpis(ledger, end, months=3)
        for cur in report.aging_trend:
            row = report.aging_trend[cur].iloc[i]
            want = a.loc[cur, labels] if cur in a.index else 0 * a.iloc[0][labels]
            assert [int(row[x]) for x in labels] == [int(v) for v in want], (cur, end)
        for c in ki.currencies:
            row = report.kpi_trend[c.currency].set_index("date").loc[end]
            assert row["dso"] == c.dso and row["cei"] == c.cei and row["countback_dso"] == c.countback_dso
    # top debtors and concentration come from the aging's rows
    for cur, top in report.top_debtors.items():
        f = ag.frame[(ag.frame["currency"] == cur) & (ag.frame["total_due"] > 0)]
        assert top["total_due"].tolist() == sorted(f["total_due"].tolist(), reverse=True)[:10]
        assert report.concentration[cur] == (sum(sorted(f["total_due"].tolist(), reverse=True)[:5]),
                                             int(f["total_due"].sum()))


def test_flows_work_and_recommendations(ledger: object, report: object) -> None:
    start = report.period_start
    for cur, f in report.flows.items():
        inv = ledger.invoices
        sel = ((inv["currency"] == cur) & (inv["issue_date"].dt.date >= start)
               & (inv["issue_date"].dt.date <= DEFAULT_AS_OF) & (inv["status"] != "cancelled"))
        assert int(f["invoiced"].sum()) == int(inv.loc[sel, "amount"].sum())
        assert f["collected"].dtype == np.int64
    p = report.promises
    assert p["made"] == p["kept"] + p["broken"] + p["pending"] + (p["made"] - p["kept"] - p["broken"] - p["pending"])
    assert p["made"] > 0 and 0 < p["kept"] < p["made"]
    assert int(report.contacts.to_numpy().sum()) == int(report.per_user["contacts"].sum())
    assert len(report.levels) >= 3 and (report.levels["paid_within"] <= report.levels["invoices"]).all()
    assert (report.per_user["paid_within"] <= report.per_user["invoices"]).all()
    assert report.per_user["invoices"].sum() > 0
    kinds = {r.kind for r in report.recommendations}
    assert {"escalate_legal", "credit_limit", "broken_promise"} <= kinds
    for r in report.recommendations:
        assert r.reason and any(ch.isdigit() for ch in r.reason)
    json.dumps(report.to_json(), default=str)


def test_pdf_has_content_on_every_page(report: object, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    if not shutil.which("pdftoppm"):
        pytest.skip("pdftoppm (poppler-utils) is not installed")
    from PIL import Image

    from sync.report_files import write_report

    pdf = write_report(report, tmp_path / "informe.pdf")
    assert pdf.read_bytes().startswith(b"%PDF")
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert "595.2" in info and "841.8" in info  # A4 in points
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(pdf), str(tmp_path / "informe")], check=True)
    pages = sorted(tmp_path.glob("informe-*.png"))
    assert len(pages) >= 3
    for page in pages:
        img = np.asarray(Image.open(page).convert("L"))
        assert img.shape[0] > img.shape[1]  # portrait (A4)
        assert (img < 200).mean() > 0.01, f"{page.name} looks empty"
        _keep(page)


def test_html_in_chromium_shows_its_charts_without_errors_or_requests(report: object, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed")
    from playwright.sync_api import sync_playwright

    from sync.report_files import write_report

    html = write_report(report, tmp_path / "informe.html")
    text = html.read_text(encoding="utf-8")
    assert "<script" not in text and "<metadata>" not in text
    for ref in ('src="http', "src='http", 'href="http', "href='http", "url(http", "@import"):
        assert ref not in text
    errors: list[str] = []
    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(html.as_uri())
            charts = page.locator("figure.chart svg")
            assert charts.count() >= 6
            for i in range(charts.count()):
                box = charts.nth(i).bounding_box()
                assert box and box["width"] > 300 and box["height"] > 100
            assert page.locator("h2").count() == 4
            shot = tmp_path / "report-html.png"
            page.screenshot(path=str(shot), full_page=True)
            _keep(shot)
        finally:
            browser.close()
    assert errors == []
    assert requests == [html.as_uri()]


def test_cli_report_writes_html_pdf_and_text(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from click.testing import CliRunner

    from cobro_cli import main
    from sheets_templates import build_workbook

    path = tmp_path / "demo.xlsx"
    build_workbook(path, locale="en", ledger=generate_ledger(customers=25, invoices=500, locale="en"),
                   as_of=DEFAULT_AS_OF)
    r = CliRunner().invoke(main, ["report", str(path), "--as-of", "2026-11-20", "--months", "6",
                                  "--out", str(tmp_path / "r.html")])
    assert r.exit_code == 0, r.output
    assert "Collections report" in (tmp_path / "r.html").read_text(encoding="utf-8")
    r = CliRunner().invoke(main, ["report", str(path), "--as-of", "2026-11-20", "--out", str(tmp_path / "r.pdf"),
                                  "--locale", "es"])
    assert r.exit_code == 0 and (tmp_path / "r.pdf").stat().st_size > 10_000
    r = CliRunner().invoke(main, ["report", str(path), "--as-of", "2026-11-20", "--no-forecast"])
    assert r.exit_code == 0 and "Collections report" in r.output
    r = CliRunner().invoke(main, ["report", str(path), "--out", str(tmp_path / "r.docx")])
    assert r.exit_code == 2 and ".html or .pdf" in r.output and not (tmp_path / "r.docx").exists()
