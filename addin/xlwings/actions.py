"""What the Cobro ribbon and the cell functions of the desktop add-in (``cobro_excel.xlam``) do, given an xlwings
``Book``: no xlwings import here, so the tests drive it with an in-memory stand-in of the few calls it makes.

- ``send_reminders(book)``: the Send reminders button. Reads the ledger's tables through xlwings, plans today's
  reminders, asks the person to confirm the count and the total, sends them exactly once through the send journal
  beside the workbook (the same journal ``cobro remind`` and ``cobro serve`` use for that file), then writes the
  Contacts rows and the derived invoice columns through xlwings — the workbook is open: Excel writes it.
- ``aging_cells`` / ``kpi_cells`` / ``worklist_cells`` / ``forecast_cells``: the cell functions' tables, amounts as
  numbers, reading only the tables each needs.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

from cobro import money
from cobro.errors import CobroError, UserError

from .host import (
    FORECAST_TABLES,
    REPORT_TABLES,
    SEND_TABLES,
    WORKLIST_TABLES,
    apply_writes,
    read_tables,
    workbook_path,
)

TITLE = "cobro"
TEXT = {
    "en": {"confirm": "Send {count} reminders ({emails} e-mails) for {total}?\n\nEach is sent exactly once and "
                      "logged in {sheet}.",
           "nothing": "Nothing to send today.",
           "cancelled": "Nothing was sent.",
           "done": "{sent} sent, {failed} failed; {logged} contacts written to {sheet}.",
           "not_saved": "Save the workbook first: its send journal lives beside it."},
    "es": {"confirm": "¿Enviar {count} recordatorios ({emails} emails) por {total}?\n\nCada uno se envía una sola "
                      "vez y queda registrado en {sheet}.",
           "nothing": "Hoy no hay nada que enviar.",
           "cancelled": "No se ha enviado nada.",
           "done": "{sent} enviados, {failed} fallidos; {logged} gestiones escritas en {sheet}.",
           "not_saved": "Guarde antes el libro: su diario de envíos vive a su lado."},
}
_DECIMAL = re.compile(r"-?\d+(?:\.\d+)?")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TEXT_KEYS = {"customer_id", "currency", "name", "reason", "next_action", "invoice_id", "collector", "level",
              "bucket", "kind", "action", "promise"}


def _store(book: Any, keys: tuple[str, ...]) -> tuple[Any, Any]:
    from sync.table_store import TableStore

    read = read_tables(book, keys)
    return read, TableStore(list(read.values()), name=str(getattr(book, "name", "the workbook")))


def _totals_text(plan: Any, locale: str) -> str:
    totals: dict[str, int] = {}
    for it in plan.items:
        for cur, minor in it.totals.items():
            totals[cur] = totals.get(cur, 0) + int(minor)
    return " + ".join(money.format_money(v, c, locale) for c, v in sorted(totals.items())) or "0"


def send_reminders(book: Any, *, as_of: dt.date | None = None, confirm: bool = True, config: Any = None,
                   use_env: bool = True) -> dict[str, Any]:
    """The Send reminders button on ``book`` (see the module docstring). Returns what happened:
    ``{"state": "sent"|"nothing"|"cancelled", ...}``. Raises cobro's errors (the caller shows them)."""
    from sync.clock import company_today
    from sync.cycle import collect, letters_dir_for, outbox_for
    from sync.journal import journal_path_for

    read, store = _store(book, SEND_TABLES)
    led = store.load()
    locale = store.locale
    text = TEXT.get(locale, TEXT["en"])
    path = workbook_path(book)
    if path is None:
        raise UserError(text["not_saved"])
    day = as_of or company_today(led.settings)
    paths = {"journal_path": journal_path_for(path), "outbox": outbox_for(path)}
    plan = collect(store, day, dry_run=True, config=config, use_env=use_env, **paths).plan
    contacts = read["Contacts"].title if "Contacts" in read else "Contacts"
    if not plan.items:
        book.app.alert(text["nothing"], title=TITLE)
        return {"state": "nothing"}
    emails = sum(1 for it in plan.items if it.channel == "email")
    if confirm:
        answer = book.app.alert(text["confirm"].format(count=len(plan.items), emails=emails,
                                                       total=_totals_text(plan, locale), sheet=contacts),
                                title=TITLE, buttons="ok_cancel")
        if str(answer).lower() != "ok":
            return {"state": "cancelled"}
    result = collect(store, day, config=config, use_env=use_env, letters_dir=letters_dir_for(path, day), **paths)
    applied = apply_writes(book, read, store.writes())
    results = result.batch.results if result.batch is not None else []
    sent = sum(1 for r in results if r.status == "sent")
    failed = sum(1 for r in results if r.status == "failed")
    book.app.alert(text["done"].format(sent=sent, failed=failed, logged=result.logged, sheet=contacts), title=TITLE)
    return {"state": "sent", "result": result, "applied": applied, "sent": sent}


def show_error(book: Any, error: BaseException) -> None:
    """A user's mistake as a message box naming sheet, row and column (never a traceback)."""
    from cobro.ledger import LedgerError

    if isinstance(error, LedgerError):
        message = "\n".join(p.message(error.locale) for p in error.problems[:10])
    elif isinstance(error, CobroError):
        message = error.render(getattr(error, "locale", "en"))
    else:
        message = str(error)
    book.app.alert(message, title=TITLE, mode="critical")


def _numbers(rows: list[list[Any]]) -> list[list[Any]]:
    """Decimal text -> numbers (summable, chartable), ISO dates -> dates; ids and words stay text."""
    if not rows:
        return rows
    header = [str(h) for h in rows[0]]
    out = [list(rows[0])]
    for r in rows[1:]:
        row = []
        for key, v in zip(header, r, strict=False):
            if isinstance(v, str) and key not in _TEXT_KEYS:
                if _DECIMAL.fullmatch(v):
                    v = float(Decimal(v))
                elif _ISO_DATE.fullmatch(v):
                    v = dt.date.fromisoformat(v)
            row.append(v)
        out.append(row)
    return out


def aging_cells(book: Any, as_of: object, by: str = "customer") -> list[list[Any]]:
    """=COBRO_AGING: reads Settings, Customers, Invoices and Payments only."""
    from addin import sheet_api

    return _numbers(sheet_api.aging_cells(_store(book, REPORT_TABLES)[1].load(), as_of, by))


def kpi_cells(book: Any, as_of: object, months: int = 3) -> list[list[Any]]:
    """=COBRO_KPIS: reads Settings, Customers, Invoices and Payments only."""
    from addin import sheet_api

    return _numbers(sheet_api.kpi_cells(_store(book, REPORT_TABLES)[1].load(), as_of, months))


def worklist_cells(book: Any, as_of: object, limit: int = 0) -> list[list[Any]]:
    """=COBRO_WORKLIST: the report tables plus Contacts, Plans and Levels."""
    from addin import sheet_api

    return _numbers(sheet_api.worklist_cells(_store(book, WORKLIST_TABLES)[1].load(), as_of, limit))


def forecast_cells(book: Any, as_of: object, currency: str = "", week: int = 0, weeks: int = 13) -> list[list[Any]]:
    """=COBRO_FORECAST: the expected cash-in per week and currency (``cobro.forecast``), dates as dates, amounts
    as numbers; with ``week`` and ``currency`` the single amount. Reads the report tables plus Contacts."""
    from addin import sheet_api

    led = _store(book, FORECAST_TABLES)[1].load()
    rows = sheet_api.forecast_cells(led, as_of, currency or "", _whole(week), _whole(weeks) or 13)
    if len(rows) == 1 and len(rows[0]) == 1:  # one amount, no header
        return [[float(Decimal(str(rows[0][0])))]]
    return _numbers(rows)


def _whole(value: object) -> int:
    """A cell's whole number (Excel passes numbers as floats; blank as None)."""
    if value is None or value == "":
        return 0
    number = float(value)  # type: ignore[arg-type]
    if not number.is_integer():
        raise ValueError(f"{value!r} is not a whole number")
    return int(number)
