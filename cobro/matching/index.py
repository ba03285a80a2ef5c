"""``MatchIndex``: the look-up tables built once per ledger and as-of date, and the statement run.

The index is assembled from its parts: ``ReferenceScan`` (invoice numbers), ``CustomerScan`` (who paid),
``Decider`` (what the evidence means); this module keeps the build, the allocation primitive, the greedy run
over a statement and the apply-side ``allocate``.
"""

from __future__ import annotations

import datetime as dt
import heapq
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import pandas as pd

from ..balances import invoice_balances
from ..bank.base import StatementLine
from ..bulk import gc_paused
from ..ledger import Ledger, make_frame
from ..safety import neutralize_formula
from ..schema import MATCHES
from .amounts import _fee_pct
from .applied import AppliedPayment, _applied_content, _content_keys, applied_line_ids, applied_statement_payments
from .customers import CustomerScan
from .decide import Decider
from .evidence import _Choice, _Evidence
from .references import ReferenceScan
from .results import Allocation, Proposal, _payment_records, _payments_frame, _short, payment_id_for
from .text import (
    _IBAN_RE,
    _NONALNUM,
    _name_words,
    _norm,
    _t,
    compact_name,
    normalize_iban,
    normalize_tax_id,
)


class MatchIndex(ReferenceScan, CustomerScan, Decider):
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
        # Per currency: a smaller difference is written off (a rounding cent, a fee the customer deducted).
        self.write_off: dict[str, int] = {str(k): int(v) for k, v in
                                          (getattr(ledger.settings, "write_off_tolerance", None) or {}).items()}

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
        # A counterparty equal to a customer's id or to its exact name (compact form) is that customer.
        self.id_key: dict[str, list[int]] = {}
        for i, cid in enumerate(self.cust_ids):
            k = _NONALNUM.sub("", _norm(cid))
            if len(k) >= 2:
                self.id_key.setdefault(k, []).append(i)
        self.exact_name: dict[str, list[int]] = {}
        for i, name in enumerate(self.cust_names):
            k = compact_name(name)
            if len(k) >= 4:
                self.exact_name.setdefault(k, []).append(i)
        self._pair_cap = max(2000, len(self.cust_ids) // 10)

        # Lines already applied.
        self.applied_ids = applied_line_ids(ledger)
        self.applied_content = _applied_content(ledger.payments)
        self.applied_payments = applied_statement_payments(ledger.payments)
        self.remaining: list[int] = list(self.balance)
        return self

    # -------------------------------------------------------------------------- evidence
    def fee_tolerance(self, currency: str, expected: int) -> int:
        """Largest shortfall read as a bank fee when ``expected`` is due in ``currency``."""
        return max(self.bank_fee_tolerance(currency, expected), self.write_off.get(currency, 0), 0)

    def bank_fee_tolerance(self, currency: str, expected: int) -> int:
        """The part of the tolerance that is a bank fee (Settings bank_fee_tolerance / bank_fee_pct)."""
        fixed = self.fee_fixed if currency == self.base_currency else 0
        pct = int((Decimal(int(expected)) * self.fee_pct / Decimal(100)).to_integral_value(rounding="ROUND_FLOOR"))
        return max(fixed, pct, 0)

    def is_write_off(self, currency: str, fee: int, expected: int) -> bool:
        """True when a shortfall is closed by the write-off tolerance (Settings write_off_tolerance, per
        currency) rather than read as a bank fee: it is recorded as a write-off line, not a bank fee."""
        return 0 < fee <= self.write_off.get(currency, 0) and fee > self.bank_fee_tolerance(currency, expected)

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
        kind = getattr(line, "kind", "payment")
        if kind == "fee":
            return Proposal(line, "unmatched", reason=_t(loc, "fee_line"), evidence=("fee",))
        if kind == "return":
            return self._return(line)
        if line.amount <= 0:
            return Proposal(line, "unmatched", reason=_t(loc, "debit"))
        return None

    def _return(self, line: StatementLine) -> Proposal:
        """A returned payment (SEPA R-transaction, storno, devolución) is never a payment: it is shown as a
        return and, when it undoes a payment already applied, proposed as the reversal of that payment
        (found by the original reference the bank gives, else by amount and payer)."""
        loc = self.locale
        cands: list[AppliedPayment] = []
        if line.amount >= 0:  # money back to us (a transfer we sent, returned): it undoes no customer payment
            return Proposal(line, "return", reason=_t(loc, "return"), evidence=("return",))
        ref = _NONALNUM.sub("", _norm(line.return_of)) if line.return_of else ""
        if ref:
            cands = [g for g in self.applied_payments if g.group == line.return_of
                     or (len(ref) >= 6 and ref in g.reference)]
        confidence = 0.9
        if not cands:
            amount = abs(int(line.amount))
            cands = [g for g in self.applied_payments if g.received == amount and g.currency == line.currency
                     and g.date <= line.date]
            ev = self.evidence(line)
            payers = {self.cust_ids[c] for c in ev.tax + ev.iban + ev.exact}
            if ev.names and ev.name_unambiguous:
                payers.add(self.cust_ids[ev.names[0][0]])
            if payers:
                cands = [g for g in cands if g.customer_id in payers]
            confidence = 0.8 if payers else 0.5
        if len(cands) != 1:
            return Proposal(line, "return", reason=_t(loc, "return"), evidence=("return",))
        g = cands[0]
        ids = ", ".join(i for i, _ in g.allocations) or "-"
        return Proposal(line, "return", customer_id=g.customer_id, allocations=g.allocations,
                        confidence=confidence, reason=_t(loc, "reversal", pid=g.payment_id, day=g.date.isoformat(),
                                                         ids=ids),
                        evidence=("return", "reversal"), applied_as=g.group)

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

    @property
    def returns(self) -> list[Proposal]:
        return [p for p in self.proposals if p.status == "return"]

    def to_matches_frame(self, auto: bool = False, statement: str = "") -> pd.DataFrame:
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
                "statement": statement, "kind": getattr(ln, "kind", "payment") or "payment",
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
            wo = idx.is_write_off(p.line.currency, alloc.fee, int(p.line.amount) + alloc.fee)
            recs.append((p.line.line_id, _payment_records(p.line, alloc, idx.locale, idx.cust_ids, idx.inv_cust,
                                                          idx.inv_pos, write_off=wo)))
        order = {lid: k for k, (lid, _, _) in enumerate(wanted)}
        recs.sort(key=lambda t: order[t[0]])
        return _payments_frame([row for _, rows in recs for row in rows])
