"""Printable reminder letters as PDF bytes — the entry point the planner calls.

The layout lives in ``cobro.pdf_letter`` (reportlab). reportlab is the ``letters`` extra
(``pip install 'cobro[letters]'``): importing the core does not need it, and a ledger whose ladder has a letter
level says plainly what to install instead of failing with an import error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from .errors import UserError
from .render import Block

__all__ = ["render_letter"]


def render_letter(blocks: Sequence[Block], *, title: str = "", author: str = "", language: str = "es",
                  payment_qr: str | None = None, company: Mapping[str, str] | None = None) -> bytes:
    """A4 PDF of a rendered letter body (see ``cobro.pdf_letter.render_letter``); ``payment_qr``: an EPC QR payload
    printed (as a vector image) after the text; ``company``: the letterhead shared with statements."""
    try:
        from .pdf_letter import render_letter as render_pdf
    except ImportError:
        raise UserError("printing letters needs reportlab: install cobro with its letters extra "
                        "(pip install 'cobro[letters]')") from None
    return render_pdf(blocks, title=title, author=author, language=language, payment_qr=payment_qr,
                      company=company)
