"""Worklist: who to contact first, why, and what to do — ordering rules, reasons, actions."""

from __future__ import annotations

import datetime as dt

import pytest

from cobro.defaults import default_levels
from cobro.ledger import CONTACTS, CUSTOMERS, INVOICES, PAYMENTS, Ledger, Settings, empty_ledger, make_frame
from cobro.worklist import action_label, worklist

AS_OF = dt.date(2024, 6, 30)
D = dt.timedelta


def cust(cid: str, *, status: str = "active", email: str = "", phone: str = "+34 600 000 000",
         currency: str = "EUR") -> dict:
    return {"customer_id": cid, "name": f"Cliente {cid}", "email": email or f"{cid.lower()}@example.com",
            "phone": phone, "status": status, "currency": currency, "collector": "Ana"}


def inv(iid: str, cid: str, amount: int, days_overdue: int, *, cur: str = "EUR", status: str = "open",
        level: str = "") -> dict:
    due = AS_OF - D(days_overdue)
    return {"invoice_id": iid, "customer_id": cid, "issue_date": due - D(30), "due_date": due, "currency": cur,
            "amount": amount, "status": status, "reminder_level": level}


def build(customers: list[dict], invoices: list[dict], payments: list[dict] = (), contacts: list[dict] = (),
          locale: str = "en", levels: bool = True) -> Ledger:
    base = empty_ledger(Settings(locale=locale, promise_grace_days=3))
    return base.replace(customers=make_frame(CUSTOMERS, customers), invoices=make_frame(INVOICES, invoices),
                        payments=make_frame(PAYMENTS, list(payments)), contacts=make_frame(CONTACTS, list(contacts)),
                        levels=default_levels() if levels else base.levels)


def promise(cid: str, logged: dt.date, promise_date: dt.date, amount: int | None = None,
            invoices: tuple[str, ...] = ()) -> dict:
    return {"timestamp": dt.datetime.combine(logged, dt.time(10, 0)), "customer_id": cid, "channel": "phone",
            "direction": "out", "outcome": "promise", "promise_date": promise_date, "promise_amount": amount,
            "invoice_ids": invoices, "user": "ana"}


def order(report) -> list[str]:
    return [r.customer_id for r in report.rows]


def by_id(report) -> dict:
    return {r.customer_id: r for r in report.rows}


def test_bigger_and_older_first_and_nothing_for_customers_not_overdue():
    led = build([cust("A"), cust("B"), cust("C"), cust("N")], [
        inv("A1", "A", 500000, 40), inv("B1", "B", 50000, 40), inv("C1", "C", 500000, 10),
        inv("N1", "N", 900000, -5),  # not due yet: not on the list
    ])
    rep = worklist(led, AS_OF)
    assert order(rep) == ["A", "C", "B"]
    assert [r.rank for r in rep.rows] == [1, 2, 3]
    assert all(not r.held for r in rep.rows)
    assert rep.rows[0].score > rep.rows[1].score > rep.rows[2].score


def test_old_small_debt_does_not_sink():
    led = build([cust("OLD"), cust("NEW"), cust("MID")], [
        inv("O1", "OLD", 1000, 150),  # 10.00 EUR, five months overdue
        inv("N1", "NEW", 200000, 5),  # 2,000.00 EUR, five days overdue
        inv("M1", "MID", 200000, 3), inv("M2", "MID", 100000, 1),
    ])
    rep = worklist(led, AS_OF)
    assert order(rep)[0] == "OLD"
    old = by_id(rep)["OLD"]
    assert old.score >= 4 and old.oldest_days == 150
    assert old.reason == "1 invoice 150 days overdue (10.00 EUR)"
    assert by_id(rep)["MID"].reason == "2 invoices 1–3 days overdue (3,000.00 EUR)"


def test_disputes_paused_and_legal_are_shown_but_not_pushed():
    led = build([cust("BIG", status="legal"), cust("P", status="paused"), cust("DIS"), cust("SMALL")], [
        inv("B1", "BIG", 10_000_000, 200), inv("P1", "P", 5_000_000, 100),
        inv("D1", "DIS", 9_000_000, 80, status="disputed"), inv("D2", "DIS", 1_000_000, 20, status="disputed"),
        inv("S1", "SMALL", 1000, 2),
    ])
    rep = worklist(led, AS_OF)
    assert order(rep)[0] == "SMALL"
    rows = by_id(rep)
    assert all(rows[c].held for c in ("BIG", "P", "DIS")) and not rows["SMALL"].held
    assert rows["BIG"].action == "on_hold" and "customer in legal proceedings" in rows["BIG"].reason
    assert rows["BIG"].next_action == "none: customer in legal proceedings"
    assert rows["P"].action == "on_hold" and "customer paused" in rows["P"].reason
    assert rows["DIS"].action == "review_dispute" and rows["DIS"].next_action == "review dispute"
    assert rows["DIS"].reason == "2 invoices in dispute (100,000.00 EUR)"
    assert rows["DIS"].invoices == 0 and rows["DIS"].oldest_days == 80


def test_dispute_next_to_chaseable_invoices_is_mentioned_not_chased():
    led = build([cust("A")], [inv("A1", "A", 30000, 45), inv("A2", "A", 70000, 50, status="disputed")])
    r = worklist(led, AS_OF).rows[0]
    assert not r.held and r.invoices == 1 and r.overdue == {"EUR": 30000}
    assert r.reason.startswith("1 invoice 45 days overdue (300.00 EUR); 1 invoice in dispute (700.00 EUR)")


def test_promises_pending_kept_and_broken():
    customers = [cust(c) for c in ("PEND", "KEPT", "BROKE", "PLAIN", "GRACE")]
    invoices = [inv(f"{c}1", c, 100000, 40) for c in ("PEND", "KEPT", "BROKE", "PLAIN", "GRACE")]
    invoices.append(inv("KEPT2", "KEPT", 50000, 35))
    contacts = [
        promise("PEND", AS_OF - D(3), AS_OF + D(5)),  # not yet due
        promise("KEPT", AS_OF - D(20), AS_OF - D(10), amount=50000),  # paid on time
        promise("BROKE", AS_OF - D(30), dt.date(2024, 5, 12)),  # passed, nothing paid
        promise("GRACE", AS_OF - D(10), AS_OF - D(2)),  # passed, but within the 3 days of grace
    ]
    payments = [{"date": AS_OF - D(11), "customer_id": "KEPT", "invoice_id": "KEPT2", "amount": 50000,
                 "currency": "EUR"}]
    rep = worklist(build(customers, invoices, payments, contacts), AS_OF)
    rows = by_id(rep)
    assert order(rep)[0] == "BROKE"
    assert rows["BROKE"].action == "chase_promise" and rows["BROKE"].promise == "broken"
    assert rows["BROKE"].reason == "1 invoice 40 days overdue (1,000.00 EUR); promise of 12 May broken"
    assert rows["BROKE"].score > rows["PLAIN"].score
    assert rows["PEND"].held and rows["PEND"].action == "wait_promise"
    assert "promised to pay by 5 Jul" in rows["PEND"].reason
    assert rows["GRACE"].held and rows["GRACE"].promise == "pending"
    assert rows["KEPT"].held and rows["KEPT"].promise == "kept" and "promise of 20 Jun kept" in rows["KEPT"].reason
    assert rows["KEPT"].action == "promise_kept" and rows["KEPT"].next_action == "none: promise kept"
    assert order(rep)[:2] == ["BROKE", "PLAIN"] and {r.customer_id for r in rep.rows if r.held} == {
        "PEND", "KEPT", "GRACE"}
    # A month later the kept promise no longer holds the customer back.
    later = by_id(worklist(build(customers, invoices, payments, contacts), AS_OF + D(30)))
    assert not later["KEPT"].held and later["KEPT"].promise == ""


def test_promise_of_listed_invoices_kept_when_they_are_paid():
    contacts = [promise("A", AS_OF - D(20), AS_OF - D(15), invoices=("A1",))]
    payments = [{"date": AS_OF - D(16), "customer_id": "A", "invoice_id": "A1", "amount": 1000, "currency": "EUR"}]
    led = build([cust("A")], [inv("A1", "A", 1000, 40), inv("A2", "A", 5000, 20)], payments, contacts)
    r = worklist(led, AS_OF).rows[0]
    assert r.promise == "kept" and r.held
    led2 = build([cust("A")], [inv("A1", "A", 1000, 40), inv("A2", "A", 5000, 20)], [], contacts)
    r2 = worklist(led2, AS_OF).rows[0]
    assert r2.promise == "broken" and r2.action == "chase_promise"


def test_promise_logged_after_as_of_is_ignored():
    contacts = [promise("A", AS_OF + D(1), AS_OF + D(8))]
    r = worklist(build([cust("A")], [inv("A1", "A", 1000, 40)], [], contacts), AS_OF).rows[0]
    assert r.promise == "" and not r.held


def test_missing_contact_data():
    led = build([cust("A", email="-", phone="")], [inv("A1", "A", 1000, 10)])
    led = led.replace(customers=make_frame(CUSTOMERS, [{**cust("A", phone=""), "email": ""}]))
    r = worklist(led, AS_OF).rows[0]
    assert r.action == "fix_contact" and r.next_action == "fix contact data"
    assert "no email or phone" in r.reason and not r.held
    led2 = led.replace(customers=make_frame(CUSTOMERS, [{**cust("A"), "email": ""}]))
    r2 = worklist(led2, AS_OF).rows[0]
    assert r2.action == "call" and "no email address" in r2.reason


@pytest.mark.parametrize(("days", "level", "action", "label"), [
    (0, "", "send_reminder", "send reminder pre"),
    (3, "pre", "send_reminder", "send reminder due"),
    (20, "due", "send_reminder", "send reminder r1"),  # never skips a level
    (20, "r1", "call", "call"),  # the phone level
    (20, "call", "call", "call"),  # reached what is due: a person follows up
    (45, "call", "send_letter", "send letter"),
    (90, "final", "call", "call"),  # the ladder ended
])
def test_next_action_follows_the_ladder(days, level, action, label):
    led = build([cust("A")], [inv("A1", "A", 1000, days, level=level)])
    r = worklist(led, AS_OF).rows[0]
    assert (r.action, r.next_action) == (action, label)
    if level:
        assert f"last reminder {level}" in r.reason


def test_level_reached_according_to_contacts_log():
    contacts = [{"timestamp": dt.datetime(2024, 6, 25, 9), "customer_id": "A", "invoice_ids": ("A1",),
                 "channel": "email", "direction": "out", "level": "r1", "outcome": "sent", "user": "cobro"}]
    r = worklist(build([cust("A")], [inv("A1", "A", 1000, 20)], [], contacts), AS_OF).rows[0]
    assert r.action == "call" and "last reminder r1" in r.reason


def test_no_ladder():
    led = build([cust("A"), cust("B")], [inv("A1", "A", 1000, 45), inv("B1", "B", 1000, 5)], levels=False)
    rows = by_id(worklist(led, AS_OF))
    assert rows["A"].action == "call" and rows["B"].action == "send_reminder" and rows["B"].next_action == (
        "send reminder")


def test_credits_covering_overdue_invoices():
    led = build([cust("A")], [inv("A1", "A", 1000, 45), inv("A2", "A", -1500, 10)])
    r = worklist(led, AS_OF).rows[0]
    assert r.held and r.action == "apply_credit" and r.overdue == {}
    assert r.outstanding == {"EUR": -500}
    assert "covered by credit notes/advances (10.00 EUR)" in r.reason


def test_multi_currency_amounts_are_never_summed_and_ranked_by_share():
    led = build([cust("E"), cust("K", currency="CLP"), cust("K2", currency="CLP"), cust("EE"), cust("M")], [
        inv("E1", "E", 100000, 30), inv("EE1", "EE", 100000, 30),
        inv("K1", "K", 9_000_000, 30, cur="CLP"), inv("K21", "K2", 1_000_000, 30, cur="CLP"),
        inv("M1", "M", 50000, 30), inv("M2", "M", 2_000_000, 30, cur="CLP"),
    ])
    rep = worklist(led, AS_OF)
    rows = by_id(rep)
    assert rows["M"].overdue == {"CLP": 2_000_000, "EUR": 50000}
    assert rows["M"].reason.endswith("(2,000,000 CLP; 500.00 EUR)")  # CLP has no decimals
    # 9,000,000 CLP is far above the CLP debtors' mean; 1,000.00 EUR is a typical EUR debt.
    assert rows["K"].score > rows["E"].score > rows["K2"].score
    j = rep.to_json()
    m = next(r for r in j["rows"] if r["customer_id"] == "M")
    assert m["overdue"] == {"CLP": "2000000", "EUR": "500.00"}


def test_spanish_reasons_and_actions():
    contacts = [promise("A", AS_OF - D(40), dt.date(2024, 5, 12))]
    led = build([cust("A"), cust("B")], [inv("A1", "A", 123456, 45), inv("A2", "A", 1000, 90),
                                         inv("A3", "A", 1000, 60), inv("B1", "B", 1000, 20, level="due")],
                [], contacts, locale="es")
    rep = worklist(led, AS_OF)
    a, b = by_id(rep)["A"], by_id(rep)["B"]
    assert a.reason == "3 facturas vencidas hace 45–90 días (1.254,56 EUR); promesa del 12 may incumplida"
    assert a.next_action == "reclamar promesa incumplida"
    assert b.next_action == "enviar recordatorio r1" and "último recordatorio due" in b.reason
    assert rep.locale == "es" and "nunca se suman" in rep.note
    assert worklist(led, AS_OF, locale="en").rows[0].next_action == "chase broken promise"
    assert action_label("send_reminder", "es", level="r2") == "enviar recordatorio r2"


def test_json_shape_and_frame():
    led = build([cust("A")], [inv("A1", "A", 123456, 45)])
    rep = worklist(led, AS_OF)
    j = rep.to_json()
    assert j["as_of"] == "2024-06-30" and j["locale"] == "en" and "log2" in j["note"]
    r = j["rows"][0]
    assert set(r) == {"rank", "customer_id", "name", "collector", "score", "held", "action", "next_action", "level",
                      "reason", "oldest_days", "invoices", "promise", "action_date", "overdue", "outstanding"}
    assert r["action_date"] == "2024-06-30"  # the action is due today (the planner's date when it is later)
    assert r["overdue"] == {"EUR": "1234.56"} and r["outstanding"] == {"EUR": "1234.56"}
    assert r["name"] == "Cliente A" and r["collector"] == "Ana" and isinstance(r["score"], float)
    f = rep.frame
    assert f.iloc[0]["overdue"] == "1,234.56 EUR" and f.iloc[0]["rank"] == 1


def test_empty_and_unknown_customer():
    assert worklist(empty_ledger(), AS_OF).rows == ()
    led = build([], [inv("X1", "GHOST", 1000, 10)])
    r = worklist(led, AS_OF).rows[0]
    assert r.customer_id == "GHOST" and r.name == "" and r.action == "fix_contact"


def test_money_text_matches_money_format_money():
    import numpy as np

    from cobro import money
    from cobro.worklist import _money_text

    rng = np.random.default_rng(2)
    values = [0, 1, -1, 999, -1000, 123456789, -5, 10**15] + rng.integers(-10**12, 10**12, 200).tolist()
    for cur in ("EUR", "CLP", "KWD", "USD"):
        for loc in ("es", "en"):
            assert [_money_text(v, cur, loc) for v in values] == [money.format_money(v, cur, loc) for v in values]
