"""Never a wrong reminder: what a customer's own credit already covers is not chased."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pandas as pd

from cobro.defaults import default_levels, default_templates
from cobro.ledger import empty_ledger, make_frame, parse_settings
from cobro.reminders import plan_reminders
from cobro.schema import CONTACTS, CUSTOMERS, INVOICES, PAYMENTS

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


def test_a_message_the_credits_cover_is_not_sent_even_when_another_one_is() -> None:
    """Every message nets all the customer's credits in its amount to pay: an e-mail for 100 with 150 of credit
    would ask for nothing (or a negative amount), while the letter for 500 still asks for 350."""
    as_of = DUE + dt.timedelta(days=31)
    led = ledger([{"invoice_id": "F-A", "amount": 10000, "due_date": as_of - dt.timedelta(days=7)},
                  {"invoice_id": "F-B", "amount": 50000},
                  {"invoice_id": "R-1", "amount": -15000, "due_date": DUE - dt.timedelta(days=5)}])
    called = {"timestamp": pd.Timestamp(as_of - dt.timedelta(days=16)), "customer_id": "C1", "invoice_ids": ("F-B",),
              "channel": "phone", "direction": "out", "level": "call", "outcome": "", "user": "maria", "_row": 2}
    led = replace(led, contacts=make_frame(CONTACTS, [called]))
    plan = plan_reminders(led, as_of)
    assert [(i.channel, i.invoice_ids) for i in plan.items] == [("letter", ("F-B",))]
    assert [(s.reason, s.invoice_ids) for s in plan.skipped] == [("covered_by_credit", ("F-A",))]


def test_the_minimum_is_judged_on_what_the_message_asks_for_after_credits() -> None:
    led = ledger([{"invoice_id": "F-1", "amount": 10000},
                  {"invoice_id": "R-1", "amount": -6000, "due_date": DUE - dt.timedelta(days=5)}])
    led = replace(led, settings=replace(led.settings, min_reminder_amount=5000))
    plan = plan_reminders(led, DUE)
    assert not plan.items and [s.reason for s in plan.skipped] == ["below_minimum"]
    assert plan.skipped[0].detail.startswith("40")
