"""Behaviour of the statement readers on synthetic input: shapes, detection, pasted rows, errors, ids."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import numpy as np
import pytest

from cobro.bank import (
    StatementError,
    detect_format,
    header_role,
    make_line_id,
    neutralize_formula,
    read_pasted,
)
from cobro.bank._common import decode, iban_valid, join_text
from cobro.bank.n43 import spanish_iban
from cobro.money import format_decimal
from sync.bank_files import read_statement  # the host's reader: it also opens spreadsheet exports

SYNTH = Path(__file__).resolve().parent / "fixtures" / "bank" / "synthetic"
D = dt.date


def read(name: str, **kw: object):
    return read_statement((SYNTH / name).read_bytes(), name, **kw)  # type: ignore[arg-type]


def amounts(st) -> list[str]:
    return [format_decimal(ln.amount, ln.currency) for ln in st.lines]


# ----------------------------------------------------------------------------------- CSV shapes


def test_spanish_bank_csv() -> None:
    st = read("es_bank.csv")
    assert st.format == "csv"
    assert amounts(st) == ["1210.00", "-85.40", "2420.00", "-12.00", "0.01", "300.00", "300.00"]
    assert st.lines[0].date == D(2024, 3, 1) and st.lines[4].value_date == D(2024, 3, 12)
    assert {ln.account for ln in st.lines} == {"ES9121000418450200051332"}  # from the preamble
    assert st.lines[0].text == "TRANSFERENCIA DE FERRETERÍA NÚÑEZ S.L. FRA 2024-0113"  # Windows-1252
    assert st.lines[0].source_line == 6
    # the two identical transfers are two lines with two ids
    assert st.lines[5].text == st.lines[6].text and st.lines[5].line_id != st.lines[6].line_id
    # raw text is kept; neutralizing is the writer's job
    assert st.lines[4].text == '=HYPERLINK("http://example.invalid")'
    assert neutralize_formula(st.lines[4].text).startswith("'=")
    bal = st.balances[0]
    assert (bal.opening, bal.closing) == (500000, 913261)
    assert st.warnings == []


def test_debe_haber_csv_with_stated_opening_and_total_row() -> None:
    st = read("debe_haber.csv")
    assert amounts(st) == ["2500.00", "-1000.00", "725.50"]
    assert st.balances[0].opening == 1000000 and st.balances[0].closing == 1222550
    assert st.lines[0].account == "ES7620770024003102575766"
    assert st.warnings == []


def test_us_csv_month_first_and_thousands_commas() -> None:
    st = read("us_debit_credit.csv", default_currency="USD")
    assert [ln.date for ln in st.lines] == [D(2024, 3, 1), D(2024, 3, 4), D(2024, 3, 15)]
    assert amounts(st) == ["1250.00", "-25.00", "-300.00"]
    assert {ln.currency for ln in st.lines} == {"USD"}
    assert st.balances[0].closing == 1092500


def test_tab_separated_bom_cargo_abono_indicator_and_currency_column() -> None:
    st = read("tab_cargo_abono.tsv")
    assert amounts(st) == ["150.00", "-20.00", "99.99"]
    assert [ln.currency for ln in st.lines] == ["EUR", "EUR", "USD"]
    assert st.lines[1].value_date == D(2024, 4, 17)
    assert st.lines[0].text.startswith("ABONO TRANSFERENCIA DE ROSA DÍAZ")
    assert st.balances == []  # two currencies: no single balance to check


def test_csv_delimiters_and_encodings_agree() -> None:
    rows = [["Fecha", "Concepto", "Importe"], ["02/01/2024", "Cobro Núñez", "1.210,50"],
            ["15/01/2024", "Pago", "-20,00"]]
    results = []
    for delim in (";", "\t", "|"):
        text = "\n".join(delim.join(r) for r in rows)
        for enc in ("utf-8", "utf-8-sig", "cp1252"):
            results.append([(ln.date, ln.amount, ln.text) for ln in read_statement(text.encode(enc), "a.csv").lines])
    comma = "\n".join(",".join(f'"{c}"' for c in r) for r in rows)
    results.append([(ln.date, ln.amount, ln.text) for ln in read_statement(comma.encode(), "a.csv").lines])
    assert all(r == results[0] for r in results)
    assert results[0][0] == (D(2024, 1, 2), 121050, "Cobro Núñez")


def test_utf16_excel_unicode_text_export() -> None:
    text = "Fecha\tConcepto\tImporte\r\n31/01/2024\tCobro Ñandú\t10,00\r\n"
    st = read_statement(text.encode("utf-16"), "export.txt")
    assert st.lines[0].text == "Cobro Ñandú" and st.lines[0].amount == 1000


def test_decimal_mark_decided_per_column_and_by_exactness() -> None:
    # "1.234" alone is ambiguous; only the thousands reading fits euros exactly
    st = read_statement(b"Fecha;Concepto;Importe\n01/02/2024;A;1.234\n02/02/2024;B;2.000\n", "a.csv")
    assert [ln.amount for ln in st.lines] == [123400, 200000]
    st = read_statement(b"Date,Description,Amount\n2024-02-01,A,\"1,234\"\n2024-02-02,B,12.5\n", "a.csv")
    assert [ln.amount for ln in st.lines] == [123400, 1250]


def test_unsigned_amounts_signed_by_the_running_balance() -> None:
    data = (b"Fecha;Concepto;Importe;Saldo\n01/03/2024;Saldo anterior;;1.000,00\n02/03/2024;Cobro;200,00;1.200,00\n"
            b"03/03/2024;Pago;50,00;1.150,00\n04/03/2024;Pago;25,00;1.125,00\n")
    st = read_statement(data, "a.csv")
    assert amounts(st) == ["200.00", "-50.00", "-25.00"]  # the balance-only row is not a movement
    assert st.balances[0].closing == 112500
    assert any("carry no sign" in w for w in st.warnings)


def test_running_balance_break_is_a_warning_naming_the_line() -> None:
    data = b"Fecha;Concepto;Importe;Saldo\n01/03/2024;A;10,00;110,00\n02/03/2024;B;10,00;120,00\n" \
           b"03/03/2024;C;10,00;135,00\n04/03/2024;D;10,00;145,00\n05/03/2024;E;10,00;155,00\n"
    st = read_statement(data, "a.csv")
    assert len(st.lines) == 5
    assert any(w.startswith("line 4:") and "running balance" in w for w in st.warnings)


def test_dated_row_without_amount_is_a_warning_not_a_movement() -> None:
    st = read_statement(b"Fecha;Concepto;Importe\n01/03/2024;Cobro;10,00\n31/03/2024;Fin del extracto;\n", "a.csv")
    assert len(st.lines) == 1
    assert any(w.startswith("line 3:") and "no amount" in w for w in st.warnings)


def test_description_continued_on_next_row() -> None:
    st = read_pasted([["Fecha", "Concepto", "Importe"], ["01/02/2024", "TRANSFERENCIA DE ACME", "100,00"],
                      [None, "FRA 2024-0007", None], ["02/02/2024", "RECIBO", "-5,00"]])
    assert [ln.text for ln in st.lines] == ["TRANSFERENCIA DE ACME | FRA 2024-0007", "RECIBO"]


# ----------------------------------------------------------------------------------- pasted rows


def test_pasted_without_headers_typed_cells() -> None:
    rows = [[D(2024, 1, 15), "TRANSF. ACME SL FRA F-2024-0113", 1210.0, 5210.0],
            [dt.datetime(2024, 1, 16, 0, 0), "RECIBO AGUA", -40.5, 5169.5],
            [None, None, None, None],
            [D(2024, 1, 17), "INGRESO EFECTIVO", 100, 5269.5]]
    st = read_pasted(rows, first_row=5)
    assert st.format == "paste"
    assert amounts(st) == ["1210.00", "-40.50", "100.00"]
    assert [ln.source_line for ln in st.lines] == [5, 6, 8]
    assert st.balances[0].opening == 400000 and st.balances[0].closing == 526950


def test_pasted_without_headers_text_cells_any_order() -> None:
    rows = [["5.210,00", "1.210,00", "TRANSF. ACME", "15/01/2024"],
            ["5.169,50", "-40,50", "RECIBO AGUA", "16/01/2024"],
            ["5.269,50", "100,00", "INGRESO", "17/01/2024"]]
    st = read_pasted(rows)
    assert amounts(st) == ["1210.00", "-40.50", "100.00"]  # the balance column is told apart by its running sum
    assert st.balances[0].closing == 526950


def test_pasted_english_headers_any_order() -> None:
    rows = [["Description", "Amount", "Value date", "Date", "Balance"],
            ["Payment A", "-10", "2024-02-01", "2024-02-01", "90"],
            ["Receipt B", "20.5", "2024-02-03", "2024-02-02", "110.5"]]
    st = read_pasted(rows, default_currency="USD")
    assert [(ln.date, ln.value_date) for ln in st.lines] == [(D(2024, 2, 1), D(2024, 2, 1)),
                                                             (D(2024, 2, 2), D(2024, 2, 3))]
    assert amounts(st) == ["-10.00", "20.50"]


def test_pasted_separate_cargo_abono_columns_and_numpy_cells() -> None:
    rows = [["F. valor", "Fecha", "Descripción", "Cargo", "Abono"],
            [D(2024, 3, 2), D(2024, 3, 1), "Cobro", None, np.float64(1500.25)],
            [D(2024, 3, 2), D(2024, 3, 2), "Comisión", np.int64(3), None]]
    st = read_pasted(rows)
    assert amounts(st) == ["1500.25", "-3.00"]
    assert st.lines[0].date == D(2024, 3, 1) and st.lines[0].value_date == D(2024, 3, 2)


def test_pasted_under_the_templates_headers_in_another_order() -> None:
    rows = [["Fecha", "F. valor", "Concepto", "Importe", "Saldo"],  # the Statement sheet's own headers
            ["15/01/2024", "TRANSF ACME", "1.210,00", "5.210,00"],  # the bank's columns, one fewer
            ["16/01/2024", "RECIBO", "-40,50", "5.169,50"]]
    st = read_pasted(rows)
    assert amounts(st) == ["1210.00", "-40.50"] and [ln.text for ln in st.lines] == ["TRANSF ACME", "RECIBO"]
    assert st.balances[0].closing == 516950
    assert any("recognised by its content" in w for w in st.warnings)


def test_pasted_debe_haber_letters_without_headers() -> None:
    st = read_pasted([["15/01/2024", "TRANSF ACME", "1.210,00", "H"], ["16/01/2024", "RECIBO", "40,50", "D"]])
    assert amounts(st) == ["1210.00", "-40.50"]


def test_pasted_debit_credit_columns_without_headers_and_trimmed_rows() -> None:
    # Google Sheets drops trailing empty cells, so a debit row is shorter than a credit row
    st = read_pasted([["01/02/2024", "Cobro", "", "100,00"], ["02/02/2024", "Pago", "20,00"],
                      ["03/02/2024", "Pago", "5,00", ""]])
    assert amounts(st) == ["100.00", "-20.00", "-5.00"]


def test_pasted_code_column_is_not_taken_for_the_amount() -> None:
    st = read_pasted([[D(2024, 1, 2), 418.0, "Cobro", 100.5], [D(2024, 1, 3), 418.0, "Pago", -20.0]])
    assert amounts(st) == ["100.50", "-20.00"]


def test_pasted_amounts_that_do_not_fit_the_currency() -> None:
    with pytest.raises(StatementError, match="row 1: column 3: '12.345,678' is not an amount .*more decimals"):
        read_pasted([["01/02/2024", "Cobro", "12.345,678"], ["02/02/2024", "Pago", "1.000,5"]])


def test_pasted_excel_serial_dates_under_a_date_header() -> None:
    st = read_pasted([["Fecha", "Concepto", "Importe"], [45306, "Cobro", 10], [45307.0, "Pago", -2]])
    assert [ln.date for ln in st.lines] == [D(2024, 1, 15), D(2024, 1, 16)]


def test_pasted_whole_lines_in_one_column() -> None:
    st = read_pasted([["Fecha\tConcepto\tImporte"], ["15/01/2024\tCobro\t1.210,00"], ["16/01/2024\tPago\t-3,00"]],
                     first_row=2)
    assert amounts(st) == ["1210.00", "-3.00"] and [ln.source_line for ln in st.lines] == [3, 4]


def test_pasted_textual_month_dates() -> None:
    st = read_pasted([["15 ene 2024", "Cobro", "10,00"], ["16-feb-2024", "Pago", "-1,00"],
                      ["Mar 3, 2024", "Otro", "2,00"]])
    assert [ln.date for ln in st.lines] == [D(2024, 1, 15), D(2024, 2, 16), D(2024, 3, 3)]


def test_pasted_errors_name_the_sheet_row() -> None:
    with pytest.raises(StatementError) as e:
        read_pasted([["Fecha", "Concepto", "Importe"], ["01/02/2024", "A", "10"], ["30/02/2024", "B", "5"]],
                    first_row=4)
    assert str(e.value).startswith("row 6: column \"Fecha\"") and e.value.line == 6 and e.value.unit == "row"
    with pytest.raises(StatementError, match="nothing was pasted"):
        read_pasted([[None, ""], []])


def test_header_roles() -> None:
    want = {"Fecha": "date", "F. valor": "value_date", "Fecha valor": "value_date", "Concepto": "text",
            "Descripción": "text", "Importe": "amount", "Cargo/Abono": "indicator", "Debe/Haber": "indicator",
            "Cargo": "debit", "Abono": "credit", "Debe": "debit", "Haber": "credit", "Saldo": "balance",
            "Date": "date", "Value date": "value_date", "Description": "text", "Amount": "amount",
            "Debit/Credit": "indicator", "Debit": "debit", "Credit": "credit", "Balance": "balance",
            "Moneda": "currency", "Divisa": "currency", "Referencia": "reference", "Beneficiario": "name",
            "Buchungstext": "text", "Wertstellungsdatum": "value_date", "Betrag": "amount",
            "Auftraggeber/Empfänger": "name", "Amount Currency": "orig_amount", "Operation Number": "reference"}
    assert {h: header_role(h) for h in want} == want


# ----------------------------------------------------------------------------------- structured formats


def test_ofx2_xml() -> None:
    st = read("ofx2_xml.ofx")
    assert st.format == "ofx"
    assert amounts(st) == ["1210.00", "-85.40", "2420.00"]
    assert st.lines[0].value_date == D(2024, 3, 6)  # DTAVAIL
    assert st.lines[1].counterparty_name == "Endesa & Cía"
    third = st.lines[2]
    assert third.counterparty_name == "García y Asociados" and third.counterparty_iban == "ES7620770024003102575766"
    assert third.text == "García y Asociados | F-2024-0120 F-2024-0121" and third.bank_reference == "2024031500003"
    assert st.balances[0].closing == 854460 and st.balances[0].opening is None


def test_ofx_sgml_without_closing_tags_and_stray_characters() -> None:
    data = (b"OFXHEADER:100\nDATA:OFXSGML\nVERSION:102\nCHARSET:1252\n\n<OFX><BANKMSGSRSV1><STMTTRNRS><STMTRS>"
            b"<CURDEF>EUR<BANKACCTFROM><ACCTID>123</BANKACCTFROM><BANKTRANLIST>"
            b"<STMTTRN><TRNTYPE>CREDIT<DTPOSTED>20240105<TRNAMT>12,50<FITID>A1<NAME>Pe\xf1a & Hijos < S.A.<MEMO>"
            b"</STMTTRN></BANKTRANLIST></STMTRS></STMTTRNRS></BANKMSGSRSV1></OFX>")
    st = read_statement(data, "x.ofx")
    assert st.lines[0].amount == 1250 and st.lines[0].counterparty_name == "Peña & Hijos < S.A."


def test_camt_v08_structured_reference_pending_and_unsplittable_batch() -> None:
    st = read("camt053_v08.xml")
    assert amounts(st) == ["1210.00", "2420.00", "-85.40", "-500.00"]
    first = st.lines[0]
    assert first.date == D(2024, 3, 5)  # BookgDt/DtTm
    assert first.counterparty_name == "Ferretería Núñez S.L." and first.counterparty_iban == "ES7620770024003102575766"
    assert "RF18539007547034" in first.text and "Grupo Núñez" in first.text
    assert "F-2024-0120" in st.lines[1].text and "F-2024-0121" in st.lines[1].text
    assert st.lines[2].text == "RECIBO ENDESA ENERGIA" and st.lines[3].counterparty_iban == "0182-0000-00"
    assert any("do not each carry an amount" in w for w in st.warnings)
    assert any("not booked" in w for w in st.warnings)
    assert not any("do not add up" in w or "summary" in w for w in st.warnings)


def test_n43_two_accounts_sepa_and_equivalence() -> None:
    st = read("two_accounts_sepa.n43")
    assert st.warnings == []
    assert [b.account for b in st.balances] == ["ES9121000418450200051332", "ES7620770024003102575766"]
    assert [(b.opening, b.closing) for b in st.balances] == [(500000, 622460), (-25000, 0)]
    transfer, debit, usd = st.lines[:3]
    assert transfer.counterparty_name == "FERRETERIA NUNEZ SOCIEDAD LIMITADA UNIPERSONAL DE MADRID"
    assert "FRA 2024-0113 Y ABONO PARCIAL DE LA FRA 2024-0099 SEGUN ACUERDO" in transfer.text
    assert "B12345678" in transfer.text
    assert debit.counterparty_name == "ENDESA ENERGIA SAU" and debit.bank_reference == "FE24-000456"
    assert usd.text.endswith("orig. 108.50 USD") and usd.counterparty_name == "JOHN SMITH LTD"


def test_n43_totals_that_disagree_are_warnings() -> None:
    data = (SYNTH / "two_accounts_sepa.n43").read_bytes().decode("latin-1")
    lines = data.split("\r\n")
    i = next(k for k, rec in enumerate(lines) if rec.startswith("33"))
    lines[i] = lines[i][:20] + "00002" + lines[i][25:]  # claim two debits
    st = read_statement("\r\n".join(lines).encode("latin-1"), "x.n43")
    assert len(st.lines) == 4
    assert any(w.startswith(f"line {i + 1}:") and "2 debits" in w for w in st.warnings)


def test_spanish_iban_from_norma43_parts() -> None:
    assert spanish_iban("2100", "0418", "0200051332") == "ES9121000418450200051332"
    assert iban_valid(spanish_iban("0081", "4797", "6995216857"))


def test_mt940_german_subfields_and_reversal_of_debit() -> None:
    st = read("german_subfields.sta")
    assert amounts(st) == ["1210.00", "-85.40", "12.00"]  # RD (reversal of a debit) is a credit
    first = st.lines[0]
    assert first.bank_reference == "RE-2024-0113"  # EREF+
    assert first.counterparty_name == "Ferreteria Nunez S.L. Madrid"  # ?32 + ?33
    assert first.counterparty_iban == "DE02120300000000202051"  # ?31
    assert "SVWZ+Rechnung RE-2024-0113 Danke schoen" in first.text
    assert first.account == "DE89370400440532013000"
    assert st.lines[1].bank_reference == "MREF123"  # EREF NOTPROVIDED: the customer reference
    assert st.warnings == []


def test_mt940_sum_mismatch_and_missing_closing_are_warnings() -> None:
    data = (b":20:X\n:25:ACC1\n:28C:1\n:60F:C240101EUR100,00\n:61:240102C10,00NTRFNONREF\n:86:A\n"
            b":62F:C240102EUR110,00\n:86:/SUM/0/2/0,00/20,00/\n-\n:20:Y\n:25:ACC1\n:60F:C240102EUR110,00\n"
            b":61:240103D5,00NTRFNONREF\n:86:B\n")
    st = read_statement(data, "x.sta")
    assert amounts(st) == ["10.00", "-5.00"]
    assert any("totals say 0 debits" in w for w in st.warnings)
    assert any("no closing balance" in w for w in st.warnings)


def test_spreadsheet_export() -> None:
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    info = book.active
    info.title = "Info"
    info["A1"] = "Consulta"
    sheet = book.create_sheet("Movimientos")
    sheet["A1"] = "Consulta de movimientos"
    sheet["A2"], sheet["B2"] = "Cuenta", "ES91 2100 0418 4502 0005 1332"
    sheet.append([])
    sheet.append(["Fecha operación", "Fecha valor", "Concepto", "Importe", "Saldo"])
    sheet.append([dt.datetime(2024, 3, 1), dt.datetime(2024, 3, 1), "TRANSFERENCIA DE ACME FRA 2024-0113", 1210,
                  6210.0])
    sheet.append([dt.datetime(2024, 3, 4), dt.datetime(2024, 3, 5), "RECIBO LUZ", -85.4, 6124.6])
    sheet.append([dt.datetime(2024, 3, 6), None, "INGRESO", 0.1 + 0.2, 6124.9])
    buffer = io.BytesIO()
    book.save(buffer)
    st = read_statement(buffer.getvalue(), "extracto.xlsx")
    assert st.format == "xlsx"
    assert amounts(st) == ["1210.00", "-85.40", "0.30"]  # 0.1 + 0.2 read through its shortest repr
    assert [ln.source_line for ln in st.lines] == [5, 6, 7]  # sheet rows
    assert st.lines[1].value_date == D(2024, 3, 5) and st.lines[0].account == "ES9121000418450200051332"
    assert st.balances[0].opening == 500000 and st.balances[0].closing == 612490
    bad = buffer.getvalue()
    sheet.cell(row=6, column=1, value="no es fecha")
    buffer = io.BytesIO()
    book.save(buffer)
    with pytest.raises(StatementError, match="extracto.xlsx, sheet 'Movimientos': row 6: column"):
        read_statement(buffer.getvalue(), "extracto.xlsx")
    with pytest.raises(StatementError, match="cannot be opened"):
        read_statement(bad[: len(bad) // 2], "extracto.xlsx")


# ----------------------------------------------------------------------------------- detection


@pytest.mark.parametrize("name, fmt", [
    ("es_bank.csv", "csv"), ("debe_haber.csv", "csv"), ("tab_cargo_abono.tsv", "csv"), ("ofx2_xml.ofx", "ofx"),
    ("camt053_v08.xml", "camt053"), ("two_accounts_sepa.n43", "n43"), ("german_subfields.sta", "mt940"),
])
def test_detect_format_by_content_not_name(name: str, fmt: str) -> None:
    data = (SYNTH / name).read_bytes()
    assert detect_format(data, name) == fmt
    assert detect_format(data, "export.txt") == fmt
    assert detect_format(data, "") == fmt


def test_extension_picks_the_reader_that_explains_the_problem() -> None:
    with pytest.raises(StatementError, match="not a Norma 43 record type"):
        read_statement(b"hello world\n", "extracto.n43")
    with pytest.raises(StatementError, match="not an OFX file|no OFX elements"):
        read_statement(b"just text", "x.ofx")


# ----------------------------------------------------------------------------------- errors


@pytest.mark.parametrize("data, name, message", [
    (b"", "a.csv", "the file is empty"),
    (b" \r\n\r\n", "a.csv", "the file is empty"),
    (b"PK\x03\x04\x14\x00rest", "extracto.xlsx", "the spreadsheet cannot be opened"),
    (b"PK\x03\x04\x14\x00rest", "extracto.zip", "ZIP"),
    (b"%PDF-1.7\n...", "extracto.pdf", "PDF"),
    (bytes(range(256)) * 4, "x.bin", "not a bank statement cobro can read"),
    (b"Fecha;Concepto\n01/02/2024;Pago\n02/02/2024;Cobro\n", "a.csv", "no amount column"),
    (b"Concepto;Importe\nPago;10,00\n", "a.csv", "line 2: no date column found"),
    (b"hola;mundo\n10,00;Pago\n", "a.txt", "no row has a date"),
    (b"Fecha;Concepto;Importe\n31/02/2024;Pago;10,00\n01/03/2024;Cobro;5,00\n", "a.csv",
     'line 2: column "Fecha": \'31/02/2024\' is not a valid date'),
    (b"Fecha;Concepto;Importe\n01/02/2024;Pago;10,00\n02/02/2024;Cobro;diez\n", "a.csv",
     'line 3: column "Importe": \'diez\' is not an amount'),
    (b"Fecha;Concepto;Importe\n01/02/2024;Pago;10,001\n02/02/2024;Cobro;5,00\n", "a.csv", "more decimals than EUR"),
    (b"Fecha;Concepto;Importe;Moneda\n01/02/2024;Pago;10,00;XYZ\n", "a.csv", "'XYZ' is not an ISO 4217"),
    (b"Fecha;Concepto;Importe\n", "a.csv", "header but no rows"),
    (b"Fecha,Concepto,Importe\n01/02/2024,Pago, con coma,10.00\n02/02/2024,B,1.00\n", "a.csv",
     "line 2: this row has 4"),
    (b'<?xml version="1.0"?><Invoice><Id>1</Id></Invoice>', "a.xml", "not a CAMT.053 bank statement"),
    (b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.052.001.02"><BkToCstmrAcctRpt/></Document>', "a.xml",
     "CAMT.052 account report"),
    (b"<Document><BkToCstmrStmt><Stmt><Ntry><Amt Ccy='EUR'>1.00</Amt><CdtDbtInd>XX</CdtDbtInd>"
     b"<BookgDt><Dt>2024-01-01</Dt></BookgDt></Ntry></Stmt></BkToCstmrStmt></Document>", "a.xml",
     "line 1: credit/debit indicator 'XX'"),
    (b"<Document><BkToCstmrStmt><Stmt><Ntry><Amt Ccy='EUR'>1.00</Amt><CdtDbtInd>CRDT</CdtDbtInd>"
     b"<BookgDt><Dt>2024-02-30</Dt></BookgDt></Ntry></Stmt></BkToCstmrStmt></Document>", "a.xml", "not a valid date"),
    (b"<Document><BkToCstmrStmt><Stmt><Ntry><Amt Ccy='EUR'>1.00</Amt><CdtDbtInd>CRDT</CdtDbtInd>"
     b"<BookgDt><Dt>2024-01-30</Dt></BookgDt></Ntry></Stmt>", "a.xml", "malformed or cut short"),
    (b":20:X\n:25:A\n:60F:C240101EUR1,00\n:61:24010X\n:62F:C240101EUR1,00\n", "a.sta", "line 4: movement :61:"),
    (b":20:X\n:25:A\n:60F:C240101EU1,00\n:61:240101C1,\n", "a.sta", "line 3: balance :60F:"),
    (b"OFXHEADER:100\n<OFX><BANKMSGSRSV1><STMTTRNRS><STMTRS><CURDEF>EUR<BANKTRANLIST><STMTTRN><TRNTYPE>DEBIT"
     b"<DTPOSTED>20240101<FITID>1</STMTTRN></BANKTRANLIST></STMTRS></STMTTRNRS></BANKMSGSRSV1></OFX>", "a.ofx",
     "line 2: a transaction (STMTTRN) has no amount"),
    (b"OFXHEADER:100\n<OFX><SIGNONMSGSRSV1></SIGNONMSGSRSV1></OFX>", "a.ofx", "no bank or credit-card statement"),
])
def test_clear_errors(data: bytes, name: str, message: str) -> None:
    with pytest.raises(StatementError) as e:
        read_statement(data, name)
    assert message in str(e.value)
    assert str(e.value).startswith(f"{name}: ")


@pytest.mark.parametrize("name, marker, offset", [
    ("ofx2_xml.ofx", b"<TRNAMT>", 3), ("camt053_v08.xml", b"<Ntry>", 40), ("german_subfields.sta", b":61:", 10),
    ("two_accounts_sepa.n43", b"\r\n22", 30),
])
def test_truncated_files_fail_with_the_line(name: str, marker: bytes, offset: int) -> None:
    """Cut inside a record: a clear error naming the line (a cut between records reads, with warnings)."""
    raw = (SYNTH / name).read_bytes()
    data = raw[:raw.index(marker) + offset]
    with pytest.raises(StatementError) as e:
        read_statement(data, name)
    assert e.value.line is not None and e.value.line >= 1


def test_truncated_at_a_record_boundary_reads_with_warnings() -> None:
    data = (SYNTH / "two_accounts_sepa.n43").read_bytes()
    cut = data[: data.index(b"\r\n33") + 2]
    st = read_statement(cut, "x.n43")
    assert len(st.lines) == 3
    assert any("may be incomplete" in w for w in st.warnings)


def test_n43_bad_records() -> None:
    good = (SYNTH / "two_accounts_sepa.n43").read_bytes().decode("latin-1").split("\r\n")
    bad_currency = [good[0][:47] + "999" + good[0][50:], *good[1:]]
    with pytest.raises(StatementError, match="line 1: currency code '999'"):
        read_statement("\r\n".join(bad_currency).encode("latin-1"), "x.n43")
    bad_sign = [good[0], good[1][:27] + "7" + good[1][28:], *good[2:]]
    with pytest.raises(StatementError, match="line 2: the movement's debit/credit code '7'"):
        read_statement("\r\n".join(bad_sign).encode("latin-1"), "x.n43")
    unknown = [*good[:3], "77" + "x" * 78, *good[3:]]
    with pytest.raises(StatementError, match="line 4: '77' is not a Norma 43 record type"):
        read_statement("\r\n".join(unknown).encode("latin-1"), "x.n43")


# ----------------------------------------------------------------------------------- ids and text


def test_line_ids_survive_an_extended_statement() -> None:
    base = "Fecha;Concepto;Importe\n01/02/2024;Cobro;10,00\n01/02/2024;Cobro;10,00\n"
    first = read_statement(base.encode(), "a.csv")
    longer = read_statement((base + "02/02/2024;Pago;-1,00\n").encode(), "b.csv")
    assert [ln.line_id for ln in longer.lines[:2]] == [ln.line_id for ln in first.lines]
    assert first.lines[0].line_id == make_line_id("", D(2024, 2, 1), 1000, "Cobro", "", 0)
    assert first.lines[1].line_id == make_line_id("", D(2024, 2, 1), 1000, "Cobro", "", 1)


def test_join_text_and_decode() -> None:
    assert join_text(["  A\nB ", "", None, "a b", "C"]) == "A B | C"
    assert decode("Ñandú".encode("cp1252")) == ("Ñandú", "cp1252")
    assert decode("Ñandú".encode(), "1252") == ("Ñandú", "utf-8")  # valid UTF-8 wins over a header
    assert decode(b"\x81\x8d")[0] == "\x81\x8d"  # bytes cp1252 leaves undefined are read as Latin-1
