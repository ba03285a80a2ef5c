"""The A4 page of a statement of account (reportlab) — pure: a ``Statement`` in, PDF bytes out.

Shared with letters: ``letterhead`` (the company's name, tax id, address and contact, with its logo when the host
passes the image's bytes), ``page_footer`` and ``qr_flowable``, so a letter and a statement from the same company
look like the same company. The EPC QR code is drawn as vector squares (it prints sharp at any size); the PDF is
reproducible byte for byte (reportlab's invariant mode).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping, Sequence

from reportlab.graphics.shapes import Drawing, Rect
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import (
    Flowable,
    Image,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from . import money
from .payment import qr_matrix
from .render import format_date, format_pct
from .statement import CurrencySection, Statement

__all__ = ["letterhead", "page_footer", "qr_flowable", "render_statement"]

MARGIN = 18 * mm
GREY = colors.Color(0.93, 0.93, 0.93)
DARK = colors.Color(0.2, 0.2, 0.2)

_T: dict[str, tuple[str, str]] = {  # key: (es, en)
    "title": ("Extracto de cuenta", "Statement of account"),
    "as_of": ("a {date}", "as of {date}"),
    "customer": ("Cliente", "Customer"),
    "tax_id": ("NIF", "Tax ID"),
    "customer_id": ("Código de cliente", "Customer ID"),
    "summary": ("Resumen ({cur})", "Summary ({cur})"),
    "owed": ("Facturas pendientes", "Open invoices"),
    "credits": ("Créditos a su favor (abonos y anticipos)", "Credits in your favour (credit notes, payments on "
                                                              "account)"),
    "net": ("Saldo pendiente", "Balance outstanding"),
    "net_favour": ("Saldo a su favor", "Balance in your favour"),
    "overdue": ("De ello, vencido", "Of which overdue"),
    "to_pay": ("Importe a pagar ahora", "Amount to pay now"),
    "to_pay_now": ("Importe a pagar ahora (vencido menos créditos)", "Amount to pay now (overdue less credits)"),
    "open_invoices": ("Facturas pendientes", "Open invoices"),
    "open_credits": ("Créditos a su favor", "Credits in your favour"),
    "invoice": ("Factura", "Invoice"),
    "document": ("Documento", "Document"),
    "date": ("Fecha", "Date"),
    "due": ("Vencimiento", "Due date"),
    "days": ("Días vencida", "Days overdue"),
    "amount": ("Importe", "Amount"),
    "pending": ("Pendiente", "Open"),
    "favour": ("A su favor", "In your favour"),
    "credit_note": ("Abono", "Credit note"),
    "advance": ("Pago a cuenta", "Payment on account"),
    "disputed": ("en disputa", "disputed"),
    "aging": ("Antigüedad de lo pendiente (días vencida)", "Aging of what is open (days overdue)"),
    "not_due": ("No vencido", "Not yet due"),
    "interest": ("Intereses de demora e indemnización (Ley 3/2004)", "Late-payment interest and compensation "
                                                                     "(Spanish Law 3/2004)"),
    "interest_col": ("Intereses", "Interest"),
    "rate": ("Tipo", "Rate"),
    "days_short": ("Días", "Days"),
    "compensation": ("Indemnización (art. 8)", "Compensation (art. 8)"),
    "total": ("Total", "Total"),
    "interest_note": ("Intereses desde el día siguiente al vencimiento hasta la fecha del extracto, al tipo legal de "
                      "cada semestre (BCE + 8 puntos, art. 7), base 365 días, sobre el importe pendiente; 40 EUR de "
                      "indemnización por costes de cobro por factura (art. 8).",
                      "Interest from the day after the due date to the date of this statement at the legal rate of "
                      "each half year (ECB + 8 points, art. 7), 365-day basis, on the amount open; 40 EUR "
                      "compensation for recovery costs per invoice (art. 8)."),
    "carried": ("Algún semestre usa el último tipo conocido: actualice la fila ecb_rates de Configuración.",
                "Some half year uses the last known rate: update the Settings row ecb_rates."),
    "movements": ("Movimientos", "Account activity"),
    "concept": ("Concepto", "Description"),
    "debit": ("Cargo", "Debit"),
    "credit": ("Abono", "Credit"),
    "balance": ("Saldo", "Balance"),
    "brought_forward": ("Saldo anterior", "Balance brought forward"),
    "payment": ("Pago recibido", "Payment received"),
    "applied": ("aplicado a {doc}", "applied to {doc}"),
    "how_to_pay": ("Cómo pagar", "How to pay"),
    "discount": ("Pronto pago", "Early payment"),
    "discount_text": ("{pct} % de descuento ({amount}) pagando hasta el {until}",
                      "{pct}% discount ({amount}) if paid by {until}"),
    "qr_hint": ("Escanee con la app de su banco: transferencia SEPA con el importe y el concepto ya rellenos.",
                "Scan with your banking app: a SEPA transfer with the amount and reference filled in."),
    "nothing_due": ("No hay importe que pagar ahora.", "There is nothing to pay now."),
    "no_way": ("Póngase en contacto con nosotros para conocer la forma de pago.",
               "Please contact us for how to pay."),
    "nothing_open": ("No hay partidas pendientes a esta fecha.", "Nothing is open at this date."),
    "questions": ("Si algún dato no coincide con su contabilidad, indíquenoslo respondiendo a {email}.",
                  "If anything here does not match your records, please tell us at {email}."),
    "page": ("Página {n}", "Page {n}"),
}


def _t(key: str, lang: str, **kw: object) -> str:
    es, en = _T[key]
    return (es if lang == "es" else en).format(**kw)


def _safe(text: str) -> str:
    """Text the standard fonts can show (cp1252), with reportlab's markup characters escaped."""
    from xml.sax.saxutils import escape

    return escape(str(text).encode("cp1252", errors="replace").decode("cp1252"))


def _styles() -> dict[str, ParagraphStyle]:
    base = getSampleStyleSheet()
    body = ParagraphStyle("st-body", parent=base["Normal"], fontName="Helvetica", fontSize=9.5, leading=12.5)
    return {
        "p": body,
        "small": ParagraphStyle("st-small", parent=body, fontSize=8, leading=10, textColor=DARK),
        "company": ParagraphStyle("st-company", parent=body, fontName="Helvetica-Bold", fontSize=13, leading=16),
        "title": ParagraphStyle("st-title", parent=body, fontName="Helvetica-Bold", fontSize=15, leading=19,
                                alignment=TA_RIGHT),
        "right": ParagraphStyle("st-right", parent=body, alignment=TA_RIGHT),
        "h": ParagraphStyle("st-h", parent=body, fontName="Helvetica-Bold", fontSize=11, leading=14, spaceBefore=8,
                            spaceAfter=4),
        "cell": ParagraphStyle("st-cell", parent=body, fontSize=8.5, leading=10.5),
    }


# ----------------------------------------------------------------------------------- shared pieces


def letterhead(company: Mapping[str, str], right: Sequence[Flowable], width: float,
               logo: bytes | None = None) -> Table:
    """The company block (logo, name, tax id, address, contact) on the left, ``right`` (a title, a date) on the
    right — the same header on statements and letters."""
    st = _styles()
    left: list[Flowable] = []
    if logo:
        img = Image(io.BytesIO(logo))
        scale = min(40 * mm / img.imageWidth, 16 * mm / img.imageHeight)
        img.drawWidth, img.drawHeight = img.imageWidth * scale, img.imageHeight * scale
        img.hAlign = "LEFT"
        left.append(img)
        left.append(Spacer(1, 2 * mm))
    left.append(Paragraph(_safe(company.get("name", "")), st["company"]))
    tax = company.get("tax_id", "")
    lines = [f"{company.get('tax_label', 'NIF')}: {tax}" if tax else "", company.get("address", ""),
             "  ·  ".join(x for x in (company.get("phone", ""), company.get("email", "")) if x)]
    text = "<br/>".join(_safe(x).replace("\n", "<br/>") for x in lines if x)
    if text:
        left.append(Paragraph(text, st["small"]))
    t = Table([[left, list(right)]], colWidths=[width * 0.58, width * 0.42], hAlign="LEFT")
    t.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0),
                           ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                           ("LINEBELOW", (0, 0), (-1, 0), 0.8, DARK), ("BOTTOMPADDING", (0, 0), (-1, -1), 6)]))
    return t


def page_footer(text: str, language: str) -> Callable[[object, object], None]:
    """A page callback drawing ``text`` and the page number at the foot of each page."""

    def draw(canvas, doc) -> None:  # noqa: ANN001 - reportlab's canvas and document
        canvas.saveState()
        canvas.setFont("Helvetica", 7.5)
        canvas.setFillColor(DARK)
        foot = str(text).encode("cp1252", errors="replace").decode("cp1252")
        canvas.drawString(MARGIN, 10 * mm, foot[:150])
        canvas.drawRightString(A4[0] - MARGIN, 10 * mm, _t("page", language, n=doc.page))
        canvas.restoreState()

    return draw


def qr_flowable(payload: str, size: float = 34 * mm) -> Drawing:
    """The QR code of ``payload`` as a vector drawing ``size`` wide (quiet zone of four modules included)."""
    matrix = qr_matrix(payload)
    n = len(matrix)
    module = size / (n + 8)
    d = Drawing(size, size)
    d.add(Rect(0, 0, size, size, fillColor=colors.white, strokeColor=None))
    for y, row in enumerate(matrix):
        x = 0
        while x < n:
            if row[x]:
                start = x
                while x < n and row[x]:
                    x += 1
                d.add(Rect((start + 4) * module, size - (y + 5) * module, (x - start) * module, module,
                           fillColor=colors.black, strokeColor=None, strokeWidth=0))
            else:
                x += 1
    return d


# ----------------------------------------------------------------------------------- tables


def _m(minor: int, cur: str, lang: str) -> str:
    return money.format_money(minor, cur, lang)


def _grid(rows: list[list[object]], widths: list[float], right_cols: Sequence[int], *, total_row: bool = False
          ) -> Table:
    head = ParagraphStyle("st-head", fontName="Helvetica-Bold", fontSize=8.5, leading=10)
    head_r = ParagraphStyle("st-head-r", parent=head, alignment=TA_RIGHT)
    rows = [[Paragraph(_safe(str(x)), head_r if j in right_cols else head) for j, x in enumerate(rows[0])],
            *rows[1:]]
    t = Table(rows, colWidths=widths, repeatRows=1, hAlign="LEFT")
    style = [
        ("FONT", (0, 0), (-1, -1), "Helvetica", 8.5, 10.5),
        ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 8.5, 10.5),
        ("BACKGROUND", (0, 0), (-1, 0), GREY),
        ("LINEBELOW", (0, 0), (-1, 0), 0.6, DARK),
        ("LINEBELOW", (0, 1), (-1, -1), 0.25, colors.Color(0.8, 0.8, 0.8)),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
        *[("ALIGN", (c, 0), (c, -1), "RIGHT") for c in right_cols],
    ]
    if total_row:
        style += [("FONT", (0, -1), (-1, -1), "Helvetica-Bold", 8.5, 10.5), ("LINEABOVE", (0, -1), (-1, -1), 0.6,
                                                                             DARK)]
    t.setStyle(TableStyle(style))
    return t


def _plain(text: str) -> str:
    return str(text).encode("cp1252", errors="replace").decode("cp1252")


def _summary(sec: CurrencySection, lang: str, width: float) -> Table:
    cur = sec.currency
    rows: list[list[object]] = [[_t("owed", lang), _m(sec.owed, cur, lang)]]
    if sec.credit:
        rows.append([_t("credits", lang), "- " + _m(sec.credit, cur, lang)])
    net_label = _t("net", lang) if sec.net >= 0 else _t("net_favour", lang)
    rows.append([net_label, _m(abs(sec.net), cur, lang)])
    if sec.overdue and sec.overdue != sec.owed:
        rows.append([_t("overdue", lang), _m(sec.overdue, cur, lang)])
    if sec.to_pay and sec.to_pay != sec.net:
        rows.append([_t("to_pay_now", lang), _m(sec.to_pay, cur, lang)])
    t = Table(rows, colWidths=[width * 0.62, width * 0.38], hAlign="LEFT")
    net_row = rows.index(next(r for r in rows if r[0] == net_label))
    t.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, -1), "Helvetica", 9.5, 12),
        ("FONT", (0, net_row), (-1, net_row), "Helvetica-Bold", 10.5, 13),
        ("LINEABOVE", (0, net_row), (-1, net_row), 0.6, DARK),
        ("ALIGN", (1, 0), (1, -1), "RIGHT"),
        ("LEFTPADDING", (0, 0), (-1, -1), 0),
    ]))
    return t


def _payment_box(st: Statement, sec: CurrencySection, width: float, styles: dict[str, ParagraphStyle]) -> Flowable:
    lang = st.language
    cur = sec.currency
    parts: list[Flowable] = [Paragraph(f"<b>{_safe(_t('how_to_pay', lang))}</b>", styles["p"])]
    if sec.to_pay <= 0:
        parts.append(Paragraph(_safe(_t("nothing_due", lang)), styles["p"]))
    lines = st.payment.lines(sec.to_pay, cur, sec.payment_reference if sec.to_pay > 0 else "", lang,
                             invoice=", ".join(i.document for i in sec.invoices
                                               if i.days_overdue > 0 and i.status != "disputed")
                             or ", ".join(i.document for i in sec.invoices if i.status != "disputed"),
                             customer=st.customer.get("customer_id", ""))
    if sec.to_pay > 0 and not st.payment.any:
        lines.append(("", _t("no_way", lang)))
    if sec.discount is not None:
        pct, until, amount = sec.discount
        lines.append((_t("discount", lang), _t("discount_text", lang, pct=format_pct(pct, lang),
                                                 until=format_date(until, lang), amount=_m(amount, cur, lang))))
    rows = []
    for label, value in lines:
        rows.append([Paragraph(_safe(label), styles["cell"]),
                     Paragraph(("<b>%s</b>" if label in (_t("to_pay", lang), "IBAN") or label.startswith(
                         ("Importe", "Amount")) else "%s") % _safe(value).replace("\n", "<br/>"), styles["cell"])])
    inner_w = width - (40 * mm if sec.epc_payload else 0) - 8
    if rows:
        info = Table(rows, colWidths=[inner_w * 0.3, inner_w * 0.7], hAlign="LEFT")
        info.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0),
                                  ("TOPPADDING", (0, 0), (-1, -1), 1), ("BOTTOMPADDING", (0, 0), (-1, -1), 1)]))
        parts.append(info)
    if sec.epc_payload:
        qr_cell: list[Flowable] = [qr_flowable(sec.epc_payload), Paragraph(_safe(_t("qr_hint", lang)),
                                                                            styles["small"])]
        box = Table([[parts, qr_cell]], colWidths=[width - 40 * mm, 40 * mm])
    else:
        box = Table([[parts]], colWidths=[width])
    box.setStyle(TableStyle([("BOX", (0, 0), (-1, -1), 0.8, DARK), ("VALIGN", (0, 0), (-1, -1), "TOP"),
                             ("LEFTPADDING", (0, 0), (-1, -1), 6), ("TOPPADDING", (0, 0), (-1, -1), 5),
                             ("BOTTOMPADDING", (0, 0), (-1, -1), 5)]))
    return box


def _section(st: Statement, sec: CurrencySection, width: float, styles: dict[str, ParagraphStyle],
             multi: bool) -> list[Flowable]:
    lang, cur = st.language, sec.currency
    out: list[Flowable] = []
    out.append(Paragraph(_safe(_t("summary", lang, cur=cur)), styles["h"]))
    out.append(_summary(sec, lang, width * 0.6))
    out.append(Spacer(1, 4 * mm))
    out.append(KeepTogether([_payment_box(st, sec, width, styles)]))
    if sec.invoices:
        out.append(Paragraph(_safe(_t("open_invoices", lang)), styles["h"]))
        rows: list[list[object]] = [[_t("invoice", lang), _t("date", lang), _t("due", lang), _t("days", lang),
                                     _t("amount", lang), _t("pending", lang)]]
        for i in sec.invoices:
            doc = i.document + (f" ({_t('disputed', lang)})" if i.status == "disputed" else "")
            rows.append([_plain(doc), format_date(i.date, lang), format_date(i.due_date, lang),
                         str(i.days_overdue) if i.days_overdue > 0 else "", _m(i.original, cur, lang),
                         _m(i.amount, cur, lang)])
        rows.append([_t("total", lang), "", "", "", "", _m(sec.owed, cur, lang)])
        out.append(_grid(rows, [w * width for w in (0.26, 0.13, 0.13, 0.12, 0.18, 0.18)], (3, 4, 5),
                         total_row=True))
    if sec.credits:
        out.append(Paragraph(_safe(_t("open_credits", lang)), styles["h"]))
        rows = [[_t("document", lang), _t("concept", lang), _t("date", lang), _t("favour", lang)]]
        for c in sec.credits:
            rows.append([_plain(c.document), _t("credit_note" if c.kind == "credit_note" else "advance", lang),
                         format_date(c.date, lang), _m(c.amount, cur, lang)])
        rows.append([_t("total", lang), "", "", _m(sec.credit, cur, lang)])
        out.append(_grid(rows, [w * width for w in (0.3, 0.3, 0.18, 0.22)], (3,), total_row=True))
    if sec.invoices:
        out.append(Paragraph(_safe(_t("aging", lang)), styles["h"]))
        head = [_t("not_due", lang) if k == "not_due" else k for k, _ in sec.aging] + [_t("total", lang)]
        vals = [_m(v, cur, lang) if v else "-" for _, v in sec.aging] + [_m(sec.owed, cur, lang)]
        n = len(head)
        out.append(_grid([head, vals], [width / n] * n, tuple(range(n))))
    if sec.interest:
        out.append(Paragraph(_safe(_t("interest", lang)), styles["h"]))
        rows = [[_t("invoice", lang), _t("due", lang), _t("pending", lang), _t("days_short", lang), _t("rate", lang),
                 _t("interest_col", lang), _t("compensation", lang)]]
        carried = False
        for item, r in sec.interest:
            shown: list[str] = []
            for p in r.periods:
                text = f"{p.rate_pct:.2f} %".replace(".", "," if lang == "es" else ".")
                if not shown or shown[-1] != text:
                    shown.append(text)
            rates = " / ".join(shown)
            carried = carried or r.carried
            rows.append([_plain(item.document), format_date(item.due_date, lang), _m(item.amount, cur, lang),
                         str(r.days), rates, _m(r.interest, cur, lang), _m(r.compensation, cur, lang)])
        rows.append([_t("total", lang), "", "", "", "", _m(sec.interest_total, cur, lang),
                     _m(sec.compensation_total, cur, lang)])
        out.append(_grid(rows, [w * width for w in (0.15, 0.14, 0.15, 0.07, 0.18, 0.14, 0.17)], (2, 3, 4, 5, 6),
                         total_row=True))
        note = _t("interest_note", lang) + (" " + _t("carried", lang) if carried else "")
        out.append(Paragraph(_safe(note), styles["small"]))
    if sec.movements:
        out.append(Paragraph(_safe(_t("movements", lang)), styles["h"]))
        rows = [[_t("date", lang), _t("document", lang), _t("concept", lang), _t("debit", lang), _t("credit", lang),
                 _t("balance", lang)]]
        for mv in sec.movements:
            if mv.kind == "brought_forward":
                concept = _t("brought_forward", lang)
            elif mv.kind == "payment":
                concept = _t("payment", lang) + (f", {_t('applied', lang, doc=mv.description)}"
                                                 if mv.description else "")
            elif mv.kind == "credit_note":
                concept = _t("credit_note", lang) + (f": {mv.description}" if mv.description else "")
            else:
                concept = mv.description
            rows.append([format_date(mv.date, lang), Paragraph(_safe(mv.document), styles["cell"]),
                         Paragraph(_safe(concept), styles["cell"]),
                         _m(mv.debit, cur, lang) if mv.debit else "", _m(mv.credit, cur, lang) if mv.credit else "",
                         _m(mv.balance, cur, lang)])
        out.append(_grid(rows, [w * width for w in (0.11, 0.17, 0.30, 0.14, 0.14, 0.14)], (3, 4, 5)))
    return out


def render_statement(st: Statement, *, logo: bytes | None = None) -> bytes:
    """A4 PDF of a statement of account. ``logo``: the image's bytes (PNG/JPEG) when Settings name one."""
    buf = io.BytesIO()
    lang = st.language
    title = f"{_t('title', lang)} — {st.customer.get('name', '')}"
    doc = SimpleDocTemplate(buf, pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN,
                            bottomMargin=MARGIN + 4 * mm, title=_plain(title),
                            author=_plain(st.company.get("name", "")), subject=_plain(title), creator="cobro",
                            lang=lang, invariant=True)
    styles = _styles()
    width = A4[0] - 2 * MARGIN
    right = [Paragraph(_safe(_t("title", lang)), styles["title"]),
             Paragraph(_safe(_t("as_of", lang, date=format_date(st.as_of, lang))), styles["right"])]
    head = letterhead({**st.company, "tax_label": _t("tax_id", lang)}, right, width, logo)
    story: list[Flowable] = [head, Spacer(1, 5 * mm)]
    c = st.customer
    who = [f"<b>{_safe(c.get('name', ''))}</b>"]
    if c.get("tax_id"):
        who.append(f"{_safe(_t('tax_id', lang))}: {_safe(c['tax_id'])}")
    if c.get("address"):
        who.append(_safe(c["address"]).replace("\n", "<br/>"))
    who.append(f"{_safe(_t('customer_id', lang))}: {_safe(c.get('customer_id', ''))}")
    story.append(Paragraph(f"{_safe(_t('customer', lang))}<br/>" + "<br/>".join(who), styles["p"]))
    if not st.sections or not st.has_balance:
        story.append(Spacer(1, 4 * mm))
        story.append(Paragraph(_safe(_t("nothing_open", lang)), styles["p"]))
    for sec in st.sections:
        if not (sec.invoices or sec.credits or sec.movements):
            continue
        story.extend(_section(st, sec, width, styles, len(st.sections) > 1))
    email = st.company.get("email", "")
    if email:
        story.append(Spacer(1, 5 * mm))
        story.append(Paragraph(_safe(_t("questions", lang, email=email)), styles["small"]))
    foot = f"{st.company.get('name', '')} — {_t('title', lang)} {c.get('customer_id', '')} " \
           f"({format_date(st.as_of, lang)})"
    footer = page_footer(foot, lang)
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return buf.getvalue()
