"""Cell functions for desktop Excel (xlwings UDFs), loaded by the add-in ``cobro_excel.xlam`` (its configuration
sheet lists the module ``cobro_excel``, which re-exports these):

    =COBRO_AGING(TODAY())            spills the aging per customer and currency (amounts as numbers)
    =COBRO_AGING(TODAY(), "invoice") one row per open item
    =COBRO_KPIS(TODAY(), 3)          DSO, countback DSO, best possible DSO, ADD, CEI
    =COBRO_WORKLIST(TODAY(), 20)     whom to call first
    =COBRO_FORECAST(TODAY(), "EUR")  expected cash-in per week (13 weeks and "later"), one currency
    =COBRO_FORECAST(TODAY(), "EUR", 1)  the expected cash-in of week 1 (a single number)

Each reads only the Excel tables it needs (``addin.xlwings.actions``), never every sheet's used range.
"""

from __future__ import annotations

from typing import Any

import xlwings as xw

from addin import sheet_api
from addin.xlwings import actions


def _run(caller: Any, fn: Any, *args: Any) -> list[list[Any]]:
    try:
        return sheet_api.pad(fn(caller.sheet.book, *args))
    except Exception as e:  # shown in the cells, never a #VALUE! without a reason
        return sheet_api.pad(sheet_api.error_cells(e))


@xw.func
@xw.ret(expand="table")
def COBRO_AGING(as_of: Any, by: str = "customer", caller: Any = None) -> list[list[Any]]:  # noqa: N802
    """The aging per customer and currency (or per open item with by="invoice"), amounts as numbers."""
    return _run(caller, actions.aging_cells, as_of, by)


@xw.func
@xw.ret(expand="table")
def COBRO_KPIS(as_of: Any, months: int = 3, caller: Any = None) -> list[list[Any]]:  # noqa: N802
    """DSO, countback DSO, best possible DSO, ADD and CEI per currency."""
    return _run(caller, actions.kpi_cells, as_of, months)


@xw.func
@xw.ret(expand="table")
def COBRO_WORKLIST(as_of: Any, limit: int = 0, caller: Any = None) -> list[list[Any]]:  # noqa: N802
    """Whom to contact first, why, and what to do next."""
    return _run(caller, actions.worklist_cells, as_of, limit)


@xw.func
@xw.ret(expand="table")
def COBRO_FORECAST(as_of: Any, currency: str = "", week: int = 0, weeks: int = 13,  # noqa: N802
                   caller: Any = None) -> list[list[Any]]:
    """Expected cash-in per week and currency (never added together); with a currency and a week, one amount."""
    return _run(caller, actions.forecast_cells, as_of, currency, week, weeks)
