"""A realistic, deterministic demo ledger: customers, a year of invoices, payments and a contact history.

``generate_ledger`` returns a typed ``Ledger`` (the frame conventions of ``cobro.ledger``) for the demo, the
tests and the benchmarks. It is pure: the as-of date and the seed are parameters, the same arguments always give
the same ledger, and nothing touches a file or a clock. The big frames are built with numpy (no Python loop per
invoice), so a million invoices take seconds; only customers are built one by one.

What the data exercises:

- customers: Spanish company names (S.L., S.A., S.L.U., cooperativas, asociaciones, comunidades de bienes,
  autónomos) with valid CIF/NIF/NIE, or US-style names with EIN-like ids (``locale="en"``); e-mail addresses
  only on reserved example domains (``example.com``/``.net``/``.org`` and their subdomains, RFC 2606); some
  customers with two addresses, a few with none and one or two whose address bounces; phones (Spain, or the
  US 555-01xx numbers reserved for fiction); statuses active/paused/legal/closed; terms 0–90 days;
- invoices: issue dates on working days over the 12 months ending at ``as_of`` (quieter in August and at
  Christmas, month-end billing for some customers), log-normal amounts with a long tail and a few round figures,
  a second currency on ~15 % of customers, ~2 % credit notes naming their original invoice, ~2 % disputed,
  a few written off and cancelled; invoice numbers ``F-2026-000123`` (credit notes ``R-…``) or
  ``INV-…``/``CN-…``, restarting each calendar year;
- payments: realistic lateness per customer (punctual, 0–20 days late, chronic 30–90 days, stopped paying),
  direct debits on the due date, customers who pay only on fixed days (one transfer for several invoices),
  ~5 % partial payments, recent advances without invoice, one-cent and bank-fee shortfalls, part-credits
  deducted from the payment (a fully credited invoice is never paid: it and its credit note net to zero);
  never after ``as_of`` and never more than an invoice's amount;
- contacts: the reminders the default ladder (``cobro.defaults``) would have sent, one message per customer and
  day, calls by the collectors with promises to pay (kept, broken and pending), customers answering with proof
  of payment, disputes logged, notes on paused, legal and closed accounts.

Levels, Templates and Settings are ``cobro.defaults``' with a fictitious company filled in (for ``en``: a US
company, base currency the first of ``currencies``). Plans and Matches are empty.

``ledger_to_raw`` turns a typed ledger back into raw tables (values as a person types them) so the round trip
through ``cobro.ledger.parse_ledger`` can be checked; ``generate_raw_tables`` does both at once.
"""

from __future__ import annotations

import bisect
import datetime as dt
import random
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from .. import money
from ..bulk import gc_paused
from ..defaults import default_levels, default_settings, default_templates
from ..ledger import Ledger, Settings, format_amounts_by_currency, parse_settings
from ..schema import (
    CONTACTS,
    CUSTOMERS,
    INVOICES,
    MATCHES,
    PAYMENTS,
    PLANS,
    Sheet,
    enum_label,
)

__all__ = [
    "DEFAULT_AS_OF",
    "generate_ledger",
    "generate_raw_tables",
    "ledger_to_raw",
    "settings_to_raw",
    "spanish_cif",
    "spanish_nif",
    "spanish_nie",
]

DEFAULT_AS_OF = dt.date(2026, 11, 20)

_WINDOW = 365  # days of history, the last one being as_of
_A = _WINDOW - 1  # index of as_of
_T = 1300  # days covered by the calendar tables (history + the future a payment may fall in)
_NEVER = 10**6  # day index of something that never happens

# Rough size of one euro in other currencies, so amounts look plausible (never used to convert money).
_SCALE = {"EUR": 1.0, "USD": 1.1, "GBP": 0.85, "CHF": 0.95, "CAD": 1.5, "AUD": 1.6, "MXN": 20.0, "CLP": 1000.0,
          "COP": 4500.0, "ARS": 1000.0, "PEN": 4.0, "BRL": 6.0, "UYU": 45.0, "JPY": 160.0, "KWD": 0.33,
          "SEK": 11.5, "NOK": 11.7, "DKK": 7.5, "PLN": 4.3}

# Customer payment profiles.
_PUNCTUAL, _NORMAL, _SLOW, _ERRATIC, _DEFAULTER, _CLOSED = range(6)

# ----------------------------------------------------------------------------------- tax ids

_CIF_LETTERS = "JABCDEFGHI"
_NIF_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"


def spanish_cif(letter: str, province: int, number: int) -> str:
    """A CIF with its control character: ``letter`` (entity type), 2-digit ``province``, 5-digit ``number``.

    The control is a digit for A, B, E, H, a letter for K, P, Q, R, S, N, W, and a digit for the others
    (both are valid for C, D, F, G, J, U, V; the digit is the common form).
    """
    digits = f"{province:02d}{number:05d}"
    total = 0
    for i, ch in enumerate(digits):
        d = int(ch)
        if i % 2 == 0:  # positions 1, 3, 5, 7 (1-based) are doubled
            d *= 2
            total += d // 10 + d % 10
        else:
            total += d
    control = (10 - total % 10) % 10
    ctl = _CIF_LETTERS[control] if letter in "KPQRSNW" else str(control)
    return f"{letter}{digits}{ctl}"


def spanish_nif(number: int) -> str:
    """A DNI-based NIF: 8 digits and the mod-23 letter."""
    return f"{number:08d}{_NIF_LETTERS[number % 23]}"


def spanish_nie(prefix: str, number: int) -> str:
    """An NIE: X/Y/Z, 7 digits and the mod-23 letter (X=0, Y=1, Z=2 before the digits)."""
    lead = "XYZ".index(prefix)
    return f"{prefix}{number:07d}{_NIF_LETTERS[(lead * 10**7 + number) % 23]}"


_EIN_PREFIXES = (1, 2, 3, 4, 5, 6, 10, 11, 12, 13, 14, 15, 16, 20, 21, 22, 23, 24, 25, 26, 27, 30, 31, 32, 33, 34,
                 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60,
                 61, 62, 63, 64, 65, 66, 67, 68, 71, 72, 73, 74, 75, 76, 77, 80, 81, 82, 83, 84, 85, 86, 87, 88, 90,
                 91, 92, 93, 94, 95, 98, 99)

# ----------------------------------------------------------------------------------- words

_ES_CITIES = (  # city, province code, landline prefix, weight
    ("Madrid", 28, "91", 14), ("Barcelona", 8, "93", 11), ("Valencia", 46, "96", 6), ("Sevilla", 41, "954", 4),
    ("Zaragoza", 50, "976", 4), ("Málaga", 29, "952", 3), ("Murcia", 30, "968", 3), ("Palma", 7, "971", 2),
    ("Las Palmas", 35, "928", 2), ("Bilbao", 48, "94", 3), ("Alicante", 3, "965", 2), ("Córdoba", 14, "957", 2),
    ("Valladolid", 47, "983", 2), ("Vigo", 36, "986", 2), ("Gijón", 33, "985", 2), ("A Coruña", 15, "981", 2),
    ("Vitoria", 1, "945", 1), ("Granada", 18, "958", 1), ("Pamplona", 31, "948", 1), ("Santander", 39, "942", 1),
    ("Logroño", 26, "941", 1), ("Toledo", 45, "925", 1), ("Badajoz", 6, "924", 1), ("Salamanca", 37, "923", 1),
    ("Huelva", 21, "959", 1), ("Lleida", 25, "973", 1), ("Tarragona", 43, "977", 1), ("Girona", 17, "972", 1),
    ("Castellón", 12, "964", 1), ("Almería", 4, "950", 1), ("Cáceres", 10, "927", 1), ("Burgos", 9, "947", 1),
    ("León", 24, "987", 1), ("Albacete", 2, "967", 1), ("Jaén", 23, "953", 1), ("Valdepeñas", 13, "926", 1),
    ("Reus", 43, "977", 1), ("Elche", 3, "965", 1), ("Sabadell", 8, "93", 1), ("Teruel", 44, "978", 1),
)
_ES_ANDALUSIA = {4, 11, 14, 18, 21, 23, 29, 41}
_ES_VALENCIA = {3, 12, 46}

_ES_STEMS = (
    "Construcciones", "Reformas", "Obras y Proyectos", "Promociones", "Estructuras", "Transportes", "Logística",
    "Mudanzas", "Transportes Frigoríficos", "Distribuciones Alimentarias", "Frutas", "Conservas", "Panificadora",
    "Cárnicas", "Hostelería", "Hoteles", "Restauración", "Catering", "Sistemas Informáticos", "Soluciones Digitales",
    "Software", "Telecomunicaciones", "Talleres Mecánicos", "Metalúrgica", "Plásticos", "Industrias",
    "Carpintería Metálica", "Calderería", "Bodegas", "Aceites", "Viveros", "Asesoría", "Limpiezas", "Consultoría",
    "Instalaciones Eléctricas", "Climatización", "Fontanería", "Ferretería", "Comercial", "Distribuciones",
    "Electrodomésticos", "Papelería", "Clínica Dental", "Laboratorios", "Ortopedia", "Automoción", "Recambios",
    "Gráficas", "Envases", "Maderas", "Cerámicas", "Mármoles", "Piensos", "Vidrios",
)
_ES_SURNAMES = (
    "García", "Fernández", "González", "Rodríguez", "López", "Martínez", "Sánchez", "Pérez", "Gómez", "Martín",
    "Jiménez", "Ruiz", "Hernández", "Díaz", "Moreno", "Álvarez", "Muñoz", "Romero", "Alonso", "Gutiérrez",
    "Navarro", "Torres", "Domínguez", "Vázquez", "Ramos", "Gil", "Ramírez", "Serrano", "Blanco", "Molina",
    "Morales", "Suárez", "Ortega", "Delgado", "Castro", "Ortiz", "Rubio", "Marín", "Sanz", "Iglesias", "Núñez",
    "Medina", "Garrido", "Cortés", "Castillo", "Santos", "Lozano", "Guerrero", "Cano", "Prieto", "Méndez",
    "Calvo", "Gallego", "Vidal", "Herrera", "Márquez", "Peña", "Cabrera", "Campos", "Vega", "Fuentes", "Carrasco",
    "Aguilar", "Nieto", "Santana", "Pascual", "Herrero", "Montero", "Lorenzo", "Hidalgo", "Ibáñez", "Ferrer",
    "Durán", "Benítez", "Arias", "Carmona", "Crespo", "Pastor", "Soto", "Sáez", "Velasco", "Soler", "Parra",
    "Esteban", "Bravo", "Gallardo", "Pardo", "Merino", "Espinosa", "Izquierdo", "Lara", "Rivas", "Arroyo",
    "Redondo", "Camacho", "Otero", "Luque", "Galán", "Montes", "Sierra", "Segura", "Soriano", "Echeverría",
    "Aguirre", "Etxeberria", "Puig", "Casals", "Vilanova", "Ferrándiz", "Llorente", "Oliva", "Bosch",
)
_ES_PLACES = (
    "del Levante", "del Cantábrico", "del Ebro", "del Sur", "del Norte", "del Mediterráneo", "del Atlántico",
    "del Guadalquivir", "del Duero", "del Tajo", "de la Costa", "de la Sierra", "del Valle", "del Pirineo",
    "de la Mancha", "del Estrecho", "de Levante", "del Noroeste",
)
_ES_INVENTED = (
    "Alvisa", "Norcasa", "Ebrosa", "Tecnova", "Indalsur", "Vallmar", "Iberfrío", "Sureste", "Aldaba", "Costamar",
    "Teymar", "Lunaria", "Olmedo", "Fuentealta", "Montesol", "Rialto", "Altamira", "Brisamar", "Cierzo", "Encina",
    "Trébol", "Mirador", "Galatea", "Navalón", "Arlanza", "Sotavento", "Barlovento", "Alcor", "Arenal", "Bellavista",
    "Calima", "Doñana", "Girasol", "Jara", "Lebrija", "Marisma", "Nogal", "Océano", "Robledal", "Tramontana",
)
_ES_FIRST = (
    "Antonio", "José", "Manuel", "Francisco", "David", "Juan", "Javier", "Daniel", "Carlos", "Jesús", "Alejandro",
    "Miguel", "Rafael", "Pablo", "Sergio", "Fernando", "Jorge", "Luis", "Alberto", "Álvaro", "Adrián", "Diego",
    "Raúl", "Enrique", "Ramón", "Vicente", "Iván", "Rubén", "Óscar", "Andrés", "María", "Carmen", "Ana", "Isabel",
    "Laura", "Cristina", "Marta", "Lucía", "Elena", "Pilar", "Paula", "Sara", "Raquel", "Rosa", "Beatriz", "Silvia",
    "Patricia", "Nuria", "Irene", "Alicia", "Sonia", "Montserrat", "Rocío", "Inmaculada", "Eva", "Noelia", "Julia",
    "Teresa", "Mercedes", "Natalia",
)
_ES_COOP_KIND = ("Agrícola", "Vitivinícola", "Olivarera", "Agroalimentaria", "de Transportistas", "Ganadera",
                 "Frutícola", "Cerealista")
_ES_COOP_PATRON = ("San Isidro", "Santa Catalina", "Virgen del Rosario", "San José", "Nuestra Señora de la Paz",
                   "La Unión", "El Progreso", "Santa Ana", "San Miguel", "Virgen de la Cabeza", "San Roque",
                   "Santo Cristo")
_EN_PLACES = (
    "Hudson", "Lakeside", "Summit", "Redwood", "Bayview", "Granite", "Prairie", "Cedar", "Harbor", "Pioneer",
    "Keystone", "Evergreen", "Silverline", "Bluewater", "Northfield", "Riverside", "Oakridge", "Ironwood",
    "Sterling", "Frontier", "Liberty", "Coastal", "Midwest", "Great Lakes", "Blue Ridge", "Sunbelt", "Pacific",
    "Atlantic", "Canyon", "Heartland", "Tri-State", "Lone Star", "Empire", "Cascade", "Magnolia", "Copper",
    "Willow", "Aspen", "Brightwell", "Nordic", "Meridian", "Crescent",
)
_EN_STEMS = (
    "Logistics", "Construction", "Foods", "Hospitality Group", "Technologies", "Manufacturing", "Machine Works",
    "Farms", "Consulting", "Cleaning Services", "Electric", "Plumbing & Heating", "Supply", "Hardware",
    "Dental Group", "Pharmacy", "Auto Repair", "Packaging", "Builders", "Landscaping", "Freight",
    "Metal Fabrication", "Software", "Bakery", "Printing", "Marine Services", "HVAC", "Restaurants",
    "Medical Supply", "Trucking",
)
_EN_SURNAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Anderson", "Taylor", "Thomas",
    "Moore", "Martin", "Jackson", "Thompson", "White", "Harris", "Clark", "Lewis", "Walker", "Hall", "Allen",
    "Young", "King", "Wright", "Scott", "Green", "Baker", "Adams", "Nelson", "Carter", "Mitchell", "Roberts",
    "Turner", "Phillips", "Campbell", "Parker", "Evans", "Edwards", "Collins", "Stewart", "Morris", "Murphy",
    "Cook", "Rogers", "Morgan", "Cooper", "Peterson", "Reed", "Bailey", "Bell", "Kelly", "Howard", "Ward", "Cox",
    "Richardson", "Wood", "Watson", "Brooks", "Bennett", "Gray", "Hughes", "Price", "Sanders", "Myers", "Long",
    "Ross", "Foster", "Sullivan", "Fleming", "Porter", "Griffin", "Hayes", "Coleman", "Holt",
)
_EN_FIRST = (
    "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David", "Elizabeth", "William",
    "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Christopher", "Karen", "Daniel", "Lisa",
    "Matthew", "Nancy", "Anthony", "Betty", "Mark", "Sandra", "Steven", "Ashley", "Emily", "Olivia", "Ethan",
    "Grace",
)
_EN_CITIES = (  # city, area code, weight
    ("New York", "212", 8), ("Chicago", "312", 5), ("Houston", "713", 4), ("Phoenix", "602", 3),
    ("Philadelphia", "215", 3), ("San Antonio", "210", 2), ("San Diego", "619", 2), ("Dallas", "214", 3),
    ("Austin", "512", 2), ("Denver", "303", 2), ("Seattle", "206", 2), ("Boston", "617", 2), ("Atlanta", "404", 2),
    ("Miami", "305", 2), ("Portland", "503", 1), ("Minneapolis", "612", 1), ("Nashville", "615", 1),
    ("Columbus", "614", 1), ("Sacramento", "916", 1), ("Tampa", "813", 1),
)
_EN_HISPANIC = ("Distribuidora La Estrella", "Panadería San Juan", "Construcciones Ramírez", "Transportes El Sol",
                "Mercado Guadalupe", "Servicios Hermanos Díaz", "Taquería Los Altos", "Jardinería Del Valle",
                "Carnicería La Esperanza", "Imprenta Morales")

_COLLECTORS = {"es": ("Lucía Martín", "Javier Ortega", "Marta Soler", "Andrés Vidal"),
               "en": ("Emily Carter", "James Moore", "Olivia Reed", "Daniel Brooks")}

_ITEMS = {
    "es": ("Suministro de material eléctrico", "Herramientas y consumibles", "Equipos de protección individual",
           "Repuestos hidráulicos", "Tornillería y fijaciones", "Reparación de maquinaria",
           "Servicio técnico en planta", "Alquiler de carretilla elevadora", "Transporte y montaje",
           "Rodamientos y transmisión", "Material de soldadura", "Pintura industrial", "Lubricantes y grasas",
           "Cuadro eléctrico a medida", "Instalación de climatización", "Formación en prevención de riesgos"),
    "en": ("Electrical supplies", "Tools and consumables", "Personal protective equipment", "Hydraulic spare parts",
           "Fasteners and fixings", "Machinery repair", "On-site technical service", "Forklift rental",
           "Delivery and installation", "Bearings and power transmission", "Welding supplies", "Industrial paint",
           "Lubricants and greases", "Custom electrical panel", "HVAC installation", "Safety training"),
}
_MONTHLY_ITEMS = {"es": ("Contrato de mantenimiento", "Alquiler mensual de equipos", "Cuota de servicio técnico"),
                  "en": ("Maintenance contract", "Monthly equipment rental", "Technical service fee")}
_MONTHS = {"es": ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre",
                  "noviembre", "diciembre"),
           "en": ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
                  "November", "December")}
_DISPUTES = {
    "es": ("Mercancía dañada en el transporte", "Precio distinto al del pedido", "Factura duplicada",
           "Pedido incompleto", "No reconocen el servicio facturado", "Falta el número de pedido en la factura",
           "Descuento pactado no aplicado", "Entrega fuera de plazo"),
    "en": ("Goods damaged in transit", "Price differs from the purchase order", "Duplicate invoice",
           "Incomplete delivery", "Service not recognised", "Purchase order number missing",
           "Agreed discount not applied", "Late delivery"),
}
_CN_REASONS = {"es": ("devolución de mercancía", "error en el precio", "descuento comercial", "material defectuoso",
                      "rappel anual"),
               "en": ("returned goods", "pricing error", "trade discount", "defective material", "volume rebate")}
_REACHED_NOTES = {
    "es": ("Revisan la factura con contabilidad", "Pendiente de aprobación interna", "Piden copia de la factura",
           "Dicen que no les llegó la factura; reenviada", "Llamar la semana que viene al responsable de pagos"),
    "en": ("Checking the invoice with accounting", "Waiting for internal approval", "Asked for a copy of the invoice",
           "Say the invoice never arrived; sent again", "Call the payables manager next week"),
}
_NO_ANSWER_NOTES = {"es": ("Buzón de voz", "No contestan", "Comunicando", ""),
              "en": ("Voicemail", "No answer", "Line busy", "")}
_SUBJECTS = {  # by channel/offset kind
    "es": {"pre": "Aviso de próximo vencimiento: ", "due": "Vencimiento hoy: ", "over": "Recordatorio de pago: ",
           "final": "ÚLTIMO AVISO antes de iniciar acciones de recobro: ", "letter": "Requerimiento de pago — ",
           "call": "Llamada de cobro — ", "one": "factura ", "many": " facturas"},
    "en": {"pre": "Upcoming due date: ", "due": "Due today: ", "over": "Payment reminder: ",
           "final": "FINAL NOTICE before collection action: ", "letter": "Formal demand for payment — ",
           "call": "Collection call — ", "one": "invoice ", "many": " invoices"},
}
_COMPANY = {
    "es": {"company_name": "Suministros Industriales del Ebro, S.L.",
           "sender_name": "Administración — Suministros Ebro",
           "sender_email": "cobros@suministros-ebro.example.com",
           "reply_to": "administracion@suministros-ebro.example.com",
           "payment_instructions": "También puede pagar con tarjeta llamando al 976 000 000.",
           # issue 13: a way to pay in everything cobro sends (the IBAN is the standard Spanish example: checksum
           # valid, no real account)
           "beneficiary": "Suministros Industriales del Ebro, S.L.", "iban": "ES91 2100 0418 4502 0005 1332",
           "bic": "CAIXESBBXXX", "bizum": "00012 (Bizum empresas)", "company_tax_id": "B50987654",
           "company_address": "Polígono Malpica, calle E, 12\n50016 Zaragoza", "company_phone": "976 000 000"},
    "en": {"company_name": "Blue Harbor Supply Inc.",
           "sender_name": "Accounts Receivable — Blue Harbor Supply",
           "sender_email": "ar@blueharbor-supply.example.com",
           "reply_to": "billing@blueharbor-supply.example.com",
           "payment_instructions": "ACH or wire: Harbor Community Bank, routing 000000000, account 000123456789 "
                                   "(Blue Harbor Supply Inc., a demo account), quoting the invoice number.",
           "payment_link_template": "https://pay.blueharbor-supply.example.com/invoice/{invoice}?amount={amount}",
           "company_tax_id": "EIN 12-3456789", "company_address": "400 Harbor Way\nBaltimore, MD 21230",
           "company_phone": "+1 410 555 0100"},
}
_MAIL_DOMAIN = {"es": "suministros-ebro.example.com", "en": "blueharbor-supply.example.com"}

# ----------------------------------------------------------------------------------- helpers


def _compose(n: int, parts: Sequence[str | tuple[np.ndarray, int]]) -> np.ndarray:
    """Vectorized string building: constant ASCII pieces and zero-padded numbers -> object array of ``str``."""
    if n == 0:
        return np.empty(0, dtype=object)
    width = sum(len(p) if isinstance(p, str) else p[1] for p in parts)
    mat = np.empty((n, width + 1), dtype=np.uint8)
    pos = 0
    for p in parts:
        if isinstance(p, str):
            mat[:, pos:pos + len(p)] = np.frombuffer(p.encode("ascii"), dtype=np.uint8)
            pos += len(p)
        else:
            nums, digits = p
            x = np.array(nums, dtype=np.int64)
            for j in range(pos + digits - 1, pos - 1, -1):
                mat[:, j] = x % 10 + 48
                x //= 10
            pos += digits
    mat[:, width] = 10  # one line per value
    return np.array(mat.tobytes().decode("ascii").split("\n")[:-1], dtype=object)


def _width(count: int, minimum: int = 6) -> int:
    return max(minimum, len(str(max(count, 1))))


_NOT_ALNUM = re.compile(r"[^a-z0-9]+")


def _slug(text: str, words: int = 3) -> str:
    s = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    s = _NOT_ALNUM.sub(" ", s)
    stop = {"de", "del", "la", "las", "los", "y", "e", "el", "sl", "sa", "slu", "s", "l", "a", "u", "coop", "cb",
            "inc", "llc", "corp", "co", "ltd", "and", "the", "of", "sons"}
    parts = [w for w in s.split() if w not in stop]
    return "-".join(parts[:words]) or "cliente"


class _Calendar:
    """Day-index tables over the history window (index 0 = as_of - 364) and the year after it."""

    def __init__(self, as_of: dt.date, country: str):
        import holidays  # pure data; imported here so importing cobro.demo.generate stays cheap

        first = as_of - dt.timedelta(days=_A)
        self.start = np.datetime64(first, "D")
        days = self.start + np.arange(_T)
        ar = np.arange(_T)
        weekday = (days.astype("int64") + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
        years = list(range(first.year, first.year + _T // 365 + 2))
        try:
            hol = holidays.country_holidays(country, years=years)
            hol_days = np.array(sorted(hol.keys()), dtype="datetime64[D]")
        except NotImplementedError:  # pragma: no cover - ES and US are always there
            hol_days = np.array([], dtype="datetime64[D]")
        self.business = (weekday < 5) & ~np.isin(days, hol_days)
        self.weekday = weekday
        nxt = np.where(self.business, ar, _T - 1)
        self.next_bd = np.minimum.accumulate(nxt[::-1])[::-1]
        prv = np.where(self.business, ar, -1)
        prev = np.maximum.accumulate(prv)
        self.prev_bd = np.where(prev < 0, self.next_bd, prev)
        months = days.astype("datetime64[M]")
        self.dom = (days - months.astype("datetime64[D]")).astype("int64") + 1
        self.month = (months.astype("int64") % 12)  # 0 = January
        self.year = months.astype("int64") // 12 + 1970
        # last working day of each day's month
        starts = np.flatnonzero(np.r_[True, months[1:] != months[:-1]])
        last_bd = np.maximum.reduceat(prv, starts)
        counts = np.diff(np.r_[starts, _T])
        self.month_end_bd = np.repeat(last_bd, counts)
        self.month_first = np.repeat(starts, counts)
        self._paydays: dict[tuple[int, ...], np.ndarray] = {}

    def next_payday(self, days: tuple[int, ...]) -> np.ndarray:
        """Table: the first working day on or after the next of the given days of the month."""
        if days not in self._paydays:
            ar = np.arange(_T)
            hit = np.where(np.isin(self.dom, days), ar, _T - 1)
            nxt = np.minimum.accumulate(hit[::-1])[::-1]
            self._paydays[days] = self.next_bd[nxt]
        return self._paydays[days]

    def dates(self, idx: np.ndarray) -> np.ndarray:
        return (self.start + np.asarray(idx, dtype="int64")).astype("datetime64[ns]")


def _clip_day(idx: np.ndarray) -> np.ndarray:
    return np.clip(idx, 0, _T - 1)


def _str_col(values: object, n: int) -> pd.Series:
    if isinstance(values, str):
        return pd.Series(np.full(n, values, dtype=object), dtype="str")
    return pd.Series(values, dtype="str", copy=False) if n else pd.Series([], dtype="str")


def _typed(sheet: Sheet, n: int, cols: Mapping[str, object]) -> pd.DataFrame:
    """A frame of ``sheet`` with the convention dtypes; absent columns are blank; ``_row`` = 2..n+1."""
    out: dict[str, object] = {}
    for c in sheet.columns:
        v = cols.get(c.key)
        if c.type in ("text", "enum"):
            out[c.key] = _str_col(c.default or "" if v is None else v, n)
        elif c.type == "list":
            out[c.key] = pd.Series(v if v is not None else _objarr([()] * n), dtype=object, copy=False)
        elif c.type in ("date", "datetime"):
            out[c.key] = pd.Series(v if v is not None else np.full(n, np.datetime64("NaT"), "datetime64[ns]"),
                                   dtype="datetime64[ns]", copy=False)
        elif c.type == "money" and c.required:
            out[c.key] = pd.Series(v, dtype="int64", copy=False)
        elif c.type in ("money", "int"):
            if v is None:
                out[c.key] = pd.Series(pd.arrays.IntegerArray(np.zeros(n, dtype="int64"), np.ones(n, dtype=bool)))
            elif isinstance(v, tuple):  # (values, mask of blanks)
                out[c.key] = pd.Series(pd.arrays.IntegerArray(np.asarray(v[0], dtype="int64"),
                                                              np.asarray(v[1], dtype=bool)))
            else:
                out[c.key] = pd.Series(pd.array(v, dtype="Int64"))
        elif c.type == "bool":
            out[c.key] = pd.Series(v if v is not None else np.zeros(n, dtype=bool), dtype=bool)
        else:
            out[c.key] = pd.Series(v if v is not None else np.full(n, np.nan), dtype="float64")
    out["_row"] = pd.Series(np.arange(2, n + 2, dtype="int64"))
    return pd.DataFrame(out, copy=False)


def _cdf(weights: Sequence[float]) -> list[float]:
    w = np.asarray(weights, dtype=float)
    return (np.cumsum(w) / w.sum()).tolist()


_ES_CITY_CDF = _cdf([c[3] for c in _ES_CITIES])
_EN_CITY_CDF = _cdf([c[2] for c in _EN_CITIES])


def _weighted(rng: random.Random, cdf: Sequence[float]) -> int:
    return min(bisect.bisect_right(cdf, rng.random()), len(cdf) - 1)


def _pick(rng: random.Random, seq: Sequence[str]) -> str:
    return seq[int(rng.random() * len(seq))]


def _below(rng: random.Random, stop: int, start: int = 0) -> int:
    """A whole number in [start, stop) (one C call; ``randrange`` is several Python ones)."""
    return start + int(rng.random() * (stop - start))


# ----------------------------------------------------------------------------------- customers


class _Customers:
    """Customer rows (lists, one entry per customer) plus the hidden behaviour that drives the rest."""

    def __init__(self, n: int, rng: np.random.Generator, locale: str, currencies: tuple[str, ...]):
        self.n = n
        es = locale == "es"
        # ---- statuses and behaviour (vectorized) ----
        status = rng.choice(4, size=n, p=[0.86, 0.05, 0.04, 0.05])  # active, paused, legal, closed
        if n >= 12:
            order = rng.permutation(n)
            for k, want in enumerate((1, 2, 3)):
                if not (status == want).any():
                    status[order[k]] = want
        self.status_code = status
        profile = rng.choice([_PUNCTUAL, _NORMAL, _SLOW, _ERRATIC, _DEFAULTER], size=n,
                             p=[0.26, 0.46, 0.15, 0.08, 0.05])
        profile = np.where(status == 1, np.where(rng.random(n) < 0.5, _SLOW, _DEFAULTER), profile)
        profile = np.where(status == 2, _DEFAULTER, profile)
        profile = np.where(status == 3, _CLOSED, profile)
        if n >= 8:
            active = np.flatnonzero(status == 0)
            for want in (_SLOW, _PUNCTUAL, _DEFAULTER):
                if not (profile[status == 0] == want).any() and len(active):
                    free = active[~np.isin(profile[active], [_SLOW, _PUNCTUAL, _DEFAULTER])]
                    if len(free):
                        profile[free[int(rng.integers(len(free)))]] = want
        self.profile = profile
        # the day a bad payer stopped paying; a month or two later nobody sells to them on credit any more
        stop = np.full(n, _NEVER)
        stop = np.where(profile == _DEFAULTER, rng.integers(120, 330, size=n), stop)
        stop = np.where(status == 2, rng.integers(60, 250, size=n), stop)
        self.stop = stop
        start = np.where(rng.random(n) < 0.85, 0, rng.integers(30, 250, size=n))
        end = np.where(profile == _CLOSED, rng.integers(110, 270, size=n), _A)
        end = np.where(stop < _NEVER, np.minimum(end, stop + rng.integers(20, 75, size=n)), end)
        start = np.minimum(start, end - 30)
        self.start = np.maximum(start, 0)
        self.end = end
        since = np.full(n, _NEVER)
        since = np.where(status == 1, _A - rng.integers(10, 90, size=n), since)
        since = np.where(status == 2, np.minimum(stop + rng.integers(30, 90, size=n), _A - 5), since)
        since = np.where(status == 3, np.minimum(end + rng.integers(15, 60, size=n), _A), since)
        self.since = since
        # currency
        self.currency_code = np.zeros(n, dtype=np.int64)
        lang_other = rng.random(n) < (0.10 if es else 0.08)
        self.lang_other = lang_other
        if len(currencies) > 1:
            foreign = rng.random(n) < np.where(lang_other, 0.45, 0.12)
            if n >= 5 and not foreign.any():
                foreign[int(rng.integers(n))] = True
            self.currency_code = np.where(foreign, rng.integers(1, len(currencies), size=n), 0)
        self.currencies = currencies
        cur = [currencies[i] for i in self.currency_code]
        self.currency = cur
        self.exp = np.array([money.exponent(c) for c in cur], dtype=np.int64)
        self.scale = np.array([_SCALE.get(c, 1.0) for c in cur])
        # how they pay
        if es:  # codes of _METHODS: transfer, direct_debit, card, check
            method = rng.choice(4, size=n, p=[0.74, 0.18, 0.08, 0.0])
        else:
            method = rng.choice(4, size=n, p=[0.60, 0.10, 0.12, 0.18])
        method = np.where((profile == _SLOW) & (method == 1), 0, method)
        self.method_code = method
        terms = rng.choice([0, 15, 30, 45, 60, 90], size=n, p=[0.05, 0.12, 0.38, 0.13, 0.24, 0.08])
        terms = np.where(method == 2, 0, terms)
        terms = np.where(method == 1, rng.choice([30, 60], size=n), terms)
        self.terms = terms.astype(np.int64)
        patterns = ((10, 25), (5, 20), (15,), (25,), (10,))
        bundler = (method == 0) & np.isin(profile, [_NORMAL, _SLOW, _ERRATIC]) & (rng.random(n) < 0.3)
        self.weight = rng.lognormal(0.0, 1.0, size=n)
        cand = np.flatnonzero((method == 0) & (profile != _DEFAULTER) & (profile != _CLOSED))
        if len(cand) and not bundler.any():
            bundler[cand[np.argmax(self.weight[cand])]] = True
        self.pattern = np.where(bundler, rng.integers(0, len(patterns), size=n), -1)
        self.patterns = patterns
        self.monthly = (rng.random(n) < 0.12) & (method != 2)
        self.mu = np.log(700.0) + 0.8 * rng.standard_normal(n)
        self.ref_style = rng.choice(4, size=n, p=[0.33, 0.27, 0.2, 0.2])
        self.ref_base = rng.integers(10000, 90000, size=n)
        self.main_item = rng.integers(0, len(_ITEMS["es"]), size=n)
        n_mail = rng.choice(3, size=n, p=[0.04, 0.80, 0.16])
        if n >= 10:
            act = np.flatnonzero(status == 0)
            if len(act) and not (n_mail[act] == 0).any():
                big = act[np.argsort(-self.weight[act])][: max(1, len(act) // 2)]
                n_mail[big[int(rng.integers(len(big)))]] = 0
        if n >= 5 and not (n_mail == 2).any():
            n_mail[int(rng.integers(n))] = 2
        self.n_mail = n_mail
        # a stale address: every e-mail to it bounces (a "fix the contact data" case)
        bad_mail = (n_mail > 0) & (rng.random(n) < 0.03)
        if n >= 20 and not bad_mail.any():
            ok = np.flatnonzero((n_mail > 0) & (status == 0))
            if len(ok):
                bad_mail[ok[int(rng.integers(len(ok)))]] = True
        self.bad_mail = bad_mail
        ncoll = int(np.clip(1 + n // 25, 1, 4))
        coll_names = _COLLECTORS[locale][:ncoll]
        coll_idx = rng.integers(0, ncoll, size=n)
        no_coll = (rng.random(n) < 0.05) & (n >= 20)
        self.collector = [("" if none else coll_names[i]) for i, none in zip(coll_idx, no_coll, strict=True)]
        self.caller = [c or coll_names[0] for c in self.collector]
        # credit limits: round figures in the customer's currency
        limits = np.array([3000, 5000, 10000, 15000, 20000, 30000, 50000, 100000])
        size_rank = np.clip((self.mu - np.log(700.0)) / 0.8 + rng.normal(0, 0.7, n), -2.5, 2.5)
        li = np.clip(np.round((size_rank + 2.5) / 5 * (len(limits) - 1)).astype(int), 0, len(limits) - 1)
        factor = np.array([max(1.0, round(s)) if s >= 1 else 1.0 for s in self.scale])
        self.credit_limit = (limits[li] * factor).astype(np.int64) * (10 ** self.exp)
        self.credit_blank = rng.random(n) < 0.25
        # ---- text, one customer at a time ----
        width = max(4, len(str(n)))
        prefix = "CLI-" if es else "CUST-"
        self.ids = [f"{prefix}{i + 1:0{width}d}" for i in range(n)]
        self.names: list[str] = []
        self.tax_ids: list[str] = []
        self.emails: list[tuple[str, ...]] = []
        self.cc: list[tuple[str, ...]] = []
        self.phones: list[str] = []
        self.language: list[str] = []
        self.notes: list[str] = []
        used_names: set[str] = set()
        used_tax: set[str] = set()
        tr = random.Random(int(rng.integers(2**63)))  # scalar draws for the text: far quicker than numpy's
        for i in range(n):
            if es:
                name, tax, person, phone = self._spanish(tr, bool(lang_other[i]), used_names, used_tax)
                lang = "en" if lang_other[i] else "es"
            else:
                name, tax, person, phone = self._american(tr, bool(lang_other[i]), used_names, used_tax)
                lang = "es" if lang_other[i] else "en"
            self.names.append(name)
            self.tax_ids.append(tax)
            self.phones.append("" if tr.random() < 0.07 else phone)
            self.language.append(lang)
            emails = self._emails(tr, name, person, int(n_mail[i]), es)
            self.emails.append(emails)
            cc = ()
            if emails and person is None and tr.random() < 0.08:
                cc = (f"{'gerencia' if es else 'controller'}@{emails[0].split('@')[1]}",)
            self.cc.append(cc)
            self.notes.append(self._note(tr, i, es))

    # -- names and ids

    @staticmethod
    def _unique(make: Callable[[], str], used: set[str]) -> str:
        name = make()
        for _ in range(12):
            if name not in used:
                break
            name = make()
        base = name
        k = 2
        while name in used:
            name = f"{base} ({k})"
            k += 1
        used.add(name)
        return name

    @staticmethod
    def _tax(make: Callable[[], str], used: set[str]) -> str:
        while True:
            t = make()
            if t not in used:
                used.add(t)
                return t

    def _spanish(self, rng: random.Random, foreign: bool, used_names: set[str],
                 used_tax: set[str]) -> tuple[str, str, tuple[str, str] | None, str]:
        city, prov, prefix, _ = _ES_CITIES[_weighted(rng, _ES_CITY_CDF)]
        kind = _pick(rng, ("sl",) * 50 + ("sa",) * 12 + ("slu",) * 12 + ("coop",) * 6 + ("auto",) * 14
                     + ("asoc",) * 3 + ("cb",) * 3)
        if foreign:
            kind = _pick(rng, ("sl", "slu", "sa"))
        person = None
        if kind == "auto":
            name = self._unique(lambda: f"{_pick(rng, _ES_FIRST)} {_pick(rng, _ES_SURNAMES)} "
                                        f"{_pick(rng, _ES_SURNAMES)}", used_names)
            first, s1 = name.split(" ")[0], name.split(" ")[1]
            person = (first, s1)
            if rng.random() < 0.06:
                tax = self._tax(lambda: spanish_nie(_pick(rng, "XY"), _below(rng, 9_999_999, 1_000_000)),
                                used_tax)
            else:
                tax = self._tax(lambda: spanish_nif(_below(rng, 79_999_999, 1_000_000)), used_tax)
            phone = "6" + f"{_below(rng, 10**8):08d}"
        else:
            if foreign:
                suffix = {"sl": "S.L.", "slu": "S.L.U.", "sa": "S.A."}[kind]
                make = lambda: (f"{_pick(rng, _EN_PLACES)} {_pick(rng, _EN_STEMS)} "  # noqa: E731
                                f"{_pick(rng, ('Iberia', 'Spain', 'España'))} {suffix}")
            elif kind == "coop":
                suffix = ("Coop. V." if prov in _ES_VALENCIA else "S. Coop. And." if prov in _ES_ANDALUSIA
                          else "S. Coop.")
                make = lambda: (f"Cooperativa {_pick(rng, _ES_COOP_KIND)} "  # noqa: E731
                                f"{_pick(rng, _ES_COOP_PATRON + ('de ' + city,))}, {suffix}")
            elif kind == "asoc":
                make = lambda: _pick(rng, (f"Asociación de Comerciantes de {city}",  # noqa: E731
                                           f"Club Deportivo {_pick(rng, _ES_INVENTED)}",
                                           f"Fundación {_pick(rng, _ES_SURNAMES)} {_pick(rng, _ES_SURNAMES)}",
                                           f"Asociación Cultural {_pick(rng, _ES_INVENTED)}"))
            elif kind == "cb":
                make = lambda: (f"{_pick(rng, _ES_STEMS)} {_pick(rng, _ES_SURNAMES)} y "  # noqa: E731
                                f"{_pick(rng, _ES_SURNAMES)}, C.B.")
            else:
                suffix = {"sl": "S.L.", "slu": "S.L.U.", "sa": "S.A."}[kind]

                def make() -> str:
                    stem, sur = _pick(rng, _ES_STEMS), _pick(rng, _ES_SURNAMES)
                    form = _below(rng, 7)
                    core = (f"{stem} {sur}", f"{stem} Hermanos {sur}", f"{stem} {sur} e Hijos",
                            f"{stem} {_pick(rng, _ES_PLACES)}", f"{stem} {city}",
                            f"{_pick(rng, _ES_INVENTED)} {stem}", f"{sur} y {_pick(rng, _ES_SURNAMES)} {stem}")[form]
                    return f"{core}, {suffix}" if rng.random() < 0.3 else f"{core} {suffix}"
            name = self._unique(make, used_names)
            letter = {"sl": "B", "slu": "B", "sa": "A", "coop": "F", "asoc": "G", "cb": "E"}[kind]
            tax = self._tax(lambda: spanish_cif(letter, prov, _below(rng, 100000, 0)), used_tax)
            rest = 9 - len(prefix)
            phone = prefix + f"{_below(rng, 10**rest):0{rest}d}"
        phone = f"+34 {phone[:3]} {phone[3:6]} {phone[6:]}"
        return name, tax, person, phone

    def _american(self, rng: random.Random, hispanic: bool, used_names: set[str],
                  used_tax: set[str]) -> tuple[str, str, tuple[str, str] | None, str]:
        _, area, _ = _EN_CITIES[_weighted(rng, _EN_CITY_CDF)]
        kind = _pick(rng, ("llc",) * 44 + ("inc",) * 24 + ("corp",) * 8 + ("co",) * 7 + ("ltd",) * 4
                     + ("sole",) * 9 + ("coop",) * 4)
        person = None
        if hispanic:
            make = lambda: f"{_pick(rng, _EN_HISPANIC)} {_pick(rng, ('LLC', 'Inc.'))}"  # noqa: E731
        elif kind == "sole":
            def make() -> str:
                return (f"{_pick(rng, _EN_FIRST)} {_pick(rng, _EN_SURNAMES)} "
                        f"{_pick(rng, ('Consulting', 'Design', 'Plumbing', 'Electric', 'Landscaping', 'Bookkeeping'))}")
        elif kind == "coop":
            make = lambda: (f"{_pick(rng, _EN_PLACES)} "  # noqa: E731
                            f"{_pick(rng, ('Farmers', 'Growers', 'Dairy', 'Grain'))} Cooperative")
        else:
            suffix = {"llc": "LLC", "inc": "Inc.", "corp": "Corp.", "co": "Co.", "ltd": "Ltd."}[kind]

            def make() -> str:
                stem, sur = _pick(rng, _EN_STEMS), _pick(rng, _EN_SURNAMES)
                form = _below(rng, 4)
                core = (f"{sur} {stem}", f"{sur} & Sons {stem}", f"{_pick(rng, _EN_PLACES)} {stem}",
                        f"{sur} & {_pick(rng, _EN_SURNAMES)} {stem}")[form]
                return f"{core}, {suffix}" if rng.random() < 0.2 else f"{core} {suffix}"
        name = self._unique(make, used_names)
        if kind == "sole" and not hispanic:
            first, last = name.split(" ")[:2]
            person = (first, last)
        tax = self._tax(lambda: f"{_EIN_PREFIXES[_below(rng, len(_EIN_PREFIXES))]:02d}-"
                                f"{_below(rng, 10_000_000, 0):07d}", used_tax)
        phone = f"+1 {area}-555-01{_below(rng, 100, 0):02d}"  # 555-0100..0199 are reserved for fiction
        return name, tax, person, phone

    @staticmethod
    def _domain(name: str, rng: random.Random) -> str:
        """The company's own domain, under a reserved one (RFC 2606): ``acme-logistics.example.com``."""
        return f"{_slug(name)}.{_pick(rng, ('example.com', 'example.com', 'example.net', 'example.org'))}"

    def _emails(self, rng: random.Random, name: str, person: tuple[str, str] | None, count: int,
                es: bool) -> tuple[str, ...]:
        if count == 0:
            return ()
        if person is not None:
            first, last = (_slug(x, 1) for x in person)
            out = [f"{first}.{last}@{_pick(rng, ('example.com', 'example.net', 'example.org'))}"]
            if count > 1:
                out.append(f"{'facturas' if es else 'billing'}.{last}@example.com")
            return tuple(out)
        domain = self._domain(name, rng)
        boxes = (("administracion", "contabilidad", "facturas", "pagos", "tesoreria", "proveedores")
                 if es else ("ap", "accounts.payable", "billing", "finance", "payables", "office"))
        first_box = _pick(rng, boxes)
        out = [f"{first_box}@{domain}"]
        if count > 1:
            first, last = (_pick(rng, _ES_FIRST if es else _EN_FIRST), _pick(rng, _ES_SURNAMES if es else _EN_SURNAMES))
            out.append(f"{_slug(first, 1)}.{_slug(last, 1)}@{domain}")
        return tuple(out)

    def _note(self, rng: random.Random, i: int, es: bool) -> str:
        st = int(self.status_code[i])
        if st == 2:
            return _pick(rng, ("Reclamación judicial en curso", "En concurso de acreedores") if es
                         else ("Lawsuit filed", "In bankruptcy proceedings"))
        if st == 3:
            return "Cese de actividad; cuenta cerrada" if es else "Ceased trading; account closed"
        if st == 1:
            return "Pausado: negociando un acuerdo de pago" if es else "On hold: negotiating a payment plan"
        if self.n_mail[i] == 0:
            return "Falta el email de facturación" if es else "Billing e-mail missing"
        if self.pattern[i] >= 0 and rng.random() < 0.6:
            days = self.patterns[int(self.pattern[i])]
            if es:
                return "Solo pagan los días " + " y ".join(str(d) for d in days)
            return "Pays only on day " + " and ".join(str(d) for d in days) + " of the month"
        if rng.random() < 0.12:
            return _pick(rng, ("Pagan por confirming", "Enviar las facturas a contabilidad",
                               "Preferible contactar por teléfono", "Cliente desde 2015") if es
                         else ("Pays through a supply-chain finance program", "Send invoices to accounting",
                               "Prefers phone calls", "Customer since 2015"))
        return ""


# ----------------------------------------------------------------------------------- the generator


def _default_currencies(locale: str) -> tuple[str, ...]:
    return ("EUR", "USD") if locale == "es" else ("USD", "EUR")


def _check_args(customers: int, invoices: int, locale: str, currencies: tuple[str, ...]) -> None:
    if locale not in ("es", "en"):
        raise ValueError(f"locale must be 'es' or 'en', not {locale!r}")
    if customers < 1:
        raise ValueError(f"customers must be at least 1, not {customers}")
    if invoices < 0:
        raise ValueError(f"invoices must be zero or more, not {invoices}")
    if not currencies or len(set(currencies)) != len(currencies):
        raise ValueError(f"currencies must be distinct ISO 4217 codes such as ('EUR', 'USD'), not {currencies!r}")
    for c in currencies:
        if not money.is_known_currency(c):
            raise ValueError(f"unknown currency {c!r}: expected an ISO 4217 code such as EUR or USD")


def generate_ledger(customers: int = 60, invoices: int = 1500, seed: int = 7, locale: str = "es",
                    as_of: dt.date = DEFAULT_AS_OF, currencies: tuple[str, ...] | None = None) -> Ledger:
    """A realistic ledger of ``customers`` customers and ``invoices`` invoice rows (credit notes included),
    issued over the 12 months ending at ``as_of``. Deterministic for a given set of arguments.

    ``currencies``: the first is the base currency (Settings.base_currency) and that of ~85 % of customers;
    the others are spread over the rest. Default: ``("EUR", "USD")`` for ``es``, ``("USD", "EUR")`` for ``en``.
    """
    currencies = tuple(currencies) if currencies is not None else _default_currencies(locale)
    _check_args(customers, invoices, locale, currencies)
    if isinstance(as_of, dt.datetime):
        as_of = as_of.date()
    with gc_paused():  # millions of new tuples and strings, none of them cyclic: collection passes only cost time
        return _generate(customers, invoices, seed, locale, as_of, currencies)


def _generate(customers: int, invoices: int, seed: int, locale: str, as_of: dt.date,
              currencies: tuple[str, ...]) -> Ledger:
    rng = np.random.default_rng(seed)
    cal = _Calendar(as_of, "ES" if locale == "es" else "US")
    settings = _settings(locale, currencies[0])
    cust = _Customers(customers, rng, locale, currencies)
    inv = _make_invoices(invoices, rng, locale, cust, cal)
    pay = _make_payments(rng, locale, cust, inv, cal)
    levels, templates = _levels_templates(locale)
    contacts = _make_contacts(rng, locale, cust, inv, pay, cal, levels, settings.promise_grace_days)

    c = cust
    credit = (c.credit_limit, c.credit_blank)
    customers_df = _typed(CUSTOMERS, c.n, {
        "customer_id": np.array(c.ids, dtype=object), "name": np.array(c.names, dtype=object),
        "tax_id": np.array(c.tax_ids, dtype=object), "email": _objarr(c.emails), "cc": _objarr(c.cc),
        "phone": np.array(c.phones, dtype=object), "language": np.array(c.language, dtype=object),
        "currency": np.array(c.currency, dtype=object), "payment_terms_days": c.terms, "credit_limit": credit,
        "collector": np.array(c.collector, dtype=object),
        "status": np.array(["active", "paused", "legal", "closed"], dtype=object)[c.status_code],
        "notes": np.array(c.notes, dtype=object)})
    return Ledger(customers=customers_df, invoices=inv.frame, payments=pay.frame, contacts=contacts,
                  plans=_typed(PLANS, 0, {}), levels=levels, templates=templates, settings=settings,
                  statement=pd.DataFrame(), matches=_typed(MATCHES, 0, {}))


def _objarr(items: Sequence[object]) -> np.ndarray:
    """A 1-d object array holding ``items`` as they are (tuples stay tuples)."""
    return np.fromiter(items, dtype=object, count=len(items))


def _settings(locale: str, base: str) -> Settings:
    """The default settings of ``locale`` with the fictitious company filled in."""
    raw: dict[str, object] = dict(default_settings(locale))
    raw.update(_COMPANY[locale])
    raw["locale"] = locale
    raw["base_currency"] = base
    if locale == "es":
        raw.update({"country": "ES", "timezone": "Europe/Madrid"})
    else:  # US-style customers and EINs: a US company
        raw.update({"country": "US", "timezone": "America/New_York"})
    return parse_settings(raw)


def _levels_templates(locale: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The default ladder and texts, with the sheet rows they get when written."""
    levels = default_levels(locale).reset_index(drop=True)
    templates = default_templates().reset_index(drop=True)
    levels = levels.assign(_row=np.arange(2, len(levels) + 2, dtype="int64"))
    templates = templates.assign(_row=np.arange(2, len(templates) + 2, dtype="int64"))
    return levels, templates


# ----------------------------------------------------------------------------------- invoices


class _Invoices:
    """Invoice arrays in final (sheet) order plus what payments and contacts need."""

    frame: pd.DataFrame
    n: int
    cust: np.ndarray
    issue: np.ndarray
    due: np.ndarray
    amount: np.ndarray
    is_cn: np.ndarray
    status: np.ndarray  # 0 open, 1 disputed, 2 written_off, 3 cancelled
    ids: np.ndarray
    refs: np.ndarray
    dispute_day: np.ndarray
    dispute_reason: np.ndarray
    cn_orig: np.ndarray  # for credit notes: index of the original invoice


def _make_invoices(total: int, rng: np.random.Generator, locale: str, c: _Customers,
                   cal: _Calendar) -> _Invoices:
    es = locale == "es"
    n_cn = int(round(total * 0.02)) if total >= 50 else (1 if total >= 10 else 0)
    n_reg = total - n_cn
    # -- regular invoices: customer, issue day, amount
    window = (c.end - c.start + 1).astype(float)
    p = c.weight * window
    p = p / p.sum()
    cust = rng.choice(c.n, size=n_reg, p=p)
    w = np.where(cal.business[:_WINDOW], 1.0, np.where(cal.weekday[:_WINDOW] >= 5, 0.015, 0.01))
    w = np.where(cal.month[:_WINDOW] == 7, w * 0.7, w)  # August
    dec = ((cal.month[:_WINDOW] == 11) & (cal.dom[:_WINDOW] >= 22)) | ((cal.month[:_WINDOW] == 0)
                                                                      & (cal.dom[:_WINDOW] <= 6))
    w = np.where(dec, w * 0.75, w)
    cdf = np.r_[0.0, np.cumsum(w)]
    lo = cdf[c.start[cust]]
    hi = cdf[c.end[cust] + 1]
    u = lo + (hi - lo) * rng.random(n_reg)
    day = np.clip(np.searchsorted(cdf, u, side="right") - 1, c.start[cust], c.end[cust])
    monthly = c.monthly[cust]
    me = cal.month_end_bd[day]
    prev_me = cal.month_end_bd[np.maximum(cal.month_first[day] - 1, 0)]
    me = np.where(me > _A, prev_me, me)
    me = np.where((me < c.start[cust]) | (me < 0), day, me)
    day = np.where(monthly, me, day)
    exp = c.exp[cust]
    scale = c.scale[cust]
    major = np.exp(c.mu[cust] + 0.85 * rng.standard_normal(n_reg))
    tail = rng.random(n_reg) < 0.03
    major = np.where(tail, major * (1.5 + 2.0 * rng.pareto(2.2, size=n_reg)), major)
    major = np.clip(major, 2.0, 2_000_000.0) * scale
    minor = np.rint(major * 10.0 ** exp).astype(np.int64)
    unit = (10 ** np.maximum(exp, np.floor(np.log10(np.maximum(minor, 1))).astype(np.int64) - 1)).astype(np.int64)
    round_fig = rng.random(n_reg) < 0.06
    minor = np.where(round_fig, np.maximum(minor // unit, 1) * unit, minor)
    minor = np.maximum(minor, 2)
    # order the regular invoices by issue day and number them per year
    perm = rng.permutation(n_reg)
    order = perm[np.argsort(day[perm], kind="stable")]
    cust, day, minor, monthly = cust[order], day[order], minor[order], monthly[order]
    # -- credit notes on earlier invoices of the same customer
    if n_cn and n_reg:
        orig = np.sort(rng.choice(n_reg, size=min(n_cn, n_reg), replace=False))
        n_cn = len(orig)
        cn_day = np.minimum(day[orig] + rng.integers(2, 45, size=n_cn), _A)
        cn_day = cal.prev_bd[cn_day]
        cn_day = np.maximum(cn_day, day[orig])
        full = rng.random(n_cn) < 0.35
        pct = rng.integers(5, 51, size=n_cn)
        cn_amt = np.where(full, minor[orig], np.maximum(minor[orig] * pct // 100, 1))
    else:
        orig = np.zeros(0, dtype=np.int64)
        n_cn = 0
        cn_day = np.zeros(0, dtype=np.int64)
        cn_amt = np.zeros(0, dtype=np.int64)
    cn_cust = cust[orig]
    # ids: F-YYYY-000123 / R-YYYY-000012 (es), INV-… / CN-… (en)
    reg_ids = _numbered(cal, day, "F-" if es else "INV-")
    cn_order = _sorted_order([cn_day, orig], [_T, max(n_reg, 1)])
    orig, cn_day, cn_amt, cn_cust = orig[cn_order], cn_day[cn_order], cn_amt[cn_order], cn_cust[cn_order]
    cn_ids = _numbered(cal, cn_day, "R-" if es else "CN-")
    # statuses of regular invoices (assigned before payments, which depend on them)
    status = np.zeros(n_reg, dtype=np.int64)
    protected = np.zeros(n_reg, dtype=bool)
    protected[orig] = True
    k_cancel = int(round(0.004 * n_reg)) or (1 if n_reg >= 150 else 0)
    k_disp = int(round(0.02 * n_reg)) or (1 if n_reg >= 30 else 0)
    k_woff = int(round(0.004 * n_reg)) or (1 if n_reg >= 150 else 0)
    cand = np.flatnonzero(~protected & (day <= _A - 3))
    if k_cancel and len(cand):
        pick = rng.choice(cand, size=min(k_cancel, len(cand)), replace=False)
        status[pick] = 3
    cand = np.flatnonzero(~protected & (status == 0) & (day >= _A - 240) & (day <= _A - 7))
    if k_disp and len(cand):
        pick = rng.choice(cand, size=min(k_disp, len(cand)), replace=False)
        status[pick] = 1
    bad_payer = np.isin(c.profile[cust], [_DEFAULTER]) | (c.status_code[cust] == 2)
    cand = np.flatnonzero(~protected & (status == 0) & (day <= _A - 150))
    if k_woff and len(cand):
        prio = bad_payer[cand].astype(float) * 2 + rng.random(len(cand))
        pick = cand[np.argsort(-prio)[:k_woff]]
        status[pick] = 2
    dispute_day = np.full(n_reg, _NEVER)
    dsel = status == 1
    dispute_day[dsel] = cal.next_bd[np.minimum(day[dsel] + rng.integers(5, 45, size=int(dsel.sum())), _A)]
    dispute_day = np.where(dsel, np.minimum(dispute_day, _A), dispute_day)
    reasons = np.array(_DISPUTES[locale], dtype=object)
    dispute_reason = np.where(dsel, reasons[rng.integers(0, len(reasons), size=n_reg)], "")

    # -- text columns
    terms = c.terms[cust]
    due = day + terms
    items = np.array(_ITEMS[locale], dtype=object)
    monthly_items = _MONTHLY_ITEMS[locale]
    months = _MONTHS[locale]
    item = np.where(rng.random(n_reg) < 0.5, c.main_item[cust], rng.integers(0, len(items), size=n_reg))
    desc = items[item]
    if monthly.any():
        years = cal.year[day[monthly]]
        y0 = int(cal.year[0])
        mcode = (years - y0) * 12 + cal.month[day[monthly]]
        mi = c.main_item[cust[monthly]] % len(monthly_items)
        combo = mi * 36 + mcode
        uniq, inv_idx = np.unique(combo, return_inverse=True)
        labels = np.array([f"{monthly_items[u // 36]} — {months[(u % 36) % 12]} {y0 + (u % 36) // 12}"
                           for u in uniq.tolist()], dtype=object)
        desc = desc.copy()
        desc[monthly] = labels[inv_idx]
    refs = _references(rng, locale, c, cust, day, cal)
    cn_desc = np.array(
        [(f"Abono de la factura {reg_ids[o]} ({_CN_REASONS['es'][r]})" if es
          else f"Credit note for invoice {reg_ids[o]} ({_CN_REASONS['en'][r]})")
         for o, r in zip(orig.tolist(), rng.integers(0, 5, size=n_cn).tolist(), strict=True)], dtype=object)

    # -- merge regular and credit notes in sheet order (by issue date, invoices before credit notes)
    n = n_reg + n_cn
    all_day = np.r_[day, cn_day]
    series = np.r_[np.zeros(n_reg, dtype=np.int64), np.ones(n_cn, dtype=np.int64)]
    seq = np.r_[np.arange(n_reg), np.arange(n_cn)]
    final = _sorted_order([all_day, series, seq], [_T, 2, max(n_reg, n_cn, 1)])
    inv = _Invoices()
    inv.n = n
    inv.cust = np.r_[cust, cn_cust][final]
    inv.issue = all_day[final]
    inv.due = np.r_[due, cn_day][final]
    inv.amount = np.r_[minor, -cn_amt][final]
    inv.is_cn = series[final] == 1
    inv.status = np.r_[status, np.zeros(n_cn, dtype=np.int64)][final]
    inv.ids = np.r_[reg_ids, cn_ids][final]
    inv.refs = np.r_[refs, np.full(n_cn, "", dtype=object)][final]
    inv.dispute_day = np.r_[dispute_day, np.full(n_cn, _NEVER)][final]
    pos = np.empty(n, dtype=np.int64)
    pos[final] = np.arange(n)
    inv.cn_orig = np.full(n, -1, dtype=np.int64)
    inv.cn_orig[pos[n_reg:]] = pos[orig]
    description = np.r_[desc, cn_desc][final]
    inv.dispute_reason = np.r_[dispute_reason, np.full(n_cn, "", dtype=object)][final]
    cur_names = np.array(c.currency, dtype=object)
    cust_ids = np.array(c.ids, dtype=object)
    inv.frame = _typed(INVOICES, n, {
        "invoice_id": inv.ids, "customer_id": cust_ids[inv.cust], "issue_date": cal.dates(inv.issue),
        "due_date": cal.dates(inv.due), "currency": cur_names[inv.cust], "amount": inv.amount,
        "description": description, "reference": inv.refs,
        "status": np.array(["open", "disputed", "written_off", "cancelled"], dtype=object)[inv.status],
        "dispute_reason": inv.dispute_reason})
    return inv


def _numbered(cal: _Calendar, day: np.ndarray, prefix: str) -> np.ndarray:
    """``PREFIX-YYYY-000123`` numbered from 1 each calendar year; ``day`` must be sorted."""
    n = len(day)
    if n == 0:
        return np.empty(0, dtype=object)
    year = cal.year[day]
    first = np.r_[0, np.flatnonzero(np.diff(year)) + 1]
    start_of = np.repeat(first, np.diff(np.r_[first, n]))
    number = np.arange(n) - start_of + 1
    return _compose(n, [prefix, (year, 4), "-", (number, _width(int(number.max())))])


def _references(rng: np.random.Generator, locale: str, c: _Customers, cust: np.ndarray, day: np.ndarray,
                cal: _Calendar) -> np.ndarray:
    """The customer's purchase-order reference; blank for customers who give none and for ~12 % of the rest."""
    n = len(cust)
    out = np.full(n, "", dtype=object)
    style = c.ref_style[cust]
    style = np.where(rng.random(n) < 0.12, 0, style)
    seqno = (c.ref_base[cust] + np.arange(n) * 7 // max(c.n, 1)) % 100000
    for s in (1, 2, 3):
        m = style == s
        k = int(m.sum())
        if not k:
            continue
        if s == 1:
            out[m] = _compose(k, ["PED-" if locale == "es" else "PO-", (seqno[m], 5)])
        elif s == 2:
            out[m] = _compose(k, ["45", (rng.integers(0, 10**8, size=k), 8)])
        else:
            lead = "OC-" if locale == "es" else "PO#"
            out[m] = _compose(k, [lead, (cal.year[day[m]], 4), "/", (seqno[m] % 10000, 4)])
    return out


# ----------------------------------------------------------------------------------- payments


class _Payments:
    frame: pd.DataFrame
    settled: np.ndarray  # per invoice: day the invoice was (essentially) paid; _NEVER if not by as_of
    d1: np.ndarray  # per invoice: first payment day / amount (partial), _NEVER / 0 if none
    a1: np.ndarray
    d2: np.ndarray  # per invoice: final payment day / amount
    a2: np.ndarray


_METHODS = ("transfer", "direct_debit", "card", "check")
_TRANSFER, _DIRECT_DEBIT, _CARD, _CHECK = range(4)


def _labels(labels: Sequence[str], codes: np.ndarray) -> np.ndarray:
    """Object array of ``labels[code]`` (fast: no per-row string work)."""
    return np.array(labels, dtype=object)[codes]


def _make_payments(rng: np.random.Generator, locale: str, c: _Customers, inv: _Invoices,
                   cal: _Calendar) -> _Payments:
    es = locale == "es"
    n = inv.n
    cu = inv.cust
    prof = c.profile[cu]
    method = c.method_code[cu]
    method = np.where((method != _TRANSFER) & (rng.random(n) < 0.04), _TRANSFER, method)
    # lateness after the due date, by profile
    late_normal = np.minimum(np.rint(rng.gamma(1.5, 5.5, size=n)), 35)
    late = np.select(
        [prof == _PUNCTUAL, prof == _NORMAL, prof == _SLOW, prof == _ERRATIC, prof == _DEFAULTER],
        [np.clip(np.rint(rng.normal(-1.0, 3.0, size=n)), -10, 6), late_normal, rng.integers(30, 91, size=n),
         np.where(rng.random(n) < 0.2, rng.integers(40, 151, size=n), late_normal), rng.integers(10, 61, size=n)],
        default=late_normal).astype(np.int64)
    pay = inv.due + late
    pay = np.where(method == _CARD, inv.issue, pay)
    pay = np.where(method == _DIRECT_DEBIT, inv.due, pay)
    pay = np.maximum(pay, inv.issue)
    pat = c.pattern[cu]
    for k, days in enumerate(c.patterns):
        m = (pat == k) & (method == _TRANSFER)
        if m.any():
            pay[m] = cal.next_payday(days)[_clip_day(pay[m])]
    pay = cal.next_bd[_clip_day(pay)]
    # who never pays (by as_of or at all)
    size = inv.amount / (10.0 ** c.exp[cu] * c.scale[cu])  # rough size in euros, only to pick small debts
    small = size < np.quantile(size, 0.25) if n else np.zeros(0, dtype=bool)
    never = rng.random(n) < np.where(small, 0.03, 0.008)  # forgotten, mostly small ones
    never |= (prof == _DEFAULTER) & (inv.issue > c.stop[cu])
    never |= (method == _DIRECT_DEBIT) & (rng.random(n) < 0.03)  # returned direct debit
    never |= inv.status != 0
    never |= inv.is_cn
    # credit notes: a fully credited invoice is never paid; a part-credit is usually deducted from the payment
    cn_idx = np.flatnonzero(inv.is_cn)
    orig = inv.cn_orig[cn_idx]
    credit = -inv.amount[cn_idx]
    full_credit = credit >= inv.amount[orig]
    never[orig[full_credit]] = True
    deduct = np.zeros(n, dtype=np.int64)
    deduct_day = np.full(n, _NEVER)
    take = ~full_credit & (rng.random(len(cn_idx)) < 0.7)
    deduct[orig[take]] = credit[take]
    deduct_day[orig[take]] = inv.issue[cn_idx[take]]
    exp = c.exp[cu]
    # partial payments: a first part, then the rest (or never the rest)
    cand = (~inv.is_cn & (inv.status == 0) & ~never & (inv.amount >= 100 * 10 ** exp)
            & ((method == _TRANSFER) | (method == _CHECK)))
    partial = cand & (rng.random(n) < 0.05)
    if n >= 200 and not partial.any() and cand.any():
        partial[np.flatnonzero(cand)[0]] = True
    partial_only = partial & (rng.random(n) < 0.2)
    pct = rng.integers(20, 81, size=n)
    first_amt = inv.amount * pct // 100
    unit = 10 ** np.maximum(exp, np.floor(np.log10(np.maximum(first_amt, 1))).astype(np.int64) - 1)
    first_amt = np.where(rng.random(n) < 0.5, np.maximum(first_amt // unit, 1) * unit, first_amt)
    first_amt = np.clip(first_amt, 1, np.maximum(inv.amount - 1, 1))
    first_day = cal.next_bd[_clip_day(np.maximum(inv.issue, pay - rng.integers(7, 46, size=n)))]
    # disputed invoices: some pay the undisputed part
    disp_part = (inv.status == 1) & (rng.random(n) < 0.3) & (inv.amount >= 2)
    disp_day = cal.next_bd[_clip_day(inv.issue + rng.integers(15, 61, size=n))]
    disp_amt = np.clip(inv.amount * rng.integers(40, 91, size=n) // 100, 1, np.maximum(inv.amount - 1, 1))
    # shortfalls on full single payments: one cent, or a bank fee on foreign transfers
    full = ~never & ~partial
    cent = full & (rng.random(n) < 0.004) & (inv.amount >= 2)
    if n >= 200:
        have = int((cent & (pay <= _A)).sum())
        if have < 2:
            pool = np.flatnonzero(full & ~cent & (pay <= _A) & (inv.amount >= 2))
            if len(pool):
                cent[rng.choice(pool, size=min(2 - have, len(pool)), replace=False)] = True
    fee_unit = 10 ** exp * np.maximum(np.rint(c.scale[cu]), 1).astype(np.int64)
    fee = np.where(full & (c.currency_code[cu] != 0) & (method == _TRANSFER) & (rng.random(n) < 0.1),
                   rng.integers(5, 31, size=n) * fee_unit, 0)
    fee = np.where(fee * 2 < inv.amount, fee, 0)
    short = np.where(cent, 1, fee)
    # per-invoice payment rows: d1/a1 a first (partial) payment, d2/a2 the final one
    d1 = np.full(n, _NEVER)
    a1 = np.zeros(n, dtype=np.int64)
    d2 = np.full(n, _NEVER)
    a2 = np.zeros(n, dtype=np.int64)
    m = partial & (first_day <= _A)
    d1[m], a1[m] = first_day[m], first_amt[m]
    m = disp_part & (disp_day <= _A)
    d1[m], a1[m] = disp_day[m], disp_amt[m]
    m = partial & ~partial_only & (pay <= _A)
    d2[m], a2[m] = pay[m], inv.amount[m] - first_amt[m]
    m = full & (pay <= _A)
    d2[m], a2[m] = pay[m], inv.amount[m] - short[m]
    m = (deduct > 0) & (d2 <= _A) & (d2 >= deduct_day) & (a2 > deduct)
    a2[m] -= deduct[m]
    settled = np.where(d2 <= _A, d2, _NEVER)
    settled[orig[full_credit]] = np.minimum(settled[orig[full_credit]], inv.issue[cn_idx[full_credit]])

    first_rows = np.flatnonzero(d1 <= _A)
    final_rows = np.flatnonzero(d2 <= _A)
    rows_inv = np.r_[first_rows, final_rows]
    # advances (payments on account, no invoice)
    k_adv = int(round(0.01 * len(rows_inv))) or (1 if len(rows_inv) >= 20 else 0)
    act = np.flatnonzero(c.status_code == 0)
    if not len(act):
        act = np.arange(c.n)
    aw = c.weight[act] / c.weight[act].sum()
    adv_cust = act[rng.choice(len(act), size=k_adv, p=aw)] if k_adv else np.zeros(0, dtype=np.int64)
    adv_day = cal.prev_bd[_A - rng.integers(0, 75, size=k_adv)]  # older advances were applied to invoices
    adv_day = np.where(adv_day > _A, cal.prev_bd[_A], adv_day)
    base = rng.choice([200, 300, 500, 1000, 1500, 2000, 2500, 5000], size=k_adv)
    adv_amt = (base * np.maximum(np.rint(c.scale[adv_cust]), 1)).astype(np.int64) * 10 ** c.exp[adv_cust]

    r_inv = np.r_[rows_inv, np.full(k_adv, -1)]
    r_cust = np.r_[cu[rows_inv], adv_cust]
    r_day = np.r_[d1[first_rows], d2[final_rows], adv_day]
    r_amt = np.r_[a1[first_rows], a2[final_rows], adv_amt]
    first_method = np.where(method[first_rows] == _CHECK, _CHECK, _TRANSFER)  # part-payments are never debits
    r_method = np.r_[first_method, method[final_rows], np.full(k_adv, _TRANSFER)]
    r_final = np.r_[np.zeros(len(first_rows), dtype=bool), np.ones(len(final_rows), dtype=bool),
                    np.zeros(k_adv, dtype=bool)]
    m = len(r_inv)
    # one transfer per customer and day pays all the invoices it settles
    alone = ~(r_final & (r_method == _TRANSFER))
    order = _sorted_order([r_day, r_cust, alone.astype(np.int64), r_inv + 1], [_T, c.n, 2, n + 1])
    r_inv, r_cust, r_day, r_amt, r_method, alone = (r_inv[order], r_cust[order], r_day[order], r_amt[order],
                                                    r_method[order], alone[order])
    new_group = np.ones(m, dtype=bool)
    if m:
        new_group[1:] = alone[1:] | alone[:-1] | (r_cust[1:] != r_cust[:-1]) | (r_day[1:] != r_day[:-1])
    group = np.cumsum(new_group) - 1
    n_groups = int(group[-1]) + 1 if m else 0
    group_size = np.bincount(group, minlength=n_groups) if m else np.zeros(0, dtype=np.int64)
    pay_ids = _compose(m, ["PAG-" if es else "PAY-", (group + 1, _width(n_groups))])
    has_inv = r_inv >= 0
    inv_ids = np.full(m, "", dtype=object)
    inv_ids[has_inv] = inv.ids[r_inv[has_inv]]
    refs = _bank_references(rng, es, r_inv, r_day, r_method, group_size[group] > 1, inv_ids, inv.refs, cal)
    cur_names = np.array(c.currency, dtype=object)
    cust_ids = np.array(c.ids, dtype=object)
    out = _Payments()
    out.frame = _typed(PAYMENTS, m, {
        "payment_id": pay_ids, "date": cal.dates(r_day), "customer_id": cust_ids[r_cust],
        "invoice_id": inv_ids, "amount": r_amt, "currency": cur_names[r_cust], "method": _labels(_METHODS, r_method),
        "reference": refs, "source": _labels(("import", "manual"), (rng.random(m) >= 0.55).astype(np.int64))})
    out.settled, out.d1, out.a1, out.d2, out.a2 = settled, d1, a1, d2, a2
    return out


def _bank_references(rng: np.random.Generator, es: bool, r_inv: np.ndarray, r_day: np.ndarray,
                     r_method: np.ndarray, multi: np.ndarray, inv_ids: np.ndarray, inv_refs: np.ndarray,
                     cal: _Calendar) -> np.ndarray:
    """What the bank shows as the payment's reference: the invoice number, a PO, a remittance, a card slip…"""
    m = len(r_inv)
    refs = np.full(m, "", dtype=object)
    has_inv = r_inv >= 0
    roll = rng.random(m)
    single_tr = (r_method == _TRANSFER) & ~multi & has_inv
    sel = single_tr & (roll < 0.45)
    refs[sel] = inv_ids[sel]
    sel = single_tr & (roll >= 0.45) & (roll < 0.65)
    refs[sel] = ("Pago " if es else "Payment ") + inv_ids[sel]
    sel = np.flatnonzero(single_tr & (roll >= 0.65) & (roll < 0.8))
    po = inv_refs[r_inv[sel]]
    refs[sel] = np.where(po != "", po, inv_ids[sel])
    if multi.any():
        k = int(multi.sum())
        d = r_day[multi]
        yy, mm, dd = cal.year[d], cal.month[d] + 1, cal.dom[d]
        refs[multi] = (_compose(k, ["Remesa pagos ", (dd, 2), "/", (mm, 2), "/", (yy, 4)]) if es
                       else _compose(k, ["Remittance ", (yy, 4), "-", (mm, 2), "-", (dd, 2)]))
    sel = (r_method == _DIRECT_DEBIT) & has_inv
    refs[sel] = ("Recibo SEPA " if es else "ACH debit ") + inv_ids[sel]
    for code, lead, digits in ((_CARD, "TPV " if es else "Card ****", 4), (_CHECK, "Cheque " if es else "Check #", 6)):
        sel = r_method == code
        k = int(sel.sum())
        if k:
            refs[sel] = _compose(k, [lead, (rng.integers(0, 10**digits, size=k), digits)])
    adv = ~has_inv
    if adv.any():
        words = (("Anticipo", "Entrega a cuenta", "Anticipo pedido") if es
                 else ("Advance payment", "Deposit", "Prepayment"))
        refs[adv] = _labels(words, rng.integers(0, 3, size=int(adv.sum())))
    return refs


# ----------------------------------------------------------------------------------- contacts


def _ladder(levels: pd.DataFrame) -> list[tuple[str, int, str, bool]]:
    if len(levels):
        return [(str(lv), int(d), str(ch) or "email", bool(st)) for lv, d, ch, st in
                zip(levels["level"], levels["days"].fillna(0), levels["channel"], levels["stop"], strict=True)]
    return [("pre", -3, "email", False), ("due", 0, "email", False), ("r1", 7, "email", False),
            ("call", 15, "phone", False), ("letter", 30, "letter", False), ("final", 60, "email", True)]


def _group_bounds(keys: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Start and end (exclusive) of runs of equal keys in arrays already sorted by those keys."""
    n = len(keys[0])
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    change = np.zeros(n, dtype=bool)
    change[0] = True
    for k in keys:
        change[1:] |= k[1:] != k[:-1]
    starts = np.flatnonzero(change)
    return starts, np.r_[starts[1:], n]


def _tuples(ids: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    out = np.empty(len(starts), dtype=object)
    if not len(starts):
        return out
    single = (ends - starts) == 1
    out[single] = _objarr(list(zip(ids[starts[single]].tolist())))  # 1-tuples, built in C
    lst = ids.tolist()
    multi = np.flatnonzero(~single)
    out[multi] = _objarr([tuple(lst[s:e]) for s, e in zip(starts[multi].tolist(), ends[multi].tolist(),
                                                          strict=True)])
    return out


_CHANNELS = ("email", "phone", "letter", "other")
_EMAIL, _PHONE, _LETTER, _OTHER = range(4)
_OUTCOMES = ("sent", "failed", "bounced", "reached", "no_answer", "promise", "dispute", "paid", "note")
_O_SENT, _O_FAILED, _O_BOUNCED, _O_REACHED, _O_NO_ANSWER, _O_PROMISE, _O_DISPUTE, _O_PAID, _O_NOTE = range(9)


class _Log:
    """Contacts rows collected part by part as arrays (codes for enums), sorted by time at the end."""

    def __init__(self) -> None:
        self.parts: list[dict[str, np.ndarray]] = []

    def add(self, day: np.ndarray, minute: np.ndarray, cust: np.ndarray, invoice_ids: np.ndarray,
            channel: np.ndarray | int, direction: int, level: np.ndarray | int, outcome: np.ndarray | int,
            user: np.ndarray | str, subject: np.ndarray | str = "", notes: np.ndarray | str = "",
            message_id: np.ndarray | str = "", promise_day: np.ndarray | None = None,
            promise_amount: np.ndarray | None = None) -> None:
        k = len(day)

        def full(v: object, dtype: object) -> np.ndarray:
            if isinstance(v, np.ndarray):
                return v
            arr = np.empty(k, dtype=dtype)  # type: ignore[call-overload]
            arr[:] = v
            return arr

        self.parts.append({
            "day": np.asarray(day, dtype=np.int64), "minute": np.asarray(minute, dtype=np.int64),
            "cust": np.asarray(cust, dtype=np.int64), "invoice_ids": invoice_ids,
            "channel": full(channel, np.int64), "direction": full(direction, np.int64),
            "level": full(level, np.int64), "outcome": full(outcome, np.int64), "user": full(user, object),
            "subject": full(subject, object), "notes": full(notes, object), "message_id": full(message_id, object),
            "promise_day": full(_NEVER, np.int64) if promise_day is None else promise_day,
            "promise_amount": full(0, np.int64) if promise_amount is None else promise_amount})

    def frame(self, c: _Customers, cal: _Calendar, level_names: Sequence[str]) -> pd.DataFrame:
        seconds = np.concatenate([p["day"] * 86400 + p["minute"] * 60 for p in self.parts])
        n = len(seconds)
        dest = np.empty(n, dtype=np.int64)  # where each collected row goes in time order
        dest[np.argsort(seconds, kind="stable")] = np.arange(n)
        col: dict[str, np.ndarray] = {}
        for key, first in self.parts[0].items():
            out = np.empty(n, dtype=first.dtype)
            at = 0
            for p in self.parts:  # one scattering pass per column instead of concatenate + take
                k = len(p[key])
                out[dest[at:at + k]] = p[key]
                at += k
            col[key] = out
        ts = (cal.start.astype("datetime64[s]") + col["day"] * 86400 + col["minute"] * 60).astype("datetime64[ns]")
        no_promise = col["promise_day"] >= _NEVER
        pdate = cal.dates(np.where(no_promise, 0, col["promise_day"]))
        pdate[no_promise] = np.datetime64("NaT")
        return _typed(CONTACTS, n, {
            "timestamp": ts, "customer_id": np.array(c.ids, dtype=object)[col["cust"]],
            "invoice_ids": col["invoice_ids"], "channel": _labels(_CHANNELS, col["channel"]),
            "direction": _labels(("out", "in"), col["direction"]),
            "level": _labels(tuple(level_names) + ("",), col["level"]),
            "outcome": _labels(_OUTCOMES, col["outcome"]), "promise_date": pdate,
            "promise_amount": (col["promise_amount"], no_promise), "user": col["user"], "subject": col["subject"],
            "notes": col["notes"], "message_id": col["message_id"]})


def _sorted_order(keys: Sequence[np.ndarray], bounds: Sequence[int]) -> np.ndarray:
    """Order that sorts by ``keys`` (most significant first); ``bounds`` are exclusive upper bounds."""
    total = 1
    for b in bounds:
        total *= max(int(b), 1)
    if total < 2**62:
        combined = np.zeros(len(keys[0]), dtype=np.int64)
        for k, b in zip(keys, bounds, strict=True):
            combined = combined * max(int(b), 1) + k
        return np.argsort(combined, kind="stable")
    return np.lexsort(tuple(reversed(keys)))


def _make_contacts(rng: np.random.Generator, locale: str, c: _Customers, inv: _Invoices, pay: _Payments,
                   cal: _Calendar, levels: pd.DataFrame, grace: int) -> pd.DataFrame:
    es = locale == "es"
    ladder = _ladder(levels)
    level_names = [lv for lv, _, _, _ in ladder]
    none_level = len(level_names)  # code of the blank level
    cu = inv.cust
    reminded = ~inv.is_cn & (inv.status != 3) & (inv.status != 2)
    # the last day a reminder may go out: before a dispute, and before the account was paused, sent to legal
    # or closed; and only while something is owed (before the settling payment)
    limit = np.minimum(np.minimum(inv.dispute_day - 1, c.since[cu] - 1), _A)
    settled = pay.settled
    has_mail = c.n_mail[cu] > 0
    channel_of = {"email": _EMAIL, "whatsapp": _EMAIL, "phone": _PHONE, "letter": _LETTER}
    cand_inv, cand_day, cand_lvl, cand_ch = [], [], [], []
    for li, (_, days, channel, _stop) in enumerate(ladder):
        d = cal.next_bd[_clip_day(inv.due + days)]
        ok = reminded & (d <= limit) & (d < settled) & (d > inv.issue)
        ch = channel_of.get(channel, _EMAIL)
        if ch == _EMAIL:
            ok &= has_mail
        idx = np.flatnonzero(ok)
        cand_inv.append(idx)
        cand_day.append(d[idx])
        cand_lvl.append(np.full(len(idx), li))
        cand_ch.append(np.full(len(idx), ch))
    ci = np.concatenate(cand_inv)
    cd = np.concatenate(cand_day)
    cl = np.concatenate(cand_lvl)
    cc = np.concatenate(cand_ch)
    ccu = cu[ci]
    # one message per customer, day and channel, listing every invoice at a level that day (built in day order,
    # so the final sort by time moves rows only a little: much kinder to the CPU caches at a million rows)
    order = _sorted_order([cd, ccu, cc, ci], [_T, c.n, 4, inv.n])
    ci, cd, cl, cc, ccu = ci[order], cd[order], cl[order], cc[order], ccu[order]
    starts, ends = _group_bounds([cd, ccu, cc])
    g = len(starts)
    log = _Log()
    collectors = np.array(c.caller, dtype=object)
    cust_names = np.array(c.names, dtype=object)
    sub = _SUBJECTS[locale]
    company = _COMPANY[locale]["company_name"]
    if g:
        g_cust, g_day, g_ch = ccu[starts], cd[starts], cc[starts]
        g_lvl = np.maximum.reduceat(cl, starts)
        g_size = ends - starts
        g_ids = _tuples(inv.ids[ci], starts, ends)
        # what was owed on those invoices just before the contact (payments of earlier days count)
        bal = (inv.amount[ci] - np.where(pay.d1[ci] < cd, pay.a1[ci], 0) - np.where(pay.d2[ci] < cd, pay.a2[ci], 0))
        g_bal = np.add.reduceat(bal, starts)
        g_settle = np.maximum.reduceat(settled[ci], starts)

        # e-mail reminders and letters
        em = np.flatnonzero(g_ch != _PHONE)
        k = len(em)
        kind = [sub["pre" if d < 0 else "due" if d == 0 else "final" if st else "over"] for _, d, _, st in ladder]
        letter = g_ch[em] == _LETTER
        mail = ~letter
        subject = np.empty(k, dtype=object)
        subject[letter] = sub["letter"] + cust_names[g_cust[em[letter]]]
        suffix = " — " + company
        one = mail & (g_size[em] == 1)
        prefix_one = np.array([kd + sub["one"] for kd in kind], dtype=object)
        subject[one] = prefix_one[g_lvl[em[one]]] + inv.ids[ci[starts[em[one]]]] + suffix
        many = np.flatnonzero(mail & ~one)
        if len(many):  # few distinct (level, count) pairs: build each text once
            base = int(g_size.max()) + 1
            uniq, back = np.unique(g_lvl[em[many]] * base + g_size[em[many]], return_inverse=True)
            texts = np.array([f"{kind[u // base]}{u % base}{sub['many']}{suffix}" for u in uniq.tolist()],
                             dtype=object)
            subject[many] = texts[back]
        outcome = np.where(letter, _O_SENT, np.where(c.bad_mail[g_cust[em]], _O_BOUNCED,
                                                     np.where(rng.random(k) < 0.005, _O_FAILED, _O_SENT)))
        day = g_day[em]
        msg = np.full(k, "", dtype=object)
        nm = int(mail.sum())
        dm = day[mail]
        msg[mail] = _compose(nm, ["<", (cal.year[dm], 4), (cal.month[dm] + 1, 2), (cal.dom[dm], 2), ".",
                                  (np.arange(nm), _width(nm, 7)), "@" + _MAIL_DOMAIN[locale] + ">"])
        notes = np.full(k, "", dtype=object)
        notes[outcome == _O_BOUNCED] = "550 5.1.1 buzón inexistente" if es else "550 5.1.1 mailbox unavailable"
        notes[outcome == _O_FAILED] = ("421 4.4.2 conexión perdida; se reintentará" if es
                                       else "421 4.4.2 connection dropped; will retry")
        user = np.full(k, "cobro", dtype=object)
        user[letter] = collectors[g_cust[em[letter]]]
        log.add(day, 8 * 60 + rng.integers(0, 75, size=k), g_cust[em], g_ids[em],
                np.where(letter, _LETTER, _EMAIL), 0, g_lvl[em], outcome, user, subject, notes, msg)

        # some customers answer a reminder with "paid, here is the transfer" on the day the money leaves
        ans = np.flatnonzero(mail & (outcome == _O_SENT) & (g_settle[em] <= _A) & (g_settle[em] - day <= 10)
                             & (rng.random(k) < 0.12))
        ka = len(ans)
        if ka:
            paid_notes = (("Adjuntan justificante de la transferencia", "Confirman el pago por email")
                          if es else ("Remittance advice attached", "Confirmed payment by e-mail"))
            log.add(np.minimum(g_settle[em[ans]], _A), 10 * 60 + rng.integers(0, 420, size=ka), g_cust[em[ans]],
                    g_ids[em[ans]], _EMAIL, 1, none_level, _O_PAID, collectors[g_cust[em[ans]]],
                    notes=_labels(paid_notes, rng.integers(0, 2, size=ka)))

        # calls: the ladder's phone level, and follow-ups a few days after late e-mails and letters
        late_lvl = np.array([d >= 30 for _, d, _, _ in ladder])
        follow = (g_ch != _PHONE) & late_lvl[g_lvl] & (rng.random(g) < 0.3)
        call_day = np.where(g_ch == _PHONE, g_day, cal.next_bd[_clip_day(g_day + rng.integers(1, 5, size=g))])
        owed = g_settle > call_day
        cl_idx = np.flatnonzero(((g_ch == _PHONE) | follow) & owed & (call_day <= _A))
        k = len(cl_idx)
        roll = rng.random(k)
        outcome = np.where(roll < 0.42, _O_PROMISE, np.where(roll < 0.72, _O_NO_ANSWER, _O_REACHED))
        # A promise names a day one to three weeks out. When the money really came within about three weeks it
        # was usually kept (the promise names that day, give or take the grace days); otherwise it was broken,
        # or is still pending when the day is after as_of.
        cday = call_day[cl_idx]
        settle = g_settle[cl_idx]
        soon = (settle <= _A) & (settle <= cday + 25)
        kept = soon & (rng.random(k) < 0.8)
        p_kept = np.maximum(settle - rng.integers(0, grace + 1, size=k), cday + 1)
        p_open = cday + rng.integers(5, 21, size=k)
        p_open = np.where(soon & ~kept, np.minimum(p_open, settle - grace - 1), p_open)  # broken by a few days
        pdate = np.where(kept | (p_open <= cday), p_kept, p_open)
        promised = outcome == _O_PROMISE
        pdate = np.where(promised, np.minimum(pdate, _T - 1), _NEVER)
        notes = _labels(_REACHED_NOTES[locale], rng.integers(0, len(_REACHED_NOTES[locale]), size=k))
        na = outcome == _O_NO_ANSWER
        no_answer_notes = _NO_ANSWER_NOTES[locale]
        notes[na] = _labels(no_answer_notes, rng.integers(0, len(no_answer_notes), size=int(na.sum())))
        if promised.any():
            p = pdate[promised]
            kp = int(promised.sum())
            notes[promised] = (
                _compose(kp, ["Se compromete a pagar el ", (cal.dom[p], 2), "/", (cal.month[p] + 1, 2), "/",
                              (cal.year[p], 4)]) if es
                else _compose(kp, ["Promised to pay by ", (cal.year[p], 4), "-", (cal.month[p] + 1, 2), "-",
                                   (cal.dom[p], 2)]))
        at_level = g_ch[cl_idx] == _PHONE
        subject = np.full(k, "", dtype=object)
        subject[at_level] = sub["call"] + cust_names[g_cust[cl_idx[at_level]]]
        minute = np.where(rng.random(k) < 0.6, 9 * 60 + 30 + rng.integers(0, 240, size=k),
                          16 * 60 + rng.integers(0, 120, size=k))
        log.add(cday, minute, g_cust[cl_idx], g_ids[cl_idx], _PHONE, 0,
                np.where(at_level, g_lvl[cl_idx], none_level), outcome, collectors[g_cust[cl_idx]], subject, notes,
                promise_day=pdate, promise_amount=np.where(promised, g_bal[cl_idx], 0))

    # disputes logged (the customer wrote or called in)
    dsp = np.flatnonzero(inv.status == 1)
    k = len(dsp)
    if k:
        log.add(np.minimum(inv.dispute_day[dsp], _A), 9 * 60 + rng.integers(0, 540, size=k), cu[dsp],
                _objarr(list(zip(inv.ids[dsp].tolist()))), np.where(rng.random(k) < 0.7, _EMAIL, _PHONE), 1,
                none_level, _O_DISPUTE, collectors[cu[dsp]], notes=inv.dispute_reason[dsp])
    # a note when an account was paused, sent to legal or closed
    nt = np.flatnonzero((c.status_code != 0) & (c.since <= _A))
    k = len(nt)
    if k:
        log.add(cal.prev_bd[np.clip(c.since[nt], 0, _A)], 12 * 60 + rng.integers(0, 120, size=k), nt,
                _objarr([()] * k), _OTHER, 0, none_level, _O_NOTE, collectors[nt],
                notes=np.array(c.notes, dtype=object)[nt])
    if not log.parts:
        return _typed(CONTACTS, 0, {})
    return log.frame(c, cal, level_names)


# ----------------------------------------------------------------------------------- raw tables


def settings_to_raw(settings: Settings) -> dict[str, str]:
    """Settings as the key -> value text a person would type in the Settings sheet."""
    s = settings
    out = {
        "company_name": s.company_name, "sender_name": s.sender_name, "sender_email": s.sender_email,
        "reply_to": s.reply_to, "locale": s.locale, "timezone": s.timezone, "base_currency": s.base_currency,
        "aging_buckets": ",".join(str(b) for b in s.aging_buckets), "aging_basis": s.aging_basis,
        "country": s.country, "business_days_only": "yes" if s.business_days_only else "no",
        "send_window": f"{s.send_window[0]:%H:%M}-{s.send_window[1]:%H:%M}",
        "min_reminder_amount": money.format_decimal(s.min_reminder_amount, s.base_currency),
        "payment_instructions": s.payment_instructions,
        "early_payment_discount": (f"{s.early_payment_discount[0]}/{s.early_payment_discount[1]}"
                                   if s.early_payment_discount else ""),
        "late_interest_annual_pct": str(s.late_interest_annual_pct),
        "promise_grace_days": str(s.promise_grace_days),
        "bank_fee_tolerance": money.format_decimal(s.bank_fee_tolerance, s.base_currency),
        "min_reminder_amounts": format_amounts_by_currency(s.min_reminder_amounts),
        "min_formal_amounts": format_amounts_by_currency(s.min_formal_amounts),
        "write_off_tolerance": format_amounts_by_currency(s.write_off_tolerance),
    }
    out.update({k: str(v) for k, v in s.extra.items()})
    return out


def _money_text(values: pd.Series, currencies: Sequence[str]) -> list[object]:
    out: list[object] = []
    for v, cur in zip(values.tolist(), currencies, strict=True):
        out.append(None if v is None or v is pd.NA else money.format_decimal(int(v), cur))
    return out


def ledger_to_raw(ledger: Ledger, localized: bool = False) -> tuple[dict[str, pd.DataFrame], dict[str, str]]:
    """Raw tables (canonical keys, values as a person types them) and raw settings for ``parse_ledger``.

    Money becomes decimal text (``"1234.50"``), dates ``datetime.date``, timestamps ``datetime.datetime``,
    lists ``"a; b"``, booleans ``yes``/``no``; blanks are ``None``. With ``localized`` the enum values are
    written as the Spanish labels of an ``es`` ledger (``abierta``, ``transferencia``…).
    Not meant for big ledgers (it builds Python objects cell by cell).
    """
    settings = ledger.settings
    base = settings.base_currency
    lang = settings.locale if localized else "en"
    cust_cur = dict(zip(ledger.customers["customer_id"], ledger.customers["currency"], strict=True))
    tables: dict[str, pd.DataFrame] = {}
    from ..schema import SHEETS_BY_KEY

    for key in ("Customers", "Invoices", "Payments", "Contacts", "Plans", "Levels", "Templates", "Matches"):
        sheet = SHEETS_BY_KEY[key]
        frame = ledger.frame(key)
        if "currency" in frame.columns:
            curs = [c or base for c in frame["currency"].tolist()]
        elif "customer_id" in frame.columns:
            curs = [cust_cur.get(c, base) for c in frame["customer_id"].tolist()]
        else:
            curs = [base] * len(frame)
        cols: dict[str, list[object]] = {}
        for c in sheet.columns:
            s = frame[c.key]
            if c.type in ("text",):
                cols[c.key] = [None if v == "" else v for v in s.tolist()]
            elif c.type == "enum":
                cols[c.key] = [None if v == "" else enum_label(v, lang) for v in s.tolist()]
            elif c.type == "bool":
                cols[c.key] = [enum_label("yes" if v else "no", lang) for v in s.tolist()]
            elif c.type == "list":
                cols[c.key] = ["; ".join(v) if v else None for v in s.tolist()]
            elif c.type == "date":
                cols[c.key] = [None if pd.isna(v) else v.date() for v in s.tolist()]
            elif c.type == "datetime":
                cols[c.key] = [None if pd.isna(v) else v.to_pydatetime() for v in s.tolist()]
            elif c.type == "money":
                cols[c.key] = _money_text(s, curs)
            elif c.type == "int":
                cols[c.key] = [None if v is pd.NA or v is None else int(v) for v in s.tolist()]
            else:
                cols[c.key] = [None if v != v else v for v in s.tolist()]
        df = pd.DataFrame({k: pd.Series(v, dtype=object) for k, v in cols.items()})
        df["_row"] = frame["_row"].to_numpy(dtype="int64") if len(frame) else np.zeros(0, dtype="int64")
        tables[key] = df
    return tables, settings_to_raw(settings)


def generate_raw_tables(customers: int = 60, invoices: int = 1500, seed: int = 7, locale: str = "es",
                        as_of: dt.date = DEFAULT_AS_OF, currencies: tuple[str, ...] | None = None,
                        localized: bool = False) -> tuple[dict[str, pd.DataFrame], dict[str, str]]:
    """``ledger_to_raw(generate_ledger(...))``: the same data as a person would have typed it."""
    return ledger_to_raw(generate_ledger(customers, invoices, seed, locale, as_of, currencies), localized)
