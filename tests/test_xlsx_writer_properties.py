"""Property: random sequences of appends and updates give the same cells in place as through openpyxl.

The reference is the former whole-workbook path (``sync.xlsx_store.commit_with_openpyxl``). Both results are read
with openpyxl; every cell of the edited sheets must agree in value (formulas as their text) and number format, and
every table in range.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from pathlib import Path

import openpyxl
import pandas as pd
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from openpyxl.styles.numbers import is_date_format

from sync.store import Changes
from sync.xlsx_store import XlsxStore, commit_with_openpyxl
from tests.conftest import write_user_workbook

_BASE: dict[str, Path] = {}


def base_workbook() -> Path:
    if "path" not in _BASE:
        folder = Path(tempfile.mkdtemp(prefix="cobro-prop-"))
        _BASE["path"] = write_user_workbook(folder / "base.xlsx")
    return _BASE["path"]


# Text as people and banks write it: accents, XML specials, formula-looking text, spaces. (No control characters:
# openpyxl refuses them; no literal "_xHHHH_": openpyxl stores it unescaped, which Excel would decode.)
text = st.text(alphabet=st.sampled_from(list("abcXYZ ñéü€&<>\"'=+-@;,.0123456789 \t")), min_size=0, max_size=12)
minor = st.integers(min_value=-10**9, max_value=10**11)
day = st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2040, 12, 31))
moment = st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2040, 12, 31)).map(
    lambda d: d.replace(microsecond=0))


def payments(n: int) -> st.SearchStrategy[pd.DataFrame]:
    row = st.fixed_dictionaries({
        "date": day.map(pd.Timestamp), "customer_id": st.sampled_from(["C1", "C2"]),
        "invoice_id": st.sampled_from(["F-1", "F-2", "F-3", ""]), "amount": minor,
        "currency": st.sampled_from(["EUR", "USD", "CLP"]), "reference": text,
        "source": st.sampled_from(["statement", "import", "manual"])})
    return st.lists(row, min_size=1, max_size=n).map(pd.DataFrame)


def contacts(n: int) -> st.SearchStrategy[pd.DataFrame]:
    row = st.fixed_dictionaries({
        "timestamp": moment.map(pd.Timestamp), "customer_id": st.sampled_from(["C1", "C2"]),
        "invoice_ids": st.lists(st.sampled_from(["F-1", "F-2"]), max_size=2).map(tuple),
        "channel": st.sampled_from(["email", "phone"]), "outcome": st.sampled_from(["sent", "no_answer"]),
        "notes": text, "promise_amount": st.one_of(st.none(), minor), "currency": st.just("EUR")})
    return st.lists(row, min_size=1, max_size=n).map(pd.DataFrame)


def invoice_updates() -> st.SearchStrategy[pd.DataFrame]:
    row = st.fixed_dictionaries({
        "_row": st.sampled_from([2, 3, 4]), "paid": minor, "balance": minor,
        "days_overdue": st.integers(-400, 4000), "reminder_level": text,
        "last_contact": st.one_of(st.none(), day.map(pd.Timestamp)), "currency": st.sampled_from(["EUR", "USD"])})
    return st.lists(row, min_size=1, max_size=3, unique_by=lambda r: r["_row"]).map(pd.DataFrame)


def customer_updates() -> st.SearchStrategy[pd.DataFrame]:
    row = st.fixed_dictionaries({"_row": st.sampled_from([2, 3]), "notes": text,
                                 "collector": st.one_of(st.none(), text)})
    return st.lists(row, min_size=1, max_size=2, unique_by=lambda r: r["_row"]).map(pd.DataFrame)


step = st.one_of(
    payments(3).map(lambda f: Changes(append={"Payments": f})),
    contacts(3).map(lambda f: Changes(append={"Contacts": f})),
    invoice_updates().map(lambda f: Changes(update={"Invoices": f})),
    customer_updates().map(lambda f: Changes(update={"Customers": f})),
    st.tuples(contacts(2), invoice_updates()).map(
        lambda t: Changes(append={"Contacts": t[0]}, update={"Invoices": t[1]})),
)

SHEETS = ("Clientes", "Facturas", "Pagos", "Gestiones")


def _norm(v: object) -> object:
    if isinstance(v, dt.datetime):
        return v.replace(microsecond=0)
    if isinstance(v, dt.date):
        return dt.datetime(v.year, v.month, v.day)
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return round(float(v), 9)
    if v == "":
        return None
    return v


def cells(path: Path) -> dict[str, object]:
    wb = openpyxl.load_workbook(path)
    out: dict[str, object] = {}
    for title in SHEETS:
        ws = wb[title]
        grid = {}
        for row in ws.iter_rows():
            for c in row:
                v = _norm(c.value)
                if v is not None:
                    # A date takes the workbook's own date format where openpyxl would add an ISO one: both are dates.
                    fmt = ("date" if is_date_format(c.number_format) else c.number_format) \
                        if isinstance(v, (float, dt.datetime)) else None
                    grid[c.coordinate] = (v, fmt)
        out[title] = grid
        out[title + " tables"] = sorted((t.name, t.ref) for t in ws.tables.values())
    return out


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow],
          phases=[Phase.explicit, Phase.reuse, Phase.generate])  # each example writes two workbooks: no shrinking
@given(steps=st.lists(step, min_size=1, max_size=4))
def test_in_place_equals_openpyxl(steps: list[Changes]) -> None:
    folder = Path(tempfile.mkdtemp(prefix="cobro-prop-run-"))
    try:
        mine = folder / "mine.xlsx"
        ref = folder / "ref.xlsx"
        shutil.copy(base_workbook(), mine)
        shutil.copy(base_workbook(), ref)
        store = XlsxStore(mine)
        for changes in steps:
            store.load_raw()  # random values need not pass validation: read, do not validate
            store.commit(changes)
            commit_with_openpyxl(ref, changes, "es")
        got, want = cells(mine), cells(ref)
        for key in want:
            assert got[key] == want[key], key
    finally:
        shutil.rmtree(folder, ignore_errors=True)
