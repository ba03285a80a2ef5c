"""Every message carries a way to pay (issue 13 §2) and credits read as credits (§1): the default texts in a real
plan, with payment details in Settings."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from cobro.defaults import default_levels, default_templates
from cobro.ledger import empty_ledger, make_frame, parse_settings
from cobro.reminders import plan_reminders
from cobro.schema import CUSTOMERS, INVOICES

DUE = dt.date(2026, 3, 2)
PAY = {"iban": "ES91 2100 0418 4502 0005 1332", "bic": "CAIXESBBXXX", "bizum": "600 111 222",
       "payment_link_template": "https://pagos.example.com/?f={invoice}&i={amount}"}


def ledger(**settings: str):
    s = parse_settings({"sender_email": "cobros@demo.example", "company_name": "Suministros Ebro, S.L.",
                        "business_days_only": "no", "payment_instructions": "También en nuestras oficinas.",
                        "min_reminder_amounts": "none", "min_formal_amounts": "none", **settings})
    inv = [{"customer_id": "C1", "issue_date": DUE - dt.timedelta(days=30), "due_date": DUE, "currency": "EUR",
            "status": "open", "invoice_id": "F-1", "amount": 150000, "reminder_level": "due"},
           {"customer_id": "C1", "issue_date": DUE + dt.timedelta(days=2), "due_date": DUE + dt.timedelta(days=40),
            "currency": "EUR", "status": "open", "invoice_id": "F-2", "amount": 20000},
           {"customer_id": "C1", "issue_date": DUE - dt.timedelta(days=3), "due_date": DUE - dt.timedelta(days=3),
            "currency": "EUR", "status": "open", "invoice_id": "R-1", "amount": -30000}]
    return replace(empty_ledger(s),
                   customers=make_frame(CUSTOMERS, [{"customer_id": "C1", "name": "Uno", "email": ("a@b.example",),
                                                     "currency": "EUR", "status": "active", "language": "es"}]),
                   invoices=make_frame(INVOICES, inv), levels=default_levels("es"), templates=default_templates())


def test_reminder_shows_amount_reference_account_and_the_credit_in_favour() -> None:
    plan = plan_reminders(ledger(**PAY), DUE + dt.timedelta(days=7))
    (item,) = [i for i in plan.items if i.channel == "email"]
    text = item.text
    # what F-1 owes less the open credit note R-1: 1,500.00 - 300.00
    assert "Importe a pagar: 1.200,00 EUR" in text
    assert "Concepto / referencia: Fra. F-1" in text
    assert "IBAN: ES91 2100 0418 4502 0005 1332" in text and "Bizum: 600 111 222" in text
    assert "https://pagos.example.com/?f=F-1&i=1200.00" in text
    assert "También en nuestras oficinas." in text
    assert "300,00 EUR" in text and "-300,00" not in text  # a credit in the customer's favour, not negative
    assert "a su favor" in text


def test_without_payment_details_the_free_text_is_kept() -> None:
    plan = plan_reminders(ledger(), DUE + dt.timedelta(days=7))
    (item,) = [i for i in plan.items if i.channel == "email"]
    assert "También en nuestras oficinas." in item.text and "IBAN" not in item.text
