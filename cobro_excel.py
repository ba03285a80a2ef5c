"""The module of the desktop Excel add-in ``cobro_excel.xlam`` (``cobro addin build``).

xlwings' ribbon add-in template runs ``import <add-in file's base name>; <base name>.main()`` from its button, and
loads the cell functions of the modules its configuration sheet lists ("UDF Modules": ``cobro_excel``). This
module is that name — a top-level module of its own, so the core package ``cobro`` is never mistaken for it.
"""

from __future__ import annotations

from addin.xlwings.functions import COBRO_AGING, COBRO_FORECAST, COBRO_KPIS, COBRO_WORKLIST

__all__ = ["COBRO_AGING", "COBRO_FORECAST", "COBRO_KPIS", "COBRO_WORKLIST", "main"]


def main() -> None:
    """The Send reminders button: the reminders of the workbook that called, sent once, logged in it."""
    import xlwings as xw

    from addin.xlwings.actions import send_reminders, show_error
    from cobro.errors import CobroError

    book = xw.Book.caller()
    try:
        send_reminders(book)
    except CobroError as e:
        show_error(book, e)
