"""OFX bank and credit-card statements: 1.x (SGML, closing tags optional) and 2.x (XML).

A small lenient reader rather than a validating one: elements may come in any order (several
``BANKTRANLIST`` in one statement, as in a real file), leaf elements need no closing tag, unknown
elements are skipped, and the text is decoded from the ``CHARSET``/``encoding`` the header declares
(Windows-1252 for ``CHARSET:1252``), unless the bytes are valid UTF-8. ``<![CDATA[...]]>`` values are
text (some banks wrap ``NAME`` and ``MEMO`` in them).

Linear in the file's size whatever its shape: closing a tag looks up a count of open tags rather than
scanning the stack, repeated values are joined once at the end, and each transaction is found by one
walk of the tree (deeply nested unclosed aggregates cost no more than flat ones).
"""

from __future__ import annotations

import datetime as dt
import html
import re
from dataclasses import dataclass, field

from .. import money
from ._common import LineIndex, assign_ids, check_currency, decode, join_text, located, minor_from_decimal_text, ymd
from .base import AccountBalances, Statement, StatementError, StatementLine

_TOKEN = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9._]*)(?:\s[^<>]*)?/?>([^<]*)|<[?!][^>]*>|<")
_AGGREGATES = {
    "OFX", "SIGNONMSGSRSV1", "SONRS", "STATUS", "FI", "BANKMSGSRSV1", "STMTTRNRS", "STMTRS", "BANKACCTFROM",
    "BANKACCTTO", "BANKTRANLIST", "STMTTRN", "LEDGERBAL", "AVAILBAL", "CREDITCARDMSGSRSV1", "CCSTMTTRNRS",
    "CCSTMTRS", "CCACCTFROM", "CCACCTTO", "PAYEE", "CURRENCY", "ORIGCURRENCY", "BALLIST", "BAL",
    "MKTGINFO", "STMTENDRS", "STMTENDTRNRS", "IMAGEDATA",
}


@dataclass
class _Node:
    tag: str
    line: int
    values: dict[str, str] = field(default_factory=dict)
    children: list[_Node] = field(default_factory=list)
    repeated: dict[str, list[str]] = field(default_factory=dict)  # later values of a repeated leaf

    def child(self, tag: str) -> _Node | None:
        for c in self.children:
            if c.tag == tag:
                return c
        return None

    def walk(self, tag: str) -> list[_Node]:
        out: list[_Node] = []
        stack = [self]
        while stack:
            n = stack.pop()
            for c in reversed(n.children):
                if c.tag == tag:
                    out.append(c)
                stack.append(c)
        out.sort(key=lambda n: n.line)
        return out


def _declared_charset(data: bytes) -> str | None:
    head = data[:1024].decode("latin-1")
    m = re.search(r"encoding=[\"']([A-Za-z0-9_\-]+)[\"']", head)
    if m:
        return m[1]
    m = re.search(r"^CHARSET:\s*(\S+)", head, re.M)
    charset = m[1] if m else None
    m2 = re.search(r"^ENCODING:\s*(\S+)", head, re.M)
    if m2 and m2[1].upper().replace("-", "") == "UTF8":
        return "utf-8"
    return charset


def _uncdata(text: str) -> str:
    """``<![CDATA[a & b]]>`` as the escaped text ``a &amp; b`` (one pass; an unclosed section runs to the end)."""
    if "<![CDATA[" not in text:
        return text
    out: list[str] = []
    pos = 0
    while True:
        start = text.find("<![CDATA[", pos)
        if start < 0:
            out.append(text[pos:])
            break
        out.append(text[pos:start])
        end = text.find("]]>", start + 9)
        stop = len(text) if end < 0 else end
        out.append(html.escape(text[start + 9:stop], quote=False).replace("\n", " ").replace("\r", " "))
        pos = stop + 3 if end >= 0 else len(text)
    return "".join(out)


def _tree(text: str) -> _Node:
    text = _uncdata(text)
    text = re.sub(r"<(?![A-Za-z/?!])", "&lt;", text)  # a stray "<" in a value is text
    index = LineIndex(text)
    if text.find("<") < 0:
        raise StatementError("no OFX elements (<OFX>) were found")
    closed = {m.upper() for m in re.findall(r"</([A-Za-z][A-Za-z0-9._]*)\s*>", text)}
    root = _Node("#root", 1)
    stack = [root]
    open_count: dict[str, int] = {}
    for m in _TOKEN.finditer(text):
        if m[2] is None:
            if m[0] == "<":
                raise StatementError("an element is not closed with '>': the file may be cut short",
                                     index.line(m.start()))
            continue  # <?xml ...?>, <!-- ... -->
        closing, tag, value = m[1] == "/", m[2].upper(), m[3]
        line = index.line(m.start())
        if closing:
            if open_count.get(tag):
                while stack[-1].tag != tag:
                    open_count[stack.pop().tag] -= 1
                open_count[stack.pop().tag] -= 1
                if tag == "OFX":
                    root.values["#closed"] = "yes"
            continue
        value = value.strip()
        self_closing = m[0].rstrip().endswith("/>")
        if not self_closing and (tag in _AGGREGATES or (not value and tag in closed)):
            node = _Node(tag, line)
            stack[-1].children.append(node)
            stack.append(node)
            open_count[tag] = open_count.get(tag, 0) + 1
        else:
            parent = stack[-1]
            text_value = html.unescape(value)
            if tag in parent.values:
                parent.repeated.setdefault(tag, []).append(text_value)
            else:
                parent.values[tag] = text_value
    _join_repeated(root)
    return root


def _join_repeated(root: _Node) -> None:
    """Repeated leaves (several ``MEMO``) as one value joined with spaces, in one pass over the tree."""
    todo = [root]
    while todo:
        n = todo.pop()
        for tag, more in n.repeated.items():
            n.values[tag] = " ".join([n.values[tag], *more])
        n.repeated = {}
        todo.extend(n.children)


_STATEMENT_TAGS = ("STMTRS", "CCSTMTRS")


def _by_statement(root: _Node) -> list[tuple[_Node, list[_Node], list[_Node]]]:
    """Each statement with its own transactions and transaction lists (those whose nearest statement
    ancestor it is), found in one walk: nested statements do not make the reading quadratic."""
    found: dict[int, tuple[_Node, list[_Node], list[_Node]]] = {}
    order: list[_Node] = []
    todo: list[tuple[_Node, _Node | None]] = [(root, None)]
    while todo:
        n, owner = todo.pop()
        for c in n.children:
            own = owner
            if c.tag in _STATEMENT_TAGS:
                found[id(c)] = (c, [], [])
                order.append(c)
                own = c
            elif own is not None and c.tag == "STMTTRN":
                found[id(own)][1].append(c)
            elif own is not None and c.tag == "BANKTRANLIST":
                found[id(own)][2].append(c)
            todo.append((c, own))
    order.sort(key=lambda n: n.line)
    out = []
    for st in order:
        node, trns, lists = found[id(st)]
        trns.sort(key=lambda n: n.line)
        lists.sort(key=lambda n: n.line)
        out.append((node, trns, lists))
    return out


class OfxImporter:
    """OFX 1.x SGML and 2.x XML (``.ofx``, ``.qfx``)."""

    name = "ofx"

    def identify(self, data: bytes, filename: str = "") -> bool:
        head = data[:4096].upper()
        return b"OFXHEADER" in head or b"<OFX>" in head or b"<?OFX" in head

    def parse(self, data: bytes, filename: str = "", default_currency: str = "EUR") -> Statement:
        with located(filename):
            return self._parse(data, default_currency)

    def _parse(self, data: bytes, default_currency: str) -> Statement:
        text, _ = decode(data, _declared_charset(data))
        root = _tree(text)
        if not any(c.tag == "OFX" for c in root.children) and not root.walk("OFX"):
            raise StatementError("this is not an OFX file: it has no <OFX> element")
        if "#closed" not in root.values:
            raise StatementError("the file is cut short: it does not end with </OFX>", text.count("\n") + 1)
        statements = _by_statement(root)
        if not statements:
            raise StatementError("the OFX file has no bank or credit-card statement (STMTRS or CCSTMTRS)")
        lines: list[StatementLine] = []
        balances: list[AccountBalances] = []
        warnings: list[str] = []
        for st, transactions, tranlists in statements:
            currency = st.values.get("CURDEF", "").upper() or default_currency
            currency = check_currency(currency, st.line)
            acct = st.child("BANKACCTFROM") or st.child("CCACCTFROM")
            account = acct.values.get("ACCTID", "") if acct else ""
            for trn in transactions:
                lines.append(self._line(trn, account, currency))
            ledger = st.child("LEDGERBAL")
            closing = closing_date = None
            if ledger is not None and ledger.values.get("BALAMT"):
                closing = minor_from_decimal_text(ledger.values["BALAMT"], currency, line=ledger.line,
                                                  what="balance")
                if ledger.values.get("DTASOF"):
                    closing_date = ymd(ledger.values["DTASOF"], ledger.line, "", "balance date")
            opening_date = None
            starts = [t.values["DTSTART"] for t in tranlists if t.values.get("DTSTART")]
            if starts:
                opening_date = min(ymd(s, tranlists[0].line, "", "start date") for s in starts)
            balances.append(AccountBalances(account=account, currency=currency, opening=None, closing=closing,
                                            opening_date=opening_date, closing_date=closing_date))
        return Statement(format="ofx", lines=assign_ids(lines), balances=balances, warnings=warnings)

    def _line(self, trn: _Node, account: str, currency: str) -> StatementLine:
        v = trn.values
        line = trn.line
        if not v.get("TRNAMT"):
            raise StatementError("a transaction (STMTTRN) has no amount (TRNAMT)", line)
        if not v.get("DTPOSTED"):
            raise StatementError("a transaction (STMTTRN) has no date (DTPOSTED)", line)
        cur_node = trn.child("CURRENCY")
        if cur_node is not None and cur_node.values.get("CURSYM"):
            currency = check_currency(cur_node.values["CURSYM"], cur_node.line)
        amount = minor_from_decimal_text(v["TRNAMT"], currency, line=line)
        date = ymd(v["DTPOSTED"], line, "", "posting date")
        value_date: dt.date | None = None
        if v.get("DTAVAIL"):
            value_date = ymd(v["DTAVAIL"], line, "", "availability date")
        payee = trn.child("PAYEE")
        name = v.get("NAME", "") or (payee.values.get("NAME", "") if payee else "")
        to = trn.child("BANKACCTTO") or trn.child("CCACCTTO")
        iban = to.values.get("ACCTID", "") if to else ""
        reference = v.get("FITID", "") or v.get("REFNUM", "") or v.get("CHECKNUM", "")
        pieces = [name, v.get("MEMO", "")]
        if v.get("CHECKNUM") and v["CHECKNUM"].strip("0") and reference != v["CHECKNUM"]:
            pieces.append(f"CHECKNUM {v['CHECKNUM']}")
        orig = trn.child("ORIGCURRENCY")
        if orig is not None and orig.values.get("CURSYM") and money.is_known_currency(orig.values["CURSYM"].upper()):
            pieces.append(f"orig. {orig.values['CURSYM'].upper()} rate {orig.values.get('CURRATE', '')}".strip())
        return StatementLine(
            line_id="", account=account, date=date, value_date=value_date, amount=amount, currency=currency,
            text=join_text(pieces), counterparty_name=name, counterparty_iban=iban, bank_reference=reference,
            source_line=line)
