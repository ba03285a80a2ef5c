"""The longest payment term the law allows between companies, per country (ISO 3166 code of the company).

Each entry: country -> (days, the law). A workbook sets its own with the Settings row ``max_payment_terms_days``
(a whole number of days; ``none`` switches the check off).

- ES: Ley 3/2004, art. 4.3 (as amended by Ley 11/2013): at most 60 calendar days after delivery of the goods or
  services; no agreement between the parties can extend it.
- CL: Ley 21.131 (2019): 30 calendar days from the receipt of the invoice; up to 60 only by a written agreement
  recorded in the registry the law creates — the common case is 30.
"""

from __future__ import annotations

MAX_PAYMENT_TERMS: dict[str, tuple[int, str]] = {
    "ES": (60, "Ley 3/2004, art. 4.3"),
    "CL": (30, "Ley 21.131"),
}

COUNTRY_NAMES: dict[str, tuple[str, str]] = {"ES": ("España", "Spain"), "CL": ("Chile", "Chile")}  # (es, en)
