"""Amount arithmetic of matching: the bank-fee percentage setting and the bounded exact-subset search."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation

from ..ledger import Ledger


def _fee_pct(ledger: Ledger) -> Decimal:
    raw = str(ledger.settings.extra.get("bank_fee_pct", "") or "").strip().replace(",", ".").rstrip("%")
    try:
        pct = Decimal(raw) if raw else Decimal(0)
    except InvalidOperation:
        pct = Decimal(0)
    return pct if pct > 0 else Decimal(0)


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
