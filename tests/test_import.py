"""ERP exports in: encodings, delimiters, number and date styles, upsert, all-or-nothing."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from cobro.ledger import LedgerError
from sync.imports import ImportFileError, decode_text, import_files
from sync.xlsx_store import XlsxStore


def run(path: Path, **files: tuple[str, bytes]) -> object:
    return import_files(XlsxStore(path), files)


def test_upsert_customers_latin1_semicolon(user_workbook: Path) -> None:
    data = "ID cliente;Nombre;Población;Plazo (días)\nC1;Acme Ibérica S.L.U.;Sevilla;45\nC3;Cañas y Tapas;Cádiz;30\n"
    report = run(user_workbook, customers=("clientes.csv", data.encode("cp1252")))
    assert report.added == {"customers": 1} and report.updated == {"customers": 1}
    assert report.ignored_columns["customers"] == ["Población"]
    led = XlsxStore(user_workbook).load()
    c = led.customers.set_index("customer_id")
    assert c.loc["C1", "name"] == "Acme Ibérica S.L.U." and c.loc["C1", "payment_terms_days"] == 45
    assert c.loc["C1", "email"] == ("pagos@acme.example",)  # columns not in the file are kept
    assert c.loc["C3", "name"] == "Cañas y Tapas"


def test_utf8_bom_comma_us_numbers_and_month_first_dates(user_workbook: Path) -> None:
    data = "\ufeffInvoice,Customer ID,Issue date,Amount,Currency\nF-9,C2,03/15/2024,\"1,234.56\",USD\n" \
           "F-10,C2,04/01/2024,10,USD\n"
    report = run(user_workbook, invoices=("invoices.csv", data.encode("utf-8")))
    assert report.added == {"invoices": 2}
    inv = XlsxStore(user_workbook).load().invoices.set_index("invoice_id")
    assert inv.loc["F-9", "amount"] == 123456
    assert inv.loc["F-9", "issue_date"] == pd.Timestamp("2024-03-15")
    assert inv.loc["F-10", "issue_date"] == pd.Timestamp("2024-04-01")  # settled by the column, not the row


def test_spanish_numbers_and_tab_delimiter(user_workbook: Path) -> None:
    data = "Factura\tID cliente\tFecha emisión\tImporte\nF-20\tC1\t05/03/2024\t1.234,50\nF-21\tC1\t2024-03-06\t7,5\n"
    run(user_workbook, invoices=("facturas.txt", data.encode("utf-8")))
    inv = XlsxStore(user_workbook).load().invoices.set_index("invoice_id")
    assert inv.loc["F-20", "amount"] == 123450 and inv.loc["F-21", "amount"] == 750
    assert inv.loc["F-20", "issue_date"] == pd.Timestamp("2024-03-05")


def test_invoice_may_refer_to_customer_in_same_import(user_workbook: Path) -> None:
    report = run(user_workbook,
                 customers=("c.csv", b"customer_id,name\nC7,Nuevo SL\n"),
                 invoices=("i.csv", b"invoice_id,customer_id,issue_date,amount\nF-70,C7,2024-05-01,10\n"))
    assert report.added == {"customers": 1, "invoices": 1}


def test_bad_file_changes_nothing_and_names_file_line_column(user_workbook: Path) -> None:
    before = user_workbook.read_bytes()
    data = ("Factura;ID cliente;Fecha emisión;Importe\nF-30;C9;31/02/2024;abc\nF-30;C1;01/02/2024;1\n"
            "F-31;C1;01/02/2024;2\n")
    with pytest.raises(LedgerError) as ei:
        run(user_workbook, invoices=("facturas.csv", data.encode()))
    text = ei.value.render("es")
    assert 'facturas.csv, fila 2, columna "ID cliente": "C9"' in text
    assert 'facturas.csv, fila 2, columna "Fecha emisión": "31/02/2024"' in text
    assert 'facturas.csv, fila 2, columna "Importe": "abc"' in text
    assert ('facturas.csv, fila 3, columna "Factura": "F-30" — '
            'se esperaba un valor que no se repita (también en la fila 2)') in text
    assert user_workbook.read_bytes() == before


def test_payments_never_imported_twice(user_workbook: Path) -> None:
    data = b"payment_id,date,customer_id,invoice_id,amount\nP1,2024-04-06,C1,F-1,100\n"
    assert run(user_workbook, payments=("p.csv", data)).added == {"payments": 1}
    again = run(user_workbook, payments=("p.csv", data))
    assert again.added == {} and again.unchanged == {"payments": 1}
    pay = XlsxStore(user_workbook).load().payments
    assert len(pay) == 2 and pay["source"].tolist()[-1] == "import"


def test_overpayment_in_import_rejected(user_workbook: Path) -> None:
    data = b"date,customer_id,invoice_id,amount\n2024-04-06,C1,F-2,100.01\n"
    with pytest.raises(LedgerError, match="pagos que no superen"):
        run(user_workbook, payments=("p.csv", data))


def test_xlsx_export(user_workbook: Path, tmp_path: Path) -> None:
    import xlsxwriter

    export = tmp_path / "export.xlsx"
    wb = xlsxwriter.Workbook(str(export))
    ws = wb.add_worksheet("Export")
    ws.write_row(2, 0, ["Customer ID", "Name"])  # a title block above the header is fine
    ws.write(0, 0, "ERP export 2024")
    ws.write_row(3, 0, ["C8", "Ocho SL"])
    wb.close()
    assert run(user_workbook, customers=("export.xlsx", export.read_bytes())).added == {"customers": 1}


def test_unreadable_inputs(user_workbook: Path) -> None:
    with pytest.raises(ImportFileError, match="empty"):
        run(user_workbook, customers=("c.csv", b""))
    with pytest.raises(ImportFileError, match="not a readable spreadsheet"):
        run(user_workbook, customers=("c.xlsx", b"garbage"))
    assert decode_text("Cádiz".encode("cp1252")) == "Cádiz"
    assert decode_text("\ufeffCádiz".encode()) == "Cádiz"


def test_no_header_found(user_workbook: Path) -> None:
    with pytest.raises(ImportFileError, match="no header row"):
        run(user_workbook, customers=("c.csv", b"foo,bar\n1,2\n"))
