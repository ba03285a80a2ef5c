"""Dates outside 1900–9999 and amounts beyond the money type are user errors, never tracebacks (issue 15)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cobro import money
from cobro.ledger import LedgerError, parse_date_text, parse_ledger
from cobro_cli import run


@pytest.mark.parametrize("text", ["0001-01-01", "1899-12-31", "0042-03-04", "31/12/1899", "01/01/0001"])
def test_dates_before_1900_are_not_dates(text: str) -> None:
    assert parse_date_text(text) is None


def test_the_range_itself_is_read() -> None:
    assert parse_date_text("1900-01-01") == dt.datetime(1900, 1, 1)
    assert parse_date_text("9999-12-31") == dt.datetime(9999, 12, 31)


def _tables(issue_dates: list[object]) -> dict[str, pd.DataFrame]:
    n = len(issue_dates)
    return {
        "Customers": pd.DataFrame({"customer_id": ["C1"], "name": ["Acme"], "currency": ["EUR"], "_row": [2]},
                                  dtype=object),
        "Invoices": pd.DataFrame({"invoice_id": [f"F{i}" for i in range(n)], "customer_id": ["C1"] * n,
                                  "issue_date": issue_dates, "amount": ["10"] * n,
                                  "_row": list(range(2, n + 2))}, dtype=object),
    }


def test_ledger_dates_a_frame_cannot_hold_are_located_problems() -> None:
    """A date cell of year 1 or 3000 used to become NaT silently (datetime64[ns] holds 1677–2262)."""
    with pytest.raises(LedgerError) as ei:
        parse_ledger(_tables([dt.datetime(1, 1, 1), dt.date(3000, 1, 1), "0001-01-01", "01/01/2999",
                              dt.datetime(2026, 1, 1)]), {}, {}, locale="en")
    text = ei.value.render("en")
    for row in (2, 3, 4, 5):
        assert f'row {row}, column "Issue date"' in text
    assert "row 6" not in text


def test_cli_as_of_outside_the_years_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    book = tmp_path / "l.xlsx"
    assert run(["new", str(book), "--locale", "en"]) == 0
    capsys.readouterr()
    for day in ("0001-01-01", "1899-12-31"):
        assert run(["aging", str(book), "--as-of", day]) == 2
        err = capsys.readouterr().err
        assert "not a date from the years 1900 to 9999" in err and "Traceback" not in err
    assert run(["aging", str(book), "--as-of", "9999-12-31"]) == 0


def test_cli_promised_amount_of_ten_thousand_nines(user_workbook: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = user_workbook.read_bytes()
    code = run(["log", str(user_workbook), "C1", "--outcome", "promise", "--promise-date", "2026-12-05",
                "--amount", "9" * 10_000])
    err = capsys.readouterr().err
    assert code == 2 and "largest amount cobro holds" in err and "Traceback" not in err
    assert len(err) < 400 and user_workbook.read_bytes() == before


def test_money_range_error_is_an_input_error() -> None:
    with pytest.raises(money.MoneyError) as ei:
        money.parse_money("9" * 10_000, "EUR")
    assert ei.value.http_status == 422 and ei.value.exit_code == 2


def test_service_refuses_as_of_year_one_and_huge_promises(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("flask")
    from tests.test_server import make_api, small_ledger

    monkeypatch.setenv("COBRO_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "no-config"))
    for var in ("COBRO_SMTP_HOST", "COBRO_CONFIG", "COBRO_LEDGERS"):
        monkeypatch.delenv(var, raising=False)
    folder = tmp_path / "ledgers"
    folder.mkdir()
    api = make_api(small_ledger(folder / "cobranza.xlsx"), tmp_path / "home")
    resp = api.get("/api/summary?as_of=0001-01-01")
    assert resp.status_code in (400, 422), resp.get_data(as_text=True)
    assert "1900 to 9999" in resp.get_data(as_text=True)
    assert api.get("/api/summary?as_of=9999-12-31").status_code == 200
    before = api.path.read_bytes()
    resp = api.post("/api/contacts", {"customer_id": "C1", "outcome": "promise", "promise_date": "2026-12-05",
                                      "promise_amount": "9" * 10_000})
    assert resp.status_code in (400, 422), resp.get_data(as_text=True)[:300]
    assert "largest amount" in resp.get_data(as_text=True) and len(resp.get_data()) < 2000
    assert api.path.read_bytes() == before


@given(st.lists(st.one_of(
    st.dates(min_value=dt.date(1850, 1, 1), max_value=dt.date(2300, 12, 31)).map(lambda d: d.strftime("%d/%m/%Y")),
    st.dates(min_value=dt.date(1850, 1, 1), max_value=dt.date(2300, 12, 31)).map(lambda d: d.strftime("%m-%d-%Y")),
    st.dates(min_value=dt.date(1850, 1, 1), max_value=dt.date(2300, 12, 31)).map(lambda d: d.isoformat()),
    st.from_regex(r"\d\d[/.-]\d\d[/.-]\d{4}|\d{4}[/.-]\d\d[/.-]\d\d|\d{1,2}/\d{1,2}/\d{2}", fullmatch=True),
), min_size=1, max_size=30))
def test_dates_read_a_column_at_a_time_as_one_by_one(texts: list[str]) -> None:
    """The bulk reading of text dates gives what ``parse_date_text`` gives each, with the column's decision."""
    from cobro.ledger import _parse_dates, detect_day_first

    values, bad = _parse_dates(list(texts), keep_time=False)
    decided = detect_day_first(texts)
    for i, t in enumerate(texts):
        one = parse_date_text(t, True if decided is None else decided)
        if one is None or one.year > 2261:
            assert i in bad, t
        else:
            assert i not in bad and pd.Timestamp(values[i]) == pd.Timestamp(one.date()), t
