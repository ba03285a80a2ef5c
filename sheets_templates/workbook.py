"""Build a cobro ledger workbook (.xlsx) with xlsxwriter.

Every sheet of ``cobro.schema.SHEETS`` becomes one Excel table (ListObject) named by its canonical
key (``Invoices``, ``Payments`` …) with localized headers, drop-downs for enums, date and money
formats and a frozen header row. A ``Resumen``/``Summary`` sheet holds the aging by bucket per
currency as ordinary formulas (Excel 2010+ functions only) over the tables.

Decisions the readers and writers of the workbook rely on:

- **Empty tables** hold exactly one blank data row (Excel needs one). Its helper-column formulas
  evaluate to ``""`` and are written with an empty cached value, so the row reads back as fully
  blank; the .xlsx reader skips fully blank rows.
- **Helper columns** (``HELPER_COLUMNS``): the Invoices and Payments tables end with calculated
  columns that feed the Summary (resolved currency, ageing date, issue date of the paid invoice).
  Their headers match no schema column, so readers treat them as the user's extra columns. They are
  Excel *calculated columns* (structured references ``Table[[#This Row],[Col]]``): Excel fills them
  in for rows typed by hand, and a writer that appends rows must copy the formula from the row
  above (the xlsx store does).
- **Defined names**: ``cobro_as_of`` (Summary as-of cell, ``=TODAY()`` unless a date was given),
  ``cobro_basis`` (``due_date``/``issue_date``) and ``cobro_base`` (base currency, read from Settings).
- Money is written as numbers from exact minor units (``minor / 10**exponent``), formatted with
  the currency's decimals per row; dates as date serials with a date format; enums as their
  localized labels (``cobro.schema.enum_label``); lists joined with ``"; "``; text always as string
  cells, outside text neutralized against formula injection like every other writer.
"""

from __future__ import annotations

import datetime as dt
import io
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import IO, Any

import numpy as np
import pandas as pd
import xlsxwriter
from xlsxwriter.utility import xl_col_to_name, xl_rowcol_to_cell

from cobro import money
from cobro.defaults import default_levels, default_settings, default_templates
from cobro.ledger import Ledger, Settings, format_amounts_by_currency
from cobro.safety import neutralize_formula
from cobro.schema import (
    CUSTOMERS,
    ENUM_DISPLAY_ES,
    ENUM_LABELS_ES,
    INVOICES,
    PAYMENTS,
    SETTINGS,
    SETTINGS_DEFAULTS,
    SHEETS,
    SUMMARY_TITLE,
    Column,
    Sheet,
    enum_label,
    normalize_header,
)

MAX_ROW = 1_048_575  # last 0-based row of a sheet
SPARE_CURRENCY_ROWS = 3
DEFAULT_BUCKETS = (30, 60, 90, 120)
CLOSED_STATUSES = ("cancelled", "written_off")

# ----------------------------------------------------------------------------------- helper columns


@dataclass(frozen=True)
class Helper:
    """A calculated column appended to a table for the Summary's formulas (readers ignore it)."""

    key: str
    es: str
    en: str
    kind: str  # "text" or "date"
    note_es: str
    note_en: str

    def header(self, locale: str) -> str:
        return self.es if locale == "es" else self.en


HELPER_COLUMNS: dict[str, tuple[Helper, ...]] = {
    "Invoices": (
        Helper("calc_currency", "Moneda (cálc.)", "Currency (calc.)", "text",
               "Moneda efectiva: la de la factura, si no la del cliente, si no la moneda base.",
               "Effective currency: the invoice's, else the customer's, else the base currency."),
        Helper("aging_date", "F. antigüedad", "Aging date", "date",
               "Fecha desde la que se cuenta la antigüedad (vencimiento, o emisión + plazo del cliente; "
               "emisión si la base es issue_date). Vacía si la factura está cancelada o es incobrable.",
               "Date the age is counted from (due date, or issue date + customer terms; issue date when the "
               "basis is issue_date). Blank when the invoice is cancelled or written off."),
    ),
    "Payments": (
        Helper("calc_currency", "Moneda (cálc.)", "Currency (calc.)", "text",
               "Moneda efectiva: la del pago, si no la de la factura, si no la del cliente, si no la base.",
               "Effective currency: the payment's, else the invoice's, else the customer's, else the base."),
        Helper("aging_date", "Vto. factura", "Invoice due", "date",
               "Fecha de antigüedad de la factura pagada (la del pago si es un anticipo sin factura). "
               "Vacía si la factura está cancelada o es incobrable.",
               "Aging date of the invoice paid (the payment date for an advance without invoice). "
               "Blank when the invoice is cancelled or written off."),
        Helper("invoice_issued", "Emisión factura", "Invoice issued", "date",
               "Fecha de emisión de la factura pagada (la del pago si es un anticipo). Un pago de una factura "
               "emitida después de la fecha de cálculo cuenta como anticipo.",
               "Issue date of the invoice paid (the payment date for an advance). A payment of an invoice issued "
               "after the as-of date counts as an advance."),
    ),
}

_HELPER_NOTE_TAIL = {
    "es": "\n\nColumna calculada para la hoja Resumen; cobro no la lee. No la borre.",
    "en": "\n\nCalculated column for the Summary sheet; cobro does not read it. Do not delete it.",
}


def _esc(header: str) -> str:
    """Escape a column name for a structured reference (' [ ] # take a leading quote)."""
    out = []
    for ch in header:
        if ch in "'[]#":
            out.append("'")
        out.append(ch)
    return "".join(out)


def _col(table: str, header: str) -> str:
    return f"{table}[[{_esc(header)}]]"


def _this(table: str, header: str) -> str:
    return f"{table}[[#This Row],[{_esc(header)}]]"


def _closed_labels() -> list[str]:
    """Every spelling the parser accepts for a closed invoice status, lower-case without spaces/_/-."""
    canon = set(CLOSED_STATUSES)
    spellings = set(canon)
    spellings |= {label for label, value in ENUM_LABELS_ES.items() if value in canon}
    spellings |= {label for value, label in ENUM_DISPLAY_ES.items() if value in canon}
    out: set[str] = set()
    for s in spellings:
        plain = s.lower().replace(" ", "").replace("_", "").replace("-", "")
        out.add(plain)
        out.add(normalize_header(s))
    return sorted(out)


def helper_formulas(locale: str) -> dict[str, dict[str, str]]:
    """Per table key, per helper header: the calculated-column formula (file syntax, leading ``=``).

    The same text is valid in every row (structured ``[#This Row]`` references), so a writer that
    appends rows can copy it verbatim.
    """
    h = {c.key: c.header(locale) for c in INVOICES.columns}
    p = {c.key: c.header(locale) for c in PAYMENTS.columns}
    cu = {c.key: c.header(locale) for c in CUSTOMERS.columns}
    ih = {x.key: x.header(locale) for x in HELPER_COLUMNS["Invoices"]}
    ph = {x.key: x.header(locale) for x in HELPER_COLUMNS["Payments"]}
    inv = lambda k: _this("Invoices", h[k])  # noqa: E731
    pay = lambda k: _this("Payments", p[k])  # noqa: E731
    def customer(field: str, id_ref: str) -> str:
        """The customer's ``field`` as text ("" when unknown or blank)."""
        return (f"IFERROR(INDEX({_col('Customers', cu[field])},MATCH({id_ref},{_col('Customers', cu['customer_id'])},"
                f"0))&\"\",\"\")")

    closed = ",".join(f'"{s}"' for s in _closed_labels())
    status_norm = f'SUBSTITUTE(SUBSTITUTE(SUBSTITUTE(LOWER(TRIM({inv("status")}))," ",""),"_",""),"-","")'
    is_closed = f"ISNUMBER(MATCH({status_norm},{{{closed}}},0))"
    terms = (f"IFERROR(N(INDEX({_col('Customers', cu['payment_terms_days'])},MATCH({inv('customer_id')},"
             f"{_col('Customers', cu['customer_id'])},0))),0)")
    inv_currency = (f'=IF({inv("invoice_id")}="","",UPPER(LEFT(TRIM(IF(TRIM({inv("currency")})<>"",'
                    f'{inv("currency")},{customer("currency", inv("customer_id"))}))&cobro_base,3)))')
    issue = inv("issue_date")
    due = inv("due_date")
    aging_date = (f'=IF(OR({inv("invoice_id")}="",{is_closed}),"",'
                  f'IF(cobro_basis="issue_date",IF(ISNUMBER({issue}),INT({issue}),""),'
                  f'IF(ISNUMBER({due}),INT({due}),IF(ISNUMBER({issue}),INT({issue})+{terms},""))))')

    # The row of the paid invoice. A binary search (MATCH type 1) is tried first and kept only when it
    # landed on the very id: that is O(log n) when invoices are in id order (the usual case), and an
    # exact MATCH otherwise, so the answer is right either way (LibreOffice scans linearly for type 0).
    pid, ids = pay("invoice_id"), _col("Invoices", h["invoice_id"])
    pay_match = (f"IFERROR(IF(INDEX({ids},MATCH({pid},{ids},1))={pid},MATCH({pid},{ids},1),MATCH({pid},{ids},0)),"
                 f"MATCH({pid},{ids},0))")
    no_invoice = f'TRIM({pay("invoice_id")})=""'
    blank_pay = f'OR(NOT(ISNUMBER({pay("date")})),NOT(ISNUMBER({pay("amount")})))'
    pay_currency = (f'=IF({pay("amount")}="","",UPPER(LEFT(TRIM(IF(TRIM({pay("currency")})<>"",{pay("currency")},'
                    f'IF({no_invoice},{customer("currency", pay("customer_id"))},'
                    f'IFERROR(INDEX({_col("Invoices", ih["calc_currency"])},{pay_match})&"",""))))'
                    f'&cobro_base,3)))')
    # An unknown invoice makes the payment an advance (as in cobro.aging), aged by its own date.
    pay_aging = (f'=IF({blank_pay},"",IF({no_invoice},INT({pay("date")}),'
                 f'IFERROR(INDEX({_col("Invoices", ih["aging_date"])},{pay_match}),INT({pay("date")}))))')
    pay_issued = (f'=IF({blank_pay},"",IF({no_invoice},INT({pay("date")}),'
                  f'IFERROR(INT(INDEX({_col("Invoices", h["issue_date"])},{pay_match})),INT({pay("date")}))))')
    return {
        "Invoices": {ih["calc_currency"]: inv_currency, ih["aging_date"]: aging_date},
        "Payments": {ph["calc_currency"]: pay_currency, ph["aging_date"]: pay_aging,
                     ph["invoice_issued"]: pay_issued},
    }


# ----------------------------------------------------------------------------------- settings text


def settings_values(settings: Settings) -> dict[str, str]:
    """The Settings sheet's key -> value text for a parsed ``Settings`` (round-trips through the parser)."""
    base = settings.base_currency
    epd = ""
    if settings.early_payment_discount:
        pct, days = settings.early_payment_discount
        epd = f"{pct}/{days}"
    start, end = settings.send_window
    out = {
        "company_name": settings.company_name,
        "sender_name": settings.sender_name,
        "sender_email": settings.sender_email,
        "reply_to": settings.reply_to,
        "locale": settings.locale,
        "timezone": settings.timezone,
        "base_currency": base,
        "aging_buckets": ",".join(str(b) for b in settings.aging_buckets),
        "aging_basis": settings.aging_basis,
        "country": settings.country,
        "business_days_only": "yes" if settings.business_days_only else "no",
        "send_window": f"{start:%H:%M}-{end:%H:%M}",
        "min_reminder_amount": money.format_decimal(settings.min_reminder_amount, base),
        "payment_instructions": settings.payment_instructions,
        "early_payment_discount": epd,
        "late_interest_annual_pct": str(settings.late_interest_annual_pct),
        "promise_grace_days": str(settings.promise_grace_days),
        "bank_fee_tolerance": money.format_decimal(settings.bank_fee_tolerance, base),
        "min_reminder_amounts": format_amounts_by_currency(settings.min_reminder_amounts),
        "min_formal_amounts": format_amounts_by_currency(settings.min_formal_amounts),
        "write_off_tolerance": format_amounts_by_currency(settings.write_off_tolerance),
    }
    out.update({k: str(v) for k, v in settings.extra.items() if k not in out})
    return out


_SETTING_NOTES: dict[str, tuple[str, str]] = {
    "company_name": ("Nombre de su empresa, tal como firma los avisos", "Your company name, as it signs reminders"),
    "sender_name": ("Quién firma los avisos", "Who signs the reminders"),
    "sender_email": ("Dirección remitente de los avisos", "Address reminders are sent from"),
    "reply_to": ("Dirección para respuestas", "Address replies go to"),
    "locale": ("Idioma por defecto: es o en", "Default language: es or en"),
    "timezone": ("Zona horaria IANA, p. ej. Europe/Madrid o America/Mexico_City",
                 "IANA time zone, e.g. Europe/London or America/New_York"),
    "base_currency": ("Moneda ISO 4217 por defecto (EUR, MXN, USD…)", "Default ISO 4217 currency (EUR, USD, GBP…)"),
    "aging_buckets": ("Tramos de antigüedad en días, p. ej. 30,60,90,120", "Aging buckets in days, e.g. 30,60,90,120"),
    "aging_basis": ("Antigüedad desde: due_date (vencimiento) o issue_date (emisión)",
                    "Age counted from: due_date or issue_date"),
    "country": ("País para los festivos (ISO 3166: ES, MX, CO…)", "Country for public holidays (ISO 3166: GB, US…)"),
    "business_days_only": ("Enviar solo en días laborables (sí/no)", "Send on business days only (yes/no)"),
    "send_window": ("Horario de envío, p. ej. 08:00-18:00", "Sending hours, e.g. 08:00-18:00"),
    "min_reminder_amount": ("No reclamar saldos menores que este importe", "No reminders for balances below this"),
    "payment_instructions": ("Cómo pagar (IBAN, referencia…), se incluye en los avisos",
                             "How to pay (bank account, reference…), shown in reminders"),
    "early_payment_discount": ("Descuento por pronto pago, p. ej. 2/10 = 2 % si paga en 10 días",
                               "Early-payment discount, e.g. 2/10 = 2% if paid within 10 days"),
    "late_interest_annual_pct": ("Interés de demora anual en %, p. ej. 8", "Annual late-payment interest in %, e.g. 8"),
    "promise_grace_days": ("Días de gracia tras una promesa de pago", "Grace days after a promise to pay"),
    "bank_fee_tolerance": ("Diferencia aceptada por comisiones bancarias al conciliar",
                           "Difference accepted for bank fees when reconciling"),
    "min_reminder_amounts": ("Por moneda: no recordar, llamar ni enviar carta por menos (none = sin mínimo)",
                             "Per currency: no reminder, call or letter below this (none = no minimum)"),
    "min_formal_amounts": ("Por moneda: mínimo para una carta o el aviso final",
                           "Per currency: minimum for a letter or the final notice"),
    "write_off_tolerance": ("Por moneda: restos hasta este importe se dan por perdidos o se reclaman con la "
                            "próxima factura", "Per currency: residuals up to this are written off or claimed with "
                            "the next invoice"),
    "company_tax_id": ("NIF/CIF de su empresa, en extractos y cartas", "Your company's tax ID, on statements"),
    "company_address": ("Dirección de su empresa (membrete de los extractos)", "Your address (statement letterhead)"),
    "company_phone": ("Teléfono de contacto del membrete", "Contact phone on the letterhead"),
    "logo": ("Logotipo: archivo PNG o JPG junto al libro (p. ej. logo.png)",
             "Logo: a PNG or JPG file next to the workbook (e.g. logo.png)"),
    "beneficiary": ("Titular de la cuenta (si se deja en blanco, el nombre de la empresa)",
                    "Account holder (blank: the company name)"),
    "iban": ("IBAN para cobrar: se comprueba su dígito de control; con EUR, código QR de pago",
             "IBAN to be paid into: its checksum is verified; in EUR, a payment QR code"),
    "bic": ("BIC/SWIFT del banco (opcional)", "The bank's BIC/SWIFT (optional)"),
    "bizum": ("Número o código Bizum (opcional)", "Bizum number or code (optional)"),
    "payment_link_template": ("Enlace de pago https con {invoice} y {amount}", "https payment link with {invoice} "
                              "and {amount}"),
    "late_interest_enabled": ("sí: extractos y avisos finales muestran intereses de la Ley 3/2004 y 40 EUR",
                              "yes: statements and final notices show Ley 3/2004 interest and 40 EUR"),
    "ecb_rates": ("Tipos del BCE por semestre que falten, p. ej. 2026-H1 2.15", "Missing ECB rates per half year, "
                  "e.g. 2026-H1 2.15"),
    "max_payment_terms_days": ("Plazo máximo legal en días (vacío: el de su país; none: no avisar)",
                               "Legal maximum payment term in days (blank: your country's; none: no warning)"),
}

_SETTING_CHOICES: dict[str, tuple[str, ...]] = {
    "locale": ("es", "en"),
    "aging_basis": ("due_date", "issue_date"),
    "business_days_only": ("yes", "no"),
}

# ----------------------------------------------------------------------------------- formats


class _Formats:
    def __init__(self, wb: xlsxwriter.Workbook, locale: str):
        date = "dd/mm/yyyy" if locale == "es" else "yyyy-mm-dd"
        self.date = wb.add_format({"num_format": date})
        self.datetime = wb.add_format({"num_format": date + " hh:mm"})
        self.int = wb.add_format({"num_format": "0"})
        self.number = wb.add_format({"num_format": "0.00"})
        self.text = wb.add_format({"num_format": "@"})
        self.plain = wb.add_format({})
        self.money = {e: wb.add_format({"num_format": "#,##0" + ("." + "0" * e if e else "")}) for e in range(5)}
        self.helper_header = wb.add_format({"italic": True, "font_color": "#595959", "bold": True})
        self.helper_date = wb.add_format({"num_format": date, "font_color": "#595959"})
        self.helper_text = wb.add_format({"font_color": "#595959"})
        self.title = wb.add_format({"bold": True, "font_size": 14})
        self.label = wb.add_format({"bold": True})
        self.note = wb.add_format({"italic": True, "font_color": "#595959"})
        self.input_date = wb.add_format({"num_format": date, "bg_color": "#FFF2CC", "border": 1})
        self.input = wb.add_format({"bg_color": "#FFF2CC", "border": 1})
        self.head = wb.add_format({"bold": True, "bg_color": "#1F4E78", "font_color": "#FFFFFF", "border": 1,
                                   "text_wrap": True, "align": "center", "valign": "vcenter"})
        self.cur = wb.add_format({"bold": True, "border": 1})
        self.sum_money = {e: wb.add_format({"num_format": "#,##0" + ("." + "0" * e if e else ""), "border": 1})
                          for e in range(5)}
        self.sum_total = {e: wb.add_format({"num_format": "#,##0" + ("." + "0" * e if e else ""), "border": 1,
                                            "bold": True, "bg_color": "#DDEBF7"}) for e in range(5)}
        self.overdue = wb.add_format({"bg_color": "#FFC7CE", "font_color": "#9C0006"})
        self.overdue_late = wb.add_format({"bg_color": "#FF7C80", "font_color": "#3F0000", "bold": True})


# ----------------------------------------------------------------------------------- data columns


_EXCEL_EPOCH = np.datetime64("1899-12-30", "ns")


def _serials(values: pd.Series, keep_time: bool) -> list[float | None]:
    arr = pd.to_datetime(values).to_numpy(dtype="datetime64[ns]")
    nat = np.isnat(arr)
    days = (arr - _EXCEL_EPOCH).astype("int64") / 86_400e9
    if not keep_time:
        days = np.floor(days)
    else:
        days = np.round(days * 86400) / 86400
    return [None if n else float(d) for d, n in zip(days.tolist(), nat.tolist(), strict=True)]


def _money_values(values: pd.Series, currencies: Sequence[str]) -> tuple[list[float | None], list[int]]:
    exps = [money.exponent(c) if money.is_known_currency(c) else 2 for c in currencies]
    out: list[float | None] = []
    for v, e in zip(values.tolist(), exps, strict=True):
        if v is None or v is pd.NA or (isinstance(v, float) and v != v):
            out.append(None)
        else:
            out.append(int(v) / (10 ** e))  # correctly rounded: the double nearest the exact decimal
    return out, exps


def _text_values(values: pd.Series) -> list[str | None]:
    out: list[str | None] = []
    for v in values.tolist():
        if v is None or v is pd.NA or (isinstance(v, float) and v != v):
            out.append(None)
            continue
        s = str(v)
        out.append(neutralize_formula(s) if s != "" else None)
    return out


def _list_values(values: pd.Series) -> list[str | None]:
    out: list[str | None] = []
    for v in values.tolist():
        items = v if isinstance(v, (list, tuple)) else ([] if v is None or v == "" else [v])
        s = "; ".join(str(x) for x in items if str(x))
        out.append(neutralize_formula(s) if s else None)
    return out


def _int_values(values: pd.Series) -> list[int | None]:
    return [None if v is None or v is pd.NA or (isinstance(v, float) and v != v) else int(v)
            for v in values.tolist()]


def _column_cells(col: Column, frame: pd.DataFrame, locale: str, fmts: _Formats,
                  currencies: Sequence[str]) -> tuple[list[Any], Callable[[int], Any] | Any, str]:
    """(values, format or per-row format function, write kind) for one schema column of a typed frame."""
    s = frame[col.key] if col.key in frame.columns else pd.Series([None] * len(frame), dtype=object)
    t = col.type
    if t == "money":
        vals, exps = _money_values(s, currencies)
        return vals, (lambda i: fmts.money[min(exps[i], 4)]), "number"
    if t == "date":
        return _serials(s, keep_time=False), fmts.date, "number"
    if t == "datetime":
        return _serials(s, keep_time=True), fmts.datetime, "number"
    if t == "int":
        return _int_values(s), fmts.int, "number"
    if t == "number":
        return [None if pd.isna(v) else float(v) for v in s.tolist()], fmts.number, "number"
    if t == "bool":
        return [enum_label("yes" if bool(v) else "no", locale) for v in s.tolist()], fmts.plain, "string"
    if t == "enum":
        return [enum_label(str(v), locale) if v not in (None, "") and v is not pd.NA else None
                for v in s.tolist()], fmts.plain, "string"
    if t == "list":
        return _list_values(s), fmts.plain, "string"
    return _text_values(s), fmts.plain, "string"


def _column_format(col: Column, fmts: _Formats) -> Any:
    return {"money": fmts.money[2], "date": fmts.date, "datetime": fmts.datetime, "int": fmts.int,
            "number": fmts.number}.get(col.type)


def _width(header: str, values: Sequence[Any], col: Column | None) -> float:
    if col is not None and col.key == "body":
        return 90
    if col is not None and col.type in ("date",):
        return max(12, len(header) + 3)
    if col is not None and col.type == "datetime":
        return max(17, len(header) + 3)
    longest = max((len(str(v)) for v in values[:300] if v is not None), default=0)
    if col is not None and col.type == "money":
        longest += 4
    return float(min(60, max(9, len(header) + 4, longest + 2)))


# ----------------------------------------------------------------------------------- the builder


def _frames(ledger: Ledger | None, locale: str) -> dict[str, pd.DataFrame]:
    from cobro.ledger import empty_frame

    out: dict[str, pd.DataFrame] = {}
    for spec in SHEETS:
        if spec.key_value:
            continue
        if ledger is None:
            frame = empty_frame(spec)
        elif spec.key == "Statement":
            frame = ledger.statement if isinstance(ledger.statement, pd.DataFrame) else pd.DataFrame()
        else:
            frame = ledger.frame(spec.key)
        out[spec.key] = frame
    if ledger is None or len(out["Levels"]) == 0:
        out["Levels"] = default_levels(locale)
    if ledger is None or len(out["Templates"]) == 0:
        out["Templates"] = default_templates()
    return out


def _currencies_for(spec: Sheet, frame: pd.DataFrame, base: str, cust_currency: dict[str, str]) -> list[str]:
    n = len(frame)
    if "currency" in frame.columns:
        cur = [str(c).upper() if isinstance(c, str) and c else "" for c in frame["currency"].tolist()]
    else:
        cur = [""] * n
    if "customer_id" in frame.columns:
        ids = frame["customer_id"].tolist()
        return [c or cust_currency.get(str(i), base) for c, i in zip(cur, ids, strict=True)]
    return [c or base for c in cur]


def _write_rows(ws: Any, first_row: int, col_idx: int, values: Sequence[Any], fmt: Any, kind: str) -> None:
    per_row = callable(fmt)
    if kind == "number":
        write = ws.write_number
    else:
        write = ws.write_string
    for i, v in enumerate(values):
        if v is None:
            continue
        write(first_row + i, col_idx, v, fmt(i) if per_row else fmt)


def _write_formula_column(ws: Any, first_row: int, n: int, col_idx: int, formula: str, fmt: Any) -> None:
    """The same calculated-column formula in every data row, with an empty cached value (so blank
    rows stay blank for readers and LibreOffice/Excel compute on load)."""
    ws.write_formula(first_row, col_idx, formula, fmt, "")
    table = getattr(ws, "table", None)
    template = table.get(first_row, {}).get(col_idx) if isinstance(table, dict) else None
    if template is not None and type(template).__name__ == "Formula" and not getattr(ws, "constant_memory", False):
        for r in range(first_row + 1, first_row + n):  # xlsxwriter re-parses each formula; share the cell
            table[r][col_idx] = template
        return
    for r in range(first_row + 1, first_row + n):  # pragma: no cover - other xlsxwriter internals
        ws.write_formula(r, col_idx, formula, fmt, "")


def _table_sheet(wb: xlsxwriter.Workbook, fmts: _Formats, spec: Sheet, frame: pd.DataFrame, locale: str,
                 base: str, cust_currency: dict[str, str]) -> Any:
    ws = wb.add_worksheet(spec.title(locale))
    n = len(frame)
    rows = max(n, 1)
    currencies = _currencies_for(spec, frame, base, cust_currency) if n else []
    helpers = HELPER_COLUMNS.get(spec.key, ())
    formulas = helper_formulas(locale).get(spec.key, {})
    columns: list[dict[str, Any]] = []
    for col in spec.columns:
        entry: dict[str, Any] = {"header": col.header(locale)}
        cf = _column_format(col, fmts)
        if cf is not None:
            entry["format"] = cf
        columns.append(entry)
    for h in helpers:
        columns.append({"header": h.header(locale), "header_format": fmts.helper_header,
                        "format": fmts.helper_date if h.kind == "date" else fmts.helper_text})
    last_col = len(columns) - 1
    ws.add_table(0, 0, rows, last_col, {"name": spec.key, "columns": columns, "style": "Table Style Medium 2"})
    # Calculated columns: the table XML carries the formula so Excel fills rows typed by hand.
    table_meta = ws.tables[-1]
    for j, h in enumerate(helpers):
        idx = len(spec.columns) + j
        f = formulas[h.header(locale)]
        table_meta["columns"][idx]["formula"] = f[1:]
        _write_formula_column(ws, 1, rows, idx, f, fmts.helper_date if h.kind == "date" else fmts.helper_text)
        ws.write_comment(0, idx, h.note_es + _HELPER_NOTE_TAIL["es"] if locale == "es"
                         else h.note_en + _HELPER_NOTE_TAIL["en"], {"x_scale": 2.5, "y_scale": 2})
        ws.set_column(idx, idx, max(13, len(h.header(locale)) + 4),
                      fmts.helper_date if h.kind == "date" else fmts.helper_text)
    for j, col in enumerate(spec.columns):
        values: list[Any] = []
        if n:
            values, fmt, kind = _column_cells(col, frame, locale, fmts, currencies)
            _write_rows(ws, 1, j, values, fmt, kind)
        ws.set_column(j, j, _width(col.header(locale), values, col), _column_format(col, fmts))
        if col.type in ("enum", "bool"):
            choices = col.choices if col.type == "enum" else ("yes", "no")
            labels = [enum_label(c, locale) for c in choices]
            ws.data_validation(1, j, MAX_ROW, j, {
                "validate": "list", "source": labels, "error_type": "warning",
                "error_title": "cobro", "error_message": (
                    "Valores: " if locale == "es" else "Values: ") + ", ".join(labels),
                "input_title": col.header(locale)[:32], "input_message": ", ".join(labels)[:255],
                "show_input": False})
    ws.freeze_panes(1, 0)
    return ws


def _invoice_highlights(ws: Any, fmts: _Formats, locale: str) -> None:
    """Overdue balances in red (darker after 60 days), as of the Summary's as-of date."""
    keys = INVOICES.keys
    bal = keys.index("balance")
    due = keys.index("due_date")
    b = xl_col_to_name(bal)
    d = xl_col_to_name(due)
    rng = (1, bal, MAX_ROW, bal)
    late = f"=AND(ISNUMBER(${b}2),${b}2>0,ISNUMBER(${d}2),${d}2<INT(cobro_as_of)-60)"
    overdue = f"=AND(ISNUMBER(${b}2),${b}2>0,ISNUMBER(${d}2),${d}2<INT(cobro_as_of))"
    ws.conditional_format(*rng, {"type": "formula", "criteria": late, "format": fmts.overdue_late,
                                 "stop_if_true": True})
    ws.conditional_format(*rng, {"type": "formula", "criteria": overdue, "format": fmts.overdue})
    days = keys.index("days_overdue")
    x = xl_col_to_name(days)
    ws.conditional_format(1, days, MAX_ROW, days, {"type": "formula", "criteria": f"=AND(ISNUMBER(${x}2),${x}2>60)",
                                                   "format": fmts.overdue_late, "stop_if_true": True})
    ws.conditional_format(1, days, MAX_ROW, days, {"type": "formula", "criteria": f"=AND(ISNUMBER(${x}2),${x}2>0)",
                                                   "format": fmts.overdue})


def _settings_sheet(wb: xlsxwriter.Workbook, fmts: _Formats, values: dict[str, str], locale: str) -> None:
    ws = wb.add_worksheet(SETTINGS.title(locale))
    keys = list(values)
    note_header = "Descripción" if locale == "es" else "Description"
    ws.add_table(0, 0, max(len(keys), 1), 2, {"name": SETTINGS.key, "style": "Table Style Medium 2", "columns": [
        {"header": SETTINGS.column("key").header(locale)},
        {"header": SETTINGS.column("value").header(locale)},
        {"header": note_header}]})
    for i, key in enumerate(keys):
        ws.write_string(i + 1, 0, key)
        v = values[key]
        if key in _SETTING_CHOICES:
            if key == "business_days_only":
                v = enum_label(v, locale) if v in ("yes", "no") else v
            labels = [enum_label(c, locale) if key == "business_days_only" else c for c in _SETTING_CHOICES[key]]
            ws.data_validation(i + 1, 1, i + 1, 1, {"validate": "list", "source": labels, "error_type": "warning"})
        if v != "":
            ws.write_string(i + 1, 1, neutralize_formula(v), fmts.text)
        else:
            ws.write_blank(i + 1, 1, None, fmts.text)
        note = _SETTING_NOTES.get(key)
        if note:
            ws.write_string(i + 1, 2, note[0] if locale == "es" else note[1], fmts.note)
    ws.set_column(0, 0, max(26, max((len(k) for k in keys), default=0) + 3))
    ws.set_column(1, 1, 48, fmts.text)
    ws.set_column(2, 2, 70)
    ws.freeze_panes(1, 0)


_SUMMARY_TEXT = {
    "es": {
        "title": "Antigüedad de saldos por moneda",
        "as_of": "Fecha de cálculo", "as_of_note": "Por defecto, =HOY(); escriba una fecha para fijarla.",
        "buckets": "Tramos (días)", "buckets_note": "Límites de los tramos; cámbielos también en Configuración "
                                                    "(aging_buckets) para que cobro use los mismos.",
        "basis": "Base", "basis_note": "due_date (vencimiento) o issue_date (emisión), como aging_basis.",
        "base": "Moneda base", "base_note": "De Configuración (base_currency): moneda de las filas sin moneda.",
        "currency": "Moneda", "not_due": "No vencido", "total_due": "Total vencido", "outstanding": "Pendiente",
        "credit_notes": "Abonos", "advance": "Anticipos", "decimals": "Dec.",
        "foot": ("Importes por moneda: nunca se suman monedas distintas. Pendiente = no vencido + total vencido. "
                 "Fórmulas sobre las tablas Facturas y Pagos (columnas calculadas al final de cada tabla), con la "
                 "misma semántica que `cobro aging`: pagos posteriores a la fecha de cálculo, facturas emitidas "
                 "después y facturas canceladas o incobrables no cuentan; los anticipos (pagos sin factura) y los "
                 "abonos (facturas negativas) restan en su tramo y se muestran aparte en positivo. "
                 "Escriba otra moneda en una fila vacía de la columna Moneda para verla."),
    },
    "en": {
        "title": "Receivables aging by currency",
        "as_of": "As of", "as_of_note": "By default =TODAY(); type a date to fix it.",
        "buckets": "Buckets (days)", "buckets_note": "Bucket bounds; change aging_buckets in Settings too so "
                                                     "cobro uses the same.",
        "basis": "Basis", "basis_note": "due_date or issue_date, as aging_basis.",
        "base": "Base currency", "base_note": "From Settings (base_currency): currency of rows with none.",
        "currency": "Currency", "not_due": "Not due", "total_due": "Total overdue", "outstanding": "Outstanding",
        "credit_notes": "Credit notes", "advance": "Advances", "decimals": "Dec.",
        "foot": ("Amounts per currency: different currencies are never added. Outstanding = not due + total "
                 "overdue. Formulas over the Invoices and Payments tables (calculated columns at the end of each "
                 "table), with the semantics of `cobro aging`: payments after the as-of date, invoices issued "
                 "after it and cancelled or written-off invoices count nothing; advances (payments without "
                 "invoice) and credit notes (negative invoices) count negative in their bucket and are shown "
                 "apart as positive amounts. Type another currency in an empty row of the Currency column to "
                 "see it."),
    },
}

# Summary layout (0-based rows/cols)
_AS_OF_ROW, _BUCKET_ROW, _BASIS_ROW, _BASE_ROW, _HEAD_ROW = 2, 3, 4, 5, 7


@dataclass(frozen=True)
class SummaryLayout:
    """Where the Summary's figures are (0-based row/col), for tests and hosts that read them.

    ``columns`` names each column of the figures table by the ``cobro.aging`` field it equals:
    ``currency``, ``not_due``, one bucket label per bucket (``0-30`` … ``121+``), ``total_due``,
    ``outstanding``, ``credit_notes``, ``advance``.
    """

    as_of_cell: tuple[int, int]
    bucket_cells: tuple[tuple[int, int], ...]
    basis_cell: tuple[int, int]
    header_row: int
    first_currency_row: int
    currencies: tuple[str, ...]
    columns: tuple[str, ...]

    def column(self, name: str) -> int:
        return self.columns.index(name)


def _labels(buckets: Sequence[int]) -> list[str]:
    labels, low = [], 0
    for b in buckets:
        labels.append(f"{low}-{b}")
        low = b + 1
    return labels + [f"{low}+"]


def summary_layout(currencies: Sequence[str], buckets: Sequence[int]) -> SummaryLayout:
    """The Summary's layout for these currencies (in row order) and bucket bounds."""
    cols = ("currency", "not_due", *_labels(buckets), "total_due", "outstanding", "credit_notes", "advance")
    return SummaryLayout(as_of_cell=(_AS_OF_ROW, 1),
                         bucket_cells=tuple((_BUCKET_ROW, 1 + i) for i in range(len(buckets))),
                         basis_cell=(_BASIS_ROW, 1), header_row=_HEAD_ROW, first_currency_row=_HEAD_ROW + 1,
                         currencies=tuple(currencies), columns=cols)


def _exponent_formula(cur_cell: str) -> str:
    """Decimals of the currency in ``cur_cell`` (ISO 4217), 2 for unknown codes."""
    groups = {e: sorted(c for c in money._EXPONENTS if money._EXPONENTS[c] == e) for e in (0, 3, 4)}
    parts = []
    for e in (0, 3, 4):
        arr = ",".join(f'"{c}"' for c in groups[e])
        parts.append(f"IF(ISNUMBER(MATCH({cur_cell},{{{arr}}},0)),{e},")
    return "=" + "".join(parts) + "2" + ")" * 3


def _shift(expr: str, days: int) -> str:
    """``(expr+days)`` written plainly (no ``--1``)."""
    if days == 0:
        return f"({expr})"
    return f"({expr}{'+' if days > 0 else '-'}{abs(days)})"


def _summary_sheet(wb: xlsxwriter.Workbook, fmts: _Formats, locale: str, currencies: list[str],
                   buckets: Sequence[int], basis: str, as_of: dt.date | None) -> SummaryLayout:
    """The Summary: as-of, bucket bounds and basis cells, then per currency the aging as formulas.

    Formulas use SUMIFS over the tables' columns plus their helper columns, so LibreOffice and
    Excel compute 100,000 rows in a few linear passes (no per-row SUMPRODUCT):

    - an invoice counts when issued on or before the as-of date and not closed (its aging date, a
      helper column, is blank when cancelled or written off), aged by that aging date;
    - a payment dated on or before the as-of date of an invoice issued on or before it lowers that
      invoice's bucket (helper: the invoice's aging date); a payment without invoice, or of an
      invoice issued after the as-of date, is an advance aged by its own date.
    """
    tx = _SUMMARY_TEXT[locale]
    ws = wb.add_worksheet(SUMMARY_TITLE[locale])
    layout = summary_layout(currencies, buckets)
    title = SUMMARY_TITLE[locale]
    ws.write_string(0, 0, tx["title"], fmts.title)
    ws.write_string(_AS_OF_ROW, 0, tx["as_of"], fmts.label)
    if as_of is None:
        ws.write_formula(_AS_OF_ROW, 1, "=TODAY()", fmts.input_date, "")
    else:
        ws.write_datetime(_AS_OF_ROW, 1, dt.datetime(as_of.year, as_of.month, as_of.day), fmts.input_date)
    ws.write_string(_AS_OF_ROW, 2, tx["as_of_note"], fmts.note)
    ws.write_string(_BUCKET_ROW, 0, tx["buckets"], fmts.label)
    for i, b in enumerate(buckets):
        ws.write_number(_BUCKET_ROW, 1 + i, int(b), fmts.input)
    ws.write_string(_BUCKET_ROW, 1 + len(buckets), tx["buckets_note"], fmts.note)
    ws.write_string(_BASIS_ROW, 0, tx["basis"], fmts.label)
    ws.write_string(_BASIS_ROW, 1, basis, fmts.input)
    ws.data_validation(_BASIS_ROW, 1, _BASIS_ROW, 1, {"validate": "list", "source": ["due_date", "issue_date"]})
    ws.write_string(_BASIS_ROW, 2, tx["basis_note"], fmts.note)
    ws.write_string(_BASE_ROW, 0, tx["base"], fmts.label)
    key_col = _col("Settings", SETTINGS.column("key").header(locale))
    val_col = _col("Settings", SETTINGS.column("value").header(locale))
    default_base = SETTINGS_DEFAULTS["base_currency"]
    ws.write_formula(_BASE_ROW, 1, f'=UPPER(LEFT(TRIM(IFERROR(INDEX({val_col},MATCH("base_currency",{key_col},0))'
                                   f'&"","")&"{default_base}"),3))', fmts.input, "")
    ws.write_string(_BASE_ROW, 2, tx["base_note"], fmts.note)
    sheet_ref = f"'{title}'"
    wb.define_name("cobro_as_of", f"={sheet_ref}!{xl_rowcol_to_cell(_AS_OF_ROW, 1, True, True)}")
    wb.define_name("cobro_basis", f"={sheet_ref}!{xl_rowcol_to_cell(_BASIS_ROW, 1, True, True)}")
    wb.define_name("cobro_base", f"={sheet_ref}!{xl_rowcol_to_cell(_BASE_ROW, 1, True, True)}")

    # Header row; bucket labels are formulas over the bound cells ("0-30" … "121+", as cobro labels them).
    hr = _HEAD_ROW
    cols = layout.columns
    bound = [xl_rowcol_to_cell(_BUCKET_ROW, 1 + i, True, True) for i in range(len(buckets))]
    labels = _labels(buckets)
    bcol0 = cols.index(labels[0])
    for j, name in enumerate(cols):
        if name in labels:
            i = labels.index(name)
            if i == 0:
                f = f'="0-"&{bound[0]}'
            elif i < len(buckets):
                f = f'=({bound[i - 1]}+1)&"-"&{bound[i]}'
            else:
                f = f'=({bound[-1]}+1)&"+"'
            ws.write_formula(hr, j, f, fmts.head, name)
        else:
            ws.write_string(hr, j, tx[name], fmts.head)
    dec_col = len(cols)
    ws.write_string(hr, dec_col, tx["decimals"], fmts.head)

    inv = {c.key: c.header(locale) for c in INVOICES.columns}
    pay = {c.key: c.header(locale) for c in PAYMENTS.columns}
    ih = {x.key: x.header(locale) for x in HELPER_COLUMNS["Invoices"]}
    ph = {x.key: x.header(locale) for x in HELPER_COLUMNS["Payments"]}
    i_amt, p_amt = _col("Invoices", inv["amount"]), _col("Payments", pay["amount"])
    i_age, p_age = _col("Invoices", ih["aging_date"]), _col("Payments", ph["aging_date"])
    p_date, p_issued = _col("Payments", pay["date"]), _col("Payments", ph["invoice_issued"])
    asof = "INT(cobro_as_of)"
    upto = f'"<"&({asof}+1)'  # on or before the as-of date (robust to a time of day in the cell)
    later = f'">="&({asof}+1)'

    n_rows = len(currencies) + SPARE_CURRENCY_ROWS
    for k in range(n_rows):
        r = hr + 1 + k
        cur = f"$A${r + 1}"
        known = k < len(currencies)
        e = money.exponent(currencies[k]) if known and money.is_known_currency(currencies[k]) else 2
        if known:
            ws.write_string(r, 0, currencies[k], fmts.cur)
        else:
            ws.write_blank(r, 0, None, fmts.input)
        dec = xl_rowcol_to_cell(r, dec_col)
        ws.write_formula(r, dec_col, _exponent_formula(cur), fmts.plain, "")
        i_common = (f'{_col("Invoices", ih["calc_currency"])},{cur},{_col("Invoices", inv["issue_date"])},{upto},'
                    f'{i_age},">0"')
        p_cur = f'{_col("Payments", ph["calc_currency"])},{cur},{p_date},{upto}'
        p_applied = f'{p_cur},{p_issued},{upto},{p_age},">0"'  # ages with its invoice
        p_future = f"{p_cur},{p_issued},{later}"  # invoice not issued yet: an advance, ages by payment date

        def aged(lo: int | None, hi: int | None, i_common: str = i_common, p_applied: str = p_applied,
                 p_future: str = p_future) -> str:
            """Signed balance of items whose age is in [lo, hi] days (None: unbounded)."""
            def crit(col: str) -> str:
                out = ""
                if hi is not None:  # age <= hi  <=>  date >= as_of - hi
                    out += f',{col},">="&{_shift(asof, -hi)}'
                if lo is not None:  # age >= lo  <=>  date < as_of - lo + 1
                    out += f',{col},"<"&{_shift(asof, 1 - lo)}'
                return out
            return (f"SUMIFS({i_amt},{i_common}{crit(i_age)})-SUMIFS({p_amt},{p_applied}{crit(p_age)})"
                    f"-SUMIFS({p_amt},{p_future}{crit(p_date)})")

        formulas: dict[str, str] = {"not_due": aged(None, -1)}
        low = 0
        for i, lab in enumerate(labels):
            formulas[lab] = aged(low, buckets[i] if i < len(buckets) else None)
            if i < len(buckets):
                low = buckets[i] + 1
        first_b, last_b = xl_rowcol_to_cell(r, bcol0), xl_rowcol_to_cell(r, bcol0 + len(labels) - 1)
        formulas["total_due"] = f"SUM({first_b}:{last_b})"
        formulas["outstanding"] = aged(None, None)
        formulas["credit_notes"] = f'0-SUMIFS({i_amt},{i_common},{i_amt},"<0")'
        formulas["advance"] = (f'SUMIFS({p_amt},{p_cur},{_col("Payments", pay["invoice_id"])},"")'
                               f"+SUMIFS({p_amt},{p_future})")
        for name, expr in formulas.items():
            j = cols.index(name)
            fmt = fmts.sum_total[e] if name in ("total_due", "outstanding") else fmts.sum_money[e]
            ws.write_formula(r, j, f'=IF({cur}="","",ROUND({expr},{dec}))', fmt, "")
    ws.write_string(hr + n_rows + 2, 0, tx["foot"], fmts.note)
    ws.set_column(0, 0, 18)
    ws.set_column(1, dec_col - 1, 14)
    ws.set_column(dec_col, dec_col, 5, None, {"hidden": True})
    ws.set_row(hr, 30)
    ws.freeze_panes(hr + 1, 1)
    ws.activate()
    return layout


def build_workbook(target: str | os.PathLike[str] | IO[bytes], locale: str = "es", ledger: Ledger | None = None,
                   as_of: dt.date | None = None, dashboard: bool = True) -> None:
    """Write a cobro ledger workbook to ``target`` (a path, overwritten, or a binary file object).

    Without ``ledger``: empty tables, default Settings for ``locale``, the default ladder and texts.
    With ``ledger``: its frames become the tables' rows (Levels/Templates fall back to the defaults
    when empty) and its Settings the Settings sheet. ``as_of`` fixes the Summary's as-of cell
    (default ``=TODAY()``). ``dashboard`` (default on): add the Dashboard sheet (``sheets_templates.dashboard``:
    the table ``cobro refresh`` fills and native aging charts over the Summary's formulas); without it, the first
    ``cobro refresh`` adds the sheet (``sync.dashboard_sheet``).
    """
    if locale not in ("es", "en"):
        raise ValueError(f"locale must be 'es' or 'en', not {locale!r}")
    if ledger is not None:
        values = settings_values(ledger.settings)
    else:
        values = default_settings(locale)
    base = values.get("base_currency") or SETTINGS_DEFAULTS["base_currency"]
    try:
        buckets: tuple[int, ...] = tuple(int(x) for x in values["aging_buckets"].replace(";", ",").split(",")
                                         if x.strip()) or DEFAULT_BUCKETS
    except ValueError:
        buckets = DEFAULT_BUCKETS
    basis = values.get("aging_basis") or "due_date"
    frames = _frames(ledger, locale)
    cust = frames["Customers"]
    cust_currency = {str(i): str(c).upper() for i, c in zip(cust["customer_id"].tolist(),
                                                            cust["currency"].tolist(), strict=True) if c} \
        if len(cust) else {}

    options = {"strings_to_formulas": False, "strings_to_numbers": False, "strings_to_urls": False,
               "default_date_format": "dd/mm/yyyy" if locale == "es" else "yyyy-mm-dd"}
    if isinstance(target, (str, os.PathLike)):
        wb = xlsxwriter.Workbook(os.fspath(target), options)
    else:
        wb = xlsxwriter.Workbook(target, {**options, "in_memory": True})
    wb.set_properties({"title": "cobro", "comments": "Built by cobro (sheets_templates)"})
    fmts = _Formats(wb, locale)

    seen: list[str] = [base]
    for key in ("Invoices", "Payments", "Customers"):
        f = frames[key]
        if len(f) and "currency" in f.columns:
            for c in f["currency"].tolist():
                c = str(c).upper() if isinstance(c, str) else ""
                if c and c not in seen:
                    seen.append(c)
    currencies = [base] + sorted(c for c in seen if c != base)

    layout = _summary_sheet(wb, fmts, locale, currencies, buckets, basis, as_of)
    for spec in SHEETS:
        if spec.key_value:
            _settings_sheet(wb, fmts, values, locale)
            continue
        ws = _table_sheet(wb, fmts, spec, frames[spec.key] if spec.key != "Statement" else
                          _statement_frame(frames["Statement"]), locale, base, cust_currency)
        if spec.key == "Invoices":
            _invoice_highlights(ws, fmts, locale)
    if dashboard:
        from .dashboard import dashboard_sheet

        dashboard_sheet(wb, locale, layout)  # issue 14: the table cobro refresh fills, charts over the Summary
    wb.close()


def _statement_frame(raw: pd.DataFrame) -> pd.DataFrame:
    """The pasted bank lines (raw cells) as the Statement table's columns; empty when none.

    A pasted header row is used to place the columns (and dropped); other columns fill the remaining
    places in order.
    """
    from cobro.schema import STATEMENT

    keys = STATEMENT.keys
    if raw is None or len(raw) == 0:
        return pd.DataFrame({k: pd.Series([], dtype=object) for k in keys})
    if all(k in raw.columns for k in keys):
        return raw[keys].astype(object).where(raw[keys].notna(), None)
    cols = [c for c in raw.columns if c != "_row"]
    spelled = {normalize_header(x): c.key for c in STATEMENT.columns for x in (c.key, c.es, c.en)}
    first = [normalize_header(v) if v is not None else "" for v in raw.iloc[0][cols].tolist()]
    placed: dict[str, object] = {}
    if sum(v in spelled for v in first if v) >= 2:
        for c, v in zip(cols, first, strict=True):
            if v in spelled and spelled[v] not in placed:
                placed[spelled[v]] = c
        raw = raw.iloc[1:]  # the pasted header row is the table's header, not a bank line
    rest = iter([c for c in cols if c not in placed.values()])
    out = {}
    for k in keys:
        c = placed[k] if k in placed else next(rest, None)
        out[k] = [None if v is None or (isinstance(v, float) and v != v) else str(v)
                  for v in raw[c].tolist()] if c is not None else [None] * len(raw)
    return pd.DataFrame(out)


def new_ledger(path: str | os.PathLike[str], locale: str = "es") -> None:
    """Create a new, empty ledger at ``path``; refuses to overwrite (``FileExistsError``)."""
    buf = io.BytesIO()
    build_workbook(buf, locale=locale)
    try:
        fh = open(path, "xb")  # exclusive create: never clobbers a file, even one that appeared meanwhile
    except FileExistsError:
        raise FileExistsError(f"{os.fspath(path)} already exists: a new ledger never overwrites a file "
                              "(choose another name, or move the old file away first)") from None
    with fh:
        fh.write(buf.getvalue())


def read_summary(source: str | os.PathLike[str] | bytes) -> dict[str, dict[str, float]]:
    """The Summary's figures as their cached values: ``{currency: {column: value}}``.

    Columns are named as in ``SummaryLayout.columns`` (``not_due``, ``0-30`` … ``121+``, ``total_due``,
    ``outstanding``, ``credit_notes``, ``advance``). Only meaningful after a spreadsheet application
    computed the formulas (e.g. ``sheets_templates.libreoffice.recalculate``); blank currency rows are
    left out. Values are the floats the application stored: compare them after rounding to the
    currency's decimals.
    """
    from python_calamine import CalamineWorkbook

    wb = (CalamineWorkbook.from_filelike(io.BytesIO(source)) if isinstance(source, bytes)
          else CalamineWorkbook.from_path(os.fspath(source)))
    titles = {normalize_header(t): t for t in SUMMARY_TITLE.values()}
    name = next((n for n in wb.sheet_names if normalize_header(n) in titles), None)
    if name is None:
        raise ValueError("the workbook has no Summary (Resumen) sheet")
    rows = wb.get_sheet_by_name(name).to_python()
    bounds = []
    for v in rows[_BUCKET_ROW][1:]:
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            bounds.append(int(v))
        else:
            break
    layout = summary_layout([], bounds)
    out: dict[str, dict[str, float]] = {}
    for row in rows[layout.first_currency_row:]:
        cur = str(row[0]).strip() if row and row[0] is not None else ""
        if not cur:
            continue
        if len(cur) != 3 or not cur.isalpha():
            break
        out[cur] = {c: row[j] for j, c in enumerate(layout.columns) if j > 0 and j < len(row)}
    return out
