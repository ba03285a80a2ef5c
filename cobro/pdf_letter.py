"""Printable reminder letters as PDF bytes (reportlab) — pure: no file, no clock.

The letter is the rendered body of the level's template (see ``cobro.render``): its paragraphs, headings, lists
and tables, on A4 with generous margins, ready to print, sign and post. The template itself carries the
letterhead, the recipient block, the date and the signature, so users control every word. The output is
byte-for-byte reproducible (reportlab's *invariant* mode: no creation time, fixed document id).

Text is set in the standard PDF fonts (Helvetica), which cover Spanish and the other Western European
languages and the euro sign; characters outside that set are printed as ``?`` rather than failing.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping, Sequence
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import HRFlowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from .render import BOLD_OFF, BOLD_ON, Block

__all__ = ["render_letter"]  # called through cobro.letters

_MONEYISH = re.compile(r"^-?[\d.,\s]+ [A-Z]{3}$|^-?\d+$|^-$")


def _safe(text: str) -> str:
    """Text the standard fonts can show (cp1252), with reportlab's markup characters escaped."""
    cleaned = text.encode("cp1252", errors="replace").decode("cp1252")
    return escape(cleaned)


def _markup(block: Block) -> str:
    """reportlab paragraph markup of a block: escaped text, line breaks, and its bold spans."""
    text = _safe(block.rich or block.text).replace("\n", "<br/>")
    return text.replace(BOLD_ON, "<b>").replace(BOLD_OFF, "</b>")


def _styles() -> dict[str, ParagraphStyle]:
    base = getSampleStyleSheet()
    body = ParagraphStyle("cobro-body", parent=base["Normal"], fontName="Helvetica", fontSize=10.5, leading=14,
                          spaceAfter=7)
    return {
        "p": body,
        "h": ParagraphStyle("cobro-h", parent=body, fontName="Helvetica-Bold", fontSize=12, leading=15,
                            spaceBefore=4, spaceAfter=8),
        "li": ParagraphStyle("cobro-li", parent=body, leftIndent=14, firstLineIndent=-10, spaceAfter=3),
        "cell": ParagraphStyle("cobro-cell", parent=body, fontSize=9, leading=11, spaceAfter=0),
        "cell_r": ParagraphStyle("cobro-cell-r", parent=body, fontSize=9, leading=11, spaceAfter=0,
                                 alignment=TA_RIGHT),
        "cell_h": ParagraphStyle("cobro-cell-h", parent=body, fontName="Helvetica-Bold", fontSize=9, leading=11,
                                 spaceAfter=0),
    }


def _table(rows: list[list[str]], styles: dict[str, ParagraphStyle], width: float) -> Table:
    ncols = max(len(r) for r in rows)
    data: list[list[object]] = []
    right: list[tuple[int, int]] = []
    for i, r in enumerate(rows):
        cells = list(r) + [""] * (ncols - len(r))
        row: list[object] = []
        for j, text in enumerate(cells):
            if len(text) > 24:  # long text wraps inside its cell (a Paragraph); short cells stay plain and fast
                row.append(Paragraph(_safe(text), styles["cell_h"] if i == 0 else styles["cell"]))
            else:
                row.append(text.encode("cp1252", errors="replace").decode("cp1252"))
                if i and _MONEYISH.match(text):
                    right.append((j, i))
        data.append(row)
    # Column widths follow the longest text of each column (at least a sixth of an even share).
    longest = [max(4, *(len(r[i]) if i < len(r) else 0 for r in rows)) for i in range(ncols)]
    floor = width / ncols / 6
    spare = width - floor * ncols
    widths = [floor + spare * n / sum(longest) for n in longest]
    t = Table(data, colWidths=widths, repeatRows=1, hAlign="LEFT")
    t.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, -1), "Helvetica", 9, 11),
        ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 9, 11),
        *[("ALIGN", cell, cell, "RIGHT") for cell in right],
        ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
        ("BACKGROUND", (0, 0), (-1, 0), colors.Color(0.92, 0.92, 0.92)),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]))
    return t


def render_letter(blocks: Sequence[Block], *, title: str = "", author: str = "", language: str = "es",
                  payment_qr: str | None = None, company: Mapping[str, str] | None = None) -> bytes:
    """A4 PDF of a rendered letter body. ``title`` and ``author`` go into the PDF's properties; ``payment_qr`` (an
    EPC payload) adds the SEPA QR code, as a vector image, after the text (the template's text says how to pay);
    ``company`` (name, tax_id, address, phone, email) draws the letterhead statements have (``cobro.pdf_statement``),
    and a first paragraph that only repeats the company's name is then left out."""
    buf = io.BytesIO()
    margin = 22 * mm
    doc = SimpleDocTemplate(buf, pagesize=A4, leftMargin=margin, rightMargin=margin, topMargin=margin,
                            bottomMargin=margin, title=_safe(title), author=_safe(author), subject=_safe(title),
                            creator="cobro", lang=language, invariant=True)
    styles = _styles()
    width = A4[0] - 2 * margin
    story: list[object] = []
    qr_box = _qr_box(payment_qr, language, styles, width) if payment_qr else None
    # the QR goes right after the paragraph that shows the payment's IBAN (beside the way to pay), else at the end
    iban = payment_qr.split("\n")[6] if payment_qr and payment_qr.count("\n") >= 6 else ""
    grouped = " ".join(iban[i:i + 4] for i in range(0, len(iban), 4))
    if company and company.get("name"):
        from .pdf_statement import letterhead

        tax = "NIF" if language == "es" else "Tax ID"
        story += [letterhead({**company, "tax_label": tax}, [], width), Spacer(1, 10)]
        if blocks and blocks[0].kind == "p" and blocks[0].text.strip() == company["name"].strip():
            blocks = blocks[1:]
    for b in blocks:
        if b.kind == "table" and b.rows:
            story.append(_table(b.rows, styles, width))
            story.append(Spacer(1, 8))
        elif b.kind == "hr":
            story.append(HRFlowable(width="100%", thickness=0.5, color=colors.grey, spaceBefore=4, spaceAfter=8))
        elif b.kind == "li":
            story.append(Paragraph(_markup(b), styles["li"], bulletText=b.marker.strip() or "-"))
        elif b.text:
            text = _markup(b)
            story.append(Paragraph(text, styles["h" if b.kind == "h" else "p"]))
            if qr_box is not None and grouped and (grouped in b.text or iban in b.text):
                story.append(qr_box)
                qr_box = None
    if qr_box is not None:
        story.append(qr_box)
    if not story:
        story.append(Paragraph("", styles["p"]))
    doc.build(story)
    return buf.getvalue()


def _qr_box(payload: str, language: str, styles: dict[str, ParagraphStyle], width: float) -> object:
    """The EPC QR code (vector) with a one-line hint, kept together on one page."""
    from reportlab.platypus import KeepTogether

    from .pdf_statement import qr_flowable

    hint = ("Pague escaneando este código con la app de su banco (transferencia SEPA con el importe y el "
            "concepto ya rellenos)." if language == "es" else
            "Pay by scanning this code with your banking app (a SEPA transfer with the amount and reference "
            "filled in).")
    box = Table([[qr_flowable(payload, 32 * mm), Paragraph(_safe(hint), styles["p"])]],
                colWidths=[36 * mm, width - 36 * mm], hAlign="LEFT")
    box.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "MIDDLE"), ("LEFTPADDING", (0, 0), (-1, -1), 0)]))
    return KeepTogether([box, Spacer(1, 6)])
