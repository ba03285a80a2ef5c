"""Exact joins and group sums of text keys: the one join of payments to invoices that the parse and every report
use (``key_codes``), remembered per pair of id columns so it is computed once per ledger.

Speed matters here (aging and KPIs of a million invoices in under a second), so the join works on fixed-width
integer keys instead of Python strings when the ids are short ASCII text (the usual case), and falls back on an
exact object join otherwise. Results are identical either way. This module knows nothing of ledgers (``cobro.ledger``
and ``cobro.balances`` both build on it).
"""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd

# ----------------------------------------------------------------------------------- fast keys

_C1 = np.uint64(0xBF58476D1CE4E5B9)
_C2 = np.uint64(0x94D049BB133111EB)
_S1, _S2, _S3 = np.uint64(30), np.uint64(27), np.uint64(31)


def _objects(values: pd.Series | np.ndarray) -> np.ndarray:
    if isinstance(values, pd.Series):
        return values.to_numpy(dtype=object)
    return np.asarray(values, dtype=object)


# Below this many objects, reading them in array order is as fast as any other.
MEMORY_ORDER_MIN_ROWS = 65536


def _pointer_words(a: np.ndarray) -> np.ndarray:
    """The object pointers held by an object array, as uint64 whatever the platform's pointer size (4 bytes on
    WebAssembly, 8 elsewhere): ``uintp`` is exactly one pointer."""
    return np.frombuffer(memoryview(np.ascontiguousarray(a, dtype=object)).cast("B"), dtype=np.uintp
                         ).astype(np.uint64)


def _memory_order(a: np.ndarray) -> np.ndarray | None:
    """A permutation that visits the objects of ``a`` in memory order, or None if they nearly are.

    Reading a million strings scattered in memory (ids shared with another table, in another order)
    costs several times more than reading them in address order; the addresses come from the array's
    own buffer of object pointers, without touching the objects. Only the visiting order depends on
    them, never a result.
    """
    n = len(a)
    if n < MEMORY_ORDER_MIN_ROWS:
        return None
    ptr = _pointer_words(a)
    if np.count_nonzero(ptr[1:] < ptr[:-1]) < n // 16:
        return None
    bits = n.bit_length()
    packed = ((ptr >> np.uint64(4)) << np.uint64(bits)) | np.arange(n, dtype=np.uint64)
    return (np.sort(packed) & np.uint64((1 << bits) - 1)).astype(np.intp)


def _as_bytes(a: np.ndarray, width: int) -> np.ndarray:
    order = _memory_order(a)
    if order is None:
        return a.astype(f"S{width}")
    out = np.empty(len(a), dtype=f"S{width}")
    out[order] = a[order].astype(f"S{width}")
    return out


def _words(*arrays: np.ndarray) -> list[list[np.ndarray]] | None:
    """The strings of each array as columns of uint64 words (one common width), or None.

    Equal words <=> equal strings for ASCII text of up to 31 characters (a cell cannot hold the
    NUL character, the only one fixed-width bytes would lose). Anything else returns None and
    the caller uses an exact object join.
    """
    for width in (16, 32):
        out: list[np.ndarray] = []
        for a in arrays:
            try:
                b = _as_bytes(a, width)
            except (UnicodeEncodeError, TypeError, ValueError):
                return None
            if len(b) and b.view(np.uint8).reshape(len(b), width)[:, -1].any():
                break  # a string may have been cut at ``width``: try wider
            # Fixed-width bytes are not 8-byte aligned: copy each word column into its own array.
            w = b.view(np.uint64).reshape(len(b), width // 8)
            out.append([w[:, j].copy() for j in range(width // 8)])
        else:
            if width == 16 and not any(w[1].any() for w in out):
                return [w[:1] for w in out]  # every string fits one word
            return out
    return None


def _hash_words(words: list[np.ndarray]) -> np.ndarray:
    """A well-mixed 64-bit hash per row of words (splitmix64's finalizer after each word)."""
    h = np.zeros(len(words[0]), dtype=np.uint64)
    for w in words:
        h ^= w
        h ^= h >> _S1
        h *= _C1
        h ^= h >> _S2
        h *= _C2
        h ^= h >> _S3
    return h


def _sorted_join(hk: np.ndarray, hq: np.ndarray, wk: list[np.ndarray], wq: list[np.ndarray]) -> np.ndarray | None:
    """Row of ``hk`` for each value of ``hq`` (-1 when absent) by sorting, exact, or None.

    The row number is packed into the low bits of each 64-bit key so a plain (SIMD) value sort
    gives both order and rows; the high bits keep the key. Candidates found by their high bits are
    confirmed on the full words, so the result is exact. None (the caller falls back) when two keys
    share their high bits, which is rare for hashed keys and certain for duplicate ids.
    """
    n, m = len(hk), len(hq)
    bits = max(n, m, 1).bit_length()
    if bits > 40:
        return None
    low = np.uint64((1 << bits) - 1)
    high = ~low
    sk = np.sort((hk & high) | np.arange(n, dtype=np.uint64))
    ktop, krow = sk & high, (sk & low).astype(np.intp)
    if n > 1 and bool((ktop[1:] == ktop[:-1]).any()):
        return None
    sq = np.sort((hq & high) | np.arange(m, dtype=np.uint64))
    qtop, qrow = sq & high, (sq & low).astype(np.intp)
    cand = np.searchsorted(ktop, qtop)
    cand[cand == n] = 0
    hit = (ktop[cand] == qtop) if n else np.zeros(m, dtype=bool)
    rows, qrows = krow[cand[hit]], qrow[hit]
    same = np.ones(len(rows), dtype=bool)
    for a, b in zip(wk, wq, strict=True):
        same &= a[rows] == b[qrows]
    out = np.full(m, -1, dtype=np.intp)
    out[qrows[same]] = rows[same]
    return out


# The payment→invoice join of a large ledger is remembered, so aging, KPIs and the worklist of one
# ledger share it. An entry is found again only when both id arrays hold exactly the same string
# objects in the same order (compared by address), and the entry keeps those objects alive, so the
# same addresses mean the same immutable strings and the same result. Editing any id in a frame puts
# a new object there, hence a new join. Pure memoization: results never depend on it. From 10,000
# rows (invoices + payments): the Excel cell functions ask for four reports of each workbook state,
# and at that size the join was 13 ms of a recalculation's ~100 ms of reports.
MEMO_MIN_ROWS = 10_000
_MEMO_SIZE = 2
_memo: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray]]] = []
_memo_lock = threading.Lock()


def _pointers(a: np.ndarray) -> np.ndarray:
    if not len(a):
        return np.zeros(0, dtype=np.uint64)
    return _pointer_words(a)


def clear_cache() -> None:
    """Forget the remembered joins (benchmarks measuring a cold start; tests)."""
    with _memo_lock:
        _memo.clear()


def _hashed_join(hk: np.ndarray, hq: np.ndarray, wk: list[np.ndarray], wq: list[np.ndarray]) -> np.ndarray | None:
    """As ``_sorted_join`` through a hash table of the keys: faster when they are few and the queries many."""
    idx = pd.Index(hk)
    if not idx.is_unique:
        return None
    pos = idx.get_indexer(hq).astype(np.intp)
    hit = np.flatnonzero(pos >= 0)
    same = np.ones(len(hit), dtype=bool)
    for a, b in zip(wk, wq, strict=True):
        same &= a[pos[hit]] == b[hit]
    pos[hit[~same]] = -1
    return pos


def key_codes(keys: pd.Series | np.ndarray, queries: pd.Series | np.ndarray, remember: bool = False
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact codes for a join of ``queries`` onto ``keys`` (read-only arrays, possibly shared).

    Returns ``(key_code, query_code, first_row)``: a code per key row (equal ids share a code),
    the code of each query (-1 when the id is not among the keys) and, per code, the first key row
    holding it. With unique keys the code is simply the row position.
    """
    k, q = _objects(keys), _objects(queries)
    if not remember or len(k) + len(q) < MEMO_MIN_ROWS:
        return _compute_key_codes(k, q)
    pk, pq = _pointers(k), _pointers(q)
    # computed under the lock: the reports of one ledger asked at the same time (the service's threads) wait for
    # the first one's join instead of each computing it
    with _memo_lock:
        for _, _, mk, mq, result in _memo:
            if len(mk) == len(pk) and len(mq) == len(pq) and np.array_equal(mk, pk) and np.array_equal(mq, pq):
                return result
        result = _compute_key_codes(k, q)
        for arr in result:
            arr.flags.writeable = False
        _memo.insert(0, (np.array(k, dtype=object), np.array(q, dtype=object), pk, pq, result))
        del _memo[_MEMO_SIZE:]
    return result


def _compute_key_codes(k: np.ndarray, q: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = len(k)
    rows = np.arange(n, dtype=np.intp)
    words = _words(k, q) if n and len(q) else None
    if words is not None:
        wk, wq = words
        hk, hq = _hash_words(wk), _hash_words(wq)
        pos = _hashed_join(hk, hq, wk, wq) if 8 * n < len(q) else _sorted_join(hk, hq, wk, wq)
        if pos is not None:
            return rows, pos, rows
    idx = pd.Index(k)
    if idx.is_unique:
        return rows, idx.get_indexer(q).astype(np.intp), rows
    codes, uniques = pd.factorize(k)
    codes = codes.astype(np.intp, copy=False)
    first = np.full(len(uniques), n, dtype=np.intp)
    np.minimum.at(first, codes, rows)
    qcodes = pd.Index(uniques).get_indexer(q).astype(np.intp)
    return codes, qcodes, first


def match_rows(keys: pd.Series | np.ndarray, queries: pd.Series | np.ndarray) -> np.ndarray:
    """Row position in ``keys`` of each value of ``queries`` (its first row; -1 when absent). Exact."""
    _, qcodes, first = key_codes(keys, queries)
    out = np.full(len(qcodes), -1, dtype=np.intp)
    hit = qcodes >= 0
    out[hit] = first[qcodes[hit]]
    return out


def string_codes(values: pd.Series | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(codes, uniques)`` of a text column, uniques sorted (for grouping: customers, currencies)."""
    codes, uniques = pd.factorize(_objects(values))
    uniques = np.asarray(uniques, dtype=object)
    order = np.argsort(uniques.astype(str), kind="stable")
    remap = np.empty(len(order), dtype=np.intp)
    remap[order] = np.arange(len(order), dtype=np.intp)
    return remap[codes], uniques[order]


_EXACT = float(2**53)


def group_sum(codes: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    """Exact int64 sums of ``values`` per code (``0 <= code < size``).

    ``np.bincount`` adds in float64, which is exact while every partial sum stays below 2**53 in
    magnitude (guaranteed when max |value| × count does); otherwise integer ``np.add.at``.
    """
    values = values.astype(np.int64, copy=False)
    codes = np.asarray(codes).astype(np.intp, copy=False)  # numpy's index type (32-bit on WebAssembly)
    if not len(values):
        return np.zeros(size, dtype=np.int64)
    if float(np.abs(values).max()) * len(values) < _EXACT:
        return np.bincount(codes, weights=values, minlength=size).astype(np.int64)
    out = np.zeros(size, dtype=np.int64)
    np.add.at(out, codes, values)
    return out
