"""The defaults a new ledger starts with: the escalation ladder, the reminder texts and the settings.

Pure data: no file, clock or workbook. ``sheets_templates`` writes these into a new workbook; the
reminder engine falls back on nothing here at run time (the workbook is the source of truth).

The ladder (level keys are short and stable; Contacts rows and ``Invoices.reminder_level`` refer to them):

======== ===== ======== ==================================================================
level    days  channel  purpose
======== ===== ======== ==================================================================
pre        -3  email    friendly heads-up three days before the due date
due         0  email    the invoice falls due today
r1         +7  email    first reminder: overdue, please pay or tell us what is wrong
call      +15  phone    call task for a collector (the template is a call script)
letter    +30  letter   formal demand letter (printed / PDF)
final     +60  email    final notice naming the next steps; ``stop``: hands over to a person
======== ===== ======== ==================================================================

Each level's template has the same key as the level, in ``es`` and ``en``.

Template variables (the full list; templates use nothing else, and no custom filters):
``customer.name``, ``customer.customer_id``, ``customer.tax_id``, ``company.name``,
``company.sender_name``, ``company.sender_email``, ``company.reply_to``, ``as_of`` (formatted date text),
``level``, ``invoices`` (list of dicts: invoice_id, reference, description, issue_date, due_date (text),
days_overdue (int), amount, balance (formatted money text), currency), ``other_invoices`` (same shape),
``totals`` (list of {currency, balance}), ``statement_totals`` (same shape, all open invoices),
``payment_instructions`` (text), ``discount`` (None or {pct, until, amount}), ``interest`` (list of
{currency, amount}, empty when none), ``max_days_overdue`` (int).
"""

from __future__ import annotations

import pandas as pd

from .ledger import make_frame
from .schema import LEVELS, SETTINGS_DEFAULTS, TEMPLATES

TEMPLATE_VARIABLES: tuple[str, ...] = (
    "customer", "company", "as_of", "level", "invoices", "other_invoices", "totals", "statement_totals",
    "payment_instructions", "discount", "interest", "max_days_overdue",
)

# level, days, channel, stop
LADDER: tuple[tuple[str, int, str, bool], ...] = (
    ("pre", -3, "email", False),
    ("due", 0, "email", False),
    ("r1", 7, "email", False),
    ("call", 15, "phone", False),
    ("letter", 30, "letter", False),
    ("final", 60, "email", True),
)


def default_levels(locale: str = "es") -> pd.DataFrame:
    """The default escalation ladder as a typed Levels frame (same keys in every locale)."""
    del locale  # level keys are stable across languages; the texts live in Templates
    return make_frame(LEVELS, [
        {"level": key, "days": days, "channel": channel, "template": key, "stop": stop}
        for key, days, channel, stop in LADDER
    ])


# ------------------------------------------------------------------------------------ shared pieces
# Every template is self-contained text (users edit them one by one in the sheet), so the common
# pieces below are pasted into each one when the module loads.

_TABLE_STYLE = 'style="border-collapse:collapse" border="1" cellpadding="4"'

_INVOICE_TABLE = {
    "es": (
        '<table ' + _TABLE_STYLE + '>\n'
        '<tr><th>Factura</th><th>Referencia</th><th>Fecha</th><th>Vencimiento</th>'
        '<th>Días vencida</th><th>Importe</th><th>Pendiente</th></tr>\n'
        '{% for inv in invoices %}<tr><td>{{ inv.invoice_id }}</td><td>{{ inv.reference }}</td>'
        '<td>{{ inv.issue_date }}</td><td>{{ inv.due_date }}</td>'
        '<td>{% if inv.days_overdue > 0 %}{{ inv.days_overdue }}{% else %}-{% endif %}</td>'
        '<td align="right">{{ inv.amount }}</td><td align="right">{{ inv.balance }}</td></tr>\n'
        '{% endfor %}'
        '{% for t in totals %}<tr><td colspan="6"><b>Total pendiente</b></td>'
        '<td align="right"><b>{{ t.balance }}</b></td></tr>\n{% endfor %}'
        '</table>\n'
    ),
    "en": (
        '<table ' + _TABLE_STYLE + '>\n'
        '<tr><th>Invoice</th><th>Reference</th><th>Date</th><th>Due date</th>'
        '<th>Days overdue</th><th>Amount</th><th>Outstanding</th></tr>\n'
        '{% for inv in invoices %}<tr><td>{{ inv.invoice_id }}</td><td>{{ inv.reference }}</td>'
        '<td>{{ inv.issue_date }}</td><td>{{ inv.due_date }}</td>'
        '<td>{% if inv.days_overdue > 0 %}{{ inv.days_overdue }}{% else %}-{% endif %}</td>'
        '<td align="right">{{ inv.amount }}</td><td align="right">{{ inv.balance }}</td></tr>\n'
        '{% endfor %}'
        '{% for t in totals %}<tr><td colspan="6"><b>Total outstanding</b></td>'
        '<td align="right"><b>{{ t.balance }}</b></td></tr>\n{% endfor %}'
        '</table>\n'
    ),
}

_STATEMENT = {
    "es": (
        '{% for inv in other_invoices if inv.balance[:1] != "-" %}{% if loop.first %}'
        '<p>Para su información, estas son las demás facturas pendientes de su cuenta:</p>\n'
        '<table ' + _TABLE_STYLE + '>\n'
        '<tr><th>Factura</th><th>Referencia</th><th>Vencimiento</th><th>Pendiente</th></tr>\n{% endif %}'
        '<tr><td>{{ inv.invoice_id }}</td><td>{{ inv.reference }}</td>'
        '<td>{{ inv.due_date }}</td><td align="right">{{ inv.balance }}</td></tr>\n'
        '{% if loop.last %}</table>\n{% endif %}{% endfor %}'
        '{% for inv in other_invoices if inv.balance[:1] == "-" %}{% if loop.first %}'
        '<p>Tiene a su favor estos abonos, que descontamos del saldo de su cuenta:</p>\n'
        '<table ' + _TABLE_STYLE + '>\n'
        '<tr><th>Abono</th><th>Referencia</th><th>Fecha</th><th>A su favor</th></tr>\n{% endif %}'
        '<tr><td>{{ inv.invoice_id }}</td><td>{{ inv.reference }}</td>'
        '<td>{{ inv.issue_date }}</td><td align="right">{{ inv.balance[1:] }}</td></tr>\n'
        '{% if loop.last %}</table>\n{% endif %}{% endfor %}'
        '{% if other_invoices %}'
        '<p>Saldo total de su cuenta: {% for t in statement_totals %}'
        '{% if t.balance[:1] == "-" %}<b>{{ t.balance[1:] }}</b> a su favor{% else %}<b>{{ t.balance }}</b>'
        '{% endif %}{% if not loop.last %}; {% endif %}{% endfor %}.</p>\n'
        '{% endif %}'
    ),
    "en": (
        '{% for inv in other_invoices if inv.balance[:1] != "-" %}{% if loop.first %}'
        '<p>For your reference, these are the other open invoices on your account:</p>\n'
        '<table ' + _TABLE_STYLE + '>\n'
        '<tr><th>Invoice</th><th>Reference</th><th>Due date</th><th>Outstanding</th></tr>\n{% endif %}'
        '<tr><td>{{ inv.invoice_id }}</td><td>{{ inv.reference }}</td>'
        '<td>{{ inv.due_date }}</td><td align="right">{{ inv.balance }}</td></tr>\n'
        '{% if loop.last %}</table>\n{% endif %}{% endfor %}'
        '{% for inv in other_invoices if inv.balance[:1] == "-" %}{% if loop.first %}'
        '<p>These credit notes are in your favour and are deducted from your balance:</p>\n'
        '<table ' + _TABLE_STYLE + '>\n'
        '<tr><th>Credit note</th><th>Reference</th><th>Date</th><th>In your favour</th></tr>\n{% endif %}'
        '<tr><td>{{ inv.invoice_id }}</td><td>{{ inv.reference }}</td>'
        '<td>{{ inv.issue_date }}</td><td align="right">{{ inv.balance[1:] }}</td></tr>\n'
        '{% if loop.last %}</table>\n{% endif %}{% endfor %}'
        '{% if other_invoices %}'
        '<p>Total balance of your account: {% for t in statement_totals %}'
        '{% if t.balance[:1] == "-" %}<b>{{ t.balance[1:] }}</b> in your favour{% else %}<b>{{ t.balance }}</b>'
        '{% endif %}{% if not loop.last %}; {% endif %}{% endfor %}.</p>\n'
        '{% endif %}'
    ),
}

_PAYMENT = {
    "es": (
        '{% if payment_instructions %}<p><b>Forma de pago</b><br>{{ payment_instructions }}</p>\n'
        '<p>Le rogamos que indique la referencia o el número de factura en el concepto del pago.</p>\n{% endif %}'
    ),
    "en": (
        '{% if payment_instructions %}<p><b>How to pay</b><br>{{ payment_instructions }}</p>\n'
        '<p>Please quote the reference or the invoice number with your payment.</p>\n{% endif %}'
    ),
}

_DISCOUNT = {
    "es": (
        '{% if discount %}<p>Le recordamos que, si realiza el pago antes del {{ discount.until }}, '
        'puede beneficiarse de un descuento por pronto pago del {{ discount.pct }} % '
        '({{ discount.amount }}).</p>\n{% endif %}'
    ),
    "en": (
        '{% if discount %}<p>As a reminder, if you pay by {{ discount.until }} you may deduct an '
        'early-payment discount of {{ discount.pct }}% ({{ discount.amount }}).</p>\n{% endif %}'
    ),
}

_INTEREST = {
    "es": (
        '{% if interest %}<p>Conforme a nuestras condiciones de pago, el retraso devenga intereses de demora, '
        'que a {{ as_of }} ascienden a {% for i in interest %}{{ i.amount }}'
        '{% if not loop.last %} y {% endif %}{% endfor %}.</p>\n{% endif %}'
    ),
    "en": (
        '{% if interest %}<p>Under our payment terms, late payment accrues interest, which as of {{ as_of }} '
        'amounts to {% for i in interest %}{{ i.amount }}{% if not loop.last %} and {% endif %}{% endfor %}.'
        '</p>\n{% endif %}'
    ),
}

_CONTACT = {
    "es": (
        '<p>Para cualquier consulta puede responder a este mensaje'
        '{% if company.reply_to %} o escribirnos a {{ company.reply_to }}{% endif %}.</p>\n'
    ),
    "en": (
        '<p>If you have any questions, simply reply to this message'
        '{% if company.reply_to %} or write to {{ company.reply_to }}{% endif %}.</p>\n'
    ),
}

_SIGN = {
    "es": '<p>Atentamente,</p>\n<p>{{ company.sender_name }}<br>{{ company.name }}</p>\n',
    "en": '<p>Kind regards,</p>\n<p>{{ company.sender_name }}<br>{{ company.name }}</p>\n',
}

_GREETING = {"es": "<p>Estimado/a {{ customer.name }}:</p>\n", "en": "<p>Dear {{ customer.name }},</p>\n"}

# Subject fragments: "invoice X" or "N invoices".
_WHICH = {
    "es": ('{% if invoices|length == 1 %}factura {{ invoices[0].invoice_id }}'
           '{% else %}{{ invoices|length }} facturas{% endif %}'),
    "en": ('{% if invoices|length == 1 %}invoice {{ invoices[0].invoice_id }}'
           '{% else %}{{ invoices|length }} invoices{% endif %}'),
}


def _t(lang: str, text: str) -> str:
    """Expand the shared pieces (``[[NAME]]``) of a template for ``lang``."""
    pieces = {"TABLE": _INVOICE_TABLE, "STATEMENT": _STATEMENT, "PAYMENT": _PAYMENT, "DISCOUNT": _DISCOUNT,
              "INTEREST": _INTEREST, "CONTACT": _CONTACT, "SIGN": _SIGN, "GREETING": _GREETING, "WHICH": _WHICH}
    for name, by_lang in pieces.items():
        text = text.replace(f"[[{name}]]", by_lang[lang])
    return text


# ------------------------------------------------------------------------------------ the texts
# (template, language, subject, body)

_TEXTS: tuple[tuple[str, str, str, str], ...] = (
    # ---------------------------------------------------------------- pre: 3 days before due
    ("pre", "es",
     "{% if max_days_overdue > 0 %}Recordatorio de pago{% else %}Aviso de próximo vencimiento{% endif %}: "
     "[[WHICH]] — {{ company.name }}",
     "[[GREETING]]"
     "<p>{% if max_days_overdue > 0 %}Le recordamos que "
     "{% if invoices|length == 1 %}la siguiente factura está pendiente de pago{% else %}las siguientes facturas "
     "están pendientes de pago{% endif %}:{% else %}Le escribimos para recordarle, con la debida antelación, que "
     "{% if invoices|length == 1 %}la siguiente factura vence{% else %}las siguientes facturas vencen{% endif %}"
     " en los próximos días:{% endif %}</p>\n"
     "[[TABLE]]"
     "[[DISCOUNT]]"
     "[[PAYMENT]]"
     "<p>Si ya tiene programado el pago, le rogamos que no tenga en cuenta este aviso; le agradecemos de antemano "
     "su puntualidad.</p>\n"
     "[[CONTACT]]"
     "[[SIGN]]"),
    ("pre", "en",
     "{% if max_days_overdue > 0 %}Payment reminder{% else %}Upcoming due date{% endif %}: [[WHICH]] — "
     "{{ company.name }}",
     "[[GREETING]]"
     "<p>{% if max_days_overdue > 0 %}This is a friendly reminder that "
     "{% if invoices|length == 1 %}the following invoice is{% else %}the following invoices are{% endif %} "
     "still open:{% else %}This is a friendly note to let you know that "
     "{% if invoices|length == 1 %}the following invoice falls{% else %}the following invoices fall{% endif %}"
     " due in the next few days:{% endif %}</p>\n"
     "[[TABLE]]"
     "[[DISCOUNT]]"
     "[[PAYMENT]]"
     "<p>If payment is already scheduled, please disregard this message, and thank you for paying on time.</p>\n"
     "[[CONTACT]]"
     "[[SIGN]]"),
    # ---------------------------------------------------------------- due: on the due date
    ("due", "es",
     "{% if max_days_overdue > 0 %}Factura vencida{% else %}Vencimiento hoy{% endif %}: [[WHICH]] — "
     "{{ company.name }}",
     "[[GREETING]]"
     "<p>Le recordamos que {% if invoices|length == 1 %}la siguiente factura {% if max_days_overdue > 0 %}"
     "ha vencido{% else %}vence{% endif %}{% else %}las siguientes facturas {% if max_days_overdue > 0 %}han "
     "vencido{% else %}vencen{% endif %}{% endif %}{% if max_days_overdue == 0 %} hoy, {{ as_of }}{% endif %}"
     ":</p>\n"
     "[[TABLE]]"
     "[[PAYMENT]]"
     "<p>Si ya ha realizado el pago, le agradecemos que no tenga en cuenta este mensaje; es posible que "
     "nuestro aviso se haya cruzado con su transferencia.</p>\n"
     "[[STATEMENT]]"
     "[[CONTACT]]"
     "[[SIGN]]"),
    ("due", "en",
     "{% if max_days_overdue > 0 %}Overdue{% else %}Due today{% endif %}: [[WHICH]] — {{ company.name }}",
     "[[GREETING]]"
     "<p>This is a reminder that {% if invoices|length == 1 %}the following invoice is{% else %}the following "
     "invoices are{% endif %} {% if max_days_overdue > 0 %}now past due{% else %}due today, {{ as_of }}{% endif %}"
     ":</p>\n"
     "[[TABLE]]"
     "[[PAYMENT]]"
     "<p>If you have already paid, please disregard this message; our note may have crossed with your "
     "payment.</p>\n"
     "[[STATEMENT]]"
     "[[CONTACT]]"
     "[[SIGN]]"),
    # ---------------------------------------------------------------- r1: +7, first overdue reminder
    ("r1", "es",
     "Recordatorio de pago: {% if invoices|length == 1 %}factura {{ invoices[0].invoice_id }} vencida"
     "{% else %}{{ invoices|length }} facturas vencidas{% endif %} — {{ company.name }}",
     "[[GREETING]]"
     "<p>Revisando nuestra contabilidad a {{ as_of }}, no nos consta el pago de "
     "{% if invoices|length == 1 %}la siguiente factura, ya vencida{% else %}las siguientes facturas, ya "
     "vencidas{% endif %}:</p>\n"
     "[[TABLE]]"
     "<p>Le rogamos que proceda a su pago a la mayor brevedad posible. Si existe algún motivo por el que no "
     "pueda atenderlo (una incidencia con el pedido, un error en la factura o un problema de tesorería), "
     "le agradeceremos que nos lo comunique para poder resolverlo juntos.</p>\n"
     "[[PAYMENT]]"
     "<p>Si ya ha realizado el pago, le rogamos que nos envíe el justificante y disculpe las molestias.</p>\n"
     "[[STATEMENT]]"
     "[[CONTACT]]"
     "[[SIGN]]"),
    ("r1", "en",
     "Payment reminder: [[WHICH]] overdue — {{ company.name }}",
     "[[GREETING]]"
     "<p>According to our records as of {{ as_of }}, we have not yet received payment of "
     "{% if invoices|length == 1 %}the following invoice, which is now overdue{% else %}the following "
     "invoices, which are now overdue{% endif %}:</p>\n"
     "[[TABLE]]"
     "<p>Please arrange payment as soon as possible. If there is any reason you cannot pay (a problem with the "
     "order, an error on the invoice or a cash-flow difficulty), please let us know so that we can sort it out "
     "together.</p>\n"
     "[[PAYMENT]]"
     "<p>If you have already paid, please send us the remittance advice and accept our apologies.</p>\n"
     "[[STATEMENT]]"
     "[[CONTACT]]"
     "[[SIGN]]"),
    # ---------------------------------------------------------------- call: +15, phone script (call task)
    ("call", "es",
     "Llamada de cobro: {{ customer.name }} ({{ customer.customer_id }})",
     "<p><b>Guion de llamada</b> — {{ customer.name }} ({{ customer.customer_id }}"
     "{% if customer.tax_id %}, {{ customer.tax_id }}{% endif %}), a {{ as_of }}.</p>\n"
     "<ol>\n"
     "<li>Preséntese: «Buenos días, le llamo de {{ company.name }}, del departamento de administración. "
     "¿Hablo con la persona responsable de pagos a proveedores?»</li>\n"
     "<li>Motivo: «Le llamo en relación con {% if invoices|length == 1 %}la factura "
     "{{ invoices[0].invoice_id }}, vencida hace {{ invoices[0].days_overdue }} días{% else %}"
     "{{ invoices|length }} facturas vencidas, la más antigua hace {{ max_days_overdue }} días{% endif %}, "
     "por un total pendiente de {% for t in totals %}{{ t.balance }}{% if not loop.last %} y {% endif %}"
     "{% endfor %}. Le enviamos recordatorios por correo. ¿Los ha recibido?»</li>\n"
     "<li>Escuche y anote: ¿hay alguna incidencia o disconformidad con la factura? Si la hay, regístrela como "
     "disputa con el motivo.</li>\n"
     "<li>Pida un compromiso concreto: «¿Para qué fecha podemos contar con el pago y por qué importe?» "
     "Registre la promesa (fecha e importe).</li>\n"
     "<li>Si no puede pagar todo, ofrezca un acuerdo de pago por plazos y regístrelo.</li>\n"
     "<li>Cierre: confirme lo acordado y la forma de pago, y agradezca su atención.</li>\n"
     "</ol>\n"
     "[[TABLE]]"
     "[[STATEMENT]]"),
    ("call", "en",
     "Collection call: {{ customer.name }} ({{ customer.customer_id }})",
     "<p><b>Call script</b> — {{ customer.name }} ({{ customer.customer_id }}"
     "{% if customer.tax_id %}, {{ customer.tax_id }}{% endif %}), as of {{ as_of }}.</p>\n"
     "<ol>\n"
     "<li>Introduce yourself: “Good morning, this is … calling from the accounts team at {{ company.name }}. "
     "Am I speaking with the person who handles supplier payments?”</li>\n"
     "<li>Purpose: “I'm calling about {% if invoices|length == 1 %}invoice {{ invoices[0].invoice_id }}, "
     "{{ invoices[0].days_overdue }} days overdue{% else %}{{ invoices|length }} overdue invoices, the oldest "
     "{{ max_days_overdue }} days overdue{% endif %}, with {% for t in totals %}{{ t.balance }}"
     "{% if not loop.last %} and {% endif %}{% endfor %} outstanding. We sent reminders by e-mail; did you "
     "receive them?”</li>\n"
     "<li>Listen and note: is anything wrong with the invoice or the delivery? If so, log a dispute with the "
     "reason.</li>\n"
     "<li>Ask for a firm commitment: “When can we expect payment, and for how much?” Log the promise (date and "
     "amount).</li>\n"
     "<li>If they cannot pay in full, offer an instalment plan and log it.</li>\n"
     "<li>Close: confirm what was agreed and how to pay, and thank them.</li>\n"
     "</ol>\n"
     "[[TABLE]]"
     "[[STATEMENT]]"),
    # ---------------------------------------------------------------- letter: +30, formal demand
    ("letter", "es",
     "Requerimiento de pago — {{ customer.name }}",
     "<p>{{ company.name }}</p>\n"
     "<p>{{ customer.name }}<br>{% if customer.tax_id %}NIF/RFC: {{ customer.tax_id }}<br>{% endif %}"
     "N.º de cliente: {{ customer.customer_id }}</p>\n"
     "<p>Fecha: {{ as_of }}</p>\n"
     "<p><b>Asunto: requerimiento de pago de {% if invoices|length == 1 %}la factura "
     "{{ invoices[0].invoice_id }}{% else %}facturas vencidas{% endif %}</b></p>\n"
     "<p>Muy señores nuestros:</p>\n"
     "<p>Pese a nuestros recordatorios anteriores, a la fecha de esta carta continúan pendientes de pago "
     "las siguientes facturas, con un retraso de hasta {{ max_days_overdue }} días sobre su vencimiento:</p>\n"
     "[[TABLE]]"
     "<p>Por la presente les requerimos formalmente el pago de la cantidad adeudada en el plazo de "
     "<b>diez días</b> desde la recepción de esta carta.</p>\n"
     "[[INTEREST]]"
     "[[PAYMENT]]"
     "<p>Si el pago ya se hubiera efectuado, les rogamos nos remitan el justificante y consideren esta carta "
     "sin efecto. Si tienen alguna discrepancia con las facturas, o necesitan acordar un calendario de pagos, "
     "les pedimos que se pongan en contacto con nosotros de inmediato"
     "{% if company.reply_to %} ({{ company.reply_to }}){% endif %}.</p>\n"
     "[[STATEMENT]]"
     "<p>Sin otro particular, les saludamos atentamente.</p>\n"
     "<p>{{ company.sender_name }}<br>{{ company.name }}</p>\n"),
    ("letter", "en",
     "Formal demand for payment — {{ customer.name }}",
     "<p>{{ company.name }}</p>\n"
     "<p>{{ customer.name }}<br>{% if customer.tax_id %}Tax ID: {{ customer.tax_id }}<br>{% endif %}"
     "Customer no.: {{ customer.customer_id }}</p>\n"
     "<p>Date: {{ as_of }}</p>\n"
     "<p><b>Re: formal demand for payment of {% if invoices|length == 1 %}invoice {{ invoices[0].invoice_id }}"
     "{% else %}overdue invoices{% endif %}</b></p>\n"
     "<p>Dear Sir or Madam,</p>\n"
     "<p>Despite our previous reminders, the following invoices remain unpaid as of the date of this letter, "
     "up to {{ max_days_overdue }} days past their due date:</p>\n"
     "[[TABLE]]"
     "<p>We hereby formally request payment of the amount due within <b>ten days</b> of receipt of this "
     "letter.</p>\n"
     "[[INTEREST]]"
     "[[PAYMENT]]"
     "<p>If payment has already been made, please send us the remittance advice and disregard this letter. If "
     "you dispute any of these invoices, or need to agree a payment schedule, please contact us immediately"
     "{% if company.reply_to %} ({{ company.reply_to }}){% endif %}.</p>\n"
     "[[STATEMENT]]"
     "<p>Yours faithfully,</p>\n"
     "<p>{{ company.sender_name }}<br>{{ company.name }}</p>\n"),
    # ---------------------------------------------------------------- final: +60, final notice (stop)
    ("final", "es",
     "ÚLTIMO AVISO antes de iniciar acciones de recobro: [[WHICH]] — {{ company.name }}",
     "[[GREETING]]"
     "<p>A pesar de nuestros avisos anteriores, de nuestras llamadas y de nuestro requerimiento por escrito, "
     "a {{ as_of }} siguen sin pagar "
     "{% if invoices|length == 1 %}la siguiente factura{% else %}las siguientes facturas{% endif %}, "
     "con un retraso de hasta {{ max_days_overdue }} días:</p>\n"
     "[[TABLE]]"
     "[[INTEREST]]"
     "<p>Este es nuestro <b>último aviso</b>. Si en el plazo de <b>siete días</b> no hemos recibido el pago "
     "o una propuesta de pago aceptable, nos veremos obligados a:</p>\n"
     "<ul>\n"
     "<li>suspender los suministros y servicios pendientes y su línea de crédito con nosotros;</li>\n"
     "<li>trasladar el expediente a nuestros asesores legales o a una agencia de recobro para su reclamación "
     "por la vía extrajudicial o judicial que corresponda, con los intereses de demora y los costes de cobro "
     "que legalmente procedan.</li>\n"
     "</ul>\n"
     "<p>Preferimos sinceramente evitar estas medidas. Si está atravesando dificultades, póngase en contacto "
     "con nosotros hoy mismo: estamos dispuestos a estudiar un calendario de pagos.</p>\n"
     "[[PAYMENT]]"
     "[[STATEMENT]]"
     "[[CONTACT]]"
     "[[SIGN]]"),
    ("final", "en",
     "FINAL NOTICE before collection action: [[WHICH]] — {{ company.name }}",
     "[[GREETING]]"
     "<p>Despite our previous reminders, calls and formal letter, as of {{ as_of }} "
     "{% if invoices|length == 1 %}the following invoice remains{% else %}the following invoices remain{% endif %}"
     " unpaid, up to {{ max_days_overdue }} days past due:</p>\n"
     "[[TABLE]]"
     "[[INTEREST]]"
     "<p>This is our <b>final notice</b>. Unless we receive payment, or an acceptable proposal to pay, within "
     "<b>seven days</b>, we will have to:</p>\n"
     "<ul>\n"
     "<li>suspend pending deliveries and services and your credit line with us;</li>\n"
     "<li>pass the account to our legal advisers or a collection agency to recover the debt by out-of-court or "
     "court proceedings, together with the late-payment interest and recovery costs the law allows.</li>\n"
     "</ul>\n"
     "<p>We would genuinely prefer to avoid this. If you are facing difficulties, please contact us today: we "
     "are willing to discuss a payment plan.</p>\n"
     "[[PAYMENT]]"
     "[[STATEMENT]]"
     "[[CONTACT]]"
     "[[SIGN]]"),
)


def default_templates() -> pd.DataFrame:
    """The default reminder texts as a typed Templates frame: one row per level template and language."""
    return make_frame(TEMPLATES, [
        {"template": key, "language": lang, "subject": _t(lang, subject).strip(), "body": _t(lang, body).strip()}
        for key, lang, subject, body in _TEXTS
    ])


_COMPANY = {
    "es": {
        "company_name": "Mi Empresa, S.L.",
        "sender_name": "Departamento de Administración",
        "sender_email": "cobros@example.com",
        "reply_to": "administracion@example.com",
        "payment_instructions": "Transferencia bancaria a la cuenta IBAN ES00 0000 0000 0000 0000 0000 "
                                "(sustitúyala por la suya).",
    },
    "en": {
        "company_name": "My Company Ltd",
        "sender_name": "Accounts Receivable",
        "sender_email": "accounts@example.com",
        "reply_to": "accounts@example.com",
        "payment_instructions": "Bank transfer to account IBAN GB00 XXXX 0000 0000 0000 00 (replace with yours).",
    },
}

_REGION = {
    "es": {"timezone": "Europe/Madrid", "base_currency": "EUR", "country": "ES"},
    "en": {"timezone": "Europe/London", "base_currency": "GBP", "country": "GB"},
}


def default_settings(locale: str = "es") -> dict[str, str]:
    """Settings for a new workbook: key -> value text, every key of ``SETTINGS_DEFAULTS`` in its order."""
    lang = "en" if locale == "en" else "es"
    out = dict(SETTINGS_DEFAULTS)
    out.update(_COMPANY[lang])
    out.update(_REGION[lang])
    out["locale"] = lang
    return out
