"""The page's Forecast section (issue 14) in Debian's Chromium (Playwright's ``executable_path``), against the
service under waitress over the demo ledger: the 13-week expected cash-in per currency as a chart and a table
whose figures are ``cobro.forecast.forecast``'s, the back-test's measured error beside it (the model's mean
absolute error in days against the due date and each customer's average delay, ``cobro.forecast.backtest``).
No console errors, no request leaves the service, no serious accessibility violation (axe). A screenshot of each
language is kept in ``test-artefacts/page/`` (and ``$COBRO_ARTIFACTS/page/`` when set)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from cobro.forecast import backtest, forecast
from sync.xlsx_store import XlsxStore
from tests import test_page as tp

pytestmark = tp.pytestmark  # skipped without Debian's chromium
browser = tp.browser  # the same module-wide browser as the other page tests
_isolated = tp._isolated  # and the conftest's isolated environment for every test
ARTEFACTS = Path(__file__).resolve().parent.parent / "test-artefacts" / "page"


@pytest.fixture(scope="module")
def books(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    folder = tmp_path_factory.mktemp("forecast-books")
    return {loc: tp.demo_ledger(folder / f"demo-{loc}.xlsx", loc).read_bytes() for loc in ("es", "en")}


def amount(text: str, locale: str) -> str:
    """A decimal string as the page writes it (``i18n.formatAmount``): grouped, the locale's separators."""
    neg = text.startswith("-")
    whole, _, frac = text.lstrip("+-").partition(".")
    group, dec = (".", ",") if locale == "es" else (",", ".")
    grouped = f"{int(whole):,}".replace(",", group)
    return ("-" if neg else "") + grouped + (dec + frac if frac else "")


def js_number(v: float) -> str:
    """``String(v)`` in JavaScript for the floats the API sends (12.0 is "12")."""
    s = repr(float(v))
    return s[:-2] if s.endswith(".0") else s


def keep(page: Any, name: str) -> Path:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTEFACTS / name
    page.screenshot(path=str(path), full_page=True)
    extra = os.environ.get("COBRO_ARTIFACTS")
    if extra:
        (Path(extra) / "page").mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, Path(extra) / "page" / name)
    return path


@contextmanager
def watched(browser: Any, url: str) -> Iterator[tuple[Any, list[str], list[str]]]:
    """A fresh context on ``url`` with its console errors and every request that left the service recorded."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    page = ctx.new_page()
    errors: list[str] = []
    outside: list[str] = []
    origin = url.split("/?", 1)[0]
    page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("request", lambda r: outside.append(r.url)
            if not (r.url.startswith(origin) or r.url.startswith("data:")) else None)
    page.goto(url)
    try:
        yield page, errors, outside
    finally:
        ctx.close()


def painted_share(page: Any, selector: str) -> list[float]:
    """Per canvas, the share of its pixels that are painted (not transparent)."""
    return page.evaluate("""(sel) => [...document.querySelectorAll(sel)].map((c) => {
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
        return n / (c.width * c.height);
    })""", selector)


@pytest.mark.parametrize("locale", ["es", "en"])
def test_the_forecast_section_shows_cobros_forecast_with_its_measured_error(
        browser: Any, books: dict[str, bytes], tmp_path: Path, isolated_env: Path, locale: str) -> None:
    path = tmp_path / f"ledger-{locale}.xlsx"
    path.write_bytes(books[locale])
    led = XlsxStore(path).load()
    want = forecast(led, tp.AS_OF).to_json()
    bt = backtest(led, tp.AS_OF).to_json()
    currencies = list(want["weeks"][0]["inflow"])
    assert len(want["weeks"]) == 13 and currencies and bt["evaluated"] > 0
    with tp.serving(path, isolated_env) as served:
        # es: reached by its address (?view=forecast, like the other sections); en: by its tab
        view = "&view=forecast" if locale == "es" else ""
        url = f"{served.url}/?as_of={tp.AS_OF.isoformat()}{view}#token={served.token}"
        with watched(browser, url) as (page, errors, outside):
            page.wait_for_selector("#worklist tbody tr", state="attached")
            if locale == "en":
                page.click("#tab-forecast")
            page.wait_for_selector("#forecast-table tbody tr")
            assert page.get_attribute("#tab-forecast", "aria-selected") == "true"
            assert page.locator("#today").is_hidden()
            title = {"es": "Cuándo entrará el dinero", "en": "When the money comes in"}[locale]
            assert page.inner_text("#forecast h2") == title
            assert page.inner_text("#tab-forecast") == {"es": "Previsión", "en": "Forecast"}[locale]

            # the table: one row per week, one column per currency, each cell cobro.forecast's amount
            heads = page.locator("#forecast-table thead th").all_inner_texts()
            assert heads[1:] == currencies
            rows = page.locator("#forecast-table tbody tr")
            assert rows.count() == 13
            for k, week in enumerate(want["weeks"]):
                cells = rows.nth(k).locator("td").all_inner_texts()
                assert cells == [amount(week["inflow"][c], locale) for c in currencies], k
            later = page.locator("#forecast-table tfoot tr[data-row=later] td").all_inner_texts()
            assert later == [amount(want["later"][c], locale) for c in currencies]
            total = page.locator("#forecast-table tfoot tr[data-row=total] td").all_inner_texts()
            sums = [str(sum(Decimal(w["inflow"][c]) for w in want["weeks"])) for c in currencies]
            assert total == [amount(s, locale) for s in sums]
            first = rows.nth(0).locator("th").inner_text()
            start = want["weeks"][0]["start"]
            assert first.startswith("1. ") and (start if locale == "en" else
                                               "/".join(reversed(start.split("-")))) in first

            # the measured error beside it: the back-test's mean absolute error, model against both baselines
            page.wait_for_selector("#forecast-accuracy-table:not([hidden])")
            for m in ("model", "due_date", "customer_average"):
                cell = page.locator(f"#forecast-accuracy-table tr[data-method={m}] td").first.inner_text()
                assert cell == amount(js_number(bt["mae_days"][m]), locale), m
            text = page.inner_text("#forecast-accuracy-text")
            assert amount(js_number(bt["mae_days"]["model"]), locale) in text and str(bt["evaluated"]) in text
            side = page.locator("#forecast-accuracy").bounding_box()
            chart_box = page.locator("#forecast-charts").bounding_box()
            assert side["x"] > chart_box["x"] + chart_box["width"] - 1  # beside the chart, not under it

            # the chart: one per currency, visible and drawn
            canvases = page.locator("#forecast-charts canvas")
            assert canvases.count() == len(currencies)
            for i in range(canvases.count()):
                box = canvases.nth(i).bounding_box()
                assert box is not None and box["height"] > 100 and box["width"] > 200
            assert all(share > 0.02 for share in painted_share(page, "#forecast-charts canvas"))
            label = canvases.nth(0).get_attribute("aria-label") or ""
            assert amount(want["weeks"][0]["inflow"][currencies[0]], locale) in label

            shot = keep(page, f"forecast-{locale}.png")
            assert shot.stat().st_size > 10_000

            page.add_script_tag(url="/page/static/vendor/axe.min.js")
            result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
            serious = [(v["id"], v["help"], [n["target"] for n in v["nodes"][:3]]) for v in result["violations"]
                       if v["impact"] in ("serious", "critical")]
            assert serious == []
            assert tp.own_errors(errors) == []
            assert outside == []


def test_the_forecast_is_asked_for_again_after_the_ledger_changes(
        browser: Any, books: dict[str, bytes], tmp_path: Path, isolated_env: Path) -> None:
    """Leaving the Forecast and coming back after a reload shows the figures again (the section is rebuilt, its
    charts drawn anew), and arrow keys reach its tab like the others."""
    path = tmp_path / "ledger.xlsx"
    path.write_bytes(books["es"])
    with tp.serving(path, isolated_env) as served:
        url = f"{served.url}/?as_of={tp.AS_OF.isoformat()}&view=forecast#token={served.token}"
        with watched(browser, url) as (page, errors, outside):
            page.wait_for_selector("#forecast-charts canvas")
            page.click("#tab-today")
            assert page.locator("#forecast").is_hidden()
            page.focus("#tab-today")
            page.keyboard.press("ArrowLeft")  # wraps round to the last tab: the Forecast
            assert page.get_attribute("#tab-forecast", "aria-selected") == "true"
            page.wait_for_selector("#forecast-charts canvas")
            assert page.locator("#forecast-table tbody tr").count() == 13
            assert tp.own_errors(errors) == [] and outside == []
