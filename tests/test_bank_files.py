"""The host side of statements (sync/bank_files.py) and the core's contract: no spreadsheet library, no lxml on
import, bounded work for every file."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pytest

from cobro import bank
from cobro.bank import MAX_STATEMENT_BYTES, StatementError, read_sheets
from sync import bank_files

ROOT = Path(__file__).resolve().parents[1]


def _xlsx(rows: list[list[object]], far_cell: str | None = None) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Movimientos"
    for r in rows:
        sheet.append(r)
    if far_cell:
        sheet[far_cell] = "x"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


ROWS: list[list[object]] = [["Fecha", "Concepto", "Importe", "Saldo"],
                            [dt.datetime(2024, 5, 10), "TRANSF ACME FRA F-2", 100, 1100],
                            [dt.datetime(2024, 5, 12), "RECIBO LUZ", -50, 1050]]


def test_core_imports_neither_calamine_nor_lxml() -> None:
    code = ("import sys, cobro.bank, cobro.matching; "
            "bad = [m for m in ('python_calamine', 'lxml', 'openpyxl') if m in sys.modules]; print(bad)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    source = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "cobro" / "bank").glob("*.py"))
    assert "python_calamine" not in source and "\nfrom lxml" not in source and "\nimport lxml" not in source


def test_host_reads_a_spreadsheet_through_the_core_rows() -> None:
    data = _xlsx(ROWS)
    st = bank_files.read_statement(data, "extracto.xlsx")
    assert st.format == "xlsx" and [ln.amount for ln in st.lines] == [10000, -5000]
    same = read_sheets(bank_files.open_spreadsheet(data), "extracto.xlsx")
    assert [ln.line_id for ln in same.lines] == [ln.line_id for ln in st.lines]


def test_core_without_a_spreadsheet_opener_says_what_to_do() -> None:
    with pytest.raises(StatementError, match="extracto.xlsx: this is a spreadsheet .* export the statement as"):
        bank.read_statement(_xlsx(ROWS), "extracto.xlsx")


def test_a_far_away_cell_is_refused_before_calamine_allocates_it() -> None:
    data = _xlsx(ROWS, far_cell="ZZ200000")  # a 5 KB file that asks calamine for a 4 GB grid
    with pytest.raises(StatementError, match=r"extracto.xlsx: a sheet of the spreadsheet reaches cell ZZ200000"):
        bank_files.read_statement(data, "extracto.xlsx")


def test_a_zip_bomb_is_refused() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/worksheets/sheet1.xml", b" " * (40 * 1024 * 1024))
    with pytest.raises(StatementError, match="unpacks to 40 MB"):
        bank_files.read_statement(buffer.getvalue(), "extracto.xlsx")


def test_size_limit_for_every_format() -> None:
    big = b"Fecha;Concepto;Importe\n" + b"01/01/2024;x;1\n" * (MAX_STATEMENT_BYTES // 14 + 1)
    for name in ("a.csv", "a.ofx", "a.xml", "a.sta", "a.n43", "a.xlsx"):
        with pytest.raises(StatementError, match=r"cobro reads statement files of up to 32 MB"):
            bank_files.read_statement(big, name)


def test_statement_file_checks(tmp_path: Path) -> None:
    with pytest.raises(StatementError, match="not a regular file"):
        bank_files.read_statement_file(tmp_path)
    if hasattr(os, "mkfifo"):
        fifo = tmp_path / "extracto.n43"
        os.mkfifo(fifo)
        with pytest.raises(StatementError, match="extracto.n43: this is not a regular file"):
            bank_files.read_statement_file(fifo)  # would block forever if opened
    good = tmp_path / "extracto.csv"
    good.write_bytes(b"Fecha;Concepto;Importe\n01/02/2024;A;1,00\n")
    assert [ln.amount for ln in bank_files.read_statement_file(good).lines] == [100]


def test_reconcile_reads_a_spreadsheet_statement(user_workbook: Path, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    from cobro_cli import run

    stmt = tmp_path / "extracto.xlsx"
    stmt.write_bytes(_xlsx(ROWS))
    assert run(["reconcile", str(user_workbook), str(stmt), "--as-of", "2024-05-12", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["format"] == "xlsx" and data["lines"] == 2
