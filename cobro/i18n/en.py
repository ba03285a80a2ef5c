"""English texts (see ``cobro.i18n``)."""

TEXTS: dict[str, str] = {
    # where a problem is, and what was expected (cobro.ledger.Problem)
    "problem.row": "row",
    "problem.column": "column",
    "problem.expected": "expected",
    "problem.blank": " (blank)",
    "problem.head": "{n} problem(s) in the workbook; nothing was changed:",
    "problem.more": "  … and {n} more",
    "expected.required_column": "a column with this header",
    "expected.required": "a value",
    "expected.date": "a date such as 2024-03-31 or 31/03/2024",
    "expected.datetime": "a date and time such as 2024-03-31 09:30",
    "expected.money": "an amount such as 1234.56 or 1.234,56",
    "expected.money_precision": "an amount with no more decimals than the currency has",
    "expected.int": "a whole number",
    "expected.number": "a number",
    "expected.enum": "one of: {choices}",
    "expected.currency": "an ISO 4217 currency code such as EUR, USD or MXN",
    "expected.unique": "a value not used in another row (also in row {other})",
    "expected.customer": "the ID of a customer in {sheet}",
    "expected.invoice": "the number of an invoice in {sheet}",
    "expected.positive": "an amount greater than zero",
    "expected.overpaid": "payments that add up to no more than the invoice ({amount})",
    "expected.currency_mismatch": "the invoice's currency ({currency})",
    "expected.setting": "{what}",
}
