"""Customer evidence: tax id, IBAN and name, found through inverted indexes built once.

``CustomerScan`` is a part of ``MatchIndex``.
"""

from __future__ import annotations

from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from ..bank.base import StatementLine
from .evidence import _Evidence
from .text import (
    _IBAN_RE,
    _NAME_CANDIDATES,
    _NAME_POSTING_CAP,
    _NAME_STRONG,
    _NONALNUM,
    _TOKEN_SPLIT,
    _name_words,
    _norm,
    compact_name,
    normalize_iban,
)


class CustomerScan:
    """The customer half of ``MatchIndex``: who paid, by tax id, IBAN or (distinctive) name."""

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
        # A counterparty that is a customer's id or exactly its name (compact = spaced: "J.Janssen") is that customer.
        if line.counterparty_name.strip():
            cp = line.counterparty_name.strip()
            for c in self.id_key.get(_NONALNUM.sub("", _norm(cp)), ()):
                if c not in ev.exact:
                    ev.exact.append(c)
                    ev.exact_how[c] = "customer_id"
            for c in self.exact_name.get(compact_name(cp), ()):
                if c not in ev.exact:
                    ev.exact.append(c)
                    ev.exact_how[c] = "exact_name"
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
            qset = set(q)
            for _, score, k in process.extract(qs, choices, scorer=fuzz.token_set_ratio, limit=10, score_cutoff=70):
                c = pool[k]
                score = self._distinctive(qset, c, float(score))
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

    def _distinctive(self, qwords: set[str], c: int, score: float) -> float:
        """``score`` capped below a match when the line shares only one word of a longer name and other
        customers' names have that word too: a name match needs the distinctive part of the name."""
        words = self.name_words[c]
        if score < 80 or len(words) < 2:
            return score
        shared = [w for w in words if w in qwords
                  or any(abs(len(x) - len(w)) <= 2 and (fuzz.ratio(w, x) >= 80
                                                        or (len(w) >= 4 and OSA.distance(w, x) <= 1))
                         for x in qwords)]
        if len(shared) >= 2 or (len(shared) == 1 and len(self.word_index.get(shared[0], ())) <= 1):
            return score
        return min(score, 75.0)

    def name_score(self, ev: _Evidence, customer: int) -> float:
        """How well the line's payer name / text fits ``customer``'s name (0-100)."""
        if customer < 0 or not ev.queries or not self.name_norm[customer]:
            return 0.0
        return max(self._distinctive(set(q.split()), customer, float(fuzz.token_set_ratio(q, self.name_norm[customer])))
                   for q in ev.queries)
