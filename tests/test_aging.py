"""Aging: ERPNext semantics to the cent, per currency; and the fast payment→invoice join under it."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import numpy as np
import pandas as pd
import pytest

from cobro import money
from cobro.aging import AgingError, aging, bucket_index, bucket_labels, check_buckets, format_amounts, open_items
from cobro.balances import invoice_balances, paid_arrays
from cobro.joins import match_rows, string_codes
from cobro.ledger import CUSTOMERS, INVOICES, PAYMENTS, Ledger, Settings, empty_ledger, make_frame

AS_OF = dt.date(2024, 6, 30)
D = dt.timedelta


def build(invoices: list[dict], payments: list[dict] = (), settings: Settings | None = None) -> Ledger:
    """A small typed ledger; customers are made up from the ids used."""
    ids = sorted({i["customer_id"] for i in invoices} | {p["customer_id"] for p in payments})
    customers = [{"customer_id": c, "name": f"Cliente {c}", "email": f"{c}@example.com", "currency": "EUR"}
                 for c in ids]
    base = empty_ledger(settings or Settings(locale="en"))
    return base.replace(customers=make_frame(CUSTOMERS, customers), invoices=make_frame(INVOICES, list(invoices)),
                        payments=make_frame(PAYMENTS, list(payments)))


def inv(iid: str, amount: int, due: dt.date | None, *, cust: str = "C1", cur: str = "EUR",
        issue: dt.date | None = None, status: str = "open") -> dict:
    issue = issue or (due - D(30) if due else AS_OF - D(30))
    return {"invoice_id": iid, "customer_id": cust, "issue_date": issue, "due_date": due, "currency": cur,
            "amount": amount, "status": status}


def pay(amount: int, date: dt.date, invoice: str = "", *, cust: str = "C1", cur: str = "EUR",
        pid: str = "") -> dict:
    return {"payment_id": pid, "date": date, "customer_id": cust, "invoice_id": invoice, "amount": amount,
            "currency": cur}


def row(report, customer: str = "C1", currency: str = "EUR") -> dict:
    f = report.frame
    r = f[(f["customer_id"] == customer) & (f["currency"] == currency)]
    assert len(r) == 1, f"no single row for {customer}/{currency}:\n{f}"
    return r.iloc[0].to_dict()


# ----------------------------------------------------------------------------------- buckets


def test_bucket_labels_and_index():
    assert bucket_labels((30, 60, 90, 120)) == ["0-30", "31-60", "61-90", "91-120", "121+"]
    assert bucket_labels((15,)) == ["0-15", "16+"]
    ages = np.array([-5, -1, 0, 30, 31, 60, 61, 90, 91, 120, 121, 5000])
    assert bucket_index(ages, (30, 60, 90, 120)).tolist() == [-1, -1, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4]


@pytest.mark.parametrize("bad", [[], [0, 30], [30, 30], [60, 30], [-1], ["x"], [30.5]])
def test_bad_buckets_say_what_is_expected(bad):
    with pytest.raises(AgingError, match="increasing whole numbers of days"):
        check_buckets(bad)


def test_bad_basis_and_by_are_clear_errors():
    led = build([inv("F1", 100, AS_OF)])
    with pytest.raises(AgingError, match="due_date or issue_date"):
        aging(led, AS_OF, basis="posting_date")
    with pytest.raises(AgingError, match="customer or invoice"):
        aging(led, AS_OF, by="supplier")


def test_bucket_boundaries_by_due_date():
    ages = [-1, 0, 30, 31, 60, 61, 120, 121]
    led = build([inv(f"F{a}", 1000 + i, AS_OF - D(a)) for i, a in enumerate(ages)])
    rep = aging(led, AS_OF)
    r = row(rep)
    amounts = {a: 1000 + i for i, a in enumerate(ages)}
    assert r["not_due"] == amounts[-1]
    assert r["0-30"] == amounts[0] + amounts[30]
    assert r["31-60"] == amounts[31] + amounts[60]
    assert r["61-90"] == amounts[61]
    assert r["91-120"] == amounts[120]
    assert r["121+"] == amounts[121]
    assert r["total_due"] == sum(amounts.values()) - amounts[-1]
    assert r["outstanding"] == r["not_due"] + r["total_due"] == r["invoiced"] == sum(amounts.values())

    by_inv = aging(led, AS_OF, by="invoice").frame.set_index("invoice_id")
    expected = {-1: "not_due", 0: "0-30", 30: "0-30", 31: "31-60", 60: "31-60", 61: "61-90", 120: "91-120",
                121: "121+"}
    for a, label in expected.items():
        assert by_inv.loc[f"F{a}", "age"] == a
        assert by_inv.loc[f"F{a}", "bucket"] == label


def test_custom_buckets_from_settings_and_argument():
    led = build([inv("F1", 500, AS_OF - D(20)), inv("F2", 700, AS_OF - D(50))],
                settings=Settings(aging_buckets=(15, 45)))
    rep = aging(led, AS_OF)
    assert rep.labels == ["0-15", "16-45", "46+"]
    assert row(rep)["16-45"] == 500 and row(rep)["46+"] == 700
    rep2 = aging(led, AS_OF, buckets=[60])
    assert rep2.labels == ["0-60", "61+"] and row(rep2)["0-60"] == 1200


def test_issue_date_basis():
    led = build([inv("F1", 1000, AS_OF + D(10), issue=AS_OF - D(35))])
    assert row(aging(led, AS_OF))["not_due"] == 1000
    r = row(aging(led, AS_OF, basis="issue_date"))
    assert r["not_due"] == 0 and r["31-60"] == 1000
    led_s = build([inv("F1", 1000, AS_OF + D(10), issue=AS_OF - D(35))], settings=Settings(aging_basis="issue_date"))
    assert row(aging(led_s, AS_OF))["31-60"] == 1000
    assert aging(led_s, AS_OF).basis == "issue_date"


# ----------------------------------------------------------------------------------- payments


def test_partial_payment_and_one_cent_residual_are_shown():
    led = build([inv("F1", 10000, AS_OF - D(40)), inv("F2", 5000, AS_OF - D(10))],
                [pay(9999, AS_OF - D(20), "F1"), pay(5000, AS_OF - D(1), "F2")])
    rep = aging(led, AS_OF)
    r = row(rep)
    assert r["invoiced"] == 10000 and r["paid"] == 9999  # F2 is settled: not an open item
    assert r["outstanding"] == 1 and r["31-60"] == 1
    j = rep.to_json()
    assert j["rows"][0]["outstanding"] == "0.01"
    assert j["rows"][0]["buckets"] == ["0.00", "0.01", "0.00", "0.00", "0.00"]
    assert j["totals"]["EUR"]["outstanding"] == "0.01"
    items = aging(led, AS_OF, by="invoice").to_json()["rows"]
    assert [(i["invoice_id"], i["balance"], i["bucket"]) for i in items] == [("F1", "0.01", "31-60")]


def test_payments_after_as_of_are_ignored():
    led = build([inv("F1", 10000, AS_OF - D(5))],
                [pay(4000, AS_OF, "F1"), pay(6000, AS_OF + D(1), "F1"), pay(300, AS_OF + D(3))])
    r = row(aging(led, AS_OF))
    assert r["paid"] == 4000 and r["outstanding"] == 6000 and r["advance"] == 0
    # A day later everything is paid: the row disappears, the advance appears.
    r2 = row(aging(led, AS_OF + D(3)))
    assert r2["outstanding"] == -300 and r2["advance"] == 300 and r2["invoiced"] == 0


def test_invoices_issued_after_as_of_do_not_exist_yet():
    led = build([inv("F1", 1000, AS_OF + D(40), issue=AS_OF + D(10)), inv("F2", 200, AS_OF - D(3))])
    rep = aging(led, AS_OF)
    assert row(rep)["invoiced"] == 200
    assert "F1" not in set(aging(led, AS_OF, by="invoice").frame["invoice_id"])


def test_advance_lowers_outstanding_and_ages_as_negative_by_payment_date():
    led = build([inv("F1", 10000, AS_OF - D(45))], [pay(2500, AS_OF - D(70), pid="P9")])
    rep = aging(led, AS_OF)
    r = row(rep)
    assert r["advance"] == 2500
    assert r["outstanding"] == 10000 - 2500 == r["invoiced"] - r["paid"] - r["credit_notes"] - r["advance"]
    assert r["31-60"] == 10000 and r["61-90"] == -2500
    assert r["outstanding"] == r["not_due"] + r["total_due"]
    items = aging(led, AS_OF, by="invoice").frame
    adv = items[items["kind"] == "advance"].iloc[0]
    assert (adv["payment_id"], adv["balance"], adv["age"], adv["bucket"]) == ("P9", -2500, 70, "61-90")
    assert rep.to_json()["rows"][0]["advance"] == "25.00"


def test_payment_on_invoice_issued_later_is_an_advance_until_then():
    led = build([inv("F1", 1000, AS_OF + D(30), issue=AS_OF + D(2))], [pay(1000, AS_OF - D(1), "F1")])
    r = row(aging(led, AS_OF))
    assert r["advance"] == 1000 and r["outstanding"] == -1000 and r["0-30"] == -1000
    assert aging(led, AS_OF + D(2)).frame.empty  # issued and paid: nothing open


def test_credit_notes_age_negative_by_own_due_date_or_issue_date():
    led = build([inv("F1", 10000, AS_OF - D(100)),
                 inv("A1", -3000, AS_OF - D(10)),  # credit note with due date
                 inv("A2", -500, None, issue=AS_OF - D(40)),  # blank due date: its issue date
                 inv("A3", -700, AS_OF + D(5), issue=AS_OF - D(1))])
    rep = aging(led, AS_OF)
    r = row(rep)
    assert r["credit_notes"] == 3000 + 500 + 700
    assert r["invoiced"] == 10000 and r["paid"] == 0
    assert r["outstanding"] == 10000 - 4200 == r["invoiced"] - r["paid"] - r["credit_notes"] - r["advance"]
    assert r["91-120"] == 10000 and r["0-30"] == -3000 and r["31-60"] == -500 and r["not_due"] == -700
    items = aging(led, AS_OF, by="invoice").frame.set_index("invoice_id")
    assert items.loc["A2", "kind"] == "credit_note" and items.loc["A2", "age"] == 40
    assert rep.to_json()["rows"][0]["credit_notes"] == "42.00"


def test_cancelled_and_written_off_invoices_are_not_receivables():
    led = build([inv("F1", 1000, AS_OF - D(10), status="cancelled"),
                 inv("F2", 2000, AS_OF - D(10), status="written_off"),
                 inv("F3", 3000, AS_OF - D(10), status="disputed")],
                [pay(500, AS_OF - D(5), "F2")])
    r = row(aging(led, AS_OF))
    assert r["invoiced"] == 3000 and r["outstanding"] == 3000 and r["advance"] == 0


# ----------------------------------------------------------------------------------- currencies


def test_multi_currency_never_adds_currencies():
    led = build([inv("E1", 123456, AS_OF - D(5), cust="C1", cur="EUR"),
                 inv("U1", 99999, AS_OF - D(35), cust="C1", cur="USD"),
                 inv("K1", 1500, AS_OF - D(65), cust="C1", cur="CLP"),
                 inv("K2", 250000, AS_OF + D(5), cust="C2", cur="CLP"),
                 inv("E2", 100, AS_OF - D(200), cust="C2", cur="EUR")],
                [pay(500, AS_OF - D(1), "K1", cust="C1", cur="CLP")])
    rep = aging(led, AS_OF)
    f = rep.frame
    assert list(zip(f["customer_id"], f["currency"], strict=True)) == [
        ("C1", "CLP"), ("C1", "EUR"), ("C1", "USD"), ("C2", "CLP"), ("C2", "EUR")]
    assert row(rep, "C1", "CLP")["61-90"] == 1000
    j = rep.to_json()
    assert j["as_of"] == "2024-06-30" and j["buckets"] == ["0-30", "31-60", "61-90", "91-120", "121+"]
    assert set(j["totals"]) == {"CLP", "EUR", "USD"}
    assert j["totals"]["CLP"]["outstanding"] == "251000"
    assert j["totals"]["CLP"]["not_due"] == "250000"
    assert j["totals"]["CLP"]["buckets"] == ["0", "0", "1000", "0", "0"]
    assert j["totals"]["EUR"]["outstanding"] == "1235.56"
    assert j["totals"]["USD"]["buckets"][1] == "999.99"
    r = j["rows"][0]
    assert set(r) == {"customer_id", "currency", "invoiced", "paid", "credit_notes", "advance", "outstanding",
                      "not_due", "buckets", "total_due"}
    assert (r["customer_id"], r["currency"], r["outstanding"], r["paid"]) == ("C1", "CLP", "1000", "500")


def test_three_decimal_currency_and_human_format():
    led = build([inv("K1", 1500, AS_OF - D(3), cur="KWD")])
    rep = aging(led, AS_OF)
    assert rep.to_json()["rows"][0]["outstanding"] == "1.500"
    assert rep.formatted("es").iloc[0]["outstanding"] == "1,500 KWD"
    led2 = build([inv("E1", 123456, AS_OF - D(3))])
    assert aging(led2, AS_OF).formatted("es").iloc[0]["0-30"] == "1.234,56 EUR"


def test_format_amounts_equals_money_format_decimal():
    rng = np.random.default_rng(3)
    for cur in ("EUR", "CLP", "KWD", "CLF", "USD"):
        values = np.concatenate([rng.integers(-10**12, 10**12, 300), [0, 1, -1, 9, -9, 10, -10, 100, -100]])
        assert format_amounts(values, [cur] * len(values)) == [money.format_decimal(int(v), cur) for v in values]


def test_empty_ledger():
    rep = aging(empty_ledger(), AS_OF)
    assert rep.frame.empty and rep.totals.empty
    assert rep.to_json() == {"as_of": "2024-06-30", "buckets": ["0-30", "31-60", "61-90", "91-120", "121+"],
                             "rows": [], "totals": {}}
    assert aging(empty_ledger(), AS_OF, by="invoice").to_json()["rows"] == []


def test_by_invoice_rows_json_shape_and_order():
    led = build([inv("F2", 300, AS_OF - D(3), cust="B"), inv("F1", 100, AS_OF - D(50), cust="B"),
                 inv("F3", 200, AS_OF - D(1), cust="A")], [pay(50, AS_OF - D(2), cust="A", pid="P1")])
    j = aging(led, AS_OF, by="invoice").to_json()
    assert [(r["customer_id"], r["invoice_id"] or r["payment_id"]) for r in j["rows"]] == [
        ("A", "P1"), ("A", "F3"), ("B", "F1"), ("B", "F2")]
    first = j["rows"][0]
    assert first["kind"] == "advance" and first["balance"] == "-0.50" and first["date"] == "2024-06-28"
    assert first["due_date"] is None and first["age"] == 2 and first["bucket"] == "0-30"
    f1 = j["rows"][2]
    assert (f1["issue_date"], f1["due_date"], f1["amount"], f1["paid"], f1["bucket"]) == (
        "2024-04-11", "2024-05-11", "1.00", "0.00", "31-60")
    assert j["totals"]["EUR"]["outstanding"] == "5.50"


def test_as_of_accepts_text_and_timestamp():
    led = build([inv("F1", 100, AS_OF - D(31))])
    assert row(aging(led, "2024-06-30"))["31-60"] == 100
    assert row(aging(led, pd.Timestamp("2024-06-30 17:45")))["31-60"] == 100


# ----------------------------------------------------------------------------------- reference check

CURRENCIES = ("EUR", "USD", "CLP")


def random_ledger(seed: int, n_inv: int = 80, n_pay: int = 70, id_style: str = "plain") -> Ledger:
    rng = np.random.default_rng(seed)
    custs = [f"C{i}" for i in range(6)]
    if id_style == "unicode":
        custs = [f"Cliente Ñandú {i}" for i in range(6)]

    def iid(i: int) -> str:
        if id_style == "long":
            return f"FACTURA-{i:05d}-" + "X" * 30
        if id_style == "unicode":
            return f"Fáctura-{i}"
        return f"F{i}"

    invoices = []
    for i in range(n_inv):
        issue = AS_OF - D(int(rng.integers(-20, 200)))
        due = None if rng.random() < 0.15 else issue + D(int(rng.choice([0, 15, 30, 60])))
        amount = int(rng.integers(1, 100000)) * (-1 if rng.random() < 0.12 else 1)
        status = str(rng.choice(["open", "open", "open", "disputed", "cancelled", "written_off"]))
        invoices.append(inv(iid(i), amount, due, issue=issue, cust=str(rng.choice(custs)),
                            cur=str(rng.choice(CURRENCIES)), status=status))
    payments = []
    for j in range(n_pay):
        target = invoices[int(rng.integers(0, n_inv))]
        kind = rng.random()
        date = AS_OF - D(int(rng.integers(-15, 180)))
        if kind < 0.15:
            payments.append(pay(int(rng.integers(1, 50000)), date, cust=target["customer_id"],
                                cur=target["currency"], pid=f"P{j}"))
        elif kind < 0.2:
            payments.append(pay(int(rng.integers(1, 50000)), date, "NOPE-" + str(j), cust=target["customer_id"],
                                cur=target["currency"], pid=f"P{j}"))
        else:
            amt = max(1, abs(target["amount"]) // int(rng.choice([1, 1, 2, 3])))
            payments.append(pay(amt, date, target["invoice_id"], cust=target["customer_id"], cur=target["currency"],
                                pid=f"P{j}"))
    return build(invoices, payments)


def reference_rows(led: Ledger, as_of: dt.date, bounds: tuple[int, ...], basis: str) -> dict:
    """Aging by the book, one row at a time (no pandas tricks)."""
    ts = pd.Timestamp(as_of)
    by_id = {r.invoice_id: r for r in led.invoices.itertuples()}
    paid: dict[str, int] = defaultdict(int)
    items = []
    for p in led.payments.itertuples():
        if p.date > ts:
            continue
        r = by_id.get(p.invoice_id) if p.invoice_id else None
        if r is None or r.issue_date > ts:
            items.append((p.customer_id, p.currency, "advance", -p.amount, 0, -p.amount, (ts - p.date).days))
        else:
            paid[p.invoice_id] += p.amount
    for r in led.invoices.itertuples():
        if r.issue_date > ts or r.status in ("cancelled", "written_off"):
            continue
        bal = r.amount - paid[r.invoice_id]
        if bal == 0:
            continue
        due = r.issue_date if pd.isna(r.due_date) else r.due_date
        start = due if basis == "due_date" else r.issue_date
        kind = "credit_note" if r.amount < 0 else "invoice"
        items.append((r.customer_id, r.currency, kind, r.amount, paid[r.invoice_id], bal, (ts - start).days))
    rows: dict[tuple[str, str], dict] = {}
    for cust, cur, kind, amount, p, bal, age in items:
        x = rows.setdefault((cust, cur), {"invoiced": 0, "paid": 0, "credit_notes": 0, "advance": 0,
                                          "outstanding": 0, "not_due": 0, "buckets": [0] * (len(bounds) + 1)})
        if kind == "invoice":
            x["invoiced"] += amount
            x["paid"] += p
        elif kind == "credit_note":
            x["credit_notes"] -= bal
        else:
            x["advance"] -= bal
        x["outstanding"] += bal
        if age < 0:
            x["not_due"] += bal
        else:
            x["buckets"][next((i for i, b in enumerate(bounds) if age <= b), len(bounds))] += bal
    return rows


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("basis", ["due_date", "issue_date"])
def test_matches_reference_on_random_ledgers(seed, basis):
    led = random_ledger(seed, id_style=("plain", "long", "unicode")[seed % 3])
    for as_of in (AS_OF, AS_OF - D(45)):
        rep = aging(led, as_of, basis=basis)
        ref = reference_rows(led, as_of, (30, 60, 90, 120), basis)
        got = {}
        for r in rep.frame.to_dict("records"):
            got[(r["customer_id"], r["currency"])] = {
                **{k: r[k] for k in ("invoiced", "paid", "credit_notes", "advance", "outstanding", "not_due")},
                "buckets": [r[lab] for lab in rep.labels]}
            assert r["outstanding"] == r["invoiced"] - r["paid"] - r["credit_notes"] - r["advance"]
            assert r["outstanding"] == r["not_due"] + r["total_due"]
            assert r["total_due"] == sum(r[lab] for lab in rep.labels)
        assert got == ref
        for cur, t in rep.totals.iterrows():
            sub = rep.frame[rep.frame["currency"] == cur]
            assert int(t["outstanding"]) == int(sub["outstanding"].sum())
        items = aging(led, as_of, basis=basis, by="invoice").frame
        assert int(items["balance"].sum()) == int(rep.frame["outstanding"].sum()) if len(items) else True
        assert len(open_items(led, as_of, basis)) == len(items)


# ----------------------------------------------------------------------------------- balances (shared)


def old_invoice_balances(ledger: Ledger, as_of) -> pd.DataFrame:
    """The first (plain pandas) implementation of ``invoice_balances``, kept as the reference."""
    ts = pd.Timestamp(as_of).normalize()
    i = ledger.invoices
    i = i[i["issue_date"] <= ts]
    p = ledger.payments
    p = p[(p["date"] <= ts) & (p["invoice_id"] != "")]
    paid = p.groupby("invoice_id", sort=False)["amount"].sum()
    out = i.copy()
    paid_arr = out["invoice_id"].map(paid).fillna(0).to_numpy(dtype="int64")
    closed = out["status"].isin(("cancelled", "written_off")).to_numpy()
    out["paid"] = paid_arr
    out["balance"] = np.where(closed, 0, out["amount"].to_numpy(dtype="int64") - paid_arr)
    out["days_overdue"] = (ts - out["due_date"]).dt.days.astype("Int64")
    return out


@pytest.mark.parametrize("seed", range(6))
def test_invoice_balances_unchanged(seed):
    led = random_ledger(seed, id_style=("plain", "long", "unicode")[seed % 3])
    for as_of in (AS_OF, AS_OF - D(60)):
        pd.testing.assert_frame_equal(invoice_balances(led, as_of), old_invoice_balances(led, as_of))


def test_duplicate_invoice_ids_each_get_the_id_total():
    led = build([inv("F1", 1000, AS_OF), inv("F1", 500, AS_OF), inv("F2", 10, AS_OF)],
                [pay(300, AS_OF, "F1"), pay(5, AS_OF, "F2")])
    pd.testing.assert_frame_equal(invoice_balances(led, AS_OF), old_invoice_balances(led, AS_OF))
    paid, rows = paid_arrays(led, AS_OF)
    assert paid.tolist() == [300, 300, 5] and rows.tolist() == [0, 2]


@pytest.mark.parametrize("keys", [
    ["F1", "F2", "F3", ""],
    ["F-2024-000001", "F-2024-000002", "a" * 15, "b" * 16, "c" * 17],
    ["x" * 40, "x" * 39, "y"],
    ["Fáctura 1", "Factura 1", "ÑANDÚ"],
    ["12345678", "1234567", "123456789"],
])
def test_match_rows_is_exact(keys):
    queries = keys[::-1] + ["zzz", "", "F", keys[0] + " "]
    expected = [keys.index(q) if q in keys else -1 for q in queries]
    assert match_rows(pd.Series(keys, dtype="str"), pd.Series(queries, dtype="str")).tolist() == expected


def test_match_rows_on_many_generated_ids():
    rng = np.random.default_rng(5)
    keys = np.array([f"F{y}-{n:07d}" for y, n in zip(rng.integers(2000, 2030, 50000),
                                                      rng.permutation(50000), strict=True)], dtype=object)
    q = np.concatenate([keys[rng.integers(0, len(keys), 20000)], np.array(["F1999-0000001", ""], dtype=object)])
    assert (match_rows(keys, q) == pd.Index(keys).get_indexer(q)).all()


def test_string_codes_sorted_and_exact():
    values = pd.Series(["EUR", "USD", "EUR", "CLP", "usd", "Ñ"], dtype="str")
    codes, uniques = string_codes(values)
    assert uniques.tolist() == ["CLP", "EUR", "USD", "usd", "Ñ"]
    assert uniques[codes].tolist() == values.tolist()


def test_group_sum_is_exact_beyond_float_precision():
    from cobro.joins import group_sum

    big = np.array([2**62, 1, -(2**61), 3, 2**53 + 1], dtype=np.int64)
    codes = np.array([0, 0, 1, 1, 2])
    assert group_sum(codes, big, 4).tolist() == [2**62 + 1, -(2**61) + 3, 2**53 + 1, 0]
    small = np.arange(-500, 500, dtype=np.int64)
    assert group_sum(np.abs(small) % 7, small, 7).tolist() == [int(small[np.abs(small) % 7 == k].sum())
                                                              for k in range(7)]
    assert group_sum(np.array([], dtype=np.int64), np.array([], dtype=np.int64), 2).tolist() == [0, 0]


def test_remembered_join_is_exact_after_in_place_edits(monkeypatch):
    from cobro import joins

    monkeypatch.setattr(joins, "MEMO_MIN_ROWS", 0)
    joins.clear_cache()
    led = random_ledger(4)
    first = aging(led, AS_OF).frame
    pd.testing.assert_frame_equal(aging(led, AS_OF).frame, first)  # remembered: same answer
    assert len(joins._memo) == 1
    # Edit in place, as a host would: a payment now names another invoice, an invoice is renamed.
    target = led.invoices["invoice_id"].iloc[1]
    led.payments.loc[0, "invoice_id"] = target
    led.invoices.loc[2, "invoice_id"] = "RENAMED-2"
    ref = reference_rows(led, AS_OF, (30, 60, 90, 120), "due_date")
    got = {(r["customer_id"], r["currency"]): r["outstanding"] for r in aging(led, AS_OF).frame.to_dict("records")}
    assert got == {k: v["outstanding"] for k, v in ref.items()}
    assert len(joins._memo) == 2
    joins.clear_cache()
    assert joins._memo == []
