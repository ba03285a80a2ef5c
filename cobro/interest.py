"""Late-payment interest and the fixed compensation of Spain's Ley 3/2004 — pure: the as-of date is a parameter.

Per invoice, on what is still open, from the day after the due date up to and including the as-of date:

- **interest** (art. 7): the legal rate of each half year — the ECB rate of ``cobro.data.ecb_rates`` (or the
  workbook's Settings row ``ecb_rates``) + 8 points — or a rate the parties agreed (Settings
  ``late_interest_annual_pct`` above 0 replaces the legal rate). Simple interest, actual days over a 365-day year,
  each half year's days at that half year's rate; the exact sum is rounded half-up to the cent once per invoice.
- **compensation** (art. 8): a fixed 40 EUR per overdue invoice, for invoices in euros.

Decisions where the law leaves practice to the creditor: the base is the amount open today (a part paid late is
not charged for the days it was late); a half year missing from the data carries the last known rate forward and is
flagged (``InterestPeriod.carried``) so every document can say so. Nothing here is shown unless Settings
``late_interest_enabled`` says yes (``interest_enabled``): many companies waive it to keep the relationship.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction

from . import money
from .data.ecb_rates import ECB_RATES

__all__ = [
    "COMPENSATION_EUR_MINOR", "LEGAL_MARGIN", "InterestPeriod", "InvoiceInterest", "check_interest_settings",
    "interest_enabled", "late_interest", "parse_rates", "rates_for", "semester_of",
]

LEGAL_MARGIN = Decimal(8)  # percentage points over the ECB rate (art. 7.2)
COMPENSATION_EUR_MINOR = 4000  # 40 EUR per invoice (art. 8)
DAY_BASIS = 365

Semester = tuple[int, int]  # (year, 1 | 2)


@dataclass(frozen=True)
class InterestPeriod:
    """The days of one half year (or of the agreed rate) and what they earn, exactly (not yet rounded)."""

    start: dt.date
    end: dt.date  # inclusive
    days: int
    rate_pct: Decimal  # annual rate applied
    amount: Fraction  # exact interest in minor units
    carried: bool = False  # the half year was missing from the rates: the last known one was used


@dataclass(frozen=True)
class InvoiceInterest:
    """Interest and compensation for one invoice at an as-of date (minor units of ``currency``)."""

    principal: int
    currency: str
    due_date: dt.date
    as_of: dt.date
    days: int
    periods: tuple[InterestPeriod, ...]
    interest: int
    compensation: int

    @property
    def total(self) -> int:
        """Interest plus compensation."""
        return self.interest + self.compensation

    @property
    def carried(self) -> bool:
        """True when some days used a rate carried forward (update the rates table)."""
        return any(p.carried for p in self.periods)


def semester_of(day: dt.date) -> Semester:
    """(year, 1) for January–June, (year, 2) for July–December."""
    return (day.year, 1 if day.month <= 6 else 2)


def _semester_bounds(sem: Semester) -> tuple[dt.date, dt.date]:
    y, h = sem
    return (dt.date(y, 1, 1), dt.date(y, 6, 30)) if h == 1 else (dt.date(y, 7, 1), dt.date(y, 12, 31))


_RATE_ITEM = re.compile(r"\s*(\d{4})\s*[-/ ]?\s*(?:H|S)?([12])\s*[:=]?\s+(-?\d+(?:[.,]\d+)?)\s*%?\s*", re.I)


def parse_rates(text: str) -> dict[Semester, Decimal]:
    """The workbook's ``ecb_rates`` row: ``"2026-H1 2.15; 2026-H2 2.40"`` -> ``{(2026, 1): 2.15, …}`` (ECB rates
    in %, without the 8 points). ``ValueError`` naming the part that is not "YEAR-H1|H2 rate"."""
    out: dict[Semester, Decimal] = {}
    for part in re.split(r"[;\n]", text or ""):
        if not part.strip():
            continue
        m = _RATE_ITEM.fullmatch(part)
        if not m:
            raise ValueError(part.strip())
        try:
            out[(int(m[1]), int(m[2]))] = Decimal(m[3].replace(",", "."))
        except InvalidOperation as exc:  # pragma: no cover - the pattern admits only numbers
            raise ValueError(part.strip()) from exc
    return out


def rates_for(extra: Mapping[str, str] | None = None) -> dict[Semester, Decimal]:
    """The ECB rate per half year: the shipped table, then the workbook's ``ecb_rates`` row over it."""
    rates = {k: v for k, (v, _src) in ECB_RATES.items()}
    text = str((extra or {}).get("ecb_rates", "") or "")
    if text.strip():
        try:
            rates.update(parse_rates(text))
        except ValueError:
            pass  # reported by parse_settings as a located Settings problem
    return rates


def check_interest_settings(values: Mapping[str, str]) -> list[tuple[str, str, dict[str, object]]]:
    """(key, catalogue code ``expected.setting.<code>``, its values) for each interest setting that cannot be used
    — for ``parse_settings``."""
    out: list[tuple[str, str, dict[str, object]]] = []
    try:
        parse_rates(str(values.get("ecb_rates", "") or ""))
    except ValueError:
        out.append(("ecb_rates", "ecb_rates", {}))
    flag = str(values.get("late_interest_enabled", "") or "").strip().casefold()
    if flag and flag not in _YES | _NO:
        out.append(("late_interest_enabled", "yes_no", {}))
    days = str(values.get("max_payment_terms_days", "") or "").strip()
    if days and not (days.isdigit() and int(days) > 0) and days.casefold() not in ("none", "ninguno", "no"):
        out.append(("max_payment_terms_days", "max_terms", {}))
    return out


_YES = {"yes", "si", "sí", "y", "s", "true", "1", "x"}
_NO = {"no", "n", "false", "0"}


def interest_enabled(extra: Mapping[str, str]) -> bool:
    """Settings ``late_interest_enabled``: off unless it says yes."""
    return str(extra.get("late_interest_enabled", "") or "").strip().casefold() in _YES


def _legal_rate(sem: Semester, rates: Mapping[Semester, Decimal]) -> tuple[Decimal, bool]:
    if sem in rates:
        return rates[sem] + LEGAL_MARGIN, False
    earlier = [s for s in rates if s < sem]
    if earlier:
        return rates[max(earlier)] + LEGAL_MARGIN, True
    return rates[min(rates)] + LEGAL_MARGIN, True


def late_interest(principal: int, currency: str, due_date: dt.date, as_of: dt.date, *,
                  rates: Mapping[Semester, Decimal] | None = None, agreed_pct: Decimal | None = None,
                  compensation: bool = True) -> InvoiceInterest:
    """Interest on ``principal`` (minor units) from the day after ``due_date`` through ``as_of``, and the 40 EUR
    compensation (euro invoices, when ``compensation``). Nothing is due when the invoice is not overdue."""
    rates = rates if rates is not None else rates_for()
    first = due_date + dt.timedelta(days=1)
    if principal <= 0 or as_of < first:
        return InvoiceInterest(max(principal, 0), currency, due_date, as_of, 0, (), 0, 0)
    periods: list[InterestPeriod] = []
    if agreed_pct is not None and agreed_pct > 0:
        days = (as_of - first).days + 1
        amount = Fraction(principal) * Fraction(agreed_pct) / 100 * days / DAY_BASIS
        periods.append(InterestPeriod(first, as_of, days, agreed_pct, amount))
    else:
        cursor = first
        while cursor <= as_of:
            sem = semester_of(cursor)
            end = min(_semester_bounds(sem)[1], as_of)
            days = (end - cursor).days + 1
            rate, carried = _legal_rate(sem, rates)
            amount = Fraction(principal) * Fraction(rate) / 100 * days / DAY_BASIS
            periods.append(InterestPeriod(cursor, end, days, rate, amount, carried))
            cursor = end + dt.timedelta(days=1)
    exact = sum((p.amount for p in periods), Fraction(0))
    interest = money.round_to_minor(Decimal(exact.numerator) / Decimal(exact.denominator)
                                    / Decimal(10) ** money.exponent(currency), currency)
    comp = COMPENSATION_EUR_MINOR if (compensation and currency == "EUR") else 0
    return InvoiceInterest(principal, currency, due_date, as_of, (as_of - due_date).days, tuple(periods), interest,
                           comp)


# ----------------------------------------------------------------------------------- legal payment terms


@dataclass(frozen=True)
class TermsWarning:
    """An invoice whose payment term exceeds the legal maximum where the company is (a warning: nothing is
    refused). Located like a ``Problem``: sheet Invoices, the row as the user sees it, column due_date."""

    row: int
    invoice_id: str
    days: int
    maximum: int
    country: str
    source: str
    sheet: str = "Invoices"  # or the imported file's name
    column: str = "due_date"  # or the file's own header

    def _where(self, locale: str) -> str:
        if self.sheet != "Invoices":  # an imported file: its name, line and header
            return f"{self.sheet}, {'línea' if locale == 'es' else 'line'} {self.row}, " \
                   f"{'columna' if locale == 'es' else 'column'} \"{self.column}\""
        if locale == "es":
            return f"Facturas, fila {self.row}, columna \"Vencimiento\""
        return f"Invoices, row {self.row}, column \"Due date\""

    def message(self, locale: str = "en") -> str:
        from .data.legal_terms import COUNTRY_NAMES

        es, en = COUNTRY_NAMES.get(self.country, (self.country, self.country))
        if locale == "es":
            return (f"{self._where(locale)}: la factura {self.invoice_id} vence a "
                    f"{self.days} días de su emisión; el plazo máximo legal en {es} es de {self.maximum} días "
                    f"({self.source})")
        return (f"{self._where(locale)}: invoice {self.invoice_id} is due {self.days} days "
                f"after its issue date; the legal maximum in {en} is {self.maximum} days ({self.source})")

    def as_dict(self, locale: str = "en") -> dict[str, object]:
        return {"sheet": self.sheet, "row": self.row, "column": self.column, "invoice_id": self.invoice_id,
                "days": self.days, "maximum": self.maximum, "code": "terms_over_legal_maximum",
                "message": self.message(locale)}


def legal_max_terms(country: str, extra: Mapping[str, str] | None = None) -> tuple[int, str] | None:
    """(days, source) for the company's country: Settings ``max_payment_terms_days`` first, then the shipped
    table (``cobro.data.legal_terms``); None when there is no maximum to check."""
    from .data.legal_terms import MAX_PAYMENT_TERMS

    own = str((extra or {}).get("max_payment_terms_days", "") or "").strip()
    if own.casefold() in ("none", "ninguno", "no"):
        return None
    if own.isdigit() and int(own) > 0:
        return int(own), "max_payment_terms_days"
    return MAX_PAYMENT_TERMS.get((country or "").upper())


def terms_warnings(ledger: object, limit: int | None = None) -> list[TermsWarning]:
    """Open or disputed invoices whose due date is more days after the issue date than the law of the company's
    country allows (Spain 60, Chile 30; see ``legal_max_terms``). Computed on whole columns: cheap on big ledgers."""
    import numpy as np

    settings = ledger.settings  # type: ignore[attr-defined]
    rule = legal_max_terms(settings.country, settings.extra)
    inv = ledger.invoices  # type: ignore[attr-defined]
    if rule is None or inv.empty:
        return []
    maximum, source = rule
    issue = inv["issue_date"].to_numpy(dtype="datetime64[ns]")
    due = inv["due_date"].to_numpy(dtype="datetime64[ns]")
    ok = ~(np.isnat(issue) | np.isnat(due))
    days = np.zeros(len(inv), dtype=np.int64)
    days[ok] = (due[ok] - issue[ok]) // np.timedelta64(1, "D")
    status = inv["status"].to_numpy(dtype=object)
    live = (status == "open") | (status == "disputed") | (status == "")
    hits = np.flatnonzero(ok & live & (days > maximum))
    if limit is not None:
        hits = hits[:limit]
    ids, rows = inv["invoice_id"].to_numpy(dtype=object), inv["_row"].to_numpy()
    return [TermsWarning(int(rows[i]), str(ids[i]), int(days[i]), maximum, settings.country.upper(), source)
            for i in hits]
