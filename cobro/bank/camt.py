"""ISO 20022 CAMT.053 statements and CAMT.052 account reports (any version: the reader ignores namespaces).

One line per booked entry (``Ntry``), except batch entries whose transaction details (``TxDtls``) each
carry an amount in the entry's currency adding up to the entry: those become one line per detail with
its own amount, counterparty and reference. Text comes from every free-text element there is —
remittance information, additional transaction information and the entry-level ``AddtlNtryInf``
(the only text some banks send). Pending entries are left out with a warning: they are not booked.

A CAMT.052 account report (``BkToCstmrAcctRpt``/``Rpt``, the common German and Swiss intraday and day-end
export) has the same entries and is read the same way. A booking given as a moment (``BookgDt/DtTm``, in
UTC or with an offset) is dated in the bank's local time, taken from the account's IBAN country: the
Lithuanian bank's ``2014-01-04T23:00:00Z`` is its 5 January. Reversals (``RvslInd`` true), entries with
return information (``RtrInf``) and the ISO return/reversal transaction codes are ``kind="return"``.

lxml is imported when a CAMT file is read, not when ``cobro.bank`` is imported.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .. import money
from ._common import assign_ids, balance_warning, check_currency, fmt, join_text, located, ymd
from .base import AccountBalances, Statement, StatementError, StatementLine

if TYPE_CHECKING:
    from lxml import etree

_OPENING = ("OPBD", "PRCD")
_CLOSING = ("CLBD",)


def _local(el: etree._Element) -> str:
    tag = el.tag
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1]


def _kids(el: etree._Element | None, name: str) -> list[etree._Element]:
    if el is None:
        return []
    return [c for c in el if _local(c) == name]


def _find(el: etree._Element | None, *path: str) -> etree._Element | None:
    cur = el
    for name in path:
        if cur is None:
            return None
        nxt = None
        for c in cur:
            if _local(c) == name:
                nxt = c
                break
        cur = nxt
    return cur


def _text(el: etree._Element | None, *path: str) -> str:
    found = _find(el, *path) if path else el
    if found is None or found.text is None:
        return ""
    return found.text.strip()


def _texts(el: etree._Element | None, *path: str) -> list[str]:
    """Text of every element at ``path`` (each step may repeat)."""
    if el is None:
        return []
    level = [el]
    for name in path:
        level = [c for e in level for c in e if _local(c) == name]
    return [(e.text or "").strip() for e in level if (e.text or "").strip()]


# the IANA zone of the bank, by the account's IBAN country (countries that use IBAN)
_ZONES = {
    "AD": "Europe/Andorra", "AE": "Asia/Dubai", "AL": "Europe/Tirane", "AT": "Europe/Vienna", "AZ": "Asia/Baku",
    "BA": "Europe/Sarajevo", "BE": "Europe/Brussels", "BG": "Europe/Sofia", "BH": "Asia/Bahrain",
    "BR": "America/Sao_Paulo", "BY": "Europe/Minsk", "CH": "Europe/Zurich", "CR": "America/Costa_Rica",
    "CY": "Asia/Nicosia", "CZ": "Europe/Prague", "DE": "Europe/Berlin", "DK": "Europe/Copenhagen",
    "DO": "America/Santo_Domingo", "EE": "Europe/Tallinn", "EG": "Africa/Cairo", "ES": "Europe/Madrid",
    "FI": "Europe/Helsinki", "FO": "Atlantic/Faroe", "FR": "Europe/Paris", "GB": "Europe/London",
    "GE": "Asia/Tbilisi", "GI": "Europe/Gibraltar", "GL": "America/Nuuk", "GR": "Europe/Athens",
    "GT": "America/Guatemala", "HR": "Europe/Zagreb", "HU": "Europe/Budapest", "IE": "Europe/Dublin",
    "IL": "Asia/Jerusalem", "IQ": "Asia/Baghdad", "IS": "Atlantic/Reykjavik", "IT": "Europe/Rome",
    "JO": "Asia/Amman", "KW": "Asia/Kuwait", "KZ": "Asia/Almaty", "LB": "Asia/Beirut", "LC": "America/St_Lucia",
    "LI": "Europe/Vaduz", "LT": "Europe/Vilnius", "LU": "Europe/Luxembourg", "LV": "Europe/Riga",
    "MC": "Europe/Monaco", "MD": "Europe/Chisinau", "ME": "Europe/Podgorica", "MK": "Europe/Skopje",
    "MR": "Africa/Nouakchott", "MT": "Europe/Malta", "MU": "Indian/Mauritius", "NL": "Europe/Amsterdam",
    "NO": "Europe/Oslo", "PK": "Asia/Karachi", "PL": "Europe/Warsaw", "PS": "Asia/Hebron",
    "PT": "Europe/Lisbon", "QA": "Asia/Qatar", "RO": "Europe/Bucharest", "RS": "Europe/Belgrade",
    "SA": "Asia/Riyadh", "SC": "Indian/Mahe", "SE": "Europe/Stockholm", "SI": "Europe/Ljubljana",
    "SK": "Europe/Bratislava", "SM": "Europe/San_Marino", "ST": "Africa/Sao_Tome", "SV": "America/El_Salvador",
    "TL": "Asia/Dili", "TN": "Africa/Tunis", "TR": "Europe/Istanbul", "UA": "Europe/Kyiv", "VA": "Europe/Vatican",
    "VG": "America/Tortola", "XK": "Europe/Belgrade",
}
_MOMENT = re.compile(r"(\d{4}-\d{2}-\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")


def bank_zone(account: str) -> ZoneInfo | None:
    """The bank's time zone, from the IBAN country of ``account`` (None when unknown)."""
    name = _ZONES.get(account[:2].upper()) if re.match(r"[A-Za-z]{2}\d{2}", account) else None
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def local_date(raw: str, zone: ZoneInfo | None, line: int | None, what: str) -> dt.date:
    """The date of a CAMT ``DtTm`` in the bank's zone: a moment with ``Z`` or an offset is converted;
    a moment without one is the bank's local time already."""
    m = _MOMENT.match(raw.strip())
    day = ymd(raw, line, "", what)
    if not m or not m[5] or zone is None:
        return day
    try:
        moment = dt.datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        return day
    if moment.tzinfo is None:
        return day
    return moment.astimezone(zone).date()


def _date(el: etree._Element | None, line: int | None, what: str, zone: ZoneInfo | None = None) -> dt.date | None:
    if el is None:
        return None
    raw = _text(el, "Dt")
    if raw:
        return ymd(raw, line, "", what)
    raw = _text(el, "DtTm")
    if not raw:
        return None
    return local_date(raw, zone, line, what)


def _amount(amt: etree._Element, line: int | None) -> tuple[int, str]:
    cur = check_currency(amt.get("Ccy", ""), line)
    raw = (amt.text or "").strip()
    try:
        return money.to_minor(raw, cur), cur
    except money.MoneyError as e:
        raise StatementError(f"amount {raw!r} cannot be read: {e}", line) from None


def _signed(amount: int, indicator: str, line: int | None) -> int:
    if indicator == "CRDT":
        return amount
    if indicator == "DBIT":
        return -amount
    raise StatementError(f"credit/debit indicator {indicator!r} should be CRDT or DBIT", line)


def _party_name(parties: etree._Element | None, role: str) -> str:
    return _text(parties, role, "Nm") or _text(parties, role, "Pty", "Nm")


def _account_id(el: etree._Element | None) -> str:
    return _text(el, "Id", "IBAN") or _text(el, "Id", "Othr", "Id")


# ISO bank transaction sub-family codes that mean "this reverses an earlier payment"
_RETURN_CODES = {"RRTN", "RPCR", "UPDD", "RCDD", "ARET", "AREV", "RRCT"}


class CamtImporter:
    """ISO 20022 CAMT.053 statements and CAMT.052 account reports (``.xml``)."""

    name = "camt053"

    def identify(self, data: bytes, filename: str = "") -> bool:
        head = data[:4096]
        return (b"BkToCstmrStmt" in head or b"camt.053" in head or b"BkToCstmrAcctRpt" in head
                or b"camt.052" in head)

    def parse(self, data: bytes, filename: str = "", default_currency: str = "EUR") -> Statement:
        from lxml import etree  # here, so importing cobro.bank (and the matcher) does not need lxml

        src = filename
        parser = etree.XMLParser(resolve_entities=False, no_network=True, remove_comments=True,
                                 remove_pis=True, huge_tree=False)
        try:
            root = etree.fromstring(data, parser)
        except etree.XMLSyntaxError as e:
            line = e.lineno if isinstance(e.lineno, int) and e.lineno > 0 else None
            raise StatementError(f"the XML is malformed or cut short ({e.msg})", line, src) from None
        if root is None:
            raise StatementError("the file is not XML", None, src)
        body, kind = None, "Stmt"
        for outer, inner in (("BkToCstmrStmt", "Stmt"), ("BkToCstmrAcctRpt", "Rpt")):
            body = root if _local(root) == outer else _find(root, outer)
            if body is not None:
                kind = inner
                break
        if body is None:
            kinds = {"BkToCstmrDbtCdtNtfctn": "a CAMT.054 debit/credit notification"}
            inner_kind = next((kinds[_local(c)] for c in root if _local(c) in kinds), None)
            what = inner_kind or f"XML whose root element is <{_local(root)}>"
            raise StatementError(f"this is {what}, not a CAMT.053 bank statement (BkToCstmrStmt) nor a CAMT.052 "
                                 "account report (BkToCstmrAcctRpt)", root.sourceline, src)
        warnings: list[str] = []
        lines: list[StatementLine] = []
        balances: list[AccountBalances] = []
        statements = _kids(body, kind)
        if not statements:
            what = ("the CAMT.053 file has no statement (Stmt)" if kind == "Stmt"
                    else "the CAMT.052 account report has no report (Rpt)")
            raise StatementError(what, body.sourceline, src)
        with located(src):
            for stmt in statements:
                self._statement(stmt, lines, balances, warnings, default_currency)
        return Statement(format="camt053" if kind == "Stmt" else "camt052", lines=assign_ids(lines),
                         balances=balances, warnings=warnings)

    def _statement(self, stmt: etree._Element, lines: list[StatementLine], balances: list[AccountBalances],
                   warnings: list[str], default_currency: str) -> None:
        acct_el = _find(stmt, "Acct")
        account = _account_id(acct_el)
        zone = bank_zone(account)
        stmt_id = _text(stmt, "Id")
        currency = _text(acct_el, "Ccy").upper()
        opening = closing = None
        opening_date = closing_date = None
        for bal in _kids(stmt, "Bal"):
            code = _text(bal, "Tp", "CdOrPrtry", "Cd") or _text(bal, "Tp", "CdOrPrtry", "Prtry")
            amt_el = _find(bal, "Amt")
            if amt_el is None:
                continue
            value, cur = _amount(amt_el, bal.sourceline)
            value = _signed(value, _text(bal, "CdtDbtInd") or "CRDT", bal.sourceline)
            day = _date(_find(bal, "Dt"), bal.sourceline, "balance date", zone)
            if code in _OPENING and opening is None:
                opening, opening_date, currency = value, day, currency or cur
            elif code in _CLOSING and closing is None:
                closing, closing_date, currency = value, day, currency or cur
        currency = currency or default_currency
        first_line = len(lines)
        pending = 0
        for ntry in _kids(stmt, "Ntry"):
            status = _text(ntry, "Sts") or _text(ntry, "Sts", "Cd")
            if status and status not in ("BOOK",):
                pending += 1
                continue
            lines.extend(self._entry(ntry, account, warnings, zone))
        where = f"statement {stmt_id or '?'} (line {stmt.sourceline})"
        if pending:
            warnings.append(f"{where}: {pending} entries that are not booked (pending or for information) "
                            "were left out")
        own = lines[first_line:]
        bal = AccountBalances(account=account, currency=currency, opening=opening, closing=closing,
                              opening_date=opening_date, closing_date=closing_date)
        balances.append(bal)
        other = {ln.currency for ln in own if ln.currency != currency}
        if other:
            warnings.append(f"{where}: some entries are in {', '.join(sorted(other))}, not in the account's "
                            f"{currency}; the balances were checked without them")
        w = balance_warning(bal, sum(ln.amount for ln in own if ln.currency == currency), where)
        if w:
            warnings.append(w)
        summary = _find(stmt, "TxsSummry")
        if summary is not None:
            self._check_summary(summary, own, currency, where, warnings)

    def _check_summary(self, summary: etree._Element, own: list[StatementLine], currency: str, where: str,
                       warnings: list[str]) -> None:
        for key, pick in (("TtlCdtNtries", lambda a: a > 0), ("TtlDbtNtries", lambda a: a < 0)):
            el = _find(summary, key)
            total = _text(el, "Sum")
            if el is None or not total:
                continue
            try:
                stated = money.to_minor(total, currency)
            except money.MoneyError:
                continue
            got = sum(abs(ln.amount) for ln in own if pick(ln.amount) and ln.currency == currency)
            if stated != got:
                kind = "credits" if key == "TtlCdtNtries" else "debits"
                warnings.append(f"{where}: the statement's summary says {kind} total {fmt(stated, currency)} "
                                f"{currency}, but its entries add up to {fmt(got, currency)} {currency}")

    def _entry(self, ntry: etree._Element, account: str, warnings: list[str],
               zone: ZoneInfo | None = None) -> list[StatementLine]:
        line = ntry.sourceline
        amt_el = _find(ntry, "Amt")
        if amt_el is None:
            raise StatementError("an entry (Ntry) has no amount (Amt)", line)
        amount, currency = _amount(amt_el, line)
        indicator = _text(ntry, "CdtDbtInd")
        signed = _signed(amount, indicator, line)
        date = _date(_find(ntry, "BookgDt"), line, "booking date", zone)
        value_date = _date(_find(ntry, "ValDt"), line, "value date", zone)
        reversal = _text(ntry, "RvslInd").lower() in ("true", "1")
        codes = {c.upper() for c in _texts(ntry, "BkTxCd", "Domn", "Fmly", "SubFmlyCd")}
        if date is None:
            date = value_date
        if date is None:
            raise StatementError("an entry (Ntry) has neither a booking date nor a value date", line)
        entry_info = _texts(ntry, "AddtlNtryInf")
        entry_ref = _text(ntry, "AcctSvcrRef")
        details = [tx for dtl in _kids(ntry, "NtryDtls") for tx in _kids(dtl, "TxDtls")]
        split = self._split_amounts(details, currency, indicator, amount)
        out: list[StatementLine] = []
        if split is None and len(details) > 1:
            warnings.append(f"line {line}: the entry's {len(details)} transaction details do not each carry an "
                                 f"amount adding up to the entry's {fmt(amount, currency)} {currency}; it was kept "
                                 "as one line with all their texts")
        if split is None:
            out.append(self._line(details, signed, currency, indicator, date, value_date, entry_info, entry_ref,
                                  account, line))
        else:
            for tx, tx_amount in zip(details, split, strict=True):
                out.append(self._line([tx], tx_amount, currency, "CRDT" if tx_amount > 0 else "DBIT", date,
                                      value_date, entry_info, entry_ref, account, tx.sourceline or line))
        if reversal or codes & _RETURN_CODES:
            for ln in out:
                # the lines were made a moment ago and nobody else holds them yet
                object.__setattr__(ln, "kind", "return")
        return out

    @staticmethod
    def _split_amounts(details: list[etree._Element], currency: str, indicator: str, amount: int) -> list[int] | None:
        """Signed amounts per transaction detail when they add up to the entry, else None."""
        if len(details) < 2:
            return None
        out: list[int] = []
        for tx in details:
            amt_el = _find(tx, "AmtDtls", "TxAmt", "Amt")
            if amt_el is None:
                amt_el = _find(tx, "Amt")
            if amt_el is None:
                amt_el = _find(tx, "AmtDtls", "InstdAmt", "Amt")
            if amt_el is None or amt_el.get("Ccy", "").upper() != currency:
                return None
            try:
                value = money.to_minor((amt_el.text or "").strip(), currency)
            except money.MoneyError:
                return None
            tx_ind = _text(tx, "CdtDbtInd") or indicator
            out.append(value if tx_ind == "CRDT" else -value)
        entry_signed = amount if indicator == "CRDT" else -amount
        return out if sum(out) == entry_signed else None

    def _line(self, details: list[etree._Element], amount: int, currency: str, indicator: str, date: dt.date,
              value_date: dt.date | None, entry_info: list[str], entry_ref: str, account: str,
              line: int | None) -> StatementLine:
        pieces: list[str] = []
        name = iban = reference = return_of = ""
        returned = False
        # a credit comes from the debtor, a debit goes to the creditor
        role, acct_role, ultimate = (("Dbtr", "DbtrAcct", "UltmtDbtr") if indicator == "CRDT"
                                     else ("Cdtr", "CdtrAcct", "UltmtCdtr"))
        for tx in details:
            parties = _find(tx, "RltdPties")
            tx_name = _party_name(parties, role)
            name = name or tx_name
            iban = iban or _account_id(_find(parties, acct_role))
            refs = _find(tx, "Refs")
            e2e = _text(refs, "EndToEndId")
            if not reference:
                for cand in (e2e, _text(refs, "AcctSvcrRef"), _text(refs, "TxId"), _text(refs, "InstrId")):
                    if cand and cand.upper() not in ("NOTPROVIDED", "NOT PROVIDED", "NONREF"):
                        reference = cand
                        break
            pieces.append(tx_name)
            pieces.append(_party_name(parties, ultimate))
            pieces += _texts(tx, "RmtInf", "Ustrd")
            pieces += _texts(tx, "RmtInf", "Strd", "CdtrRefInf", "Ref")
            pieces += _texts(tx, "RmtInf", "Strd", "RfrdDocInf", "Nb")
            pieces += _texts(tx, "RmtInf", "Strd", "AddtlRmtInf")
            pieces += _texts(tx, "AddtlTxInf")
            pieces += _texts(tx, "RtrInf", "AddtlInf")
            if _find(tx, "RtrInf") is not None or {c.upper() for c in _texts(tx, "BkTxCd", "Domn", "Fmly",
                                                                          "SubFmlyCd")} & _RETURN_CODES:
                returned = True  # the reason code (RtrInf/Rsn) is kept out of the text: it would change the id
                # a return carries the original transfer's end-to-end id
                if e2e and e2e.upper() not in ("NOTPROVIDED", "NOT PROVIDED", "NONREF"):
                    return_of = return_of or e2e
        pieces += entry_info
        reference = reference or entry_ref
        return StatementLine(
            line_id="", account=account, date=date, value_date=value_date, amount=amount, currency=currency,
            text=join_text(pieces), counterparty_name=name, counterparty_iban=iban, bank_reference=reference,
            source_line=line or 0, kind="return" if returned else "payment", return_of=return_of)
