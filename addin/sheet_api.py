"""What spreadsheet hosts call: sheet rows in, cell tables out. No host library is imported here.

xlwings (desktop Excel), the Office.js add-in and Apps Script all hand cobro the rows of the
ledger's sheets and get back plain 2-D tables to put in cells. Keeping that translation here,
host-free, is what lets the tests cover everything but the few lines that talk to Excel.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from cobro.ledger import Ledger, parse_ledger
from cobro.report_tables import aging_table, kpi_table, worklist_table
from sync.xlsx_store import raw_from_sheets

Rows = list[list[Any]]
WORKLIST_CELLS = ("customer_id", "name", "score", "reason", "next_action")


def ledger_from_sheets(sheets: Iterable[tuple[str, Rows, int]]) -> Ledger:
    """A validated ledger from ``(sheet title, rows, first row number)`` triples."""
    raw = raw_from_sheets(sheets)
    return parse_ledger(raw.tables, raw.settings, raw.settings_rows, locale=raw.locale)


def _as_date(value: object) -> dt.date:
    if value is None or value == "":
        raise ValueError("an as-of date is required")
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    from cobro.ledger import parse_date_text

    parsed = parse_date_text(str(value))
    if parsed is None:
        raise ValueError(f"{value!r} is not a date")
    return parsed.date()


def aging_cells(ledger: Ledger, as_of: object, by: str = "customer") -> Rows:
    """The aging report as a table with a header row (amounts as decimal text, exact)."""
    from cobro.aging import aging

    return [[_cell(v) for v in r] for r in aging_table(aging(ledger, _as_date(as_of), by=by).to_json(), by)]


def kpi_cells(ledger: Ledger, as_of: object, months: int = 3) -> Rows:
    from cobro.kpis import kpis

    return [[_cell(v) for v in r] for r in kpi_table(kpis(ledger, _as_date(as_of), months=int(months)).to_json())]


def worklist_cells(ledger: Ledger, as_of: object, limit: int = 0) -> Rows:
    from cobro.worklist import worklist

    table = worklist_table(worklist(ledger, _as_date(as_of)).to_json(), int(limit))
    keep = [i for i, key in enumerate(table[0]) if key in WORKLIST_CELLS]
    return [[r[i] for i in keep] for r in table]


FORECAST_HEADER = ["week", "start", "end", "currency", "expected"]


def forecast_weeks(ledger: Ledger, as_of: object, weeks: int = 13) -> dict[str, Any]:
    """The weekly expected cash-in per currency (``cobro.forecast``), as JSON: ``{"as_of", "weeks": [{"week": 1,
    "start", "end", "inflow": {"EUR": "1250.10"}}], "later_from", "later": {...}, "currencies", "open_invoices"}``.
    Amounts are exact decimal text in each currency's major units; currencies are never added together."""
    from cobro import forecast as fc
    from cobro import money

    day = _as_date(as_of)
    if not 1 <= int(weeks) <= 104:
        raise ValueError(f"weeks: {weeks!r} is not a whole number from 1 to 104")
    f = fc.forecast(ledger, day, weeks=int(weeks))
    currencies = sorted(f.inflow)
    starts = f.week_starts()
    return {"as_of": day.isoformat(),
            "weeks": [{"week": k + 1, "start": s.isoformat(), "end": (s + dt.timedelta(days=6)).isoformat(),
                       "inflow": {c: money.format_decimal(f.inflow[c][k], c) for c in currencies}}
                      for k, s in enumerate(starts)],
            "later_from": (day + dt.timedelta(days=1 + 7 * int(weeks))).isoformat(),
            "later": {c: money.format_decimal(f.later[c], c) for c in currencies},
            "currencies": currencies, "open_invoices": f.open_invoices, "note": f.note}


def forecast_cells(ledger: Ledger, as_of: object, currency: str = "", week: int = 0, weeks: int = 13) -> Rows:
    """=COBRO_FORECAST: ``[week, start, end, currency, expected]`` per week and currency plus a ``later`` row
    (amounts as exact decimal text, dates as dates); with ``week`` only that week; with ``week`` and ``currency``
    the single amount (``[[amount]]``, no header)."""
    data = forecast_weeks(ledger, as_of, weeks)
    return forecast_table(data, currency, week)


def forecast_table(data: dict[str, Any], currency: str = "", week: int = 0) -> Rows:
    """The cells of ``forecast_weeks`` JSON (see ``forecast_cells``); every host builds the same table."""
    cur = str(currency or "").strip().upper()
    week = int(week or 0)
    n = len(data["weeks"])
    if not 0 <= week <= n:
        raise ValueError(f"week: {week} is not a week from 1 to {n}")
    currencies = [c for c in data["currencies"] if not cur or c == cur]
    day = dt.date.fromisoformat
    if week:
        w = data["weeks"][week - 1]
        if cur:
            return [[w["inflow"].get(cur, "0")]]
        return [FORECAST_HEADER] + [[week, day(w["start"]), day(w["end"]), c, w["inflow"][c]] for c in currencies]
    rows: Rows = [list(FORECAST_HEADER)]
    for c in currencies:
        rows += [[w["week"], day(w["start"]), day(w["end"]), c, w["inflow"][c]] for w in data["weeks"]]
        rows.append(["later", day(data["later_from"]), "", c, data["later"][c]])
    return rows


def _cell(v: object) -> object:
    if isinstance(v, (list, tuple)):
        return "; ".join(str(x) for x in v)
    if isinstance(v, dict):
        return "; ".join(f"{k}: {x}" for k, x in v.items())
    return v


def error_cells(exc: BaseException) -> Rows:
    """A user error as a one-column table, so a cell function shows it instead of #VALUE!."""
    from cobro.ledger import LedgerError

    if isinstance(exc, LedgerError):
        return [["cobro"]] + [[p.message(exc.locale)] for p in exc.problems[:50]]
    return [["cobro"], [str(exc)]]


def pad(rows: Sequence[Sequence[object]]) -> Rows:
    """Rectangular rows (hosts need every row the same length)."""
    width = max((len(r) for r in rows), default=0)
    return [list(r) + [""] * (width - len(r)) for r in rows]
