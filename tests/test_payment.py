"""Payment details: IBAN validation, the EPC QR payload (EPC069-12 v002) and its QR code, decoded by zbar."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from cobro.payment import (
    PaymentError,
    check_payment_settings,
    epc_payload,
    format_iban,
    is_valid_iban,
    is_valid_rf,
    payment_details,
    qr_png,
)


@pytest.mark.parametrize("iban", [
    "ES91 2100 0418 4502 0005 1332", "GB82 WEST 1234 5698 7654 32", "DE89370400440532013000", "be71 0961 2345 6769",
])
def test_valid_ibans(iban: str) -> None:
    assert is_valid_iban(iban)


@pytest.mark.parametrize("iban", [
    "ES92 2100 0418 4502 0005 1332",  # one check digit off
    "ES91 2100 0418 4502 0005 1323",  # two digits swapped
    "ES91 2100 0418 4502 0005 133",  # too short for Spain
    "XX", "", "1234",
])
def test_invalid_ibans(iban: str) -> None:
    assert not is_valid_iban(iban)


def test_settings_problems_name_the_key() -> None:
    probs = {k: c for k, c, _ in check_payment_settings({"iban": "ES92 2100 0418 4502 0005 1332", "bic": "CAIX",
                                                         "beneficiary": "x", "payment_link_template": "http://pay"})}
    assert probs == {"iban": "iban_checksum", "bic": "bic", "payment_link_template": "payment_link"}
    assert check_payment_settings({"iban": "ES91 2100 0418 4502 0005 133"}) == [
        ("iban", "iban_length", {"country": "ES", "expected": 24, "got": 23})]
    assert check_payment_settings({"iban": "ES9121000418450200051332", "bic": "CAIXESBBXXX"}) == []


def test_details_leave_out_a_bad_iban_and_fill_the_link() -> None:
    d = payment_details({"iban": "ES92 2100 0418 4502 0005 1332"}, company_name="ACME")
    assert d.iban == "" and d.epc(1000, "EUR", "F-1") is None
    d = payment_details({"iban": "es91 2100 0418 4502 0005 1332", "bizum": "600 000 000",
                         "payment_link_template": "https://pay.example/{invoice}?amount={amount}&c={currency}"},
                        company_name="ACME S.L.", text="Cheques a nombre de ACME")
    assert d.beneficiary == "ACME S.L." and format_iban(d.iban) == "ES91 2100 0418 4502 0005 1332"
    assert d.link(invoice="F 2025/7", amount_minor=123456, currency="EUR") == \
        "https://pay.example/F%202025%2F7?amount=1234.56&c=EUR"
    labels = [k for k, _ in d.lines(123456, "EUR", "F-7", "es")]
    assert labels == ["Importe a pagar", "Concepto / referencia", "Beneficiario", "IBAN", "Bizum", "Pago en línea",
                      "Otras formas de pago"]
    assert d.epc(123456, "USD", "F-7") is None  # SEPA transfers are in euros only
    assert d.epc(0, "EUR", "F-7") is None


def test_epc_payload_fields_two_decimals_and_free_text() -> None:
    p = epc_payload(name="ACME S.L.", iban="ES91 2100 0418 4502 0005 1332", bic="CAIXESBBXXX", amount_minor=123450,
                    reference="Facturas F-1, F-2")
    assert p.split("\n") == ["BCD", "002", "1", "SCT", "CAIXESBBXXX", "ACME S.L.", "ES9121000418450200051332",
                             "EUR1234.50", "", "", "Facturas F-1, F-2"]
    assert epc_payload(name="A", iban="ES9121000418450200051332", amount_minor=1).split("\n")[-1] == "EUR0.01"
    assert "EUR999999999.99" in epc_payload(name="A", iban="ES9121000418450200051332", amount_minor=99_999_999_999)


def test_epc_structured_reference_goes_alone() -> None:
    assert is_valid_rf("RF18 5390 0754 7034") and not is_valid_rf("RF19 5390 0754 7034")
    p = epc_payload(name="ACME", iban="ES9121000418450200051332", amount_minor=500, reference="RF18 5390 0754 7034",
                    text="also this")
    assert p.split("\n")[9] == "RF18539007547034" and len(p.split("\n")) == 10  # no remittance text after it


def test_epc_limits() -> None:
    ok = "ES9121000418450200051332"
    with pytest.raises(PaymentError):
        epc_payload(name="A" * 71, iban=ok, amount_minor=100)
    with pytest.raises(PaymentError):
        epc_payload(name="A", iban=ok, amount_minor=0)
    with pytest.raises(PaymentError):
        epc_payload(name="A", iban=ok, amount_minor=100_000_000_000)
    with pytest.raises(PaymentError):
        epc_payload(name="A", iban="ES9221000418450200051332", amount_minor=100)
    with pytest.raises(PaymentError):
        epc_payload(name="A", iban=ok, amount_minor=100, bic="XX")
    long = epc_payload(name="A" * 70, iban=ok, amount_minor=100, reference="F-1", text="x" * 300)
    remittance = long.split("\n")[-1]
    assert len(remittance) == 140 and remittance.startswith("F-1 xxx")
    assert len(long.encode()) <= 331


@pytest.mark.skipif(shutil.which("zbarimg") is None, reason="zbarimg (Debian zbar-tools) is not installed")
def test_qr_png_decodes_to_the_exact_payload(tmp_path) -> None:  # noqa: ANN001
    p = epc_payload(name="Distribuciones Núñez S.L.", iban="ES9121000418450200051332", bic="CAIXESBBXXX",
                    amount_minor=301187, reference="F-2025-0042")
    png = tmp_path / "qr.png"
    png.write_bytes(qr_png(p))
    # -Sbinary: the bytes as encoded (UTF-8, as line 3 of the payload declares), not zbar's guess of a charset
    out = subprocess.run(["zbarimg", "-q", "--raw", "-Sbinary", str(png)], capture_output=True, check=True).stdout
    assert out.decode("utf-8").rstrip("\n") == p


def test_a_bad_iban_in_settings_is_a_located_problem() -> None:
    from cobro.ledger import parse_settings

    problems: list = []
    s = parse_settings({"iban": "ES92 2100 0418 4502 0005 1332", "company_name": "ACME"}, problems, {"iban": 24})
    (p,) = problems
    assert (p.sheet, p.row, p.column) == ("Settings", 24, "value")
    assert "check digits" in p.message("en") and "ES92 2100" in p.message("en")
    assert p.message("es").startswith('Configuración, fila 24, columna "Valor": "ES92 2100 0418 4502 0005 1332" — '
                                      "se esperaba un IBAN cuyos dígitos de control cuadren")
    assert payment_details(s.extra, company_name=s.company_name).iban == ""  # never printed
    problems.clear()
    s = parse_settings({"iban": "ES91 2100 0418 4502 0005 1332", "bic": "CAIXESBBXXX"}, problems)
    assert problems == [] and payment_details(s.extra).iban == "ES9121000418450200051332"
