"""The payment forecast (issue 14): expected dates learned from each customer's own delays, weekly inflow per
currency, and a walk-forward back-test that beats the due-date and customer-average baselines on the demo ledger."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cobro import forecast as fc
from cobro.demo.generate import DEFAULT_AS_OF, generate_ledger
from cobro.ledger import CONTACTS, CUSTOMERS, INVOICES, PAYMENTS, empty_ledger, make_frame


@pytest.fixture(scope="module")
def demo() -> object:
    return generate_ledger()  # the demo ledger: 60 customers, 1,500 invoices, seed 7 (as `cobro demo` makes it)


def test_backtest_beats_both_baselines_on_the_demo_ledger(demo: object) -> None:
    b = fc.backtest(demo, DEFAULT_AS_OF)
    data = b.to_json()
    mae = data["mae_days"]
    assert set(mae) >= {"model", "due_date", "customer_average"}
    assert mae["model"] < mae["due_date"] and mae["model"] < mae["customer_average"], mae
    assert data["improvement_pct"]["due_date"] > 0 and data["improvement_pct"]["customer_average"] > 0
    assert b.evaluated > 1000 and len(b.cutoffs) == 12
    assert 50 <= b.accuracy["model"] <= 100 and b.accuracy["model"] >= b.accuracy["customer_average"]
    assert all(set(w) == {"model", "due_date", "customer_average"} for w in b.wape.values())
    json.dumps(data)


def test_backtest_is_deterministic_for_a_seed() -> None:
    a = fc.backtest(generate_ledger(seed=11), DEFAULT_AS_OF).to_json()
    b = fc.backtest(generate_ledger(seed=11), DEFAULT_AS_OF).to_json()
    assert a == b


def test_walk_forward_uses_only_what_was_known_then(demo: object) -> None:
    """Payments after a cut-off cannot change its forecast: the ledger cut at the cut-off forecasts the same."""
    cut = dt.date(2026, 6, 30)
    full = fc.forecast(demo, cut)
    pay = demo.payments[demo.payments["date"] <= pd.Timestamp(cut)]
    con = demo.contacts[demo.contacts["timestamp"] <= pd.Timestamp(cut) + pd.Timedelta(days=1)]
    inv = demo.invoices[demo.invoices["issue_date"] <= pd.Timestamp(cut)]
    cut_ledger = demo.replace(payments=pay, contacts=con, invoices=inv)
    past = fc.forecast(cut_ledger, cut)
    pd.testing.assert_frame_equal(full.invoices, past.invoices)
    assert full.inflow == past.inflow


def test_weekly_inflow_adds_up_to_the_open_balances_per_currency(demo: object) -> None:
    f = fc.forecast(demo, DEFAULT_AS_OF, weeks=13)
    assert len(f.invoices) > 100
    for cur, weeks in f.inflow.items():
        assert len(weeks) == 13 and all(isinstance(v, int) for v in weeks)
        owed = int(f.invoices.loc[f.invoices["currency"] == cur, "balance"].sum())
        assert sum(weeks) + f.later[cur] == owed
    first = DEFAULT_AS_OF + dt.timedelta(days=1)
    assert (f.invoices["expected"] >= first).all()
    assert (f.invoices["low"] <= f.invoices["expected"]).all() and (f.invoices["expected"] <= f.invoices["high"]).all()
    data = f.to_json()
    assert data["weeks"][0]["start"] == first.isoformat() and data["invoices"][0]["balance"].count(".") <= 1


def _ledger(delays: list[int], open_due: str, contacts: list[dict] | None = None) -> object:
    """One customer who paid each past invoice ``delay`` days after its due date, and one open invoice."""
    cust = make_frame(CUSTOMERS, [{"customer_id": "C1", "name": "Uno", "currency": "EUR", "_row": 2}])
    invs, pays = [], []
    base = dt.date(2026, 1, 5)
    for i, d in enumerate(delays):
        due = base + dt.timedelta(days=10 * i)
        invs.append({"invoice_id": f"F{i}", "customer_id": "C1", "issue_date": due - dt.timedelta(days=30),
                     "due_date": due, "currency": "EUR", "amount": 10000, "_row": i + 2})
        pays.append({"payment_id": f"P{i}", "date": due + dt.timedelta(days=d), "customer_id": "C1",
                     "invoice_id": f"F{i}", "amount": 10000, "currency": "EUR", "_row": i + 2})
    due = dt.date.fromisoformat(open_due)
    invs.append({"invoice_id": "OPEN", "customer_id": "C1", "issue_date": due - dt.timedelta(days=30),
                 "due_date": due, "currency": "EUR", "amount": 12345, "_row": 99})
    led = empty_ledger()
    return led.replace(customers=cust, invoices=make_frame(INVOICES, invs), payments=make_frame(PAYMENTS, pays),
                       contacts=make_frame(CONTACTS, contacts or []))


def test_a_customer_who_always_pays_ten_days_late() -> None:
    led = _ledger([10] * 8, "2026-06-30")
    f = fc.forecast(led, "2026-06-15")
    row = f.invoices.iloc[0]
    assert row.invoice_id == "OPEN" and row.expected == dt.date(2026, 7, 10) and row.source == "customer"
    assert row.balance == 12345


def test_an_overdue_invoice_is_expected_from_the_longer_delays_only() -> None:
    # paid 2, 4, 6, 30, 32, 34 days late; 20 days overdue now: only 30-34 remain possible
    led = _ledger([2, 4, 6, 30, 32, 34], "2026-06-01")
    f = fc.forecast(led, "2026-06-21")
    row = f.invoices.iloc[0]
    # the conditional estimate (1-5 July) blended 60/40 with the plain average (18 days late: not before 22 June)
    assert dt.date(2026, 6, 26) <= row.expected <= dt.date(2026, 7, 5)
    assert row.low >= dt.date(2026, 6, 22) and row.high >= dt.date(2026, 7, 1)


def test_a_promise_from_a_customer_who_keeps_them_sets_the_date() -> None:
    due = [dt.datetime(2026, 1, 5, 10) + dt.timedelta(days=10 * i) for i in range(3)]
    kept = [{"timestamp": d - dt.timedelta(days=5), "customer_id": "C1", "channel": "phone", "direction": "out",
             "outcome": "promise", "promise_date": (d + dt.timedelta(days=10)).date(), "_row": i + 2}
            for i, d in enumerate(due)]
    pending = [{"timestamp": dt.datetime(2026, 6, 10, 10), "customer_id": "C1", "channel": "phone",
                "direction": "out", "outcome": "promise", "promise_date": dt.date(2026, 6, 25), "_row": 9}]
    led = _ledger([10] * 8, "2026-06-30", kept + pending)
    assert fc.promises_kept(led).tolist() == [True, True, True, False]
    row = fc.forecast(led, "2026-06-15").invoices.iloc[0]
    assert row.expected == dt.date(2026, 6, 25) and row.source == "promise"


def test_a_customer_without_history_borrows_everyone_elses() -> None:
    led = _ledger([10] * 8, "2026-06-30")
    extra = make_frame(INVOICES, [{"invoice_id": "NEW", "customer_id": "C2", "issue_date": dt.date(2026, 6, 1),
                                   "due_date": dt.date(2026, 7, 1), "currency": "EUR", "amount": 500, "_row": 100}])
    led = led.replace(invoices=pd.concat([led.invoices, extra], ignore_index=True))
    f = fc.forecast(led, "2026-06-15").invoices.set_index("invoice_id")
    assert f.loc["NEW", "source"] == "all" and f.loc["NEW", "expected"] == dt.date(2026, 7, 11)


def test_empty_ledger_forecasts_nothing() -> None:
    f = fc.forecast(empty_ledger(), "2026-06-15")
    assert f.invoices.empty and f.inflow == {}
    b = fc.backtest(empty_ledger(), "2026-06-15")
    assert b.evaluated == 0 and b.mae_days["model"] == 0.0


def test_cli_forecast_and_backtest_json(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from cobro_cli import main
    from sheets_templates import build_workbook

    path = tmp_path / "demo.xlsx"
    build_workbook(path, locale="es", ledger=generate_ledger(customers=30, invoices=600), as_of=DEFAULT_AS_OF)
    r = CliRunner().invoke(main, ["forecast", str(path), "--as-of", "2026-11-20", "--backtest", "--json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert set(data["mae_days"]) >= {"model", "due_date", "customer_average"}
    r = CliRunner().invoke(main, ["forecast", str(path), "--as-of", "2026-11-20", "--weeks", "4", "--json"])
    assert r.exit_code == 0, r.output
    assert len(json.loads(r.output)["weeks"]) == 4
    r = CliRunner().invoke(main, ["forecast", str(path), "--as-of", "2026-11-20"])
    assert r.exit_code == 0 and "Expected inflow per week" in r.output
    r = CliRunner().invoke(main, ["forecast", str(tmp_path / "missing.xlsx")])
    assert r.exit_code == 2 and "Traceback" not in r.output


def test_amounts_stay_integers(demo: object) -> None:
    f = fc.forecast(demo, DEFAULT_AS_OF)
    assert f.invoices["balance"].dtype == np.int64
