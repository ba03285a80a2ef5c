"""Amounts as our markets write them (issue 7 item 5), exactly; amounts beyond what cobro holds (issue 15)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cobro import money
from cobro.ledger import LedgerError, parse_ledger


@pytest.mark.parametrize(("text", "currency", "minor"), [
    # zero-decimal currencies never gain cents
    ("1.234 CLP", "CLP", 1234),
    ("CLP 1.234", "CLP", 1234),
    ("$ 1.234.567", "CLP", 1234567),
    ("$1.234", "CLP", 1234),
    ("1,234", "CLP", 1234),
    ("1.234,00", "CLP", 1234),
    ("1234 JPY", "JPY", 1234),
    # COP writes dots for thousands and a comma for cents
    ("$ 1.234.567", "COP", 123456700),
    ("$ 1.234.567,50", "COP", 123456750),
    # PEN, BRL, ARS, MXN, USD, EUR, GBP
    ("S/ 1,234.56", "PEN", 123456),
    ("S/. 1,234.56", "PEN", 123456),
    ("S/1.234,56", "PEN", 123456),
    ("R$ 1.234,56", "BRL", 123456),
    ("R$1.234.567,89", "BRL", 123456789),
    ("$ 1.234,56", "ARS", 123456),
    ("ARS 1.234,56", "ARS", 123456),
    ("$1,234.56", "MXN", 123456),
    ("MXN 1,234.56", "MXN", 123456),
    ("1,234.56 MXN", "MXN", 123456),
    ("US$ 1,234.56", "USD", 123456),
    ("USD 1,234.56", "USD", 123456),
    ("1,234.56 USD", "USD", 123456),
    ("$1,234.56", "USD", 123456),
    ("€ 1.234,56", "EUR", 123456),
    ("1.234,56 €", "EUR", 123456),
    ("1 234,56 €", "EUR", 123456),
    ("1\u00a0234,56\u00a0€", "EUR", 123456),
    ("1\u202f234,56 EUR", "EUR", 123456),
    ("eur 12,50", "EUR", 1250),
    ("£1,234.56", "GBP", 123456),
    ("1'234.56", "USD", 123456),
    # negative forms
    ("-1.234,56 €", "EUR", -123456),
    ("€ -1.234,56", "EUR", -123456),
    ("-€1.234,56", "EUR", -123456),
    ("(1,234.56)", "USD", -123456),
    ("(US$ 1,234.56)", "USD", -123456),
    ("US$ (1,234.56)", "USD", -123456),
    ("1.234,56-", "EUR", -123456),
    ("1.234,56 EUR-", "EUR", -123456),
    ("$ -1.234.567", "CLP", -1234567),
    ("\u22121.234,56", "EUR", -123456),
    ("+12,50", "EUR", 1250),
    (",50", "EUR", 50),
])
def test_market_amounts(text: str, currency: str, minor: int) -> None:
    assert money.parse_money(text, currency) == minor


@pytest.mark.parametrize(("text", "currency", "named"), [
    ("US$ 10", "EUR", "USD"), ("€ 10", "USD", "EUR"), ("R$ 10", "ARS", "BRL"), ("S/ 10", "USD", "PEN"),
    ("10 GBP", "EUR", "GBP"), ("CLP 1.000", "COP", "CLP"), ("£ 5", "EUR", "GBP"),
])
def test_a_sign_contradicting_the_currency_is_an_error(text: str, currency: str, named: str) -> None:
    with pytest.raises(money.MoneyError, match=f"written in {named} but the currency is {currency}") as ei:
        money.parse_money(text, currency)
    assert ei.value.code == "money_currency" and ei.value.detail == {"currency": currency}


def test_a_bare_dollar_takes_the_rows_currency_and_is_refused_for_others() -> None:
    assert money.read_amount("$ 1.234.567", "COP") == (Decimal("1234567"), "COP")
    assert money.read_amount("$ 1.234.567") == (Decimal("1234567"), None)  # no currency: none named
    with pytest.raises(money.MoneyError, match=r"written with \$ but the currency is EUR"):
        money.parse_money("$ 12", "EUR")
    with pytest.raises(money.MoneyError, match="names two currencies"):
        money.parse_money("€ 12 USD", "EUR")


@pytest.mark.parametrize("text", ["1.2.3", "12 5", "1.234,56.7", "--12", "(-12)", "12a", "€", "$", "1,23,456",
                                  "12345.678.901", "", "  ", "1e5", "NaN", "Infinity"])
def test_not_numbers(text: str) -> None:
    with pytest.raises(money.MoneyError):
        money.parse_money(text, "EUR")


@pytest.mark.parametrize(("text", "currency"), [("COP 1.234", "COP"), ("$ 1.234", "COP"), ("EUR 1.234", "EUR"),
                                              ("10.001", "EUR")])
def test_a_lone_group_of_three_in_a_currency_with_cents_is_not_guessed(text: str, currency: str) -> None:
    with pytest.raises(money.MoneyError, match="ambiguous"):
        money.parse_money(text, currency)
    assert money.parse_money(text, currency, decimal_comma=True) == (123400 if "234" in text else 1000100)
    with pytest.raises(money.MoneyError, match="ambiguous"):
        money.parse_money("1.000", "EUR")  # once read as one euro


def test_cents_are_never_invented_for_zero_decimal_currencies() -> None:
    with pytest.raises(money.MoneyError, match="more decimals") as ei:
        money.parse_money("1.5 CLP", "CLP")
    assert ei.value.code == "money_precision"
    with pytest.raises(money.MoneyError, match="more decimals"):
        money.parse_money("1.234,5", "CLP")
    assert money.parse_money("1.000", "CLP", decimal_comma=False) == 1000  # a column's mark cannot make cents


def test_precision_is_exact_beyond_the_default_decimal_context() -> None:
    with pytest.raises(money.MoneyError, match="more decimals"):
        money.to_minor(Decimal("1.0000000000000000000000000000001"), "EUR")
    with pytest.raises(money.MoneyError, match="more decimals"):
        money.parse_money("1.0000000000000000000000000000001", "EUR")


@pytest.mark.parametrize("value", ["9" * 10_000, "9" * 40, "99999999999999999", 10**30, Decimal("1e999999"),
                                   1e300, -(10**20), "90.071.992.547.409,92 €"])
def test_amounts_beyond_the_money_type_are_user_errors(value: object) -> None:
    with pytest.raises(money.MoneyError) as ei:
        money.parse_money(value, "EUR")
    assert ei.value.code == "money_range" and ei.value.http_status == 422
    assert len(str(ei.value)) < 200  # 10,000 nines are not echoed back


def test_the_limit_itself_is_held() -> None:
    assert money.parse_money("90.071.992.547.409,91 €", "EUR") == money.MAX_MINOR
    assert money.parse_money(-money.MAX_MINOR, "CLP") == -money.MAX_MINOR
    with pytest.raises(money.MoneyError, match="largest amount"):
        money.round_to_minor(Decimal("1e40"), "EUR")


def test_detect_decimal_comma_ignores_signs_and_codes() -> None:
    assert money.detect_decimal_comma(["$ 1.234.567", "$ 500"]) is True
    assert money.detect_decimal_comma(["S/ 1,234.56"]) is False
    assert money.detect_decimal_comma(["R$ 1.234,56"]) is True
    assert money.detect_decimal_comma(["1.234 CLP"]) is None


def test_a_contradicting_sign_names_the_cell() -> None:
    tables = {
        "Customers": __import__("pandas").DataFrame(
            {"customer_id": ["C1"], "name": ["Acme"], "currency": ["EUR"], "_row": [2]}, dtype=object),
        "Invoices": __import__("pandas").DataFrame(
            {"invoice_id": ["F1", "F2"], "customer_id": ["C1", "C1"], "issue_date": ["2026-01-01", "2026-01-02"],
             "amount": ["US$ 100", "9" * 10_000], "_row": [2, 3]}, dtype=object),
    }
    with pytest.raises(LedgerError) as ei:
        parse_ledger(tables, {}, {}, locale="en")
    text = ei.value.render("en")
    assert 'row 2, column "Amount": "US$ 100" — expected an amount in EUR' in text
    assert 'row 3, column "Amount"' in text and "expected an amount no larger than 90,071,992,547,409.91 EUR" in text
    es = ei.value.render("es")
    assert "se esperaba un importe en EUR" in es


# ------------------------------------------------------------------ properties: every way of writing reads back

MARKETS = {
    # currency: (signs written before, signs written after, (group, decimal) styles)
    "EUR": (["€", "EUR", ""], ["€", "EUR", ""], [(".", ","), (" ", ","), ("\u00a0", ","), ("", ",")]),
    "USD": (["US$", "$", "USD", ""], ["USD", ""], [(",", "."), ("", ".")]),
    "MXN": (["$", "MX$", "MXN", ""], ["MXN", ""], [(",", "."), ("", ".")]),
    "COP": (["$", "COP", "COL$", ""], ["COP", ""], [(".", ","), ("", ",")]),
    "CLP": (["$", "CLP", ""], ["CLP", ""], [(".", ","), ("", ",")]),
    "PEN": (["S/", "S/.", "PEN", ""], ["PEN", ""], [(",", "."), ("", ".")]),
    "ARS": (["$", "ARS", ""], ["ARS", ""], [(".", ","), ("", ",")]),
    "BRL": (["R$", "BRL", ""], ["BRL", ""], [(".", ","), ("", ",")]),
    "GBP": (["£", "GBP", ""], ["GBP", ""], [(",", "."), ("", ".")]),
    "JPY": (["JPY", ""], ["JPY", ""], [(",", "."), ("", ".")]),
}


def _write(minor: int, currency: str, group: str, mark: str, before: str, after: str, neg: str,
           space: bool) -> str:
    exp = money.exponent(currency)
    units, cents = divmod(abs(minor), 10**exp) if exp else (abs(minor), 0)
    digits = f"{units:,}".replace(",", group) if group else str(units)
    body = digits + (f"{mark}{cents:0{exp}d}" if exp else "")
    sp = " " if space else ""
    text = f"{before}{sp if before else ''}{body}{sp if after else ''}{after}"
    if minor < 0:
        text = {"-": "-" + text, "()": f"({text})", "trail": text + "-"}[neg]
    return text


@given(minor=st.integers(min_value=-money.MAX_MINOR, max_value=money.MAX_MINOR),
       currency=st.sampled_from(sorted(MARKETS)), data=st.data(),
       neg=st.sampled_from(["-", "()", "trail"]), space=st.booleans())
def test_every_written_form_reads_back_exactly(minor: int, currency: str, data: st.DataObject, neg: str,
                                               space: bool) -> None:
    befores, afters, styles = MARKETS[currency]
    group, mark = data.draw(st.sampled_from(styles))
    before = data.draw(st.sampled_from(befores))
    after = "" if before else data.draw(st.sampled_from(afters))
    text = _write(minor, currency, group, mark, before, after, neg, space)
    assert money.parse_money(text, currency) == minor, text
    decided = money.detect_decimal_comma([text])
    assert money.parse_money(text, currency, decided) == minor, text


@given(minor=st.integers(min_value=-money.MAX_MINOR, max_value=money.MAX_MINOR),
       currency=st.sampled_from(sorted(money._EXPONENTS)))
def test_format_and_decimal_round_trip_in_every_currency(minor: int, currency: str) -> None:
    assert money.parse_money(money.format_decimal(minor, currency), currency, decimal_comma=False) == minor
    assert money.parse_money(money.format_money(minor, currency, "es"), currency) == minor
    assert money.parse_money(money.format_money(minor, currency, "en"), currency) == minor


@given(text=st.text(alphabet="0123456789.,-() $€£RSUD/'\u00a0", max_size=30),
       currency=st.sampled_from(sorted(MARKETS)))
def test_any_text_is_a_number_or_a_money_error(text: str, currency: str) -> None:
    try:
        minor = money.parse_money(text, currency)
    except money.MoneyError:
        return
    assert isinstance(minor, int) and abs(minor) <= money.MAX_MINOR


@given(text=st.from_regex(r"-?\d{1,16}([.,]\d{1,5})?", fullmatch=True),
       currency=st.sampled_from(["EUR", "CLP", "KWD", "COP", "JPY"]), dc=st.sampled_from([None, True, False]))
def test_the_fast_path_agrees_with_the_full_reading(text: str, currency: str, dc: bool | None) -> None:
    fast = money.plain_minor(text, money.exponent(currency), dc)
    try:
        full: int | None = money.parse_money(text, currency, dc)
    except money.MoneyError:
        full = None
    if fast is not None:
        assert fast == full, text


@given(texts=st.lists(st.one_of(st.from_regex(r"-?\d{1,17}([.,]\d{1,5})?", fullmatch=True),
                                st.from_regex(r"[-(]?[$€]? ?\d{1,3}([., ]\d{3}){0,3}([.,]\d{1,3})?\)? ?(EUR|CLP)?",
                                              fullmatch=True),
                                st.text(alphabet="0123456789.,-", max_size=8)), min_size=1, max_size=25),
       currencies=st.lists(st.sampled_from(["EUR", "CLP", "KWD", "USD", "XXX"]), min_size=25, max_size=25))
def test_a_column_read_at_once_reads_as_each_cell_alone(texts: list[str], currencies: list[str]) -> None:
    """The ledger reads plain amounts a column at a time: the result is what parse_money gives cell by cell."""
    from cobro.ledger import _parse_money_column

    curs = currencies[:len(texts)]
    out, bad = _parse_money_column(list(texts), curs)
    decided = money.detect_decimal_comma([t for t in texts if t and not t.isspace()])
    bad_at = {i for i, _, _ in bad}
    for i, t in enumerate(texts):
        if not t or t.isspace():
            assert out[i] is None and i not in bad_at
            continue
        try:
            want: int | None = money.parse_money(t, curs[i], decided)
        except money.MoneyError:
            want = None
        assert (i in bad_at) == (want is None), (t, curs[i])
        if want is not None:
            assert out[i] == want, (t, curs[i], decided)
