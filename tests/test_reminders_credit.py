"""Never a wrong reminder: what a customer's own credit already covers is not chased."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from cobro.defaults import default_levels, default_templates
from cobro.ledger import empty_ledger, make_frame, parse_settings
from cobro.reminders import plan_reminders
from cobro.schema import CUSTOMERS, INVOICES, PAYMENTS

DUE = dt.date(2026, 3, 2)


def ledger(invoices: list[dict], payments: list[dict] | None = None):
    settings = parse_settings({"sender_email": "cobros@demo.example", "business_days_only": "no"})
    inv = [{"customer_id": "C1", "issue_date": DUE - dt.timedelta(days=30), "due_date": DUE, "currency": "EUR",
            "status": "open", **i} for i in invoices]
    pay = [{"customer_id": "C1", "currency": "EUR", "source": "manual", "invoice_id": "", **p}
           for p in payments or []]
    return replace(empty_ledger(settings),
                   customers=make_frame(CUSTOMERS, [{"customer_id": "C1", "name": "Uno", "email": ("a@b.example",),
                                                     "currency": "EUR", "status": "active", "language": "es"}]),
                   invoices=make_frame(INVOICES, inv), payments=make_frame(PAYMENTS, pay),
                   levels=default_levels("es"), templates=default_templates())


def test_invoice_offset_by_credit_note_is_not_reminded() -> None:
    led = ledger([{"invoice_id": "F-1", "amount": 10000},
                  {"invoice_id": "R-1", "amount": -10000, "due_date": DUE - dt.timedelta(days=5)}])
    plan = plan_reminders(led, DUE + dt.timedelta(days=7))
    assert plan.ok and not plan.items
    assert [s.reason for s in plan.skipped] == ["covered_by_credit"]


def test_advance_covers_what_is_due() -> None:
    led = ledger([{"invoice_id": "F-1", "amount": 10000}],
                 [{"date": DUE - dt.timedelta(days=1), "amount": 12000}])
    plan = plan_reminders(led, DUE)
    assert not plan.items and plan.skipped[0].reason == "covered_by_credit"


def test_partial_credit_still_reminds() -> None:
    led = ledger([{"invoice_id": "F-1", "amount": 10000},
                  {"invoice_id": "R-1", "amount": -2500, "due_date": DUE - dt.timedelta(days=5)}])
    plan = plan_reminders(led, DUE)
    assert [i.invoice_ids for i in plan.items] == [("F-1",)]


def test_credit_in_another_currency_covers_nothing() -> None:
    led = ledger([{"invoice_id": "F-1", "amount": 10000},
                  {"invoice_id": "R-1", "amount": -20000, "currency": "USD", "due_date": DUE - dt.timedelta(days=5)}])
    plan = plan_reminders(led, DUE)
    assert [i.invoice_ids for i in plan.items] == [("F-1",)]
