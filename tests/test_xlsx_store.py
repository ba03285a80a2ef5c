"""The workbook is sacred: atomic writes, backups, kept extras, refusal on concurrent change."""

from __future__ import annotations

import os
import time
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from cobro.balances import invoice_balances
from sync.store import Changes, StaleLedgerError
from sync.xlsx_store import WorkbookError, XlsxStore, store_for


def test_load_types_everything(user_workbook: Path) -> None:
    led = XlsxStore(user_workbook).load()
    inv = led.invoices.set_index("invoice_id")
    assert inv.loc["F-1", "amount"] == 121000
    assert inv.loc["F-1", "due_date"] == pd.Timestamp("2024-03-31")  # 30 days terms
    assert inv.loc["F-3", "currency"] == "USD"
    assert inv.loc["F-1", "_row"] == 2
    assert led.payments["amount"].tolist() == [21000]
    assert led.settings.locale == "es"


def test_commit_updates_appends_and_keeps_user_things(user_workbook: Path) -> None:
    store = XlsxStore(user_workbook)
    led = store.load()
    b = invoice_balances(led, "2024-05-01")
    store.commit(Changes(
        update={"Invoices": b[["_row", "paid", "balance", "days_overdue", "currency"]]},
        append={"Payments": pd.DataFrame({"date": [pd.Timestamp("2024-04-20")], "customer_id": ["C1"],
                                          "invoice_id": ["F-2"], "amount": [5000], "currency": ["EUR"],
                                          "reference": ['=HYPERLINK("http://evil.example","click")'],
                                          "source": ["statement"]})}))
    wb = openpyxl.load_workbook(user_workbook)
    ws = wb["Facturas"]
    headers = [c.value for c in ws[1]]
    assert headers[-1] == "Doble"  # the user's extra column is still there …
    assert ws.cell(row=2, column=len(headers)).value == "=Facturas[[#This Row],[Importe]]*2" or \
        str(ws.cell(row=2, column=len(headers)).value).startswith("=")  # … with its formula
    assert ws.cell(row=2, column=2 + 4).number_format == "#,##0.00"  # amount format kept
    assert "Notas de Ana" in wb.sheetnames
    pay = wb["Pagos"]
    assert pay.tables["Payments"].ref == "A1:J3"  # the table grew by one row
    ref_col = [c.value for c in pay[1]].index("Referencia") + 1
    cell = pay.cell(row=3, column=ref_col)
    assert cell.data_type == "s" and cell.value.startswith("'=")  # bank text stays text
    led2 = XlsxStore(user_workbook).load()
    assert led2.invoices.set_index("invoice_id").loc["F-1", "balance"] == 100000
    assert len(led2.payments) == 2
    backups = list((user_workbook.parent / ".cobro-backups").glob("cobranza.*.xlsx"))
    assert len(backups) == 1


def test_refuses_when_file_changed_since_read(user_workbook: Path) -> None:
    store = XlsxStore(user_workbook)
    store.load()
    before = user_workbook.read_bytes()
    time.sleep(0.01)
    wb = openpyxl.load_workbook(user_workbook)
    wb["Clientes"]["B2"] = "Changed by a person"
    wb.save(user_workbook)
    changed = user_workbook.read_bytes()
    assert changed != before
    with pytest.raises(StaleLedgerError, match="changed since cobro read it"):
        store.commit(Changes(update={"Customers": pd.DataFrame({"_row": [2], "notes": ["x"]})}))
    assert user_workbook.read_bytes() == changed  # the person's edit survives


def test_failed_write_leaves_file_untouched(user_workbook: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = XlsxStore(user_workbook)
    store.load()
    before = user_workbook.read_bytes()

    def boom(*a: object, **k: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        store.commit(Changes(update={"Customers": pd.DataFrame({"_row": [2], "notes": ["x"]})}))
    assert user_workbook.read_bytes() == before
    assert not [p for p in user_workbook.parent.iterdir() if p.name.startswith(".cobranza.")]  # no temp left


def test_two_commits_in_one_run(user_workbook: Path) -> None:
    store = XlsxStore(user_workbook)
    store.load()
    store.commit(Changes(update={"Customers": pd.DataFrame({"_row": [2], "notes": ["one"]})}))
    store.commit(Changes(update={"Customers": pd.DataFrame({"_row": [3], "notes": ["two"]})}))
    led = XlsxStore(user_workbook).load()
    assert led.customers["notes"].tolist() == ["one", "two"]


def test_not_a_workbook(tmp_path: Path) -> None:
    bad = tmp_path / "x.xlsx"
    bad.write_bytes(b"not a zip")
    with pytest.raises(WorkbookError, match="not a readable .xlsx workbook"):
        XlsxStore(bad).load()
    with pytest.raises(WorkbookError, match="no such file"):
        XlsxStore(tmp_path / "missing.xlsx").load()
    with pytest.raises(WorkbookError, match=".xlsx workbooks"):
        store_for(tmp_path / "ledger.csv")


def test_english_workbook(tmp_path: Path) -> None:
    from tests.conftest import write_user_workbook

    path = write_user_workbook(tmp_path / "ledger.xlsx", locale="en")
    led = XlsxStore(path).load()
    assert led.settings.locale == "en"
    assert len(led.invoices) == 3


def test_sheets_in_any_order_and_settings_first(tmp_path: Path) -> None:
    """The reader pulls sheets in dependency order whatever their order in the file."""
    import openpyxl as ox

    from tests.conftest import write_user_workbook

    path = write_user_workbook(tmp_path / "l.xlsx")
    wb = ox.load_workbook(path)
    wb._sheets.reverse()  # Configuración first, Clientes last
    wb.save(path)
    led = XlsxStore(path).load()
    assert len(led.invoices) == 3 and led.invoices["currency"].tolist() == ["EUR", "EUR", "USD"]
    assert led.settings.locale == "es"


def test_gc_is_restored_after_a_failed_load(tmp_path: Path) -> None:
    import gc

    bad = tmp_path / "x.xlsx"
    bad.write_bytes(b"PK\x03\x04 not really")
    assert gc.isenabled()
    with pytest.raises(WorkbookError):
        XlsxStore(bad).load()
    assert gc.isenabled()


# ----------------------------------------------------------------------------------- files (issues 7, 15)

def _notes_change() -> Changes:
    return Changes(update={"Customers": pd.DataFrame({"_row": [2], "notes": ["llamar"]})})


def test_symlinked_ledger_is_written_through_to_its_target(user_workbook: Path, tmp_path: Path) -> None:
    link = tmp_path / "elsewhere" / "ledger.xlsx"
    link.parent.mkdir()
    link.symlink_to(user_workbook)
    store = XlsxStore(link)
    store.load()
    store.commit(_notes_change())
    assert link.is_symlink() and link.resolve() == user_workbook.resolve()  # still a link …
    assert XlsxStore(user_workbook).load().customers["notes"].tolist()[0] == "llamar"  # … to the changed file
    assert list((user_workbook.parent / ".cobro-backups").glob("cobranza.*.xlsx"))  # backup beside the target


def test_hard_linked_ledger_is_refused(user_workbook: Path, tmp_path: Path) -> None:
    from sync.xlsx_store import HardLinkedLedgerError

    other = tmp_path / "copy-by-link.xlsx"
    os.link(user_workbook, other)
    store = XlsxStore(user_workbook)
    store.load()  # reading works
    before = user_workbook.read_bytes()
    with pytest.raises(HardLinkedLedgerError, match="2 names"):
        store.check_writable()
    with pytest.raises(HardLinkedLedgerError):
        store.commit(_notes_change())
    assert user_workbook.read_bytes() == before and other.read_bytes() == before


def test_write_keeps_mode_owner_and_group(user_workbook: Path) -> None:
    os.chmod(user_workbook, 0o664)
    st = user_workbook.stat()
    store = XlsxStore(user_workbook)
    store.load()
    store.commit(_notes_change())
    after = user_workbook.stat()
    assert after.st_mode & 0o7777 == 0o664
    assert (after.st_uid, after.st_gid) == (st.st_uid, st.st_gid)
    assert after.st_ino != st.st_ino  # replaced atomically, not rewritten in place


def test_temp_files_of_a_crashed_save_are_removed_by_the_next_write(user_workbook: Path) -> None:
    from sync.fileio import temp_name_prefix

    stale = user_workbook.parent / (temp_name_prefix(user_workbook) + "crashed")
    stale.write_bytes(b"half a workbook")
    old = time.time() - 3600
    os.utime(stale, (old, old))
    store = XlsxStore(user_workbook)
    store.load()
    store.commit(_notes_change())
    assert not stale.exists()


def test_commit_refuses_a_workbook_open_in_excel(user_workbook: Path) -> None:
    from sync.fileio import WorkbookOpenError

    store = XlsxStore(user_workbook)
    store.load()
    (user_workbook.parent / f"~${user_workbook.name}").write_bytes(b"owner")
    before = user_workbook.read_bytes()
    with pytest.raises(WorkbookOpenError, match="open in Excel"):
        store.commit(_notes_change())
    assert user_workbook.read_bytes() == before


def test_fifo_and_device_are_refused_without_hanging(tmp_path: Path) -> None:
    fifo = tmp_path / "ledger.xlsx"
    os.mkfifo(fifo)
    with pytest.raises(WorkbookError, match="named pipe"):
        XlsxStore(fifo).load()
    with pytest.raises(WorkbookError, match="named pipe"):
        XlsxStore(fifo).check_writable()
    dev = tmp_path / "zero.xlsx"
    dev.symlink_to("/dev/zero")
    with pytest.raises(WorkbookError, match="device"):
        XlsxStore(dev).load()
    folder = tmp_path / "folder.xlsx"
    folder.mkdir()
    with pytest.raises(WorkbookError, match="folder"):
        XlsxStore(folder).load()


def _replace_member(path: Path, name: str, write: object) -> None:
    """Rewrite ``path`` with member ``name`` produced by ``write(fh)`` (streamed), the others copied."""
    import zipfile

    src = path.read_bytes()
    import io

    with zipfile.ZipFile(io.BytesIO(src)) as zin, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            if info.filename == name:
                zinfo = zipfile.ZipInfo(name, info.date_time)
                zinfo.compress_type = zipfile.ZIP_DEFLATED
                with zout.open(zinfo, "w") as fh:
                    write(fh)  # type: ignore[operator]
            else:
                zout.writestr(info, zin.read(info.filename))


def _with_raw_member(path: Path, name: str, head: bytes, block: bytes, repeat: int, tail: bytes) -> None:
    """Rewrite ``path`` with member ``name`` = head + block * repeat + tail, deflated without compressing a
    gigabyte: after a full flush deflate forgets its history, so every copy of ``block`` deflates to the same
    bytes, written ``repeat`` times."""
    import struct
    import zipfile
    import zlib

    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = comp.compress(head) + comp.flush(zlib.Z_FULL_FLUSH)
    middle = comp.compress(block) + comp.flush(zlib.Z_FULL_FLUSH)
    last = comp.compress(tail) + comp.flush()
    crc = zlib.crc32(head)
    for _ in range(repeat):
        crc = zlib.crc32(block, crc)
    crc = zlib.crc32(tail, crc)
    usize = len(head) + len(block) * repeat + len(tail)
    csize = len(first) + len(middle) * repeat + len(last)
    members = []
    with zipfile.ZipFile(path) as z:
        for info in z.infolist():
            members.append((info.filename, None if info.filename == name else z.read(info.filename)))
    out = bytearray()
    central = bytearray()
    for fname, data in members:
        raw = fname.encode()
        offset = len(out)
        if data is None:
            packed_parts, c, cs, us = [first, *([middle] * repeat), last], crc, csize, usize
        else:
            packed = zlib.compress(data, 6)[2:-4]
            packed_parts, c, cs, us = [packed], zlib.crc32(data), len(packed), len(data)
        out += struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 8, 0, 33, c, cs, us, len(raw), 0) + raw
        for piece in packed_parts:
            out += piece
        central += struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, 8, 0, 33, c, cs, us, len(raw), 0, 0, 0, 0,
                               0, offset) + raw
    cd = len(out)
    out += central
    out += struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(members), len(members), len(central), cd, 0)
    path.write_bytes(bytes(out))


def test_a_one_gigabyte_cell_is_refused_before_it_is_inflated(user_workbook: Path) -> None:
    """A ~1 MB workbook whose extra sheet holds a 1 GB cell: a clear error, not 1 GB of memory."""
    import tracemalloc

    head = (b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
            b'spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>')
    tail = b"</t></is></c></row></sheetData></worksheet>"
    # "Notas de Ana" is a sheet cobro does not own
    _with_raw_member(user_workbook, "xl/worksheets/sheet10.xml", head, b"a" * (1 << 20), 1024, tail)
    assert user_workbook.stat().st_size < 4 << 20
    tracemalloc.start()
    try:
        with pytest.raises(WorkbookError, match="sheet10.xml would expand to 1,0"):
            XlsxStore(user_workbook).load()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 64 << 20


def test_a_doctype_in_a_sheet_is_refused(user_workbook: Path) -> None:
    evil = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
            b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1">'
            b'<c r="A1" t="inlineStr"><is><t>&lol2;</t></is></c></row></sheetData></worksheet>')
    _replace_member(user_workbook, "xl/worksheets/sheet10.xml", lambda fh: fh.write(evil))
    with pytest.raises(WorkbookError, match="DOCTYPE"):
        XlsxStore(user_workbook).load()


def test_a_write_never_inflates_sheets_cobro_does_not_edit(user_workbook: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from sync import xlsx_package

    store = XlsxStore(user_workbook)
    store.load()
    read: list[str] = []
    real_open, real_chunks = xlsx_package.Package._open, xlsx_package.Package.chunks

    def spy(self: xlsx_package.Package, part: str) -> object:
        read.append(part)
        return real_open(self, part)

    def spy_chunks(self: xlsx_package.Package, part: str, size: int = 8 << 20) -> object:
        read.append(part)  # a member is inflated here (from the archive's bytes) or through _open
        return real_chunks(self, part, size)

    monkeypatch.setattr(xlsx_package.Package, "_open", spy)
    monkeypatch.setattr(xlsx_package.Package, "chunks", spy_chunks)
    store.commit(_notes_change())
    sheets = [p for p in read if p.startswith("xl/worksheets/sheet")]
    assert sheets == ["xl/worksheets/sheet1.xml"]  # Clientes only; never "Notas de Ana" nor the invoices


def test_an_unchanged_file_is_not_parsed_twice_and_a_changed_one_is(user_workbook: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from sync import xlsx_store

    calls: list[int] = []
    real = xlsx_store.parse_ledger

    def counting(*a: object, **k: object) -> object:
        calls.append(1)
        return real(*a, **k)  # type: ignore[arg-type]

    monkeypatch.setattr(xlsx_store, "parse_ledger", counting)
    store = XlsxStore(user_workbook)
    first = store.load()
    first.invoices["amount"] = 0  # a caller's edit never reaches the next load
    second = store.load()
    assert len(calls) == 1 and second.invoices["amount"].tolist() == [121000, 10000, 99999]
    store.commit(_notes_change())  # our own write: parsed again on the next load
    assert store.load().customers["notes"].tolist()[0] == "llamar" and len(calls) == 2
    time.sleep(0.01)
    wb = openpyxl.load_workbook(user_workbook)
    wb["Clientes"]["B2"] = "Cambiado"
    wb.save(user_workbook)  # someone else's write: parsed again
    assert store.load().customers["name"].tolist()[0] == "Cambiado" and len(calls) == 3


def test_a_backup_cut_short_leaves_no_truncated_backup_and_no_write(user_workbook: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The backup is written atomically: when its copy fails half-way (a full disk, a process killed), no partial
    file takes the newest backup's name, and the ledger is not replaced (kill -9 trials found an empty backup)."""
    import sync.fileio as fileio

    store = XlsxStore(user_workbook)
    store.load()
    store.commit(Changes(update={"Invoices": pd.DataFrame({"_row": [2], "notes": ["first"]})}))
    folder = user_workbook.parent / ".cobro-backups"
    kept = sorted(folder.glob("cobranza.*.xlsx"))
    before = user_workbook.read_bytes()
    real_fsync = os.fsync
    calls = {"n": 0}

    def fsync_then_fail(fd: int) -> None:
        calls["n"] += 1
        if calls["n"] == 2:  # the ledger's temporary file was made durable; the backup's copy fails
            raise OSError(28, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(fileio.os, "fsync", fsync_then_fail)
    store.load()
    with pytest.raises(OSError):
        store.commit(Changes(update={"Invoices": pd.DataFrame({"_row": [2], "notes": ["second"]})}))
    monkeypatch.setattr(fileio.os, "fsync", real_fsync)
    assert user_workbook.read_bytes() == before  # nothing replaced
    assert sorted(folder.glob("cobranza.*.xlsx")) == kept  # no new, partial backup
    assert all(XlsxStore(b).load() is not None for b in kept)
    assert not [p for p in user_workbook.parent.iterdir() if ".cobro-tmp-" in p.name]
    assert not [p for p in folder.iterdir() if ".cobro-tmp-" in p.name]
