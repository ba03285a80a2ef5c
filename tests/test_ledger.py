"""Validation reports every problem at once, located as the user sees it."""

import datetime as dt

import pandas as pd
import pytest

from cobro.ledger import LedgerError, parse_date_text, parse_ledger
from cobro.schema import canonical_enum, find_sheet, normalize_header


def raw(**tables: dict) -> dict[str, pd.DataFrame]:
    out = {}
    for key, cols in tables.items():
        df = pd.DataFrame(cols, dtype=object)
        df["_row"] = range(2, len(df) + 2)
        out[key] = df
    return out


def good() -> dict[str, pd.DataFrame]:
    return raw(
        Customers={"customer_id": ["C1", "C2"], "name": ["Acme S.L.", "Beta"], "currency": [None, "USD"],
                   "payment_terms_days": [30, None], "status": ["activo", "paused"], "email": ["a@x.es; b@x.es", ""]},
        Invoices={"invoice_id": ["F1", "F2"], "customer_id": ["C1", "C2"],
                  "issue_date": [dt.date(2024, 3, 1), "2024-03-05"], "amount": [121.5, "1.234,56"],
                  "status": ["abierta", "disputed"]},
        Payments={"date": ["2024-04-01"], "customer_id": ["C1"], "invoice_id": ["F1"], "amount": ["50,25"]},
    )


def test_good_ledger_types_and_defaults() -> None:
    led = parse_ledger(good(), {"locale": "es", "base_currency": "EUR"})
    inv = led.invoices
    assert list(inv["amount"]) == [12150, 123456]
    assert list(inv["currency"]) == ["EUR", "USD"]  # default from the customer
    assert inv["due_date"].iloc[0] == pd.Timestamp("2024-03-31")  # issue date + customer terms
    assert list(inv["status"]) == ["open", "disputed"]  # Spanish label accepted
    assert led.customers["email"].iloc[0] == ("a@x.es", "b@x.es")
    assert led.payments["currency"].iloc[0] == "EUR"  # from the invoice
    assert led.payments["amount"].iloc[0] == 5025


def test_every_problem_at_once_with_location() -> None:
    tables = good()
    tables["Customers"] = pd.concat([tables["Customers"], pd.DataFrame(
        {"customer_id": ["C1"], "name": [None], "currency": ["XXX"], "_row": [4]})], ignore_index=True)
    tables["Invoices"] = pd.concat([tables["Invoices"], pd.DataFrame(
        {"invoice_id": ["F3", "F1"], "customer_id": ["C9", "C1"], "issue_date": ["31/02/2024", "2024-01-01"],
         "amount": ["abc", "1"], "_row": [4, 5]})], ignore_index=True)
    tables["Payments"] = pd.DataFrame({"date": ["2024-04-01", "2024-04-02"], "customer_id": ["C1", "C1"],
                                       "invoice_id": ["F1", ""], "amount": ["500", "-3"], "_row": [2, 3]},
                                      dtype=object)
    with pytest.raises(LedgerError) as ei:
        parse_ledger(tables, {"locale": "en"})
    msgs = [p.message("en") for p in ei.value.problems]
    text = "\n".join(msgs)
    assert 'Customers, row 4, column "Customer ID": "C1" — expected a value not used in another row (also in row 2)' \
        in text
    assert 'Customers, row 4, column "Name": (blank) — expected a value' in text
    assert 'Customers, row 4, column "Currency": "XXX" — expected an ISO 4217 currency code' in text
    assert 'Invoices, row 4, column "Issue date": "31/02/2024" — expected a date' in text
    assert 'Invoices, row 4, column "Amount": "abc" — expected an amount' in text
    assert 'Invoices, row 4, column "Customer ID": "C9" — expected the ID of a customer in Customers' in text
    assert 'Invoices, row 5, column "Invoice": "F1" — expected a value not used in another row' in text
    assert 'Payments, row 2, column "Amount": "F1: 500.00" — expected payments that add up to no more than' in text
    assert 'Payments, row 3, column "Amount": "-3.00" — expected an amount greater than zero' in text
    es = ei.value.render("es")
    assert "Facturas, fila 4, columna \"Importe\"" in es and "no se ha modificado nada" in es


def test_missing_required_column_names_the_header() -> None:
    tables = good()
    tables["Invoices"] = tables["Invoices"].drop(columns=["amount"])
    with pytest.raises(LedgerError) as ei:
        parse_ledger(tables, {"locale": "es"})
    assert any(p.code == "required_column" and p.column == "amount" for p in ei.value.problems)
    assert 'Facturas, fila 1, columna "Importe": (vacío) — se esperaba una columna con este encabezado' in str(ei.value)


def test_payment_currency_must_match_invoice() -> None:
    tables = good()
    tables["Payments"]["currency"] = ["USD"]
    with pytest.raises(LedgerError, match="la moneda de la factura"):
        parse_ledger(tables, {})


def test_ambiguous_dates_settled_by_column() -> None:
    tables = good()
    tables["Invoices"]["issue_date"] = ["03/04/2024", "03/13/2024"]  # 13 can only be a day: month first
    led = parse_ledger(tables, {})
    assert list(led.invoices["issue_date"]) == [pd.Timestamp("2024-03-04"), pd.Timestamp("2024-03-13")]
    tables["Invoices"]["issue_date"] = ["03/04/2024", "13/03/2024"]
    led = parse_ledger(tables, {})
    assert list(led.invoices["issue_date"]) == [pd.Timestamp("2024-04-03"), pd.Timestamp("2024-03-13")]


def test_excel_serial_dates() -> None:
    tables = good()
    tables["Invoices"]["issue_date"] = [45352, 45352.0]
    led = parse_ledger(tables, {})
    assert led.invoices["issue_date"].iloc[0] == pd.Timestamp("2024-03-01")


def test_bad_settings_reported() -> None:
    with pytest.raises(LedgerError) as ei:
        parse_ledger(good(), {"base_currency": "EURO", "aging_buckets": "60,30", "send_window": "9-5"},
                     {"base_currency": 3, "aging_buckets": 4, "send_window": 5})
    rows = sorted(p.row for p in ei.value.problems)
    assert rows == [3, 4, 5]


def test_headers_and_labels_match_loosely() -> None:
    assert normalize_header("  Fecha EMISIÓN ") == normalize_header("fecha emision")
    assert find_sheet("configuracion").key == "Settings"
    from cobro.schema import INVOICES
    assert canonical_enum(INVOICES.column("status"), "En disputa") == "disputed"
    assert canonical_enum(INVOICES.column("status"), "bogus") is None


def test_parse_date_text_forms() -> None:
    assert parse_date_text("2024-03-31") == dt.datetime(2024, 3, 31)
    assert parse_date_text("31-03-2024") == dt.datetime(2024, 3, 31)
    assert parse_date_text("31.03.24") == dt.datetime(2024, 3, 31)
    assert parse_date_text("31/02/2024") is None


def _applied_reference(invoices: pd.DataFrame, payments: pd.DataFrame) -> list[tuple]:
    """The payments-to-invoices checks as they were written before they used the reports' join (dicts of ids)."""
    from cobro.ledger import _fmt

    out = []
    inv_currency = dict(zip(invoices["invoice_id"], invoices["currency"], strict=True))
    has = payments["invoice_id"] != ""
    unknown = has & ~payments["invoice_id"].isin(set(inv_currency))
    for v, row in zip(payments["invoice_id"][unknown], payments["_row"][unknown], strict=True):
        out.append(("invoice_id", int(row), v, "invoice", {"sheet": "Invoices"}))
    applied = payments[has & ~unknown]
    for v, row, inv in zip(applied["currency"], applied["_row"], applied["invoice_id"], strict=True):
        if v != inv_currency[inv]:
            out.append(("currency", int(row), v, "currency_mismatch", {"currency": inv_currency[inv]}))
    if len(applied):
        paid = applied.groupby("invoice_id", sort=False)["amount"].sum()
        amounts = invoices.drop_duplicates("invoice_id").set_index("invoice_id")["amount"]
        last_row = applied.groupby("invoice_id", sort=False)["_row"].max()
        for inv, total in paid.items():
            if amounts[inv] >= 0 and total > amounts[inv]:
                cur = inv_currency[inv]
                out.append(("amount", int(last_row[inv]), f"{inv}: {_fmt(total, cur)}", "overpaid",
                            {"amount": _fmt(amounts[inv], cur)}))
    return out


def test_payment_checks_name_unknown_invoices_other_currencies_and_overpayments_as_before() -> None:
    """The checks of payments against the invoices they name run on the reports' join (``_check_applied``): the
    same problems, in the same order, as the plain lookups they replaced — duplicated ids (the currency of the
    last row, the amount of the first), credit notes, blanks and unknown ids included."""
    import random

    from cobro.ledger import _check_applied

    seen: set[str] = set()
    for seed in range(300):
        rnd = random.Random(seed)
        ids = [f"F{rnd.randint(1, 6)}" for _ in range(rnd.randint(0, 6))] + ([""] if rnd.random() < 0.2 else [])
        invoices = pd.DataFrame({"invoice_id": ids, "currency": [rnd.choice(["EUR", "USD"]) for _ in ids],
                                 "amount": [rnd.choice([-500, 0, 700, 1000, 2500]) for _ in ids]})
        n = rnd.randint(0, 9)
        payments = pd.DataFrame({
            "invoice_id": [rnd.choice(["", "F1", "F2", "F3", "F7", "F9"]) for _ in range(n)],
            "currency": [rnd.choice(["EUR", "USD"]) for _ in range(n)],
            "amount": [rnd.choice([1, 300, 700, 1200]) for _ in range(n)],
            "_row": rnd.sample(range(2, 40), n)})
        problems: list = []
        _check_applied(invoices, payments.astype({"amount": "int64", "_row": "int64"}), problems)
        got = [(p.column, p.row, p.value, p.code, p.detail) for p in problems]
        assert got == _applied_reference(invoices, payments), seed
        seen.update(p.code for p in problems)
    assert seen == {"invoice", "currency_mismatch", "overpaid"}
