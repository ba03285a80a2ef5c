"""The decision: from one line's evidence and the remaining balances to a ``_Choice`` (invoices, customer,
confidence, reasons, auto or not). ``Decider`` is a part of ``MatchIndex``; see the package docstring
(Auto-acceptance) for the rules.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rapidfuzz.distance import OSA

from .. import money
from ..bank.base import StatementLine
from .amounts import _subsets
from .evidence import _Choice, _Evidence, _Hit, dataclass_replace
from .references import SHORT_REF
from .results import Alternative
from .text import (
    _MAX_SUBSET_POOL,
    _MAX_SUBSET_SIZE,
    _NAME_STRONG,
    _t,
)


class Decider:
    """The decision half of ``MatchIndex``."""

    def _name_of(self, c: int) -> str:
        return self.cust_names[c] if c >= 0 else ""

    def _ids(self, idxs: Iterable[int]) -> str:
        return ", ".join(self.inv_ids[i] for i in idxs)

    def _fee_reason(self, cur: str, fee: int, amount: int) -> str:
        """A shortfall closed by the tolerance: a bank fee, or a write-off (Settings write_off_tolerance)."""
        if self.is_write_off(cur, fee, amount + fee):
            return _t(self.locale, "write_off", fee=self._fmt(fee, cur))
        return _t(self.locale, "fee", fee=self._fmt(fee, cur))

    def _fmt(self, minor: int, currency: str) -> str:
        return money.format_money(minor, currency, self.locale)

    def _decide(self, line: StatementLine, ev: _Evidence, rem: Sequence[int]) -> _Choice | None:
        """The choice for one line, with the exact amount of another customer's open invoice listed as an
        alternative (not hidden); a choice that rests on a name alone is then not auto-accepted."""
        choice = self._decide_evidence(line, ev, rem)
        if choice is None or choice.customer < 0:
            return choice
        amount = int(line.amount)
        others = [i for i in self.by_amount.get((line.currency, amount), ())
                  if rem[i] == amount and self.inv_cust[i] != choice.customer and i not in choice.idxs]
        if not others:
            return choice
        listed = {a.invoice_ids for a in choice.alternatives}
        for i in others[:3]:
            ids = (self.inv_ids[i],)
            if ids not in listed:
                choice.alternatives.append(Alternative(ids, self.cust_ids[self.inv_cust[i]], 0.3,
                                                       _t(self.locale, "other_exact", ids=self.inv_ids[i])))
        if choice.auto and "name" in choice.evidence and not (set(choice.evidence) & {
                "reference", "tax_id", "iban", "customer_id", "exact_name"}):
            choice.auto = False
            choice.confidence = min(choice.confidence, 0.8)
        return choice

    def _decide_evidence(self, line: StatementLine, ev: _Evidence, rem: Sequence[int]) -> _Choice | None:
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
        for c in ev.exact:
            if c not in strong:
                strong.append(c)
            reasons_c.setdefault(c, _t(loc, "customer_id", cid=self.cust_ids[c]) if ev.exact_how.get(c) == "customer_id"
                                 else _t(loc, "exact_name", name=self._name_of(c)))
        if ev.tax:
            strong_codes.append("tax_id")
        if ev.iban:
            strong_codes.append("iban")
        for c in ev.exact:
            strong_codes.append(ev.exact_how.get(c, "exact_name"))
        strong_codes = list(dict.fromkeys(strong_codes))
        name_best = ev.names[0] if ev.names else None

        # ---- reference evidence, per invoice the best grade
        grade: dict[int, float] = {}
        ref_paid: list[int] = []
        other_cur: list[int] = []
        short_codes: set[int] = set()
        by_loc: dict[int, list[_Hit]] = {}
        for h in ev.hits:
            by_loc.setdefault(h.loc, []).append(h)
        for hs in by_loc.values():
            top = max(h.quality for h in hs)
            tops = [h for h in hs if h.quality == top]
            if len({h.idx for h in tops}) > 1:
                # One place in the text reads as several invoices: keep those the other evidence supports.
                # The exact amount first, then the payer's tax id / IBAN / exact name, then its unambiguous name.
                keep = [h for h in tops if rem[h.idx] == amount]
                if len({h.idx for h in keep}) != 1:
                    keep = [h for h in tops if self.inv_cust[h.idx] in strong or rem[h.idx] == amount]
                if len({h.idx for h in keep}) != 1 and name_best is not None and ev.name_unambiguous:
                    named = [h for h in tops if self.inv_cust[h.idx] == name_best[0]]
                    keep = named if len({h.idx for h in named}) == 1 else keep
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
        # A short number after "invoice"/"factura nº"/"fra." is invoice 31 when the payer is known (tax id, IBAN,
        # exact name or an unambiguous name) and no other open invoice of that payer reads as that number.
        payer = strong[0] if len(strong) == 1 else (name_best[0] if name_best is not None and ev.name_unambiguous
                                                    else -1)
        short = [i for i, q in grade.items() if q == SHORT_REF]
        for i in short:
            own = [k for k in short if self.inv_cust[k] == self.inv_cust[i]]
            if payer >= 0 and self.inv_cust[i] == payer and len(own) == 1:
                grade[i] = 0.97
                short_codes.add(i)
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
            # Several customers share a tax id, IBAN or name: prefer the one whose balances the amount fits,
            # then the one the name supports.
            fits = [c for c in strong if self._amount_fits(c, cur, amount, rem)]
            pick = fits if len(fits) == 1 else [c for c in strong if name_best is not None and c == name_best[0]]
            customer = pick[0] if pick else strong[0]
            cust_reason = reasons_c[customer]
            codes = list(strong_codes)
        elif name_best is not None and name_best[1] >= 80:
            customer = name_best[0]
            score = name_best[1]
            unambiguous = ev.name_unambiguous
            if not self._amount_fits(customer, cur, amount, rem):
                # Similar names (word order, a misspelling, a shorter name): the one whose balances fit wins.
                near_names = [(c, sc) for c, sc, _ in ev.names[1:10] if sc >= max(80.0, score - 10)]
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
            codes.append("tax_id" if customer in ev.tax else "iban" if customer in ev.iban
                         else ev.exact_how.get(customer, "exact_name"))
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
            reasons.append(self._fee_reason(cur, total - amount, amount))
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
        base = 0.95 if {"tax_id", "iban", "customer_id", "exact_name"} & set(codes) else (0.9 if unambiguous else 0.7)
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
                           reasons + [self._fee_reason(cur, rem[i] - amount, amount)], False,
                           tuple(codes + ["fee"]))
        run = 0
        for n, i in enumerate(cand, 1):
            run += rem[i]
            if n >= 2 and 0 < run - amount <= self.fee_tolerance(cur, run):
                return _Choice(cand[:n], customer, base * 0.65,
                               reasons + [_t(loc, "prefix", n=n), self._fee_reason(cur, run - amount, amount)],
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
                               reasons + [_t(loc, "subset", n=len(chosen)), self._fee_reason(cur, fee, amount)],
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
