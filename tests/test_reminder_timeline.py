"""The timeline: one invoice, a five-level ladder, plan_reminders run day after day (and with days skipped) while a
simulated sender writes every action back into the Contacts log — each level fires exactly once, on the right
day, in order."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterable
from dataclasses import replace

import pandas as pd
import pytest

from cobro.ledger import Ledger, Settings, empty_ledger, make_frame
from cobro.reminders import plan_reminders
from cobro.schema import CONTACTS, CUSTOMERS, INVOICES, LEVELS, TEMPLATES
from cobro.workdays import is_workday

D = dt.date
DUE = D(2026, 3, 2)
LADDER = (("L1", -5, "email", False), ("L2", 0, "email", False), ("L3", 10, "whatsapp", False),
          ("L4", 20, "phone", False), ("L5", 35, "letter", True))
OFFSET = {k: d for k, d, _, _ in LADDER}
ORDER = [k for k, *_ in LADDER]
SETTINGS = Settings(company_name="Acme", sender_name="Ana", sender_email="ana@acme.es", business_days_only=False,
                    country="ES")


def base_ledger(due: dt.date = DUE, settings: Settings = SETTINGS) -> Ledger:
    levels = make_frame(LEVELS, [{"level": k, "days": d, "channel": c, "template": k.lower(), "stop": s,
                                  "_row": i + 2} for i, (k, d, c, s) in enumerate(LADDER)])
    templates = make_frame(TEMPLATES, [
        {"template": k.lower(), "language": "es", "subject": "{{ level }} {{ customer.name }}",
         "body": "<p>{{ level }}: {% for i in invoices %}{{ i.invoice_id }} {{ i.balance }}{% endfor %}</p>",
         "_row": i + 2} for i, (k, *_rest) in enumerate(LADDER)])
    customers = make_frame(CUSTOMERS, [{"customer_id": "C1", "name": "Cliente Uno", "email": "uno@example.com",
                                        "phone": "+34 600 111 222", "language": "es", "_row": 2}])
    invoices = make_frame(INVOICES, [{"invoice_id": "F-1", "customer_id": "C1",
                                      "issue_date": due - dt.timedelta(days=30), "due_date": due, "amount": 150000,
                                      "currency": "EUR", "_row": 2}])
    return empty_ledger(settings).replace(customers=customers, invoices=invoices, levels=levels,
                                          templates=templates)


def simulate(led: Ledger, days: Iterable[dt.date]) -> list[tuple[dt.date, str]]:
    """Run the plan on each day; the 'sender' appends one Contacts row per item (outcome sent, level, invoice_ids,
    timestamp), as the simplest sender would. Returns (day, level) of everything that fired."""
    fired: list[tuple[dt.date, str]] = []
    for day in days:
        plan = plan_reminders(led, day)
        assert plan.ok, [e.message() for e in plan.errors]
        assert len(plan.items) <= 1, f"two actions in one run on {day}: {[i.level for i in plan.items]}"
        rows = []
        for item in plan.items:
            assert item.invoice_ids == ("F-1",) and item.rendered
            fired.append((day, item.level))
            rows.append({"timestamp": pd.Timestamp(dt.datetime.combine(day, dt.time(9, 30))), "customer_id": "C1",
                         "invoice_ids": item.invoice_ids, "channel": item.channel, "direction": "out",
                         "level": item.level, "outcome": "sent", "user": "cobro", "subject": item.subject,
                         "message_id": item.message_id})
        if rows:
            led = led.replace(contacts=pd.concat([led.contacts, make_frame(CONTACTS, rows)], ignore_index=True))
    return fired


def rel(fired: list[tuple[dt.date, str]], due: dt.date = DUE) -> list[tuple[int, str]]:
    return [((d - due).days, lv) for d, lv in fired]


def check_invariants(fired: list[tuple[dt.date, str]], due: dt.date = DUE) -> None:
    levels = [lv for _, lv in fired]
    assert levels == ORDER[:len(levels)], f"out of order or repeated: {levels}"
    for (d1, l1), (d2, l2) in zip(fired, fired[1:], strict=False):
        assert d2 > d1
        assert (d2 - d1).days >= OFFSET[l2] - OFFSET[l1], f"gap {l1}->{l2} not respected: {d1} -> {d2}"
    for d, lv in fired:
        assert d >= due + dt.timedelta(days=OFFSET[lv]), f"{lv} before its threshold: {d}"


def days_from(start: int, stop: int, step: int = 1, due: dt.date = DUE) -> list[dt.date]:
    return [due + dt.timedelta(days=k) for k in range(start, stop, step)]


def test_daily_for_90_days_each_level_fires_once_on_its_day() -> None:
    fired = simulate(base_ledger(), days_from(-10, 80))
    check_invariants(fired)
    assert rel(fired) == [(-5, "L1"), (0, "L2"), (10, "L3"), (20, "L4"), (35, "L5")]


def test_every_tenth_day_catches_up_one_level_per_run_and_keeps_the_gap() -> None:
    fired = simulate(base_ledger(), days_from(-10, 80, 10))
    check_invariants(fired)
    # L5 is due at +35 but only 15 days after L4 (reached at +30): the run of +50 sends it
    assert rel(fired) == [(0, "L1"), (10, "L2"), (20, "L3"), (30, "L4"), (50, "L5")]


def test_a_twenty_day_outage_is_caught_up_without_skipping_or_doubling() -> None:
    days = [d for d in days_from(-10, 80) if not (1 <= (d - DUE).days <= 20)]
    fired = simulate(base_ledger(), days)
    check_invariants(fired)
    assert rel(fired) == [(-5, "L1"), (0, "L2"), (21, "L3"), (31, "L4"), (46, "L5")]


def test_running_twice_a_day_changes_nothing() -> None:
    days = [d for d in days_from(-10, 80) for _ in range(2)]
    fired = simulate(base_ledger(), days)
    assert rel(fired) == [(-5, "L1"), (0, "L2"), (10, "L3"), (20, "L4"), (35, "L5")]


def test_business_days_over_christmas_move_each_send_to_the_next_working_day() -> None:
    due = D(2026, 12, 30)
    st = replace(SETTINGS, business_days_only=True, country="ES")
    days = days_from(-10, 80, due=due)
    fired = simulate(base_ledger(due, st), days)
    check_invariants(fired, due)
    assert all(is_workday(d, "ES") for d, _ in fired)
    # L1 due on Christmas -> Mon 28; L2 5 days later falls on Sat 2 Jan -> Mon 4; L3 +10 -> Thu 14;
    # L4 +10 -> Sun 24 -> Mon 25; L5 due 3 Feb but 15 days after L4 -> Tue 9 Feb
    assert fired == [(D(2026, 12, 28), "L1"), (D(2027, 1, 4), "L2"), (D(2027, 1, 14), "L3"),
                     (D(2027, 1, 25), "L4"), (D(2027, 2, 9), "L5")]


def expected(run_days: list[dt.date], due: dt.date = DUE) -> list[tuple[dt.date, str]]:
    """Reference model: level k fires on the first run day on or after its threshold, strictly after the day the
    previous level fired and at least the offset gap after it."""
    out: list[tuple[dt.date, str]] = []
    k = 0
    for day in run_days:
        if k == len(ORDER):
            break
        lv = ORDER[k]
        if day < due + dt.timedelta(days=OFFSET[lv]):
            continue
        if out:
            prev_day, prev = out[-1]
            if day <= prev_day or (day - prev_day).days < OFFSET[lv] - OFFSET[prev]:
                continue
        out.append((day, lv))
        k += 1
    return out


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(6))
def test_random_run_days_match_the_reference_model(seed: int) -> None:
    rng = random.Random(seed)
    window = days_from(-12, 110)
    density = rng.choice((0.08, 0.15, 0.3, 0.5))
    run_days = sorted(d for d in window if rng.random() < density)
    fired = simulate(base_ledger(), run_days)
    check_invariants(fired)
    assert fired == expected(run_days)
