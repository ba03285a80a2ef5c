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
