"""Worklist fast paths that must give the same answers: the level each invoice reached by the Contacts log,
joined by invoice row (remembered per ledger, for the service's other as-of dates) or by id; amounts written
without Decimal."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pandas as pd
import pytest

from cobro import joins
from cobro.demo.generate import generate_ledger
from cobro.worklist import _ladder, _levels_from_contacts, worklist

AS_OF = dt.date(2026, 11, 20)
DATES = [AS_OF, AS_OF - dt.timedelta(days=45), AS_OF + dt.timedelta(days=20)]


@pytest.fixture(scope="module")
def demo():
    return generate_ledger(customers=60, invoices=1500, seed=7, locale="es", as_of=AS_OF)


def _ranks(led, day: dt.date, rows: np.ndarray | None) -> np.ndarray:
    rank_of = {lv[0]: i for i, lv in enumerate(_ladder(led))}
    ids = led.invoices["invoice_id"].to_numpy(dtype=object)
    pick = np.arange(len(ids)) if rows is None else rows
    return _levels_from_contacts(led, pd.Timestamp(day), rank_of, ids[pick], None if rows is None else rows)


@pytest.mark.parametrize("day", DATES)
def test_by_invoice_row_equals_by_id(demo, day):
    rows = np.random.default_rng(5).permutation(len(demo.invoices))[:700]  # a shuffled subset, as the chase rows
    by_row = _ranks(demo, day, rows)
    by_id = _ranks(demo, day, None)[rows]
    assert (by_row >= 0).any() and (by_row == -1).any()
    assert by_row.tolist() == by_id.tolist()


def test_duplicate_invoice_ids_fall_back_to_the_id_join(demo):
    inv = demo.invoices
    led = demo.replace(invoices=pd.concat([inv, inv.iloc[:3]], ignore_index=True))  # invalid input, but no crash
    rows = np.arange(len(led.invoices))
    assert _ranks(led, AS_OF, rows).tolist() == _ranks(led, AS_OF, None).tolist()


def test_worklist_same_with_the_remembered_join(demo, monkeypatch):
    plain = [[dataclasses.asdict(r) for r in worklist(demo, d).rows] for d in DATES]
    monkeypatch.setattr(joins, "MEMO_MIN_ROWS", 0)  # remember even a small ledger's joins
    joins.clear_cache()
    for _ in range(2):  # computed, then answered from what was remembered
        assert [[dataclasses.asdict(r) for r in worklist(demo, d).rows] for d in DATES] == plain
    joins.clear_cache()


def test_decimal_text_matches_money_format_decimal():
    from cobro import money
    from cobro.worklist import _decimal_text

    values = [0, 1, -1, 9, -10, 999, -1000, 123456789, 10**15] + np.random.default_rng(4).integers(
        -10**12, 10**12, 200).tolist()
    for cur in ("EUR", "CLP", "KWD", "CLF", "USD"):
        assert [_decimal_text(v, cur) for v in values] == [money.format_decimal(v, cur) for v in values]
