"""The core works where numpy's index type is 32-bit (Pyodide / WebAssembly, xlwings Lite), proven without WebAssembly.

On wasm32 ``np.intp`` is ``int32``, and numpy's index-taking functions cast their index arguments to it with the
*safe* rule: ``np.bincount(int64_codes)`` raises "Cannot cast array data from dtype('int64') to dtype('int32')",
as does ``np.repeat`` with int64 counts. On a 64-bit machine ``intp`` *is* int64, so nothing ever fails here.

This test simulates the 32-bit platform inside the core: each core module's ``np`` is replaced by ``Wasm32Numpy``,
a stand-in for numpy where

- ``np.intp`` (and ``np.int_``) is ``int32``, and so is every index array numpy itself hands out (argsort, lexsort,
  flatnonzero, nonzero, searchsorted, argmax/argmin along an axis, arange without a dtype), as on wasm32;
- the index-taking functions (``bincount``, ``repeat``, ``take``, ``put``, ``ufunc.at`` of add/maximum/minimum,
  ``searchsorted``'s ``sorter``) refuse any integer index array whose dtype is not that ``intp`` — an ``int64``
  array (written ``dtype=np.int64`` in the code, or made by pandas, whose codes are int64 here) is refused with
  the error wasm32 would give.

Then aging, KPIs, the worklist, the balances (with their large-ledger paths forced on), the derived columns and the
reminder plan run on a generated ledger, and must give exactly the results they give with the real numpy.
"""

from __future__ import annotations

import datetime as dt
import importlib
import types
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from cobro.demo.generate import DEFAULT_AS_OF, generate_ledger

SIM_INTP = np.dtype(np.int32)

# The core modules whose numpy use must be portable (every module of cobro/ that computes with arrays).
CORE_MODULES = ("cobro.joins", "cobro.balances", "cobro.ledger", "cobro.aging", "cobro.kpis", "cobro.worklist",
                "cobro.reminders", "cobro.derive")


class Wasm32Refusal(TypeError):
    """What numpy raises on wasm32 when an index array cannot be cast safely to intp."""


def _check_index(what: str, value: Any) -> None:
    if isinstance(value, np.ndarray) and value.dtype.kind in "iu" and value.dtype != SIM_INTP:
        raise Wasm32Refusal(f"{what}: Cannot cast array data from dtype('{value.dtype}') to dtype('int32') according "
                            "to the rule 'safe' (an index array must be np.intp)")
    if isinstance(value, np.integer) and value.dtype.itemsize > SIM_INTP.itemsize and what.startswith("repeat"):
        raise Wasm32Refusal(f"{what}: an int64 scalar count (must be a Python int or np.intp)")


def _as_sim(result: Any) -> Any:
    """An index result as the 32-bit platform would return it (int32)."""
    if isinstance(result, tuple):
        return tuple(_as_sim(r) for r in result)
    if isinstance(result, np.ndarray) and result.dtype == np.intp:
        return result.astype(SIM_INTP)
    if isinstance(result, np.integer) and result.dtype == np.intp:
        return SIM_INTP.type(result)
    return result


class _StrictUfunc:
    """A ufunc whose ``.at`` refuses non-intp indices; everything else is the real ufunc."""

    def __init__(self, ufunc: np.ufunc) -> None:
        self._ufunc = ufunc

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._ufunc(*args, **kwargs)

    def at(self, a: np.ndarray, indices: Any, *rest: Any) -> None:
        _check_index(f"{self._ufunc.__name__}.at", indices)
        self._ufunc.at(a, indices, *rest)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ufunc, name)


class Wasm32Numpy(types.ModuleType):
    """numpy as it behaves where ``intp`` is 32-bit (see the module docstring). Counts its checked calls."""

    def __init__(self) -> None:
        super().__init__("numpy")
        self.calls: dict[str, int] = {}
        self.intp = SIM_INTP.type
        self.int_ = SIM_INTP.type
        self.add = _StrictUfunc(np.add)
        self.maximum = _StrictUfunc(np.maximum)
        self.minimum = _StrictUfunc(np.minimum)

    def __getattr__(self, name: str) -> Any:
        return getattr(np, name)

    def _count(self, name: str) -> None:
        self.calls[name] = self.calls.get(name, 0) + 1

    # index-taking
    def bincount(self, x: Any, weights: Any = None, minlength: int = 0) -> np.ndarray:
        self._count("bincount")
        _check_index("bincount", x)
        return np.bincount(x, weights=weights, minlength=minlength)

    def repeat(self, a: Any, repeats: Any, axis: int | None = None) -> np.ndarray:
        self._count("repeat")
        _check_index("repeat counts", repeats)
        return np.repeat(a, repeats, axis=axis)

    def take(self, a: Any, indices: Any, *args: Any, **kwargs: Any) -> Any:
        self._count("take")
        _check_index("take", indices)
        return np.take(a, indices, *args, **kwargs)

    def put(self, a: Any, ind: Any, v: Any, mode: str = "raise") -> None:
        self._count("put")
        _check_index("put", ind)
        np.put(a, ind, v, mode=mode)

    def searchsorted(self, a: Any, v: Any, side: str = "left", sorter: Any = None) -> Any:
        self._count("searchsorted")
        if sorter is not None:
            _check_index("searchsorted sorter", sorter)
        return _as_sim(np.searchsorted(a, v, side=side, sorter=sorter))

    # index-giving: what numpy returns on wasm32
    def argsort(self, *args: Any, **kwargs: Any) -> Any:
        return _as_sim(np.argsort(*args, **kwargs))

    def lexsort(self, *args: Any, **kwargs: Any) -> Any:
        return _as_sim(np.lexsort(*args, **kwargs))

    def flatnonzero(self, a: Any) -> Any:
        return _as_sim(np.flatnonzero(a))

    def nonzero(self, a: Any) -> Any:
        return _as_sim(np.nonzero(a))

    def argmax(self, *args: Any, **kwargs: Any) -> Any:
        return _as_sim(np.argmax(*args, **kwargs))

    def argmin(self, *args: Any, **kwargs: Any) -> Any:
        return _as_sim(np.argmin(*args, **kwargs))

    def arange(self, *args: Any, **kwargs: Any) -> Any:
        out = np.arange(*args, **kwargs)
        return _as_sim(out) if "dtype" not in kwargs else out

    def where(self, *args: Any, **kwargs: Any) -> Any:
        return _as_sim(np.where(*args, **kwargs)) if len(args) == 1 else np.where(*args, **kwargs)


@pytest.fixture
def wasm32(monkeypatch: pytest.MonkeyPatch) -> Iterator[Wasm32Numpy]:
    """Every core module computes with ``Wasm32Numpy`` for the duration of the test."""
    sim = Wasm32Numpy()
    for name in CORE_MODULES:
        mod = importlib.import_module(name)
        if getattr(mod, "np", None) is np:
            monkeypatch.setattr(mod, "np", sim)
    yield sim


# ----------------------------------------------------------------------------------- the checker itself


def test_the_simulation_refuses_what_wasm32_refuses(wasm32: Wasm32Numpy):
    codes64 = np.array([0, 1, 1], dtype=np.int64)
    with pytest.raises(Wasm32Refusal):
        wasm32.bincount(codes64)
    with pytest.raises(Wasm32Refusal):
        wasm32.repeat(np.array([1, 2]), np.array([1, 2], dtype=np.int64))
    with pytest.raises(Wasm32Refusal):
        wasm32.add.at(np.zeros(2, dtype=np.int64), codes64[:2], 1)
    with pytest.raises(Wasm32Refusal):
        wasm32.take(np.arange(3), codes64)
    # What the code does instead: index arrays as np.intp (int32 here, as on wasm32).
    assert wasm32.bincount(codes64.astype(wasm32.intp)).tolist() == [1, 2]
    assert wasm32.argsort(np.array([3, 1])).dtype == SIM_INTP
    assert wasm32.arange(3).dtype == SIM_INTP
    assert wasm32.arange(3, dtype=np.int64).dtype == np.int64
    x = np.zeros(3, dtype=np.int64)
    wasm32.maximum.at(x, wasm32.flatnonzero([1, 0, 1]), 5)
    assert x.tolist() == [5, 0, 5]


# ----------------------------------------------------------------------------------- the core under it


def _results(ledger: Any, as_of: dt.date) -> dict[str, Any]:
    from cobro import balances, joins
    from cobro.aging import aging
    from cobro.derive import derived_invoice_columns
    from cobro.kpis import kpis
    from cobro.reminders import next_steps, plan_reminders
    from cobro.worklist import worklist

    joins.clear_cache()
    b = balances.invoice_balances(ledger, as_of)
    paid, rows = balances.paid_arrays(ledger, as_of)
    plan = plan_reminders(ledger, as_of)
    return {
        "balances": b[["invoice_id", "paid", "balance", "days_overdue"]].astype(str).to_numpy().tolist(),
        "paid_rows": (paid.tolist(), rows.tolist()),
        "match_rows": joins.match_rows(ledger.invoices["invoice_id"], ledger.payments["invoice_id"]).tolist(),
        "string_codes": [x.tolist() for x in joins.string_codes(ledger.invoices["customer_id"])],
        "aging": aging(ledger, as_of).to_json(),
        "aging_items": aging(ledger, as_of, by="invoice").to_json(),
        "aging_issue": aging(ledger, as_of, basis="issue_date").to_json(),
        "kpis": kpis(ledger, as_of, months=3).to_json(),
        "kpis_1": kpis(ledger, as_of, months=1).to_json(),
        "worklist": worklist(ledger, as_of).to_json(),
        "derived": derived_invoice_columns(ledger, as_of).astype(str).to_numpy().tolist(),
        "plan": plan.to_json(),
        "next_steps": [n.to_json() for n in next_steps(ledger, as_of, include_today=True)],
    }


@pytest.fixture(scope="module")
def ledger() -> Any:
    return generate_ledger(customers=80, invoices=3000, seed=11)


def _large_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    """Force the balances' large-ledger code (memory-order visiting, memoized joins) on a small ledger."""
    from cobro import joins

    monkeypatch.setattr(joins, "MEMORY_ORDER_MIN_ROWS", 16)
    monkeypatch.setattr(joins, "MEMO_MIN_ROWS", 16)


@pytest.mark.parametrize("large", [False, True], ids=["small-paths", "large-paths"])
def test_core_runs_with_a_32bit_intp(ledger: Any, monkeypatch: pytest.MonkeyPatch, large: bool,
                                     request: pytest.FixtureRequest):
    as_of = DEFAULT_AS_OF
    if large:
        _large_paths(monkeypatch)
    expected = _results(ledger, as_of)
    sim: Wasm32Numpy = request.getfixturevalue("wasm32")
    got = _results(ledger, as_of)
    assert got == expected
    assert sim.calls.get("bincount", 0) > 0  # the simulation was really in the way
    assert sim.calls.get("repeat", 0) > 0


def test_hashed_join_with_a_32bit_intp(wasm32: Wasm32Numpy):
    """Few keys, many queries: the join through a hash table (``_hashed_join``)."""
    from cobro import joins

    keys = np.array([f"F-{i:04d}" for i in range(50)], dtype=object)
    queries = np.array([f"F-{i % 60:04d}" for i in range(1000)], dtype=object)
    got = joins.match_rows(keys, queries)
    want = [i % 60 if i % 60 < 50 else -1 for i in range(1000)]
    assert got.tolist() == want


def test_group_sum_exact_path_with_a_32bit_intp(wasm32: Wasm32Numpy):
    """Sums too large for float64's exact range go through ``np.add.at`` (integer, exact)."""
    from cobro.joins import group_sum

    codes = wasm32.arange(4) % 2
    values = np.array([2**60, 3, 2**60, 5], dtype=np.int64)
    assert group_sum(codes, values, 2).tolist() == [2**60 + 2**60, 8]
