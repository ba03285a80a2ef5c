"""The Dashboard table's rows (pure): KPIs, the worklist's top 20 and the 13-week forecast, for ``cobro refresh``.

One long table (``cobro.schema.DASHBOARD``) rather than three: the store replaces it as one table, and the sheet's
native charts (over the Summary's formulas) sit beside it. The figures come from ``cobro.kpis.kpis``,
``cobro.aging.aging``, ``cobro.worklist.worklist`` and ``cobro.forecast.forecast`` — nothing is recomputed here.
Amounts stay integer minor units with their currency; KPI ratios are the KPI functions' decimals (as numbers:
they are days and percentages, not money).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from .. import money
from ..aging import aging
from ..forecast import forecast
from ..i18n import text
from ..kpis import kpis
from ..ledger import Ledger, make_frame
from ..schema import DASHBOARD
from ..worklist import worklist

TOP = 20
WEEKS = 13
KPI_MONTHS = 3
_KPIS = ("dso", "countback_dso", "best_dso", "add", "cei")


def dashboard_frame(ledger: Ledger, as_of: dt.date, locale: str | None = None, top: int = TOP,
                    weeks: int = WEEKS) -> pd.DataFrame:
    """The rows ``cobro refresh`` writes into the Dashboard table, as a typed frame of ``DASHBOARD``'s columns."""
    loc = "es" if (locale or ledger.settings.locale) == "es" else "en"
    rows: list[dict[str, object]] = []
    sec = {k: text(f"report.section.{k}", loc) for k in ("kpi", "worklist", "forecast")}
    totals = aging(ledger, as_of).totals
    for cur, t in totals.iterrows():
        rows.append({"section": sec["kpi"], "label": text("report.col.outstanding", loc), "currency": str(cur),
                     "amount": int(t["outstanding"])})
        rows.append({"section": sec["kpi"], "label": text("report.col.overdue", loc), "currency": str(cur),
                     "amount": int(t["total_due"])})
    for k in kpis(ledger, as_of, months=KPI_MONTHS, locale=loc).currencies:
        for name in _KPIS:
            v = getattr(k, name)
            rows.append({"section": sec["kpi"], "label": text(f"report.kpi.{name}", loc), "currency": k.currency,
                         "figure": None if v is None else float(v),
                         "detail": text(f"report.explain.{name}", loc)})
    for item in worklist(ledger, as_of, locale=loc).rows[:top]:
        owed = item.overdue or item.outstanding
        cur, amount = next(iter(owed.items()), ("", None))
        rest = "; ".join(money.format_money(v, c, loc) for c, v in list(owed.items())[1:])
        rows.append({"section": sec["worklist"], "label": f"{item.rank}. {item.customer_id} {item.name}",
                     "currency": cur, "amount": amount, "figure": float(item.oldest_days),
                     "detail": f"{item.next_action} — {item.reason}" + (f" (+ {rest})" if rest else "")})
    f = forecast(ledger, as_of, weeks=weeks)
    for cur, values in f.inflow.items():
        for start, v in zip(f.week_starts(), values, strict=True):
            rows.append({"section": sec["forecast"], "label": start.isoformat(), "currency": cur, "amount": int(v)})
        rows.append({"section": sec["forecast"], "label": text("report.later", loc), "currency": cur,
                     "amount": int(f.later[cur])})
    for r in rows:
        r.setdefault("_row", 0)
    return make_frame(DASHBOARD, rows)
