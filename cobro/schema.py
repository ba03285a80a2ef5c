"""The workbook contract of ``shared/ledger-schema.md`` as data.

Code speaks canonical keys; people see localized headers. A header in a sheet is matched
canonical-or-localized, case- and accent-insensitively (``normalize_header``).
"""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass

LOCALES = ("es", "en")


@dataclass(frozen=True)
class Column:
    key: str
    type: str  # text, int, date, datetime, money, enum, list, number, bool
    es: str
    en: str
    required: bool = False
    unique: bool = False
    derived: bool = False  # written by cobro
    choices: tuple[str, ...] = ()
    default: str | None = None

    def header(self, locale: str) -> str:
        return self.es if locale == "es" else self.en


@dataclass(frozen=True)
class Sheet:
    key: str  # canonical table name, e.g. "Invoices"
    es: str
    en: str
    columns: tuple[Column, ...]
    key_value: bool = False  # Settings: two columns, key and value
    append_only: bool = False

    def title(self, locale: str) -> str:
        return self.es if locale == "es" else self.en

    def column(self, key: str) -> Column:
        for c in self.columns:
            if c.key == key:
                return c
        raise KeyError(key)

    @property
    def keys(self) -> list[str]:
        return [c.key for c in self.columns]


C = Column

CUSTOMERS = Sheet("Customers", "Clientes", "Customers", (
    C("customer_id", "text", "ID cliente", "Customer ID", required=True, unique=True),
    C("name", "text", "Nombre", "Name", required=True),
    C("tax_id", "text", "Identificación fiscal", "Tax ID"),
    C("email", "list", "Email", "Email"),
    C("cc", "list", "CC", "CC"),
    C("phone", "text", "Teléfono", "Phone"),
    C("language", "enum", "Idioma", "Language", choices=("es", "en")),
    C("currency", "text", "Moneda", "Currency"),
    C("payment_terms_days", "int", "Plazo (días)", "Terms (days)"),
    C("credit_limit", "money", "Límite de crédito", "Credit limit"),
    C("collector", "text", "Gestor", "Collector"),
    C("status", "enum", "Estado", "Status", choices=("active", "paused", "legal", "closed"), default="active"),
    C("notes", "text", "Notas", "Notes"),
))

INVOICES = Sheet("Invoices", "Facturas", "Invoices", (
    C("invoice_id", "text", "Factura", "Invoice", required=True, unique=True),
    C("customer_id", "text", "ID cliente", "Customer ID", required=True),
    C("issue_date", "date", "Fecha emisión", "Issue date", required=True),
    C("due_date", "date", "Vencimiento", "Due date"),
    C("currency", "text", "Moneda", "Currency"),
    C("amount", "money", "Importe", "Amount", required=True),
    C("description", "text", "Concepto", "Description"),
    C("reference", "text", "Referencia", "Reference"),
    C("status", "enum", "Estado", "Status", choices=("open", "disputed", "written_off", "cancelled"), default="open"),
    C("dispute_reason", "text", "Motivo disputa", "Dispute reason"),
    C("paid", "money", "Pagado", "Paid", derived=True),
    C("balance", "money", "Saldo", "Balance", derived=True),
    C("days_overdue", "int", "Días vencida", "Days overdue", derived=True),
    C("reminder_level", "text", "Nivel", "Level", derived=True),
    C("last_contact", "date", "Última gestión", "Last contact", derived=True),
))

PAYMENTS = Sheet("Payments", "Pagos", "Payments", (
    C("payment_id", "text", "ID pago", "Payment ID"),
    C("date", "date", "Fecha", "Date", required=True),
    C("customer_id", "text", "ID cliente", "Customer ID", required=True),
    C("invoice_id", "text", "Factura", "Invoice"),
    C("amount", "money", "Importe", "Amount", required=True),
    C("currency", "text", "Moneda", "Currency"),
    C("method", "enum", "Medio", "Method", choices=("transfer", "card", "cash", "check", "direct_debit", "other")),
    C("reference", "text", "Referencia", "Reference"),
    C("source", "enum", "Origen", "Source", choices=("manual", "statement", "import"), default="manual"),
    C("statement_line", "text", "Línea extracto", "Statement line"),
))

CONTACTS = Sheet("Contacts", "Gestiones", "Contacts", (
    C("timestamp", "datetime", "Fecha y hora", "Timestamp", required=True),
    C("customer_id", "text", "ID cliente", "Customer ID", required=True),
    C("invoice_ids", "list", "Facturas", "Invoices"),
    C("channel", "enum", "Canal", "Channel", choices=("email", "phone", "whatsapp", "sms", "letter", "visit", "other")),
    C("direction", "enum", "Dirección", "Direction", choices=("out", "in")),
    C("level", "text", "Nivel", "Level"),
    C("outcome", "enum", "Resultado", "Outcome", choices=(
        "sent", "failed", "bounced", "reached", "no_answer", "promise", "dispute", "paid", "note")),
    C("promise_date", "date", "Fecha promesa", "Promise date"),
    C("promise_amount", "money", "Importe prometido", "Promised amount"),
    C("user", "text", "Usuario", "User"),
    C("subject", "text", "Asunto", "Subject"),
    C("notes", "text", "Notas", "Notes"),
    C("message_id", "text", "ID mensaje", "Message ID"),
), append_only=True)

PLANS = Sheet("Plans", "Acuerdos", "Plans", (
    C("plan_id", "text", "ID acuerdo", "Plan ID", required=True),
    C("customer_id", "text", "ID cliente", "Customer ID", required=True),
    C("invoice_ids", "list", "Facturas", "Invoices"),
    C("installment", "int", "Plazo", "Installment"),
    C("due_date", "date", "Vencimiento", "Due date"),
    C("amount", "money", "Importe", "Amount"),
    C("status", "enum", "Estado", "Status", choices=("pending", "paid", "missed"), default="pending"),
))

LEVELS = Sheet("Levels", "Niveles", "Levels", (
    C("level", "text", "Nivel", "Level", required=True, unique=True),
    C("days", "int", "Días", "Days", required=True),
    C("channel", "enum", "Canal", "Channel", choices=("email", "phone", "whatsapp", "letter"), default="email"),
    C("template", "text", "Plantilla", "Template"),
    C("stop", "bool", "Parar", "Stop", default="no"),
    C("attach_statement", "bool", "Adjuntar extracto", "Attach statement", default="no"),  # issue 13: e-mail levels
))

TEMPLATES = Sheet("Templates", "Plantillas", "Templates", (
    C("template", "text", "Plantilla", "Template", required=True),
    C("language", "enum", "Idioma", "Language", choices=("es", "en"), required=True),
    C("subject", "text", "Asunto", "Subject"),
    C("body", "text", "Cuerpo", "Body"),
))

SETTINGS = Sheet("Settings", "Configuración", "Settings", (
    C("key", "text", "Clave", "Key", required=True),
    C("value", "text", "Valor", "Value"),
), key_value=True)

STATEMENT = Sheet("Statement", "Extracto", "Statement", (
    C("date", "text", "Fecha", "Date"),
    C("value_date", "text", "F. valor", "Value date"),
    C("text", "text", "Concepto", "Description"),
    C("amount", "text", "Importe", "Amount"),
    C("balance", "text", "Saldo", "Balance"),
))

MATCHES = Sheet("Matches", "Conciliación", "Matches", (
    C("statement_line", "text", "Línea extracto", "Statement line", required=True),
    C("date", "date", "Fecha", "Date"),
    C("amount", "money", "Importe", "Amount"),
    C("currency", "text", "Moneda", "Currency"),
    C("text", "text", "Concepto", "Description"),
    C("invoice_ids", "list", "Facturas", "Invoices"),
    C("customer_id", "text", "ID cliente", "Customer ID"),
    C("confidence", "number", "Confianza", "Confidence"),
    C("reason", "text", "Motivo", "Reason"),
    C("action", "enum", "Acción", "Action", choices=("accept", "reject")),
    C("statement", "text", "Extracto", "Statement"),  # which statement proposed the row (kept per statement)
    C("kind", "text", "Tipo", "Kind"),  # payment, return or fee (returns and fees are never applied as payments)
))

SHEETS: tuple[Sheet, ...] = (
    CUSTOMERS, INVOICES, PAYMENTS, CONTACTS, PLANS, LEVELS, TEMPLATES, SETTINGS, STATEMENT, MATCHES,
)
SHEETS_BY_KEY = {s.key: s for s in SHEETS}

# Dashboard (issue 14): written by ``cobro refresh`` (``Changes.replace``), never read into the ledger. The template
# (sheets_templates/dashboard.py) puts this table under a native chart over the Summary's formulas.
DASHBOARD = Sheet("Dashboard", "Panel", "Dashboard", (
    C("section", "text", "Sección", "Section"),  # kpi, worklist, forecast
    C("label", "text", "Concepto", "Item"),
    C("currency", "text", "Moneda", "Currency"),
    C("amount", "money", "Importe", "Amount"),
    C("figure", "number", "Cifra", "Figure"),
    C("detail", "text", "Detalle", "Detail"),
))
SHEETS_BY_KEY[DASHBOARD.key] = DASHBOARD

# Summary sheet (formulas only, built by sheets_templates); not a data table.
SUMMARY_TITLE = {"es": "Resumen", "en": "Summary"}

# Settings keys with their defaults (values as a person would type them).
SETTINGS_DEFAULTS: dict[str, str] = {
    "company_name": "",
    "sender_name": "",
    "sender_email": "",
    "reply_to": "",
    "locale": "es",
    "timezone": "Europe/Madrid",
    "base_currency": "EUR",
    "aging_buckets": "30,60,90,120",
    "aging_basis": "due_date",
    "country": "ES",
    "business_days_only": "yes",
    "send_window": "08:00-18:00",
    "min_reminder_amount": "0",
    "payment_instructions": "",
    "early_payment_discount": "",
    "late_interest_annual_pct": "0",
    "promise_grace_days": "3",
    "bank_fee_tolerance": "0",
    # Judgement (issue 13): per currency; a cell left blank takes these, "none" switches one off.
    "min_reminder_amounts": "EUR 30; USD 30; GBP 25; MXN 600; COP 120000; CLP 30000; PEN 100; ARS 30000; BRL 150",
    "min_formal_amounts": "EUR 150; USD 150; GBP 150; MXN 3000; COP 600000; CLP 150000; PEN 500; ARS 150000; "
                          "BRL 800",
    "write_off_tolerance": "EUR 1; USD 1; GBP 1; MXN 20; COP 5000; CLP 1000; PEN 5; ARS 1000; BRL 5",
    # Issue 13: what goes out to customers. These rows are read by cobro.payment / cobro.interest /
    # cobro.statement from Settings.extra (SETTINGS_PASS_THROUGH), validated by parse_settings.
    "company_tax_id": "",
    "company_address": "",
    "company_phone": "",
    "logo": "",
    "beneficiary": "",
    "iban": "",
    "bic": "",
    "bizum": "",
    "payment_link_template": "",
    "late_interest_enabled": "no",
    "ecb_rates": "",
    "max_payment_terms_days": "",
}

# Settings keys kept as written in ``Settings.extra`` (their readers live in cobro.payment, cobro.interest and
# cobro.statement), although a new workbook lists them.
SETTINGS_PASS_THROUGH: frozenset[str] = frozenset({
    "company_tax_id", "company_address", "company_phone", "logo", "beneficiary", "iban", "bic", "bizum",
    "payment_link_template", "late_interest_enabled", "ecb_rates", "max_payment_terms_days",
})

# Localized labels for enum values people may type in Spanish.
ENUM_LABELS_ES: dict[str, str] = {
    # customers.status
    "activo": "active", "pausado": "paused", "legal": "legal", "cerrado": "closed",
    # invoices.status
    "abierta": "open", "en disputa": "disputed", "disputada": "disputed", "incobrable": "written_off",
    "cancelada": "cancelled", "anulada": "cancelled",
    # payments.method
    "transferencia": "transfer", "tarjeta": "card", "efectivo": "cash", "cheque": "check",
    "domiciliacion": "direct_debit", "domiciliación": "direct_debit", "otro": "other",
    # payments.source
    "manual": "manual", "extracto": "statement", "importacion": "import", "importación": "import",
    # contacts
    "telefono": "phone", "teléfono": "phone", "carta": "letter", "visita": "visit",
    "salida": "out", "entrada": "in", "saliente": "out", "entrante": "in",
    "enviado": "sent", "fallido": "failed", "rebotado": "bounced", "contactado": "reached",
    "sin respuesta": "no_answer", "promesa": "promise", "disputa": "dispute", "pagado": "paid", "nota": "note",
    # plans
    "pendiente": "pending", "pagada": "paid", "incumplida": "missed",
    # matches
    "aceptar": "accept", "rechazar": "reject",
    # languages
    "espanol": "es", "español": "es", "ingles": "en", "inglés": "en", "spanish": "es", "english": "en",
    # yes/no
    "si": "yes", "sí": "yes",
}

# Spanish labels shown in drop-downs for each enum value (English shows the key itself).
ENUM_DISPLAY_ES: dict[str, str] = {
    "active": "activo", "paused": "pausado", "legal": "legal", "closed": "cerrado",
    "open": "abierta", "disputed": "en disputa", "written_off": "incobrable", "cancelled": "cancelada",
    "transfer": "transferencia", "card": "tarjeta", "cash": "efectivo", "check": "cheque",
    "direct_debit": "domiciliación", "other": "otro", "statement": "extracto", "import": "importación",
    "phone": "teléfono", "letter": "carta", "visit": "visita", "out": "salida", "in": "entrada",
    "sent": "enviado", "failed": "fallido", "bounced": "rebotado", "reached": "contactado",
    "no_answer": "sin respuesta", "promise": "promesa", "dispute": "disputa", "paid": "pagado", "note": "nota",
    "pending": "pendiente", "missed": "incumplida", "accept": "aceptar", "reject": "rechazar",
}


def strip_accents(text: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))


def normalize_header(text: object) -> str:
    """Case-, accent-, space- and punctuation-insensitive form of a header or label."""
    s = strip_accents(str(text)).casefold().strip()
    return "".join(ch for ch in s if ch.isalnum())


def header_map(sheet: Sheet) -> dict[str, str]:
    """normalized header -> canonical key, for every accepted spelling of every column."""
    out: dict[str, str] = {}
    for c in sheet.columns:
        for spelling in (c.key, c.es, c.en):
            out[normalize_header(spelling)] = c.key
    return out


def find_sheet(title: str) -> Sheet | None:
    """The sheet spec whose canonical, Spanish or English title matches ``title``."""
    n = normalize_header(title)
    for s in (*SHEETS, DASHBOARD):
        if n in (normalize_header(s.key), normalize_header(s.es), normalize_header(s.en)):
            return s
    return None


@functools.cache
def _enum_table(choices: tuple[str, ...], is_bool: bool) -> dict[str, str]:
    """normalized spelling -> canonical value, built once per set of choices (canonical spellings win)."""
    table: dict[str, str] = {}
    for label, canon in ENUM_LABELS_ES.items():
        if canon in choices:
            table[normalize_header(label)] = canon
    for choice in choices:
        table[normalize_header(choice)] = choice
    if is_bool:
        for word in ("true", "1", "y", "s", "x"):
            table.setdefault(word, "yes")
        for word in ("false", "0", "n"):
            table.setdefault(word, "no")
    return table


def canonical_enum(column: Column, value: object) -> str | None:
    """The canonical enum value for a typed value or localized label, or None if not allowed."""
    raw = str(value).strip()
    if raw == "":
        return ""
    is_bool = column.type == "bool"
    choices = ("yes", "no") if is_bool else column.choices
    found = _enum_table(choices, is_bool).get(normalize_header(raw))
    if found is None and is_bool and normalize_header(raw) == "":
        return "no"
    return found


def enum_label(value: str, locale: str) -> str:
    """How an enum value is shown in a workbook of ``locale`` (Spanish labels in ``es``)."""
    if locale == "es":
        if value in ("yes", "no"):
            return {"yes": "sí", "no": "no"}[value]
        return ENUM_DISPLAY_ES.get(value, value)
    return value
