"""The four standard collection KPIs per currency (pure): DSO, countback DSO, best possible DSO, ADD, CEI.

Definitions (amounts per currency, never added across currencies):

- The *period* is the ``months`` calendar months that end with the as-of date's month, up to and
  including the as-of date: as of 30 April with ``months=1`` it is 1–30 April, 30 days; as of
  15 April with ``months=3`` it is 1 February–15 April, 75 days. (Invoices after the as-of date do
  not exist yet, so the period stops there.)
- *Credit sales* (CS): the amounts of the invoices issued in the period, credit notes included
  (net); cancelled invoices are not sales, written-off ones were.
- *Receivables* at the end of a day D: what the ledger says was owed then, computed from its own
  dates — invoices issued up to D less payments dated up to D (credit notes and advances net) — as
  the aging would show as of D. Cancelled and written-off invoices count for nothing (the ledger
  does not say when they were closed). ETR (total receivables) is that at the as-of date; ECR
  (current receivables) the part not yet due at the as-of date (the aging's ``not_due``); BR
  (beginning receivables) that at the end of the day before the period.
- DSO = ETR ÷ CS × days of the period. Best possible DSO = ECR ÷ CS × days. ADD (average days
  delinquent) = DSO − best possible DSO.
- Countback DSO: starting with the as-of date's month (its days up to the as-of date), newest
  first, whole months of sales are taken off the receivables while they last; the month that
  covers the rest counts in proportion (rest ÷ its sales × its days). It goes back as far as it
  needs; when all recorded sales do not cover the receivables it is undefined (None, with a note).
- CEI = (BR + CS/N − ETR) ÷ (BR + CS/N − ECR) × 100 with N the number of months: the
  creditguru.com / Oracle Receivables convention, said so in the report's ``note``.

Results are ``Decimal`` rounded half-up to 2 places; None when undefined (no credit sales, a zero
denominator), with a note that says why.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np
import pandas as pd

from . import i18n, money
from .balances import as_timestamp, closed_mask, paid_arrays
from .joins import group_sum, string_codes
from .ledger import Ledger

Number = int | Decimal

_PLACES = Decimal("0.01")


def _round(value: Decimal | None, places: Decimal = _PLACES) -> Decimal | None:
    return None if value is None else value.quantize(places, rounding=ROUND_HALF_UP)


# ----------------------------------------------------------------------------------- formulas


def dso(ar: Number, sales: Number, days: int) -> Decimal | None:
    """Days sales outstanding: ``ar / sales * days`` (None when there are no sales).

    ``dso(15000, 10000, 30) == Decimal("45.00")``.
    """
    if Decimal(sales) == 0:
        return None
    return _round(Decimal(ar) * days / Decimal(sales))


def best_possible_dso(current_ar: Number, sales: Number, days: int) -> Decimal | None:
    """Best possible DSO: current (not yet due) receivables ÷ sales × days. ``(4000, 10000, 30) -> 12.00``."""
    return dso(current_ar, sales, days)


def average_days_delinquent(ar: Number, current_ar: Number, sales: Number, days: int) -> Decimal | None:
    """ADD = DSO − best possible DSO = (AR − current AR) ÷ sales × days. ``(15000, 4000, 10000, 30) -> 33.00``."""
    if Decimal(sales) == 0:
        return None
    return _round((Decimal(ar) - Decimal(current_ar)) * days / Decimal(sales))


def countback_dso(ar: Number, monthly_sales: Sequence[tuple[Number, int]]) -> Decimal | None:
    """DSO by the countback method.

    ``monthly_sales`` lists ``(sales, days)`` per month, newest first (the first month counts only
    its days up to the as-of date). Whole months are counted while their sales fit in what is left
    of ``ar``; the month that covers the rest adds ``rest / sales * days``. A month without positive
    sales adds its days and covers nothing. Returns None when the months given do not cover ``ar``,
    0 when ``ar`` is not positive.

    The Anaplan community example: AR 2,000 at the end of January with sales of 200 (Jan, 31 days),
    400 (Dec, 31), 600 (Nov, 30), 700 (Oct, 31), 500 (Sep, 30) gives 31 + 31 + 30 + 31 + 100/500 × 30
    = ``Decimal("129.00")``.
    """
    rest = Decimal(ar)
    if rest <= 0:
        return _round(Decimal(0))
    total = Decimal(0)
    for sales, days in monthly_sales:
        s = Decimal(sales)
        if s > 0 and rest <= s:
            return _round(total + rest / s * days)
        total += days
        if s > 0:
            rest -= s
    return None


def cei(br: Number, cs: Number, n: int, etr: Number, ecr: Number) -> Decimal | None:
    """Collection effectiveness index, creditguru / Oracle convention (N = number of months):

    ``(BR + CS/N − ETR) / (BR + CS/N − ECR) × 100``; None when the denominator is 0.
    creditguru's example (BR 6,200, CS 10,890 over 3 months, ETR 6,340, ECR 3,590) gives
    ``Decimal("55.93")``.
    """
    monthly = Decimal(cs) / n
    den = Decimal(br) + monthly - Decimal(ecr)
    if den == 0:
        return None
    return _round((Decimal(br) + monthly - Decimal(etr)) / den * 100)


# ----------------------------------------------------------------------------------- report

# The notes a person reads live in the translation catalogue (cobro.i18n): kpi.note.*, kpi.undefined.*.


@dataclass(frozen=True)
class CurrencyKpis:
    """The KPIs of one currency. Amounts in minor units; ratios as ``Decimal`` (2 places) or None."""

    currency: str
    ar: int  # ETR: total receivables at the as-of date
    current_ar: int  # ECR: not yet due at the as-of date
    beginning_ar: int  # BR: at the end of the day before the period
    credit_sales: int  # CS: invoices issued in the period, credit notes net
    dso: Decimal | None
    countback_dso: Decimal | None
    best_dso: Decimal | None
    add: Decimal | None
    cei: Decimal | None
    countback_months: int  # months the countback looked at
    notes: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        c = self.currency

        def d(x: Decimal | None) -> str | None:
            return None if x is None else str(x)

        return {"ar": money.format_decimal(self.ar, c), "current_ar": money.format_decimal(self.current_ar, c),
                "beginning_ar": money.format_decimal(self.beginning_ar, c),
                "credit_sales": money.format_decimal(self.credit_sales, c), "dso": d(self.dso),
                "countback_dso": d(self.countback_dso), "best_dso": d(self.best_dso), "add": d(self.add),
                "cei": d(self.cei), "countback_months": self.countback_months}


@dataclass(frozen=True)
class KpiReport:
    """KPIs per currency over a period; ``to_json()`` for machines, ``frame`` for people."""

    as_of: dt.date
    months: int
    period_start: dt.date
    days: int
    beginning_date: dt.date  # BR is the receivable at the end of this day
    currencies: tuple[CurrencyKpis, ...]
    note: str  # the CEI convention
    locale: str = "en"
    notes: tuple[str, ...] = field(default=())

    @property
    def period_end(self) -> dt.date:
        return self.as_of

    def get(self, currency: str) -> CurrencyKpis:
        for k in self.currencies:
            if k.currency == currency:
                return k
        raise KeyError(currency)

    @property
    def frame(self) -> pd.DataFrame:
        """One row per currency: amounts in minor units, ratios as ``Decimal`` or None."""
        cols = ["currency", "ar", "current_ar", "beginning_ar", "credit_sales", "dso", "countback_dso", "best_dso",
                "add", "cei", "countback_months"]
        return pd.DataFrame([[getattr(k, c) for c in cols] for k in self.currencies], columns=cols)

    def to_json(self) -> dict[str, Any]:
        """``{"as_of", "months", "period": {"start", "end", "days"}, "beginning_date", "note", "notes",
        "currencies": {currency: {ar, current_ar, beginning_ar, credit_sales, dso, countback_dso, best_dso,
        add, cei, countback_months}}}`` with amounts and ratios as decimal strings (null when undefined)."""
        return {"as_of": self.as_of.isoformat(), "months": self.months,
                "period": {"start": self.period_start.isoformat(), "end": self.period_end.isoformat(),
                           "days": self.days},
                "beginning_date": self.beginning_date.isoformat(), "note": self.note,
                "notes": [self.note, *self.notes],
                "currencies": {k.currency: k.to_json() for k in self.currencies}}


def period_bounds(as_of: dt.date, months: int) -> tuple[dt.date, int]:
    """First day of the period and its length in days (see the module docstring)."""
    if months < 1:
        raise ValueError(f"months must be 1 or more, not {months}")
    idx = as_of.year * 12 + as_of.month - 1 - (months - 1)
    start = dt.date(idx // 12, idx % 12 + 1, 1)
    return start, (as_of - start).days + 1


def kpis(ledger: Ledger, as_of: dt.date | str | pd.Timestamp, months: int = 3,
         locale: str | None = None) -> KpiReport:
    """DSO, countback DSO, best possible DSO, ADD and CEI per currency as of ``as_of``
    over the ``months`` calendar months ending with the as-of date's month (see the module docstring)."""
    locale = locale or ledger.settings.locale
    ts = as_timestamp(as_of)
    day = ts.date()
    start, days = period_bounds(day, months)
    br_day = start - dt.timedelta(days=1)
    t, t_br = ts.to_datetime64(), np.datetime64(br_day, "ns")

    inv, pay = ledger.invoices, ledger.payments
    n_inv = len(inv)
    issue = inv["issue_date"].to_numpy(dtype="datetime64[ns]")
    due = inv["due_date"].to_numpy(dtype="datetime64[ns]")
    due = np.where(np.isnat(due), issue, due)
    amount = inv["amount"].to_numpy(dtype=np.int64)
    status = inv["status"].to_numpy(dtype=object)
    closed = closed_mask(status)
    cancelled = status == "cancelled"
    issued = issue <= t
    pdate = pay["date"].to_numpy(dtype="datetime64[ns]")
    pamount = pay["amount"].to_numpy(dtype=np.int64)

    codes, currencies = string_codes(np.concatenate([inv["currency"].to_numpy(dtype=object),
                                                     pay["currency"].to_numpy(dtype=object)]))
    icur, pcur = codes[:n_inv], codes[n_inv:]
    ncur = len(currencies)

    # The invoice each payment pays (shared with the aging's join of the same ledger).
    paid, prow = paid_arrays(ledger, ts)
    not_due = issued & ~closed & (due > t)
    on = prow >= 0

    def receivables(t_end: np.datetime64) -> np.ndarray:
        live = (issue <= t_end) & ~closed
        owed = group_sum(icur[live], amount[live], ncur)
        on_closed = np.zeros(len(pay), dtype=bool)
        on_closed[on] = closed[prow[on]] & (issue[prow[on]] <= t_end)
        counted = (pdate <= t_end) & ~on_closed
        return owed - group_sum(pcur[counted], pamount[counted], ncur)

    etr, br = receivables(t), receivables(t_br)
    ecr = group_sum(icur[not_due], (amount - paid)[not_due], ncur)

    # Sales per currency and calendar month (cancelled invoices are not sales).
    sale = issued & ~cancelled & ~np.isnat(issue)
    sale_issue = issue[sale]
    last_month = int(np.datetime64(day, "M").astype(np.int64))
    first_month = int(sale_issue.min().astype("datetime64[M]").astype(np.int64)) if len(sale_issue) else last_month
    span = last_month - first_month + 1
    # Month of each sale by its position among month starts (much faster than a datetime64[M] cast).
    starts = (np.arange(first_month, last_month + 1, dtype=np.int64).astype("datetime64[M]")
              .astype("datetime64[ns]"))
    month = first_month + np.searchsorted(starts, sale_issue, side="right") - 1
    by_month = group_sum(icur[sale] * span + (month - first_month), amount[sale], ncur * span).reshape(ncur, span)
    sales_period = by_month[:, span - months:].sum(axis=1) if months <= span else by_month.sum(axis=1)
    first_sale = np.full(ncur, span, dtype=np.int64)
    nz = by_month != 0
    has = nz.any(axis=1)
    first_sale[has] = nz[has].argmax(axis=1)

    month_days = []
    for k in range(span):
        midx = last_month - k
        y, m = int(midx // 12) + 1970, int(midx % 12) + 1
        month_days.append(day.day if k == 0 else calendar.monthrange(y, m)[1])

    rows, all_notes = [], []
    for c in range(ncur):
        cur = str(currencies[c])
        if not (etr[c] or br[c] or ecr[c] or sales_period[c]):
            continue
        cs, ar, cur_ar = int(sales_period[c]), int(etr[c]), int(ecr[c])
        notes = []
        if cs <= 0:
            notes.append(i18n.text("kpi.undefined.no_sales" if cs == 0 else "kpi.undefined.negative_sales", locale))
        back = span - int(first_sale[c]) if has[c] else 0
        monthly = [(int(by_month[c, span - 1 - k]), month_days[k]) for k in range(back)]
        cb = countback_dso(ar, monthly)
        used = _months_used(ar, monthly)
        if cb is None:
            first = dt.date(1970 + (first_month + int(first_sale[c])) // 12,
                            (first_month + int(first_sale[c])) % 12 + 1, 1) if has[c] else start
            notes.append(i18n.text("kpi.undefined.countback", locale, first=first.strftime("%Y-%m")))
        if ar < 0:
            notes.append(i18n.text("kpi.note.negative_ar", locale))
        ce = cei(int(br[c]), cs, months, ar, cur_ar)
        if ce is None:
            notes.append(i18n.text("kpi.undefined.cei", locale))
        ok = cs > 0
        rows.append(CurrencyKpis(
            currency=cur, ar=ar, current_ar=cur_ar, beginning_ar=int(br[c]), credit_sales=cs,
            dso=dso(ar, cs, days) if ok else None, countback_dso=cb,
            best_dso=best_possible_dso(cur_ar, cs, days) if ok else None,
            add=average_days_delinquent(ar, cur_ar, cs, days) if ok else None, cei=ce,
            countback_months=used, notes=tuple(notes)))
        all_notes.extend(f"{cur}: {n}" for n in notes)
    note = i18n.text("kpi.note.cei", locale, n=months, br=br_day.isoformat(), start=start.isoformat(),
                     end=day.isoformat())
    return KpiReport(as_of=day, months=months, period_start=start, days=days, beginning_date=br_day,
                     currencies=tuple(rows), note=note, locale=locale, notes=tuple(all_notes))


def _months_used(ar: int, monthly: Sequence[tuple[int, int]]) -> int:
    rest = ar
    for i, (s, _) in enumerate(monthly):
        if rest <= 0:
            return i
        if s > 0 and rest <= s:
            return i + 1
        if s > 0:
            rest -= s
    return len(monthly)
