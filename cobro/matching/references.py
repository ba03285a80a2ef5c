"""Reference evidence: invoice numbers and references indexed once, found in a line's text by digit n-grams.

See the package docstring (Evidence, 1. Reference) for the grades. ``ReferenceScan`` is a part of ``MatchIndex``.
"""

from __future__ import annotations

from .evidence import _Hit
from .text import (
    _CONNECTORS,
    _DIGITS_RE,
    _GROUP_RE,
    _LEADZ_RE,
    _NONALNUM,
    _SEP_OK,
    _SERIES_RE,
    _TIGHT,
    _TOKEN_SPLIT,
    GENERIC_PREFIXES,
    _norm,
    _strip_zeros,
)


class ReferenceScan:
    """The reference half of ``MatchIndex``: builds ``compact``/``digits``/``inv_forms``, reads them back."""

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


def _looks_like_date(groups: list[str]) -> bool:
    a, b, c = (int(x) for x in groups)
    if len(groups[0]) == 4 or a > 1900:
        return 1 <= b <= 12 and 1 <= c <= 31
    return (1 <= a <= 31 and 1 <= b <= 12) or (1 <= a <= 12 and 1 <= b <= 31)


#: The grade of a short number after a generic prefix ("fra. 31"); promoted by the decision when the payer is known.
SHORT_REF = 0.85


def _grade(prefix: str, series: str, whole: bool, ngroups: int, ndigits: int) -> float:
    """How much a digit-key hit is worth (see the module docstring)."""
    distinctive = ngroups >= 2 or ndigits >= 5
    if prefix and series and prefix == series:
        q = 1.0
    elif prefix in GENERIC_PREFIXES and (ndigits >= 3 or ngroups >= 2):
        q = 0.97
    elif prefix in GENERIC_PREFIXES:
        # "invoice 31", "factura nº 31", "fra. 31": a short number, read as invoice 31 only when the payer is
        # known and has no other open invoice it could mean (``Decider._decide``).
        return SHORT_REF if whole else 0.0
    elif prefix and len(prefix) <= 3 and series and prefix not in _CONNECTORS:
        q = 0.75  # another series letter
    elif distinctive:
        q = 0.93
    else:
        return 0.0
    if not whole:
        return min(q, 0.8) if distinctive else 0.0
    return q
