"""Statements as tables: bank CSV exports and the rows pasted into the Statement sheet.

The table is found, not assumed: the movements are the block of rows that carry a date and an
amount; the header (if any) is the text row right above it; what comes before and after (a bank's
preamble and footer) is read only for the account number and stated opening/closing balances.
Columns are recognised by their headers in Spanish, English, German or French, and, where a header
is missing or unknown, by their content: a date column, an amount column, a balance column that
equals the running sum, and text columns. Whole columns settle the ambiguous cases: the decimal
mark (``cobro.money.detect_decimal_comma``), day-first or month-first dates
(``cobro.ledger.detect_day_first``, then the order of the rows), and unsigned amounts (through the
running balance).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from .. import money
from ..ledger import detect_day_first, parse_date_text
from ..schema import normalize_header
from ._common import assign_ids, balance_warning, clean_piece, fmt, iban_valid, join_text
from .base import AccountBalances, Statement, StatementError, StatementLine

Cell = object

_DATE_SHAPE = re.compile(r"^\d{1,4}[/.\-]\d{1,2}[/.\-]\d{1,4}"
                         r"(?:[ T]\d{1,2}:\d{2}(?::\d{2})?(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?)?$")
_MONTH_DAY_FIRST = re.compile(r"^(\d{1,2})[\s\-/.]+([^\W\d_]{3,10})\.?[\s\-/.,]+(\d{2}|\d{4})$")
_MONTH_FIRST = re.compile(r"^([^\W\d_]{3,10})\.?\s+(\d{1,2}),?\s+(\d{4})$")
_MONTHS = {
    "ene": 1, "enero": 1, "jan": 1, "january": 1, "janv": 1, "janvier": 1, "januar": 1,
    "feb": 2, "febrero": 2, "february": 2, "fev": 2, "fevr": 2, "fevrier": 2, "februar": 2,
    "mar": 3, "marzo": 3, "march": 3, "mars": 3, "marz": 3, "maerz": 3,
    "abr": 4, "abril": 4, "apr": 4, "april": 4, "avr": 4, "avril": 4,
    "may": 5, "mayo": 5, "mai": 5,
    "jun": 6, "junio": 6, "june": 6, "juin": 6, "juni": 6,
    "jul": 7, "julio": 7, "july": 7, "juil": 7, "juillet": 7, "juli": 7,
    "ago": 8, "agosto": 8, "aug": 8, "august": 8, "aout": 8,
    "sep": 9, "sept": 9, "set": 9, "septiembre": 9, "setiembre": 9, "september": 9, "septembre": 9,
    "oct": 10, "octubre": 10, "october": 10, "octobre": 10, "okt": 10, "oktober": 10,
    "nov": 11, "noviembre": 11, "november": 11, "novembre": 11,
    "dic": 12, "diciembre": 12, "dec": 12, "december": 12, "decembre": 12, "dez": 12, "dezember": 12,
}
_PLAIN_NUMBER = re.compile(r"^[-+(]?[\d.,' ]*\d[\d.,' ]*\)?-?$")
_HAS_DIGIT = re.compile(r"\d")
_TOO_MANY_LETTERS = re.compile(r"[^\W\d_][^\W\d_][^\W\d_][^\W\d_]|[^\W\d_].*[^\W\d_].*[^\W\d_].*[^\W\d_]")
_TWO_LETTERS = re.compile(r"[^\W\d_].*[^\W\d_]", re.S)
_SYMBOLS = {"€": "EUR", "£": "GBP", "US$": "USD", "U$S": "USD", "R$": "BRL", "S/": "PEN"}
_DOLLAR_CURRENCIES = {"USD", "MXN", "ARS", "CLP", "COP", "UYU", "CAD", "AUD", "NZD", "SGD", "HKD", "DOP"}
_CODE_AROUND = re.compile(r"^\s*([A-Z]{3})\s*([-+(]?\s*[\d.,'\s\u00a0]+\)?-?)\s*$|^\s*([-+(]?[\d.,'\s\u00a0]*\d[\d.,'\s"
                          r"\u00a0]*\)?-?)\s*([A-Z]{3})\s*$")

# ------------------------------------------------------------------------------------ header roles

# header words that tell the language of an export (for month-first dates: a US export)
_ENGLISH_HEADERS = {"date", "description", "amount", "balance", "debit", "credit", "details", "memo", "payee",
                    "transactiondate", "postingdate", "posteddate", "checknumber", "category", "type", "name",
                    "reference", "runningbalance", "runningbal", "withdrawals", "deposits", "status", "time", "gross",
                    "fee", "net", "currency", "label"}
_OTHER_HEADERS = {"fecha", "importe", "concepto", "saldo", "descripcion", "cargo", "abono", "debe", "haber", "datum",
                  "betrag", "buchungstag", "verwendungszweck", "libelle", "montant", "solde", "divisa", "moneda",
                  "bruto", "neto", "comision", "valor", "referencia", "fechavalor", "monto"}

_EXACT = {
    "buchungstext": "text", "verwendungszweck": "text", "libelle": "text", "label": "text",
    "valor": "valor", "importe": "amount", "amount": "amount", "betrag": "amount", "montant": "amount",
    "monto": "amount", "cantidad": "amount", "import": "amount", "umsatz": "amount",
    "iban": "iban", "bankaccount": "iban", "kontonummer": "iban", "kontonummeriban": "iban",
    "cuenta": "account", "numerodecuenta": "account", "ncuenta": "account", "account": "account",
    "accountnumber": "account", "micuenta": "account", "ownaccount": "account", "konto": "account",
    "compte": "account",
    "id": "reference", "fitid": "reference", "transactionid": "reference", "documento": "reference",
    "ndocumento": "reference", "numdocumento": "reference", "numerooperacion": "reference",
    "noperacion": "reference", "operationnumber": "reference", "kundenreferenz": "reference",
    "mandatsreferenz": "reference", "endtoendid": "reference", "iddetransaccion": "reference",
    "idtransaccion": "reference", "transaktionscode": "reference",
    "nombre": "name", "name": "name", "cliente": "name", "proveedor": "name", "payee": "name", "payer": "name",
    "dia": "date", "f": "date", "posted": "date", "foperacion": "date", "fcontable": "date",
    "fmovimiento": "date", "fecha": "date", "date": "date", "datum": "date", "buchung": "date",
    "buchungstag": "date", "buchungsdatum": "date",
    "in": "credit", "out": "debit", "soll": "debit", "haben": "credit", "s": "indicator", "h": "indicator",
    # gross/fee/net exports (PayPal "Gross"/"Fee"/"Net", Spanish "Bruto"/"Comisión"/"Neto")
    "gross": "gross", "bruto": "gross", "importebruto": "gross", "grossamount": "gross", "brutto": "gross",
    "brut": "gross", "montantbrut": "gross",
    "net": "net", "neto": "net", "importeneto": "net", "netamount": "net", "netto": "net", "montantnet": "net",
    "fee": "fee", "fees": "fee", "comision": "fee", "comisiones": "fee", "paypalfee": "fee", "gebuhr": "fee",
    "gebuhren": "fee", "frais": "fee", "commission": "fee",
    # numbers that are never the movement's amount (shipping, insurance, tax of a sale)
    "tax": "ignore", "salestax": "ignore", "vat": "ignore", "iva": "ignore", "impuesto": "ignore",
    "impuestos": "ignore", "shipping": "ignore", "insurance": "ignore", "envio": "ignore", "seguro": "ignore",
    # PayPal's "Balance Impact": Credit, Debit or Memo (a memo row moves no money)
    "balanceimpact": "impact", "impactoenelsaldo": "impact", "impactosobreelsaldo": "impact",
}
_INDICATOR = {"cargoabono", "debehaber", "debitcredit", "creditdebit", "dc", "cd", "dh", "sh", "sollhaben", "signo",
              "sign", "cargooabono", "creditdebitindicator", "cdtdbtind", "drcr", "crdr", "ingresogasto",
              "entradasalida", "debitocredito", "abonocargo", "haberdebe"}
_RULES: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    # role, "contains" keys, "startswith" keys
    ("ignore", ("importedeenvio", "importeenvio", "importedelseguro", "importeseguro", "shippingandhandling",
                "shippingamount", "insuranceamount", "salestax", "impuestosobre", "importedelimpuesto",
                "importeimpuesto", "taxamount", "importedeldescuento", "discountamount"), ()),
    ("orig_amount", ("importeoriginal", "importedivisa", "importemonedaorigen", "amountcurrency", "originalamount",
                     "foreignamount", "montantdevise", "betragursprung", "origamount", "importeorigen",
                     "importeendivisa", "amountinoriginal", "importeenmonedaorigen"), ()),
    ("orig_currency", ("monedaorigen", "divisaorigen", "originalcurrency", "currencyoriginal", "origcurrency",
                       "monedaoriginal", "divisaoriginal", "ursprungswahrung"), ()),
    ("value_date", ("fechavalor", "fechadevalor", "valuedate", "valuta", "wertstell", "datevaleur", "dateval",
                    "fvalor", "fval", "fechaval"), ()),
    ("balance", ("saldo", "balance", "solde", "kontostand"), ()),
    ("date", ("fecha", "datum"), ("date", "fch", "buchung", "transactiondate", "bookingdate", "postingdate",
                                  "postdate", "dateoperation")),
    ("debit", (), ("cargo", "debit", "debe", "withdraw", "importecargo", "importedebe", "paidout", "moneyout",
                   "retiro", "egreso", "salida", "gasto", "debet", "ausgang", "soll")),
    ("credit", (), ("abono", "credit", "haber", "deposit", "ingreso", "importeabono", "importehaber", "paidin",
                    "moneyin", "entrada", "eingang", "avoir", "haben")),
    ("amount", (), ("importe", "amount", "monto", "betrag", "montant", "cantidad", "umsatz")),
    ("currency", ("moneda", "divisa", "currency", "wahrung", "devise", "ccy"), ()),
    ("name", ("beneficiar", "ordenante", "payee", "payer", "partner", "counterpart", "contrapart", "auftraggeber",
              "empfanger", "remitente", "destinatario", "tercero", "beguenstigt", "zahlungspflichtig"), ()),
    ("iban", ("ibancontraparte", "cuentacontraparte", "counterpartyaccount", "cuentaordenante",
              "cuentabeneficiario", "partneraccount"), ()),
    ("reference", ("referencia", "reference", "ref"), ()),
    ("text", ("concepto", "descrip", "detalle", "detail", "memo", "narrat", "observac", "purpose", "texto", "text",
              "informacion", "info", "comentario", "comment", "movimiento", "motivo", "glosa", "particulars",
              "remark", "mensaje", "message", "notes", "nota", "operacion", "transaccion", "transaction"), ()),
    ("date", (), ("date",)),
)


def header_role(header: object) -> str | None:
    """The role a column header names (``date``, ``amount``, ``text``, …), or None when unknown."""
    n = normalize_header(header)
    if not n:
        return None
    if n in _EXACT:
        return _EXACT[n]
    if n in _INDICATOR:
        return "indicator"
    if n.endswith("date") and n not in ("valuedate",):
        return "date"
    for role, contains, starts in _RULES:
        if any(k in n for k in contains) or n.startswith(starts):
            return role
    return None


# ------------------------------------------------------------------------------------ cells


def _blank(v: Cell) -> bool:
    if v is None:
        return True
    kind = type(v)
    if kind is str:
        return not v.strip()  # type: ignore[union-attr]
    if kind is float:
        return v != v
    return isinstance(v, str) and not v.strip()


def _text(v: Cell) -> str:
    if _blank(v):
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, dt.datetime):
        return v.date().isoformat() if (v.hour, v.minute, v.second) == (0, 0, 0) else v.isoformat(" ")
    if isinstance(v, dt.date):
        return v.isoformat()
    return clean_piece(v)


def _month_date(s: str) -> dt.date | None:
    m = _MONTH_DAY_FIRST.match(s)
    if m:
        day, month_word, year = m[1], m[2], m[3]
    else:
        m = _MONTH_FIRST.match(s)
        if not m:
            return None
        month_word, day, year = m[1], m[2], m[3]
    month = _MONTHS.get(normalize_header(month_word))
    if month is None:
        return None
    y = int(year)
    if len(year) == 2:
        y += 2000 if y < 70 else 1900
    try:
        return dt.date(y, month, int(day))
    except ValueError:
        return None


def _datey(v: Cell) -> bool:
    if type(v) is str:
        return len(v) <= 40 and _datey_text(v)  # type: ignore[arg-type]
    return isinstance(v, dt.date) or (isinstance(v, str) and _datey_text(v))


@lru_cache(maxsize=16384)
def _datey_text(v: str) -> bool:
    s = v.strip()
    if not s or len(s) > 32:
        return False
    if s[0].isdigit() and _DATE_SHAPE.match(s):
        return True
    return s[0].isalnum() and _HAS_DIGIT.search(s) is not None and _month_date(s) is not None


def _split_currency(s: str) -> tuple[str, str | None]:
    """An amount's text without a currency code or symbol, and that currency (None if none)."""
    t = s.strip()
    if _PLAIN_NUMBER.match(t):
        return t, None
    for sym, code in _SYMBOLS.items():
        if sym in t:
            return t.replace(sym, "").strip(), code
    if "$" in t:
        return t.replace("$", "").strip(), "$"
    m = _CODE_AROUND.match(t)
    if m:
        code = m[1] or m[4]
        if money.is_known_currency(code):
            return (m[2] or m[3]).strip(), code
    return t, None


def _numbery(v: Cell) -> bool:
    kind = type(v)
    if kind is str:
        return len(v) <= 40 and _numbery_text(v)  # type: ignore[arg-type]
    if kind is bool:
        return False
    if kind is float:
        return not (v != v or v in (float("inf"), float("-inf")))
    if isinstance(v, (int, Decimal)) and not isinstance(v, bool):
        return True
    if isinstance(v, float):
        return not (v != v or v in (float("inf"), float("-inf")))
    return isinstance(v, str) and _numbery_text(v)


@lru_cache(maxsize=16384)
def _numbery_text(v: str) -> bool:
    s = v.strip()
    if not s or len(s) > 40 or not _HAS_DIGIT.search(s) or _TOO_MANY_LETTERS.search(s) or _DATE_SHAPE.match(s):
        return False
    s, _ = _split_currency(s)
    digits = s.lstrip("+-(")
    if digits.isdigit() and (len(digits) >= 13 or (len(digits) > 1 and digits.startswith("0"))):
        return False  # an id or account number, not an amount
    try:
        money.parse_decimal(s)
    except money.MoneyError:
        return False
    return True


def _width(row: list[Cell]) -> int:
    """Number of cells up to the last non-blank one."""
    for j in range(len(row) - 1, -1, -1):
        if not _blank(row[j]):
            return j + 1
    return 0


def is_data_row(row: list[Cell]) -> bool:
    """True for a row that looks like a movement: a date in one cell and a number in another."""
    dates = [j for j, c in enumerate(row) if _datey(c)]
    if not dates:
        return False
    return any(_numbery(c) for j, c in enumerate(row) if j not in dates)


# ------------------------------------------------------------------------------------ columns

def _date_or_serial(v: Cell) -> bool:
    return _datey(v) or (type(v) in (int, float) and 20000 < v < 80000)  # type: ignore[operator]


_EXPECTS = {"date": _date_or_serial, "value_date": _date_or_serial, "amount": _numbery, "debit": _numbery,
            "credit": _numbery, "balance": _numbery, "orig_amount": _numbery, "gross": _numbery, "net": _numbery}


@dataclass
class _Column:
    index: int
    header: str
    role: str | None

    def label(self) -> str:
        return f'"{self.header}"' if self.header else f"{self.index + 1}"


_DEBIT_WORDS = {"d", "db", "dr", "debe", "debito", "debit", "cargo", "dbit", "soll", "s", "retiro", "withdrawal",
                "-", "out", "salida", "egreso", "gasto", "adeudo"}
_CREDIT_WORDS = {"h", "a", "c", "cr", "haber", "credito", "credit", "abono", "crdt", "haben", "deposito", "deposit",
                 "+", "in", "entrada", "ingreso"}


def _indicator_word(v: Cell) -> bool:
    if not isinstance(v, str):
        return False
    n = normalize_header(v) or v.strip()
    return n in _DEBIT_WORDS or n in _CREDIT_WORDS


def _letters(v: Cell) -> bool:
    return isinstance(v, str) and _TWO_LETTERS.search(v) is not None


class _Table:
    """One pass over a block of rows: roles, parsing, checks."""

    def __init__(self, rows: list[list[Cell]], lines: list[int], *, fmt_name: str, default_currency: str,
                 unit: str, decimal_hint: bool | None, source: str):
        self.rows = rows
        self.lines = lines
        self.fmt_name = fmt_name
        self.default_currency = default_currency
        self.unit = unit
        self.decimal_hint = decimal_hint
        self.source = source
        self.warnings: list[str] = []
        self._unsigned = False
        self.gross_fee_net = False  # the amount column is a gross; fee and net columns come beside it
        self._header_row: list[Cell] | None = None

    def error(self, message: str, line: int | None = None) -> StatementError:
        return StatementError(message, line, self.source, self.unit)

    # -------------------------------------------------------------- block and header

    def read(self) -> Statement:
        rows = self.rows
        data_idx = self._data_rows()
        header_idx: int | None = None
        if data_idx:
            start, end = data_idx[0], data_idx[-1]
            # rows next to the movements that carry a date where the movements do belong to the table, even
            # when their amount cannot be read: they must fail loudly, not vanish into the preamble or footer
            date_cols = {j for i in data_idx for j, c in enumerate(rows[i]) if _datey(c)}

            def dated(i: int) -> bool:
                return any(j < len(rows[i]) and _datey(rows[i][j]) for j in date_cols)

            while start > 0 and dated(start - 1):
                start -= 1
            while end + 1 < len(rows) and dated(end + 1):
                end += 1
            header_idx = self._header_above(start)
        else:
            # no row has both a date and an amount: find a header to say precisely what is wrong
            header_idx = next((i for i, r in enumerate(rows) if self._header_score(r) >= 2), None)
            if header_idx is None:
                any_date = any(_datey(c) for r in rows for c in r)
                if not any(not all(_blank(c) for c in r) for r in rows):
                    raise self.error("there are no rows to read")
                if any_date:
                    raise self.error("no amount column found: no row has both a date and an amount "
                                     "(expected a column such as Importe, Amount, Cargo/Abono or Debe/Haber)")
                raise self.error("no movements found: no row has a date (expected a column such as Fecha or "
                                 "Date with values like 31/01/2024)")
            start = header_idx + 1
            end = max((i for i in range(start, len(rows)) if not all(_blank(c) for c in rows[i])), default=-1)
            if end < start:
                raise self.error("the table has a header but no rows", self.lines[header_idx])
        if self.unit == "line":
            # delimited text: every row of the table has the same number of fields (the narrower on a tie)
            widths = Counter(len(rows[i]) for i in data_idx) if data_idx else Counter([len(rows[start])])
            top = max(widths.values())
            width = min(w for w, n in widths.items() if n == top)
        else:
            # sheet rows: hosts trim trailing blank cells, so a row may be shorter than the table
            width = max(_width(rows[i]) for i in range(start, end + 1))
        if header_idx is not None:
            width = max(width, _width(rows[header_idx]))
        headers = [""] * width
        if header_idx is not None:
            for j, c in enumerate(rows[header_idx][:width]):
                headers[j] = _text(c)
        self._header_row = self.rows[header_idx] if header_idx is not None else None
        if header_idx is not None and data_idx:
            start = header_idx + 1  # every row under the header belongs to the table
        block = list(range(start, end + 1))
        for i in block:
            extra = [c for c in rows[i][width:] if not _blank(c)]
            if extra:
                raise self.error(f"this row has {len(rows[i])} columns where the table has {width}; is there a "
                                 "separator inside a text without quotes?", self.lines[i])
        outside = [i for i in range(len(rows)) if (i < start and i != header_idx) or i > end]
        self._preamble(outside)
        return self._parse(block, headers, width)

    def _data_rows(self, sample: int = 400) -> list[int]:
        """Indexes of rows that look like movements: the first and the last one, and a sample in between
        (enough to learn the table's width and date columns without classifying every row twice)."""
        rows = self.rows
        first = next((i for i, r in enumerate(rows) if is_data_row(r)), None)
        if first is None:
            return []
        last = next(i for i in range(len(rows) - 1, first - 1, -1) if is_data_row(rows[i]))
        head = range(first, min(last, first + sample) + 1)
        tail = range(max(head.stop, last - sample // 4), last + 1)
        return [i for i in (*head, *tail) if is_data_row(rows[i])]

    def _header_score(self, row: list[Cell]) -> int:
        return sum(1 for c in row if isinstance(c, str) and header_role(c) is not None)

    def _header_above(self, start: int) -> int | None:
        i = start - 1
        while i >= 0 and all(_blank(c) for c in self.rows[i]):
            i -= 1
        if i < 0:
            return None
        row = self.rows[i]
        cells = [c for c in row if not _blank(c)]
        if self._header_score(row) >= 2:
            return i
        if len(cells) >= 2 and all(isinstance(c, str) and not _datey(c) and not _numbery(c) for c in cells):
            return i
        return None

    # -------------------------------------------------------------- preamble and footer

    def _preamble(self, idx: list[int]) -> None:
        self.stated_account = ""
        self.stated_opening: tuple[str, int] | None = None
        self.stated_closing: tuple[str, int] | None = None
        for i in idx:
            row = [_text(c) for c in self.rows[i]]
            for j, cell in enumerate(row):
                if not cell:
                    continue
                label, _, inline = cell.partition(":")
                n = normalize_header(label)
                value = inline.strip() or next((x for x in row[j + 1:] if x), "")
                if not self.stated_account and (n in ("iban", "cuenta", "numerodecuenta", "ncuenta", "account",
                                                      "accountnumber", "konto", "kontonummer", "compte",
                                                      "numerocuenta", "cuentaiban")):
                    if re.search(r"\d{4}", value):
                        self.stated_account = re.sub(r"\s", "", value) if iban_valid(value) or re.fullmatch(
                            r"[A-Z]{2}\d{2}[\dA-Z ]+", value) else value
                kind = self._balance_label(n)
                if kind and value and _numbery(value):
                    if kind == "opening" and self.stated_opening is None:
                        self.stated_opening = (value, self.lines[i])
                    elif kind == "closing" and self.stated_closing is None:
                        self.stated_closing = (value, self.lines[i])
            if not self.stated_account:
                for cell in row:
                    m = re.search(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){3,7}(?: ?[A-Z0-9]{1,4})?\b", cell)
                    if m and iban_valid(m[0]):
                        self.stated_account = m[0].replace(" ", "")

    @staticmethod
    def _balance_label(n: str) -> str | None:
        if any(k in n for k in ("saldoinicial", "saldoanterior", "openingbalance", "balanceatstart", "startbalance",
                                "anfangssaldo", "soldeinitial", "soldedebut", "saldoapertura", "beginningbalance",
                                "previousbalance", "alterkontostand", "soldeprecedent")):
            return "opening"
        if any(k in n for k in ("saldofinal", "closingbalance", "balanceatend", "endbalance", "endsaldo",
                                "soldefinal", "soldefin", "saldoalcierre", "saldocierre", "neuerkontostand",
                                "soldenouveau")):
            return "closing"
        return None

    # -------------------------------------------------------------- roles

    def _roles(self, block: list[int], headers: list[str], width: int) -> list[_Column]:
        cols = [_Column(j, headers[j], header_role(headers[j]) if headers[j] else None) for j in range(width)]
        # what each column holds, judged on its non-blank cells (an even sample of at most 1000 of them)
        filled_cells: list[list[Cell]] = []
        for j in range(width):
            cells = [self.rows[i][j] for i in block if j < len(self.rows[i]) and not _blank(self.rows[i][j])]
            step = max(1, len(cells) // 1000)
            filled_cells.append(cells[::step])

        def share(j: int, pred) -> float:
            cells = filled_cells[j]
            return sum(1 for v in cells if pred(v)) / len(cells) if cells else 0.0

        def filled(j: int) -> int:
            return len(filled_cells[j])

        wrong = [c for c in cols if c.role in _EXPECTS and filled(c.index) and share(c.index, _EXPECTS[c.role]) < 0.5]
        if wrong:
            # rows pasted under another table's headers: the headers cannot be trusted, the content can
            self.warnings.append(f"column {wrong[0].label()} does not hold what its header says, so every column was "
                                 "recognised by its content instead of its header")
            for c in cols:
                c.role, c.header = None, ""
        for c in cols:
            j = c.index
            if filled(j) == 0:
                c.role = c.role if c.role in ("debit", "credit") else None
                continue
            if c.role == "valor":
                c.role = "value_date" if share(j, _datey) >= 0.8 else "amount" if share(j, _numbery) >= 0.8 else "text"
            elif c.role == "indicator" and share(j, _numbery) >= 0.8:
                c.role = "amount"  # "Cargo/Abono" holding signed amounts
            elif c.role == "text" and share(j, _letters) == 0 and share(j, _numbery) >= 0.8:
                c.role = "reference"  # e.g. "Operación" holding numbers
            elif c.role is None:
                if share(j, _datey) >= 0.8:
                    c.role = "other_date"
                elif share(j, _numbery) >= 0.8:
                    c.role = "other_number"
                elif share(j, _indicator_word) == 1.0:
                    c.role = "indicator"  # D/H, C/A, Debe/Haber… without a header
                elif share(j, _letters) > 0:
                    c.role = "text"
        by_role = lambda r: [c for c in cols if c.role == r]  # noqa: E731
        self._gross_fee_net(cols, by_role)
        dates = by_role("date")
        if not dates:
            other = by_role("other_date")
            if not other:
                raise self.error("no date column found (expected a column such as Fecha or Date)",
                                 self.lines[block[0]])
            other[0].role = "date"
            if len(other) > 1 and not by_role("value_date"):
                other[1].role = "value_date"
        elif len(dates) > 1:
            for extra in dates[1:]:
                extra.role = "value_date" if not by_role("value_date") else "other_date"
        money_roles = by_role("amount") + by_role("debit") + by_role("credit")
        numbers = by_role("other_number")
        if not money_roles:
            self._infer_money(cols, numbers, block)
        elif not by_role("balance") and numbers:
            self._infer_balance(cols, numbers, block)
        if not (by_role("amount") or by_role("debit") or by_role("credit")):
            raise self.error("no amount column found (expected a column such as Importe, Amount, Cargo/Abono or "
                             "Debe/Haber)", self.lines[block[0]])
        amounts = by_role("amount")
        for extra in amounts[1:]:
            self.warnings.append(f"column {extra.label()} was not read as the amount: the table has another "
                                 f"amount column ({amounts[0].label()})")
            extra.role = "other_number"
        return cols

    def _gross_fee_net(self, cols: list[_Column], by_role) -> None:  # type: ignore[no-untyped-def]
        """A gross/fee/net export: the gross is the movement's amount, the fee a line of its own, the net what the
        running balance moves by. Without a gross column the net is the amount; a fee column alone is not read."""
        gross, net, fee = by_role("gross"), by_role("net"), by_role("fee")
        for c in cols:
            if c.role == "ignore":
                c.role = "ignored"
            elif c.role == "fee" and not (gross or net):
                c.role = "ignored"
        if gross:
            if by_role("amount"):
                for c in gross:
                    c.role = "ignored"
                return
            gross[0].role = "amount"
            self.gross_fee_net = True
        elif net and not by_role("amount"):
            net[0].role = "amount"
            net = net[1:]
            for c in fee:
                c.role = "ignored"

    def _justify(self, cols: list[_Column], block: list[int], lines: list[int], dates: list[dt.date | None],
                 amounts: list[int | None], row_fees: list[int], bals: list[int | None], balance_col: _Column,
                 memo: list[bool]) -> list[int | None]:
        """The amount column must agree with the running balance: when it does not, the other readings are tried
        (the opposite sign, another number column); when none agrees, the table is refused, naming the columns.
        Returns the amounts to use (``row_fees`` is cleared when another column replaces a gross)."""
        keep = [k for k in range(len(block)) if dates[k] is not None and amounts[k] is not None and not memo[k]]
        b = [bals[k] for k in keep]
        if sum(1 for x, y in zip(b, b[1:], strict=False) if x is not None and y is not None) < 2:
            return amounts  # too few balances to judge

        def fits(vals: list[int | None], fees: bool = True) -> bool:
            moved = [None if vals[k] is None else vals[k] + (row_fees[k] if fees else 0) for k in keep]  # type: ignore[operator]
            return _running_fit(moved, b, tolerant=True) is not None

        if fits(amounts):
            return amounts
        amount_cols = [c for c in cols if c.role in ("amount", "debit", "credit")]
        what = " and ".join(c.label() for c in amount_cols)
        plural = "s" if len(amount_cols) > 1 else ""
        negated = [None if v is None else -v for v in amounts]
        if fits(negated):
            self.warnings.append(f"column {balance_col.label()}: the running balance follows from the amounts in "
                                 f"column{plural} {what} only with the opposite sign, so their signs were turned "
                                 "(money in is positive)")
            return negated
        tried: list[str] = []
        for c in cols:
            if c.role not in ("other_number", "ignored", "net", "fee") or c is balance_col:
                continue
            vals = self._column_minor(c.index, block)
            if vals is None or any(vals[k] is None for k in keep):
                continue
            tried.append(c.label())
            for sign in (1, -1):
                cand = [None if v is None else sign * v for v in vals]
                if fits(cand, fees=False):
                    self.warnings.append(
                        f"column {c.label()} was read as the amount{' with the opposite sign' if sign < 0 else ''}, "
                        f"not column{plural} {what}: the running balance in column {balance_col.label()} follows "
                        "from it and not from them")
                    for ac in amount_cols:
                        ac.role = "other_number"
                    c.role = "amount"
                    row_fees[:] = [0] * len(row_fees)
                    return [cand[k] if amounts[k] is not None else None for k in range(len(block))]
        others = f", nor from column{'s' if len(tried) > 1 else ''} {', '.join(tried)}" if tried else ""
        raise self.error(f"the running balance in column {balance_col.label()} does not follow from the amounts in "
                         f"column{plural} {what} (in either order, with either sign){others}: cobro cannot tell which "
                         "column holds the movements' amounts and does not guess. Check that the file is the bank's "
                         "export as it came, or paste only the date, text, amount and balance columns",
                         lines[keep[0]])

    def _column_minor(self, j: int, block: list[int], currency: str = "") -> list[int | None] | None:
        """A numeric column as minor units (None for blanks), or None when some value is not a number."""
        cells = [self.rows[i][j] if j < len(self.rows[i]) else None for i in block]
        try:
            return self._money(cells, [currency or self.default_currency] * len(cells), None, None)
        except StatementError:
            return None

    def _infer_money(self, cols: list[_Column], numbers: list[_Column], block: list[int]) -> None:
        if not numbers:
            return
        parsed = {c.index: self._column_minor(c.index, block) for c in numbers}
        usable = [c for c in numbers if parsed[c.index] is not None]
        # two complementary sparse columns: debit and credit
        for a, b in zip(usable, usable[1:], strict=False):
            va, vb = parsed[a.index], parsed[b.index]
            assert va is not None and vb is not None
            one = sum(1 for x, y in zip(va, vb, strict=True) if (x is None) != (y is None))
            both = sum(1 for x, y in zip(va, vb, strict=True) if x and y)
            if (one >= 0.9 * len(block) and not both and any(x is not None for x in va)
                    and any(y is not None for y in vb)):
                negative_b = any(y is not None and y < 0 for y in vb) and not any(x is not None and x < 0 for x in va)
                a.role, b.role = ("credit", "debit") if negative_b else ("debit", "credit")
                rest = [c for c in usable if c not in (a, b)]
                if rest:
                    self._infer_balance(cols, rest, block)
                return
        for a in usable:
            for b in usable:
                if a is b:
                    continue
                va, vb = parsed[a.index], parsed[b.index]
                assert va is not None and vb is not None
                if _running_fit(va, vb) is not None or _abs_fit(va, vb):
                    a.role, b.role = "amount", "balance"
                    return
        if not usable:
            numbers[0].role = "amount"  # its values cannot be read as money: parsing it will say which and where
            return
        # no running balance to tell them apart: amounts have signs or cents, codes (branch, document) do not
        def looks_like_money(c: _Column) -> int:
            v = [x for x in parsed[c.index] or [] if x is not None]
            return int(any(x < 0 for x in v)) + int(any(x % 100 for x in v))

        usable.sort(key=lambda c: (-looks_like_money(c), c.index))
        usable[0].role = "amount"
        for c in usable[1:]:
            self.warnings.append(f"column {c.label()} holds numbers that were not read (neither the amount nor a "
                                 "running balance)")

    def _infer_balance(self, cols: list[_Column], numbers: list[_Column], block: list[int]) -> None:
        amount_cols = [c for c in cols if c.role in ("amount", "debit", "credit")]
        if not amount_cols:
            return
        base: list[int] = [0] * len(block)
        for c in amount_cols:
            v = self._column_minor(c.index, block)
            if v is None:
                return
            for k, x in enumerate(v):
                if x is not None:
                    base[k] += abs(x) if c.role == "credit" else -abs(x) if c.role == "debit" else x
        for c in numbers:
            vb = self._column_minor(c.index, block)
            if vb is not None and (_running_fit(list(base), vb) is not None or _abs_fit(list(base), vb)):
                c.role = "balance"
                return

    # -------------------------------------------------------------- values

    def _money(self, cells: list[Cell], currencies: list[str], column: _Column | None,
               lines: list[int] | None) -> list[int | None]:
        texts: list[str | None] = []
        codes: list[str | None] = []
        for v in cells:
            if isinstance(v, str) and not _blank(v):
                t, code = _split_currency(v)
                texts.append(t)
                codes.append(code)
            else:
                texts.append(None)
                codes.append(None)
        decided = money.detect_decimal_comma([t for t in texts if t])
        if decided is not None:
            options: list[bool | None] = [decided]
        elif self.decimal_hint is not None:
            options = [self.decimal_hint, not self.decimal_hint]
        else:
            options = [None, True, False]
        last_error: StatementError | None = None
        for option in options:
            try:
                return self._money_with(cells, texts, codes, currencies, option, column, lines)
            except StatementError as e:
                last_error = last_error or e
        assert last_error is not None
        raise last_error

    def _money_with(self, cells: list[Cell], texts: list[str | None], codes: list[str | None],
                    currencies: list[str], decimal_comma: bool | None, column: _Column | None,
                    lines: list[int] | None) -> list[int | None]:
        out: list[int | None] = []
        for k, v in enumerate(cells):
            if _blank(v):
                out.append(None)
                continue
            cur = currencies[k]
            try:
                if isinstance(v, str):
                    out.append(money.parse_money(texts[k] or "", cur, decimal_comma))
                elif isinstance(v, (int, float, Decimal)) and not isinstance(v, bool):
                    out.append(money.parse_money(v, cur))
                else:
                    raise money.MoneyError(f"{v!r} is not an amount")
            except money.MoneyError as e:
                where = f"column {column.label()}: " if column else ""
                raise self.error(f"{where}{_text(v)!r} is not an amount ({e})",
                                 lines[k] if lines else None) from None
        return out

    def _dates(self, col: _Column, block: list[int], day_first: bool) -> list[dt.date | None]:
        out: list[dt.date | None] = []
        header_is_date = col.role in ("date", "value_date")
        for i in block:
            v = self.rows[i][col.index] if col.index < len(self.rows[i]) else None
            if _blank(v):
                out.append(None)
                continue
            d = _cell_date(v, day_first, header_is_date)
            if d is None:
                raise self.error(f"column {col.label()}: {_text(v)!r} is not a valid date (expected a date such as "
                                 f"{'31/01/2024' if day_first else '01/31/2024'} or 2024-01-31)", self.lines[i])
            out.append(d)
        return out

    def _day_first(self, date_cols: list[_Column], block: list[int]) -> bool:
        texts = [self.rows[i][c.index] for c in date_cols for i in block
                 if c.index < len(self.rows[i]) and isinstance(self.rows[i][c.index], str)]
        texts = [t.strip() for t in texts if t.strip()]
        decided = detect_day_first(texts)
        if decided is not None:
            return decided
        if not texts:
            return True
        main = date_cols[0]
        orders = {}
        for option in (True, False):
            seq = []
            for i in block:
                v = self.rows[i][main.index] if main.index < len(self.rows[i]) else None
                if isinstance(v, str) and v.strip():
                    parsed = parse_date_text(v, option)
                    if parsed is None:
                        seq = None
                        break
                    seq.append(parsed)
            orders[option] = seq is not None and (seq == sorted(seq) or seq == sorted(seq, reverse=True))
        if orders[True] != orders[False]:
            return orders[True]
        matters = any((m := re.match(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-]", t)) and m[1] != m[2] for t in texts)
        us = self._us_export(block)
        if matters:
            why = (f"month/day/year, as a US export ({us})" if us else "day/month/year")
            self.warnings.append(
                f"column {main.label()}: dates such as {texts[0]!r} could be day/month or month/day; they were read "
                f"as {why}")
        return not us

    def _us_export(self, block: list[int]) -> str:
        """Why the table reads as a US export (amounts in USD and English headers), or "" when it does not."""
        headers = [normalize_header(_text(c)) for c in self._header_row] if self._header_row is not None else []
        english = [h for h in headers if h in _ENGLISH_HEADERS]
        other = [h for h in headers if h in _OTHER_HEADERS]
        if not english or other:
            return ""
        codes: set[str] = set()
        for j, h in enumerate(headers):
            if header_role(h) == "currency":
                codes |= {_text(self.rows[i][j]).strip().upper() for i in block[:2000]
                          if j < len(self.rows[i]) and _text(self.rows[i][j]).strip()}
        if codes and codes != {"USD"}:
            return ""
        if not codes and self.default_currency != "USD":
            return ""
        return "USD amounts, English headers"

    # -------------------------------------------------------------- rows

    def _parse(self, block: list[int], headers: list[str], width: int) -> Statement:
        cols = self._roles(block, headers, width)

        def first(role: str) -> _Column | None:
            return next((c for c in cols if c.role == role), None)

        date_col = first("date")
        assert date_col is not None
        value_col = first("value_date")
        day_first = self._day_first([c for c in (date_col, value_col) if c is not None], block)
        dates = self._dates(date_col, block, day_first)
        values = self._dates(value_col, block, day_first) if value_col else [None] * len(block)
        lines = [self.lines[i] for i in block]

        def cells(c: _Column | None) -> list[Cell]:
            if c is None:
                return [None] * len(block)
            return [self.rows[i][c.index] if c.index < len(self.rows[i]) else None for i in block]

        amount_col, debit_col, credit_col = first("amount"), first("debit"), first("credit")
        balance_col = first("balance")
        # currencies per row
        currency_cols = [c for c in cols if c.role == "currency"]
        orig_amount_col, orig_cur_col = first("orig_amount"), first("orig_currency")
        line_cur_col = None
        if currency_cols:
            anchor = (amount_col or debit_col or credit_col)
            assert anchor is not None
            right = [c for c in currency_cols if c.index > anchor.index]
            if orig_amount_col is not None and orig_cur_col is None:
                orig_cur_col = currency_cols[0]
            else:
                line_cur_col = right[0] if right else currency_cols[-1]
        currencies: list[str] = []
        cur_cells = cells(line_cur_col)
        anchor_cells = cells(amount_col or debit_col or credit_col)
        for k, v in enumerate(cur_cells):
            code = None
            if not _blank(v):
                code = self._currency_code(_text(v), lines[k], line_cur_col)
            else:
                av = anchor_cells[k]
                if isinstance(av, str):
                    _, sym = _split_currency(av)
                    if sym:
                        code = self._currency_code(sym, lines[k], None)
            currencies.append(code or self.default_currency)
        amounts = self._amounts(block, lines, cols, currencies)
        balances_col: list[int | None] = [None] * len(block)
        if balance_col is not None:
            balances_col = self._money(cells(balance_col), currencies, balance_col, lines)
        # gross/fee/net: the fee of each row, and what the balance moves by (the net)
        fee_col, net_col = (first("fee"), first("net")) if self.gross_fee_net else (None, None)
        fees = self._money(cells(fee_col), currencies, fee_col, lines) if fee_col else [None] * len(block)
        nets = self._money(cells(net_col), currencies, net_col, lines) if net_col else [None] * len(block)
        row_fees: list[int] = []
        for k, a in enumerate(amounts):
            if a is None:
                row_fees.append(0)
            elif nets[k] is not None:
                row_fees.append(nets[k] - a)  # type: ignore[operator]
                if fees[k] is not None and a + fees[k] != nets[k]:  # type: ignore[operator]
                    self.warnings.append(f"{self.unit} {lines[k]}: gross {fmt(a, currencies[k])} and fee "
                                         f"{fmt(fees[k], currencies[k])} do not make the net "  # type: ignore[arg-type]
                                         f"{fmt(nets[k], currencies[k])}; the fee was taken as net - gross")  # type: ignore[arg-type]
            else:
                f = fees[k] or 0
                row_fees.append(-abs(f) if a >= 0 and f and not net_col else f)
        impact_col = first("impact")
        memo = [normalize_header(_text(v)) == "memo" for v in cells(impact_col)]
        if balance_col is not None and len(set(currencies)) == 1 and not self._unsigned:
            amounts = self._justify(cols, block, lines, dates, amounts, row_fees, balances_col, balance_col, memo)
        # text, names, references
        name_col, iban_col, account_col = first("name"), first("iban"), first("account")
        ref_cols = [c for c in cols if c.role == "reference"]
        text_cols = [c for c in cols if c.role in ("text", "name") or (c.role == "reference" and c is not
                                                                          (ref_cols[0] if ref_cols else None))]
        out: list[StatementLine] = []
        kept_balances: list[tuple[int, int | None, str]] = []  # (amount, balance, currency) per kept line
        row_pos: list[int] = []  # per kept row: where its (first) line is in ``out``
        memos = 0
        for k, i in enumerate(block):
            row = self.rows[i]
            if memo[k]:
                memos += 1  # PayPal "Memo" rows (authorisations, holds) move no money
                continue
            has_amount = amounts[k] is not None
            if dates[k] is None:
                if has_amount:
                    raise self.error(f"this row has an amount but no date in column {date_col.label()}", lines[k])
                piece = join_text(_text(row[c.index]) for c in text_cols if c.index < len(row))
                if piece and out:  # a description continued on the next row
                    prev = out[-1]
                    out[-1] = dataclasses.replace(prev, text=join_text([prev.text, piece]))
                continue
            if not has_amount:
                if balances_col[k] is None:  # a balance-only row (e.g. "Saldo anterior") needs no word
                    self.warnings.append(f"{self.unit} {lines[k]}: it has a date but no amount, so it was not read "
                                         "as a movement")
                continue
            pieces = [_text(row[c.index]) for c in text_cols if c.index < len(row)]
            if orig_amount_col is not None:
                ov = _text(row[orig_amount_col.index]) if orig_amount_col.index < len(row) else ""
                oc = _text(row[orig_cur_col.index]) if orig_cur_col and orig_cur_col.index < len(row) else ""
                if ov and _numbery(ov) and money.parse_decimal(_split_currency(ov)[0]) != 0:
                    pieces.append(f"orig. {ov} {oc}".strip())
            ref = ""
            if ref_cols:
                ref = _text(row[ref_cols[0].index]) if ref_cols[0].index < len(row) else ""
            name = _text(row[name_col.index]) if name_col and name_col.index < len(row) else ""
            iban = _text(row[iban_col.index]) if iban_col and iban_col.index < len(row) else ""
            account = (_text(row[account_col.index]) if account_col and account_col.index < len(row) else "") \
                or self.stated_account
            amount = amounts[k]
            assert amount is not None
            counterparty_iban = iban.replace(" ", "") if iban_valid(iban) else iban
            fee = row_fees[k]
            row_pos.append(len(out))
            if amount or not fee:
                out.append(StatementLine(
                    line_id="", account=account, date=dates[k], value_date=values[k], amount=amount,
                    currency=currencies[k], text=join_text(pieces), counterparty_name=name,
                    counterparty_iban=counterparty_iban, bank_reference=ref, source_line=lines[k]))
            if fee:
                # the processor's fee is a line of its own, as a bank's fee is: the payment keeps its gross
                assert fee_col is not None or net_col is not None
                label = fee_col.header if fee_col is not None and fee_col.header else "fee"
                out.append(StatementLine(
                    line_id="", account=account, date=dates[k], value_date=values[k], amount=fee,
                    currency=currencies[k], text=join_text([label, *pieces]), counterparty_name=name,
                    counterparty_iban=counterparty_iban, bank_reference=ref, source_line=lines[k], kind="fee"))
            kept_balances.append((amount + fee, balances_col[k], currencies[k]))
        if memos:
            assert impact_col is not None
            self.warnings.append(f"{memos} {'row' if memos == 1 else 'rows'} marked Memo in column "
                                 f"{impact_col.label()} move no money (authorisations, holds) and were not read as "
                                 "movements")
        if not out:
            raise self.error("the table has no movements")
        balances = self._balance_checks(out, kept_balances, balance_col, row_pos)
        return Statement(format=self.fmt_name, lines=assign_ids(out), balances=balances, warnings=self.warnings)

    def _currency_code(self, raw: str, line: int, col: _Column | None) -> str:
        s = raw.strip()
        if s in _SYMBOLS:
            return _SYMBOLS[s]
        if s == "$":
            return self.default_currency if self.default_currency in _DOLLAR_CURRENCIES else "USD"
        code = s.upper()
        if not money.is_known_currency(code):
            where = f"column {col.label()}: " if col else ""
            raise self.error(f"{where}{s!r} is not an ISO 4217 currency code (such as EUR, USD or MXN)", line)
        return code

    def _amounts(self, block: list[int], lines: list[int], cols: list[_Column],
                 currencies: list[str]) -> list[int | None]:
        def cells(c: _Column) -> list[Cell]:
            return [self.rows[i][c.index] if c.index < len(self.rows[i]) else None for i in block]

        amount_col = next((c for c in cols if c.role == "amount"), None)
        debit_col = next((c for c in cols if c.role == "debit"), None)
        credit_col = next((c for c in cols if c.role == "credit"), None)
        indicator_col = next((c for c in cols if c.role == "indicator"), None)
        out: list[int | None] = [None] * len(block)
        if amount_col is not None:
            out = self._money(cells(amount_col), currencies, amount_col, lines)
        for c, sign in ((debit_col, -1), (credit_col, 1)):
            if c is None:
                continue
            vals = self._money(cells(c), currencies, c, lines)
            for k, v in enumerate(vals):
                if v is not None:
                    out[k] = (out[k] or 0) + sign * abs(v)
        if indicator_col is not None and amount_col is not None:
            signs = self._indicator_signs(cells(indicator_col), lines, indicator_col)
            out = [None if v is None else (abs(v) * s if s else v) for v, s in zip(out, signs, strict=True)]
        self._unsigned = amount_col is not None and indicator_col is None and all(v is None or v >= 0 for v in out)
        return out

    def _indicator_signs(self, cells: list[Cell], lines: list[int], col: _Column) -> list[int]:
        debit, credit = _DEBIT_WORDS, _CREDIT_WORDS - {"c"}
        values = [normalize_header(_text(v)) or _text(v) for v in cells]
        letters = {v for v in values if v}
        out: list[int] = []
        for k, v in enumerate(values):
            if not v:
                out.append(0)
            elif v == "c":
                out.append(-1 if "a" in letters and "d" not in letters else 1)
            elif v in debit:
                out.append(-1)
            elif v in credit:
                out.append(1)
            else:
                raise self.error(f"column {col.label()}: {_text(cells[k])!r} is neither a debit (D, Debe, Cargo, "
                                 "Debit) nor a credit (H, Haber, Abono, Credit)", lines[k])
        return out

    # -------------------------------------------------------------- balances

    def _balance_checks(self, all_lines: list[StatementLine], kept: list[tuple[int, int | None, str]],
                        balance_col: _Column | None, row_pos: list[int]) -> list[AccountBalances]:
        """Opening and closing balances from the running balance (``kept``: per row, what it moves the balance
        by and the balance after it) or the preamble/footer, and the warnings when they do not add up."""
        out = [all_lines[p] for p in row_pos]  # the (first) line of each row, in step with ``kept``
        currencies = {c for _, _, c in kept}
        account = out[0].account if len({ln.account for ln in all_lines}) == 1 else ""
        balances: list[AccountBalances] = []
        if len(currencies) != 1:
            return balances
        cur = currencies.pop()
        opening = closing = None
        if balance_col is not None:
            amounts = [a for a, _, _ in kept]
            bals = [b for _, b, _ in kept]
            direction = None
            if self._unsigned and len(kept) > 1:
                signed = _sign_from_balance(amounts, bals)
                if signed is not None:
                    amounts, direction = signed
                    for k, a in enumerate(amounts):
                        out[k] = all_lines[row_pos[k]] = dataclasses.replace(out[k], amount=a)
                    edge = out[0] if direction == "asc" else out[-1]
                    self.warnings.append(
                        f"column {balance_col.label()}: the amounts carry no sign, so debits and credits were told "
                        f"apart by the running balance; the sign of {self.unit} {edge.source_line} could not be "
                        "checked that way and was read as a credit")
            if direction is None and len(kept) == 1 and bals[0] is not None:
                direction = "asc"  # one row: its balance is the balance after it
            if direction is None:
                direction = _running_fit(amounts, bals, tolerant=True)
            if direction is not None:
                self._report_breaks(out, amounts, bals, direction, cur)
                if direction == "asc":
                    first_b, last_b = bals[0], bals[-1]
                    opening = None if first_b is None else first_b - amounts[0]
                    closing = last_b
                else:
                    opening = None if bals[-1] is None else bals[-1] - amounts[-1]
                    closing = bals[0]
            else:
                self.warnings.append(f"column {balance_col.label()}: the balances do not follow from the amounts "
                                     "in either order; they were not used")
        stated_o = self._stated(self.stated_opening, cur)
        stated_c = self._stated(self.stated_closing, cur)
        if stated_o is not None or stated_c is not None:
            opening = stated_o if stated_o is not None else opening
            closing = stated_c if stated_c is not None else closing
        if opening is None and closing is None:
            return balances
        dates = [ln.date for ln in all_lines]
        bal = AccountBalances(account=account, currency=cur, opening=opening, closing=closing,
                              opening_date=min(dates), closing_date=max(dates))
        balances.append(bal)
        w = balance_warning(bal, sum(ln.amount for ln in all_lines), "the statement")
        if w:
            self.warnings.append(w)
        return balances

    def _stated(self, found: tuple[str, int] | None, cur: str) -> int | None:
        if found is None:
            return None
        text, line = found
        t, _ = _split_currency(text)
        try:
            return money.parse_money(t, cur, money.detect_decimal_comma([t]) if money.detect_decimal_comma([t])
                                     is not None else self.decimal_hint)
        except money.MoneyError:
            self.warnings.append(f"{self.unit} {line}: the stated balance {text!r} could not be read")
            return None

    def _report_breaks(self, out: list[StatementLine], amounts: list[int], bals: list[int | None], direction: str,
                       cur: str) -> None:
        breaks: list[int] = []
        for k in range(1, len(amounts)):
            if direction == "asc":
                prev, now, amt, at = bals[k - 1], bals[k], amounts[k], k
            else:
                prev, now, amt, at = bals[k], bals[k - 1], amounts[k - 1], k - 1
            if prev is None or now is None:
                continue
            if prev + amt != now:
                breaks.append(at)
        for at in breaks[:5]:
            b = bals[at]
            self.warnings.append(f"{self.unit} {out[at].source_line}: the running balance "
                                 f"{fmt(b, cur) if b is not None else ''} does not follow from the previous balance "
                                 "and this amount; a movement may be missing or wrong")
        if len(breaks) > 5:
            self.warnings.append(f"… and {len(breaks) - 5} more rows whose running balance does not follow")


def _balance_steps(amounts: list[int | None], bals: list[int | None]
                   ) -> Iterator[tuple[int | None, int | None, int, int]]:
    """Adjacent rows whose running balances are both known: (amount before, amount, balance before, balance)."""
    for k in range(1, len(amounts)):
        b0, b1 = bals[k - 1], bals[k]
        if b0 is not None and b1 is not None:
            yield amounts[k - 1], amounts[k], b0, b1


def _running_fit(amounts: list[int | None], bals: list[int | None], tolerant: bool = False) -> str | None:
    """``asc`` if balance[i] = balance[i-1] + amount[i] (oldest first), ``desc`` if the rows go newest first,
    None when the column is not a running balance of the amounts (80 % of the steps must agree)."""
    asc = desc = steps = 0
    for a0, a1, b0, b1 in _balance_steps(amounts, bals):
        steps += 1
        if a1 is not None and b0 + a1 == b1:
            asc += 1
        if a0 is not None and b1 + a0 == b0:
            desc += 1
    if steps == 0:
        return None
    need = 0.8 * steps if not tolerant else 0.5 * steps
    if asc >= desc and asc >= need and asc > 0:
        return "asc"
    if desc > asc and desc >= need:
        return "desc"
    return None


def _abs_fit(amounts: list[int | None], bals: list[int | None]) -> bool:
    """True when unsigned amounts equal the balance's steps (in 80 % of the steps, either order)."""
    if any(a is not None and a < 0 for a in amounts):
        return False
    asc = desc = steps = 0
    for a0, a1, b0, b1 in _balance_steps(amounts, bals):
        steps += 1
        asc += a1 is not None and abs(b1 - b0) == a1
        desc += a0 is not None and abs(b0 - b1) == a0
    return steps > 0 and max(asc, desc) >= 0.8 * steps and any(
        b1 is not None and b0 is not None and b1 < b0 for b0, b1 in zip(bals, bals[1:], strict=False))


def _sign_from_balance(amounts: list[int], bals: list[int | None]) -> tuple[list[int], str] | None:
    """Unsigned amounts signed by the running balance's steps (banks that export ``Importe`` without sign)."""
    best: tuple[int, list[int], str] | None = None
    for direction in ("asc", "desc"):
        signed = list(amounts)
        hits = 0
        for k in range(len(amounts)):
            if direction == "asc" and k > 0 and bals[k] is not None and bals[k - 1] is not None:
                delta = bals[k] - bals[k - 1]  # type: ignore[operator]
            elif direction == "desc" and k < len(amounts) - 1 and bals[k] is not None and bals[k + 1] is not None:
                delta = bals[k] - bals[k + 1]  # type: ignore[operator]
            else:
                continue
            if abs(delta) == amounts[k]:
                signed[k] = delta
                hits += 1
        if best is None or hits > best[0]:
            best = (hits, signed, direction)
    if best is None or best[0] < 0.8 * (len(amounts) - 1) or not any(a < 0 for a in best[1]):
        return None
    return best[1], best[2]


def _cell_date(v: Cell, day_first: bool, header_is_date: bool) -> dt.date | None:
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        if header_is_date and 20000 < v < 80000 and float(v).is_integer():
            return dt.date(1899, 12, 30) + dt.timedelta(days=int(v))
        v = _text(v)
    if not isinstance(v, str):
        return None
    s = v.strip()
    parsed = parse_date_text(s, day_first)
    if parsed is not None:
        return parsed.date()
    m = _month_date(s)
    if m is not None:
        return m
    if header_is_date and re.fullmatch(r"(19|20)\d{6}", s):
        try:
            return dt.date(int(s[:4]), int(s[4:6]), int(s[6:]))
        except ValueError:
            return None
    return None


def read_rows(rows: list[list[Cell]], lines: list[int], *, fmt_name: str, default_currency: str = "EUR",
              unit: str = "line", decimal_hint: bool | None = None, source: str = "") -> Statement:
    """A statement from a table of cells (strings, numbers, dates). ``lines`` numbers each row for messages."""
    return _Table(rows, lines, fmt_name=fmt_name, default_currency=default_currency, unit=unit,
                  decimal_hint=decimal_hint, source=source).read()
