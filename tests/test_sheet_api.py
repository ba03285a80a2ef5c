"""The spreadsheet-host translation (what xlwings' cell functions and ribbon call), without Excel."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from python_calamine import CalamineWorkbook

from addin import sheet_api
from cobro.ledger import LedgerError


def book_rows(path: Path) -> list[tuple[str, list[list[object]], int]]:
    """What xlwings' used_range gives per sheet: rows of values and the first row number."""
    wb = CalamineWorkbook.from_path(str(path))
    out = []
    for name in wb.sheet_names:
        sheet = wb.get_sheet_by_name(name)
        out.append((name, sheet.to_python(), (sheet.start or (0, 0))[0] + 1))
    return out


def test_aging_cells_are_exact_decimal_text(user_workbook: Path) -> None:
    led = sheet_api.ledger_from_sheets(book_rows(user_workbook))
    cells = sheet_api.aging_cells(led, dt.datetime(2024, 5, 1))
    header, *rows = cells
    assert header[:3] == ["customer_id", "currency", "not_due"]
    by = {(r[0], r[1]): r for r in rows}
    assert by[("C1", "EUR")][header.index("outstanding")] == "1100.00"
    assert by[("C2", "USD")][header.index("outstanding")] == "999.99"
    assert all(len(r) == len(header) for r in sheet_api.pad(cells))


def test_kpi_and_worklist_cells(user_workbook: Path) -> None:
    led = sheet_api.ledger_from_sheets(book_rows(user_workbook))
    kpis = sheet_api.kpi_cells(led, "2024-05-01", 3)
    assert kpis[0][0] == "currency" and {r[0] for r in kpis[1:]} == {"EUR", "USD"}
    work = sheet_api.worklist_cells(led, "01/05/2024", 5)
    assert work[0] == ["customer_id", "name", "score", "reason", "next_action"] and len(work) >= 2


def test_errors_become_cells_not_value_errors(user_workbook: Path) -> None:
    rows = book_rows(user_workbook)
    broken = [(name, [list(r) for r in data], first) for name, data, first in rows]
    for name, data, _ in broken:
        if name == "Facturas":
            data[1][5] = "doce euros"  # Importe of F-1
    try:
        sheet_api.ledger_from_sheets(broken)
    except LedgerError as e:
        cells = sheet_api.error_cells(e)
        assert cells[0] == ["cobro"] and 'Facturas, fila 2, columna "Importe": "doce euros"' in cells[1][0]
    else:
        raise AssertionError("a bad amount must be reported")
    assert sheet_api.error_cells(ValueError("an as-of date is required")) == [["cobro"], ["an as-of date is required"]]
