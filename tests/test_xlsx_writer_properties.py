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


def test_a_table_away_from_a1_gets_the_same_cells(tmp_path: Path) -> None:
    """A sheet whose header is not in row 1 (a title above, a blank column before): the header is found in the
    same row and columns as openpyxl finds it."""
    import xlsxwriter

    from cobro.schema import CONTACTS, CUSTOMERS, INVOICES, PAYMENTS

    path = tmp_path / "offset.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    for spec, rows in ((CUSTOMERS, [["C1", "Acme"] + [None] * (len(CUSTOMERS.columns) - 2)]),
                       (INVOICES, []), (PAYMENTS, []), (CONTACTS, [])):
        ws = wb.add_worksheet(spec.title("es"))
        ws.write(0, 0, f"Hoja de {spec.key}")
        headers = [c.header("es") for c in spec.columns]
        data = rows or [[None] * len(headers)]
        ws.add_table(2, 1, 2 + len(data), len(headers), {"name": spec.key, "columns": [{"header": h} for h in headers],
                                                          "data": data})
    wb.close()
    ref = tmp_path / "ref.xlsx"
    shutil.copy(path, ref)
    changes = Changes(append={"Contacts": pd.DataFrame({"timestamp": [pd.Timestamp("2026-11-20 10:00")],
                                                        "customer_id": ["C1"], "outcome": ["no_answer"]})},
                      update={"Customers": pd.DataFrame({"_row": [4], "notes": ["nota"]})})
    store = XlsxStore(path)
    store.load_raw()
    store.commit(changes)
    commit_with_openpyxl(ref, changes, "es")
    got, want = openpyxl.load_workbook(path), openpyxl.load_workbook(ref)
    for title in ("Clientes", "Gestiones"):
        g = {c.coordinate: _norm(c.value) for row in got[title].iter_rows() for c in row if c.value is not None}
        w = {c.coordinate: _norm(c.value) for row in want[title].iter_rows() for c in row if c.value is not None}
        assert g == w, title
        assert [t.ref for t in got[title].tables.values()] == [t.ref for t in want[title].tables.values()]


def test_rows_and_cells_without_their_numbers(tmp_path: Path) -> None:
    """Rows and cells may omit ``r`` (they are then numbered by position), or carry it after other attributes:
    the writer finds the same rows and cells as openpyxl."""
    import re
    import zipfile

    src = base_workbook()
    path = tmp_path / "norefs.xlsx"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == "xl/worksheets/sheet3.xml":  # Pagos: no numbers at all
                data = re.sub(rb'(<(?:row|c)\b[^>]*?) r="[A-Z]*\d+"', rb"\1", data)
            if info.filename == "xl/worksheets/sheet1.xml":  # Clientes: r after spans
                data = re.sub(rb'<row r="(\d+)" spans="([^"]*)"', rb'<row spans="\2" r="\1"', data)
            zout.writestr(info, data)
    ref = tmp_path / "ref.xlsx"
    shutil.copy(path, ref)
    changes = Changes(append={"Payments": pd.DataFrame({"date": [pd.Timestamp("2026-11-20")], "customer_id": ["C2"],
                                                        "amount": [12345], "currency": ["USD"]})},
                      update={"Payments": pd.DataFrame({"_row": [2], "reference": ["TRF 2"]}),
                              "Customers": pd.DataFrame({"_row": [3], "notes": ["nota"]})})
    store = XlsxStore(path)
    store.load_raw()
    store.commit(changes)
    commit_with_openpyxl(ref, changes, "es")
    got, want = cells(path), cells(ref)
    for key in want:
        assert got[key] == want[key], key
