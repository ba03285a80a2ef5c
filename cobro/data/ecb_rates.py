"""The ECB rate that Spain's late-payment interest (Ley 3/2004, art. 7.2) is built on, per half year.

Art. 7.2: the legal late-payment interest is "the interest rate applied by the European Central Bank to its most
recent main refinancing operation carried out before the first calendar day of the half year in question, plus
eight percentage points". The Spanish Treasury publishes the resulting rate in the BOE every half year
(Resolución de la Secretaría General del Tesoro y Financiación Internacional).

Each entry: (year, half) -> (ECB main refinancing operations rate in %, source). The legal rate is the ECB rate
+ 8 points (``cobro.interest.LEGAL_MARGIN``). A workbook adds or corrects half years with the Settings row
``ecb_rates`` (``2026-H1 2.15; 2026-H2 2.15``): the workbook wins. A half year missing from both carries the last
known rate forward and says so wherever it is shown.
"""

from __future__ import annotations

from decimal import Decimal

_MRO = "ECB main refinancing operations rate"
_ZERO = f"{_MRO} 0.00 % since 16 March 2016"

ECB_RATES: dict[tuple[int, int], tuple[Decimal, str]] = {
    (2016, 1): (Decimal("0.05"), f"{_MRO} 0.05 % since 10 September 2014; BOE legal rate 8.05 %"),
    **{(y, h): (Decimal("0.00"), _ZERO + "; BOE legal rate 8.00 %")
       for y in range(2016, 2023) for h in (1, 2) if (y, h) != (2016, 1)},
    (2023, 1): (Decimal("2.50"), f"{_MRO} 2.50 % since 21 December 2022; BOE legal rate 10.50 %"),
    (2023, 2): (Decimal("4.00"), f"{_MRO} 4.00 % since 21 June 2023; BOE legal rate 12.00 %"),
    (2024, 1): (Decimal("4.50"), f"{_MRO} 4.50 % since 20 September 2023; BOE legal rate 12.50 %"),
    (2024, 2): (Decimal("4.25"), f"{_MRO} 4.25 % since 12 June 2024; BOE legal rate 12.25 %"),
    (2025, 1): (Decimal("3.15"), f"{_MRO} 3.15 % since 18 December 2024; BOE legal rate 11.15 %"),
    (2025, 2): (Decimal("2.15"), f"{_MRO} 2.15 % since 11 June 2025; BOE legal rate 10.15 %"),
}
