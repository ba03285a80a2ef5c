"""Terms the law allows (issue 13 §1): invoices whose payment term exceeds the legal maximum where the company is
(Spain 60 days, Ley 3/2004 art. 4; Chile 30 days, Ley 21.131) are warned about, with sheet/file and row, on import
and refresh; the maxima are data (cobro/data/legal_terms.py) and Settings can set their own."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from click.testing import CliRunner

from cobro.interest import terms_warnings
from cobro.ledger import empty_ledger, make_frame, parse_settings
from cobro.schema import INVOICES
from sync.imports import import_files
from sync.xlsx_store import XlsxStore


def ledger(country: str, **extra: str):
    inv = [{"invoice_id": f"F-{days}", "customer_id": "C1", "issue_date": dt.datetime(2026, 1, 1),
            "due_date": dt.datetime(2026, 1, 1) + dt.timedelta(days=days), "amount": 100, "currency": "EUR",
            "status": status, "_row": row}
           for row, (days, status) in enumerate([(30, "open"), (45, "open"), (60, "open"), (61, "open"),
                                                 (90, "cancelled"), (120, "disputed")], start=2)]
    return empty_ledger(parse_settings({"country": country, **extra})).replace(invoices=make_frame(INVOICES, inv))


def test_spain_sixty_days_chile_thirty_and_settings_override() -> None:
    es = terms_warnings(ledger("ES"))
    assert [(w.invoice_id, w.row, w.days, w.maximum) for w in es] == [("F-61", 5, 61, 60), ("F-120", 7, 120, 60)]
    assert es[0].message("es") == ('Facturas, fila 5, columna "Vencimiento": la factura F-61 vence a 61 días de su '
                                   'emisión; el plazo máximo legal en España es de 60 días (Ley 3/2004, art. 4.3)')
    assert "legal maximum in Spain is 60 days" in es[0].message("en")
    cl = terms_warnings(ledger("CL"))
    assert [w.invoice_id for w in cl] == ["F-45", "F-60", "F-61", "F-120"] and cl[0].source == "Ley 21.131"
    assert terms_warnings(ledger("US")) == []
    assert [w.invoice_id for w in terms_warnings(ledger("US", max_payment_terms_days="44"))] == [
        "F-45", "F-60", "F-61", "F-120"]
    assert terms_warnings(ledger("ES", max_payment_terms_days="none")) == []


def test_import_warns_with_file_line_and_header(user_workbook: Path) -> None:
    data = ("Factura;ID cliente;Fecha emisión;Vencimiento;Importe\n"
            "F-80;C1;01/02/2024;01/03/2024;10\nF-81;C1;01/02/2024;01/05/2024;20\n")
    report = import_files(XlsxStore(user_workbook), {"invoices": ("facturas.csv", data.encode("utf-8"))})
    assert report.added == {"invoices": 2}
    (w,) = report.warnings
    assert (w.sheet, w.row, w.column, w.invoice_id, w.days) == ("facturas.csv", 3, "Vencimiento", "F-81", 90)
    assert w.message("es").startswith('facturas.csv, línea 3, columna "Vencimiento": la factura F-81 vence a 90')
    assert report.to_json()["warnings"][0]["invoice_id"] == "F-81"


def test_refresh_command_warns_on_stderr(user_workbook: Path) -> None:
    from cobro_cli import main

    data = "invoice_id,customer_id,issue_date,due_date,amount\nF-90,C1,2024-02-01,2024-06-01,10\n"
    import_files(XlsxStore(user_workbook), {"invoices": ("i.csv", data.encode())})
    r = CliRunner().invoke(main, ["refresh", str(user_workbook), "--as-of", "2024-07-01"])
    assert r.exit_code == 0, r.output
    assert "F-90" in r.output and "121" in r.output and "60" in r.output
