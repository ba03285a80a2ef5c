"""Norma 43 (AEB / CSB 43): the fixed-width statement every Spanish bank exports.

Records (80 characters): 11 account header, 22 movement, 23 complementary concepts (01–05, with the
SEPA 2012 layouts for direct debits), 24 original-currency equivalence, 33 account totals, 88 file end.
Several accounts may follow each other in one file. The reader is lenient about what real files
get wrong (short lines, damaged characters, a sign code ``0``) and checks the file's own totals:
the 33 record's debit/credit counts and sums and its closing balance, warning when they disagree.

Kinds: common concept 14 (devoluciones e impagados: a returned direct debit or transfer) and 98
(anulaciones: a booking cancelled) are ``kind="return"``, with the movement's reference as ``return_of``;
a debit under concept 17 (intereses, comisiones, gastos) is ``kind="fee"``.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal

from .. import money
from ..schema import normalize_header
from ._common import (
    assign_ids,
    balance_warning,
    damaged_text_warning,
    decode,
    fmt,
    iban_from_parts,
    join_text,
    yymmdd,
)
from .base import AccountBalances, Statement, StatementError, StatementLine

_RETURN_CONCEPTS = ("14", "98")  # devoluciones e impagados; anulaciones y correcciones de asientos

# ISO 4217 numeric -> alphabetic, for the currencies a Spanish or Latin American bank may report.
NUMERIC_CURRENCIES = {
    "978": "EUR", "840": "USD", "826": "GBP", "756": "CHF", "392": "JPY", "124": "CAD", "036": "AUD",
    "752": "SEK", "578": "NOK", "208": "DKK", "985": "PLN", "203": "CZK", "348": "HUF", "946": "RON",
    "975": "BGN", "484": "MXN", "032": "ARS", "152": "CLP", "170": "COP", "604": "PEN", "858": "UYU",
    "986": "BRL", "156": "CNY", "344": "HKD", "949": "TRY", "504": "MAD", "710": "ZAR", "554": "NZD",
    "702": "SGD", "356": "INR", "682": "SAR", "784": "AED", "376": "ILS", "590": "PAB", "320": "GTQ",
    "188": "CRC", "214": "DOP", "600": "PYG", "068": "BOB", "928": "VES", "340": "HNL", "558": "NIO",
    "222": "SVC", "012": "DZD", "788": "TND", "818": "EGP", "643": "RUB", "634": "QAR", "414": "KWD",
    "048": "BHD", "512": "OMR", "400": "JOD",
}

_WEIGHTS = (1, 2, 4, 8, 5, 10, 9, 7, 3, 6)
_RECORD_11 = re.compile(r"11[\d ]{18}\d{12}\d\d{14}\d{3}")
_RECORD_22 = re.compile(r"22[\d ]{8}\d{12}[\d ]{2}[\d ]{3}[012]\d{14}")
_GENERIC_CONCEPT = re.compile(
    r"^(TRANSF|TRASP|ABONO|ORDEN|RECIBO|ADEUDO|COMISI|PAGO|INGRESO|BIZUM|NOMINA|DEVOL|REMESA|CHEQUE|TALON|"
    r"CARGO|COMPRA|COMP\.|DISP|OP\.|LIQUID|INTERES|CUOTA|IMPUEST|TRANSFERENCIA)", re.I)
_LETTER = re.compile(r"[A-Za-z]")
_LETTERS = re.compile(r"[^\W\d_]")
_DIGIT = re.compile(r"\d")
_TRANSFER_TO = re.compile(r"^(?:TRANSF\w*|TRASPASO)\.?\s*(?:(?:A|DE|DESDE|FAVOR)\b\.?\s*)?(.*)$", re.I)


def _ccc_digit(digits: str) -> int:
    d = 11 - sum(int(c) * w for c, w in zip(digits, _WEIGHTS, strict=True)) % 11
    return 0 if d == 11 else 1 if d == 10 else d


def spanish_iban(bank: str, branch: str, account: str) -> str:
    """The IBAN of a Spanish account from the parts Norma 43 gives (it leaves out the control digits)."""
    dc = f"{_ccc_digit('00' + bank + branch)}{_ccc_digit(account)}"
    return iban_from_parts("ES", bank + branch + dc + account)


@dataclass
class _Account:
    account: str
    currency: str
    opening: int
    start: dt.date
    end: dt.date
    line: int
    holder: str = ""
    lines: list[StatementLine] = field(default_factory=list)
    debits: list[int] = field(default_factory=list)  # absolute amounts by sign code
    credits: list[int] = field(default_factory=list)
    closed: bool = False
    balance: AccountBalances | None = None


@dataclass
class _Movement:
    line: int
    date: dt.date
    value_date: dt.date
    common: str
    sign: str
    amount: int
    ref1: str
    ref2: str
    complementary: list[tuple[str, str, int]] = field(default_factory=list)  # (code, record, line)
    equivalence: str = ""


class N43Importer:
    """Norma 43 / AEB CSB 43 (``.n43``, ``.csb``, ``.aeb``, ``.txt``)."""

    name = "n43"

    def identify(self, data: bytes, filename: str = "") -> bool:
        head = data[:4096].decode("latin-1")
        for raw in head.splitlines():
            rec = raw.strip("\r\n\x1a\ufeff")
            if not rec.strip():
                continue
            return bool(_RECORD_11.match(rec) or _RECORD_22.match(rec))
        return False

    def parse(self, data: bytes, filename: str = "", default_currency: str = "EUR") -> Statement:
        text, _enc = decode(data)
        src = filename
        warnings: list[str] = []
        accounts: list[_Account] = []
        acct: _Account | None = None
        move: _Movement | None = None
        records = 0
        end_seen = False

        def flush() -> None:
            nonlocal move
            if move is not None and acct is not None:
                self._finish(move, acct, warnings, src)
            move = None

        for i, raw in enumerate(text.split("\n"), 1):
            rec = raw.rstrip("\r").rstrip("\x1a").lstrip("\ufeff")
            if not rec.strip():
                continue
            code = rec[:2]
            if end_seen:
                warnings.append(f"line {i}: text after the end-of-file record (88) was ignored")
                break
            if code != "88":
                records += 1
            if code == "11":
                flush()
                if acct is not None and not acct.closed:
                    self._no_totals(acct, warnings)
                acct = self._header(rec, i, src)
                accounts.append(acct)
            elif code == "22":
                flush()
                if acct is None:
                    raise StatementError("a movement (record 22) comes before any account header (record 11)",
                                         i, src)
                if acct.closed:
                    raise StatementError("a movement (record 22) comes after the account's totals (record 33) "
                                         "and before a new account header (record 11)", i, src)
                move = self._movement(rec, i, src)
            elif code == "23":
                if move is None:
                    warnings.append(f"line {i}: a complementary concept (record 23) without a movement was ignored")
                    continue
                move.complementary.append((rec[2:4], rec.ljust(80), i))
            elif code == "24":
                if move is None:
                    warnings.append(f"line {i}: a currency equivalence (record 24) without a movement was ignored")
                    continue
                move.equivalence = self._equivalence(rec, i, src)
            elif code == "33":
                flush()
                if acct is None or acct.closed:
                    raise StatementError("account totals (record 33) without an account header (record 11)", i, src)
                self._totals(rec, i, acct, warnings, src)
            elif code == "88":
                flush()
                if acct is not None and not acct.closed:
                    self._no_totals(acct, warnings)
                digits = rec[20:26].strip()
                if digits.isdigit() and int(digits) not in (records, records + 1):
                    warnings.append(f"line {i}: the end-of-file record (88) counts {int(digits)} records, "
                                    f"but the file has {records}")
                end_seen = True
            else:
                raise StatementError(f"{rec[:2]!r} is not a Norma 43 record type (11, 22, 23, 24, 33 or 88)", i, src)
        flush()
        if not accounts:
            raise StatementError("no account header (record 11) found: this is not a Norma 43 file", None, src)
        if acct is not None and not acct.closed:
            self._no_totals(acct, warnings)
        if not end_seen:
            warnings.append("the file has no end-of-file record (88); it may be incomplete")
        lines: list[StatementLine] = []
        balances: list[AccountBalances] = []
        for a in accounts:
            lines.extend(a.lines)
        for a in accounts:
            if a.balance is not None:
                balances.append(a.balance)
        return Statement(format="n43", lines=assign_ids(lines), balances=balances, warnings=warnings)

    # ------------------------------------------------------------------ records

    @staticmethod
    def _digits(rec: str, a: int, b: int, line: int, src: str, what: str) -> int:
        s = rec[a:b]
        if len(s) < b - a:
            raise StatementError(f"the record is cut short ({len(rec)} characters; Norma 43 records have 80), "
                                 f"so its {what} is missing", line, src)
        if not s.isdigit():
            raise StatementError(f"{what} {s!r} should be {b - a} digits", line, src)
        return int(s)

    def _currency(self, code: str, line: int, src: str) -> str:
        alpha = NUMERIC_CURRENCIES.get(code)
        if alpha is None:
            raise StatementError(f"currency code {code!r} is not an ISO 4217 numeric code cobro knows "
                                 "(978 is EUR)", line, src)
        return alpha

    @staticmethod
    def _minor(cents: int, currency: str, line: int, src: str) -> int:
        try:
            return money.to_minor(Decimal(cents).scaleb(-2), currency)
        except money.MoneyError as e:
            raise StatementError(str(e), line, src) from None

    def _header(self, rec: str, i: int, src: str) -> _Account:
        if len(rec) < 50:
            raise StatementError(f"the account header (record 11) is cut short ({len(rec)} characters; "
                                 "it needs 80)", i, src)
        bank, branch, number = rec[2:6], rec[6:10], rec[10:20]
        if (bank + branch + number).isdigit():
            account = spanish_iban(bank, branch, number)
        else:
            account = (bank + branch + number).strip()
        start = yymmdd(rec[20:26], i, src, "start date")
        end = yymmdd(rec[26:32], i, src, "end date")
        sign = rec[32]
        cents = self._digits(rec, 33, 47, i, src, "opening balance")
        currency = self._currency(rec[47:50], i, src)
        opening = self._minor(cents, currency, i, src)
        if sign == "1":
            opening = -opening
        elif sign != "2" and opening:
            raise StatementError(f"the opening balance's debit/credit code {sign!r} should be 1 (debit) or "
                                 "2 (credit)", i, src)
        return _Account(account=account, currency=currency, opening=opening, start=start, end=end, line=i,
                        holder=rec[51:77].strip())

    def _movement(self, rec: str, i: int, src: str) -> _Movement:
        if len(rec) < 42:
            raise StatementError(f"the movement (record 22) is cut short ({len(rec)} characters; it needs 80)",
                                 i, src)
        date = yymmdd(rec[10:16], i, src, "operation date")
        value_date = yymmdd(rec[16:22], i, src, "value date")
        sign = rec[27]
        cents = self._digits(rec, 28, 42, i, src, "amount")
        if sign not in "12" and cents:
            raise StatementError(f"the movement's debit/credit code {sign!r} should be 1 (debit) or 2 (credit)",
                                 i, src)
        return _Movement(line=i, date=date, value_date=value_date, common=rec[22:24], sign=sign, amount=cents,
                         ref1=rec[52:64].strip(), ref2=rec[64:80].strip())

    def _equivalence(self, rec: str, i: int, src: str) -> str:
        code = rec[4:7]
        alpha = NUMERIC_CURRENCIES.get(code)
        digits = rec[7:21]
        if alpha is None or not digits.isdigit():
            return ""
        try:
            minor = money.to_minor(Decimal(int(digits)).scaleb(-2), alpha)
        except money.MoneyError:
            return ""
        return f"orig. {fmt(minor, alpha)} {alpha}"

    def _finish(self, mv: _Movement, acct: _Account, warnings: list[str], src: str) -> None:
        minor = self._minor(mv.amount, acct.currency, mv.line, src)
        amount = -minor if mv.sign == "1" else minor
        (acct.debits if mv.sign == "1" else acct.credits).append(minor)
        recs = {code: (r, ln) for code, r, ln in mv.complementary}
        pieces: list[str] = []
        name = ""
        first = recs.get("01", (None, 0))[0]
        reference = ""
        if first is not None and first[4:8].strip() in ("CORE", "B2B", "COR1") and "02" in recs:
            # SEPA direct debit (Norma 43, 2012 appendix 4): fixed fields, not two 38-character concepts.
            r2 = recs.get("02", ("".ljust(80), 0))[0]
            r3 = recs.get("03", ("".ljust(80), 0))[0]
            r4 = recs.get("04", ("".ljust(80), 0))[0]
            r5 = recs.get("05", ("".ljust(80), 0))[0]
            creditor = first[8:78].strip()
            remittance = (r3[12:80].lstrip() + r4[4:76].rstrip()).strip()
            creditor_ref = r5[4:39].strip()
            debtor = r5[39:80].strip()
            pieces += [creditor, remittance, creditor_ref, r2[4:39].strip(), r2[39:74].strip(), debtor]
            name = creditor if amount < 0 else debtor
            reference = creditor_ref
            extra = [r for code, r, _ in mv.complementary if code not in ("01", "02", "03", "04", "05")]
            for r in extra:
                pieces += self._concepts(r)
        elif first is not None and mv.common == "04" and all(c in recs for c in ("02", "03", "04", "05")):
            # SEPA credit transfer (Norma 43, 2012 appendix 4): originator, references, remittance information
            r2, r3, r4, r5 = (recs[c][0] for c in ("02", "03", "04", "05"))
            originator = first[4:70].strip()
            sepa_ref = r2[4:39].strip()
            remittance = (r3[12:80].lstrip() + r4[4:76].rstrip()).strip()
            pieces += [originator, first[70:80].strip(), remittance, r4[76:80].strip(), r2[39:80].strip(),
                       r5[4:80].strip()]
            if sepa_ref.upper() not in ("", "NOTPROVIDED", "NOT PROVIDED"):
                pieces.append(sepa_ref)
                reference = sepa_ref
            m = _TRANSFER_TO.match(originator)
            name = (m[1].strip() if m else originator) or ""
            if normalize_header(name) == normalize_header(acct.holder):
                name = ""
            extra = [r for code, r, _ in mv.complementary if code not in ("01", "02", "03", "04", "05")]
            for r in extra:
                pieces += self._concepts(r)
        else:
            for _code, r, _ln in mv.complementary:
                pieces += self._concepts(r)
            if first is not None and mv.common in ("02", "04"):
                name = self._counterparty(first, amount)
        for ref in (mv.ref1, mv.ref2):
            if _LETTER.search(ref):
                pieces.append(ref)
        if mv.equivalence:
            pieces.append(mv.equivalence)
        if not reference:
            for ref in (mv.ref2, mv.ref1):
                if ref.strip("0") and _DIGIT.search(ref):
                    reference = ref
                    break
        text = join_text(pieces)
        if "\ufffd" in text:
            warnings.append(damaged_text_warning(text, f"line {mv.line}") or "")
        kind = "return" if mv.common in _RETURN_CONCEPTS else "fee" if mv.common == "17" and amount < 0 else "payment"
        acct.lines.append(StatementLine(
            line_id="", account=acct.account, date=mv.date, value_date=mv.value_date, amount=amount,
            currency=acct.currency, text=text, counterparty_name=name, bank_reference=reference,
            source_line=mv.line, kind=kind, return_of=reference if kind == "return" else ""))

    @staticmethod
    def _concepts(rec: str) -> list[str]:
        rec = rec.ljust(80)
        left, right = rec[4:42], rec[42:80]
        if left.strip() and right.strip() and left[-1] != " " and right[0] != " ":
            return [(left + right).strip()]  # one text that runs across the two 38-character fields
        return [left.strip(), right.strip()]

    @staticmethod
    def _counterparty(first: str, amount: int) -> str:
        rec = first.ljust(80)
        left, right = rec[4:42].strip(), rec[42:80].strip()
        m = _TRANSFER_TO.match(left)
        if m:
            candidate = m[1].strip() or right
        elif amount > 0 and not _GENERIC_CONCEPT.match(left):
            candidate = left
        else:
            return ""
        letters = len(_LETTERS.findall(candidate))
        return candidate if letters >= 2 and letters >= len(candidate.replace(" ", "")) / 2 else ""

    def _totals(self, rec: str, i: int, acct: _Account, warnings: list[str], src: str) -> None:
        acct.closed = True
        where = f"line {i}"
        n_debit = self._digits(rec, 20, 25, i, src, "number of debits")
        sum_debit = self._minor(self._digits(rec, 25, 39, i, src, "total of debits"), acct.currency, i, src)
        n_credit = self._digits(rec, 39, 44, i, src, "number of credits")
        sum_credit = self._minor(self._digits(rec, 44, 58, i, src, "total of credits"), acct.currency, i, src)
        sign = rec[58] if len(rec) > 58 else ""
        closing_abs = self._minor(self._digits(rec, 59, 73, i, src, "closing balance"), acct.currency, i, src)
        cur33 = rec[73:76]
        if cur33.strip() and NUMERIC_CURRENCIES.get(cur33, "") != acct.currency:
            warnings.append(f"{where}: the totals record's currency {cur33!r} differs from the account header's "
                            f"({acct.currency})")
        got_d, got_c = sum(acct.debits), sum(acct.credits)
        cur = acct.currency
        if n_debit != len(acct.debits) or sum_debit != got_d:
            warnings.append(f"{where}: the file's totals say {n_debit} debits for {fmt(sum_debit, cur)} {cur}, "
                            f"but its movements have {len(acct.debits)} debits for {fmt(got_d, cur)} {cur}")
        if n_credit != len(acct.credits) or sum_credit != got_c:
            warnings.append(f"{where}: the file's totals say {n_credit} credits for {fmt(sum_credit, cur)} {cur}, "
                            f"but its movements have {len(acct.credits)} credits for {fmt(got_c, cur)} {cur}")
        total = got_c - got_d
        if sign == "1":
            closing = -closing_abs
        elif sign == "2":
            closing = closing_abs
        else:
            fits_negative = acct.opening + total == -closing_abs
            closing = -closing_abs if fits_negative and closing_abs else closing_abs
            if closing_abs:
                warnings.append(f"{where}: the closing balance's debit/credit code is {sign!r} (expected 1 or 2); "
                                f"read as a {'debit' if closing < 0 else 'credit'} balance"
                                + (", which agrees with the movements"
                                   if acct.opening + total == closing else ""))
        bal = AccountBalances(account=acct.account, currency=cur, opening=acct.opening, closing=closing,
                              opening_date=acct.start, closing_date=acct.end)
        acct.balance = bal
        w = balance_warning(bal, total, where)
        if w:
            warnings.append(w)

    def _no_totals(self, acct: _Account, warnings: list[str]) -> None:
        acct.closed = True
        acct.balance = AccountBalances(
            account=acct.account, currency=acct.currency, opening=acct.opening, closing=None,
            opening_date=acct.start, closing_date=acct.end)
        warnings.append(f"line {acct.line}: account {acct.account} has no totals record (33), so its movements "
                        "could not be checked against the bank's totals; the file may be incomplete")
