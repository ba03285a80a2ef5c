"""Bank matching (cobro.matching): each kind of evidence, the reasons people read, and the apply helpers."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from cobro.bank.base import StatementLine, make_line_id
from cobro.demo.statement_gen import build_ledger, generate_statement
from cobro.ledger import Settings, empty_ledger, make_frame
from cobro.matching import (
    MatchIndex,
    _name_words,
    allocate,
    learn_customer_ibans,
    normalize_tax_id,
    payment_id_for,
    payments_for_matches,
    propose_matches,
)
from cobro.schema import CUSTOMERS, INVOICES, MATCHES, PAYMENTS

DAY = dt.date(2024, 3, 1)

CUSTOMERS_ROWS = [
    {"customer_id": "C1", "name": "Construcciones García López S.L.", "tax_id": "B-12345678"},
    {"customer_id": "C2", "name": "Talleres Mecánicos Ruiz SA", "tax_id": "A87654321",
     "notes": "Paga desde ES91 2100 0418 4502 0005 1332"},
    {"customer_id": "C3", "name": "Frutas Hermanos Ortega SLU", "tax_id": "B11111111"},
    {"customer_id": "C4", "name": "Acme Trading Ltd", "tax_id": "GB123456789", "currency": "USD"},
]
INVOICE_ROWS = [
    # C1: three open invoices, oldest first
    ("F-2024-0113", "C1", "2024-01-10", 121000, ""),
    ("F-2024-0114", "C1", "2024-01-20", 50000, ""),
    ("F-2024-0120", "C1", "2024-02-01", 30050, ""),
    # C2
    ("F-2024-0200", "C2", "2024-01-15", 33000, "PO-4500012345"),
    ("F-2024-0201", "C2", "2024-02-15", 72990, ""),
    # C3
    ("A-000083", "C3", "2024-01-05", 10000, ""),
    ("F-2024-0003", "C3", "2024-02-03", 45000, ""),
]


def make_ledger(locale: str = "es", fee: int = 300, payments: list[dict] | None = None,
                extra: dict[str, str] | None = None, invoices: list[tuple] | None = None):
    settings = Settings(locale=locale, bank_fee_tolerance=fee, extra=extra or {})
    ledger = empty_ledger(settings)
    cust = make_frame(CUSTOMERS, [{"currency": "EUR", "status": "active", **c} for c in CUSTOMERS_ROWS])
    inv_rows = invoices if invoices is not None else INVOICE_ROWS
    inv = make_frame(INVOICES, [
        {"invoice_id": i, "customer_id": c, "issue_date": d,
         "due_date": (pd.Timestamp(d) + pd.Timedelta(days=30)).date(),
         "currency": "USD" if c == "C4" else "EUR", "amount": a, "reference": r, "status": "open"}
        for i, c, d, a, r in inv_rows])
    out = ledger.replace(customers=cust, invoices=inv)
    if payments:
        out = out.replace(payments=make_frame(PAYMENTS, payments))
    return out


def line(text: str, amount: int, name: str = "", iban: str = "", day: dt.date = DAY, occ: int = 0,
         currency: str = "EUR", ref: str = "") -> StatementLine:
    return StatementLine(make_line_id("ES00ACCOUNT", day, amount, text, ref, occ), "ES00ACCOUNT", day, None,
                         amount, currency, text, name, iban, ref)


def one(text: str, amount: int, ledger=None, **kw):
    ledger = ledger or make_ledger()
    res = propose_matches([line(text, amount, **kw)], ledger)
    assert len(res.proposals) == 1
    return res.proposals[0]


# ----------------------------------------------------------------------------------- references


def test_exact_reference_exact_amount_is_auto_with_spanish_reason():
    p = one("TRANSFERENCIA F-2024-0113", 121000)
    assert p.status == "proposed" and p.auto
    assert p.allocations == (("F-2024-0113", 121000),)
    assert p.customer_id == "C1"
    assert p.reason == "factura F-2024-0113 en el concepto; importe exacto"
    assert p.confidence >= 0.95


def test_reason_in_english_ledger():
    p = one("TRANSFER F-2024-0113", 121000, ledger=make_ledger(locale="en"))
    assert p.reason == "invoice F-2024-0113 in the text; exact amount"


@pytest.mark.parametrize("text", [
    "FRA 2024/113", "Fra. nº 2024-0113", "F2024 0113", "FACTURA N.º 2024.113", "INV 2024/00113", "F20240113",
    "S/FRA F-2024-113", "PAGO FACT 2024-113 GRACIAS", "F 2024 0113", "factura nº 2024/0113, 1.210,00 EUR",
    "INVOICE 2024-0113",
])
def test_reference_formats_tolerated(text):
    p = one(text, 121000)
    assert p.allocations == (("F-2024-0113", 121000),), p.reason
    assert p.auto


def test_invoice_reference_field_is_evidence():
    p = one("PEDIDO 4500012345 TALLERES", 33000)
    assert p.allocations == (("F-2024-0200", 33000),)
    assert p.auto


def test_leading_zeros_as_written_make_a_short_number_distinctive():
    p = one("PAGO FACTURA 000083", 10000)
    assert p.allocations == (("A-000083", 10000),) and p.auto
    weak = one("PAGO 83", 10000)  # two bare digits prove nothing on their own
    assert not weak.auto


def test_a_date_in_the_text_is_not_a_reference():
    # "2024-02-03" contains 2024/3-like digits; F-2024-0003 must not be auto-accepted from a date.
    p = one("TRANSFERENCIA 2024-02-03 VARIOS", 99999)
    assert not p.auto
    assert "F-2024-0003" not in p.invoice_ids


def test_series_letters_pick_the_right_invoice():
    invs = INVOICE_ROWS + [("B-2024-0113", "C2", "2024-01-10", 5000, "")]
    ledger = make_ledger(invoices=invs)
    p = one("FRA B-2024-0113", 5000, ledger=ledger)
    assert p.allocations == (("B-2024-0113", 5000),) and p.auto
    # Without series letters the amount settles which one it is.
    p2 = one("FRA 2024/113", 121000, ledger=ledger)
    assert p2.allocations == (("F-2024-0113", 121000),)


def test_several_references_one_transfer():
    p = one("PAGO FRAS F-2024-0113, F-2024-0114", 171000)
    assert p.allocations == (("F-2024-0113", 121000), ("F-2024-0114", 50000))
    assert p.auto
    assert p.reason.startswith("facturas F-2024-0113, F-2024-0114 en el concepto")


def test_reference_with_partial_payment_is_auto_when_the_payer_agrees():
    p = one("A CUENTA FRA F-2024-0113", 60000, name="CONSTRUCCIONES GARCIA LOPEZ SL")
    assert p.allocations == (("F-2024-0113", 60000),)
    assert p.auto
    assert "pago parcial de 600,00 EUR sobre 1.210,00 EUR" in p.reason
    # Without anything that corroborates the customer, a partial is proposed but left to a person.
    assert not one("A CUENTA FRA F-2024-0113", 60000).auto


def test_reference_with_overpayment_gives_an_advance():
    p = one("F-2024-0114", 55000, name="Construcciones Garcia Lopez")
    assert p.allocations == (("F-2024-0114", 50000),)
    assert p.advance == 5000 and p.auto
    assert "exceso de 50,00 EUR como anticipo" in p.reason


def test_reference_with_bank_fee_within_tolerance():
    p = one("FRA F-2024-0113", 121000 - 250)
    assert p.allocations == (("F-2024-0113", 121000),)
    assert p.fee == 250 and p.auto
    assert "comisión bancaria de 2,50 EUR descontada" in p.reason
    beyond = one("FRA F-2024-0113", 121000 - 301)
    assert beyond.fee == 0 and beyond.allocations == (("F-2024-0113", 120699),)


def test_fee_percentage_setting():
    ledger = make_ledger(fee=0, extra={"bank_fee_pct": "0,5"})
    p = one("FRA F-2024-0113", 121000 - 600, ledger=ledger)  # 0.5 % of 1,210.00 = 6.05
    assert p.fee == 600


def test_typo_in_reference_with_exact_amount():
    p = one("FRA F-2024-0131", 121000)  # 0113 with two digits swapped; no invoice 0131 exists
    assert p.allocations == (("F-2024-0113", 121000),)
    assert "near_reference" in p.evidence and p.auto
    assert p.reason == "referencia parecida a F-2024-0113 en el concepto; importe exacto"


def test_typo_that_hits_another_invoice_is_not_auto():
    # F-2024-0114 exists (50,000) but the amount is exactly F-2024-0113's: a swapped digit, most likely.
    p = one("FRA F-2024-0114", 121000)
    assert not p.auto
    assert p.allocations == (("F-2024-0113", 121000),)
    assert any("F-2024-0114" in a.invoice_ids for a in p.alternatives)


def test_reference_in_another_currency_is_not_a_candidate():
    p = one("FRA F-2024-0113", 121000, currency="USD")
    assert not p.invoice_ids or p.invoice_ids != ("F-2024-0113",)


# ----------------------------------------------------------------------------------- customers


@pytest.mark.parametrize("tax", ["B12345678", "B-12345678", "B-12.345.678", "ESB12345678", "B 12345678"])
def test_customer_by_tax_id(tax):
    p = one(f"PAGO {tax}", 50000)
    assert p.customer_id == "C1"
    assert p.allocations == (("F-2024-0114", 50000),) and p.auto
    assert p.reason == "NIF de Construcciones García López S.L.; importe exacto"


def test_normalize_tax_id():
    assert normalize_tax_id("b-12.345.678") == normalize_tax_id("ES B12345678") == "B12345678"


def test_customer_by_iban_in_notes_and_learned():
    p = one("TRANSFERENCIA", 72990, iban="ES9121000418450200051332")
    assert p.customer_id == "C2" and p.allocations == (("F-2024-0201", 72990),) and p.auto
    assert p.reason.startswith("IBAN de Talleres")
    ledger = make_ledger()
    res = propose_matches([line("TRANSFERENCIA", 45000, iban="ES7620770024003102575766")], ledger,
                          customer_ibans={"ES76 2077 0024 0031 0257 5766": "C3"})
    assert res.proposals[0].customer_id == "C3" and res.proposals[0].auto


def test_learn_customer_ibans_from_applied_lines():
    ln = line("TRANSFERENCIA", 45000, iban="es76 2077 0024 0031 0257 5766")
    pays = make_frame(PAYMENTS, [{"payment_id": "P1", "date": DAY, "customer_id": "C3", "invoice_id": "F-2024-0003",
                                  "amount": 45000, "currency": "EUR", "source": "statement",
                                  "statement_line": ln.line_id}])
    assert learn_customer_ibans([ln], pays) == {"ES7620770024003102575766": "C3"}


def test_customer_by_name_strips_legal_forms():
    assert _name_words("Talleres Ruiz, S.L.U.") == ["TALLERES", "RUIZ"]
    assert _name_words("Acme Trading Ltd.") == ["ACME", "TRADING"]
    assert _name_words("S. COOP. Frutas Ortega S.A. de C.V.") == ["FRUTAS", "ORTEGA"]
    p = one("TRANSFERENCIA RECIBIDA", 72990, name="TALLERES MECANICOS RUIZ S.A.")
    assert p.customer_id == "C2" and p.auto
    assert p.reason == "nombre de Talleres Mecánicos Ruiz SA (100 %); importe exacto"


def test_name_in_text_with_noise():
    p = one("TRANSF SEPA DE FRUTAS HNOS ORTEGA SLU CONCEPTO VARIOS", 45000)
    assert p.customer_id == "C3"


def test_ambiguous_names_are_never_auto():
    extra = [{"customer_id": "C9", "name": "Construcciones García López Hermanos SA", "tax_id": "B99999999"}]
    ledger = make_ledger()
    cust = pd.concat([ledger.customers, make_frame(CUSTOMERS, [{"currency": "EUR", **c} for c in extra])],
                     ignore_index=True)
    inv = pd.concat([ledger.invoices, make_frame(INVOICES, [
        {"invoice_id": "G-1", "customer_id": "C9", "issue_date": "2024-01-01", "due_date": "2024-02-01",
         "currency": "EUR", "amount": 50000, "status": "open"}])], ignore_index=True)
    ledger = ledger.replace(customers=cust, invoices=inv)
    p = one("TRANSFERENCIA", 50000, ledger=ledger, name="CONSTRUCCIONES GARCIA")
    assert not p.auto


# ----------------------------------------------------------------------------------- amounts


def test_oldest_first_sum_of_customer_is_auto():
    p = one("PAGO B12345678", 171000)
    assert p.allocations == (("F-2024-0113", 121000), ("F-2024-0114", 50000))
    assert p.auto and "las 2 facturas más antiguas" in p.reason


def test_exact_subset_is_proposed_never_auto():
    p = one("PAGO B12345678", 121000 + 30050)
    assert set(p.invoice_ids) == {"F-2024-0113", "F-2024-0120"}
    assert not p.auto and "combinación" in p.reason


def test_partial_by_customer_goes_to_the_oldest():
    p = one("PAGO B12345678", 130000)
    assert p.allocations == (("F-2024-0113", 121000), ("F-2024-0114", 9000))
    assert not p.auto and "pago parcial" in p.reason


def test_overpayment_by_customer_is_an_advance():
    p = one("PAGO B12345678", 210000)
    assert sum(a for _, a in p.allocations) == 201050 and p.advance == 8950
    assert not p.auto


def test_fee_without_reference_is_not_auto():
    p = one("PAGO B12345678", 50000 - 100)
    assert p.allocations == (("F-2024-0114", 50000),) and p.fee == 100
    assert not p.auto


def test_amount_only_coincidence_is_never_auto():
    p = one("ABONO INTERESES", 72990)
    assert p.allocations == (("F-2024-0201", 72990),)
    assert not p.auto and p.reason == "solo coincide el importe"
    assert p.confidence < 0.5


def test_customer_without_open_invoices_gets_an_advance():
    pays = [{"payment_id": "X", "date": "2024-02-20", "customer_id": "C3", "invoice_id": inv, "amount": amt,
             "currency": "EUR", "source": "manual"} for inv, amt in (("A-000083", 10000), ("F-2024-0003", 45000))]
    p = one("PAGO B11111111", 5000, ledger=make_ledger(payments=pays))
    assert p.customer_id == "C3" and p.advance == 5000 and not p.allocations and not p.auto
    assert "sin facturas abiertas: anticipo" in p.reason


def test_usd_lines_match_usd_invoices_only():
    invs = INVOICE_ROWS + [("INV-7781", "C4", "2024-01-02", 250000, "")]
    p = one("INVOICE 7781", 250000, ledger=make_ledger(invoices=invs), currency="USD")
    assert p.allocations == (("INV-7781", 250000),) and p.auto


# ----------------------------------------------------------------------------------- unmatched / applied


def test_debits_and_nothing_are_unmatched_never_dropped():
    lines = [line("RECIBO LUZ", -5000), line("XYZ", 1), line("FRA F-2024-0113", 121000)]
    res = propose_matches(lines, make_ledger())
    assert [p.line for p in res.proposals] == lines
    assert [p.status for p in res.proposals] == ["unmatched", "unmatched", "proposed"]
    assert [p.reason for p in res.proposals][:2] == ["cargo", "sin coincidencias"]
    en = propose_matches(lines, make_ledger(locale="en"))
    assert [p.reason for p in en.proposals][:2] == ["debit", "no match"]


def test_no_invoice_is_allocated_twice_in_one_run():
    lines = [line("FRA F-2024-0113", 121000), line("FRA F-2024-0113", 121000, occ=1)]
    res = propose_matches(lines, make_ledger())
    a, b = res.proposals
    assert a.allocations == (("F-2024-0113", 121000),) and a.auto
    assert not b.auto and "F-2024-0113" not in b.invoice_ids
    assert "factura F-2024-0113 ya pagada" in b.reason


def test_greedy_by_confidence_gives_the_invoice_to_the_surer_line():
    # An amount-only coincidence comes first in the statement, the reference later: the reference wins.
    lines = [line("ABONO VARIOS", 50000), line("FRA F-2024-0114", 50000)]
    res = propose_matches(lines, make_ledger())
    assert res.proposals[1].allocations == (("F-2024-0114", 50000),)
    assert "F-2024-0114" not in res.proposals[0].invoice_ids


def _apply(ledger, result, ids=None):
    pays = result.payments_for(ids if ids is not None else [p.line_id for p in result.proposed])
    return ledger.replace(payments=pd.concat([ledger.payments, pays], ignore_index=True))


def test_applied_line_is_recognised_by_id_and_by_content():
    ledger = make_ledger()
    ln = line("FRA F-2024-0113", 121000)
    res = propose_matches([ln], ledger)
    after = _apply(ledger, res)
    again = propose_matches([ln], after).proposals[0]
    assert again.status == "applied" and again.reason == f"ya aplicada ({payment_id_for(ln.line_id)})"
    # The same movement read from another format has another id but the same date, amount and text.
    other = StatementLine("Lother", "", ln.date, None, ln.amount, "EUR", "  fra f-2024-0113 ")
    assert propose_matches([other], after).proposals[0].status == "applied"


def test_two_identical_bank_lines_are_two_payments():
    ledger = make_ledger()
    a = line("PAGO B12345678", 50000, occ=0)
    b = line("PAGO B12345678", 50000, occ=1)
    assert a.line_id != b.line_id
    res = propose_matches([a, b], ledger)
    assert all(p.status == "proposed" for p in res.proposals)
    after = _apply(ledger, res, [a.line_id])
    again = propose_matches([a, b], after)
    assert [p.status for p in again.proposals] == ["applied", "proposed"]
    # The same two lines re-read under other ids: one is known, the other is still new.
    a2 = StatementLine("Lx1", "", a.date, None, a.amount, "EUR", a.text)
    b2 = StatementLine("Lx2", "", b.date, None, b.amount, "EUR", b.text)
    assert [p.status for p in propose_matches([a2, b2], after).proposals] == ["applied", "proposed"]


def test_repeated_line_id_in_one_input():
    ln = line("FRA F-2024-0113", 121000)
    res = propose_matches([ln, ln], make_ledger())
    assert [p.status for p in res.proposals] == ["proposed", "applied"]
    assert res.proposals[1].reason == "línea repetida en el extracto"


# ----------------------------------------------------------------------------------- output & apply


def test_matches_frame_columns_and_action():
    lines = [line("FRA F-2024-0113", 121000), line("ABONO INTERESES", 72990), line("RECIBO", -100)]
    res = propose_matches(lines, make_ledger())
    m = res.to_matches_frame(auto=True)
    assert list(m.columns) == [c.key for c in MATCHES.columns] + ["_row"]
    assert m["action"].tolist() == ["accept", "", ""]
    assert m["invoice_ids"].tolist()[0] == ("F-2024-0113",)
    assert m["amount"].tolist() == [121000, 72990, -100]
    assert str(m["date"].dtype).startswith("datetime64")
    assert res.to_matches_frame(auto=False)["action"].tolist() == ["", "", ""]


def test_payments_for_split_fee_and_advance_rows():
    lines = [line("FRA F-2024-0113", 121000 - 250), line("F-2024-0114", 55000, name="Construcciones Garcia Lopez")]
    res = propose_matches(lines, make_ledger())
    pays = res.payments_for([ln.line_id for ln in lines])
    assert list(pays.columns) == [c.key for c in PAYMENTS.columns] + ["_row"]
    rows = pays[["invoice_id", "amount", "method"]].values.tolist()
    assert rows == [["F-2024-0113", 120750, "transfer"], ["F-2024-0113", 250, "other"],
                    ["F-2024-0114", 50000, "transfer"], ["", 5000, "transfer"]]
    assert pays["payment_id"].tolist()[0] == payment_id_for(lines[0].line_id)
    assert set(pays["source"]) == {"statement"}
    assert pays["statement_line"].tolist()[0] == lines[0].line_id
    assert pays["reference"].tolist()[1].startswith("comisión bancaria")
    # Received money per line equals the line amount; the fee closes the invoice.
    received = pays[pays["method"] == "transfer"].groupby("statement_line")["amount"].sum()
    assert received[lines[0].line_id] == 120750 and received[lines[1].line_id] == 55000


def test_payments_for_reallocates_an_edited_matches_row():
    ln = line("PAGO B12345678", 50000)
    res = propose_matches([ln], make_ledger())
    m = res.to_matches_frame(auto=False)
    m.loc[0, "action"] = "accept"
    m.at[0, "invoice_ids"] = ("F-2024-0120", "F-2024-0113")  # a person chose other invoices, in this order
    pays = res.payments_for(m)
    assert pays[["invoice_id", "amount"]].values.tolist() == [["F-2024-0120", 30050], ["F-2024-0113", 19950]]


def test_payments_for_matches_revalidates_and_is_idempotent():
    ledger = make_ledger()
    lines = [line("FRA F-2024-0113", 121000), line("FRA F-2024-0113 OTRA VEZ", 121000)]
    m = propose_matches(lines, ledger).to_matches_frame(auto=True)
    m.loc[:, "action"] = "accept"
    m.at[1, "invoice_ids"] = ("F-2024-0113",)  # a person forces the same invoice twice
    m["_row"] = [2, 3]
    pays, problems = payments_for_matches(m, ledger)
    assert pays["amount"].sum() == 121000  # the invoice is paid once
    assert len(problems) == 1 and problems[0].row == 3
    assert "Conciliación, fila 3" in problems[0].message("es")
    after = ledger.replace(payments=pd.concat([ledger.payments, pays], ignore_index=True))
    pays2, _ = payments_for_matches(m.iloc[:1], after)
    assert len(pays2) == 0  # re-running apply adds nothing


def test_payments_for_matches_unknown_invoice_is_a_located_problem():
    ledger = make_ledger(locale="en")
    m = make_frame(MATCHES, [{"statement_line": "L1", "date": DAY, "amount": 1000, "currency": "EUR", "text": "x",
                              "invoice_ids": ("NOPE-1",), "customer_id": "C1", "action": "accept", "_row": 7}])
    pays, problems = payments_for_matches(m, ledger)
    assert len(pays) == 0
    assert problems[0].message("en").startswith('Matches, row 7, column "Invoices": "NOPE-1"')


def test_allocate_never_over_allocates():
    ledger = make_ledger()
    ln = line("x", 200000)
    a = allocate(ln, ["F-2024-0114", "F-2024-0113"], ledger)
    assert a.allocations == (("F-2024-0114", 50000), ("F-2024-0113", 121000))
    assert a.advance == 29000 and a.customer_id == "C1"
    part = allocate(line("x", 60000), ["F-2024-0114", "F-2024-0113"], ledger)
    assert part.allocations == (("F-2024-0114", 50000), ("F-2024-0113", 10000)) and part.advance == 0
    bad = allocate(line("x", 100), ["NOPE", "F-2024-0114"], ledger)
    assert bad.problems == ("la factura NOPE no existe",) and bad.allocations == (("F-2024-0114", 100),)


def test_match_line_after_build_agrees_with_a_run():
    ledger = make_ledger()
    idx = MatchIndex.build(ledger, DAY)
    ln = line("FRA 2024/114", 50000)
    assert idx.match_line(ln) == propose_matches([ln], ledger, DAY).proposals[0]


def test_deterministic_output():
    ledger = build_ledger(40, 300, seed=3, as_of=dt.date(2024, 12, 31))
    st = generate_statement(ledger, dt.date(2024, 12, 31), 200, seed=4)
    a = propose_matches(st.lines, ledger, dt.date(2024, 12, 31)).to_matches_frame(True)
    b = propose_matches(st.lines, ledger, dt.date(2024, 12, 31)).to_matches_frame(True)
    pd.testing.assert_frame_equal(a, b)


# ----------------------------------------------------------------------------------- generator


def test_generated_statement_labels_are_consistent():
    as_of = dt.date(2024, 12, 31)
    ledger = build_ledger(60, 600, seed=5, as_of=as_of)
    st = generate_statement(ledger, as_of, 400, seed=6)
    assert len(st.lines) == len(st.labels) == 400
    assert [ln.line_id for ln in st.lines] == [lb.line_id for lb in st.labels]
    assert len({ln.line_id for ln in st.lines}) == 400
    from cobro.balances import invoice_balances

    bal = dict(zip(*invoice_balances(ledger, as_of)[["invoice_id", "balance"]].T.values, strict=True))
    paid: dict[str, int] = {}
    for ln, lb in zip(st.lines, st.labels, strict=True):
        for inv, amt in lb.allocations:
            paid[inv] = paid.get(inv, 0) + amt
        if not lb.is_none:
            assert sum(a for _, a in lb.allocations) + lb.advance == ln.amount + lb.fee
        if lb.kind == "debit":
            assert ln.amount < 0
    assert all(paid[i] <= bal[i] for i in paid)
    kinds = {lb.kind for lb in st.labels}
    assert {"exact_ref", "ref_format", "name_only", "partial", "over", "fee", "debit", "unrelated_equal"} <= kinds
    again = generate_statement(ledger, as_of, 400, seed=6)
    assert again.labels == st.labels


def test_matcher_quality_on_a_generated_statement():
    """A small version of bench/bench_matching.py: auto-accepted proposals are right."""
    as_of = dt.date(2024, 12, 31)
    ledger = build_ledger(150, 1500, seed=7, as_of=as_of)
    st = generate_statement(ledger, as_of, 600, seed=8)
    res = propose_matches(st.lines, ledger, as_of)
    auto = [(p, lb) for p, lb in zip(res.proposals, st.labels, strict=True) if p.auto]
    wrong = [(p.line.text, p.allocations, lb.allocations) for p, lb in auto
             if sorted(p.allocations) != sorted(lb.allocations) or p.advance != lb.advance or p.fee != lb.fee]
    assert len(auto) > 300
    assert len(wrong) <= 1, wrong
    ref_lines = [p for p, lb in zip(res.proposals, st.labels, strict=True) if lb.carries_reference]
    assert sum(p.auto for p in ref_lines) >= 0.9 * len(ref_lines)


def test_payment_dated_after_the_statement_still_counts():
    # F-2024-0113 was paid (applied from a later statement) on 1 April; a March line must not pay it again.
    pays = [{"payment_id": "P9", "date": "2024-04-01", "customer_id": "C1", "invoice_id": "F-2024-0113",
             "amount": 121000, "currency": "EUR", "source": "statement", "statement_line": "Llater",
             "reference": "FRA F-2024-0113"}]
    p = one("FRA F-2024-0113", 121000, ledger=make_ledger(payments=pays))
    assert "F-2024-0113" not in p.invoice_ids and not p.auto


def test_apply_from_the_sheet_reproduces_the_proposals():
    as_of = dt.date(2024, 12, 31)
    ledger = build_ledger(40, 400, seed=9, as_of=as_of)
    st = generate_statement(ledger, as_of, 150, seed=10)
    res = propose_matches(st.lines, ledger, as_of)
    m = res.to_matches_frame(auto=True)
    m["_row"] = range(2, len(m) + 2)
    m.loc[m["action"] == "", "action"] = "accept"
    m.loc[m["amount"] <= 0, "action"] = ""
    from_sheet, problems = payments_for_matches(m, ledger)
    direct = res.payments_for(m)
    assert problems == [] or all(p.column for p in problems)
    cols = ["statement_line", "invoice_id", "amount", "method"]
    key = sorted(map(tuple, from_sheet[cols].values.tolist()))
    assert key == sorted(map(tuple, direct[cols].values.tolist()))


def test_bank_text_that_looks_like_a_formula_stays_text():
    ledger = make_ledger()
    ln = line("=HYPERLINK(\"http://x\") FRA F-2024-0113", 121000)
    res = propose_matches([ln], ledger)
    assert res.to_matches_frame(True)["text"].tolist()[0].startswith("'=")
    assert res.payments_for([ln.line_id])["reference"].tolist()[0].startswith("'=")
    after = ledger.replace(payments=pd.concat([ledger.payments, res.payments_for([ln.line_id])], ignore_index=True))
    other = StatementLine("Lanother-format", "", ln.date, None, ln.amount, "EUR", ln.text)
    assert propose_matches([other], after).proposals[0].status == "applied"
