"""Reports as tables: a header row of canonical keys, then rows of values (amounts as decimal text).

One shape for every host: the command line renders these as text, spreadsheet hosts put them in cells.
Input is each report's ``to_json()``.
"""

from __future__ import annotations

from typing import Any

Table = list[list[Any]]

_AMOUNTS = ["total_due", "outstanding", "advance", "credit_notes"]


def aging_table(data: dict[str, Any], by: str = "customer") -> Table:
    """Per customer and currency (``by="customer"``) or per open item (``by="invoice"``)."""
    if by == "invoice":
        keys = [k for k in data["rows"][0] if k != "buckets"] if data["rows"] else ["invoice_id"]
        return [keys] + [[r.get(k) for k in keys] for r in data["rows"]]
    header = ["customer_id", "currency", "not_due", *data["buckets"], *_AMOUNTS]
    return [header] + [[r["customer_id"], r["currency"], r["not_due"], *r["buckets"], *(r[k] for k in _AMOUNTS)]
                       for r in data["rows"]]


def aging_totals_table(data: dict[str, Any]) -> Table:
    """One row per currency: never a sum across currencies."""
    header = ["currency", "not_due", *data["buckets"], *_AMOUNTS]
    return [header] + [[cur, t["not_due"], *t["buckets"], *(t[k] for k in _AMOUNTS)]
                       for cur, t in data["totals"].items()]


def kpi_table(data: dict[str, Any]) -> Table:
    """One row per currency with every KPI figure."""
    per = data["currencies"]
    first = next(iter(per.values()), {})
    keys = [k for k, v in first.items() if not isinstance(v, (dict, list))]
    return [["currency", *keys]] + [[cur, *(k.get(x) for x in keys)] for cur, k in per.items()]


def worklist_table(data: dict[str, Any], limit: int = 0) -> Table:
    """Customers in the order to contact them; what each owes, per currency."""
    keys = ["customer_id", "name", "score", "outstanding", "reason", "next_action"]
    rows = data["rows"][: limit or None]
    return [keys] + [[r["customer_id"], r["name"], r["score"],
                      ", ".join(f"{v} {cur}" for cur, v in r["outstanding"].items()), r["reason"], r["next_action"]]
                     for r in rows]
