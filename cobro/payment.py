"""How a customer pays: the payment details from Settings, IBAN validation and the EPC QR payload — pure.

Settings rows (all optional; they live in ``Settings.extra``):

- ``beneficiary``            the account holder's name (the company name when blank)
- ``iban`` / ``bic``         the account; the IBAN is checked (country length and the ISO 7064 mod-97 checksum)
- ``bizum``                  a Bizum number or code (Spain)
- ``payment_link_template``  an https address with ``{invoice}``, ``{amount}``, ``{currency}``, ``{customer}``
- ``payment_instructions``   free text (the existing Settings key), shown as written

``epc_payload`` builds the text a banking app reads from a SEPA credit-transfer QR code (EPC069-12 "Quick
Response Code: Guidelines to Enable Data Capture for the Initiation of a SEPA Credit Transfer", version 002):
service tag ``BCD``, version ``002``, character set 1 (UTF-8), ``SCT``, BIC, name (≤ 70), IBAN (≤ 34), amount
``EUR`` + at most 999999999.99 with two decimals, purpose, then either a structured creditor reference (ISO 11649
``RF…``, ≤ 35) or unstructured remittance text (≤ 140) — never both — and the whole payload at most 331 bytes.
``qr_matrix`` / ``qr_png`` draw it with ``segno``'s symbol (error correction level M, as the guideline asks;
``cobro.qr`` chooses its mask faster).
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

from . import money
from .errors import InputError

__all__ = [
    "PaymentDetails", "PaymentError", "PaymentRequest", "check_payment_settings", "epc_payload", "format_iban",
    "iban_code", "iban_problem", "payment_request", "reference_for",
    "is_valid_iban", "is_valid_rf", "normalize_iban", "payment_details", "qr_available", "qr_matrix", "qr_png",
]

# Length of the IBAN per country (SWIFT IBAN registry), for the countries a cobro user is likely to meet.
IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BR": 29, "BY": 28,
    "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18,
    "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22,
    "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20,
    "LU": 20, "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18, "NO": 15,
    "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24, "SC": 31, "SE": 24, "SI": 19,
    "SK": 24, "SM": 27, "ST": 25, "SV": 28, "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}

EPC_MAX_BYTES = 331
EPC_MAX_AMOUNT = 99_999_999_999  # 999999999.99 EUR in cents
_BIC = re.compile(r"[A-Z]{6}[A-Z0-9]{2}([A-Z0-9]{3})?")


class PaymentError(InputError):
    """Payment details that cannot be used (a bad IBAN, a payload over the EPC limits)."""


def normalize_iban(text: str) -> str:
    """The IBAN without spaces, in capitals (``es91 2100 0418…`` -> ``ES912100 0418…`` without the spaces)."""
    return re.sub(r"[\s-]", "", text or "").upper()


def _mod97(text: str) -> int:
    digits = "".join(str(int(ch, 36)) for ch in text)
    return int(digits) % 97


def iban_problem(text: str) -> str | None:
    """Why ``text`` is not a valid IBAN (a sentence), or None when it is."""
    iban = normalize_iban(text)
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{1,30}", iban):
        return "an IBAN: two letters of the country, two check digits and the account (such as ES91 2100 0418 …)"
    expected = IBAN_LENGTHS.get(iban[:2])
    if expected is not None and len(iban) != expected:
        return f"an IBAN of {iban[:2]} has {expected} characters, this one has {len(iban)}"
    if _mod97(iban[4:] + iban[:4]) != 1:
        return "an IBAN whose check digits match the account (the checksum fails: a typing mistake?)"
    return None


def is_valid_iban(text: str) -> bool:
    """True when ``text`` is an IBAN with the right length for its country and a correct mod-97 checksum."""
    return iban_problem(text) is None


def format_iban(text: str) -> str:
    """The IBAN in groups of four, as printed on paper."""
    iban = normalize_iban(text)
    return " ".join(iban[i:i + 4] for i in range(0, len(iban), 4))


def is_valid_rf(text: str) -> bool:
    """True for an ISO 11649 structured creditor reference (``RF`` + two check digits + up to 21 characters)."""
    ref = re.sub(r"\s", "", text or "").upper()
    return bool(re.fullmatch(r"RF\d{2}[A-Z0-9]{1,21}", ref)) and _mod97(ref[4:] + ref[:4]) == 1


@dataclass(frozen=True)
class PaymentDetails:
    """The ways a customer can pay, as Settings give them (blank fields: not offered)."""

    beneficiary: str = ""
    iban: str = ""  # normalized; "" when absent or invalid
    bic: str = ""
    bizum: str = ""
    link_template: str = ""
    text: str = ""

    @property
    def any(self) -> bool:
        """True when at least one way to pay is known."""
        return bool(self.iban or self.bizum or self.link_template or self.text)

    def link(self, *, invoice: str, amount_minor: int, currency: str, customer: str = "") -> str:
        """The payment link for this invoice and amount ("" without a template); values are URL-encoded."""
        if not self.link_template:
            return ""
        values = {"invoice": invoice, "amount": money.format_decimal(amount_minor, currency), "currency": currency,
                  "customer": customer}
        return re.sub(r"\{(invoice|amount|currency|customer)\}",
                      lambda m: urllib.parse.quote(values[m[1]], safe=""), self.link_template)

    def epc(self, amount_minor: int, currency: str, reference: str) -> str | None:
        """The EPC QR payload for this amount, or None when no QR applies (not EUR, no IBAN, nothing to pay)."""
        if currency != "EUR" or not self.iban or amount_minor <= 0 or amount_minor > EPC_MAX_AMOUNT:
            return None
        return epc_payload(name=self.beneficiary, iban=self.iban, bic=self.bic, amount_minor=amount_minor,
                           reference=reference)

    def lines(self, amount_minor: int, currency: str, reference: str, locale: str = "es", *,
              invoice: str = "", customer: str = "") -> list[tuple[str, str]]:
        """(label, value) pairs for a message, letter or statement: amount, reference, account, Bizum, link, text."""
        es = locale == "es"
        out: list[tuple[str, str]] = []
        if amount_minor > 0:
            out.append(("Importe a pagar" if es else "Amount to pay",
                        money.format_money(amount_minor, currency, locale)))
        if reference:
            out.append(("Concepto / referencia" if es else "Reference", reference))
        if self.iban:
            out.append(("Beneficiario" if es else "Beneficiary", self.beneficiary))
            out.append(("IBAN", format_iban(self.iban)))
            if self.bic:
                out.append(("BIC", self.bic))
        if self.bizum:
            out.append(("Bizum", self.bizum))
        link = self.link(invoice=invoice or reference, amount_minor=amount_minor, currency=currency,
                         customer=customer) if amount_minor > 0 else ""
        if link:
            out.append(("Pago en línea" if es else "Pay online", link))
        if self.text:
            out.append(("Otras formas de pago" if es else "Other ways to pay", self.text))
        return out


def iban_code(text: str) -> tuple[str, dict[str, object]] | None:
    """Why ``text`` is not a valid IBAN as a catalogue code (``expected.setting.<code>``) and its values."""
    iban = normalize_iban(text)
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{1,30}", iban):
        return "iban_format", {}
    expected = IBAN_LENGTHS.get(iban[:2])
    if expected is not None and len(iban) != expected:
        return "iban_length", {"country": iban[:2], "expected": expected, "got": len(iban)}
    if _mod97(iban[4:] + iban[:4]) != 1:
        return "iban_checksum", {}
    return None


def check_payment_settings(values: Mapping[str, str]) -> list[tuple[str, str, dict[str, object]]]:
    """(key, catalogue code ``expected.setting.<code>``, its values) for each payment setting that cannot be used —
    for ``parse_settings``."""
    out: list[tuple[str, str, dict[str, object]]] = []
    iban = str(values.get("iban", "") or "").strip()
    if iban:
        why = iban_code(iban)
        if why:
            out.append(("iban", *why))
    bic = re.sub(r"\s", "", str(values.get("bic", "") or "")).upper()
    if bic and not _BIC.fullmatch(bic):
        out.append(("bic", "bic", {}))
    name = str(values.get("beneficiary", "") or "").strip()
    if len(name) > 70:
        out.append(("beneficiary", "beneficiary", {}))
    link = str(values.get("payment_link_template", "") or "").strip()
    if link and not re.match(r"https://[^\s/]+", link):
        out.append(("payment_link_template", "payment_link", {}))
    return out


def payment_details(extra: Mapping[str, str], *, company_name: str = "", text: str = "") -> PaymentDetails:
    """The payment details of a ledger's Settings (``settings.extra`` plus the company name and the free text).

    An IBAN that fails validation is left out (``parse_settings`` reports it as a located Settings problem), so
    nothing cobro sends ever carries a wrong account."""
    iban = normalize_iban(str(extra.get("iban", "") or ""))
    if iban and not is_valid_iban(iban):
        iban = ""
    bic = re.sub(r"\s", "", str(extra.get("bic", "") or "")).upper()
    if bic and not _BIC.fullmatch(bic):
        bic = ""
    beneficiary = (str(extra.get("beneficiary", "") or "").strip() or company_name)[:70]
    link = str(extra.get("payment_link_template", "") or "").strip()
    if link and not link.startswith("https://"):
        link = ""
    return PaymentDetails(beneficiary=beneficiary, iban=iban, bic=bic, bizum=str(extra.get("bizum", "") or "").strip(),
                          link_template=link, text=(text or str(extra.get("payment_text", "") or "")).strip())


def epc_payload(*, name: str, iban: str, amount_minor: int, reference: str = "", text: str = "", bic: str = "",
                purpose: str = "") -> str:
    """The EPC069-12 (version 002) payload of a SEPA credit transfer of ``amount_minor`` euro cents.

    ``reference`` goes into the structured field when it is an ISO 11649 ``RF`` reference, otherwise into the
    remittance text (with ``text`` after it); both are never filled. Raises ``PaymentError`` when a field breaks
    the guideline's limits (name ≤ 70, IBAN valid, amount 0.01–999999999.99, text ≤ 140, whole ≤ 331 bytes)."""
    iban = normalize_iban(iban)
    why = iban_problem(iban)
    if why:
        raise PaymentError(f"EPC QR code: the IBAN is not valid ({why})", column="iban")
    name = " ".join(name.split())
    if not name or len(name) > 70:
        raise PaymentError("EPC QR code: the beneficiary name must have 1 to 70 characters", column="beneficiary")
    if not 1 <= amount_minor <= EPC_MAX_AMOUNT:
        raise PaymentError("EPC QR code: the amount must be between 0.01 and 999999999.99 EUR")
    bic = re.sub(r"\s", "", bic).upper()
    if bic and not _BIC.fullmatch(bic):
        raise PaymentError("EPC QR code: the BIC must have 8 or 11 letters and digits", column="bic")
    if purpose and not re.fullmatch(r"[A-Z]{4}", purpose):
        raise PaymentError("EPC QR code: the purpose must be a four-letter ISO 20022 code")
    amount = "EUR" + money.format_decimal(amount_minor, "EUR").replace(",", "")
    structured = ""
    remittance = " ".join(text.split())
    ref = " ".join(reference.split())
    if ref and is_valid_rf(ref):
        structured = re.sub(r"\s", "", ref).upper()
    elif ref:
        remittance = f"{ref} {remittance}".strip()
    if structured and remittance:
        remittance = ""  # the guideline allows one of the two; the structured reference is what banks match on
    if len(remittance) > 140:
        remittance = remittance[:139].rstrip() + "…"
    fields = ["BCD", "002", "1", "SCT", bic, name, iban, amount, purpose, structured, remittance]
    while fields and fields[-1] == "":
        fields.pop()
    payload = "\n".join(fields)
    if len(payload.encode("utf-8")) > EPC_MAX_BYTES:
        raise PaymentError(f"EPC QR code: the payload has {len(payload.encode('utf-8'))} bytes, the limit is "
                           f"{EPC_MAX_BYTES}")
    return payload


@cache
def qr_available() -> bool:
    """True when the QR library (``segno``, part of the letters extra) is installed (looked up once: it was
    looked up for every reminder of a Send)."""
    import importlib.util

    return importlib.util.find_spec("segno") is not None


def qr_matrix(payload: str) -> list[list[bool]]:
    """The QR code's modules (True = dark), without the quiet zone, for drawing it as vector squares."""
    from .qr import qr_modules

    return qr_modules(payload).tolist()


def qr_png(payload: str, *, scale: int = 5) -> bytes:
    """The QR code as PNG bytes (with the four-module quiet zone), for an e-mail's inline image."""
    from .qr import png, qr_modules

    return png(qr_modules(payload), scale=scale, border=4)


def reference_for(invoice_ids: list[str] | tuple[str, ...], customer_id: str, language: str) -> str:
    """The remittance text to quote: the invoice numbers when they fit in 140 characters (the SEPA limit), else
    the customer's ID."""
    if invoice_ids:
        text = ("Fras. " if len(invoice_ids) > 1 else "Fra. ") if language == "es" else (
            "Inv. " if len(invoice_ids) > 1 else "Invoice ")
        text += ", ".join(invoice_ids)
        if len(text) <= 140:
            return text
    return (f"Cliente {customer_id}" if language == "es" else f"Customer {customer_id}")[:140]


@dataclass(frozen=True)
class PaymentRequest:
    """What a message asks to be paid and how: the amount (one currency, credits netted), the reference, the
    (label, value) lines to show and the EPC QR payload (euros and a valid IBAN only)."""

    amount: int
    currency: str
    reference: str
    lines: tuple[tuple[str, str], ...]
    epc: str | None

    def text(self) -> str:
        """The lines as ``Label: value`` text, one per line."""
        return "\n".join(f"{k}: {v}" if k else v for k, v in self.lines)


def payment_request(details: PaymentDetails, owed: Mapping[str, int], credits: Mapping[str, int],
                    invoice_ids: list[str] | tuple[str, ...], customer_id: str, language: str) -> PaymentRequest:
    """The payment request of a reminder or letter: per currency what is owed less the customer's open credits.
    With several currencies no single amount is shown (they are never added together) and no QR is made."""
    ref = reference_for(invoice_ids, customer_id, language)
    net = {c: max(v - credits.get(c, 0), 0) for c, v in owed.items()}
    if len(net) == 1:
        ((cur, amount),) = net.items()
    else:
        cur, amount = "", 0
    lines = details.lines(amount, cur, ref, language, invoice=", ".join(invoice_ids), customer=customer_id) \
        if cur else details.lines(0, "EUR", ref, language, invoice=", ".join(invoice_ids), customer=customer_id)
    return PaymentRequest(amount, cur, ref, tuple(lines), details.epc(amount, cur, ref) if cur else None)
