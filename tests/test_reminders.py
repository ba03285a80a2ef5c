"""plan_reminders: which reminders are due, to whom, at which level — each rule of issue 4 §1."""

from __future__ import annotations

import datetime as dt
import json
import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pandas as pd
import pytest

from cobro.ledger import Ledger, Settings, empty_ledger, make_frame
from cobro.reminders import (
    ReminderPlan,
    is_valid_email,
    ladder,
    message_id,
    plan_reminders,
    whatsapp_number,
)
from cobro.safety import header_value
from cobro.schema import CONTACTS, CUSTOMERS, INVOICES, LEVELS, PAYMENTS, PLANS, TEMPLATES
from cobro.workdays import (
    WorkdaysError,
    company_zone,
    holiday_name,
    in_send_window,
    is_workday,
    local_date,
    next_workday,
)

D = dt.date
UTC = dt.UTC

# A six-step ladder like the default one, with simple templates of our own.
LADDER = [
    ("pre", -3, "email", False),
    ("due", 0, "email", False),
    ("r1", 7, "email", False),
    ("call", 15, "phone", False),
    ("letter", 30, "letter", False),
    ("final", 60, "email", True),
]

BODY = ("<p>Hola {{ customer.name }}, nivel {{ level }} a {{ as_of }}.</p>\n"
        "<ul>{% for i in invoices %}<li>{{ i.invoice_id }} {{ i.balance }} ({{ i.days_overdue }})</li>{% endfor %}"
        "</ul>\n{% if other_invoices %}<p>Otras: {% for i in other_invoices %}{{ i.invoice_id }} {% endfor %}</p>"
        "{% endif %}")


def templates_frame(keys: Iterable[str] = ("pre", "due", "r1", "call", "letter", "final", "wa")) -> pd.DataFrame:
    rows = []
    for k in keys:
        for lang in ("es", "en"):
            rows.append({"template": k, "language": lang, "subject": f"[{lang}] {k}: {{{{ customer.name }}}}",
                         "body": BODY, "_row": len(rows) + 2})
    return make_frame(TEMPLATES, rows)


def levels_frame(spec: Iterable[tuple[str, int, str, bool]] = LADDER) -> pd.DataFrame:
    return make_frame(LEVELS, [{"level": k, "days": d, "channel": c, "template": k, "stop": s, "_row": i + 2}
                               for i, (k, d, c, s) in enumerate(spec)])


SETTINGS = Settings(company_name="Acme, S.L.", sender_name="Cobros Acme", sender_email="cobros@acme.es",
                    reply_to="admin@acme.es", business_days_only=False, country="ES", promise_grace_days=3)


def customer(cid: str = "C1", **kw: Any) -> dict[str, Any]:
    rec = {"customer_id": cid, "name": f"Cliente {cid}", "email": f"{cid.lower()}@example.com",
           "phone": "+34 612 345 678", "language": "es", "status": "active", "currency": "EUR"}
    rec.update(kw)
    return rec


def invoice(iid: str, due: str, amount: int = 100000, cid: str = "C1", **kw: Any) -> dict[str, Any]:
    due_d = D.fromisoformat(due)
    rec = {"invoice_id": iid, "customer_id": cid, "issue_date": (due_d - dt.timedelta(days=30)).isoformat(),
           "due_date": due, "amount": amount, "currency": "EUR", "status": "open"}
    rec.update(kw)
    return rec


def contact(cid: str, when: str, level: str = "", ids: Iterable[str] = (), outcome: str = "sent",
            user: str = "cobro", **kw: Any) -> dict[str, Any]:
    rec = {"timestamp": pd.Timestamp(when), "customer_id": cid, "invoice_ids": tuple(ids), "channel": "email",
           "direction": "out", "level": level, "outcome": outcome, "user": user}
    rec.update(kw)
    return rec


def ledger(customers: Iterable[Mapping[str, Any]], invoices: Iterable[Mapping[str, Any]],
           payments: Iterable[Mapping[str, Any]] = (), contacts: Iterable[Mapping[str, Any]] = (),
           plans: Iterable[Mapping[str, Any]] = (), settings: Settings = SETTINGS,
           levels: pd.DataFrame | None = None, templates: pd.DataFrame | None = None) -> Ledger:
    def frame(sheet: Any, rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
        rows = [dict(r, _row=r.get("_row", i + 2)) for i, r in enumerate(rows)]
        return make_frame(sheet, rows) if rows else empty_ledger().frame(sheet.key)

    return empty_ledger(settings).replace(
        customers=frame(CUSTOMERS, customers), invoices=frame(INVOICES, invoices), payments=frame(PAYMENTS, payments),
        contacts=frame(CONTACTS, contacts), plans=frame(PLANS, plans),
        levels=levels_frame() if levels is None else levels,
        templates=templates_frame() if templates is None else templates)


def with_sent(led: Ledger, plan: ReminderPlan, hour: int = 9) -> Ledger:
    """Simulate the sender: append the plan's Contacts rows (outcome sent / task) to the log."""
    when = dt.datetime.combine(plan.as_of, dt.time(hour))
    new = plan.contacts_frame(when)
    return led.replace(contacts=pd.concat([led.contacts, new], ignore_index=True))


def levels_of(plan: ReminderPlan) -> list[tuple[str, str, tuple[str, ...]]]:
    return [(i.customer_id, i.level, i.invoice_ids) for i in plan.items]


# ----------------------------------------------------------------------------------- thresholds


def test_level_reached_on_its_threshold_day_not_before() -> None:
    led = ledger([customer()], [invoice("F1", "2026-03-10")])
    assert plan_reminders(led, D(2026, 3, 6)).items == []
    plan = plan_reminders(led, D(2026, 3, 7))
    assert levels_of(plan) == [("C1", "pre", ("F1",))]
    assert plan.ok


def test_invoice_without_due_date_uses_issue_date() -> None:
    rec = invoice("F1", "2026-03-10")
    rec["due_date"] = None
    rec["issue_date"] = "2026-03-10"
    led = ledger([customer()], [rec])
    assert plan_reminders(led, D(2026, 3, 9)).items == []  # not issued yet
    assert levels_of(plan_reminders(led, D(2026, 3, 10))) == [("C1", "pre", ("F1",))]


def test_paid_invoice_gets_nothing_partial_payment_keeps_the_balance() -> None:
    pays = [{"date": "2026-03-01", "customer_id": "C1", "invoice_id": "F1", "amount": 100000},
            {"date": "2026-03-01", "customer_id": "C1", "invoice_id": "F2", "amount": 40000}]
    led = ledger([customer()], [invoice("F1", "2026-03-10"), invoice("F2", "2026-03-10")], payments=pays)
    plan = plan_reminders(led, D(2026, 3, 10))
    assert levels_of(plan) == [("C1", "pre", ("F2",))]
    assert plan.items[0].totals == {"EUR": 60000}
    assert "600,00 EUR" in plan.items[0].text


def test_payment_dated_after_as_of_is_ignored() -> None:
    pays = [{"date": "2026-03-20", "customer_id": "C1", "invoice_id": "F1", "amount": 100000}]
    led = ledger([customer()], [invoice("F1", "2026-03-10")], payments=pays)
    assert levels_of(plan_reminders(led, D(2026, 3, 8))) == [("C1", "pre", ("F1",))]
    assert plan_reminders(led, D(2026, 3, 21)).items == []


def test_invoice_issued_after_as_of_is_not_reminded() -> None:
    led = ledger([customer()], [invoice("F1", "2026-03-10", issue_date="2026-03-09")])
    assert plan_reminders(led, D(2026, 3, 8)).items == []


# ----------------------------------------------------------------------------------- one per customer


def test_one_message_per_customer_at_the_highest_level_with_a_statement() -> None:
    led = ledger(
        [customer()],
        [invoice("A", "2026-03-10"), invoice("B", "2026-02-10"), invoice("C", "2026-04-05"),
         invoice("N", "2026-04-01", amount=-20000)],
        contacts=[contact("C1", "2026-02-07 09:00", "pre", ["B"]), contact("C1", "2026-02-10 09:00", "due", ["B"])])
    plan = plan_reminders(led, D(2026, 3, 10))
    assert len(plan.items) == 1
    item = plan.items[0]
    assert item.level == "r1"  # B: due -> r1; A: (nothing) -> pre; the message goes at the highest
    assert item.invoice_ids == ("B", "A")  # oldest due date first
    assert item.invoice_levels == {"A": "pre", "B": "r1"}
    assert item.statement_invoice_ids == ("N", "C")  # other open invoices, credit note included
    assert "Otras: N C" in item.text
    rows = item.contact_rows(dt.datetime(2026, 3, 10, 9))
    assert sorted((r["level"], r["invoice_ids"]) for r in rows) == [("pre", ("A",)), ("r1", ("B",))]
    assert {r["message_id"] for r in rows} == {item.message_id}


def test_a_cobro_row_at_the_item_level_moves_each_invoice_one_level_only() -> None:
    # The sender wrote ONE row for the whole message (level r1, both invoices): A still only reached "pre".
    led = ledger(
        [customer()], [invoice("A", "2026-03-10"), invoice("B", "2026-02-10")],
        contacts=[contact("C1", "2026-02-07 09:00", "pre", ["B"]), contact("C1", "2026-02-10 09:00", "due", ["B"]),
                  contact("C1", "2026-03-10 09:00", "r1", ["A", "B"])])
    assert plan_reminders(led, D(2026, 3, 10)).items == []  # both done today
    plan = plan_reminders(led, D(2026, 3, 11))  # A: due threshold passed, gap pre->due = 3 days not yet
    assert plan.items == []
    plan = plan_reminders(led, D(2026, 3, 13))
    assert [(i.level, i.invoice_levels) for i in plan.items] == [("due", {"A": "due"})]


def test_a_row_entered_by_a_person_counts_at_face_value() -> None:
    led = ledger([customer()], [invoice("A", "2026-01-10")],
                 contacts=[contact("C1", "2026-02-09 10:00", "letter", ["A"], outcome="", user="maria",
                                   channel="letter")])
    plan = plan_reminders(led, D(2026, 3, 12))  # letter 30 -> final 60: gap 30 days from 9 Feb
    assert levels_of(plan) == [("C1", "final", ("A",))]


def test_two_channels_make_two_items_for_one_customer() -> None:
    led = ledger([customer()], [invoice("A", "2026-03-10"), invoice("B", "2026-01-01")],
                 contacts=[contact("C1", d + " 09:00", lv, ["B"]) for d, lv in
                           (("2025-12-29", "pre"), ("2026-01-01", "due"), ("2026-01-08", "r1"))])
    plan = plan_reminders(led, D(2026, 3, 8))
    assert [(i.channel, i.level, i.invoice_ids) for i in plan.items] == [
        ("email", "pre", ("A",)), ("phone", "call", ("B",))]
    assert plan.items[0].message_id != plan.items[1].message_id


# ----------------------------------------------------------------------------------- never skip, never twice


def test_levels_are_never_skipped_and_the_gap_counts_from_the_day_reached() -> None:
    # At "due" since 1 Feb; on 20 Mar even "call" (+15) has passed: r1 now, call 8 days (15-7) later.
    led = ledger([customer()], [invoice("A", "2026-02-01")],
                 contacts=[contact("C1", "2026-01-29 09:00", "pre", ["A"]),
                           contact("C1", "2026-02-01 09:00", "due", ["A"])])
    plan = plan_reminders(led, D(2026, 3, 20))
    assert levels_of(plan) == [("C1", "r1", ("A",))]
    led = with_sent(led, plan)
    assert plan_reminders(led, D(2026, 3, 20)).items == []  # nothing twice
    for day in range(21, 28):
        assert plan_reminders(led, D(2026, 3, day)).items == [], day
    plan = plan_reminders(led, D(2026, 3, 28))
    assert levels_of(plan) == [("C1", "call", ("A",))]


def test_a_missed_day_is_caught_up_and_nothing_is_sent_twice() -> None:
    led = ledger([customer()], [invoice("A", "2026-03-10")])
    # nobody ran cobro from 5 to 12 March: the run of the 12th sends "pre" (due since the 7th)
    plan = plan_reminders(led, D(2026, 3, 12))
    assert levels_of(plan) == [("C1", "pre", ("A",))]
    led = with_sent(led, plan)
    again = plan_reminders(led, D(2026, 3, 12))
    assert again.items == []
    assert levels_of(plan_reminders(led, D(2026, 3, 15))) == [("C1", "due", ("A",))]  # gap of 3 days


def test_failed_or_bounced_sends_do_not_count_and_are_retried_with_a_warning() -> None:
    for outcome in ("failed", "bounced"):
        led = ledger([customer()], [invoice("A", "2026-03-10")],
                     contacts=[contact("C1", "2026-03-07 09:00", "pre", ["A"], outcome=outcome, notes="550 no user")])
        plan = plan_reminders(led, D(2026, 3, 8))
        assert levels_of(plan) == [("C1", "pre", ("A",))], outcome
        assert any("failed on 2026-03-07: 550 no user" in w for w in plan.items[0].warnings)


def test_inbound_rows_do_not_count_as_reached() -> None:
    led = ledger([customer()], [invoice("A", "2026-03-10")],
                 contacts=[contact("C1", "2026-03-07 09:00", "pre", ["A"], direction="in")])
    assert levels_of(plan_reminders(led, D(2026, 3, 8))) == [("C1", "pre", ("A",))]


def test_call_task_and_letter_rows_with_blank_outcome_count_as_reached() -> None:
    rows = [contact("C1", d + " 09:00", lv, ["A"], outcome=out, channel=ch) for d, lv, out, ch in (
        ("2026-01-29", "pre", "sent", "email"), ("2026-02-01", "due", "sent", "email"),
        ("2026-02-08", "r1", "sent", "email"), ("2026-02-16", "call", "", "phone"),
        ("2026-03-03", "letter", "", "letter"))]
    led = ledger([customer()], [invoice("A", "2026-02-01")], contacts=rows)
    assert plan_reminders(led, D(2026, 4, 1)).items == []  # final: 30 days after the letter of 3 Mar
    assert levels_of(plan_reminders(led, D(2026, 4, 2))) == [("C1", "final", ("A",))]


def test_contacts_after_as_of_are_ignored_so_a_replay_is_exact() -> None:
    led = ledger([customer()], [invoice("A", "2026-03-10")],
                 contacts=[contact("C1", "2026-03-07 09:00", "pre", ["A"])])
    plan = plan_reminders(led, D(2026, 3, 6))
    assert plan.items == []
    replay = plan_reminders(led.replace(contacts=led.contacts.iloc[0:0]), D(2026, 3, 7))
    assert levels_of(replay) == [("C1", "pre", ("A",))]
    assert plan_reminders(led, D(2026, 3, 7)).items == []  # the log says it was done that day


def test_blank_invoice_ids_level_row_concerns_invoices_past_that_threshold() -> None:
    led = ledger([customer()], [invoice("A", "2026-03-01"), invoice("B", "2026-04-30")],
                 contacts=[contact("C1", "2026-02-26 09:00", "pre", [], user="ana")])
    plan = plan_reminders(led, D(2026, 3, 2))
    assert levels_of(plan) == [("C1", "due", ("A",))]  # A was at "pre"; B was not concerned (not due then)


def test_reminder_level_column_is_the_fallback_for_invoices_without_log() -> None:
    led = ledger([customer()], [invoice("A", "2026-01-01", reminder_level="r1", last_contact="2026-02-20"),
                                invoice("B", "2026-01-01", reminder_level="R1"),
                                invoice("C", "2026-01-01", reminder_level="zzz")])
    plan = plan_reminders(led, D(2026, 2, 25))
    # B: at r1 since its threshold (8 Jan) -> call due; A: at r1 since 20 Feb -> call from 28 Feb; C: unknown level
    assert [(i.level, i.invoice_levels) for i in plan.items] == [("pre", {"C": "pre"}), ("call", {"B": "call"})]
    assert [(w.sheet, w.column, w.value) for w in plan.warnings] == [("Invoices", "reminder_level", "zzz")]
    assert "Levels" in plan.warnings[0].message("en")
    assert levels_of(plan_reminders(led, D(2026, 2, 28)))[-1] == ("C1", "call", ("A", "B"))


def test_log_wins_over_the_reminder_level_column() -> None:
    led = ledger([customer()], [invoice("A", "2026-03-10", reminder_level="final")],
                 contacts=[contact("C1", "2026-03-07 09:00", "pre", ["A"])])
    assert levels_of(plan_reminders(led, D(2026, 3, 10))) == [("C1", "due", ("A",))]


# ----------------------------------------------------------------------------------- stop level


def test_stop_level_is_sent_then_the_invoice_is_handed_to_a_person() -> None:
    spec = [("l1", 0, "email", False), ("l2", 10, "email", True), ("l3", 20, "email", False)]
    led = ledger([customer(collector="Marta")], [invoice("A", "2026-03-01")], levels=levels_frame(spec),
                 templates=templates_frame(("l1", "l2", "l3")))
    led = with_sent(led, plan_reminders(led, D(2026, 3, 1)))
    plan = plan_reminders(led, D(2026, 3, 11))
    assert [(i.level, i.stop) for i in plan.items] == [("l2", True)]
    led = with_sent(led, plan)
    for day in (D(2026, 3, 12), D(2026, 3, 25), D(2026, 6, 1)):
        later = plan_reminders(led, day)
        assert later.items == []
        assert [(h.customer_id, h.level, h.invoice_ids, h.collector) for h in later.handovers] == [
            ("C1", "l2", ("A",), "Marta")]
    assert later.to_json()["handovers"][0]["totals"] == {"EUR": "1000.00"}


# ----------------------------------------------------------------------------------- nothing for …


@pytest.mark.parametrize("status", ["disputed", "written_off", "cancelled"])
def test_invoice_statuses_that_get_nothing(status: str) -> None:
    led = ledger([customer()], [invoice("A", "2026-03-10", status=status), invoice("B", "2026-06-10")])
    plan = plan_reminders(led, D(2026, 3, 20))
    assert plan.items == []
    if status == "disputed":
        assert [(s.reason, s.invoice_ids) for s in plan.skipped] == [("dispute", ("A",))]
    else:
        assert plan.skipped == []


def test_disputed_invoice_is_not_in_the_statement() -> None:
    led = ledger([customer()], [invoice("A", "2026-03-10"), invoice("B", "2026-06-10", status="disputed")])
    plan = plan_reminders(led, D(2026, 3, 7))
    assert plan.items[0].statement_invoice_ids == ()


@pytest.mark.parametrize("status", ["paused", "legal", "closed"])
def test_held_customers_get_nothing(status: str) -> None:
    led = ledger([customer(status=status), customer("C2")], [invoice("A", "2026-03-10"),
                                                             invoice("B", "2026-03-10", cid="C2")])
    plan = plan_reminders(led, D(2026, 3, 10))
    assert levels_of(plan) == [("C2", "pre", ("B",))]
    assert [(s.customer_id, s.reason, s.invoice_ids) for s in plan.skipped] == [("C1", status, ("A",))]


def test_unbroken_promise_holds_until_promise_date_plus_grace() -> None:
    led = ledger([customer()], [invoice("A", "2026-03-01"), invoice("B", "2026-03-01")],
                 contacts=[contact("C1", "2026-02-27 11:00", "", ["A"], outcome="promise", user="ana",
                                   promise_date="2026-03-05", direction="in")])
    plan = plan_reminders(led, D(2026, 3, 8))  # 5 Mar + 3 days grace = 8 Mar: still held
    assert levels_of(plan) == [("C1", "pre", ("B",))]
    assert [(s.reason, s.invoice_ids, s.until) for s in plan.skipped] == [("promise", ("A",), D(2026, 3, 8))]
    assert "promesa de pago hasta el 08/03/2026" in plan.skipped[0].message("es")
    broken = plan_reminders(led, D(2026, 3, 9))
    assert broken.items[0].invoice_ids == ("A", "B")


def test_promise_with_blank_invoices_covers_the_customer() -> None:
    led = ledger([customer()], [invoice("A", "2026-03-01"), invoice("B", "2026-03-01"),
                                invoice("LATER", "2026-03-15", issue_date="2026-03-04")],
                 contacts=[contact("C1", "2026-02-27 11:00", "", [], outcome="promise", user="ana",
                                   promise_date="2026-03-20")])
    plan = plan_reminders(led, D(2026, 3, 10))
    assert plan.items == []
    assert plan.skipped[0].reason == "promise" and plan.skipped[0].invoice_ids == ("A", "B")
    # an invoice issued after the promise is not covered by it
    assert levels_of(plan_reminders(led, D(2026, 3, 12))) == [("C1", "pre", ("LATER",))]


def test_dispute_logged_in_contacts_holds_until_the_collector_talks_to_them_again() -> None:
    base = [contact("C1", "2026-03-02 10:00", "", ["A"], outcome="dispute", user="ana", notes="wrong price")]
    led = ledger([customer()], [invoice("A", "2026-03-10")], contacts=base)
    plan = plan_reminders(led, D(2026, 3, 10))
    assert plan.items == [] and plan.skipped[0].reason == "dispute"
    lifted = ledger([customer()], [invoice("A", "2026-03-10")],
                    contacts=base + [contact("C1", "2026-03-09 10:00", "", ["A"], outcome="reached", user="ana")])
    assert levels_of(plan_reminders(lifted, D(2026, 3, 10))) == [("C1", "pre", ("A",))]


def test_customer_saying_it_paid_holds_for_the_grace_days() -> None:
    led = ledger([customer()], [invoice("A", "2026-03-01")],
                 contacts=[contact("C1", "2026-03-02 10:00", "", ["A"], outcome="paid", user="ana")])
    assert plan_reminders(led, D(2026, 3, 5)).skipped[0].reason == "paid_claim"
    assert levels_of(plan_reminders(led, D(2026, 3, 6))) == [("C1", "pre", ("A",))]


def test_payment_plan_kept_holds_missed_one_does_not() -> None:
    inst = [{"plan_id": "P1", "customer_id": "C1", "invoice_ids": "A", "installment": 1, "due_date": "2026-03-15",
             "amount": 50000, "status": "paid"},
            {"plan_id": "P1", "customer_id": "C1", "invoice_ids": "A", "installment": 2, "due_date": "2026-04-15",
             "amount": 50000, "status": "pending"}]
    led = ledger([customer()], [invoice("A", "2026-03-01")], plans=inst)
    plan = plan_reminders(led, D(2026, 3, 20))
    assert plan.items == [] and (plan.skipped[0].reason, plan.skipped[0].until) == ("plan", D(2026, 4, 15))
    assert levels_of(plan_reminders(led, D(2026, 4, 19))) == [("C1", "pre", ("A",))]  # 15 Apr + 3 passed
    inst[0]["status"] = "missed"
    missed = ledger([customer()], [invoice("A", "2026-03-01")], plans=inst)
    assert levels_of(plan_reminders(missed, D(2026, 3, 20))) == [("C1", "pre", ("A",))]


def test_minimum_amount_applies_to_the_base_currency_only() -> None:
    st = replace(SETTINGS, min_reminder_amount=5000)  # 50.00 EUR
    led = ledger([customer()], [invoice("A", "2026-03-10", amount=2000), invoice("B", "2026-03-10", amount=2500),
                                invoice("U", "2026-03-10", amount=100, currency="USD")], settings=st)
    plan = plan_reminders(led, D(2026, 3, 10))
    assert levels_of(plan) == [("C1", "pre", ("U",))]  # 1.00 USD is not compared with 50 EUR
    assert [(s.reason, s.invoice_ids) for s in plan.skipped] == [("below_minimum", ("A", "B"))]
    assert "45,00 EUR < 50,00 EUR" in plan.skipped[0].message("es")
    led2 = ledger([customer()], [invoice("A", "2026-03-10", amount=2000), invoice("B", "2026-03-10", amount=3000)],
                  settings=st)
    assert levels_of(plan_reminders(led2, D(2026, 3, 10))) == [("C1", "pre", ("A", "B"))]  # together 50.00


def test_no_usable_email_becomes_a_fix_contact_data_item() -> None:
    led = ledger([customer(email=""), customer("C2", email="not an address; x@@y"), customer("C3")],
                 [invoice("A", "2026-03-10"), invoice("B", "2026-03-10", cid="C2"),
                  invoice("C", "2026-03-10", cid="C3")])
    plan = plan_reminders(led, D(2026, 3, 10))
    assert levels_of(plan) == [("C3", "pre", ("C",))]
    assert [(f.customer_id, f.field, f.problem) for f in plan.fixes] == [
        ("C1", "email", "no_email"), ("C2", "email", "invalid_email")]
    assert "x@@y" in plan.fixes[1].message("en")
    assert [(s.customer_id, s.reason) for s in plan.skipped] == [("C1", "no_address"), ("C2", "no_address")]


def test_invalid_addresses_are_left_out_with_a_warning() -> None:
    led = ledger([customer(email="ok@example.com; bad@; ok@example.com", cc="boss@example.com;ok@example.com;x")],
                 [invoice("A", "2026-03-10")])
    item = plan_reminders(led, D(2026, 3, 10)).items[0]
    assert item.to == ("ok@example.com",)
    assert item.cc == ("boss@example.com",)
    assert len(item.warnings) == 2


@pytest.mark.parametrize("address,ok", [
    ("ana@example.com", True), ("ana.perez+cobro@sub.example.es", True), ("josé@ejemplo.es", True),
    ("ana@example", False), ("ana example@x.com", False), ("ana@x.com\nBcc: y@z.com", False), ("@x.com", False),
    ("ana@@x.com", False), ("Ana <ana@x.com>", False), ("ana..b@x.com", False), ("", False)])
def test_email_validation(address: str, ok: bool) -> None:
    assert is_valid_email(address) is ok


# ----------------------------------------------------------------------------------- channels


def test_whatsapp_item_is_a_ready_link_and_needs_a_phone() -> None:
    spec = [("wa", 0, "whatsapp", False)]
    led = ledger([customer(phone="612 34 56 78"), customer("C2", phone="")],
                 [invoice("A", "2026-03-10"), invoice("B", "2026-03-10", cid="C2")],
                 levels=levels_frame(spec))
    plan = plan_reminders(led, D(2026, 3, 10))
    assert [i.customer_id for i in plan.items] == ["C1"]
    item = plan.items[0]
    assert item.whatsapp_url.startswith("https://wa.me/34612345678?text=")
    text = urllib.parse.unquote(item.whatsapp_url.split("?text=", 1)[1])
    assert text == item.text.strip() and "Hola Cliente C1" in text
    assert [(f.customer_id, f.field, f.problem) for f in plan.fixes] == [("C2", "phone", "no_phone")]
    assert item.contact_rows(dt.datetime(2026, 3, 10, 9))[0]["outcome"] == ""


@pytest.mark.parametrize("phone,country,digits", [
    ("+34 612 34 56 78", "ES", "34612345678"), ("0034612345678", "ES", "34612345678"),
    ("612345678", "ES", "34612345678"), ("34612345678", "ES", "34612345678"),
    ("55 1234 5678", "MX", "525512345678"), ("+52 1 55 1234 5678", "ES", "5215512345678"),
    ("612345678", "XX", None), ("123", "ES", None), ("", "ES", None),
    ("07700 900123", "GB", "447700900123"), ("612 345 678 / 911 222 333", "ES", "34612345678")])
def test_whatsapp_number(phone: str, country: str, digits: str | None) -> None:
    assert whatsapp_number(phone, country) == digits


def test_phone_channel_makes_a_call_task() -> None:
    spec = [("call", 0, "phone", False)]
    led = ledger([customer(phone="", collector="Luis")], [invoice("A", "2026-03-10")], levels=levels_frame(spec),
                 templates=templates_frame(("other",)))
    plan = plan_reminders(led, D(2026, 3, 10))
    item = plan.items[0]
    assert plan.ok and item.channel == "phone" and item.collector == "Luis"
    assert "Llamar a Cliente C1" in item.subject and "A" in item.call_notes and "1.000,00 EUR" in item.call_notes
    assert "no phone number" in item.warnings[0]
    rows = item.contact_rows(dt.datetime(2026, 3, 10, 9))
    assert rows[0]["outcome"] == "" and rows[0]["channel"] == "phone" and rows[0]["notes"] == item.call_notes
    # with a template the call notes are its text (a call script)
    led = ledger([customer()], [invoice("A", "2026-03-10")], levels=levels_frame(spec))
    item = plan_reminders(led, D(2026, 3, 10)).items[0]
    assert item.call_notes == item.text and "Hola Cliente C1" in item.call_notes


def test_letter_item_carries_a_pdf_and_json_has_no_binary() -> None:
    spec = [("letter", 0, "letter", False)]
    led = ledger([customer()], [invoice("A", "2026-03-10")], levels=levels_frame(spec))
    plan = plan_reminders(led, D(2026, 3, 10))
    item = plan.items[0]
    assert item.letter_pdf is not None and item.letter_pdf.startswith(b"%PDF")
    data = plan.to_json()
    assert data["items"][0]["letter"] == {"pdf": True, "bytes": len(item.letter_pdf)}
    json.dumps(data)
    assert plan_reminders(led, D(2026, 3, 10)).items[0].letter_pdf == item.letter_pdf  # deterministic


def test_email_item_carries_everything_the_sender_needs() -> None:
    led = ledger([customer(cc="boss@example.com")], [invoice("A", "2026-03-10", reference="PO-1")])
    item = plan_reminders(led, D(2026, 3, 10)).items[0]
    assert item.to == ("c1@example.com",) and item.cc == ("boss@example.com",)
    assert (item.sender_name, item.sender_email, item.reply_to) == ("Cobros Acme", "cobros@acme.es", "admin@acme.es")
    assert item.subject == "[es] pre: Cliente C1"
    assert item.html.startswith("<!DOCTYPE html>") and "<li>A 1.000,00 EUR (0)</li>" in item.html
    assert "- A 1.000,00 EUR (0)" in item.text
    assert item.message_id == message_id("C1", "pre", D(2026, 3, 10), "cobros@acme.es")
    assert item.invoice_rows == {"A": 2}
    data = item.to_json()
    assert data["totals"] == {"EUR": "1000.00"} and data["as_of"] == "2026-03-10"


def test_customer_language_chooses_the_template_with_fallbacks() -> None:
    only_es = make_frame(TEMPLATES, [{"template": "pre", "language": "es", "subject": "es", "body": "es"}])
    en_only = make_frame(TEMPLATES, [{"template": "pre", "language": "en", "subject": "en", "body": "en"}])
    both = templates_frame(("pre",))
    spec = [("pre", -3, "email", False)]
    cases = [(both, "en", SETTINGS, "[en] pre: Cliente C1"), (both, "", SETTINGS, "[es] pre: Cliente C1"),
             (only_es, "en", SETTINGS, "es"), (en_only, "es", SETTINGS, "en"),
             (both, "", replace(SETTINGS, locale="en"), "[en] pre: Cliente C1")]
    for tpl, lang, st, subject in cases:
        led = ledger([customer(language=lang)], [invoice("A", "2026-03-10")], levels=levels_frame(spec),
                     templates=tpl, settings=st)
        item = plan_reminders(led, D(2026, 3, 10)).items[0]
        assert item.subject == subject, (lang, subject)


def test_multi_currency_totals_are_never_added() -> None:
    led = ledger([customer()], [invoice("A", "2026-03-10", amount=100000),
                                invoice("B", "2026-03-10", amount=5000, currency="USD"),
                                invoice("C", "2026-03-10", amount=1234, currency="JPY")])
    item = plan_reminders(led, D(2026, 3, 10)).items[0]
    assert item.totals == {"EUR": 100000, "JPY": 1234, "USD": 5000}
    assert item.to_json()["totals"] == {"EUR": "1000.00", "JPY": "1234", "USD": "50.00"}


# ----------------------------------------------------------------------------------- safety


def test_customer_name_with_a_newline_cannot_inject_a_header() -> None:
    evil = "Evil Corp\r\nBcc: victim@example.com\nX-Spam: yes"
    led = ledger([customer(name=evil)], [invoice("A", "2026-03-10")])
    item = plan_reminders(led, D(2026, 3, 10)).items[0]
    assert "\n" not in item.subject and "\r" not in item.subject
    assert item.subject == "[es] pre: Evil Corp Bcc: victim@example.com X-Spam: yes"
    assert header_value(item.subject) == item.subject
    for addr in item.to + item.cc:
        assert header_value(addr) == addr
    assert "\n" not in item.message_id


def test_customer_name_is_escaped_in_html_but_plain_in_text() -> None:
    led = ledger([customer(name="<script>alert(1)</script> & Co")], [invoice("A", "2026-03-10")])
    item = plan_reminders(led, D(2026, 3, 10)).items[0]
    assert "<script>" not in item.html and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in item.html
    assert "Hola <script>alert(1)</script> & Co," in item.text


def test_a_broken_template_stops_the_plan_before_anything_is_rendered() -> None:
    tpl = templates_frame(("pre",))
    tpl.loc[1, "body"] = "<p>ok</p>\n<p>{{ ''.__class__.__mro__ }}</p>"
    led = ledger([customer()], [invoice("A", "2026-03-10")], templates=tpl,
                 levels=levels_frame([("pre", -3, "email", False)]))
    plan = plan_reminders(led, D(2026, 3, 10))
    assert not plan.ok
    assert [(e.template, e.language, e.kind, e.part, e.line) for e in plan.errors] == [
        ("pre", "en", "unsafe", "body", 2)]
    assert plan.items and all(not i.rendered and i.html == "" and i.letter_pdf is None for i in plan.items)
    assert plan.to_json()["ok"] is False


def test_a_level_without_template_is_an_error() -> None:
    led = ledger([customer()], [invoice("A", "2026-03-10")], templates=templates_frame(("due",)),
                 levels=levels_frame([("pre", -3, "email", False)]))
    plan = plan_reminders(led, D(2026, 3, 10))
    assert not plan.ok and plan.errors[0].sheet == "Levels" and plan.errors[0].kind == "missing"


def test_message_id_is_deterministic() -> None:
    a = message_id("C1", "r1", D(2026, 3, 10), "cobros@acme.es")
    assert a == message_id("C1", "r1", D(2026, 3, 10), "Cobros@ACME.es")
    assert a.startswith("<cobro.") and a.endswith("@acme.es>") and len(a.split("@")[0]) == len("<cobro.") + 16
    assert a != message_id("C1", "r2", D(2026, 3, 10), "cobros@acme.es")
    assert a != message_id("C1", "r1", D(2026, 3, 11), "cobros@acme.es")
    assert a != message_id("C2", "r1", D(2026, 3, 10), "cobros@acme.es")
    assert message_id("C1", "r1", D(2026, 3, 10), "").endswith("@cobro.local>")
    assert message_id("C1", "r1", D(2026, 3, 10), "x@bad\ndomain>").endswith("@cobro.local>")


def test_plan_json_is_serializable_and_complete() -> None:
    led = ledger([customer(), customer("C2", status="paused")],
                 [invoice("A", "2026-03-10"), invoice("B", "2026-03-10", cid="C2")])
    data = plan_reminders(led, D(2026, 3, 10)).to_json("es")
    text = json.dumps(data, ensure_ascii=False)
    assert data["ok"] and data["items"][0]["invoice_ids"] == ["A"]
    assert data["skipped"][0]["message"] == "cliente en pausa"
    assert "Cliente C1" in text


# ----------------------------------------------------------------------------------- business days


def test_business_days_move_a_send_past_christmas_and_the_weekend() -> None:
    st = replace(SETTINGS, business_days_only=True, country="ES")
    led = ledger([customer()], [invoice("A", "2026-12-28")], settings=st)  # "pre" due on Fri 25 Dec
    xmas = plan_reminders(led, D(2026, 12, 25))
    assert not xmas.working_day and xmas.items == [] and xmas.ok
    assert xmas.holiday and xmas.next_working_day == D(2026, 12, 28)
    for day in (26, 27):  # weekend
        assert plan_reminders(led, D(2026, 12, day)).working_day is False
    plan = plan_reminders(led, D(2026, 12, 28))
    assert levels_of(plan) == [("C1", "pre", ("A",))]
    led = with_sent(led, plan)
    # "due" (+3 days after pre) would be 31 Dec (Thursday, a working day in ES)
    assert plan_reminders(led, D(2026, 12, 30)).items == []
    assert levels_of(plan_reminders(led, D(2026, 12, 31))) == [("C1", "due", ("A",))]
    without = ledger([customer()], [invoice("A", "2026-12-28")])
    assert levels_of(plan_reminders(without, D(2026, 12, 25))) == [("C1", "pre", ("A",))]


def test_unknown_country_is_a_settings_error() -> None:
    st = replace(SETTINGS, business_days_only=True, country="Narnia")
    plan = plan_reminders(ledger([customer()], [invoice("A", "2026-03-10")], settings=st), D(2026, 3, 10))
    assert not plan.ok and "Narnia" in plan.errors[0].message("en")


def test_workdays_and_holidays() -> None:
    assert not is_workday(D(2026, 12, 25), "ES")
    assert not is_workday(D(2027, 1, 6), "ES")  # Epiphany
    assert not is_workday(D(2026, 12, 26), "ES")  # Saturday
    assert is_workday(D(2026, 12, 28), "ES")
    assert next_workday(D(2026, 12, 25), "ES") == D(2026, 12, 28)
    assert next_workday(D(2026, 12, 28), "ES") == D(2026, 12, 28)
    assert next_workday(D(2026, 12, 28), "ES", include_today=False) == D(2026, 12, 29)
    assert holiday_name(D(2026, 12, 25), "ES", "es") == "Natividad del Señor"
    assert holiday_name(D(2026, 12, 28), "ES") is None
    assert not is_workday(D(2026, 9, 16), "MX")  # Independence Day
    assert not is_workday(D(2026, 4, 2), "ES-MD") and is_workday(D(2026, 4, 2), "ES")  # Maundy Thursday, Madrid
    with pytest.raises(WorkdaysError, match="ISO 3166"):
        is_workday(D(2026, 1, 1), "XX")


def test_local_date_and_send_window_around_dst_in_madrid() -> None:
    st = replace(SETTINGS, timezone="Europe/Madrid", send_window=(dt.time(8), dt.time(18)))
    # 29 Mar 2026: clocks go 02:00 -> 03:00 (UTC+1 -> UTC+2). 08:00 local is 07:00 UTC before, 06:00 UTC after.
    assert in_send_window(dt.datetime(2026, 3, 28, 7, 0, tzinfo=UTC), st)
    assert not in_send_window(dt.datetime(2026, 3, 28, 6, 59, tzinfo=UTC), st)
    assert in_send_window(dt.datetime(2026, 3, 30, 6, 0, tzinfo=UTC), st)
    assert not in_send_window(dt.datetime(2026, 3, 30, 5, 59, tzinfo=UTC), st)
    assert not in_send_window(dt.datetime(2026, 3, 30, 16, 0, tzinfo=UTC), st)  # 18:00 local: window closed
    assert in_send_window(dt.datetime(2026, 3, 30, 15, 59), st)  # naive means UTC
    # 25 Oct 2026: back to UTC+1
    assert in_send_window(dt.datetime(2026, 10, 26, 7, 0, tzinfo=UTC), st)
    assert not in_send_window(dt.datetime(2026, 10, 26, 6, 30, tzinfo=UTC), st)
    # the date of a run: 23:30 UTC is already tomorrow in Madrid, both in winter and in summer
    assert local_date(dt.datetime(2026, 3, 28, 23, 30, tzinfo=UTC), st) == D(2026, 3, 29)
    assert local_date(dt.datetime(2026, 7, 1, 22, 30, tzinfo=UTC), st) == D(2026, 7, 2)
    assert local_date(dt.datetime(2026, 7, 1, 21, 59, tzinfo=UTC), st) == D(2026, 7, 1)
    # the night of the switch itself: 01:30 UTC = 03:30 CEST on the 29th
    assert local_date(dt.datetime(2026, 3, 29, 1, 30, tzinfo=UTC), st) == D(2026, 3, 29)


def test_send_window_in_mexico_city_historic_dst_and_none_since_2022() -> None:
    st = replace(SETTINGS, timezone="America/Mexico_City", send_window=(dt.time(8), dt.time(18)))
    # 2022: DST began on 3 April (UTC-6 -> UTC-5); 08:00 local = 14:00 UTC before, 13:00 UTC after
    assert in_send_window(dt.datetime(2022, 4, 2, 14, 0, tzinfo=UTC), st)
    assert not in_send_window(dt.datetime(2022, 4, 2, 13, 30, tzinfo=UTC), st)
    assert in_send_window(dt.datetime(2022, 4, 4, 13, 0, tzinfo=UTC), st)
    # Mexico abolished DST in October 2022: all year UTC-6
    for day in (D(2026, 1, 15), D(2026, 4, 6), D(2026, 7, 15)):
        assert in_send_window(dt.datetime.combine(day, dt.time(14, 0), UTC), st)
        assert not in_send_window(dt.datetime.combine(day, dt.time(13, 59), UTC), st)
        assert local_date(dt.datetime.combine(day, dt.time(5, 59), UTC), st) == day - dt.timedelta(days=1)
        assert local_date(dt.datetime.combine(day, dt.time(6, 0), UTC), st) == day


def test_send_window_to_midnight_and_bad_timezone() -> None:
    st = replace(SETTINGS, timezone="UTC", send_window=(dt.time(20), dt.time(23, 59)))
    assert in_send_window(dt.datetime(2026, 1, 1, 23, 59, 30), st)
    night = replace(st, send_window=(dt.time(22), dt.time(6)))
    assert in_send_window(dt.datetime(2026, 1, 1, 23), night) and in_send_window(dt.datetime(2026, 1, 1, 5), night)
    assert not in_send_window(dt.datetime(2026, 1, 1, 12), night)
    with pytest.raises(WorkdaysError, match="IANA"):
        company_zone(replace(st, timezone="Mars/Olympus"))


# ----------------------------------------------------------------------------------- ladder


def test_ladder_is_ordered_by_offset_and_reports_bad_rows() -> None:
    frame = make_frame(LEVELS, [
        {"level": "b", "days": 10, "_row": 2}, {"level": "a", "days": -2, "_row": 3},
        {"level": "c", "days": None, "_row": 4}, {"level": "B", "days": 12, "_row": 5},
        {"level": "d", "days": 10, "channel": "phone", "template": "x", "stop": True, "_row": 6}])
    problems: list[Any] = []
    steps = ladder(frame, problems)
    assert [(s.key, s.days, s.index) for s in steps] == [("a", -2, 0), ("b", 10, 1), ("d", 10, 2)]
    assert steps[2].template == "x" and steps[2].stop and steps[0].template == "a"
    assert [(p.row, p.code) for p in problems] == [(4, "required"), (5, "unique")]


def test_interest_and_discount_reach_the_template() -> None:
    st = replace(SETTINGS, late_interest_annual_pct=Decimal("8"), early_payment_discount=(Decimal("2"), 10))
    tpl = make_frame(TEMPLATES, [{"template": "x", "language": "es", "subject": "s",
                                  "body": "{% for i in interest %}I={{ i.amount }};{% endfor %}"
                                          "{% if discount %}D={{ discount.pct }}/{{ discount.until }}/"
                                          "{{ discount.amount }}{% endif %} M={{ max_days_overdue }}"}])
    spec = [("x", 0, "email", False)]
    # A: 1.000,00 overdue 73 days at 8 % = 16,00; B: issued 1 Mar, 2 % of 500,00 = 10,00 until 11 Mar
    led = ledger([customer()], [invoice("A", "2025-12-28"),
                                invoice("B", "2026-03-10", amount=50000, issue_date="2026-03-01")],
                 levels=levels_frame(spec), templates=tpl, settings=st)
    item = plan_reminders(led, D(2026, 3, 11)).items[0]
    assert item.text.strip() == "I=16,11 EUR;D=2/11/03/2026/10,00 EUR M=73"  # + B: 500,00 × 8 % × 1/365 = 0,11
    item = plan_reminders(led.replace(contacts=make_frame(CONTACTS, [])), D(2026, 3, 12)).items[0]
    assert "D=" not in item.text  # the discount window closed on the 11th


def test_a_broken_sender_address_stops_e_mails() -> None:
    for key in ("sender_email", "reply_to"):
        st = replace(SETTINGS, **{key: "cobros@acme.es\r\nBcc: all@example.com"})
        plan = plan_reminders(ledger([customer()], [invoice("A", "2026-03-10")], settings=st), D(2026, 3, 10))
        assert not plan.ok and key in plan.errors[0].message("en")
        assert all(not i.rendered for i in plan.items)


def test_an_empty_plan_gives_an_empty_contacts_frame() -> None:
    plan = plan_reminders(ledger([customer()], [invoice("A", "2026-06-10")]), D(2026, 3, 10))
    assert plan.items == [] and plan.ok
    frame = plan.contacts_frame(dt.datetime(2026, 3, 10, 9))
    assert len(frame) == 0 and "message_id" in frame.columns
