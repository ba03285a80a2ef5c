"""CSV import on hostile or unlucky input (issue 15 section 2, "CSV import"): clear errors with the line for a
NUL byte, an unterminated or malformed quote, an oversized field, a file mixing UTF-8 and Latin-1 lines; UTF-16
read correctly; streamed in chunks; and any ``LedgerStore`` takes an import (issue 7: not only the .xlsx file)."""

from __future__ import annotations

from pathlib import Path

import pytest

import sync.imports as imports
from cobro.ledger import LedgerError
from sync.imports import MAX_FIELD, ImportFileError, detect_encoding, import_files
from sync.table_store import TableStore, tables_of_workbook
from sync.xlsx_store import XlsxStore

CUSTOMERS = "ID cliente;Nombre;Población\nC1;Acme Ibérica S.L.U.;Sevilla\nC3;Peña y Cañas;Cádiz\n"


def run(path: Path, **files: tuple[str, bytes]) -> imports.ImportReport:
    return import_files(XlsxStore(path), files)


def refused(path: Path, match: str, **files: tuple[str, bytes]) -> str:
    before = path.read_bytes()
    with pytest.raises(ImportFileError, match=match) as ei:
        run(path, **files)
    assert path.read_bytes() == before  # nothing written
    assert ei.value.http_status == 422 and ei.value.exit_code == 2
    return str(ei.value)


def test_nul_byte_names_the_line(user_workbook: Path) -> None:
    data = b"customer_id,name\nC7,Siete\nC8,Oc\x00ho\nC9,Nueve\n"
    refused(user_workbook, r"c\.csv, line 3: a NUL byte", customers=("c.csv", data))


def test_unterminated_quote_names_the_line_it_opens(user_workbook: Path) -> None:
    data = b'customer_id,name\nC7,Siete\nC8,"Ocho\nC9,Nueve\nC10,Diez\n'
    refused(user_workbook, r"c\.csv, line 3: a quoted value opened here is never closed", customers=("c.csv", data))


def test_malformed_quote_names_the_line(user_workbook: Path) -> None:
    data = b'customer_id,name\nC7,Siete\nC8,"Ocho"x\n'
    refused(user_workbook, r"c\.csv, line 3: not valid CSV", customers=("c.csv", data))


def test_oversized_field(user_workbook: Path) -> None:
    data = b"customer_id,name\nC7,Siete\nC8," + b"x" * (MAX_FIELD + 1) + b"\n"
    refused(user_workbook, r"c\.csv, line 3, column 2: a value of 32,768 characters \(a cell holds at most 32,767\)",
            customers=("c.csv", data))
    huge = b"customer_id,name\nC7,Siete\nC8,\"" + b"y" * 300_000 + b"\"\n"
    refused(user_workbook, r"c\.csv, line 3: a value longer than", customers=("c.csv", huge))


def test_utf8_then_latin1_is_refused_with_both_lines(user_workbook: Path) -> None:
    data = "customer_id;name\nC7;Peña\n".encode() + "C8;Muñoz\n".encode("latin-1")
    text = refused(user_workbook, "mixes encodings", customers=("c.csv", data))
    assert "line 2 is UTF-8 but line 3 is not" in text and "Ã" not in text


def test_latin1_then_utf8_is_refused_too(user_workbook: Path) -> None:
    data = "customer_id;name\nC7;Muñoz\n".encode("latin-1") + "C8;Peña\n".encode()
    text = refused(user_workbook, "mixes encodings", customers=("c.csv", data))
    assert "line 3 is UTF-8 but line 2 is not" in text


def test_utf8_bom_then_latin1_is_refused(user_workbook: Path) -> None:
    data = "\ufeffcustomer_id;name\nC7;Pena\n".encode() + "C8;Muñoz\n".encode("latin-1")
    refused(user_workbook, "starts with a UTF-8 mark but line 3 is not", customers=("c.csv", data))


def test_whole_latin1_and_whole_utf8_are_read(user_workbook: Path) -> None:
    for enc in ("cp1252", "utf-8", "utf-8-sig"):
        report = run(user_workbook, customers=("c.csv", CUSTOMERS.encode(enc)))
        assert report.added.get("customers", 0) + report.updated.get("customers", 0) \
            + report.unchanged.get("customers", 0) == 2
        names = XlsxStore(user_workbook).load().customers.set_index("customer_id")["name"]
        assert names["C3"] == "Peña y Cañas", enc


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_is_read(user_workbook: Path, encoding: str) -> None:
    data = CUSTOMERS.encode(encoding)  # "utf-16" writes a BOM; -le/-be write none
    if encoding != "utf-16":
        assert detect_encoding(data) == encoding
    report = run(user_workbook, customers=("c.csv", data))
    assert report.added == {"customers": 1} and report.updated == {"customers": 1}
    names = XlsxStore(user_workbook).load().customers.set_index("customer_id")["name"]
    assert names["C3"] == "Peña y Cañas"


def test_streamed_in_chunks_lines_stay_right(user_workbook: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(imports, "CHUNK_ROWS", 7)
    lines = ["invoice_id;customer_id;issue_date;amount"]
    lines += [f"F-{i};C1;05/03/2024;{i},50" for i in range(100, 160)]
    lines[45] = "F-bad;C9;05/03/2024;1,00"  # line 46 of the file, in the seventh chunk
    data = ("\n".join(lines) + "\n").encode()
    with pytest.raises(LedgerError) as ei:
        run(user_workbook, invoices=("i.csv", data))
    assert 'i.csv, row 46, column "customer_id": "C9"' in ei.value.render("en")
    del lines[45]
    report = run(user_workbook, invoices=("i.csv", ("\n".join(lines) + "\n").encode()))
    assert report.added == {"invoices": 59}
    inv = XlsxStore(user_workbook).load().invoices.set_index("invoice_id")
    assert inv.loc["F-159", "amount"] == 15950 and inv.loc["F-100", "amount"] == 10050


def test_any_ledger_store_takes_an_import(user_workbook: Path) -> None:
    """The tables a host posted: the import's writes come back as data for the host, nothing touches a file."""
    before = user_workbook.read_bytes()
    store = TableStore(tables_of_workbook(user_workbook).values())
    report = import_files(store, {"customers": ("c.csv", CUSTOMERS.encode("cp1252")),
                                  "invoices": ("i.csv", b"invoice_id,customer_id,issue_date,amount\n"
                                                        b"F-70,C3,2024-05-01,\"1.234,50\"\n")})
    assert report.added == {"customers": 1, "invoices": 1} and report.updated == {"customers": 1}
    assert user_workbook.read_bytes() == before
    writes = store.writes()
    assert writes["edits"] or writes["tables"]
    led = store.load()
    assert led.invoices.set_index("invoice_id").loc["F-70", "amount"] == 123450
    assert led.customers.set_index("customer_id").loc["C3", "name"] == "Peña y Cañas"


def test_amounts_as_our_markets_write_them_are_imported(user_workbook: Path) -> None:
    customers = "customer_id;name;currency\nCL1;Andes SpA;CLP\nBR1;Paulista Ltda;BRL\nPE1;Lima SAC;PEN\n"
    invoices = ("invoice_id;customer_id;issue_date;amount\nCL-1;CL1;01/03/2026;$ 1.234.567\n"
                "CL-2;CL1;02/03/2026;1.234 CLP\nBR-1;BR1;01/03/2026;R$ 1.234,56\nPE-1;PE1;01/03/2026;S/ 1,234.56\n")
    report = run(user_workbook, customers=("c.csv", customers.encode()), invoices=("i.csv", invoices.encode()))
    assert report.added == {"customers": 3, "invoices": 4}
    inv = XlsxStore(user_workbook).load().invoices.set_index("invoice_id")
    assert inv.loc["CL-1", "amount"] == 1234567 and inv.loc["CL-2", "amount"] == 1234
    assert inv.loc["BR-1", "amount"] == 123456 and inv.loc["PE-1", "amount"] == 123456
    assert (inv.loc["CL-1", "currency"], inv.loc["BR-1", "currency"]) == ("CLP", "BRL")


def test_a_sign_contradicting_the_customers_currency_names_the_cell(user_workbook: Path) -> None:
    before = user_workbook.read_bytes()
    invoices = "Factura;ID cliente;Fecha emisión;Importe\nF-80;C1;01/03/2026;US$ 100\nF-81;C1;01/03/2026;€ 100\n"
    with pytest.raises(LedgerError) as ei:
        run(user_workbook, invoices=("facturas.csv", invoices.encode()))
    text = ei.value.render("es")
    assert 'facturas.csv, fila 2, columna "Importe": "US$ 100" — se esperaba un importe en EUR' in text
    assert "fila 3" not in text and user_workbook.read_bytes() == before


@pytest.mark.skipif(not hasattr(__import__("os"), "mkfifo"), reason="POSIX FIFOs")
def test_a_fifo_or_a_folder_is_refused_not_waited_on(tmp_path: Path) -> None:
    import os

    fifo = tmp_path / "export.csv"
    os.mkfifo(fifo)
    with pytest.raises(ImportFileError, match="not a regular file"):
        imports.read_import_file(fifo)
    with pytest.raises(ImportFileError, match="not a regular file"):
        imports.read_import_file(tmp_path)
