"""Header roles: the column a header names (date, amount, text, ...), in Spanish, English, German and French."""

from __future__ import annotations

from ...schema import normalize_header

# ------------------------------------------------------------------------------------ header roles

# header words that tell the language of an export (for month-first dates: a US export)
_ENGLISH_HEADERS = {"date", "description", "amount", "balance", "debit", "credit", "details", "memo", "payee",
                    "transactiondate", "postingdate", "posteddate", "checknumber", "category", "type", "name",
                    "reference", "runningbalance", "runningbal", "withdrawals", "deposits", "status", "time", "gross",
                    "fee", "net", "currency", "label"}
_OTHER_HEADERS = {"fecha", "importe", "concepto", "saldo", "descripcion", "cargo", "abono", "debe", "haber", "datum",
                  "betrag", "buchungstag", "verwendungszweck", "libelle", "montant", "solde", "divisa", "moneda",
                  "bruto", "neto", "comision", "valor", "referencia", "fechavalor", "monto"}

_EXACT = {
    "buchungstext": "text", "verwendungszweck": "text", "libelle": "text", "label": "text",
    "valor": "valor", "importe": "amount", "amount": "amount", "betrag": "amount", "montant": "amount",
    "monto": "amount", "cantidad": "amount", "import": "amount", "umsatz": "amount",
    "iban": "iban", "bankaccount": "iban", "kontonummer": "iban", "kontonummeriban": "iban",
    "cuenta": "account", "numerodecuenta": "account", "ncuenta": "account", "account": "account",
    "accountnumber": "account", "micuenta": "account", "ownaccount": "account", "konto": "account",
    "compte": "account",
    "id": "reference", "fitid": "reference", "transactionid": "reference", "documento": "reference",
    "ndocumento": "reference", "numdocumento": "reference", "numerooperacion": "reference",
    "noperacion": "reference", "operationnumber": "reference", "kundenreferenz": "reference",
    "mandatsreferenz": "reference", "endtoendid": "reference", "iddetransaccion": "reference",
    "idtransaccion": "reference", "transaktionscode": "reference",
    "nombre": "name", "name": "name", "cliente": "name", "proveedor": "name", "payee": "name", "payer": "name",
    "dia": "date", "f": "date", "posted": "date", "foperacion": "date", "fcontable": "date",
    "fmovimiento": "date", "fecha": "date", "date": "date", "datum": "date", "buchung": "date",
    "buchungstag": "date", "buchungsdatum": "date",
    "in": "credit", "out": "debit", "soll": "debit", "haben": "credit", "s": "indicator", "h": "indicator",
    # gross/fee/net exports (PayPal "Gross"/"Fee"/"Net", Spanish "Bruto"/"Comisión"/"Neto")
    "gross": "gross", "bruto": "gross", "importebruto": "gross", "grossamount": "gross", "brutto": "gross",
    "brut": "gross", "montantbrut": "gross",
    "net": "net", "neto": "net", "importeneto": "net", "netamount": "net", "netto": "net", "montantnet": "net",
    "fee": "fee", "fees": "fee", "comision": "fee", "comisiones": "fee", "paypalfee": "fee", "gebuhr": "fee",
    "gebuhren": "fee", "frais": "fee", "commission": "fee",
    # numbers that are never the movement's amount (shipping, insurance, tax of a sale)
    "tax": "ignore", "salestax": "ignore", "vat": "ignore", "iva": "ignore", "impuesto": "ignore",
    "impuestos": "ignore", "shipping": "ignore", "insurance": "ignore", "envio": "ignore", "seguro": "ignore",
    # PayPal's "Balance Impact": Credit, Debit or Memo (a memo row moves no money)
    "balanceimpact": "impact", "impactoenelsaldo": "impact", "impactosobreelsaldo": "impact",
}
_INDICATOR = {"cargoabono", "debehaber", "debitcredit", "creditdebit", "dc", "cd", "dh", "sh", "sollhaben", "signo",
              "sign", "cargooabono", "creditdebitindicator", "cdtdbtind", "drcr", "crdr", "ingresogasto",
              "entradasalida", "debitocredito", "abonocargo", "haberdebe"}
_RULES: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    # role, "contains" keys, "startswith" keys
    ("ignore", ("importedeenvio", "importeenvio", "importedelseguro", "importeseguro", "shippingandhandling",
                "shippingamount", "insuranceamount", "salestax", "impuestosobre", "importedelimpuesto",
                "importeimpuesto", "taxamount", "importedeldescuento", "discountamount"), ()),
    ("orig_amount", ("importeoriginal", "importedivisa", "importemonedaorigen", "amountcurrency", "originalamount",
                     "foreignamount", "montantdevise", "betragursprung", "origamount", "importeorigen",
                     "importeendivisa", "amountinoriginal", "importeenmonedaorigen"), ()),
    ("orig_currency", ("monedaorigen", "divisaorigen", "originalcurrency", "currencyoriginal", "origcurrency",
                       "monedaoriginal", "divisaoriginal", "ursprungswahrung"), ()),
    ("value_date", ("fechavalor", "fechadevalor", "valuedate", "valuta", "wertstell", "datevaleur", "dateval",
                    "fvalor", "fval", "fechaval"), ()),
    ("balance", ("saldo", "balance", "solde", "kontostand"), ()),
    ("date", ("fecha", "datum"), ("date", "fch", "buchung", "transactiondate", "bookingdate", "postingdate",
                                  "postdate", "dateoperation")),
    ("debit", (), ("cargo", "debit", "debe", "withdraw", "importecargo", "importedebe", "paidout", "moneyout",
                   "retiro", "egreso", "salida", "gasto", "debet", "ausgang", "soll")),
    ("credit", (), ("abono", "credit", "haber", "deposit", "ingreso", "importeabono", "importehaber", "paidin",
                    "moneyin", "entrada", "eingang", "avoir", "haben")),
    ("amount", (), ("importe", "amount", "monto", "betrag", "montant", "cantidad", "umsatz")),
    ("currency", ("moneda", "divisa", "currency", "wahrung", "devise", "ccy"), ()),
    ("name", ("beneficiar", "ordenante", "payee", "payer", "partner", "counterpart", "contrapart", "auftraggeber",
              "empfanger", "remitente", "destinatario", "tercero", "beguenstigt", "zahlungspflichtig"), ()),
    ("iban", ("ibancontraparte", "cuentacontraparte", "counterpartyaccount", "cuentaordenante",
              "cuentabeneficiario", "partneraccount"), ()),
    ("reference", ("referencia", "reference", "ref"), ()),
    ("text", ("concepto", "descrip", "detalle", "detail", "memo", "narrat", "observac", "purpose", "texto", "text",
              "informacion", "info", "comentario", "comment", "movimiento", "motivo", "glosa", "particulars",
              "remark", "mensaje", "message", "notes", "nota", "operacion", "transaccion", "transaction"), ()),
    ("date", (), ("date",)),
)


def header_role(header: object) -> str | None:
    """The role a column header names (``date``, ``amount``, ``text``, …), or None when unknown."""
    n = normalize_header(header)
    if not n:
        return None
    if n in _EXACT:
        return _EXACT[n]
    if n in _INDICATOR:
        return "indicator"
    if n.endswith("date") and n not in ("valuedate",):
        return "date"
    for role, contains, starts in _RULES:
        if any(k in n for k in contains) or n.startswith(starts):
            return role
    return None
