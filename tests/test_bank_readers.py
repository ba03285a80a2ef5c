"""Reader defects of issue 8, each on a minimal file written here (see the golden tests for public samples)."""

from __future__ import annotations

import datetime as dt

import pytest

from cobro.bank import StatementError, read_statement

D = dt.date

OFX_HEAD = b"OFXHEADER:100\nDATA:OFXSGML\nCHARSET:1252\n\n<OFX><BANKMSGSRSV1><STMTTRNRS><STMTRS><CURDEF>EUR"
OFX_TAIL = b"</BANKTRANLIST></STMTRS></STMTTRNRS></BANKMSGSRSV1></OFX>"


def test_ofx_cdata_name_and_memo() -> None:
    data = (OFX_HEAD + b"<BANKACCTFROM><ACCTID>123</BANKACCTFROM><BANKTRANLIST>"
            b"<STMTTRN><TRNTYPE>CREDIT<DTPOSTED>20240105<TRNAMT>12.50<FITID>A1"
            b"<NAME><![CDATA[Smith & Sons <Ltd>]]></NAME><MEMO><![CDATA[Invoice 31]]></MEMO></STMTTRN>" + OFX_TAIL)
    ln = read_statement(data, "x.ofx").lines[0]
    assert ln.counterparty_name == "Smith & Sons <Ltd>"
    assert ln.text == "Smith & Sons <Ltd> | Invoice 31"


def test_ofx_cdata_public_sample() -> None:
    """ofxparse's suncorp.ofx (MIT): ofxparse asserts payee and memo as below."""
    path = __import__("pathlib").Path(__file__).parent / "fixtures" / "bank" / "ofx" / "ofxparse_suncorp_cdata.ofx"
    ln = read_statement(path.read_bytes(), "suncorp.ofx").lines[0]
    assert ln.counterparty_name == "EFTPOS WDL HANDYWAY ALDI STORE" and ln.amount == -1685
    assert "EFTPOS WDL HANDYWAY ALDI STORE   GEELONG WEST VICAU" in ln.text


def test_ofx_deep_nesting_and_repeats_read_in_one_pass() -> None:
    """Shapes that took minutes (issue 15): now read (or refused) at once; bench/bench_statements.py times them."""
    nested = OFX_HEAD + b"<BANKTRANLIST>" + b"<A>" * 50_000 + b"</A>" + b"</OFX>"
    st = read_statement(nested, "x.ofx")
    assert st.lines == []
    memos = (OFX_HEAD + b"<BANKTRANLIST><STMTTRN><TRNAMT>1<DTPOSTED>20240101<FITID>1" + b"<MEMO>x" * 50_000
             + b"</STMTTRN>" + OFX_TAIL)
    ln = read_statement(memos, "x.ofx").lines[0]
    assert ln.text == " ".join(["x"] * 50_000)


CAMT = """<?xml version="1.0"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:{ns}"><{outer}><GrpHdr><MsgId>1</MsgId></GrpHdr>
<{inner}><Id>S1</Id><Acct><Id><IBAN>{iban}</IBAN></Id><Ccy>EUR</Ccy></Acct>
<Ntry><Amt Ccy="EUR">10.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>
<BookgDt><DtTm>2014-01-04T23:00:00Z</DtTm></BookgDt><ValDt><Dt>2014-01-05</Dt></ValDt>
<AddtlNtryInf>PAYMENT</AddtlNtryInf></Ntry>
<Ntry><Amt Ccy="EUR">-5.00</Amt><CdtDbtInd>DBIT</CdtDbtInd><RvslInd>true</RvslInd><Sts>BOOK</Sts>
<BookgDt><Dt>2014-01-06</Dt></BookgDt><NtryDtls><TxDtls><Refs><EndToEndId>E2E-77</EndToEndId></Refs>
<RtrInf><Rsn><Cd>MS03</Cd></Rsn></RtrInf></TxDtls></NtryDtls></Ntry>
</{inner}></{outer}></Document>"""


def _camt(ns: str = "camt.053.001.02", outer: str = "BkToCstmrStmt", inner: str = "Stmt",
          iban: str = "LT121000011101001000") -> bytes:
    return CAMT.format(ns=ns, outer=outer, inner=inner, iban=iban).replace("-5.00", "5.00").encode()


def test_camt_booking_moment_is_dated_in_the_banks_time_zone() -> None:
    st = read_statement(_camt(), "x.xml")
    assert st.lines[0].date == D(2014, 1, 5)  # 23:00 UTC is 01:00 on the 5th in Vilnius
    st = read_statement(_camt(iban="PT50000201231234567890154"), "x.xml")
    assert st.lines[0].date == D(2014, 1, 4)  # Lisbon is UTC in winter
    st = read_statement(_camt(iban=""), "x.xml")
    assert st.lines[0].date == D(2014, 1, 4)  # no IBAN: the date as written


def test_camt052_is_read_like_camt053() -> None:
    st = read_statement(_camt("camt.052.001.02", "BkToCstmrAcctRpt", "Rpt"), "report.xml")
    assert st.format == "camt052" and [ln.amount for ln in st.lines] == [1000, -500]


def test_camt_reversal_is_a_return_with_the_original_reference() -> None:
    st = read_statement(_camt(), "x.xml")
    assert [ln.kind for ln in st.lines] == ["payment", "return"]
    assert st.lines[1].return_of == "E2E-77"


def test_size_limit_message() -> None:
    from cobro.bank import MAX_STATEMENT_BYTES

    with pytest.raises(StatementError, match=r"^big.ofx: the file is 32.0 MB; cobro reads statement files of up to"):
        read_statement(b"x" * (MAX_STATEMENT_BYTES + 1), "big.ofx")


# ----------------------------------------------------------------------------------- MT940

FIX = __import__("pathlib").Path(__file__).resolve().parent / "fixtures" / "bank" / "mt940"


def _mt940(*statements: str) -> bytes:
    return "\r\n".join(statements).encode("latin-1")


EUR = (":20:S1\r\n:25:NL91ABNA0417164300\r\n:28C:1\r\n:60F:C240101EUR100,00\r\n"
       ":61:2401020102C10,00NTRFINV-31//BANKREF9\r\n:86:/EREF/E1/REMI/USTD//Factuur 31/\r\n:62F:C240102EUR110,00")
DEM = (":20:S2\r\n:25:DE89370400440532013000\r\n:28C:1\r\n:60F:C010101DEM100,00\r\n"
       ":61:0101020102C10,00NTRFNONREF\r\n:86:ALT\r\n:62F:C010102DEM110,00")
PLN = (":20:S3\r\n:25:PL61109010140000071219812874\r\n:28C:1\r\n:60F:C240101PLN5,00\r\n"
       ":61:2401030103D1,00S   X\r\n:86:OPLATA\r\n:62F:C240103PLN4,00\r\n-")


def test_mt940_statement_in_an_obsolete_currency_is_left_out_not_the_file() -> None:
    st = read_statement(_mt940(EUR, DEM, PLN), "x.sta")
    assert [(ln.currency, ln.amount) for ln in st.lines] == [("EUR", 1000), ("PLN", -100)]
    assert any("statement S2 (line 8, account DE89370400440532013000) was left out" in w and "'DEM'" in w
               for w in st.warnings)
    with pytest.raises(StatementError, match="line 4: .*'DEM'"):
        read_statement(_mt940(DEM), "x.sta")  # nothing else to keep: refused as before


def test_mt940_references_type_code_and_bank_reference() -> None:
    st = read_statement(_mt940(EUR, PLN), "x.sta")
    eur, pln = st.lines
    assert eur.bank_reference == "E1" and "INV-31" in eur.text and "BANKREF9" in eur.text  # // kept as text
    assert pln.bank_reference == "X"  # the type code "S   " does not leak into the reference


def test_mt940_wrapped_86_joined_inside_words() -> None:
    full = "Betaling factuur 2024-0031 van de firma Janssen Installatietechniek BV te Utrecht"
    first, rest = full[:61], full[61:]  # ":86:" + 61 characters = 65: the bank wrapped inside "Installatietechniek"
    assert first.endswith("Installatiete") and rest.startswith("chniek")
    text = EUR.replace(":86:/EREF/E1/REMI/USTD//Factuur 31/", f":86:{first}\r\n{rest}")
    assert read_statement(_mt940(text), "x.sta").lines[0].text.startswith(full)
    short = EUR.replace(":86:/EREF/E1/REMI/USTD//Factuur 31/", ":86:Factuur 31\r\nJanssen")
    assert read_statement(_mt940(short), "x.sta").lines[0].text.startswith("Factuur 31 Janssen")


def test_mt940_returns() -> None:
    rtrn = EUR.replace("/EREF/E1/REMI/USTD//Factuur 31/", "/RTRN/MS03/EREF/E-ORIG-7/REMI/USTD//Factuur 31/")
    ln = read_statement(_mt940(rtrn), "x.sta").lines[0]
    assert ln.kind == "return" and ln.return_of == "E-ORIG-7"
    storno = EUR.replace("C10,00NTRF", "RC10,00NTRF").replace("C240102EUR110,00", "C240102EUR90,00")
    ln = read_statement(_mt940(storno), "x.sta").lines[0]
    assert ln.kind == "return" and ln.amount == -1000


def test_mt940_public_samples() -> None:
    """wolph/mt940 samples (BSD-3 / MIT, see ATTRIBUTION.md): NS blocks, CP852, old Rabobank lines."""
    ns = read_statement((FIX / "wolph_sberbank_ns.sta").read_bytes(), "a.sta").lines[0]
    assert ns.counterparty_name == "ERGO Versicherung AG Fioktelep" and ns.bank_reference == "X"
    assert "7.21HUF" in ns.text
    cp852 = read_statement((FIX / "wolph_raiffeisen_cmi_cp852.sta").read_bytes(), "a.sta").lines
    assert "Csoportos átutalás jóváírása" in cp852[0].text and "Díj, jutalék" in cp852[3].text
    rabo = read_statement((FIX / "wolph_jejik_rabobank.sta").read_bytes(), "a.sta").lines[0]
    # wolph asserts customer_reference '0121470966', extra_details 'W.P. Jansen'
    assert rabo.counterparty_iban == "0121470966" and rabo.counterparty_name == "W.P. Jansen"
    assert rabo.bank_reference == ""


# ----------------------------------------------------------------------------------- Norma 43


def _n43(common: str, sign: str, text: str) -> bytes:
    head = "11" + "2100" + "0418" + "0200051332" + "240301" + "240331" + "2" + "00000000500000" + "978" + "3"
    head = head.ljust(51) + "ACME DISTRIBUCIONES SL".ljust(29)
    mov = ("22" + "    " + "0418" + "240305" + "240305" + common + "016" + sign + "00000000012100" + "0000000000"
           + "000000000000" + "RCB-2024-77".ljust(16))
    concept = "2301" + text.ljust(76)
    closing = 4879000 if sign == "1" else 5121000
    tail = ("33" + "2100" + "0418" + "0200051332" + ("00001" + "00000000012100" + "00000" + "00000000000000"
            if sign == "1" else "00000" + "00000000000000" + "00001" + "00000000012100")
            + "2" + f"{closing:014d}" + "978")
    return "\r\n".join([head, mov, concept, tail.ljust(80), "88" + "9" * 18 + "000004"]).encode("latin-1")


def test_n43_devolucion_is_a_return_and_commission_a_fee() -> None:
    ret = read_statement(_n43("14", "1", "DEVOLUCION RECIBO CLIENTE"), "x.n43").lines[0]
    assert ret.kind == "return" and ret.amount == -12100 and ret.return_of == "RCB-2024-77"
    fee = read_statement(_n43("17", "1", "COMISION MANTENIMIENTO"), "x.n43").lines[0]
    assert fee.kind == "fee" and fee.return_of == ""
    pay = read_statement(_n43("02", "2", "INGRESO"), "x.n43").lines[0]
    assert pay.kind == "payment" and pay.amount == 12100


# ----------------------------------------------------------------------------------- tables (CSV, pasted rows)

PAYPAL_EN = """\
"Date","Time","TimeZone","Name","Type","Status","Currency","Gross","Fee","Net","From Email Address","Transaction ID",\
"Shipping and Handling Amount","Sales Tax","Balance","Balance Impact"
"6/4/2016","10:01:00","PDT","Acme Corp","Express Checkout Payment","Completed","USD","100.00","-3.20","96.80",\
"ap@acme.example","1AB","0.00","","96.80","Credit"
"6/5/2016","11:00:00","PDT","Acme Corp","General Authorization","Pending","USD","50.00","0.00","50.00",\
"ap@acme.example","2CD","0.00","","96.80","Memo"
"6/7/2016","09:30:00","PDT","Beta LLC","Express Checkout Payment","Completed","USD","20.00","-0.88","19.12",\
"pay@beta.example","3EF","5.00","1.50","115.92","Credit"
"6/8/2016","09:30:00","PDT","Supplier Inc","Payment Sent","Completed","USD","-10.00","0.00","-10.00",\
"me@example.com","4GH","0.00","","105.92","Debit"
"""

PAYPAL_ES = """\
Fecha;Hora;Zona horaria;Nombre;Tipo;Estado;Divisa;Bruto;Comisión;Neto;Importe de envío y manipulación;\
Impuesto sobre las ventas;Id. de transacción;Saldo
04/06/2016;10:01:00;CEST;Cliente Uno SL;Pago de Express Checkout;Completado;EUR;121,00;-4,46;116,54;0,00;;1AB;116,54
07/06/2016;09:30:00;CEST;Otro Cliente SA;Pago de Express Checkout;Completado;EUR;50,00;-2,05;47,95;5,00;;2CD;164,49
08/06/2016;09:30:00;CEST;Proveedor SL;Pago enviado;Completado;EUR;-30,00;0,00;-30,00;0,00;;3EF;134,49
"""


def test_gross_fee_net_export_gives_payments_and_fee_lines() -> None:
    st = read_statement(PAYPAL_EN.encode(), "Download.csv")
    assert [(ln.amount, ln.kind) for ln in st.lines] == [
        (10000, "payment"), (-320, "fee"), (2000, "payment"), (-88, "fee"), (-1000, "payment")]
    assert st.lines[0].date == D(2016, 6, 4)  # month-first: USD and English headers
    assert st.lines[1].text.startswith("Fee | ") and "Acme Corp" in st.lines[1].text
    assert st.lines[1].bank_reference == "1AB" and st.lines[1].counterparty_name == "Acme Corp"
    assert any("1 row marked Memo" in w for w in st.warnings)
    assert any("read as month/day/year, as a US export" in w for w in st.warnings)
    bal = st.balances[0]
    assert (bal.opening, bal.closing) == (0, 10592)
    assert not any("do not" in w for w in st.warnings)


def test_spanish_gross_fee_net_and_a_shipping_importe_is_not_the_amount() -> None:
    st = read_statement(PAYPAL_ES.encode("cp1252"), "paypal.csv")
    assert [(ln.amount, ln.kind) for ln in st.lines] == [
        (12100, "payment"), (-446, "fee"), (5000, "payment"), (-205, "fee"), (-3000, "payment")]
    assert st.lines[0].date == D(2016, 6, 4) and st.lines[1].text.startswith("Comisión | ")
    assert st.lines[1].bank_reference == "1AB" and st.lines[1].counterparty_name == "Cliente Uno SL"
    assert st.balances[0].closing == 13449 and st.balances[0].opening == 0


def test_balance_that_contradicts_every_reading_is_refused_naming_the_columns() -> None:
    data = ("Fecha;Concepto;Importe;Otro;Saldo\n01/03/2024;A;10,00;3,00;100,00\n02/03/2024;B;-5,00;4,00;200,00\n"
            "03/03/2024;C;7,00;5,00;50,00\n04/03/2024;D;1,00;6,00;400,00\n")
    with pytest.raises(StatementError, match=r'running balance in column "Saldo" does not follow from the amounts '
                                             r'in column "Importe" .*nor from column "Otro"'):
        read_statement(data.encode(), "x.csv")


def test_balance_that_follows_the_opposite_sign_turns_the_signs() -> None:
    data = ("Fecha;Concepto;Importe;Saldo\n01/03/2024;A;10,00;90,00\n02/03/2024;B;-5,00;95,00\n"
            "03/03/2024;C;7,00;88,00\n")
    st = read_statement(data.encode(), "x.csv")
    assert [ln.amount for ln in st.lines] == [-1000, 500, -700]
    assert any("only with the opposite sign" in w for w in st.warnings)


def test_single_row_with_a_running_balance() -> None:
    st = read_statement(b"Fecha;Concepto;Importe;Saldo\n01/03/2024;Cobro;10,00;110,00\n", "x.csv")
    assert (st.balances[0].opening, st.balances[0].closing) == (10000, 11000)
    assert not any("balance" in w for w in st.warnings)


def test_us_dates_settled_by_currency_and_language_and_said() -> None:
    data = b"Date,Description,Amount\n6/4/2016,Coffee,-3.50\n6/4/2016,Refund,3.50\n"
    st = read_statement(data, "x.csv", default_currency="USD")
    assert st.lines[0].date == D(2016, 6, 4)
    assert any("month/day/year" in w for w in st.warnings)
    eur = read_statement(data, "x.csv", default_currency="EUR")
    assert eur.lines[0].date == D(2016, 4, 6) and any("day/month/year" in w for w in eur.warnings)


def test_a_mostly_blank_zero_column_is_not_taken_for_a_debit_column() -> None:
    """Headers cobro does not know: an always-filled amount and a column of blanks and zeros are not a pair."""
    rows = [f"{d:02d}/03/2024;Cobro {d};{d},50;" for d in range(1, 13)]
    rows[5] = "06/03/2024;Cobro 6;6,50;0,00"
    st = read_statement(("Fecha;Descripcion;Bruto X;Impuesto Y\n" + "\n".join(rows) + "\n").encode(), "x.csv")
    assert [ln.amount for ln in st.lines] == [d * 100 + 50 for d in range(1, 13)]
