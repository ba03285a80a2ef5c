"""SWIFT MT940 customer statements, read leniently.

A field starts with ``:TAG:`` at the start of a line; every other line continues the field before it
(so a ``:28C:`` split over two lines, as in one real ING file, reads fine). ``-`` ends a message only
when no other field follows before the next ``:20:``. The ``:86:`` details are understood in the
three shapes banks use: German ``?20``-style subfields (with SEPA keywords such as ``EREF+``), Dutch
``/TAG/value`` fields (``/EREF/``, ``/CNTP/``, ``/REMI/``) and plain text.

Signs: ``C`` and ``RD`` (reversal of a debit) are credits, ``D`` and ``RC`` (reversal of a credit) debits.
``RC``/``RD`` storno lines, the ``RTI`` (returned item) transaction type and a Dutch ``/RTRN/`` field are
``kind="return"``. The booking date is the ``:61:`` entry date (its year taken from the value date); the value
date is the first subfield. The customer reference is at most 16 characters: what follows it on the line
(old Rabobank files put the counterparty's account and name there) is text, not reference; the ``//`` bank
reference is kept in the text when the customer reference is the line's reference. ``:NS:`` blocks after a
movement (payee and purpose in Hungarian and Polish banks' files: ``NN`` + text per line) are its text too.
``:86:`` lines hard-wrapped at 65 characters are joined without a space when the wrap falls inside a word.

One statement that cannot be read (an obsolete currency such as DEM, a damaged movement) is left out with a
warning naming it; the other statements of the file are kept. A file none of whose statements reads is refused.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from .. import money
from ._common import (
    assign_ids,
    balance_warning,
    check_currency,
    decode,
    fmt,
    join_text,
    minor_from_swift,
    yymmdd,
)
from .base import AccountBalances, Statement, StatementError, StatementLine

_TAG_LINE = re.compile(r"^:(13D|20|21|25P?|28C?|34F|60[FM]|61|62[FM]|64|65|86|90[DC]|NS):")
_BALANCE = re.compile(r"^([CD])(\d{6})([A-Z]{3})(\d[\d,]*)$")
_ENTRY = re.compile(r"^(\d{6})(\d{4})?(R?[DC])([A-Z])?\s?(\d[\d,]*)([A-Z][A-Z0-9 ]{3})?(.*)$")
_WRAP = 65  # SWIFT line length: a full line was wrapped by the bank, maybe inside a word
_SLASH_TAGS = ("EREF", "PREF", "MARF", "CSID", "CNTP", "REMI", "RTRN", "PURP", "ULTC", "ULTD", "ULTB", "BENM",
               "ORDP", "NAME", "ADDR", "IBAN", "BIC", "TRCD", "ISDT", "SUM", "TRTP", "ACCW", "BUSP")
_SLASH_TAG = re.compile(r"/(" + "|".join(_SLASH_TAGS) + r")/")
_SEPA_KEY = re.compile(r"^(EREF|KREF|MREF|CRED|DEBT|SVWZ|ABWA|ABWE|COAM|OAMT|IBAN|BIC|MTLG)[+:]")
_NO_REF = {"", "NONREF", "NOTPROVIDED", "NOT PROVIDED", "EREF", "PREF", "KREF+", "NONE"}


@dataclass
class _Field:
    tag: str
    lines: list[str]
    line: int

    @property
    def value(self) -> str:
        return "".join(self.lines)


@dataclass
class _Details:
    pieces: list[str] = field(default_factory=list)
    name: str = ""
    iban: str = ""
    reference: str = ""


@dataclass
class _Segment:
    account: str = ""
    currency: str = ""
    reference: str = ""
    opening: int | None = None
    opening_date: dt.date | None = None
    closing: int | None = None
    closing_date: dt.date | None = None
    closing_line: int = 0
    start_line: int = 0
    lines: list[StatementLine] = field(default_factory=list)
    error: StatementError | None = None  # why the statement was left out


def _fields(text: str) -> list[_Field]:
    raw = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    tags: list[str | None] = []
    for ln in raw:
        m = _TAG_LINE.match(ln)
        tags.append(m[1] if m else None)
    # the next field tag after each line (None at the end), to tell a message end from a "-" continuation
    next_tag: list[str | None] = [None] * (len(raw) + 1)
    for i in range(len(raw) - 1, -1, -1):
        next_tag[i] = tags[i] if tags[i] is not None else next_tag[i + 1]
    out: list[_Field] = []
    current: _Field | None = None
    for i, ln in enumerate(raw):
        tag = tags[i]
        if tag is not None:
            current = _Field(tag, [ln[len(tag) + 2:]], i + 1)
            out.append(current)
            continue
        stripped = ln.strip()
        if stripped.startswith("{"):
            if "{4:" in stripped:
                after = stripped.split("{4:", 1)[1]
                if after and _TAG_LINE.match(after):
                    m = _TAG_LINE.match(after)
                    assert m is not None
                    current = _Field(m[1], [after[len(m[1]) + 2:]], i + 1)
                    out.append(current)
                    continue
            current = None
            continue
        if stripped in ("-", "-}") or stripped.startswith("-}"):
            if next_tag[i + 1] in (None, "20"):
                current = None
                continue
        if current is not None and ln != "":
            current.lines.append(ln)
    return out


def _split_account(value: str) -> str:
    s = value.strip()
    m = re.fullmatch(r"([A-Z]{2}\d{2}[A-Z0-9]{10,30}?)[ /]?([A-Z]{3})", s)
    if m and money.is_known_currency(m[2]):
        return m[1]
    return s


def _details(lines: list[str]) -> _Details:
    joined = "".join(lines)
    m = re.match(r"^\d{3}([^A-Za-z0-9 ])\d{2}", joined)
    if m:
        return _german(joined, m[1])
    if joined.startswith("/") and _SLASH_TAG.search(joined):
        return _slashed(joined)
    return _Details(pieces=[_unwrap(lines)])


def _unwrap(lines: list[str], first_prefix: int = 4) -> str:
    """Lines of one field as one text: a line the bank filled to 65 characters (``:86:`` counted on the
    first) was wrapped there, so when it ends inside a word the next line continues the word."""
    out = ""
    full = False
    for k, raw in enumerate(lines):
        part = raw.strip()
        if not part:
            full = False
            continue
        if out:
            glue = full and out[-1].isalnum() and part[0].isalnum()
            out += part if glue else " " + part
        else:
            out = part
        full = len(raw.rstrip("\r\n")) + (first_prefix if k == 0 else 0) == _WRAP and raw.rstrip() == raw
    return out


def _non_swift(lines: list[str]) -> _Details:
    """A ``:NS:`` block: lines ``NN`` + text. Name lines 15/16 (and 32/33) wrapped inside words are joined."""
    sub: dict[str, str] = {}
    order: list[str] = []
    for raw in lines:
        m = re.match(r"^\s*(\d{2})(.*)$", raw)
        if not m:
            if order:
                sub[order[-1]] += " " + raw.strip()
            continue
        code, val = m[1], m[2].strip()
        if code in sub:
            sub[code] += val
        else:
            order.append(code)
            sub[code] = val
    d = _Details()
    d.name = (sub.get("15", "") + sub.get("16", "")).strip() or (sub.get("32", "") + sub.get("33", "")).strip()
    name_codes = {"15", "16"} if sub.get("15") else {"32", "33"}
    texts = [sub[c] for c in order if c not in name_codes and re.search(r"[^\W\d_]{2}", sub[c])]
    d.pieces = [*texts, d.name]
    return d


def _german(joined: str, sep: str) -> _Details:
    parts = re.split(re.escape(sep) + r"(\d{2})", joined[3:])
    sub: dict[str, str] = {}
    order: list[str] = []
    for k in range(1, len(parts) - 1, 2):
        code, val = parts[k], parts[k + 1]
        if code not in sub:
            order.append(code)
            sub[code] = val
        else:
            sub[code] += val
    purpose = ""
    for code in [c for c in order if "20" <= c <= "29" or "60" <= c <= "63"]:
        val = sub[code]
        if purpose and _SEPA_KEY.match(val):
            purpose += " "
        purpose += val
    d = _Details()
    d.name = (sub.get("32", "") + sub.get("33", "")).strip()
    account = sub.get("31", "").strip() or sub.get("38", "").strip()
    d.iban = account
    em = re.search(r"EREF\+(.*?)(?=\s?(?:EREF|KREF|MREF|CRED|DEBT|SVWZ|ABWA|ABWE|COAM|OAMT|MTLG)[+:]|$)", purpose)
    if em and em[1].strip().upper() not in _NO_REF:
        d.reference = em[1].strip()
    extra = [sub[c] for c in order if c not in ("00", "10", "30", "31", "32", "33", "34", "38")
             and not ("20" <= c <= "29" or "60" <= c <= "63")]
    d.pieces = [sub.get("00", ""), purpose, d.name, *extra]
    return d


def _slashed(joined: str) -> _Details:
    matches = list(_SLASH_TAG.finditer(joined))
    values: dict[str, str] = {}
    order: list[str] = []
    for k, m in enumerate(matches):
        end = matches[k + 1].start() if k + 1 < len(matches) else len(joined)
        val = joined[m.end():end].strip("/").strip()
        if m[1] not in values:
            order.append(m[1])
            values[m[1]] = val
    d = _Details()
    cntp = values.get("CNTP", "")
    if cntp:
        parts = [p.strip() for p in cntp.split("/")]
        d.iban = parts[0] if parts else ""
        d.name = parts[2] if len(parts) > 2 else ""
    d.name = d.name or values.get("NAME", "")
    d.iban = d.iban or values.get("IBAN", "")
    for key in ("EREF", "PREF"):
        v = values.get(key, "")
        if v and v.upper() not in _NO_REF:
            d.reference = v
            break
    remi = values.get("REMI", "")
    remi = re.sub(r"^(USTD|STRD)/+", "", remi)
    remi = re.sub(r"^(CUR|ISO|SCOR)/+", "", remi)
    pieces = [values.get("TRTP", ""), d.name, remi]
    for key in order:
        if key in ("ADDR", "PURP", "ULTC", "ULTD", "ULTB", "BENM", "ORDP", "RTRN", "MARF", "CSID"):
            pieces.append(values[key])
    d.pieces = pieces
    return d


class MT940Importer:
    """SWIFT MT940 (``.sta``, ``.940``, ``.mt940``, ``.txt``)."""

    name = "mt940"

    def identify(self, data: bytes, filename: str = "") -> bool:
        head = data[:8192].decode("latin-1")
        has = {m[1] for m in re.finditer(r"(?m)^:(20|25|28C?|60[FM]|61|62[FM]):", head)}
        return "61" in has or ("25" in has and bool(has & {"60F", "60M", "62F", "62M"})) or (
            "20" in has and "25" in has)

    def parse(self, data: bytes, filename: str = "", default_currency: str = "EUR") -> Statement:
        text, _ = decode(data)
        src = filename
        fields = _fields(text)
        if not any(f.tag in ("61", "60F", "60M", "62F", "62M", "25") for f in fields):
            raise StatementError("no MT940 statement fields (:25:, :60F:, :61:, :62F:) were found", None, src)
        warnings: list[str] = []
        segments: list[_Segment] = []
        seg: _Segment | None = None
        pending: dict | None = None  # the :61: waiting for its :86:
        last_tag = ""
        skipping: _Segment | None = None  # a statement that could not be read: its fields are passed over
        skipping_closed = False

        def new_segment(line: int) -> _Segment:
            s = _Segment(start_line=line)
            segments.append(s)
            return s

        late: list[tuple[StatementLine, str]] = []  # text to add once the ids are made

        def flush() -> None:
            nonlocal pending
            if pending is not None and seg is not None:
                ln = self._line(pending, seg, default_currency, src)
                seg.lines.append(ln)
                if pending.get("late"):
                    late.append((ln, pending["late"]))
            pending = None

        for f in fields:
            tag = f.tag
            if skipping is not None:
                # the statement that failed ends where the next one starts
                if tag == "20" or tag in ("25", "25P") or (tag in ("60F", "60M") and skipping_closed):
                    skipping = None
                    pending = None
                    seg = None
                else:
                    skipping_closed = skipping_closed or tag in ("62F", "62M")
                    continue
            if tag in ("20", "25", "25P", "60F", "60M", "61", "62F", "62M"):
                try:
                    flush()  # the movement waiting for its details belongs to the statement so far
                except StatementError as e:
                    assert seg is not None
                    seg.error = e
                    seg.lines.clear()
                    pending = None
                    if tag not in ("20", "25", "25P"):  # this field still belongs to the failed statement
                        skipping, skipping_closed = seg, tag in ("62F", "62M")
                        last_tag = tag
                        continue
                    seg = None
            try:
                tag = f.tag
                if tag == "20":
                    flush()
                    seg = new_segment(f.line)
                    seg.reference = f.value.strip()
                elif tag in ("25", "25P"):
                    flush()
                    if seg is None or (seg.account and (seg.lines or seg.opening is not None)):
                        seg = new_segment(f.line)
                    seg.account = _split_account(f.value)
                elif tag in ("60F", "60M"):
                    flush()
                    if seg is None or seg.opening is not None or seg.lines:
                        account = seg.account if seg is not None else ""
                        seg = new_segment(f.line)
                        seg.account = account
                    seg.opening, seg.opening_date, cur = self._balance(f, src)
                    seg.currency = seg.currency or cur
                elif tag == "61":
                    flush()
                    if seg is None:
                        seg = new_segment(f.line)
                    pending = {"field": f, "details": [], "ns": []}
                elif tag == "86":
                    if pending is not None and last_tag in ("61", "86", "NS"):
                        pending["details"].append(f)
                    elif seg is not None:
                        self._statement_info(f, seg, warnings)
                elif tag == "NS":
                    if pending is not None and last_tag in ("61", "86", "NS"):
                        pending["ns"].append(f)
                elif tag in ("62F", "62M"):
                    flush()
                    if seg is None:
                        seg = new_segment(f.line)
                    seg.closing, seg.closing_date, cur = self._balance(f, src)
                    seg.closing_line = f.line
                    seg.currency = seg.currency or cur
                    if cur != seg.currency:
                        warnings.append(f"line {f.line}: the closing balance is in {cur} but the opening balance "
                                        f"in {seg.currency}")
                last_tag = tag
            except StatementError as e:
                if seg is None:
                    seg = new_segment(f.line)
                seg.error = e
                seg.lines.clear()
                pending = None
                skipping, skipping_closed = seg, tag in ("62F", "62M")
                last_tag = tag
        flush()
        lines: list[StatementLine] = []
        balances: list[AccountBalances] = []
        previous: dict[str, _Segment] = {}
        failed = [s for s in segments if s.error is not None]
        if failed and len(failed) == len(segments):
            raise failed[0].error  # type: ignore[misc]
        for s in failed:
            err = s.error
            assert err is not None
            warnings.append(f"statement {s.reference or '?'} (line {s.start_line}"
                            f"{', account ' + s.account if s.account else ''}) was left out: it cannot be read: "
                            f"{err.reason if err.line is None else f'line {err.line}: {err.reason}'}; "
                            "the file's other statements were read")
        for s in segments:
            if s.error is not None or (not s.lines and s.opening is None and s.closing is None):
                continue
            lines.extend(s.lines)
            cur = s.currency or default_currency
            bal = AccountBalances(account=s.account, currency=cur, opening=s.opening, closing=s.closing,
                                  opening_date=s.opening_date, closing_date=s.closing_date)
            balances.append(bal)
            where = f"statement {s.reference or '?'} (line {s.start_line})"
            total = sum(ln.amount for ln in s.lines if ln.currency == cur)
            w = balance_warning(bal, total, where)
            if w:
                warnings.append(w)
            before = previous.get(s.account)
            if (before is not None and before.closing is not None and s.opening is not None
                    and before.currency == s.currency and before.closing != s.opening):
                warnings.append(f"{where}: opens at {fmt(s.opening, cur)} {cur} but the previous statement of "
                                f"account {s.account} closed at {fmt(before.closing, cur)} {cur}; "
                                "a statement may be missing")
            previous[s.account] = s
            if s.closing is None and s.lines:
                warnings.append(f"{where}: the statement has no closing balance (:62F:); the file may be cut short")
        assign_ids(lines)
        for ln, piece in late:
            object.__setattr__(ln, "text", join_text([ln.text, piece]))  # made a moment ago, held by nobody else
        return Statement(format="mt940", lines=lines, balances=balances, warnings=warnings)

    # ------------------------------------------------------------------ fields

    def _balance(self, f: _Field, src: str) -> tuple[int, dt.date, str]:
        value = f.value.strip()
        m = _BALANCE.match(value)
        if not m:
            raise StatementError(f"balance :{f.tag}:{value!r} should look like C240131EUR1234,56 "
                                 "(C or D, date YYMMDD, currency, amount)", f.line, src)
        cur = check_currency(m[3], f.line, src)
        amount = minor_from_swift(m[4], cur, f.line, src)
        return (-amount if m[1] == "D" else amount), yymmdd(m[2], f.line, src), cur

    def _statement_info(self, f: _Field, seg: _Segment, warnings: list[str]) -> None:
        m = re.search(r"/SUM/(\d+)/(\d+)/(\d[\d,]*)/(\d[\d,]*)/?", f.value)
        if not m:
            return
        cur = seg.currency
        if not cur:
            return
        try:
            sum_d = minor_from_swift(m[3], cur, f.line)
            sum_c = minor_from_swift(m[4], cur, f.line)
        except StatementError:
            return
        debits = [ln.amount for ln in seg.lines if ln.amount < 0]
        credits = [ln.amount for ln in seg.lines if ln.amount > 0]
        if int(m[1]) != len(debits) or sum_d != -sum(debits) or int(m[2]) != len(credits) or sum_c != sum(credits):
            warnings.append(
                f"line {f.line}: the statement's totals say {int(m[1])} debits for {fmt(sum_d, cur)} and "
                f"{int(m[2])} credits for {fmt(sum_c, cur)} {cur}, but its movements have {len(debits)} debits "
                f"for {fmt(-sum(debits), cur)} and {len(credits)} credits for {fmt(sum(credits), cur)} {cur}")

    def _line(self, pending: dict, seg: _Segment, default_currency: str, src: str) -> StatementLine:
        f: _Field = pending["field"]
        first = f.lines[0].strip()
        m = _ENTRY.match(first)
        if not m:
            raise StatementError(f"movement :61:{first!r} should start with a date (YYMMDD), an optional entry "
                                 "date (MMDD), C or D and an amount such as 1234,56", f.line, src)
        value_date = yymmdd(m[1], f.line, src, "value date")
        date = value_date
        if m[2]:
            month, day = int(m[2][:2]), int(m[2][2:])
            best: dt.date | None = None
            for year in (value_date.year - 1, value_date.year, value_date.year + 1):
                try:
                    cand = dt.date(year, month, day)
                except ValueError:
                    continue
                if best is None or abs((cand - value_date).days) < abs((best - value_date).days):
                    best = cand
            if best is None:
                raise StatementError(f"entry date {m[2]!r} (MMDD) is not a valid date", f.line, src)
            date = best
        currency = seg.currency or default_currency
        amount = minor_from_swift(m[5], currency, f.line, src)
        if m[3] in ("D", "RC"):
            amount = -amount
        type_code = (m[6] or "").strip()
        rest = m[7] or ""
        customer_ref, sep, bank_ref = rest.partition("//")
        extra = ""
        if not sep and len(customer_ref.rstrip()) > 16:
            # 16x customer reference; what follows on the line (old Rabobank: account and name) is text
            customer_ref, extra = customer_ref[:16], customer_ref[16:].strip()
        elif sep and len(bank_ref) > 16 and " " in bank_ref.strip():
            bank_ref, _, extra = bank_ref.strip().partition(" ")
        customer_ref, bank_ref = customer_ref.strip(), bank_ref.strip()
        supplementary = "".join(x.strip() for x in f.lines[1:])
        supplementary = re.sub(r"/TRCD/[\d/]*", "", supplementary).strip()
        details = _Details()
        for d in pending["details"]:
            part = _details(d.lines)
            details.pieces += part.pieces
            details.name = details.name or part.name
            details.iban = details.iban or part.iban
            details.reference = details.reference or part.reference
        for d in pending.get("ns", []):
            part = _non_swift(d.lines)
            details.pieces += part.pieces
            details.name = details.name or part.name
        reference = details.reference
        pieces = list(details.pieces)
        if extra:
            if not details.name and re.fullmatch(r"\d{7,10}", customer_ref) and re.search(r"[A-Za-z]", extra):
                details.name = extra  # old Rabobank: counterparty account in the reference, name after it
                details.iban = details.iban or customer_ref
                customer_ref = ""
            pieces.append(extra)
        if not reference and customer_ref.upper() not in _NO_REF:
            reference = customer_ref
        elif customer_ref.upper() not in _NO_REF and customer_ref != reference:
            pieces.append(customer_ref)
        if not reference and bank_ref.upper() not in _NO_REF:
            reference = bank_ref
        elif bank_ref.upper() not in _NO_REF and bank_ref != reference:
            # kept in the text, but added after the ids are made (``parse``): the ids of lines read before
            # stay the same, so a statement applied already is recognised when it is read again
            pending["late"] = bank_ref
        if re.search(r"[A-Za-z]", supplementary):
            pieces.append(supplementary)
        joined_details = " ".join("".join(d.lines) for d in pending["details"])
        rtrn = re.search(r"/RTRN/([A-Z0-9]{2,4})?", joined_details)
        returned = m[3] in ("RC", "RD") or type_code[1:] == "RTI" or rtrn is not None
        return_of = ""
        if returned:
            orig = re.search(r"/(?:EREF|PREF)/([^/]+)", joined_details)
            return_of = orig[1].strip() if orig and orig[1].strip().upper() not in _NO_REF else ""
        return StatementLine(
            line_id="", account=seg.account, date=date, value_date=value_date, amount=amount, currency=currency,
            text=join_text(pieces), counterparty_name=details.name.strip(), counterparty_iban=details.iban.strip(),
            kind="return" if returned else "payment", return_of=return_of,
            bank_reference=reference, source_line=f.line)
