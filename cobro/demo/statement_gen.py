"""Labelled bank statements for a ledger: the ground truth the matcher is measured against (pure, seeded).

``generate_statement(ledger, as_of, n_lines, seed)`` draws credits and debits the way customers and banks
write them — exact invoice numbers, the same numbers formatted differently or with a typo, the payer's name
only, the tax id only, one transfer for several invoices, partial payments, overpayments, a bank fee
deducted, unrelated credits that happen to equal an open balance, debits — and returns each line with its
``Label``: the true allocation (or none). Every label is consistent with the ledger: an invoice is paid by at
most one generated line, and never beyond its balance.

``build_ledger(n_customers, n_invoices, seed, as_of)`` makes a plain ledger (Spanish company names and tax ids,
invoice series, some PO references, some partial payments) for tests and benchmarks; when the project's
``cobro.demo.generate.generate_ledger`` is available, ``ledger_for_matching`` uses it instead.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from collections.abc import Mapping
from dataclasses import dataclass

from ..balances import invoice_balances
from ..bank.base import StatementLine, make_line_id
from ..ledger import Ledger, Settings, empty_ledger, make_frame
from ..schema import CUSTOMERS, INVOICES, PAYMENTS, strip_accents

#: Share of each kind of line in a generated statement (normalized; missing kinds are 0).
DEFAULT_MIX: dict[str, float] = {
    "exact_ref": 0.22, "ref_format": 0.14, "ref_typo": 0.05, "po_ref": 0.04, "name_only": 0.12, "tax_only": 0.04,
    "multi_ref": 0.05, "multi_name": 0.03, "partial": 0.06, "over": 0.03, "fee": 0.05, "unrelated_equal": 0.05,
    "unrelated": 0.04, "debit": 0.08,
}
#: Kinds whose text carries a correct, findable reference (the "≥ 95 % auto-accepted" population).
REFERENCE_KINDS = frozenset({"exact_ref", "ref_format", "po_ref", "multi_ref", "partial", "over", "fee"})

_SECTORS = ["Construcciones", "Transportes", "Distribuciones", "Talleres", "Suministros", "Instalaciones",
            "Servicios", "Comercial", "Asesores", "Ingeniería", "Reformas", "Hostelería", "Frutas", "Panadería",
            "Electricidad", "Fontanería", "Carpintería", "Logística", "Consultores", "Imprenta", "Farmacia",
            "Clínica", "Autocares", "Maderas", "Aceites", "Bodegas", "Cerámicas", "Textiles", "Papelería",
            "Jardinería", "Limpiezas", "Seguridad", "Viajes", "Muebles", "Pinturas", "Ferretería"]
_SURNAMES = ["García", "Rodríguez", "González", "Fernández", "López", "Martínez", "Sánchez", "Pérez", "Gómez",
             "Martín", "Jiménez", "Ruiz", "Hernández", "Díaz", "Moreno", "Muñoz", "Álvarez", "Romero", "Alonso",
             "Gutiérrez", "Navarro", "Torres", "Domínguez", "Vázquez", "Ramos", "Gil", "Ramírez", "Serrano",
             "Blanco", "Molina", "Morales", "Suárez", "Ortega", "Delgado", "Castro", "Ortiz", "Rubio", "Marín",
             "Sanz", "Núñez", "Iglesias", "Medina", "Garrido", "Cortés", "Castillo", "Santos", "Lozano", "Guerrero",
             "Cano", "Prieto", "Méndez", "Cruz", "Calvo", "Gallego", "Vidal", "León", "Márquez", "Herrera", "Peña",
             "Flores", "Cabrera", "Campos", "Vega", "Fuentes", "Carrasco", "Diez", "Caballero", "Reyes", "Nieto",
             "Aguilar", "Pascual", "Santana", "Herrero", "Lorenzo", "Montero", "Hidalgo", "Giménez", "Ibáñez",
             "Ferrer", "Durán", "Santiago", "Benítez", "Mora", "Vicente", "Vargas", "Arias", "Carmona", "Crespo",
             "Román", "Pastor", "Soto", "Sáez", "Velasco", "Moya", "Soler", "Parra", "Esteban", "Bravo", "Gallardo",
             "Rojas", "Pardo", "Merino", "Franco", "Espinosa", "Izquierdo", "Lara", "Rivas", "Silva", "Rivera",
             "Casado", "Arroyo", "Redondo", "Camacho", "Rey", "Vera", "Otero", "Luque", "Galán", "Montes", "Ríos",
             "Sierra", "Segura", "Carrillo", "Marcos", "Marti", "Soriano", "Mendoza", "Robles", "Bernal", "Vila"]
_PLACES = ["Levante", "del Norte", "Ibérica", "Mediterránea", "del Sur", "Atlántica", "Castellana", "Andaluza",
           "Gallega", "Balear", "Canaria", "Aragonesa", "Riojana", "Navarra", "Extremeña", "Manchega", "Astur",
           "Cántabra", "Valenciana", "Catalana", "Madrileña", "Murciana", "Leonesa", "Vasca", "Central"]
_FORMS = ["S.L.", "S.A.", "SL", "SLU", "S.L.U.", "S.COOP.", "SA", "S.L.L.", "C.B."]
_LETTERS = "ABCDEFGHJNPQRSUVW"
_PAYER_PREFIX = ["TRANSFERENCIA DE", "TRANSF. SEPA", "TRANSFERENCIA RECIBIDA", "ABONO TRANSFERENCIA", "TRF",
                 "SEPA CREDIT TRANSFER FROM", "TRANSFERENCIA INMEDIATA DE", ""]
_UNRELATED_TEXT = ["ABONO INTERESES CUENTA", "DEVOLUCION AEAT MODELO 303", "LIQUIDACION TPV", "DEVOLUCION COMISION",
                   "ABONO SEGURO", "SUBVENCION", "TRASPASO ENTRE CUENTAS", "INGRESO EN EFECTIVO", "BIZUM RECIBIDO",
                   "DEVOLUCION RECIBO"]
_DEBIT_TEXT = ["RECIBO LUZ", "COMISION MANTENIMIENTO", "PAGO NOMINAS", "TRANSFERENCIA A PROVEEDOR", "SEGUROS SOCIALES",
               "RECIBO TELEFONO", "IMPUESTOS AEAT", "ALQUILER LOCAL", "TARJETA COMPRA", "PRESTAMO CUOTA"]
_PERSONS = ["MARIA LUISA PRADO VEGA", "JUAN CARLOS TEJEDOR", "ANA BELEN QUIROGA", "PEDRO ANTONIO ZAMORA",
            "LUCIA ECHEVARRIA", "JOSE MANUEL URQUIJO", "CARMEN YAGÜE", "FRANCISCO XIMENEZ", "ELENA OLMEDO"]


@dataclass(frozen=True)
class Label:
    """The truth about one generated line."""

    line_id: str
    kind: str
    customer_id: str = ""
    allocations: tuple[tuple[str, int], ...] = ()
    advance: int = 0
    fee: int = 0

    @property
    def is_none(self) -> bool:
        return not self.allocations and not self.advance

    @property
    def carries_reference(self) -> bool:
        return self.kind in REFERENCE_KINDS

    @property
    def invoice_ids(self) -> tuple[str, ...]:
        return tuple(i for i, _ in self.allocations)


@dataclass
class LabelledStatement:
    lines: list[StatementLine]
    labels: list[Label]  # parallel to lines


# ----------------------------------------------------------------------------------- ledger


def build_ledger(n_customers: int, n_invoices: int, seed: int = 0, as_of: dt.date = dt.date(2024, 12, 31),
                 settings: Settings | None = None, partial_share: float = 0.08, currency: str = "EUR") -> Ledger:
    """A ledger of ``n_invoices`` open invoices over ``n_customers`` customers, all issued before ``as_of``.

    Names are unique; tax ids are unique Spanish CIFs; invoice numbers come in series (``F-2024-00113``,
    ``FV24-1234``, ``A-000567``); a fifth of the invoices carry a customer PO reference; ``partial_share``
    of them have a partial payment already applied.
    """
    rng = random.Random(seed)
    names: set[str] = set()
    cust_recs = []
    tax_used: set[str] = set()
    for k in range(n_customers):
        while True:
            shape = rng.random()
            if shape < 0.45:
                base = f"{rng.choice(_SECTORS)} {rng.choice(_SURNAMES)} {rng.choice(_SURNAMES)}"
            elif shape < 0.7:
                base = f"{rng.choice(_SECTORS)} {rng.choice(_PLACES)}"
            elif shape < 0.85:
                base = f"{rng.choice(_SURNAMES)} e Hijos"
            else:
                base = f"{rng.choice(_SURNAMES)} {rng.choice(_SURNAMES)} {rng.choice(_SECTORS)}"
            if base.casefold() not in names:
                break
            if rng.random() < 0.3:
                base = f"{base} {rng.choice(_PLACES)}"
                if base.casefold() not in names:
                    break
        names.add(base.casefold())
        while True:
            tax = f"{rng.choice(_LETTERS)}{rng.randrange(10**7, 10**8)}"
            tax = tax if len(tax) == 9 else tax + "0"
            if tax not in tax_used:
                tax_used.add(tax)
                break
        cust_recs.append({"customer_id": f"C{k + 1:05d}", "name": f"{base} {rng.choice(_FORMS)}", "tax_id": tax,
                          "currency": currency, "language": "es", "status": "active", "payment_terms_days": 30})
    inv_recs = []
    pay_recs = []
    series = [("F-{y}-{n:05d}", 0.6), ("FV{yy}-{n}", 0.25), ("A-{n:06d}", 0.15)]
    counters = {s: 0 for s, _ in series}
    start = as_of - dt.timedelta(days=400)
    for k in range(n_invoices):
        c = rng.randrange(n_customers) if n_customers else 0
        r = rng.random()
        fmt = series[0][0] if r < series[0][1] else (series[1][0] if r < series[0][1] + series[1][1] else series[2][0])
        counters[fmt] += 1
        issue = start + dt.timedelta(days=rng.randrange(0, 395))
        amount = int(round(rng.lognormvariate(11.0, 1.2))) + rng.randrange(0, 100)
        amount = max(1500, min(amount, 50_000_000))
        inv_id = fmt.format(y=issue.year, yy=issue.year % 100, n=counters[fmt])
        ref = f"PO-{rng.randrange(4500000000, 4600000000)}" if rng.random() < 0.2 else ""
        inv_recs.append({"invoice_id": inv_id, "customer_id": f"C{c + 1:05d}", "issue_date": issue,
                         "due_date": issue + dt.timedelta(days=30), "currency": currency, "amount": amount,
                         "reference": ref, "status": "open"})
        if rng.random() < partial_share:
            paid = rng.randrange(1, amount)
            pay_recs.append({"payment_id": f"M{k:07d}", "date": issue + dt.timedelta(days=rng.randrange(1, 5)),
                             "customer_id": f"C{c + 1:05d}", "invoice_id": inv_id, "amount": paid,
                             "currency": currency, "method": "transfer", "source": "manual"})
    ledger = empty_ledger(settings or Settings(locale="es", bank_fee_tolerance=500, base_currency=currency))
    return ledger.replace(customers=make_frame(CUSTOMERS, cust_recs),
                          invoices=make_frame(INVOICES, inv_recs),
                          payments=make_frame(PAYMENTS, pay_recs) if pay_recs else ledger.payments)


def ledger_for_matching(n_customers: int, n_invoices: int, seed: int = 0,
                        as_of: dt.date = dt.date(2024, 12, 31)) -> Ledger:
    """The project's generated ledger when ``cobro.demo.generate`` offers one, else ``build_ledger``."""
    try:
        from .generate import generate_ledger
    except ImportError:
        return build_ledger(n_customers, n_invoices, seed, as_of)
    ledger = generate_ledger(customers=n_customers, invoices=n_invoices, seed=seed, as_of=as_of)
    if ledger.settings.bank_fee_tolerance <= 0:  # so that fee lines exist: 5.00 in the base currency
        ledger = ledger.replace(settings=dataclasses.replace(ledger.settings, bank_fee_tolerance=500))
    return ledger


# ----------------------------------------------------------------------------------- statement


def _bank_name(rng: random.Random, name: str) -> str:
    """How a bank shows a payer: upper case, no accents, legal form reshaped, sometimes cut or misspelt."""
    s = strip_accents(name).upper()
    r = rng.random()
    for form in ("S.L.U.", "S.COOP.", "S.L.L.", "S.L.", "S.A.", "C.B."):
        s = s.replace(form, form.replace(".", "") if r < 0.5 else form)
    if r > 0.85:
        words = s.split()
        s = " ".join(words[:-1]) if len(words) > 2 else s
    if rng.random() < 0.1:
        words = s.split()
        long_ = [k for k, w in enumerate(words) if len(w) >= 6]
        if long_:
            k = rng.choice(long_)
            w = words[k]
            p = rng.randrange(1, len(w) - 2)
            words[k] = w[:p] + w[p + 1] + w[p] + w[p + 2:]
            s = " ".join(words)
    if rng.random() < 0.15:
        s = s[:30]
    return s


def _reformat(rng: random.Random, inv_id: str) -> str:
    """The same invoice number as a customer might type it: other prefix, separators, zeros."""
    groups: list[str] = []
    cur = ""
    for ch in inv_id:
        if ch.isalnum() and (not cur or cur[-1].isdigit() == ch.isdigit()):
            cur += ch
        else:
            if cur:
                groups.append(cur)
            cur = ch if ch.isalnum() else ""
    if cur:
        groups.append(cur)
    digits = [g for g in groups if g.isdigit()]
    series = next((g for g in groups if not g.isdigit()), "")
    if rng.random() < 0.5:
        digits = [d.lstrip("0") or "0" for d in digits]
    sep = rng.choice(["/", "-", ".", " ", "/"])
    body = sep.join(digits)
    prefix = rng.choice(["FRA", "FRA.", "FACT", "FACTURA", "Fra. nº", "N.º", "INV", "FACTURA Nº", series, series,
                         "S/FRA"])
    return f"{prefix} {body}" if rng.random() < 0.8 else f"{prefix}{body}"


def _typo(rng: random.Random, inv_id: str) -> str:
    """One digit changed or two adjacent digits swapped."""
    pos = [k for k, ch in enumerate(inv_id) if ch.isdigit()]
    s = list(inv_id)
    if len(pos) >= 2 and rng.random() < 0.5:
        k = rng.choice([p for p in pos if p + 1 in pos] or pos[:1])
        if k + 1 < len(s) and s[k + 1].isdigit() and s[k] != s[k + 1]:
            s[k], s[k + 1] = s[k + 1], s[k]
            return "".join(s)
    k = rng.choice(pos[-4:])
    s[k] = str((int(s[k]) + rng.randrange(1, 9)) % 10)
    return "".join(s)


def _fmt_tax(rng: random.Random, tax: str) -> str:
    r = rng.random()
    if r < 0.3:
        return f"{tax[0]}-{tax[1:]}"
    if r < 0.5:
        return f"ES{tax}"
    if r < 0.7 and len(tax) == 9:
        return f"{tax[0]}{tax[1:3]}.{tax[3:6]}.{tax[6:]}"
    return tax


def generate_statement(ledger: Ledger, as_of: dt.date, n_lines: int, seed: int = 0,
                       mix: Mapping[str, float] | None = None, account: str = "ES7620770024003102575766"
                       ) -> LabelledStatement:
    """``n_lines`` labelled lines dated up to ``as_of`` for ``ledger`` (see the module docstring).

    Kinds that need something the ledger lacks (e.g. two open invoices for one customer) fall back to a
    simpler kind; labels always reflect what was generated. The fee of ``fee`` lines stays within
    ``Settings.bank_fee_tolerance`` (at least 1 minor unit).
    """
    rng = random.Random(seed)
    mix = dict(mix or DEFAULT_MIX)
    kinds = [k for k, w in mix.items() if w > 0]
    weights = [mix[k] for k in kinds]
    bal = invoice_balances(ledger, as_of)
    bal = bal[(bal["balance"] > 0)].sort_values(["due_date", "issue_date", "invoice_id"], kind="stable")
    inv_ids = bal["invoice_id"].tolist()
    inv_cust = bal["customer_id"].tolist()
    inv_bal = dict(zip(inv_ids, (int(x) for x in bal["balance"].tolist()), strict=True))
    inv_cur = dict(zip(inv_ids, bal["currency"].tolist(), strict=True))
    inv_ref = dict(zip(inv_ids, bal["reference"].tolist(), strict=True))
    cust = ledger.customers.drop_duplicates("customer_id")
    names = dict(zip(cust["customer_id"], cust["name"], strict=True))
    taxes = dict(zip(cust["customer_id"], cust["tax_id"], strict=True))
    order = {x: k for k, x in enumerate(inv_ids)}
    cust_of = dict(zip(inv_ids, inv_cust, strict=True))
    by_cust: dict[str, list[str]] = {}
    for i, c in zip(inv_ids, inv_cust, strict=True):
        by_cust.setdefault(c, []).append(i)
    used: set[str] = set()
    unused = list(inv_ids)
    rng.shuffle(unused)
    tol = int(ledger.settings.bank_fee_tolerance)
    base_cur = ledger.settings.base_currency

    def take() -> str | None:
        while unused:
            i = unused.pop()
            if i not in used:
                used.add(i)
                return i
        return None

    def open_of(c: str) -> list[str]:
        return [i for i in by_cust.get(c, ()) if i not in used]

    lines: list[StatementLine] = []
    labels: list[Label] = []
    occurrences: dict[tuple[str, int, str], int] = {}
    first_day = as_of - dt.timedelta(days=30)

    def emit(amount: int, currency: str, text: str, label_kind: str, cust_id: str = "",
             allocations: tuple[tuple[str, int], ...] = (), advance: int = 0, fee: int = 0,
             counterparty: str = "") -> None:
        day = first_day + dt.timedelta(days=rng.randrange(0, 31))
        key = (day.isoformat(), amount, text)
        occ = occurrences.get(key, 0)
        occurrences[key] = occ + 1
        lid = make_line_id(account, day, amount, text, "", occ)
        lines.append(StatementLine(lid, account, day, day, amount, currency, text, counterparty, "", "",
                                   len(lines) + 1))
        labels.append(Label(lid, label_kind, cust_id, allocations, advance, fee))

    def payer_text(c: str) -> tuple[str, str]:
        nm = _bank_name(rng, names.get(c, ""))
        pre = rng.choice(_PAYER_PREFIX)
        if rng.random() < 0.6:
            return f"{pre} {nm}".strip(), nm
        return pre or "TRANSFERENCIA", nm

    while len(lines) < n_lines:
        kind = rng.choices(kinds, weights)[0]
        if not unused and kind not in ("debit", "unrelated"):
            kind = "unrelated" if rng.random() < 0.5 else "debit"  # every invoice is paid: only noise is left
        if kind == "debit":
            emit(-rng.randrange(500, 500_000), base_cur, rng.choice(_DEBIT_TEXT), "debit")
            continue
        if kind == "unrelated":
            emit(rng.randrange(100, 300_000), base_cur, rng.choice(_UNRELATED_TEXT), "unrelated",
                 counterparty=rng.choice(_PERSONS) if rng.random() < 0.5 else "")
            continue
        if kind == "unrelated_equal":
            i = rng.choice(unused[-200:] if len(unused) > 200 else unused)
            if i in used:
                unused.remove(i)
                continue
            text = rng.choice(_UNRELATED_TEXT + [f"TRANSFERENCIA DE {p}" for p in _PERSONS])
            emit(inv_bal[i], inv_cur[i], text, "unrelated_equal", counterparty=rng.choice(_PERSONS))
            continue
        i = take()
        if i is None:
            continue
        c = cust_of[i]
        b = inv_bal[i]
        cur = inv_cur[i]
        text, cp = payer_text(c)
        if kind in ("multi_ref", "multi_name"):
            others = open_of(c)
            if kind == "multi_name":
                # Oldest-first: the customer pays everything from the oldest up to some point.
                group = sorted([i] + others, key=order.__getitem__)[:rng.randrange(2, 4)] if others else [i]
            else:
                group = [i] + rng.sample(others, min(len(others), rng.randrange(1, 3)))
                group.sort(key=order.__getitem__)
            if len(group) < 2:
                kind = "exact_ref"
            else:
                for g in group:
                    used.add(g)
                allocs = tuple((g, inv_bal[g]) for g in group)
                total = sum(a for _, a in allocs)
                if kind == "multi_ref":
                    sep = rng.choice([", ", " Y ", " ", "/ "])
                    refs = sep.join(g if rng.random() < 0.5 else _reformat(rng, g) for g in group)
                    text = f"{text} FRAS {refs}".strip() if rng.random() < 0.5 else f"PAGO {refs}"
                emit(total, cur, text, kind, c, allocs, counterparty=cp)
                continue
        if kind == "exact_ref":
            t = f"{text} {i}" if rng.random() < 0.5 else f"{rng.choice(['FRA', 'FACTURA', 'PAGO', ''])} {i}".strip()
            emit(b, cur, t, kind, c, ((i, b),), counterparty=cp)
        elif kind == "ref_format":
            emit(b, cur, f"{_reformat(rng, i)} {text if rng.random() < 0.3 else ''}".strip(), kind, c, ((i, b),),
                 counterparty=cp)
        elif kind == "po_ref":
            ref = inv_ref.get(i) or ""
            if not ref:
                emit(b, cur, f"FRA {i}", "exact_ref", c, ((i, b),), counterparty=cp)
            else:
                shown = ref if rng.random() < 0.5 else "PEDIDO " + ref.split("-")[-1]
                emit(b, cur, f"{shown} {text}".strip(), kind, c, ((i, b),), counterparty=cp)
        elif kind == "ref_typo":
            emit(b, cur, f"FRA {_typo(rng, i)}", kind, c, ((i, b),), counterparty=cp)
        elif kind == "name_only":
            amounts = [inv_bal[g] for g in by_cust.get(c, ())]
            if amounts.count(b) > 1 or not cp:
                emit(b, cur, f"FRA {i}", "exact_ref", c, ((i, b),), counterparty=cp)
            else:
                # The payer's name is in the counterparty field, the text, or both.
                keep_cp = rng.random() < 0.7
                if not keep_cp and cp not in text:
                    text = f"{text} {cp}".strip()
                emit(b, cur, text, kind, c, ((i, b),), counterparty=cp if keep_cp else "")
        elif kind == "tax_only":
            emit(b, cur, f"PAGO {_fmt_tax(rng, taxes.get(c, ''))}", kind, c, ((i, b),))
        elif kind == "partial" and b <= 2 * max(tol, 1) + 2:
            emit(b, cur, f"FRA {i}", "exact_ref", c, ((i, b),), counterparty=cp)
        elif kind == "partial":
            part = rng.randrange(max(1, b // 5), max(2, b * 4 // 5))
            if b - part <= tol:
                part = max(1, b // 2)  # b > 2 * tol + 2, so the shortfall is not a fee
            emit(part, cur, f"PAGO A CUENTA {_ref_text(rng, i)}", kind, c, ((i, part),), counterparty=cp)
        elif kind == "over":
            extra = rng.randrange(1000, max(1001, b // 2))
            emit(b + extra, cur, f"{_ref_text(rng, i)} {text}".strip(), kind, c, ((i, b),), advance=extra,
                 counterparty=cp)
        elif kind == "fee":
            fee = rng.randrange(1, tol + 1) if cur == base_cur and tol > 0 else 0
            if fee == 0 or fee >= b:
                emit(b, cur, f"FRA {i}", "exact_ref", c, ((i, b),), counterparty=cp)
            else:
                emit(b - fee, cur, f"{_ref_text(rng, i)} {text}".strip(), kind, c, ((i, b),), fee=fee,
                     counterparty=cp)
    return LabelledStatement(lines, labels)


def _ref_text(rng: random.Random, inv_id: str) -> str:
    return inv_id if rng.random() < 0.5 else _reformat(rng, inv_id)

