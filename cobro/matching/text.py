"""Matching vocabulary and text normalisation: generic words, legal forms, bank noise, and the reasons' texts.

One place for what a word *means* to the matcher: a prefix that introduces an invoice number, a legal form or a
generic word that says nothing about who paid, and the locale texts of the reasons a person reads.
"""

from __future__ import annotations

import re
import unicodedata

# ----------------------------------------------------------------------------------- vocabulary

#: Words that introduce an invoice number without being part of it.
GENERIC_PREFIXES = frozenset({
    "FRA", "FRAS", "FR", "FAC", "FACT", "FACTS", "FCT", "FTRA", "FACTURA", "FACTURAS", "FACTU", "INV", "INVS",
    "INVOICE", "INVOICES", "INVNO", "NO", "NR", "NRO", "NUM", "NUMERO", "NUMBER", "NBR", "N", "O", "REF",
    "REFS", "REFERENCIA", "REFERENCE", "PED", "PEDIDO", "PO", "ORDER", "DOC", "DOCUMENTO", "RECIBO",
    "ALBARAN", "ID", "NUMS", "NOS",
})
#: Words between two numbers of one list ("FRAS 113 Y 114").
_CONNECTORS = frozenset({"Y", "E", "AND", "ET", "UND", "MAS", "PLUS"})
#: Legal forms, stripped from names (after dots are removed: "S.L." -> "SL").
LEGAL_FORMS = frozenset({
    "SL", "SA", "SLU", "SAU", "SLL", "SLNE", "SLP", "SC", "SCOOP", "COOP", "SCP", "SCA", "SCL", "CB", "SRL",
    "SAS", "SAC", "SACV", "SADECV", "SDERLDECV", "SRLDECV", "CV", "SAPI", "SAPIDECV", "SPR", "LTD", "LTDA",
    "LIMITED", "INC", "LLC", "LLP", "LP", "PLC", "CORP", "CORPORATION", "CO", "COMPANY", "GMBH", "AG", "BV",
    "NV", "SPA", "SARL", "CIA", "EIRL", "SE", "SCCL", "AIE", "UTE",
    # Dutch, German, French, Italian, Polish, Hungarian, Nordic and Czech forms of the bank files read.
    "VOF", "CVBA", "BVBA", "SPRL", "KG", "OHG", "UG", "MBH", "EV", "EG", "KGAA", "GBR", "EURL", "SNC", "SCS",
    "SASU", "SRLS", "SAPA", "SPZOO", "ZOO", "SPK", "KFT", "ZRT", "NYRT", "BT", "AB", "OY", "OYJ", "APS", "ASA",
    "SRO", "AS", "PTY", "PTE", "BHD", "GROUP",
})
#: Words that say nothing about *who* paid, in the languages of the files cobro reads (Spanish, English, Dutch,
#: German, French, Italian, Portuguese, Polish, Hungarian): never name evidence, in a bank text or in a name.
GENERIC_WORDS = frozenset({
    # English
    "PAYMENT", "PAYMENTS", "PAY", "PAID", "TRANSFER", "TRANSFERS", "WIRE", "CUSTOMER", "CUSTOMERS", "CLIENT",
    "CLIENTS", "INVOICE", "INVOICES", "BILL", "RECEIPT", "DEPOSIT", "REMITTANCE", "SETTLEMENT", "ORDER", "ACCOUNT",
    "CREDIT", "DEBIT", "BANK", "ONLINE", "INSTANT", "PURCHASE", "REFUND", "RETURN", "RETURNED", "REVERSAL",
    "MONTHLY", "NAME", "FEE", "FEES", "AMOUNT", "DUE", "BALANCE", "TOTAL", "PARTIAL",
    # Spanish
    "CLIENTE", "CLIENTES", "PAGO", "PAGOS", "TRANSFERENCIA", "TRANSFERENCIAS", "FACTURA", "FACTURAS", "RECIBO",
    "RECIBOS", "COBRO", "COBROS", "ABONO", "INGRESO", "DEVOLUCION", "CARGO", "ORDEN", "EMPRESA", "SOCIEDAD",
    "PROVEEDOR", "IMPORTE", "SALDO", "CUOTA", "MENSUAL", "PARCIAL",
    # Dutch
    "BETALING", "BETALINGEN", "OVERBOEKING", "OVERSCHRIJVING", "KLANT", "KLANTEN", "FACTUUR", "FACTUREN",
    "FACTUURNR", "NOTA", "BETAALD", "OMSCHRIJVING", "KENMERK", "INCASSO", "STORTING", "TERUGBOEKING",
    # German
    "ZAHLUNG", "ZAHLUNGEN", "UBERWEISUNG", "UEBERWEISUNG", "KUNDE", "KUNDEN", "RECHNUNG", "RECHNUNGEN",
    "RECHNUNGSNR", "GUTSCHRIFT", "LASTSCHRIFT", "VERWENDUNGSZWECK", "AUFTRAG", "BETRAG",
    # French
    "PAIEMENT", "PAIEMENTS", "VIREMENT", "VIREMENTS", "FACTURE", "FACTURES", "REGLEMENT", "RECU", "VERSEMENT",
    "PRELEVEMENT", "SOCIETE",
    # Italian, Portuguese
    "PAGAMENTO", "BONIFICO", "FATTURA", "FATURA", "CLIENTI",
    # Polish, Hungarian
    "PRZELEW", "FAKTURA", "ZAPLATA", "KLIENT", "WPLATA", "ATUTALAS", "SZAMLA", "UGYFEL",
})
#: Bank and payment noise that is never part of a customer's name.
_NOISE = frozenset({
    "DE", "DEL", "LA", "LAS", "LOS", "EL", "Y", "E", "EN", "POR", "PARA", "A", "AL", "THE", "AND", "OF", "FOR",
    "TO", "FROM", "TRANSFERENCIA", "TRANSFERENCIAS", "TRANSF", "TRANS", "TRF", "TRASPASO", "SEPA", "PAGO",
    "PAGOS", "COBRO", "COBROS", "ABONO", "RECIBIDA", "RECIBIDO", "RECIBO", "ORDENANTE", "ORD", "CONCEPTO",
    "BENEFICIARIO", "FACTURA", "FACTURAS", "FRA", "FRAS", "FACT", "INV", "INVOICE", "INVOICES", "PAYMENT",
    "PAYMENTS", "TRANSFER", "CREDIT", "REF", "REFERENCIA", "REFERENCE", "EUR", "USD", "MXN", "NO", "NUM", "N",
    "SU", "NUESTRA", "INMEDIATA", "NACIONAL", "INTERNACIONAL", "EMITIDA", "BIZUM", "INGRESO", "ENTRADA", "CTA",
    "CUENTA", "IBAN", "BIC", "SWIFT", "OUR", "YOUR", "VIA", "CON", "SIN", "TRANSFERENCE", "PAGADO", "OTROS",
}) | GENERIC_WORDS

_GROUP_RE = re.compile(r"[A-Z]+|[0-9]+")
_TIGHT = frozenset("-./_")
_SEP_OK = frozenset(" -./_#:',;")
_TOKEN_SPLIT = re.compile(r"[\s|()\[\]{}<>\"]+")
_WORD_RE = re.compile(r"[A-Z0-9&]+")
_IBAN_RE = re.compile(r"\b([A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,4})?)\b")
_NONALNUM = re.compile(r"[^A-Z0-9]")
_DIGITS_RE = re.compile(r"[0-9]+")
_LEADZ_RE = re.compile(r"(?<![0-9])0+(?=[0-9])")
_SERIES_RE = re.compile(r"^[^0-9]*?([A-Z]+)[^A-Z0-9]*[0-9]")

_MAX_SUBSET_POOL = 20  # oldest open invoices of one customer searched for exact subsets
_MAX_SUBSET_SIZE = 4
_NAME_POSTING_CAP = 150  # a lone shared word selects candidates only when at most this many customers have it
_NAME_CANDIDATES = 200
_NAME_STRONG = 90.0


def _norm(text: str) -> str:
    """Upper case, no accents, ordinal signs as spaces (``N.º`` -> ``N. ``); other non-ASCII letters dropped."""
    s = str(text)
    if s.isascii():
        return s.upper()
    s = s.replace("º", " ").replace("°", " ").replace("ª", " ")
    return unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode("ascii").upper()


def _strip_zeros(d: str) -> str:
    s = d.lstrip("0")
    return s or "0"


def normalize_tax_id(value: str) -> str:
    """``B-12.345.678`` -> ``B12345678``; ``ESB12345678`` -> ``B12345678`` (Spanish VAT prefix dropped)."""
    s = _NONALNUM.sub("", _norm(value))
    if s.startswith("ES") and len(s) == 11:
        s = s[2:]
    return s


def normalize_iban(value: str) -> str:
    """``es91 2100 0418 4502 0005 1332`` -> ``ES9121000418450200051332``."""
    return _NONALNUM.sub("", _norm(value))


def _name_words(text: str) -> list[str]:
    """Significant words of a name or a bank text: no legal forms, no noise, no numbers."""
    s = _norm(text)
    s = re.sub(r"(?<=\b[A-Z])\.\s?(?=[A-Z]\b)", "", s)  # S. L. -> SL, S.A. -> SA.
    s = s.replace(".", " ")  # "J.Janssen" = "J. Janssen": a dot between words separates them
    out = []
    for w in _WORD_RE.findall(s):
        if len(w) < 2 or w in LEGAL_FORMS or w in _NOISE or any(c.isdigit() for c in w):
            continue
        out.append(w)
    return out


def compact_name(text: str) -> str:
    """A name as one key: letters and digits only, legal forms dropped (``J. Janssen B.V.`` -> ``JJANSSEN``).

    Compact and spaced forms of a name are the same name; generic words are kept, because an *exact* name
    ("Otro Cliente SL") is the customer even when its words are common.
    """
    s = _norm(text)
    s = re.sub(r"(?<=\b[A-Z])\.\s?(?=[A-Z]\b)", "", s).replace(".", " ")
    words = [w for w in _WORD_RE.findall(s) if w not in LEGAL_FORMS]
    return "".join(words)


# ----------------------------------------------------------------------------------- locale text

_T = {
    "ref": ("factura {ids} en el concepto", "invoice {ids} in the text"),
    "refs": ("facturas {ids} en el concepto", "invoices {ids} in the text"),
    "ref_weak": ("posible factura {ids} en el concepto", "possibly invoice {ids} in the text"),
    "ref_near": ("referencia parecida a {ids} en el concepto", "text resembles invoice {ids}"),
    "ref_paid": ("factura {ids} ya pagada", "invoice {ids} already paid"),
    "ref_other_currency": ("factura {ids} en otra moneda", "invoice {ids} in another currency"),
    "tax": ("NIF de {name}", "tax id of {name}"),
    "iban": ("IBAN de {name}", "IBAN of {name}"),
    "name": ("nombre de {name} ({score} %)", "name of {name} ({score}%)"),
    "conflict": ("pero el ordenante parece {name}", "but the payer looks like {name}"),
    "exact": ("importe exacto", "exact amount"),
    "prefix": ("importe = las {n} facturas más antiguas", "amount = the {n} oldest invoices"),
    "subset": ("importe = suma de {n} facturas (combinación)", "amount = sum of {n} invoices (combination)"),
    "fee": ("comisión bancaria de {fee} descontada", "bank fee of {fee} deducted"),
    "partial": ("pago parcial de {amount} sobre {total}", "partial payment of {amount} of {total}"),
    "over": ("exceso de {excess} como anticipo", "excess of {excess} as an advance"),
    "advance": ("sin facturas abiertas: anticipo", "no open invoices: advance"),
    "amount_only": ("solo coincide el importe", "amount only"),
    "amount_only_n": ("solo coincide el importe ({n} facturas posibles)", "amount only ({n} possible invoices)"),
    "several": ("varias posibilidades", "several fit"),
    "debit": ("cargo", "debit"),
    "no_match": ("sin coincidencias", "no match"),
    "applied": ("ya aplicada ({pid})", "already applied ({pid})"),
    "repeated": ("línea repetida en el extracto", "line repeated in the statement"),
    "bank_fee": ("comisión bancaria", "bank fee"),
    "bad_invoice": ("la factura {inv} no existe", "invoice {inv} does not exist"),
    "closed_invoice": ("la factura {inv} no tiene saldo pendiente", "invoice {inv} has no open balance"),
    "currency_invoice": ("la factura {inv} está en {cur}", "invoice {inv} is in {cur}"),
    "no_customer": ("falta el cliente para el anticipo", "a customer is needed for the advance"),
    "expect_open": ("facturas con saldo pendiente ({inv} no tiene)", "invoices with an open balance ({inv} has none)"),
    "exact_name": ("nombre de {name} (100 %)", "name of {name} (100%)"),
    "customer_id": ("ordenante = cliente {cid}", "payer = customer {cid}"),
    "ref_short": ("factura {ids} en el concepto (número corto)", "invoice {ids} in the text (short number)"),
    "other_exact": ("importe exacto de la factura {ids} de otro cliente",
                    "exact amount of invoice {ids} of another customer"),
    "return": ("devolución: no es un cobro", "return: not a payment"),
    "reversal": ("devolución del cobro {pid} del {day} ({ids})", "return of payment {pid} of {day} ({ids})"),
    "fee_line": ("comisión: no es un cobro", "fee: not a payment"),
    "write_off": ("diferencia de {fee} a pérdidas (tolerancia)", "difference of {fee} written off (tolerance)"),
    "write_off_row": ("diferencia dentro de la tolerancia", "difference within tolerance"),
    "expect_customer": ("un cliente para el anticipo de {amount}", "a customer for the advance of {amount}"),
}


def _t(locale: str, key: str, **kw: object) -> str:
    es, en = _T[key]
    return (es if locale == "es" else en).format(**kw)
