"""Cell functions for desktop Excel (xlwings UDFs). Each is one line over ``addin.sheet_api``.

Import in Excel via the xlwings add-in ("Import Functions", UDF module ``addin.xlwings.functions``):

    =COBRO_AGING(TODAY())            spills the aging per customer and currency
    =COBRO_AGING(TODAY(), "invoice") one row per open item
    =COBRO_KPIS(TODAY(), 3)          DSO, countback DSO, best possible DSO, ADD, CEI
    =COBRO_WORKLIST(TODAY(), 20)     whom to call first
"""

from __future__ import annotations

from typing import Any

import xlwings as xw

from addin import sheet_api


def _book_rows(book: Any) -> list[tuple[str, list[list[Any]], int]]:
    out = []
    for sheet in book.sheets:
        used = sheet.used_range
        rows = used.options(ndim=2).value or []
        out.append((sheet.name, rows, used.row))
    return out


def _run(caller: Any, fn: Any, *args: Any) -> list[list[Any]]:
    try:
        ledger = sheet_api.ledger_from_sheets(_book_rows(caller.sheet.book))
        return sheet_api.pad(fn(ledger, *args))
    except Exception as e:  # shown in the cells, never a #VALUE! without a reason
        return sheet_api.pad(sheet_api.error_cells(e))


@xw.func
@xw.ret(expand="table")
def COBRO_AGING(as_of: Any, by: str = "customer", caller: Any = None) -> list[list[Any]]:  # noqa: N802
    return _run(caller, sheet_api.aging_cells, as_of, by)


@xw.func
@xw.ret(expand="table")
def COBRO_KPIS(as_of: Any, months: int = 3, caller: Any = None) -> list[list[Any]]:  # noqa: N802
    return _run(caller, sheet_api.kpi_cells, as_of, months)


@xw.func
@xw.ret(expand="table")
def COBRO_WORKLIST(as_of: Any, limit: int = 0, caller: Any = None) -> list[list[Any]]:  # noqa: N802
    return _run(caller, sheet_api.worklist_cells, as_of, limit)
