"""Late-payment interest (Ley 3/2004) and the fixed compensation, worked by hand to the cent."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from cobro.interest import (
    check_interest_settings,
    interest_enabled,
    late_interest,
    parse_rates,
    rates_for,
)


def test_worked_example_across_a_semester_boundary() -> None:
    """Invoice of 10,000.00 EUR due 31 May 2025, statement as of 15 August 2025.

    Interest runs from the day after the due date, 1 June 2025, through 15 August 2025 (76 days).

    - 1–30 June 2025: 30 days at 3.15 % (ECB, first half 2025) + 8 = 11.15 %:
      10,000 × 11.15 % × 30 / 365 = 33,450 / 365 = 91.643835… EUR
    - 1 July – 15 August 2025: 31 + 15 = 46 days at 2.15 % (ECB, second half 2025) + 8 = 10.15 %:
      10,000 × 10.15 % × 46 / 365 = 46,690 / 365 = 127.917808… EUR
    - total: 80,140 / 365 = 219.561643… -> 219.56 EUR (rounded once, half up)
    - compensation (art. 8): 40.00 EUR; interest + compensation = 259.56 EUR.
    """
    r = late_interest(1_000_000, "EUR", dt.date(2025, 5, 31), dt.date(2025, 8, 15))
    assert r.days == 76
    assert [(p.start, p.end, p.days, p.rate_pct) for p in r.periods] == [
        (dt.date(2025, 6, 1), dt.date(2025, 6, 30), 30, Decimal("11.15")),
        (dt.date(2025, 7, 1), dt.date(2025, 8, 15), 46, Decimal("10.15")),
    ]
    assert r.interest == 21956
    assert r.compensation == 4000
    assert r.total == 25956
    assert not r.carried


def test_not_overdue_earns_nothing_and_due_day_itself_is_free() -> None:
    assert late_interest(1_000_000, "EUR", dt.date(2025, 5, 31), dt.date(2025, 5, 31)).total == 0
    one = late_interest(3_650_000, "EUR", dt.date(2025, 5, 31), dt.date(2025, 6, 1))
    # 36,500 EUR × 11.15 % / 365 = 11.15 EUR for the one day
    assert one.days == 1 and one.interest == 1115


def test_agreed_rate_replaces_the_legal_one_and_compensation_is_euro_only() -> None:
    r = late_interest(1_000_000, "USD", dt.date(2025, 1, 31), dt.date(2025, 3, 2), agreed_pct=Decimal("7.3"))
    # 30 days × 10,000 × 7.3 % / 365 = 60.00
    assert r.interest == 6000 and r.compensation == 0


def test_workbook_rates_extend_the_table_and_missing_half_years_are_flagged() -> None:
    far = late_interest(1_000_000, "EUR", dt.date(2031, 12, 31), dt.date(2032, 1, 10))
    assert far.carried
    rates = rates_for({"ecb_rates": "2032-H1 1.00"})
    r = late_interest(3_650_000, "EUR", dt.date(2031, 12, 31), dt.date(2032, 1, 10), rates=rates)
    assert not r.carried and r.periods[0].rate_pct == Decimal("9.00")
    # 36,500 × 9 % × 10 / 365 = 90.00
    assert r.interest == 9000
    assert parse_rates("2026-H1 2,15; 2026/2 2.40") == {(2026, 1): Decimal("2.15"), (2026, 2): Decimal("2.40")}
    with pytest.raises(ValueError):
        parse_rates("first half 2")
    assert check_interest_settings({"ecb_rates": "bad", "late_interest_enabled": "perhaps",
                                    "max_payment_terms_days": "sixty"}) == [
        ("ecb_rates", "ecb_rates", {}), ("late_interest_enabled", "yes_no", {}),
        ("max_payment_terms_days", "max_terms", {})]
    assert interest_enabled({"late_interest_enabled": "sí"}) and not interest_enabled({})


def test_final_texts_show_legal_interest_and_compensation_only_when_enabled() -> None:
    """The same invoice as the worked example: 10,000.00 EUR due 31 May 2025, as of 15 August 2025 —
    219.56 EUR interest + 40.00 EUR compensation = 259.56 EUR."""
    from cobro.ledger import parse_settings
    from cobro.render import InvoiceLine, template_context

    line = InvoiceLine("F-1", "EUR", 1_000_000, 1_000_000, dt.date(2025, 4, 1), dt.date(2025, 5, 31), 76)

    def ctx(**settings: str) -> dict:
        return template_context(customer={"name": "Uno", "customer_id": "C1"}, settings=parse_settings(settings),
                                as_of=dt.date(2025, 8, 15), level="final", invoices=[line], other_invoices=[],
                                language="es")

    assert ctx()["interest"] == []  # off by default
    (got,) = ctx(late_interest_enabled="sí")["interest"]
    assert got["currency"] == "EUR"
    assert got["amount"] == ("259,56 EUR (219,56 EUR de intereses al tipo legal y 40,00 EUR de indemnización por "
                             "costes de cobro, Ley 3/2004)")
