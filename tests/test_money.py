from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cobro import money


@pytest.mark.parametrize(("text", "currency", "minor"), [
    ("1.234,56", "EUR", 123456),
    ("1,234.56", "USD", 123456),
    ("1234.5", "EUR", 123450),
    ("-12,5", "EUR", -1250),
    ("(12.50)", "EUR", -1250),
    ("12.50-", "EUR", -1250),
    ("1.500", "CLP", 1500),      # CLP has no minor unit: 1.500 is one thousand five hundred
    ("1500", "JPY", 1500),
    ("1.500", "KWD", 1500),      # KWD has three
    ("0,01", "EUR", 1),
    ("€ 1.210,00", "EUR", 121000),
])
def test_parse_money_text(text: str, currency: str, minor: int) -> None:
    dc = True if currency == "CLP" else None
    assert money.parse_money(text, currency, decimal_comma=dc) == minor


def test_precision_is_never_lost() -> None:
    with pytest.raises(money.MoneyError, match="more decimals"):
        money.to_minor(Decimal("1.005"), "EUR")
    with pytest.raises(money.MoneyError, match="more decimals"):
        money.parse_money("10.5", "CLP")


def test_floats_from_spreadsheets_read_as_typed() -> None:
    assert money.parse_money(0.1 + 0.2, "EUR") == 30
    assert money.parse_money(1234.56, "EUR") == 123456
    assert money.parse_money(12, "JPY") == 12


def test_unknown_currency() -> None:
    with pytest.raises(money.MoneyError, match="unknown currency"):
        money.exponent("XYZ")


def test_formatting() -> None:
    assert money.format_decimal(123450, "EUR") == "1234.50"
    assert money.format_decimal(1500, "CLP") == "1500"
    assert money.format_decimal(1500, "KWD") == "1.500"
    assert money.format_decimal(-1, "EUR") == "-0.01"
    assert money.format_money(123456, "EUR", "es") == "1.234,56 EUR"
    assert money.format_money(123456, "USD", "en") == "1,234.56 USD"


def test_detect_decimal_comma_by_column() -> None:
    assert money.detect_decimal_comma(["1.234,56", "12,00"]) is True
    assert money.detect_decimal_comma(["1,234.56", "12.00"]) is False
    assert money.detect_decimal_comma(["1.234", "5"]) is None


def test_sum_by_currency_never_mixes() -> None:
    assert money.sum_by_currency([("EUR", 1), ("USD", 2), ("EUR", 3)]) == {"EUR": 4, "USD": 2}


@given(st.integers(min_value=-(10**13), max_value=10**13), st.sampled_from(["EUR", "CLP", "KWD", "USD"]))
def test_round_trip(minor: int, currency: str) -> None:
    assert money.to_minor(money.to_decimal(minor, currency), currency) == minor
    assert money.parse_money(money.format_decimal(minor, currency), currency, decimal_comma=False) == minor
