"""Property-based tests of the matcher's invariants on random ledgers and random statements.

For any ledger and any statement: no invoice is allocated beyond its balance, every line comes back exactly
once, an applied line is never proposed again, two identical bank lines are two payments, and the output is
deterministic.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cobro.balances import invoice_balances
from cobro.bank.base import StatementLine, make_line_id
from cobro.ledger import Settings, empty_ledger, make_frame
from cobro.matching import payments_for_matches, propose_matches
from cobro.schema import CUSTOMERS, INVOICES, PAYMENTS

NAMES = ["Construcciones García López S.L.", "Construcciones García SA", "Talleres Ruiz SL", "Frutas Ortega SLU",
         "Acme Trading Ltd", "Pérez e Hijos SL", "García López Construcciones SA"]
ID_FORMATS = ["F-2024-{:04d}", "A-{:06d}", "{:d}", "FV24-{}", "F-2024-{:04d}"]
NOISE = ["TRANSFERENCIA", "PAGO", "ABONO", "RECIBO LUZ", "INTERESES", "2024-03-01", "1.234,56", "VARIOS", ""]
ACCOUNT = "ES00TEST"


@st.composite
def scenarios(draw):
    n_cust = draw(st.integers(1, 4))
    names = draw(st.permutations(NAMES))[:n_cust]
    customers = [{"customer_id": f"C{k}", "name": nm, "tax_id": f"B{10000000 + k * 7919}", "currency": "EUR"}
                 for k, nm in enumerate(names)]
    invoices: list[dict] = []
    seen: set[str] = set()
    for _ in range(draw(st.integers(0, 8))):
        inv_id = draw(st.sampled_from(ID_FORMATS)).format(draw(st.integers(1, 400)))
        if inv_id in seen:
            continue
        seen.add(inv_id)
        amount = draw(st.integers(1, 200_000))
        if draw(st.integers(0, 9)) == 0:
            amount = -amount  # a credit note
        day = dt.date(2024, 1, 1) + dt.timedelta(days=draw(st.integers(0, 50)))
        invoices.append({"invoice_id": inv_id, "customer_id": f"C{draw(st.integers(0, n_cust - 1))}",
                         "issue_date": day, "due_date": day + dt.timedelta(days=30),
                         "currency": draw(st.sampled_from(["EUR", "EUR", "EUR", "USD"])), "amount": amount,
                         "status": draw(st.sampled_from(["open", "open", "open", "disputed", "cancelled"])),
                         "reference": draw(st.sampled_from(["", "", "PO-4500012345", "PED 77"]))})
    payments: list[dict] = []
    for k, inv in enumerate(invoices):
        if inv["amount"] > 1 and draw(st.booleans()):
            paid = draw(st.integers(1, inv["amount"]))
            from_statement = draw(st.booleans())
            payments.append({"payment_id": f"OLD{k}", "date": dt.date(2024, 2, 25), "customer_id": inv["customer_id"],
                             "invoice_id": inv["invoice_id"], "amount": paid, "currency": inv["currency"],
                             "source": "statement" if from_statement else "manual",
                             "statement_line": f"Lold{k}" if from_statement else "",
                             "reference": f"PAGO {inv['invoice_id']}" if from_statement else ""})
    fee = draw(st.integers(0, 500))
    ledger = empty_ledger(Settings(locale=draw(st.sampled_from(["es", "en"])), bank_fee_tolerance=fee))
    ledger = ledger.replace(customers=make_frame(CUSTOMERS, customers))
    if invoices:
        ledger = ledger.replace(invoices=make_frame(INVOICES, invoices))
    if payments:
        ledger = ledger.replace(payments=make_frame(PAYMENTS, payments))

    lines: list[StatementLine] = []
    occ: dict[tuple, int] = {}
    for _ in range(draw(st.integers(0, 10))):
        choice = draw(st.integers(0, 9))
        if lines and choice == 0:
            lines.append(lines[draw(st.integers(0, len(lines) - 1))])  # the very same line (same id) again
            continue
        if lines and choice == 1:
            prev = lines[draw(st.integers(0, len(lines) - 1))]  # an identical movement: same day, amount, text
            text, amount, day, cur = prev.text, prev.amount, prev.date, prev.currency
        else:
            parts = []
            if invoices and draw(st.booleans()):
                inv = draw(st.sampled_from(invoices))
                shown = draw(st.sampled_from([inv["invoice_id"], "FRA " + inv["invoice_id"].replace("-", "/"),
                                              inv["invoice_id"].replace("0", "", 1)]))
                parts.append(shown)
            if draw(st.booleans()):
                c = draw(st.sampled_from(customers))
                parts.append(draw(st.sampled_from([c["name"].upper(), c["tax_id"], c["name"].split()[0]])))
            parts.append(draw(st.sampled_from(NOISE)))
            text = " ".join(p for p in parts if p)
            amounts = [draw(st.integers(-50_000, 250_000))]
            if invoices:
                a = draw(st.sampled_from(invoices))["amount"]
                b = draw(st.sampled_from(invoices))["amount"]
                amounts += [a, a + b, a - draw(st.integers(0, 600)), a + draw(st.integers(0, 5000))]
            amount = draw(st.sampled_from(amounts))
            day = dt.date(2024, 3, 1) + dt.timedelta(days=draw(st.integers(0, 2)))
            cur = draw(st.sampled_from(["EUR", "EUR", "USD"]))
        key = (day, amount, text)
        n = occ.get(key, 0)
        occ[key] = n + 1
        lines.append(StatementLine(make_line_id(ACCOUNT, day, amount, text, "", n), ACCOUNT, day, None, amount, cur,
                                   text))
    return ledger, lines


def _allocated(result) -> dict[str, int]:
    out: dict[str, int] = {}
    for p in result.proposals:
        for inv, amt in p.allocations:
            out[inv] = out.get(inv, 0) + amt
    return out


def _apply(ledger, result, ids):
    pays = result.payments_for(ids)
    return ledger.replace(payments=pd.concat([ledger.payments, pays], ignore_index=True)), pays


SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(scenarios())
def test_every_line_exactly_once_and_never_over_allocated(scenario):
    ledger, lines = scenario
    res = propose_matches(lines, ledger)
    assert [p.line for p in res.proposals] == lines
    assert all(p.status in ("proposed", "unmatched", "applied") for p in res.proposals)
    if not lines:
        return
    as_of = max(ln.date for ln in lines)
    bal = invoice_balances(ledger, as_of)
    balance = dict(zip(bal["invoice_id"], bal["balance"], strict=True))
    currency = dict(zip(bal["invoice_id"], bal["currency"], strict=True))
    for inv, total in _allocated(res).items():
        assert 0 < total <= balance[inv], (inv, total, balance[inv])
    for p in res.proposals:
        assert all(a > 0 and currency[i] == p.line.currency for i, a in p.allocations)
        assert p.advance >= 0 and p.fee >= 0 and 0.0 <= p.confidence <= 1.0
        if p.status == "proposed":
            assert sum(a for _, a in p.allocations) + p.advance == p.line.amount + p.fee
            assert p.line.amount > 0 and p.reason
        else:
            assert not p.allocations and not p.advance and not p.auto and p.reason
        if p.line.amount <= 0:
            assert p.status != "proposed"


@SETTINGS
@given(scenarios())
def test_applied_lines_are_never_proposed_again(scenario):
    ledger, lines = scenario
    first = propose_matches(lines, ledger)
    ids = [p.line_id for p in first.proposed]
    after, pays = _apply(ledger, first, ids)
    # Applying everything proposed never overpays an invoice, whatever was paid before.
    inv_amount = dict(zip(ledger.invoices["invoice_id"], ledger.invoices["amount"], strict=True))
    paid = after.payments[after.payments["invoice_id"] != ""].groupby("invoice_id")["amount"].sum()
    for inv, total in paid.items():
        assert total <= inv_amount[inv]
    again = propose_matches(lines, after)
    for p1, p2 in zip(first.proposals, again.proposals, strict=True):
        if p1.status in ("proposed", "applied"):
            assert p2.status == "applied", (p1, p2)
        else:
            assert p2.status == "unmatched"
    assert _allocated(again) == {}


@SETTINGS
@given(scenarios())
def test_identical_bank_lines_are_two_payments(scenario):
    ledger, lines = scenario
    if not lines:
        return
    base = lines[0]
    twin = StatementLine(make_line_id(ACCOUNT, base.date, base.amount, base.text, "", 99), ACCOUNT, base.date, None,
                         base.amount, base.currency, base.text)
    res = propose_matches([base, twin], ledger)
    if res.proposals[0].status != "proposed":
        return
    after, _ = _apply(ledger, res, [base.line_id])
    again = propose_matches([base, twin], after)
    assert again.proposals[0].status == "applied"
    assert again.proposals[1].status != "applied"


@SETTINGS
@given(scenarios())
def test_output_is_deterministic(scenario):
    ledger, lines = scenario
    a = propose_matches(lines, ledger)
    b = propose_matches(list(lines), ledger)
    assert a.proposals == b.proposals
    pd.testing.assert_frame_equal(a.to_matches_frame(True), b.to_matches_frame(True))


@SETTINGS
@given(scenarios(), st.data())
def test_apply_of_edited_matches_never_over_allocates(scenario, data):
    """Whatever invoices a person types into the Matches sheet, apply pays no invoice beyond its balance."""
    ledger, lines = scenario
    res = propose_matches(lines, ledger)
    m = res.to_matches_frame(auto=False)
    if not len(m):
        return
    ids = ledger.invoices["invoice_id"].tolist() + ["NOPE-1"]
    m["action"] = [data.draw(st.sampled_from(["accept", "accept", ""])) for _ in range(len(m))]
    m["invoice_ids"] = [tuple(data.draw(st.lists(st.sampled_from(ids), max_size=3))) for _ in range(len(m))]
    m["customer_id"] = [data.draw(st.sampled_from(ledger.customers["customer_id"].tolist() + [""]))
                        for _ in range(len(m))]
    m["_row"] = list(range(2, len(m) + 2))
    pays, problems = payments_for_matches(m, ledger)
    assert all(p.sheet == "Matches" and p.row >= 2 for p in problems)
    if len(pays):
        assert (pays["amount"] > 0).all()
        after = pd.concat([ledger.payments, pays], ignore_index=True)
        inv_amount = dict(zip(ledger.invoices["invoice_id"], ledger.invoices["amount"], strict=True))
        paid = after[after["invoice_id"] != ""].groupby("invoice_id")["amount"].sum()
        for inv, total in paid.items():
            assert total <= max(inv_amount[inv], 0) or inv not in set(pays["invoice_id"])
        # Applying the same sheet again adds nothing.
        again, _ = payments_for_matches(m, ledger.replace(payments=after))
        assert len(again) == 0
