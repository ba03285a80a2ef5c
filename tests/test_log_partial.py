"""``cobro log`` reads only what one contact concerns (issue 12) and writes what the whole-ledger path writes.

The whole-ledger path (``XlsxStore.load`` then ``sync.cycle.log_contact``) is the reference: on the demo ledger the
partial read (``XlsxStore.load_concerning``, ``sync.xlsx_subset``) must leave the same Contacts sheet and the same
derived cells in the rows the contact concerns, byte for byte in the sheet XML; on a refreshed ledger (where the
whole-ledger path re-derives nothing else) the whole workbook comes out identical.
"""

from __future__ import annotations

import datetime as dt
import shutil
import zipfile
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from python_calamine import CalamineWorkbook

from cobro.demo.generate import generate_ledger
from cobro.ledger import Ledger, LedgerError, make_frame
from cobro.schema import CONTACTS
from cobro_cli import run
from sheets_templates import build_workbook
from sync.cycle import log_contact, refresh
from sync.store import StaleLedgerError
from sync.xlsx_store import XlsxStore
from sync.xlsx_subset import read_concerning

AS_OF = dt.date(2026, 11, 20)
WHEN = pd.Timestamp("2026-11-20 10:30:00")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The demo ledger as built (derived columns not refreshed) and refreshed, with one contact of a customer that
    lists another customer's invoice at a reminder level (so the partial read must find it by the invoice)."""
    folder = tmp_path_factory.mktemp("demo")
    led = generate_ledger(customers=40, invoices=1200, seed=7, locale="es", as_of=AS_OF)
    counts = led.invoices["customer_id"].value_counts()
    owner, other = str(counts.index[2]), str(counts.index[5])
    theirs = led.invoices[led.invoices["customer_id"] == owner]
    listed = str(theirs["invoice_id"].iloc[len(theirs) // 2])
    cross = make_frame(CONTACTS, [{"timestamp": pd.Timestamp("2026-10-01 09:00"), "customer_id": other,
                                   "invoice_ids": (listed,), "channel": "email", "direction": "out",
                                   "level": "letter", "outcome": "sent", "user": "cobro", "subject": "x",
                                   "notes": "", "message_id": "<cross@example.com>"}])
    contacts = pd.concat([led.contacts.drop(columns=["_row"], errors="ignore"), cross], ignore_index=True)
    led = Ledger(**{**{f: getattr(led, f) for f in led.__dataclass_fields__}, "contacts": contacts})
    built = folder / "built.xlsx"
    build_workbook(built, locale="es", ledger=led, as_of=AS_OF)
    refreshed = folder / "refreshed.xlsx"
    shutil.copy2(built, refreshed)
    store = XlsxStore(refreshed)
    refresh(store, AS_OF, store.load())
    return {"built": built, "refreshed": refreshed, "owner": owner, "other": other, "listed": listed,
            "theirs": [str(x) for x in theirs["invoice_id"]]}


def _row(customer: str, invoices: tuple[str, ...] = (), **kw: Any) -> dict[str, Any]:
    row = {"timestamp": WHEN, "customer_id": customer, "invoice_ids": invoices, "channel": "phone",
           "direction": "out", "level": "", "outcome": "no_answer", "promise_date": None, "promise_amount": None,
           "user": "ana", "subject": "", "notes": "llamada", "message_id": ""}
    row.update(kw)
    return row


def _both(src: Path, folder: Path, row: dict[str, Any]) -> tuple[Path, Path]:
    """The ledger after logging ``row`` through the whole-ledger path and through the partial read."""
    folder.mkdir(parents=True, exist_ok=True)
    full, fast = folder / "full.xlsx", folder / "fast.xlsx"
    shutil.copy2(src, full)
    shutil.copy2(src, fast)
    store = XlsxStore(full)
    log_contact(store, row, AS_OF, store.load())
    store = XlsxStore(fast)
    led = store.load_concerning(row["customer_id"], row["invoice_ids"])
    assert store._parsed is None  # the partial read was used, not a whole load
    log_contact(store, row, AS_OF, led)
    return full, fast


def _sheet(path: Path, title: str) -> list[list[object]]:
    return CalamineWorkbook.from_path(str(path)).get_sheet_by_name(title).to_python()


def _parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist()}


def _rows_xml(xml: bytes, rows: set[int]) -> dict[int, bytes]:
    import re

    out = {}
    for m in re.finditer(rb'<row r="(\d+)"[^>]*?(?:/>|>.*?</row>)', xml, re.DOTALL):
        if int(m.group(1)) in rows:
            out[int(m.group(1))] = m.group(0)
    return out


def _concerned_rows(path: Path, invoices: set[str]) -> set[int]:
    rows = _sheet(path, "Facturas")
    return {i + 1 for i, r in enumerate(rows) if i and str(r[0]) in invoices}


@pytest.mark.parametrize("case", ["blank", "promise_listed", "cross_customer", "listed_by_another"])
def test_partial_log_writes_what_the_whole_ledger_path_writes(demo: dict[str, Any], tmp_path: Path,
                                                               case: str) -> None:
    owner, other, listed, theirs = demo["owner"], demo["other"], demo["listed"], demo["theirs"]
    row = {
        "blank": _row(owner),
        "promise_listed": _row(owner, (theirs[0], theirs[-1]), outcome="promise",
                               promise_date=pd.Timestamp("2026-12-05"), promise_amount=12345),
        "cross_customer": _row(other, (listed,), outcome="dispute", notes="precio"),
        "listed_by_another": _row(owner, (listed,), outcome="reached"),
    }[case]
    concerned = set(theirs) if row["customer_id"] == owner else set(row["invoice_ids"])
    concerned |= set(row["invoice_ids"])
    if row["customer_id"] == other:
        led = XlsxStore(demo["built"]).load()
        concerned |= set(led.invoices.loc[led.invoices["customer_id"] == other, "invoice_id"])
    for src in ("built", "refreshed"):
        full, fast = _both(demo[src], tmp_path / src, row)
        assert _sheet(full, "Gestiones") == _sheet(fast, "Gestiones")
        a, b = _parts(full), _parts(fast)
        contacts_part = next(n for n in a if n.endswith("sheet5.xml"))
        assert a[contacts_part] == b[contacts_part]  # the Contacts sheet, byte for byte
        rows = _concerned_rows(full, concerned)
        assert rows
        inv_part = next(n for n in a if n.endswith("sheet3.xml"))
        assert _rows_xml(a[inv_part], rows) == _rows_xml(b[inv_part], rows)  # derived cells of the concerned rows
        full_rows, fast_rows = _sheet(full, "Facturas"), _sheet(fast, "Facturas")
        assert [full_rows[r - 1] for r in sorted(rows)] == [fast_rows[r - 1] for r in sorted(rows)]
        if src == "refreshed":  # nothing else to re-derive: the whole workbook is the same
            assert a == b
        else:  # the partial path leaves the other customers' (stale) derived cells to `cobro refresh`
            before = _sheet(demo["built"], "Facturas")
            assert any(before[r - 1] != fast_rows[r - 1] for r in rows)  # the concerned rows were re-derived
            if case == "blank":  # the other customer's contact listing this invoice was found and counted
                at = next(r for r in rows if fast_rows[r - 1][0] == listed)
                assert fast_rows[at - 1][14] == dt.date(2026, 10, 1)
            others = [i for i in range(1, len(before)) if i + 1 not in rows]
            assert [fast_rows[i] for i in others] == [before[i] for i in others]


def test_a_log_that_changes_no_invoice_keeps_the_invoices_part(demo: dict[str, Any], tmp_path: Path) -> None:
    full, fast = _both(demo["refreshed"], tmp_path, _row(demo["owner"]))
    with zipfile.ZipFile(demo["refreshed"]) as z0, zipfile.ZipFile(fast) as z1:
        inv = next(n for n in z0.namelist() if n.endswith("sheet3.xml"))
        assert z0.getinfo(inv).CRC == z1.getinfo(inv).CRC
        assert z0.getinfo(inv).compress_size == z1.getinfo(inv).compress_size  # copied, never re-deflated


def test_partial_read_validates_like_the_whole_read(demo: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "l.xlsx"
    shutil.copy2(demo["refreshed"], path)
    row = _row(demo["owner"], ("F-0000-NOPE",))
    errors = []
    for loader in ("load", "load_concerning"):
        store = XlsxStore(path)
        led = store.load() if loader == "load" else store.load_concerning(row["customer_id"], row["invoice_ids"])
        with pytest.raises(LedgerError) as ei:
            log_contact(store, row, AS_OF, led)
        errors.append(ei.value.render("es"))
    assert errors[0] == errors[1]
    with pytest.raises(LedgerError):
        log_contact(XlsxStore(path), _row("CLI-9999"), AS_OF, XlsxStore(path).load_concerning("CLI-9999"))


def test_a_problem_in_the_rows_read_is_reported_as_the_whole_read_reports_it(demo: dict[str, Any],
                                                                              tmp_path: Path) -> None:
    import openpyxl

    path = tmp_path / "l.xlsx"
    wb = openpyxl.load_workbook(demo["refreshed"])
    ws = wb["Facturas"]
    row = next(r for r in range(2, ws.max_row + 1) if ws.cell(r, 2).value == demo["owner"])
    ws.cell(row, 3).value = "no es una fecha"
    wb.save(path)
    with pytest.raises(LedgerError) as whole:
        XlsxStore(path).load()
    with pytest.raises(LedgerError) as partial:
        XlsxStore(path).load_concerning(demo["owner"])
    assert partial.value.render("es") == whole.value.render("es")


def test_a_stale_or_open_ledger_is_refused_after_a_partial_read(demo: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "l.xlsx"
    shutil.copy2(demo["refreshed"], path)
    store = XlsxStore(path)
    led = store.load_concerning(demo["owner"])
    before = path.read_bytes()
    path.write_bytes(before + b"")  # saved again meanwhile: a new mtime
    import os

    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    with pytest.raises(StaleLedgerError):
        log_contact(store, _row(demo["owner"]), AS_OF, led)
    assert path.read_bytes() == before
    lock = path.parent / f"~${path.name}"  # Excel's owner file: the workbook is open
    lock.write_bytes(b"x")
    store = XlsxStore(path)
    led = store.load_concerning(demo["owner"])
    with pytest.raises(Exception, match="open"):
        log_contact(store, _row(demo["owner"]), AS_OF, led)
    assert path.read_bytes() == before


def test_cli_log_uses_the_partial_read_and_backs_up(demo: dict[str, Any], tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "l.xlsx"
    shutil.copy2(demo["refreshed"], path)

    def no_whole_load(self: XlsxStore) -> Ledger:
        raise AssertionError("cobro log read the whole ledger")

    monkeypatch.setattr(XlsxStore, "load", no_whole_load)
    assert run(["log", str(path), demo["owner"], "--outcome", "promise", "--promise-date", "2026-12-05",
                "--amount", "1.234,56", "--invoices", demo["theirs"][0], "--as-of", AS_OF.isoformat(),
                "--user", "ana"]) == 0
    assert "Logged for" in capsys.readouterr().out
    monkeypatch.undo()
    c = XlsxStore(path).load().contacts.iloc[-1]
    assert (c["customer_id"], c["outcome"], c["promise_amount"], c["invoice_ids"]) == (
        demo["owner"], "promise", 123456, (demo["theirs"][0],))
    assert len(list((tmp_path / ".cobro-backups").glob("l.*.xlsx"))) == 1
    assert run(["log", str(path), "CLI-9999", "--outcome", "note"]) == 2
    assert "not in the Customers sheet" in capsys.readouterr().err


@pytest.mark.parametrize("customer", ["A&B", "", "C<1"])
def test_ids_a_byte_search_could_miss_fall_back_to_the_whole_read(demo: dict[str, Any], customer: str) -> None:
    assert read_concerning(Path(demo["refreshed"]).read_bytes(), "l.xlsx", customer) is None


def test_a_large_part_deflated_on_several_threads_is_one_valid_stream(monkeypatch: pytest.MonkeyPatch) -> None:
    import io
    import random

    from sync import xlsx_package

    monkeypatch.setattr(xlsx_package, "PARALLEL_BLOCK", 1 << 16)
    monkeypatch.setattr(xlsx_package.os, "cpu_count", lambda: 4)
    rng = random.Random(7)
    text = b"".join(b'<row r="%d"><c r="A%d"><v>%d</v></c></row>' % (i, i, rng.randrange(10**6))
                    for i in range(1, 60_000))
    src = io.BytesIO()
    with zipfile.ZipFile(src, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("big.xml", b"x")
        z.writestr("other.bin", bytes(range(256)))
    pkg = xlsx_package.Package(src.getvalue())
    pkg.members["big.xml"].info.file_size = 9 << 20  # taken for a large part: deflated in blocks
    out = io.BytesIO()
    xlsx_package.rewrite_package(pkg, out, {"big.xml": lambda: iter([text[i:i + 5000]
                                                                      for i in range(0, len(text), 5000)])})
    with zipfile.ZipFile(out) as z:
        assert z.testzip() is None
        assert z.read("big.xml") == text and z.read("other.bin") == bytes(range(256))
    again = xlsx_package.Package(out.getvalue())
    assert b"".join(again.chunks("big.xml", 1 << 14)) == text


def test_a_damaged_member_is_refused_when_inflated(tmp_path: Path) -> None:
    import io

    from sync.xlsx_package import Package, WorkbookError

    src = io.BytesIO()
    with zipfile.ZipFile(src, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("a.xml", b"<a>" + b"hola " * 5000 + b"</a>")
    data = bytearray(src.getvalue())
    pkg = Package(bytes(data))
    info = pkg.members["a.xml"].info
    start = pkg.members["a.xml"].local_start + 30 + len("a.xml")
    data[start + info.compress_size // 2] ^= 0xFF  # a flipped byte in the deflated data
    with pytest.raises(WorkbookError, match="damaged|size its header declares"):
        Package(bytes(data)).read("a.xml")
