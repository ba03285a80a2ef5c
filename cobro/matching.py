"""Bank reconciliation, the pure part: which open invoices does each statement line pay, how sure, and why.

``propose_matches(lines, ledger, as_of)`` turns normalized statement lines (``cobro.bank.base.StatementLine``)
into one ``Proposal`` per line — never dropping one — and ``MatchResult`` turns them into the Matches sheet
and, for accepted rows, into Payments rows. Everything here is pure: frames and lines in, values out.

Evidence, strongest first
-------------------------
1. **Reference**: an invoice number or the invoice's ``reference`` in the text. Ids and references are put in
   two indexes once (``MatchIndex.build``): the *compact* form (upper-case letters and digits, e.g.
   ``F20240113``) and the *digit key* (digit groups without leading zeros, e.g. ``2024/113``, plus the letter
   series before them, ``F``). A line's text is cut into runs of letter/digit groups; the digit n-grams of each
   run are looked up — so ``FRA 2024/113``, ``Fact. nº 2024-0113`` and ``F2024 0113`` all find ``F-2024-0113``
   without scanning invoices. A hit is graded: series letters equal (1.0), a generic prefix such as FRA, FACT,
   INV, Nº (0.97), no prefix (0.93, only for keys with two groups or five digits), glued to other digits — a
   date, an account number — (0.8, never auto), another series (0.75, never auto). Typos (one edit or an
   adjacent swap) are looked for only among invoices that the amount or the customer already point at.
2. **Customer**: tax id in the text (normalized: ``B-12.345.678`` = ``B12345678``, with or without ``ES``),
   the counterparty IBAN (IBANs come from customers' notes and from ``customer_ibans``, which callers learn
   from lines already applied — see ``learn_customer_ibans``), or the name: the words of the counterparty and
   of the text, without legal forms (S.L., S.A., SLU, S.COOP., LTD, INC …) and bank noise, select candidate
   customers through an inverted word index; rapidfuzz ``token_set_ratio`` scores only those.
3. **Amount** against the remaining balances of the customer's open invoices (same currency): one balance;
   the oldest-first prefix; an exact subset of two to four of its twenty oldest invoices (bounded search);
   a bank fee deducted; less (partial payment, oldest first or the referenced invoice); more (the excess is
   an advance, a Payments row without invoice). Without any customer, an amount equal to an open balance is
   proposed as a coincidence, never auto-accepted.

Bank fees: a shortfall of at most ``Settings.bank_fee_tolerance`` (minor units of the base currency; applies
to lines in the base currency) or, if larger, ``bank_fee_pct`` percent of the invoiced total (an optional
Settings key, e.g. ``0.5``; default 0) closes the invoices and is recorded as a separate Payments row
(method ``other``, reference "comisión bancaria"/"bank fee").

Auto-acceptance (``Proposal.auto``) is only given to proposals backed by a reference (grade ≥ 0.93; partial
and over-payments need ≥ 0.97 *and* the payer's name, tax id or IBAN agreeing, because a mistyped number
often hits another real invoice), a near-reference with the exact amount, or an unambiguous customer (tax
id, IBAN, or a name scoring ≥ 90 with no close rival) with an exact amount: one balance of that customer or
the oldest-first sum. Amount-only coincidences, subsets, fee tolerances without reference, a reference whose
customer the payer's name contradicts, and anything ambiguous are proposed but never auto-accepted.

Invariants
----------
- No invoice is allocated more than its balance: candidates are the invoices issued by the as-of date and
  open then (``cobro.balances``); their remaining balance counts *every* payment in the ledger whatever its
  date (so a later statement applied first still counts). Within a run, lines are allocated lazily-greedily
  by confidence: the surest line first; a line whose invoices were taken meanwhile is decided again.
- A line already applied (its ``line_id`` in Payments.statement_line, or the same date, amount and text
  already applied from a statement, counted as a multiset so two identical bank lines are two payments) is
  reported with status ``applied`` and never proposed again.
- Every input line appears exactly once in ``MatchResult.proposals``, in input order.

Allocation arithmetic (``allocate``, one primitive used by the matcher and by apply): invoices are paid in
the order given; if the amount covers them all, the excess is an advance; if it falls short by no more than
the fee tolerance, the invoices are closed and the shortfall is the fee; otherwise it is a partial payment,
invoice by invoice in that order. ``sum(allocations) + advance == amount + fee``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import heapq
import re
import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from . import money
from .balances import invoice_balances
from .bank.base import StatementLine
from .bulk import gc_paused
from .ledger import Ledger, Problem, make_frame
from .safety import neutralize_formula
from .schema import MATCHES, PAYMENTS

__all__ = [
    "Alternative", "Allocation", "MatchIndex", "MatchResult", "Proposal", "allocate", "applied_line_ids",
    "learn_customer_ibans", "line_from_match_row", "normalize_iban", "normalize_tax_id", "payment_id_for",
    "payments_for_matches", "propose_matches",
]

# ----------------------------------------------------------------------------------- vocabulary

#: Words that introduce an invoice number without being part of it.
GENERIC_PREFIXES = frozenset({
    "FRA", "FRAS", "FR", "FAC", "FACT", "FACTS", "FCT", "FTRA", "FACTURA", "FACTURAS", "FACTU", "INV", "INVS",
    "INVOICE", "INVOICES", "INVNO", "NO", "NR", "NRO", "NUM", "NUMERO", "NUMBER", "NBR", "N", "O", "REF",
    "REFS", "REFERENCIA", "REFERENCE", "PED", "PEDIDO", "PO", "ORDER", "DOC", "DOCUMENTO", "RECIBO",
    "ALBARAN", "ID", "NUMS", "NOS",
})
#: Words between two numbers of one list ("FRAS 113 Y 114").
_CONNECTORS = frozenset({"Y", "E", "AND", "ET", "UND", "MAS", "PLUS"})
#: Legal forms, stripped from names (after dots are removed: "S.L." -> "SL").
LEGAL_FORMS = frozenset({
    "SL", "SA", "SLU", "SAU", "SLL", "SLNE", "SLP", "SC", "SCOOP", "COOP", "SCP", "SCA", "SCL", "CB", "SRL",
    "SAS", "SAC", "SACV", "SADECV", "SDERLDECV", "SRLDECV", "CV", "SAPI", "SAPIDECV", "SPR", "LTD", "LTDA",
    "LIMITED", "INC", "LLC", "LLP", "LP", "PLC", "CORP", "CORPORATION", "CO", "COMPANY", "GMBH", "AG", "BV",
    "NV", "SPA", "SARL", "CIA", "EIRL", "SE", "SCCL", "AIE", "UTE",
})
#: Bank and payment noise that is never part of a customer's name.
_NOISE = frozenset({
    "DE", "DEL", "LA", "LAS", "LOS", "EL", "Y", "E", "EN", "POR", "PARA", "A", "AL", "THE", "AND", "OF", "FOR",
    "TO", "FROM", "TRANSFERENCIA", "TRANSFERENCIAS", "TRANSF", "TRANS", "TRF", "TRASPASO", "SEPA", "PAGO",
    "PAGOS", "COBRO", "COBROS", "ABONO", "RECIBIDA", "RECIBIDO", "RECIBO", "ORDENANTE", "ORD", "CONCEPTO",
    "BENEFICIARIO", "FACTURA", "FACTURAS", "FRA", "FRAS", "FACT", "INV", "INVOICE", "INVOICES", "PAYMENT",
    "PAYMENTS", "TRANSFER", "CREDIT", "REF", "REFERENCIA", "REFERENCE", "EUR", "USD", "MXN", "NO", "NUM", "N",
    "SU", "NUESTRA", "INMEDIATA", "NACIONAL", "INTERNACIONAL", "EMITIDA", "BIZUM", "INGRESO", "ENTRADA", "CTA",
    "CUENTA", "IBAN", "BIC", "SWIFT", "OUR", "YOUR", "VIA", "CON", "SIN", "TRANSFERENCE", "PAGADO", "OTROS",
})

_GROUP_RE = re.compile(r"[A-Z]+|[0-9]+")
_TIGHT = frozenset("-./_")
_SEP_OK = frozenset(" -./_#:',;")
_TOKEN_SPLIT = re.compile(r"[\s|()\[\]{}<>\"]+")
_WORD_RE = re.compile(r"[A-Z0-9&]+")
_IBAN_RE = re.compile(r"\b([A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,4})?)\b")
_NONALNUM = re.compile(r"[^A-Z0-9]")
_DIGITS_RE = re.compile(r"[0-9]+")
_LEADZ_RE = re.compile(r"(?<![0-9])0+(?=[0-9])")
_SERIES_RE = re.compile(r"^[^0-9]*?([A-Z]+)[^A-Z0-9]*[0-9]")

_MAX_SUBSET_POOL = 20  # oldest open invoices of one customer searched for exact subsets
_MAX_SUBSET_SIZE = 4
_NAME_POSTING_CAP = 150  # a lone shared word selects candidates only when at most this many customers have it
_NAME_CANDIDATES = 200
_NAME_STRONG = 90.0


def _norm(text: str) -> str:
    """Upper case, no accents, ordinal signs as spaces (``N.º`` -> ``N. ``); other non-ASCII letters dropped."""
    s = str(text)
    if s.isascii():
        return s.upper()
    s = s.replace("º", " ").replace("°", " ").replace("ª", " ")
    return unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode("ascii").upper()


def _strip_zeros(d: str) -> str:
    s = d.lstrip("0")
    return s or "0"


def normalize_tax_id(value: str) -> str:
    """``B-12.345.678`` -> ``B12345678``; ``ESB12345678`` -> ``B12345678`` (Spanish VAT prefix dropped)."""
    s = _NONALNUM.sub("", _norm(value))
    if s.startswith("ES") and len(s) == 11:
        s = s[2:]
    return s


def normalize_iban(value: str) -> str:
    """``es91 2100 0418 4502 0005 1332`` -> ``ES9121000418450200051332``."""
    return _NONALNUM.sub("", _norm(value))


def _name_words(text: str) -> list[str]:
    """Significant words of a name or a bank text: no legal forms, no noise, no numbers."""
    s = _norm(text)
    s = re.sub(r"(?<=\b[A-Z])\.\s?(?=[A-Z]\b)", "", s)  # S. L. -> SL, S.A. -> SA.
    s = s.replace(".", "")
    out = []
    for w in _WORD_RE.findall(s):
        if len(w) < 2 or w in LEGAL_FORMS or w in _NOISE or any(c.isdigit() for c in w):
            continue
        out.append(w)
    return out


# ----------------------------------------------------------------------------------- locale text

_T = {
    "ref": ("factura {ids} en el concepto", "invoice {ids} in the text"),
    "refs": ("facturas {ids} en el concepto", "invoices {ids} in the text"),
    "ref_weak": ("posible factura {ids} en el concepto", "possibly invoice {ids} in the text"),
    "ref_near": ("referencia parecida a {ids} en el concepto", "text resembles invoice {ids}"),
    "ref_paid": ("factura {ids} ya pagada", "invoice {ids} already paid"),
    "ref_other_currency": ("factura {ids} en otra moneda", "invoice {ids} in another currency"),
    "tax": ("NIF de {name}", "tax id of {name}"),
    "iban": ("IBAN de {name}", "IBAN of {name}"),
    "name": ("nombre de {name} ({score} %)", "name of {name} ({score}%)"),
    "conflict": ("pero el ordenante parece {name}", "but the payer looks like {name}"),
    "exact": ("importe exacto", "exact amount"),
    "prefix": ("importe = las {n} facturas más antiguas", "amount = the {n} oldest invoices"),
    "subset": ("importe = suma de {n} facturas (combinación)", "amount = sum of {n} invoices (combination)"),
    "fee": ("comisión bancaria de {fee} descontada", "bank fee of {fee} deducted"),
    "partial": ("pago parcial de {amount} sobre {total}", "partial payment of {amount} of {total}"),
    "over": ("exceso de {excess} como anticipo", "excess of {excess} as an advance"),
    "advance": ("sin facturas abiertas: anticipo", "no open invoices: advance"),
    "amount_only": ("solo coincide el importe", "amount only"),
    "amount_only_n": ("solo coincide el importe ({n} facturas posibles)", "amount only ({n} possible invoices)"),
    "several": ("varias posibilidades", "several fit"),
    "debit": ("cargo", "debit"),
    "no_match": ("sin coincidencias", "no match"),
    "applied": ("ya aplicada ({pid})", "already applied ({pid})"),
    "repeated": ("línea repetida en el extracto", "line repeated in the statement"),
    "bank_fee": ("comisión bancaria", "bank fee"),
    "bad_invoice": ("la factura {inv} no existe", "invoice {inv} does not exist"),
    "closed_invoice": ("la factura {inv} no tiene saldo pendiente", "invoice {inv} has no open balance"),
    "currency_invoice": ("la factura {inv} está en {cur}", "invoice {inv} is in {cur}"),
    "no_customer": ("falta el cliente para el anticipo", "a customer is needed for the advance"),
    "expect_open": ("facturas con saldo pendiente ({inv} no tiene)", "invoices with an open balance ({inv} has none)"),
    "expect_customer": ("un cliente para el anticipo de {amount}", "a customer for the advance of {amount}"),
}


def _t(locale: str, key: str, **kw: object) -> str:
    es, en = _T[key]
    return (es if locale == "es" else en).format(**kw)


# ----------------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Alternative:
    """Another reading of a line that also fits (shown to the person, not applied)."""

    invoice_ids: tuple[str, ...]
    customer_id: str
    confidence: float
    reason: str


@dataclass(frozen=True)
class Allocation:
    """How one amount is spread: ``sum(amount for _, amount in allocations) + advance == paid + fee``."""

    customer_id: str
    allocations: tuple[tuple[str, int], ...] = ()
    advance: int = 0
    fee: int = 0
    problems: tuple[str, ...] = ()

    @property
    def invoice_ids(self) -> tuple[str, ...]:
        return tuple(i for i, _ in self.allocations)


@dataclass(frozen=True)
class Proposal:
    """The outcome for one statement line.

    ``status`` is ``proposed`` (allocations and/or advance set), ``unmatched`` (debit or nothing fits) or
    ``applied`` (already in Payments, or a repeat of an earlier line of the same input).
    """

    line: StatementLine
    status: str
    customer_id: str = ""
    allocations: tuple[tuple[str, int], ...] = ()
    advance: int = 0
    fee: int = 0
    confidence: float = 0.0
    reason: str = ""
    auto: bool = False
    alternatives: tuple[Alternative, ...] = ()
    evidence: tuple[str, ...] = ()  # machine codes: reference, reference_weak, near_reference, tax_id, iban, ...
    applied_as: str = ""  # for status "applied": the payment id / line id it was recognised by

    @property
    def invoice_ids(self) -> tuple[str, ...]:
        return tuple(i for i, _ in self.allocations)

    @property
    def line_id(self) -> str:
        return self.line.line_id


# ----------------------------------------------------------------------------------- helpers


def payment_id_for(line_id: str) -> str:
    """The deterministic Payments.payment_id of the rows made from one statement line."""
    return "P-" + hashlib.sha256(line_id.encode("utf-8")).hexdigest()[:12].upper()


def _short(text: str, limit: int = 140) -> str:
    s = " ".join(str(text).split())
    return s if len(s) <= limit else s[: limit - 1] + "…"


def _ref_norm(text: str) -> str:
    return _NONALNUM.sub("", _norm(text))


def _line_reference(line: StatementLine) -> str:
    """What Payments.reference holds for a line: its text, shortened (the bank reference if no text)."""
    return _short(line.text) if line.text.strip() else _short(line.bank_reference)


def _content_keys(line: StatementLine) -> set[tuple[str, int, str, str]]:
    day = line.date.isoformat()
    keys = {(day, int(line.amount), line.currency, _ref_norm(_line_reference(line)))}
    if line.bank_reference.strip():
        keys.add((day, int(line.amount), line.currency, _ref_norm(_short(line.bank_reference))))
    return keys


def applied_line_ids(ledger: Ledger) -> set[str]:
    """Statement line ids already applied (non-blank Payments.statement_line)."""
    s = ledger.payments["statement_line"]
    return {x for x in s.tolist() if x}


def _applied_content(payments: pd.DataFrame) -> dict[tuple[str, int, str, str], list[str]]:
    """(date, received amount, currency, normalized reference) -> ids of the statement payments carrying it.

    A statement payment is grouped by statement_line (else payment_id); its received amount is the sum of the
    rows that share the group's main reference (a fee row has its own reference and is left out).
    """
    if not len(payments):
        return {}
    p = payments[payments["source"] == "statement"]
    if not len(p):
        return {}
    out: dict[tuple[str, int, str, str], list[str]] = {}
    sums: dict[tuple[str, str, str, str], int] = {}
    order: list[tuple[str, str, str, str]] = []
    for sl, pid, d, amt, cur, ref in zip(p["statement_line"].tolist(), p["payment_id"].tolist(),
                                         p["date"].tolist(), p["amount"].tolist(), p["currency"].tolist(),
                                         p["reference"].tolist(), strict=True):
        gid = sl or pid
        if not gid or d is pd.NaT or d != d:
            continue
        key = (gid, pd.Timestamp(d).date().isoformat(), cur, _ref_norm(ref))
        if key not in sums:
            order.append(key)
            sums[key] = 0
        sums[key] += int(amt)
    # A group's main reference is the one with the largest received amount.
    best: dict[str, tuple[str, str, str, str]] = {}
    for key in order:
        if key[0] not in best or sums[key] > sums[best[key[0]]]:
            best[key[0]] = key
    for gid, key in best.items():
        out.setdefault((key[1], sums[key], key[2], key[3]), []).append(gid)
    return out


def learn_customer_ibans(lines: Iterable[StatementLine], payments: pd.DataFrame) -> dict[str, str]:
    """IBAN -> customer_id, learned from lines whose payments are already in ``payments``.

    Hosts keep earlier statements (or re-read them) and pass the result to ``propose_matches`` as
    ``customer_ibans``. An IBAN seen paying two different customers is left out (a shared payer is no evidence).
    """
    by_line: dict[str, set[str]] = {}
    for sl, cust in zip(payments["statement_line"].tolist(), payments["customer_id"].tolist(), strict=True):
        if sl:
            by_line.setdefault(sl, set()).add(cust)
    seen: dict[str, set[str]] = {}
    for ln in lines:
        iban = normalize_iban(ln.counterparty_iban)
        if iban and ln.line_id in by_line:
            seen.setdefault(iban, set()).update(by_line[ln.line_id])
    return {iban: next(iter(c)) for iban, c in sorted(seen.items()) if len(c) == 1}


def _fee_pct(ledger: Ledger) -> Decimal:
    raw = str(ledger.settings.extra.get("bank_fee_pct", "") or "").strip().replace(",", ".").rstrip("%")
    try:
        pct = Decimal(raw) if raw else Decimal(0)
    except InvalidOperation:
        pct = Decimal(0)
    return pct if pct > 0 else Decimal(0)


# ----------------------------------------------------------------------------------- the index


@dataclass
class _Hit:
    idx: int
    quality: float
    loc: int
    source: str  # "id" or "reference"


@dataclass
class _Evidence:
    hits: list[_Hit] = field(default_factory=list)
    tax: list[int] = field(default_factory=list)  # customer positions
    iban: list[int] = field(default_factory=list)
    names: list[tuple[int, float, float]] = field(default_factory=list)  # (customer pos, score, tiebreak)
    name_unambiguous: bool = False
    digit_grams: tuple[str, ...] = ()
    queries: tuple[str, ...] = ()  # normalized name queries (counterparty, text)


@dataclass
class _Choice:
    idxs: list[int]
    customer: int  # customer position, -1 when none
    confidence: float
    reasons: list[str]
    auto: bool
    evidence: tuple[str, ...]
    alternatives: list[Alternative] = field(default_factory=list)
    advance_only: bool = False


class MatchIndex:
    """Everything the matcher looks up, built once per ledger and as-of date.

    ``MatchIndex.build(ledger, as_of)`` costs a pass over the invoices and customers; after that
    ``match_line(line)`` re-matches one line in about a millisecond, and ``match_lines(lines)`` runs a whole
    statement with greedy allocation against remaining balances. Candidates are the invoices issued by
    ``as_of``; their remaining balance counts every payment in the ledger, whatever its date.
    """

    def __init__(self) -> None:  # use build()
        self.ledger: Ledger
        self.as_of: pd.Timestamp
        self.locale = "es"
        self._claimed_ids: set[str] = set()
        self._issues: list[tuple[str, str, str]] = []

    # -------------------------------------------------------------------------- build
    @classmethod
    def build(cls, ledger: Ledger, as_of: dt.date | str | pd.Timestamp,
              customer_ibans: Mapping[str, str] | None = None) -> MatchIndex:
        """Balances as of ``as_of`` and every look-up table; ``customer_ibans`` maps IBAN -> customer_id."""
        with gc_paused():
            return cls._build(ledger, as_of, customer_ibans)

    @classmethod
    def _build(cls, ledger: Ledger, as_of: dt.date | str | pd.Timestamp,
               customer_ibans: Mapping[str, str] | None) -> MatchIndex:
        self = cls()
        self.ledger = ledger
        self.as_of = pd.Timestamp(as_of).normalize()
        self.locale = ledger.settings.locale
        self.base_currency = ledger.settings.base_currency
        self.fee_fixed = int(ledger.settings.bank_fee_tolerance)
        self.fee_pct = _fee_pct(ledger)

        cust = ledger.customers
        self.cust_ids: list[str] = cust["customer_id"].tolist()
        self.cust_names: list[str] = cust["name"].tolist()
        self.cust_pos: dict[str, int] = {}
        for i, c in enumerate(self.cust_ids):
            self.cust_pos.setdefault(c, i)

        bal = invoice_balances(ledger, self.as_of)
        # Oldest first: due date, then issue date, then sheet order (blank dates last).
        big = np.iinfo("int64").max
        due = bal["due_date"].to_numpy(dtype="datetime64[ns]").view("int64")
        issue = bal["issue_date"].to_numpy(dtype="datetime64[ns]").view("int64")
        nat = np.iinfo("int64").min
        order = np.lexsort((np.arange(len(bal)), np.where(issue == nat, big, issue), np.where(due == nat, big, due)))
        bal = bal.iloc[order]
        self.inv_ids: list[str] = bal["invoice_id"].tolist()
        self.inv_refs: list[str] = bal["reference"].tolist()
        self.inv_cur: list[str] = bal["currency"].tolist()
        self.inv_cust: list[int] = [self.cust_pos.get(c, -1) for c in bal["customer_id"].tolist()]
        self.inv_pos: dict[str, int] = {x: i for i, x in enumerate(self.inv_ids)}
        # Remaining balance = amount less *every* payment recorded, whatever its date: a payment dated after
        # as_of (a later statement applied first, a manual entry) must still stop an over-allocation.
        pay = ledger.payments
        paid_all = pay[pay["invoice_id"] != ""].groupby("invoice_id", sort=False)["amount"].sum()
        remaining = bal["amount"].to_numpy(dtype="int64") - \
            bal["invoice_id"].map(paid_all).fillna(0).to_numpy(dtype="int64")
        remaining = np.minimum(remaining, bal["balance"].to_numpy(dtype="int64"))
        self.balance: list[int] = [int(b) if b > 0 else 0 for b in remaining]

        self.open_by: dict[tuple[int, str], list[int]] = {}
        self.by_amount: dict[tuple[str, int], list[int]] = {}
        for i, (b, c, k) in enumerate(zip(self.balance, self.inv_cur, self.inv_cust, strict=True)):
            if b > 0:
                self.open_by.setdefault((k, c), []).append(i)
                self.by_amount.setdefault((c, b), []).append(i)

        # Reference indexes over every invoice (a paid one still identifies its customer).
        self.compact: dict[str, list[tuple[int, str]]] = {}
        # digit key -> (idx, series letters, significant digits, source, digits as written)
        self.digits: dict[str, list[tuple[int, str, int, str, str]]] = {}
        self.max_groups = 1
        self.inv_forms: list[tuple[str, ...]] = [()] * len(self.inv_ids)  # digit strings for typo matching
        for source, texts in (("id", self.inv_ids), ("reference", self.inv_refs)):
            self._index_identifiers(source, texts)

        # Customers: tax ids, IBANs, names.
        self.tax: dict[str, list[int]] = {}
        for i, tax in enumerate(cust["tax_id"].tolist()):
            n = normalize_tax_id(tax)
            if len(n) >= 6 and any(ch.isdigit() for ch in n):
                self.tax.setdefault(n, []).append(i)
        self.iban: dict[str, list[int]] = {}
        for i, note in enumerate(cust["notes"].tolist()):
            for m in _IBAN_RE.finditer(_norm(note)):
                self.iban.setdefault(normalize_iban(m.group(1)), []).append(i)
        for raw_iban, cid in sorted((customer_ibans or {}).items()):
            pos = self.cust_pos.get(cid)
            if pos is not None:
                lst = self.iban.setdefault(normalize_iban(raw_iban), [])
                if pos not in lst:
                    lst.append(pos)
        self.name_words: list[list[str]] = []
        self.name_norm: list[str] = []
        self.word_index: dict[str, list[int]] = {}
        for i, name in enumerate(self.cust_names):
            words = _name_words(name)
            self.name_words.append(words)
            self.name_norm.append(" ".join(words))
            for w in set(words):
                self.word_index.setdefault(w, []).append(i)
        self.word_sets = {w: frozenset(v) for w, v in self.word_index.items()}
        self._pair_cap = max(2000, len(self.cust_ids) // 10)

        # Lines already applied.
        self.applied_ids = applied_line_ids(ledger)
        self.applied_content = _applied_content(ledger.payments)
        self.remaining: list[int] = list(self.balance)
        return self

    def _index_identifiers(self, source: str, texts: list[str]) -> None:
        """Compact and digit-key entries for every invoice number / reference."""
        compact = self.compact
        digits = self.digits
        forms = self.inv_forms
        for i, text in enumerate(texts):
            if not text:
                continue
            t = text.upper() if text.isascii() else _norm(text)
            comp = _NONALNUM.sub("", t)
            raw_groups = _DIGITS_RE.findall(comp and t)
            if len(comp) >= 5 or (len(comp) >= 3 and raw_groups):
                compact.setdefault(comp, []).append((i, source))
            if not raw_groups:
                continue
            rw = "".join(raw_groups)
            key = _LEADZ_RE.sub("", "/".join(raw_groups))
            flat = key.replace("/", "")
            m = _SERIES_RE.match(t)
            digits.setdefault(key, []).append((i, m.group(1) if m else "", len(flat), source, rw))
            if len(raw_groups) > self.max_groups:
                self.max_groups = min(len(raw_groups), 6)
            forms[i] = forms[i] + ((rw, flat) if rw != flat else (rw,))

    # -------------------------------------------------------------------------- evidence
    def fee_tolerance(self, currency: str, expected: int) -> int:
        """Largest shortfall read as a bank fee when ``expected`` is due in ``currency``."""
        fixed = self.fee_fixed if currency == self.base_currency else 0
        pct = int((Decimal(int(expected)) * self.fee_pct / Decimal(100)).to_integral_value(rounding="ROUND_FLOOR"))
        return max(fixed, pct, 0)

    def _reference_hits(self, t: str) -> tuple[list[_Hit], tuple[str, ...]]:
        hits: list[_Hit] = []
        grams: list[str] = []
        loc = 0
        # Compact tokens (F20240113, F-2024-0113) and pairs/triples of tokens (F 2024 0113).
        tokens = [_NONALNUM.sub("", tok) for tok in _TOKEN_SPLIT.split(t)]
        tokens = [x for x in tokens if x]
        for i in range(len(tokens)):
            comp = ""
            for j in range(i, min(i + 3, len(tokens))):
                comp += tokens[j]
                for idx, source in self.compact.get(comp, ()):
                    hits.append(_Hit(idx, 1.0, loc, source))
                loc += 1
        # Runs of letter/digit groups joined by short separators.
        runs: list[list[tuple[str, bool]]] = []
        cur: list[tuple[str, bool]] = []
        prev_end = 0
        for m in _GROUP_RE.finditer(t):
            if cur:
                sep = t[prev_end:m.start()]
                if len(sep) <= 3 and all(ch in _SEP_OK for ch in sep):
                    cur.append((m.group(), sep == "" or any(ch in _TIGHT for ch in sep)))
                else:
                    runs.append(cur)
                    cur = [(m.group(), True)]
            else:
                cur = [(m.group(), True)]
            prev_end = m.end()
        if cur:
            runs.append(cur)
        for run in runs:
            i = 0
            last_prefix = ""
            prev_had_hit = False
            while i < len(run):
                if not run[i][0].isdigit():
                    i += 1
                    continue
                j = i
                while j < len(run) and run[j][0].isdigit():
                    j += 1
                prefix = run[i - 1][0] if i > 0 else ""
                if prefix in _CONNECTORS and prev_had_hit:
                    prefix = last_prefix
                raw = [g for g, _ in run[i:j]]
                groups = [_strip_zeros(g) for g in raw]
                tight = [tg for _, tg in run[i:j]]
                for a in range(len(raw)):
                    for n in range(1, min(4, len(raw) - a) + 1):
                        grams.append("".join(raw[a:a + n]))
                        grams.append("".join(groups[a:a + n]))
                is_date = not prefix and len(groups) == 3 and all(tight[1:]) and _looks_like_date(groups)
                found = self._scan_digits(groups, tight, prefix, hits, loc, only_full=is_date, raw=raw)
                loc += 1
                if found:
                    last_prefix = prefix
                prev_had_hit = found
                i = j
        return hits, tuple(dict.fromkeys(g for g in grams if len(g) >= 4))

    def _scan_digits(self, groups: list[str], tight: list[bool], prefix: str, hits: list[_Hit], loc: int,
                     only_full: bool = False, raw: list[str] | None = None) -> bool:
        m = len(groups)
        pos = 0
        any_hit = False
        prev_hit = False
        while pos < m:
            best = 0
            top = m - pos if only_full else min(self.max_groups, m - pos)
            for n in range(top, 0, -1):
                if only_full and n != m:
                    continue
                if "/".join(groups[pos:pos + n]) in self.digits:
                    best = n
                    break
            if not best:
                pos += 1
                prev_hit = False
                continue
            key = "/".join(groups[pos:pos + best])
            whole = (pos == 0 or not tight[pos]) and (pos + best == m or not tight[pos + best])
            pfx = prefix if (pos == 0 or prev_hit) else ""
            written = "".join(raw[pos:pos + best]) if raw else ""
            for idx, series, nd, source, as_written in self.digits[key]:
                # Zeros copied as written (000083) make a short number as distinctive as a long one.
                q = _grade(pfx, series, whole, best, max(nd, len(written)) if written == as_written else nd)
                if q > 0:
                    hits.append(_Hit(idx, q, loc * 64 + pos, source))
                    any_hit = True
            pos += best
            prev_hit = True
        return any_hit

    def _customer_evidence(self, line: StatementLine, t: str, ev: _Evidence) -> None:
        # Tax ids: tokens and pairs of tokens, compacted.
        toks = [x for x in (_NONALNUM.sub("", tok) for tok in _TOKEN_SPLIT.split(t)) if x]
        seen: set[int] = set()
        for i in range(len(toks)):
            comp = ""
            for j in range(i, min(i + 2, len(toks))):
                comp += toks[j]
                for cand in (comp, comp[2:] if comp.startswith("ES") and len(comp) == 11 else ""):
                    for c in self.tax.get(cand, ()) if cand else ():
                        if c not in seen:
                            seen.add(c)
                            ev.tax.append(c)
        # IBAN: the counterparty's, and any in the text.
        ibans = [normalize_iban(line.counterparty_iban)] if line.counterparty_iban else []
        ibans += [normalize_iban(m.group(1)) for m in _IBAN_RE.finditer(t)]
        for ib in dict.fromkeys(ibans):
            for c in self.iban.get(ib, ()):
                if c not in ev.iban:
                    ev.iban.append(c)
        # Name: inverted index of significant words, then rapidfuzz on those candidates only.
        queries = []
        if line.counterparty_name.strip():
            queries.append(_name_words(line.counterparty_name))
        queries.append(_name_words(line.text))
        ev.queries = tuple(" ".join(q) for q in queries if q)
        words = {w for q in queries for w in q}
        index = self.word_index
        limit = self._pair_cap
        usable = sorted((w for w in words if w in index and len(index[w]) <= limit),
                        key=lambda w: (len(index[w]), w))[:5]
        # Customers sharing two of the line's rarer words (set intersections, in C); one word only when rare.
        cands: set[int] = set()
        for a in range(len(usable)):
            for b in range(a + 1, len(usable)):
                cands |= self.word_sets[usable[a]] & self.word_sets[usable[b]]
        if not cands:
            for w in usable[:2]:
                if len(index[w]) <= _NAME_POSTING_CAP:
                    cands |= self.word_sets[w]
        if len(cands) > _NAME_CANDIDATES:
            cands = set(sorted(cands)[:_NAME_CANDIDATES])
        if not cands:
            return
        pool = sorted(cands)
        choices = [self.name_norm[c] for c in pool]
        scores: dict[int, tuple[float, float]] = {}
        for q in queries:
            if not q:
                continue
            qs = " ".join(q)
            for _, score, k in process.extract(qs, choices, scorer=fuzz.token_set_ratio, limit=5, score_cutoff=70):
                c = pool[k]
                tie = fuzz.token_sort_ratio(qs, choices[k])
                if c not in scores or (score, tie) > scores[c]:
                    scores[c] = (float(score), float(tie))
        ranked = sorted(scores.items(), key=lambda kv: (-kv[1][0], -kv[1][1], kv[0]))
        # Same name twice (two customer records) is one identity for evidence purposes but stays ambiguous.
        ev.names = [(c, s, tb) for c, (s, tb) in ranked]
        if ranked and ranked[0][1][0] >= _NAME_STRONG:
            best_c, (bs, bt) = ranked[0]
            ev.name_unambiguous = True
            for c, (s, tb) in ranked[1:]:
                if s >= bs - 8 and not (s == bs and tb < bt - 10
                                        and set(self.name_words[c]) < set(self.name_words[best_c])):
                    ev.name_unambiguous = False
                    break

    def name_score(self, ev: _Evidence, customer: int) -> float:
        """How well the line's payer name / text fits ``customer``'s name (0-100)."""
        if customer < 0 or not ev.queries or not self.name_norm[customer]:
            return 0.0
        return max(float(fuzz.token_set_ratio(q, self.name_norm[customer])) for q in ev.queries)

    def evidence(self, line: StatementLine) -> _Evidence:
        t = _norm(line.text + " | " + line.bank_reference) if line.bank_reference else _norm(line.text)
        ev = _Evidence()
        ev.hits, ev.digit_grams = self._reference_hits(t)
        self._customer_evidence(line, t, ev)
        return ev

    # -------------------------------------------------------------------------- allocation
    def split(self, amount: int, idxs: Sequence[int], remaining: Sequence[int], currency: str
              ) -> tuple[list[tuple[int, int]], int, int]:
        """The one allocation primitive: (allocations by position, advance, fee). See the module docstring."""
        total = sum(remaining[i] for i in idxs)
        if amount >= total:
            return [(i, remaining[i]) for i in idxs if remaining[i] > 0], amount - total, 0
        short = total - amount
        if short <= self.fee_tolerance(currency, total):
            return [(i, remaining[i]) for i in idxs if remaining[i] > 0], 0, short
        out: list[tuple[int, int]] = []
        left = amount
        for i in idxs:
            if left <= 0:
                break
            take = min(left, remaining[i])
            if take > 0:
                out.append((i, take))
                left -= take
        return out, 0, 0

    # -------------------------------------------------------------------------- decision
    def _name_of(self, c: int) -> str:
        return self.cust_names[c] if c >= 0 else ""

    def _ids(self, idxs: Iterable[int]) -> str:
        return ", ".join(self.inv_ids[i] for i in idxs)

    def _fmt(self, minor: int, currency: str) -> str:
        return money.format_money(minor, currency, self.locale)

    def _decide(self, line: StatementLine, ev: _Evidence, rem: Sequence[int]) -> _Choice | None:
        loc = self.locale
        amount = int(line.amount)
        cur = line.currency

        # ---- customer evidence
        strong: list[int] = []
        strong_codes: list[str] = []
        reasons_c: dict[int, str] = {}
        for c in ev.tax:
            if c not in strong:
                strong.append(c)
            reasons_c.setdefault(c, _t(loc, "tax", name=self._name_of(c)))
        for c in ev.iban:
            if c not in strong:
                strong.append(c)
            reasons_c.setdefault(c, _t(loc, "iban", name=self._name_of(c)))
        if ev.tax:
            strong_codes.append("tax_id")
        if ev.iban:
            strong_codes.append("iban")
        name_best = ev.names[0] if ev.names else None

        # ---- reference evidence, per invoice the best grade
        grade: dict[int, float] = {}
        ref_paid: list[int] = []
        other_cur: list[int] = []
        by_loc: dict[int, list[_Hit]] = {}
        for h in ev.hits:
            by_loc.setdefault(h.loc, []).append(h)
        for hs in by_loc.values():
            top = max(h.quality for h in hs)
            tops = [h for h in hs if h.quality == top]
            if len({h.idx for h in tops}) > 1:
                # One place in the text reads as several invoices: keep those the other evidence supports.
                keep = [h for h in tops if self.inv_cust[h.idx] in strong or rem[h.idx] == amount]
                if len({h.idx for h in keep}) == 1:
                    tops = keep
                else:
                    tops = [dataclass_replace(h, quality=min(h.quality, 0.8)) for h in tops]
            for h in tops:
                if self.inv_cur[h.idx] != cur:
                    other_cur.append(h.idx)
                    continue
                if rem[h.idx] <= 0:
                    ref_paid.append(h.idx)
                    continue
                grade[h.idx] = max(grade.get(h.idx, 0.0), h.quality)
        strong_refs = {i: q for i, q in grade.items() if q >= 0.93}
        weak_refs = {i: q for i, q in grade.items() if q < 0.93
                     and (self.inv_cust[i] in strong or rem[i] == amount
                          or (name_best is not None and self.inv_cust[i] == name_best[0]))}
        if strong_refs:
            # A short number next to strong ones ("FRAS F-2024-00300, 63") joins them when the amount agrees.
            custs = {self.inv_cust[i] for i in strong_refs}
            extra = {i: q for i, q in grade.items() if q < 0.93 and self.inv_cust[i] in custs}
            if extra and sum(rem[i] for i in strong_refs) + sum(rem[i] for i in extra) == amount:
                strong_refs = {**strong_refs, **{i: 0.93 for i in extra}}
        refs = strong_refs or weak_refs
        if refs:
            return self._decide_refs(line, refs, strong, reasons_c, ev, rem, bool(strong_refs))

        # ---- near reference (typo): only among invoices the amount or the customer point at
        near = self._near_reference(line, ev, rem, strong)
        if near is not None:
            return near

        # ---- customer path
        customer = -1
        cust_reason = ""
        unambiguous = False
        codes: list[str] = []
        if len(strong) == 1:
            customer = strong[0]
            cust_reason = reasons_c[customer]
            unambiguous = True
            codes = list(strong_codes)
            if name_best is not None and name_best[1] >= _NAME_STRONG and name_best[0] != customer \
                    and self.name_norm[name_best[0]] != self.name_norm[customer] and self.name_score(ev, customer) < 70:
                unambiguous = False
                cust_reason += " " + _t(loc, "conflict", name=self._name_of(name_best[0]))
        elif len(strong) > 1:
            # Several customers share a tax id or IBAN: prefer the one the name supports.
            pick = [c for c in strong if name_best is not None and c == name_best[0]]
            customer = pick[0] if pick else strong[0]
            cust_reason = reasons_c[customer]
            codes = list(strong_codes)
        elif name_best is not None and name_best[1] >= 80:
            customer = name_best[0]
            score = name_best[1]
            unambiguous = ev.name_unambiguous
            if not self._amount_fits(customer, cur, amount, rem):
                # Similar names (word order, a misspelling, a shorter name): the one whose balances fit wins.
                near_names = [(c, sc) for c, sc, _ in ev.names[1:6] if sc >= max(80.0, score - 10)]
                fits = [(c, sc) for c, sc in near_names if self._amount_fits(c, cur, amount, rem)]
                if len(fits) == 1:
                    customer, score = fits[0]
                    unambiguous = False
            cust_reason = _t(loc, "name", name=self._name_of(customer), score=int(round(score)))
            codes = ["name"]
        if not ref_paid and customer < 0 and not strong:
            return self._amount_only(line, rem, ev)
        if customer < 0 and ref_paid:
            customer = self.inv_cust[ref_paid[0]]
            unambiguous = False
        reasons = [cust_reason] if cust_reason else []
        if ref_paid:
            reasons.insert(0, _t(loc, "ref_paid", ids=self._ids(dict.fromkeys(ref_paid))))
            codes.append("reference_paid")
            unambiguous = False
        return self._decide_customer(line, customer, unambiguous, reasons, codes, rem, ev)

    def _amount_fits(self, customer: int, cur: str, amount: int, rem: Sequence[int]) -> bool:
        """True when ``amount`` is one open balance of the customer or the sum of its oldest ones."""
        run = 0
        for i in self.open_by.get((customer, cur), ()):
            r = rem[i]
            if r <= 0:
                continue
            if r == amount:
                return True
            if run >= 0:
                run += r
                if run == amount:
                    return True
                if run > amount:
                    run = -1
        return False

    def _decide_refs(self, line: StatementLine, refs: dict[int, float], strong: list[int],
                     reasons_c: dict[int, str], ev: _Evidence, rem: Sequence[int], strong_grade: bool) -> _Choice:
        loc = self.locale
        amount = int(line.amount)
        cur = line.currency
        custs = list(dict.fromkeys(self.inv_cust[i] for i in sorted(refs)))
        alternatives: list[Alternative] = []
        ambiguous = False
        if len(custs) > 1:
            ambiguous = True
            pick = [c for c in custs if c in strong]
            if not pick:
                # The customer whose referenced invoices add up to the amount, else the strongest references.
                sums = {c: sum(rem[i] for i in refs if self.inv_cust[i] == c) for c in custs}
                pick = [c for c in custs if sums[c] == amount] or \
                       sorted(custs, key=lambda c: (-max(q for i, q in refs.items() if self.inv_cust[i] == c),
                                                    custs.index(c)))
            chosen = pick[0]
            for c in custs:
                if c != chosen:
                    ids = tuple(self.inv_ids[i] for i in sorted(refs) if self.inv_cust[i] == c)
                    alternatives.append(Alternative(ids, self.cust_ids[c] if c >= 0 else "", 0.5,
                                                    _t(loc, "refs" if len(ids) > 1 else "ref", ids=", ".join(ids))))
            refs = {i: q for i, q in refs.items() if self.inv_cust[i] == chosen}
        customer = self.inv_cust[next(iter(refs))]
        idxs = sorted(refs)  # positions are oldest first
        min_q = min(refs.values())
        reasons = [_t(loc, "refs" if len(idxs) > 1 else "ref", ids=self._ids(idxs))]
        if not strong_grade:
            reasons[0] = _t(loc, "ref_weak", ids=self._ids(idxs))
        codes = ["reference" if strong_grade else "reference_weak"]
        conflict = bool(strong) and customer not in strong
        name_best = ev.names[0] if ev.names else None
        same_name = name_best is not None and self.name_norm[name_best[0]] == self.name_norm[customer]
        if conflict:
            reasons.append(_t(loc, "conflict", name=self._name_of(strong[0])))
        elif customer in strong:
            codes.append("tax_id" if customer in ev.tax else "iban")
        own = self.name_score(ev, customer)
        if not conflict and customer not in strong and name_best is not None and name_best[1] >= _NAME_STRONG \
                and not same_name and own < 70:
            conflict = True  # the payer's name says another customer: a mistyped number that hits another invoice?
            reasons.append(_t(loc, "conflict", name=self._name_of(name_best[0])))
        # Corroboration: the customer of the invoices is also named, or its tax id / IBAN is on the line.
        corroborated = customer in strong or own >= 80
        total = sum(rem[i] for i in idxs)
        if amount != total and not (total - self.fee_tolerance(cur, total) <= amount < total):
            # Not the referenced amount: a one-edit reference to an invoice of exactly this amount is
            # the likelier story (a typo that happens to hit another number).
            near = self._near_reference(line, ev, rem, strong, exact_only=True)
            if near is not None and not set(near.idxs) & set(idxs):
                near.auto = False
                near.confidence = 0.75
                near.reasons.append(_t(loc, "several"))
                near.alternatives.insert(0, Alternative(tuple(self.inv_ids[i] for i in idxs), self.cust_ids[customer]
                                                        if customer >= 0 else "", 0.5, reasons[0]))
                return near
        tol = self.fee_tolerance(cur, total)
        auto_ok = strong_grade and not conflict and not ambiguous
        conf = 0.99 if min_q >= 1.0 else (0.97 if min_q >= 0.97 else (0.94 if min_q >= 0.93 else 0.7))
        if amount == total:
            reasons.append(_t(loc, "exact"))
            return _Choice(idxs, customer, conf, reasons, auto_ok, tuple(codes + ["exact"]), alternatives)
        if total - tol <= amount < total:
            reasons.append(_t(loc, "fee", fee=self._fmt(total - amount, cur)))
            return _Choice(idxs, customer, conf - 0.05, reasons, auto_ok and min_q >= 0.97, tuple(codes + ["fee"]),
                           alternatives)
        if amount < total:
            if len(idxs) > 1:
                sub = _subsets([rem[i] for i in idxs], amount, amount, 3)
                if sub:
                    chosen_idxs = [idxs[k] for k in sub[0]]
                    reasons.append(_t(loc, "subset", n=len(chosen_idxs)))
                    return _Choice(chosen_idxs, customer, conf - 0.1, reasons, False, tuple(codes + ["subset"]),
                                   alternatives)
            reasons.append(_t(loc, "partial", amount=self._fmt(amount, cur), total=self._fmt(total, cur)))
            return _Choice(idxs, customer, conf - 0.1, reasons,
                           auto_ok and min_q >= 0.97 and len(idxs) == 1 and corroborated,
                           tuple(codes + ["partial"]), alternatives)
        # More than the referenced invoices: the rest may pay other invoices of the customer, else an advance.
        excess = amount - total
        others = [i for i in self.open_by.get((customer, cur), ()) if rem[i] > 0 and i not in refs]
        extra = [i for i in others if rem[i] == excess]
        if len(extra) == 1:
            reasons.append(_t(loc, "subset", n=len(idxs) + 1))
            alternatives.append(Alternative(tuple(self.inv_ids[i] for i in idxs), self.cust_ids[customer], conf - 0.2,
                                            _t(loc, "over", excess=self._fmt(excess, cur))))
            return _Choice(sorted(idxs + extra), customer, conf - 0.15, reasons, False, tuple(codes + ["subset"]),
                           alternatives)
        reasons.append(_t(loc, "over", excess=self._fmt(excess, cur)))
        return _Choice(idxs, customer, conf - 0.1, reasons, auto_ok and min_q >= 0.97 and corroborated,
                       tuple(codes + ["over"]), alternatives)

    def _near_reference(self, line: StatementLine, ev: _Evidence, rem: Sequence[int], strong: list[int],
                        exact_only: bool = False) -> _Choice | None:
        if not ev.digit_grams:
            return None
        amount = int(line.amount)
        cur = line.currency
        pool: dict[int, None] = {}
        for i in self.by_amount.get((cur, amount), ()):
            if rem[i] == amount:
                pool[i] = None
        if not exact_only:
            for c in strong[:3] + ([ev.names[0][0]] if ev.names else []):
                for i in self.open_by.get((c, cur), ())[:200]:
                    if rem[i] > 0:
                        pool[i] = None
        if not pool:
            return None
        found: list[int] = []
        for i in pool:
            forms = [f for f in self.inv_forms[i] if len(f) >= 5]
            if any(OSA.distance(f, g, score_cutoff=1) <= 1 for f in forms for g in ev.digit_grams
                   if abs(len(f) - len(g)) <= 1):
                found.append(i)
        if not found:
            return None
        loc = self.locale
        exact = [i for i in found if rem[i] == amount]
        pick = exact if exact else found
        i = pick[0]
        customer = self.inv_cust[i]
        reasons = [_t(loc, "ref_near", ids=self.inv_ids[i])]
        conflict = bool(strong) and customer not in strong
        if conflict:
            reasons.append(_t(loc, "conflict", name=self._name_of(strong[0])))
        alts = [Alternative((self.inv_ids[k],), self.cust_ids[self.inv_cust[k]], 0.5,
                            _t(loc, "ref_near", ids=self.inv_ids[k])) for k in pick[1:6]]
        if exact:
            reasons.append(_t(loc, "exact"))
            auto = len(exact) == 1 and not conflict
            return _Choice([i], customer, 0.9 if auto else 0.7, reasons, auto, ("near_reference", "exact"), alts)
        choice = self._decide_customer(line, customer, False, reasons, ["near_reference"], rem, ev)
        choice.confidence = min(choice.confidence, 0.6)
        choice.auto = False
        return choice

    def _decide_customer(self, line: StatementLine, customer: int, unambiguous: bool, reasons: list[str],
                         codes: list[str], rem: Sequence[int], ev: _Evidence) -> _Choice:
        loc = self.locale
        amount = int(line.amount)
        cur = line.currency
        base = 0.95 if ("tax_id" in codes or "iban" in codes) else (0.9 if unambiguous else 0.7)
        cand = [i for i in self.open_by.get((customer, cur), ()) if rem[i] > 0]
        if not cand:
            reasons = reasons + [_t(loc, "advance")]
            return _Choice([], customer, base * 0.5, reasons, False, tuple(codes + ["advance"]), advance_only=True)
        singles = [i for i in cand if rem[i] == amount]
        prefix_n = 0
        run = 0
        for n, i in enumerate(cand, 1):
            run += rem[i]
            if run == amount and n >= 2:
                prefix_n = n
                break
            if run > amount:
                break
        if singles:
            alts = [Alternative((self.inv_ids[k],), self.cust_ids[customer], base * 0.6, _t(loc, "exact"))
                    for k in singles[1:6]]
            if prefix_n:
                alts.append(Alternative(tuple(self.inv_ids[k] for k in cand[:prefix_n]), self.cust_ids[customer],
                                        base * 0.6, _t(loc, "prefix", n=prefix_n)))
            r = reasons + [_t(loc, "exact")] + ([_t(loc, "several")] if alts else [])
            return _Choice([singles[0]], customer, base if not alts else base * 0.7, r,
                           unambiguous and not alts, tuple(codes + ["exact"]), alts)
        if prefix_n:
            return _Choice(cand[:prefix_n], customer, base - 0.03, reasons + [_t(loc, "prefix", n=prefix_n)],
                           unambiguous, tuple(codes + ["prefix"]))
        pool = cand[:_MAX_SUBSET_POOL]
        subs = _subsets([rem[i] for i in pool], amount, amount, _MAX_SUBSET_SIZE)
        if subs:
            chosen = [pool[k] for k in subs[0]]
            alts = [Alternative(tuple(self.inv_ids[pool[k]] for k in s), self.cust_ids[customer], base * 0.5,
                                _t(loc, "subset", n=len(s))) for s in subs[1:4]]
            return _Choice(chosen, customer, base * 0.75, reasons + [_t(loc, "subset", n=len(chosen))], False,
                           tuple(codes + ["subset"]), alts)
        # A bank fee: one balance or the oldest-first sum, short by no more than the tolerance.
        fee_single = [i for i in cand if 0 < rem[i] - amount <= self.fee_tolerance(cur, rem[i])]
        if fee_single:
            i = fee_single[0]
            return _Choice([i], customer, base * 0.7,
                           reasons + [_t(loc, "fee", fee=self._fmt(rem[i] - amount, cur))], False,
                           tuple(codes + ["fee"]))
        run = 0
        for n, i in enumerate(cand, 1):
            run += rem[i]
            if n >= 2 and 0 < run - amount <= self.fee_tolerance(cur, run):
                return _Choice(cand[:n], customer, base * 0.65,
                               reasons + [_t(loc, "prefix", n=n), _t(loc, "fee", fee=self._fmt(run - amount, cur))],
                               False, tuple(codes + ["prefix", "fee"]))
            if run > amount + self.fee_tolerance(cur, run):
                break
        tol_hi = self.fee_tolerance(cur, amount * 2)
        if tol_hi:
            subs = _subsets([rem[i] for i in pool], amount + 1, amount + tol_hi, 3)
            subs = [s for s in subs if sum(rem[pool[k]] for k in s) - amount
                    <= self.fee_tolerance(cur, sum(rem[pool[k]] for k in s))]
            if subs:
                chosen = [pool[k] for k in subs[0]]
                fee = sum(rem[i] for i in chosen) - amount
                return _Choice(chosen, customer, base * 0.55,
                               reasons + [_t(loc, "subset", n=len(chosen)), _t(loc, "fee", fee=self._fmt(fee, cur))],
                               False, tuple(codes + ["subset", "fee"]))
        total = sum(rem[i] for i in cand)
        if amount < total:
            return _Choice(cand, customer, base * 0.6,
                           reasons + [_t(loc, "partial", amount=self._fmt(amount, cur), total=self._fmt(total, cur))],
                           False, tuple(codes + ["partial"]))
        return _Choice(cand, customer, base * 0.6,
                       reasons + [_t(loc, "over", excess=self._fmt(amount - total, cur))], False,
                       tuple(codes + ["over"]))

    def _amount_only(self, line: StatementLine, rem: Sequence[int], ev: _Evidence) -> _Choice | None:
        amount = int(line.amount)
        hits = [i for i in self.by_amount.get((line.currency, amount), ()) if rem[i] == amount]
        if not hits:
            return None
        loc = self.locale
        # A weak name hint breaks the tie.
        hinted = {c for c, s, _ in ev.names if s >= 70}
        hits.sort(key=lambda i: (self.inv_cust[i] not in hinted, i))
        i = hits[0]
        reason = _t(loc, "amount_only") if len(hits) == 1 else _t(loc, "amount_only_n", n=len(hits))
        alts = [Alternative((self.inv_ids[k],), self.cust_ids[self.inv_cust[k]], 0.2, _t(loc, "amount_only"))
                for k in hits[1:6]]
        conf = 0.4 if len(hits) == 1 else 0.2
        if self.inv_cust[i] in hinted:
            conf += 0.1
        return _Choice([i], self.inv_cust[i], conf, [reason], False, ("amount",), alts)

    # -------------------------------------------------------------------------- proposals
    def _proposal(self, line: StatementLine, choice: _Choice | None, rem: Sequence[int]) -> Proposal:
        if choice is None:
            return Proposal(line, "unmatched", reason=_t(self.locale, "no_match"))
        if choice.advance_only:
            allocs, advance, fee = [], int(line.amount), 0
        else:
            allocs, advance, fee = self.split(int(line.amount), choice.idxs, rem, line.currency)
            # What apply will do with the invoices shown (only those that receive money): the same split.
            shown = [i for i, _ in allocs]
            if shown != list(choice.idxs):
                allocs, advance, fee = self.split(int(line.amount), shown, rem, line.currency)
        cid = self.cust_ids[choice.customer] if choice.customer >= 0 else ""
        return Proposal(line, "proposed", customer_id=cid,
                        allocations=tuple((self.inv_ids[i], a) for i, a in allocs), advance=advance, fee=fee,
                        confidence=round(max(0.0, min(1.0, choice.confidence)), 3),
                        reason="; ".join(r for r in choice.reasons if r), auto=choice.auto,
                        alternatives=tuple(choice.alternatives), evidence=choice.evidence)

    def _precheck(self, line: StatementLine, consumed: dict[tuple[str, int, str, str], int],
                  seen_ids: set[str]) -> Proposal | None:
        loc = self.locale
        if line.line_id in seen_ids:
            return Proposal(line, "applied", reason=_t(loc, "repeated"), applied_as=line.line_id)
        seen_ids.add(line.line_id)
        if line.line_id in self.applied_ids:
            return Proposal(line, "applied", reason=_t(loc, "applied", pid=payment_id_for(line.line_id)),
                            applied_as=line.line_id)
        for key in sorted(_content_keys(line)):
            groups = [g for g in self.applied_content.get(key, ()) if g not in self._claimed_ids]
            used = consumed.get(key, 0)
            if used < len(groups):
                consumed[key] = used + 1
                return Proposal(line, "applied", reason=_t(loc, "applied", pid=groups[used]), applied_as=groups[used])
        if line.amount <= 0:
            return Proposal(line, "unmatched", reason=_t(loc, "debit"))
        return None

    def match_line(self, line: StatementLine) -> Proposal:
        """One line against the balances of the ledger (as when a person edits a line and asks again)."""
        self._claimed_ids = {line.line_id} & self.applied_ids
        pre = self._precheck(line, {}, set())
        if pre is not None:
            return pre
        choice = self._decide(line, self.evidence(line), self.balance)
        return self._proposal(line, choice, self.balance)

    def match_lines(self, lines: Sequence[StatementLine]) -> MatchResult:
        """A whole statement: greedy by confidence against remaining balances, so nothing is over-allocated."""
        with gc_paused():
            return self._match_lines(lines)

    def _match_lines(self, lines: Sequence[StatementLine]) -> MatchResult:
        self._claimed_ids = {ln.line_id for ln in lines} & self.applied_ids
        out: list[Proposal | None] = [None] * len(lines)
        consumed: dict[tuple[str, int, str, str], int] = {}
        seen: set[str] = set()
        pending: list[int] = []
        for k, ln in enumerate(lines):
            pre = self._precheck(ln, consumed, seen)
            if pre is None:
                pending.append(k)
            else:
                out[k] = pre
        evs = {k: self.evidence(lines[k]) for k in pending}
        rem = list(self.balance)
        # Lazy greedy: the most confident line first; a line whose invoices were taken meanwhile is decided
        # again and goes back in the queue with its new confidence (balances only shrink, so this ends).
        heap: list[tuple[float, int, int]] = []
        choices: dict[int, tuple[_Choice | None, tuple[int, ...]]] = {}

        def push(k: int) -> None:
            c = self._decide(lines[k], evs[k], rem)
            choices[k] = (c, tuple(rem[i] for i in c.idxs) if c else ())
            heapq.heappush(heap, (-(c.confidence if c else -1.0), 0 if (c and c.auto) else 1, k))

        for k in pending:
            push(k)
        while heap:
            _, _, k = heapq.heappop(heap)
            choice, snap = choices[k]
            if choice is not None and tuple(rem[i] for i in choice.idxs) != snap:
                push(k)
                continue
            prop = self._proposal(lines[k], choice, rem)
            for inv, amt in prop.allocations:
                rem[self.inv_pos[inv]] -= amt
            out[k] = prop
        self.remaining = rem
        return MatchResult([p for p in out if p is not None], self)

    # -------------------------------------------------------------------------- allocate (apply side)
    def allocate(self, line: StatementLine, invoice_ids: Sequence[str], customer_id: str = "",
                 remaining: list[int] | None = None, consume: bool = True) -> Allocation:
        """Spread ``line`` over ``invoice_ids`` (in that order) without exceeding any remaining balance.

        Ids that are unknown, in another currency or without balance are left out with a message in
        ``problems``. ``remaining`` (a list parallel to the index's invoices, default: the balances at build
        time) is decreased in place when given and ``consume`` is true.
        """
        loc = self.locale
        rem = remaining if remaining is not None else self.balance
        consume = consume and remaining is not None
        problems: list[str] = []
        self._issues: list[tuple[str, str, str]] = []  # (code, invoice, detail) for located Problems
        idxs: list[int] = []
        for inv in invoice_ids:
            i = self.inv_pos.get(inv)
            if i is None:
                problems.append(_t(loc, "bad_invoice", inv=inv))
                self._issues.append(("invoice", inv, ""))
            elif self.inv_cur[i] != line.currency:
                problems.append(_t(loc, "currency_invoice", inv=inv, cur=self.inv_cur[i]))
                self._issues.append(("currency", inv, self.inv_cur[i]))
            elif rem[i] <= 0:
                problems.append(_t(loc, "closed_invoice", inv=inv))
                self._issues.append(("closed", inv, ""))
            elif i not in idxs:
                idxs.append(i)
        allocs, advance, fee = self.split(int(line.amount), idxs, rem, line.currency)
        cid = customer_id
        if not cid and idxs:
            cid = self.cust_ids[self.inv_cust[idxs[0]]]
        if cid and cid not in self.cust_pos:
            problems.append(_t(loc, "no_customer"))
            self._issues.append(("customer", cid, ""))
        elif advance and not cid:
            problems.append(_t(loc, "no_customer"))
            self._issues.append(("no_customer", "", self._fmt(advance, line.currency)))
        if consume:
            for i, a in allocs:
                rem[i] -= a
        return Allocation(cid, tuple((self.inv_ids[i], a) for i, a in allocs), advance, fee, tuple(problems))


def dataclass_replace(h: _Hit, **kw: float) -> _Hit:
    return _Hit(h.idx, kw.get("quality", h.quality), h.loc, h.source)


def _looks_like_date(groups: list[str]) -> bool:
    a, b, c = (int(x) for x in groups)
    if len(groups[0]) == 4 or a > 1900:
        return 1 <= b <= 12 and 1 <= c <= 31
    return (1 <= a <= 31 and 1 <= b <= 12) or (1 <= a <= 12 and 1 <= b <= 31)


def _grade(prefix: str, series: str, whole: bool, ngroups: int, ndigits: int) -> float:
    """How much a digit-key hit is worth (see the module docstring)."""
    distinctive = ngroups >= 2 or ndigits >= 5
    if prefix and series and prefix == series:
        q = 1.0
    elif prefix in GENERIC_PREFIXES and (ndigits >= 3 or ngroups >= 2):
        q = 0.97
    elif prefix and len(prefix) <= 3 and series and prefix not in _CONNECTORS:
        q = 0.75  # another series letter
    elif distinctive:
        q = 0.93
    else:
        return 0.0
    if not whole:
        return min(q, 0.8) if distinctive else 0.0
    return q


def _subsets(values: Sequence[int], lo: int, hi: int, max_size: int, limit: int = 6) -> list[tuple[int, ...]]:
    """Index tuples (size 2..max_size) whose values sum into [lo, hi]; oldest (smallest indexes) first.

    Bounded: pairs are enumerated once (n ≤ 20 gives 190), larger sets are found by range look-ups on the
    sorted pair sums, so the cost stays a few thousand operations per line.
    """
    n = len(values)
    if n < 2 or hi < lo:
        return []
    pairs = sorted((values[a] + values[b], a, b) for a in range(n) for b in range(a + 1, n))
    sums = [p[0] for p in pairs]
    found: set[tuple[int, ...]] = set()
    for _s, a, b in pairs[bisect_left(sums, lo):bisect_right(sums, hi)]:
        found.add((a, b))
    if max_size >= 3:
        for c in range(n):
            v = values[c]
            for _s, a, b in pairs[bisect_left(sums, lo - v):bisect_right(sums, hi - v)]:
                if c not in (a, b):
                    found.add(tuple(sorted((a, b, c))))
            if len(found) > 50:
                break
    if max_size >= 4 and len(found) < limit:
        for s1, a, b in pairs:
            for _s2, c, d in pairs[bisect_left(sums, lo - s1):bisect_right(sums, hi - s1)]:
                if b < c:
                    found.add((a, b, c, d))
            if len(found) > 50:
                break
    return sorted(found, key=lambda t: (len(t), t))[:limit]


# ----------------------------------------------------------------------------------- result


@dataclass
class MatchResult:
    """One ``Proposal`` per input line, in input order; plus the index they were made with."""

    proposals: list[Proposal]
    index: MatchIndex | None = None

    @property
    def proposed(self) -> list[Proposal]:
        return [p for p in self.proposals if p.status == "proposed"]

    @property
    def unmatched(self) -> list[Proposal]:
        return [p for p in self.proposals if p.status == "unmatched"]

    @property
    def applied(self) -> list[Proposal]:
        return [p for p in self.proposals if p.status == "applied"]

    def by_line(self) -> dict[str, Proposal]:
        out: dict[str, Proposal] = {}
        for p in self.proposals:
            out.setdefault(p.line_id, p)
        return out

    def to_matches_frame(self, auto: bool = False) -> pd.DataFrame:
        """The Matches sheet (canonical columns, typed). ``action`` is "accept" for auto proposals when ``auto``.

        Every line appears, applied and unmatched ones too (with their reason and no action). Bank text that a
        spreadsheet would take for a formula is neutralized (``cobro.safety.neutralize_formula``).
        """
        recs = []
        for p in self.proposals:
            ln = p.line
            ids = list(p.invoice_ids)
            recs.append({
                "statement_line": ln.line_id, "date": pd.Timestamp(ln.date), "amount": int(ln.amount),
                "currency": ln.currency, "text": neutralize_formula(_short(ln.text, 250)), "invoice_ids": tuple(ids),
                "customer_id": p.customer_id, "confidence": float(p.confidence), "reason": p.reason,
                "action": "accept" if (auto and p.auto and p.status == "proposed") else "",
            })
        if not recs:
            return make_frame(MATCHES, pd.DataFrame({c.key: [] for c in MATCHES.columns}))
        return make_frame(MATCHES, recs)

    def payments_for(self, accepted: pd.DataFrame | Iterable[str]) -> pd.DataFrame:
        """Payments rows (typed frame) for accepted proposals.

        ``accepted`` is either line ids (the proposals are used as they are) or Matches rows (those with
        action "accept"; a row whose invoice_ids or customer_id were edited is re-allocated with ``allocate``).
        Invoices are never allocated beyond their remaining balance across the accepted rows.
        """
        if self.index is None:
            return _payments_frame([])
        idx = self.index
        props = self.by_line()
        rem = list(idx.balance)
        recs: list[tuple[str, list[dict[str, object]]]] = []
        if isinstance(accepted, pd.DataFrame):
            rows = accepted[accepted["action"] == "accept"] if "action" in accepted.columns else accepted
            wanted = [(str(r["statement_line"]), tuple(r["invoice_ids"]) if "invoice_ids" in rows.columns
                       else None, str(r["customer_id"]) if "customer_id" in rows.columns else None)
                      for r in rows.to_dict("records")]
        else:
            wanted = [(str(x), None, None) for x in accepted]
        done: set[str] = set()
        todo: list[tuple[int, Proposal, tuple[str, ...], str]] = []
        for lid, ids, cid in wanted:
            p = props.get(lid)
            if p is None or p.status != "proposed" or lid in done:
                continue
            done.add(lid)
            ids = p.invoice_ids if ids is None else tuple(ids)
            cid = p.customer_id if not cid else cid
            edited = ids != p.invoice_ids or cid != p.customer_id
            todo.append((1 if edited else 0, p, ids, cid))
        # Rows as proposed first (they fit together by construction), then the ones a person edited.
        for edited, p, ids, cid in sorted(todo, key=lambda t: t[0]):
            if not edited and all(a <= rem[idx.inv_pos[i]] for i, a in p.allocations):
                for i, a in p.allocations:
                    rem[idx.inv_pos[i]] -= a
                alloc = Allocation(p.customer_id, p.allocations, p.advance, p.fee)
            else:
                alloc = idx.allocate(p.line, list(ids), cid, rem)
            recs.append((p.line.line_id, _payment_records(p.line, alloc, idx.locale, idx.cust_ids, idx.inv_cust,
                                                          idx.inv_pos)))
        order = {lid: k for k, (lid, _, _) in enumerate(wanted)}
        recs.sort(key=lambda t: order[t[0]])
        return _payments_frame([row for _, rows in recs for row in rows])


def _payment_records(line: StatementLine, alloc: Allocation, locale: str, cust_ids: list[str] | None = None,
                     inv_cust: list[int] | None = None, inv_pos: Mapping[str, int] | None = None
                     ) -> list[dict[str, object]]:
    pid = payment_id_for(line.line_id)
    ref = neutralize_formula(_line_reference(line))  # bank text stays text in the sheet
    rows: list[dict[str, object]] = []
    fee_left = alloc.fee
    parts = list(alloc.allocations)
    # The fee is taken from the last invoices: they are closed by a received part plus a fee part.
    fee_rows: list[tuple[str, int]] = []
    for k in range(len(parts) - 1, -1, -1):
        if fee_left <= 0:
            break
        inv, amt = parts[k]
        take = min(fee_left, amt)
        parts[k] = (inv, amt - take)
        fee_rows.insert(0, (inv, take))
        fee_left -= take

    def cust_of(inv: str) -> str:
        if cust_ids is not None and inv_cust is not None and inv_pos is not None and inv in inv_pos:
            c = inv_cust[inv_pos[inv]]
            return cust_ids[c] if c >= 0 else alloc.customer_id
        return alloc.customer_id

    base = {"payment_id": pid, "date": pd.Timestamp(line.date), "currency": line.currency, "source": "statement",
            "statement_line": line.line_id}
    for inv, amt in parts:
        if amt > 0:
            rows.append({**base, "customer_id": cust_of(inv), "invoice_id": inv, "amount": int(amt),
                         "method": "transfer", "reference": ref})
    if alloc.advance > 0 and alloc.customer_id:
        rows.append({**base, "customer_id": alloc.customer_id, "invoice_id": "", "amount": int(alloc.advance),
                     "method": "transfer", "reference": ref})
    for inv, amt in fee_rows:
        if amt > 0:
            rows.append({**base, "customer_id": cust_of(inv), "invoice_id": inv, "amount": int(amt),
                         "method": "other", "reference": _t(locale, "bank_fee") + ": " + _short(ref, 100)})
    return rows


def _payments_frame(records: list[dict[str, object]]) -> pd.DataFrame:
    if not records:
        return make_frame(PAYMENTS, pd.DataFrame({c.key: pd.Series([], dtype=object) for c in PAYMENTS.columns}))
    return make_frame(PAYMENTS, records)


# ----------------------------------------------------------------------------------- entry points


def propose_matches(lines: Sequence[StatementLine], ledger: Ledger, as_of: dt.date | None = None,
                    customer_ibans: Mapping[str, str] | None = None) -> MatchResult:
    """Proposals for every line (pure). Balances are as of ``as_of``, or of the latest line date.

    Lines already applied teach their counterparty IBAN (``learn_customer_ibans``) to the rest of the run.
    """
    if not lines:
        return MatchResult([], None)
    when = as_of if as_of is not None else max(ln.date for ln in lines)
    learned = learn_customer_ibans(lines, ledger.payments)
    ibans = {**learned, **(customer_ibans or {})}
    index = MatchIndex.build(ledger, when, ibans)
    return index.match_lines(lines)


def line_from_match_row(row: Mapping[str, object]) -> StatementLine:
    """Rebuild the statement line a Matches row describes (apply runs in another process than reconcile)."""
    d = row.get("date")
    day = pd.Timestamp(d).date() if d is not None and not pd.isna(d) else dt.date(1970, 1, 1)
    amt = row.get("amount")
    amount = 0 if amt is None or pd.isna(amt) else int(amt)  # type: ignore[call-overload, arg-type]
    return StatementLine(line_id=str(row.get("statement_line", "")), account="", date=day, value_date=None,
                         amount=amount, currency=str(row.get("currency", "") or ""),
                         text=str(row.get("text", "") or ""))


def allocate(line: StatementLine, invoice_ids: Sequence[str], ledger: Ledger | MatchIndex,
             customer_id: str = "", as_of: dt.date | None = None) -> Allocation:
    """Allocate ``line`` to ``invoice_ids`` (in that order) against current balances; never over-allocates.

    With a ``Ledger`` the balances are computed as of ``as_of`` (default: the line's date).
    """
    index = ledger if isinstance(ledger, MatchIndex) else MatchIndex.build(ledger, as_of or line.date)
    return index.allocate(line, invoice_ids, customer_id)


def payments_for_matches(matches: pd.DataFrame, ledger: Ledger, as_of: dt.date | None = None
                         ) -> tuple[pd.DataFrame, list[Problem]]:
    """Payments rows for the Matches rows with action "accept", re-validated against ``ledger`` (for apply).

    Rows already applied (their statement_line in Payments) are skipped, so re-running apply adds nothing.
    Every accepted row is re-allocated with ``allocate`` in sheet order against the remaining balances.
    Problems (unknown invoice, no balance left, no customer for an advance) are returned, located by the
    Matches row; rows with problems produce no payments, so the caller can refuse or warn.
    """
    acc = matches[matches["action"] == "accept"] if len(matches) else matches
    if not len(acc):
        return _payments_frame([]), []
    if as_of is not None:
        when = pd.Timestamp(as_of)
    else:  # every invoice a person may have chosen, and every line date
        stamps = [d for d in pd.to_datetime(acc["date"]).tolist() + ledger.invoices["issue_date"].tolist()
                  if not pd.isna(d)]
        when = max(stamps) if stamps else pd.Timestamp("1970-01-01")
    index = MatchIndex.build(ledger, when)
    rem = list(index.balance)
    applied = applied_line_ids(ledger)
    seen: set[str] = set()
    problems: list[Problem] = []
    recs: list[tuple[int, int, list[dict[str, object]]]] = []
    # The most confident rows first, as the matcher allocated them; sheet order among equals.
    records = sorted(acc.to_dict("records"), key=lambda r: (-(0.0 if pd.isna(r.get("confidence"))
                                                               else float(r.get("confidence") or 0.0)),
                                                             int(r.get("_row", 0) or 0)))
    for k, r in enumerate(records):
        line = line_from_match_row(r)
        row = int(r.get("_row", 0) or 0)
        if not line.line_id or line.line_id in applied or line.line_id in seen:
            continue
        seen.add(line.line_id)
        if line.amount <= 0:
            problems.append(Problem("Matches", row, "amount", line.amount, "positive"))
            continue
        alloc = index.allocate(line, list(r.get("invoice_ids") or ()), str(r.get("customer_id") or ""), rem,
                               consume=False)
        if alloc.problems:
            for code, inv, detail in index._issues:
                if code == "invoice":
                    problems.append(Problem("Matches", row, "invoice_ids", inv, "invoice", {"sheet": "Invoices"}))
                elif code == "currency":
                    problems.append(Problem("Matches", row, "currency", line.currency, "currency_mismatch",
                                            {"currency": f"{inv}: {detail}"}))
                elif code == "closed":
                    problems.append(Problem("Matches", row, "invoice_ids", inv, "setting",
                                            {"what": _t(index.locale, "expect_open", inv=inv)}))
                elif code == "customer":
                    problems.append(Problem("Matches", row, "customer_id", inv, "customer", {"sheet": "Customers"}))
                else:
                    problems.append(Problem("Matches", row, "customer_id", None, "setting",
                                            {"what": _t(index.locale, "expect_customer", amount=detail)}))
            continue
        for inv, amt in alloc.allocations:
            rem[index.inv_pos[inv]] -= amt
        recs.append((row, k, _payment_records(line, alloc, index.locale, index.cust_ids, index.inv_cust,
                                              index.inv_pos)))
    recs.sort(key=lambda t: (t[0], t[1]))  # Payments rows in the order of the Matches sheet
    problems.sort(key=lambda p: p.row)
    return _payments_frame([x for _, _, rows in recs for x in rows]), problems
