"""KPIs: the published worked examples, as formulas and reproduced from small ledgers."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from cobro.aging import aging
from cobro.kpis import (
    average_days_delinquent,
    best_possible_dso,
    cei,
    countback_dso,
    dso,
    kpis,
    period_bounds,
)
from cobro.ledger import CUSTOMERS, INVOICES, PAYMENTS, Ledger, Settings, empty_ledger, make_frame

from .test_aging import random_ledger

D = dt.timedelta


def build(invoices: list[dict], payments: list[dict] = (), locale: str = "en") -> Ledger:
    ids = sorted({i["customer_id"] for i in invoices})
    base = empty_ledger(Settings(locale=locale))
    return base.replace(customers=make_frame(CUSTOMERS, [{"customer_id": c, "name": c} for c in ids]),
                        invoices=make_frame(INVOICES, invoices), payments=make_frame(PAYMENTS, list(payments)))


def inv(iid: str, amount: int, issue: str, due: str, cur: str = "USD", cust: str = "C1", status: str = "open") -> dict:
    return {"invoice_id": iid, "customer_id": cust, "issue_date": issue, "due_date": due, "currency": cur,
            "amount": amount, "status": status}


def pay(amount: int, date: str, invoice: str = "", cur: str = "USD", cust: str = "C1") -> dict:
    return {"date": date, "customer_id": cust, "invoice_id": invoice, "amount": amount, "currency": cur}


# ----------------------------------------------------------------------------------- formulas

def test_dso_best_and_add_worked_example():
    # AR 15,000, of which 4,000 current; credit sales 10,000 over 30 days.
    assert dso(15000, 10000, 30) == Decimal("45.00")
    assert best_possible_dso(4000, 10000, 30) == Decimal("12.00")
    assert average_days_delinquent(15000, 4000, 10000, 30) == Decimal("33.00")


def test_countback_anaplan_example():
    # AR 2,000 at the end of January; sales Jan 200, Dec 400, Nov 600, Oct 700, Sep 500.
    months = [(200, 31), (400, 31), (600, 30), (700, 31), (500, 30)]
    assert countback_dso(2000, months) == Decimal("129.00")
    assert countback_dso(Decimal("2000.00"), [(Decimal(s), d) for s, d in months]) == Decimal("129.00")


def test_cei_creditguru_example():
    # Jan–Mar: BR 6,200, credit sales 10,890 (N = 3), ending total 6,340, ending current 3,590.
    assert cei(6200, 10890, 3, 6340, 3590) == Decimal("55.93")


def test_formula_edge_cases():
    assert dso(100, 0, 30) is None and best_possible_dso(0, 0, 30) is None
    assert average_days_delinquent(1, 0, 0, 30) is None
    assert countback_dso(0, [(100, 31)]) == Decimal("0.00")
    assert countback_dso(-50, []) == Decimal("0.00")
    assert countback_dso(1000, [(100, 31), (200, 30)]) is None  # not covered by the months given
    assert countback_dso(150, [(0, 31), (-20, 30), (300, 31)]) == Decimal("76.50")  # empty months count whole
    assert countback_dso(100, [(100, 15)]) == Decimal("15.00")
    assert cei(100, 0, 1, 50, 100) is None  # nothing collectable
    assert dso(1, 3, 1) == Decimal("0.33") and dso(2, 3, 1) == Decimal("0.67")  # half-up, 2 places


def test_period_bounds():
    assert period_bounds(dt.date(2024, 4, 30), 1) == (dt.date(2024, 4, 1), 30)
    assert period_bounds(dt.date(2024, 4, 15), 3) == (dt.date(2024, 2, 1), 75)
    assert period_bounds(dt.date(2024, 1, 31), 3) == (dt.date(2023, 11, 1), 92)
    assert period_bounds(dt.date(2024, 3, 31), 12) == (dt.date(2023, 4, 1), 366)
    with pytest.raises(ValueError):
        period_bounds(dt.date(2024, 3, 31), 0)


# ----------------------------------------------------------------------------------- from ledgers

def test_ledger_reproduces_dso_example():
    """As of 30 April, one month: AR 15,000 (4,000 not yet due), April sales 10,000, 30 days."""
    led = build([
        inv("M1", 500000, "2024-03-10", "2024-04-09"),  # March sale, 5,000 overdue
        inv("A1", 600000, "2024-04-05", "2024-04-20"),  # April sale, 6,000 overdue
        inv("A2", 400000, "2024-04-25", "2024-05-25"),  # April sale, 4,000 current
        inv("F1", 999900, "2024-02-01", "2024-03-01"),  # February, paid in full
    ], [pay(999900, "2024-03-20", "F1")])
    rep = kpis(led, dt.date(2024, 4, 30), months=1)
    k = rep.get("USD")
    assert (k.ar, k.current_ar, k.credit_sales) == (1500000, 400000, 1000000)
    assert (k.dso, k.best_dso, k.add) == (Decimal("45.00"), Decimal("12.00"), Decimal("33.00"))
    assert rep.days == 30 and rep.period_start == dt.date(2024, 4, 1) and rep.period_end == dt.date(2024, 4, 30)
    j = rep.to_json()
    assert j["period"] == {"start": "2024-04-01", "end": "2024-04-30", "days": 30}
    assert j["currencies"]["USD"]["dso"] == "45.00" and j["currencies"]["USD"]["ar"] == "15000.00"
    assert j["currencies"]["USD"]["add"] == "33.00" and j["currencies"]["USD"]["best_dso"] == "12.00"


def test_ledger_reproduces_anaplan_countback():
    """AR 2,000 at the end of January 2020; monthly sales Sep 500, Oct 700, Nov 600, Dec 400, Jan 200."""
    sales = [("2019-09-10", 500), ("2019-10-10", 700), ("2019-11-10", 600), ("2019-12-10", 400),
             ("2020-01-10", 200), ("2019-08-10", 1000)]
    invoices = [inv(f"S{i}", amt * 100, day, day) for i, (day, amt) in enumerate(sales)]
    # 1,400 collected: August's 1,000 and 400 of September's: 2,000 remain.
    payments = [pay(100000, "2019-09-15", "S5"), pay(40000, "2019-10-01", "S0")]
    led = build(invoices, payments)
    rep = kpis(led, dt.date(2020, 1, 31), months=1)
    k = rep.get("USD")
    assert k.ar == 200000
    assert k.countback_dso == Decimal("129.00")
    assert k.countback_months == 5
    assert k.dso == Decimal("310.00")  # 2,000 / 200 × 31: why countback exists


def test_ledger_reproduces_creditguru_cei():
    """Jan–Mar 2023: BR 6,200 on 31 Dec, sales 3,390 + 3,610 + 3,890, ending AR 6,340 of which 3,590 current."""
    led = build([
        inv("D", 620000, "2022-12-01", "2022-12-31"),
        inv("J", 339000, "2023-01-15", "2023-02-14"),
        inv("F", 361000, "2023-02-10", "2023-03-12"),
        inv("M", 389000, "2023-03-20", "2023-04-19"),
    ], [pay(620000, "2023-01-20", "D"), pay(339000, "2023-02-20", "J"), pay(86000, "2023-03-25", "F"),
        pay(30000, "2023-03-30", "M")])
    rep = kpis(led, dt.date(2023, 3, 31), months=3)
    k = rep.get("USD")
    assert (k.beginning_ar, k.credit_sales, k.ar, k.current_ar) == (620000, 1089000, 634000, 359000)
    assert k.cei == Decimal("55.93")
    assert rep.beginning_date == dt.date(2022, 12, 31) and rep.days == 90
    assert "creditguru" in rep.note and "Oracle" in rep.note and "N = 3" in rep.note
    j = rep.to_json()
    assert j["currencies"]["USD"]["cei"] == "55.93" and j["note"] in j["notes"]


def test_per_currency_zero_sales_and_notes():
    led = build([
        inv("E1", 100000, "2024-01-10", "2024-02-09", cur="EUR"),  # old EUR debt, no EUR sales in April
        inv("K1", 150000, "2024-04-02", "2024-05-02", cur="CLP"),
        inv("K2", 50000, "2024-03-02", "2024-04-01", cur="CLP"),
    ], locale="es")
    rep = kpis(led, dt.date(2024, 4, 30), months=1)
    assert [k.currency for k in rep.currencies] == ["CLP", "EUR"]
    eur = rep.get("EUR")
    assert eur.dso is None and eur.best_dso is None and eur.add is None and eur.credit_sales == 0
    assert any("sin ventas" in n for n in eur.notes)
    clp = rep.get("CLP")
    assert clp.ar == 200000 and clp.current_ar == 150000
    assert clp.dso == Decimal("40.00") and clp.best_dso == Decimal("30.00") and clp.add == Decimal("10.00")
    j = rep.to_json()
    assert j["currencies"]["CLP"]["ar"] == "200000" and j["currencies"]["EUR"]["dso"] is None
    assert any(n.startswith("EUR: ") for n in j["notes"])
    assert "convención de creditguru" in j["note"]


def test_countback_and_sales_edge_cases_from_ledgers():
    led = build([inv("A", 1000, "2024-04-01", "2024-04-01")], [pay(5000, "2024-03-01")])  # advance > sales
    k = kpis(led, dt.date(2024, 4, 30), months=1).get("USD")
    assert k.ar == -4000 and k.countback_dso == Decimal("0.00")
    led2 = build([inv("A", 1000, "2024-04-01", "2024-04-01"), inv("B", 5000, "2024-04-02", "2024-04-30",
                                                                   status="cancelled")])
    k2 = kpis(led2, dt.date(2024, 4, 30), months=1).get("USD")
    assert k2.ar == 1000 and k2.credit_sales == 1000 and k2.countback_dso == Decimal("30.00")
    led3 = build([inv("A", 1000, "2024-04-01", "2024-04-01"), inv("B", -800, "2024-04-03", "2024-04-03")])
    k3 = kpis(led3, dt.date(2024, 4, 30), months=1).get("USD")
    assert k3.credit_sales == 200 and k3.ar == 200 and k3.dso == Decimal("30.00")


@pytest.mark.parametrize("seed", range(8))
def test_receivables_agree_with_aging(seed):
    led = random_ledger(seed, n_inv=120, n_pay=100, id_style=("plain", "long", "unicode")[seed % 3])
    as_of = dt.date(2024, 6, 30)
    rep = kpis(led, as_of, months=2)
    now, before = aging(led, as_of).totals, aging(led, rep.beginning_date).totals
    for k in rep.currencies:
        assert k.ar == (int(now.loc[k.currency, "outstanding"]) if k.currency in now.index else 0)
        assert k.current_ar == (int(now.loc[k.currency, "not_due"]) if k.currency in now.index else 0)
        assert k.beginning_ar == (int(before.loc[k.currency, "outstanding"]) if k.currency in before.index else 0)
    inv_ = led.invoices
    in_period = inv_[(inv_["issue_date"] >= "2024-05-01") & (inv_["issue_date"] <= "2024-06-30")
                     & (inv_["status"] != "cancelled")]
    for k in rep.currencies:
        assert k.credit_sales == int(in_period[in_period["currency"] == k.currency]["amount"].sum())


def test_empty_ledger_has_no_currencies():
    rep = kpis(empty_ledger(), dt.date(2024, 4, 30))
    assert rep.currencies == () and rep.to_json()["currencies"] == {}
    assert rep.frame.empty
