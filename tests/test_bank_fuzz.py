"""Property tests: whatever bytes or cells come in, the readers answer with a Statement or a StatementError.

The properties run against the unguarded dispatcher (``cobro.bank._dispatch``): ``read_statement`` also
turns any unexpected exception into a ``StatementError`` as a last line of defence, which would make the
property trivially true.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cobro.bank import StatementError, _dispatch, read_pasted, read_statement
from cobro.bank.base import Statement

HERE = Path(__file__).resolve().parent
SHARED = Path(__file__).resolve().parents[2] / "shared" / "bank-samples"
SAMPLES = sorted(p for p in (HERE / "fixtures" / "bank").glob("*/*") if not p.name.endswith(".json"))
if SHARED.exists():
    SAMPLES += sorted(p for p in SHARED.glob("*/*") if not p.name.endswith((".json", ".yml", ".pydata")))
NAMES = ["", "x.csv", "x.ofx", "x.xml", "x.sta", "x.n43", "x.txt"]
# COBRO_FUZZ_EXAMPLES=5000 for a longer hunt
FUZZ = settings(max_examples=int(os.environ.get("COBRO_FUZZ_EXAMPLES", "150")), deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _check(data: bytes, name: str) -> None:
    from sync.bank_files import open_spreadsheet  # spreadsheets are opened by the host

    try:
        result = _dispatch(data, name, "EUR", open_spreadsheet)
    except StatementError as e:
        assert str(e)  # a message for the user
        return
    assert isinstance(result, Statement)
    for ln in result.lines:
        assert isinstance(ln.amount, int) and isinstance(ln.date, dt.date) and ln.line_id.startswith("L")


@FUZZ
@given(data=st.binary(max_size=600), name=st.sampled_from(NAMES))
def test_random_bytes(data: bytes, name: str) -> None:
    _check(data, name)


@FUZZ
@given(sample=st.sampled_from(SAMPLES), cut=st.floats(min_value=0, max_value=1), name=st.sampled_from(NAMES))
def test_truncated_samples(sample: Path, cut: float, name: str) -> None:
    data = sample.read_bytes()
    _check(data[: int(len(data) * cut)], name or sample.name)


@FUZZ
@given(sample=st.sampled_from(SAMPLES), edits=st.lists(st.tuples(st.floats(0, 1), st.binary(max_size=3)),
                                                         min_size=1, max_size=6))
def test_mutated_samples(sample: Path, edits: list[tuple[float, bytes]]) -> None:
    data = bytearray(sample.read_bytes())
    for where, new in edits:
        k = int(len(data) * where)
        data[k:k + len(new)] = new
    _check(bytes(data), sample.name)


def _small_xlsx() -> bytes:
    import io

    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Fecha", "Concepto", "Importe", "Saldo"])
    for k in range(5):
        sheet.append([dt.datetime(2024, 1, k + 1), f"Cobro {k}", 10.5 * k, 100 + 10.5 * k * (k + 1) / 2])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


XLSX = _small_xlsx()


@FUZZ
@given(cut=st.floats(0, 1), edits=st.lists(st.tuples(st.floats(0, 1), st.binary(min_size=1, max_size=4)),
                                           max_size=4))
def test_damaged_spreadsheets(cut: float, edits: list[tuple[float, bytes]]) -> None:
    data = bytearray(XLSX[: max(8, int(len(XLSX) * cut))])
    for where, new in edits:
        k = int(len(data) * where)
        data[k:k + len(new)] = new
    _check(bytes(data), "extracto.xlsx")


def test_a_central_directory_asking_for_an_unknown_zip_version_is_refused_cleanly() -> None:
    """The fuzzer's find: "version needed to extract" damaged to 6.4 made zipfile raise NotImplementedError."""
    from sync.bank_files import open_spreadsheet
    from sync.xlsx_package import Package, WorkbookError

    data = bytearray(XLSX)
    at = data.index(b"PK\x01\x02")  # the first central directory entry
    data[at + 6:at + 8] = (64).to_bytes(2, "little")
    with pytest.raises(StatementError, match="cannot be opened"):
        _dispatch(bytes(data), "extracto.xlsx", "EUR", open_spreadsheet)
    with pytest.raises(WorkbookError, match="not a readable .xlsx"):
        Package(bytes(data), "cobranza.xlsx")


_cells = st.one_of(
    st.none(), st.text(max_size=12), st.integers(-10**9, 10**9), st.floats(allow_nan=True, allow_infinity=True),
    st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2100, 1, 1)), st.booleans(),
    st.sampled_from(["01/02/2024", "31/12/2024", "12/31/2024", "2024-02-30", "1.234,56", "-12,5", "(3.00)", "EUR",
                     "Fecha", "Importe", "Saldo", "Debe", "Haber", "Cargo/Abono", "D", "H", "€ 10", "10 USD"]),
)


@FUZZ
@given(rows=st.lists(st.lists(_cells, min_size=0, max_size=6), max_size=12))
def test_random_pasted_rows(rows: list[list[object]]) -> None:
    try:
        result = read_pasted(rows)
    except StatementError:
        return
    assert all(isinstance(ln.amount, int) for ln in result.lines)


def test_guard_turns_a_reader_bug_into_a_message(monkeypatch: pytest.MonkeyPatch) -> None:
    import cobro.bank as bank

    def broken(data: bytes, filename: str = "", default_currency: str = "EUR") -> Statement:
        raise KeyError("boom")

    monkeypatch.setattr(bank._BY_NAME["csv"], "parse", broken)
    with pytest.raises(StatementError, match="could not be read .KeyError"):
        read_statement(b"Fecha;Importe\n01/01/2024;1\n", "a.csv")
