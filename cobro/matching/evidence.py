"""What one line says, before any decision: reference hits, customer evidence, and a decision's shape."""

from __future__ import annotations

from dataclasses import dataclass, field

from .results import Alternative


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
    exact: list[int] = field(default_factory=list)  # counterparty = customer id or exact (compact) name
    exact_how: dict[int, str] = field(default_factory=dict)  # customer pos -> "customer_id" / "exact_name"
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


def dataclass_replace(h: _Hit, **kw: float) -> _Hit:
    return _Hit(h.idx, kw.get("quality", h.quality), h.loc, h.source)
