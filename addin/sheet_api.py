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
from sync.xlsx_store import raw_from_sheets

Rows = list[list[Any]]


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

    data = aging(ledger, _as_date(as_of), by=by).to_json()
    labels = list(data["buckets"])
    if by == "invoice":
        keys = list(data["rows"][0].keys()) if data["rows"] else ["invoice_id"]
        return [keys] + [[_cell(r.get(k)) for k in keys] for r in data["rows"]]
    header = ["customer_id", "currency", "not_due", *labels, "total_due", "outstanding", "advance", "credit_notes"]
    rows = [[r["customer_id"], r["currency"], r["not_due"], *r["buckets"], r["total_due"], r["outstanding"],
             r["advance"], r["credit_notes"]] for r in data["rows"]]
    return [header] + [[_cell(v) for v in r] for r in rows]


def kpi_cells(ledger: Ledger, as_of: object, months: int = 3) -> Rows:
    from cobro.kpis import kpis

    data = kpis(ledger, _as_date(as_of), months=int(months)).to_json()
    per = data.get("currencies") or data.get("rows") or {}
    items = list(per.items()) if isinstance(per, dict) else [(r.get("currency"), r) for r in per]
    keys: list[str] = []
    out: Rows = []
    for cur, k in items:
        if not keys:
            keys = [x for x in k if x != "currency" and not isinstance(k[x], (dict, list))]
        out.append([cur, *[_cell(k.get(x)) for x in keys]])
    return [["currency", *keys], *out]


def worklist_cells(ledger: Ledger, as_of: object, limit: int = 0) -> Rows:
    from cobro.worklist import worklist

    data = worklist(ledger, _as_date(as_of)).to_json()
    rows = data.get("rows", [])[: int(limit) or None]
    keys = ["customer_id", "name", "score", "reason", "next_action"]
    return [keys] + [[_cell(r.get(k)) for k in keys] for r in rows]


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
