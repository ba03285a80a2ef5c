"""The collections report as a file people read: self-contained HTML or an A4 PDF (host side of ``cobro.report``).

Charts are drawn with matplotlib (Agg, no display) into memory: inline SVG in the HTML (no script, no external
request: the page has a Content-Security-Policy that forbids them), PNG in the PDF (reportlab, A4, DejaVu Sans so
every accented letter and sign prints). Amounts are converted to numbers only to place bars on a chart; every
figure printed as text is formatted from integer minor units by ``cobro.money``.

matplotlib is an optional dependency (``cobro[report]``); without it the commands say how to install it.
"""

from __future__ import annotations

import html
import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cobro import money
from cobro.errors import UserError
from cobro.i18n import text
from cobro.report import KPI_NAMES, PAID_WITHIN_DAYS, CollectionsReport, backtest_sentence, month_label, pct
from cobro.schema import enum_label

BUCKET_COLOURS = ["#9ecae1", "#fdd49e", "#fdbb84", "#fc8d59", "#e34a33", "#b30000", "#7f0000", "#4d0000"]
INK = "#222222"


class ReportDependencyError(UserError):
    """matplotlib (or reportlab for PDF) is missing."""


def _plt() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg", force=True)
        import matplotlib.pyplot as plt
    except ImportError:
        raise ReportDependencyError("the report's charts need matplotlib: pip install 'cobro[report]' "
                                    "(or pip install matplotlib)") from None
    plt.rcParams.update({"font.family": "DejaVu Sans", "font.size": 8, "axes.spines.top": False,
                         "axes.spines.right": False, "svg.fonttype": "path", "svg.hashsalt": "cobro",
                         "figure.dpi": 100})
    return plt


def _t(key: str, locale: str, **kw: object) -> str:
    return text(f"report.{key}", locale, **kw)


def _major(minor: int, currency: str) -> float:
    """For a chart's geometry only (never printed): minor units to a float in the currency's unit."""
    return int(minor) / 10 ** money.exponent(currency)


def _m(minor: int, currency: str, locale: str) -> str:
    return money.format_money(int(minor), currency, locale)


# ----------------------------------------------------------------------------------- charts


def charts(r: CollectionsReport) -> dict[str, Any]:
    """The report's matplotlib figures by name (the caller saves and closes them)."""
    plt = _plt()
    loc = r.locale
    out: dict[str, Any] = {}
    labels = r.aging.labels
    curs = [str(c) for c in r.aging.totals.index]
    if curs:
        fig, axes = plt.subplots(len(curs), 1, figsize=(7.2, 0.9 + 0.8 * len(curs)), squeeze=False)
        for ax, cur in zip(axes[:, 0], curs, strict=True):
            t = r.aging.totals.loc[cur]
            left = 0.0
            for j, lab in enumerate(["not_due", *labels]):
                v = max(_major(int(t[lab]), cur), 0.0)
                ax.barh([cur], [v], left=left, color=BUCKET_COLOURS[j % len(BUCKET_COLOURS)],
                        label=_t("not_due", loc) if lab == "not_due" else lab, edgecolor="white")
                left += v
            ax.set_xlabel(cur)
        axes[0, 0].legend(ncol=len(labels) + 1, fontsize=7, loc="lower left", bbox_to_anchor=(0, 1.02), frameon=False)
        fig.tight_layout()
        out["aging"] = fig
    for cur, f in r.aging_trend.items():
        fig, ax = plt.subplots(figsize=(7.2, 2.6))
        x = [month_label(d, loc) for d in f["date"]]
        bottom = [0.0] * len(f)
        for j, lab in enumerate(labels):
            vals = [max(_major(v, cur), 0.0) for v in f[lab]]
            ax.bar(x, vals, bottom=bottom, color=BUCKET_COLOURS[(j + 1) % len(BUCKET_COLOURS)], label=lab)
            bottom = [b + v for b, v in zip(bottom, vals, strict=True)]
        ax.set_ylabel(cur)
        ax.legend(fontsize=7, ncol=len(labels), frameon=False)
        ax.set_title(f"{_t('aging_trend', loc)} — {cur}", fontsize=9, loc="left")
        fig.tight_layout()
        out[f"aging_trend_{cur}"] = fig
    for cur, f in r.kpi_trend.items():
        fig, (ax, ax2) = plt.subplots(1, 2, figsize=(7.2, 2.5), gridspec_kw={"width_ratios": [2, 1]})
        x = [month_label(d, loc) for d in f["date"]]
        for name in KPI_NAMES[:4]:
            ax.plot(x, [None if v is None else float(v) for v in f[name]], marker="o", ms=3,
                    label=_t(f"kpi.{name}", loc))
        ax.legend(fontsize=7, frameon=False)
        ax.tick_params(axis="x", labelrotation=60, labelsize=7)
        ax.set_title(f"{_t('kpi_trend', loc)} — {cur}", fontsize=9, loc="left")
        ax2.plot(x, [None if v is None else float(v) for v in f["cei"]], marker="o", ms=3, color="#2ca02c")
        ax2.set_title("CEI %", fontsize=9, loc="left")
        ax2.tick_params(axis="x", labelrotation=60, labelsize=7)
        fig.tight_layout()
        out[f"kpi_trend_{cur}"] = fig
    for cur, f in r.flows.items():
        fig, ax = plt.subplots(figsize=(7.2, 2.4))
        x = list(range(len(f)))
        ax.bar([i - 0.2 for i in x], [_major(v, cur) for v in f["invoiced"]], width=0.4, color="#6baed6",
               label=_t("col.invoiced", loc))
        ax.bar([i + 0.2 for i in x], [_major(v, cur) for v in f["collected"]], width=0.4, color="#31a354",
               label=_t("col.collected", loc))
        ax.set_xticks(x, [month_label(d, loc) for d in f["month"]])
        ax.set_ylabel(cur)
        ax.legend(fontsize=7, frameon=False)
        ax.set_title(f"{_t('flows', loc)} — {cur}", fontsize=9, loc="left")
        fig.tight_layout()
        out[f"flows_{cur}"] = fig
    if r.forecast is not None and r.forecast.inflow:
        fc = r.forecast
        starts = fc.week_starts()
        for cur, weeks in fc.inflow.items():
            fig, ax = plt.subplots(figsize=(7.2, 2.3))
            ax.bar([s.strftime("%d/%m") for s in starts], [_major(v, cur) for v in weeks], color="#756bb1")
            ax.set_ylabel(cur)
            ax.tick_params(axis="x", labelsize=7)
            ax.set_title(f"{_t('forecast_weeks', loc, weeks=fc.weeks)} — {cur}", fontsize=9, loc="left")
            fig.tight_layout()
            out[f"forecast_{cur}"] = fig
    return out


def _svg(fig: Any) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None})
    svg = buf.getvalue()
    svg = svg[svg.index("<svg"):]
    # the RDF metadata block names purl.org/creativecommons namespaces: not requests, but not needed either
    a, b = svg.find("<metadata>"), svg.find("</metadata>")
    return svg[:a] + svg[b + len("</metadata>"):] if a >= 0 and b > a else svg


def _png(fig: Any, dpi: int = 150) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


# ----------------------------------------------------------------------------------- sections as tables


def _sections(r: CollectionsReport) -> list[tuple[str, list[tuple[str, Any]]]]:
    """The report as an ordered list of (heading, blocks); a block is ("p", text), ("table", rows) or
    ("chart", name). Both renderers walk this list, so HTML and PDF say the same things."""
    loc = r.locale
    out: list[tuple[str, list[tuple[str, Any]]]] = []
    how: list[tuple[str, Any]] = [("h3", _t("aging", loc)), ("chart", "aging")]
    labels = r.aging.labels
    rows = [[_t("col.currency", loc), _t("not_due", loc), *labels, _t("col.overdue", loc),
             _t("col.outstanding", loc)]]
    for cur, t in r.aging.totals.iterrows():
        c = str(cur)
        rows.append([c, _m(t["not_due"], c, loc), *(_m(t[lab], c, loc) for lab in labels), _m(t["total_due"], c, loc),
                     _m(t["outstanding"], c, loc)])
    how.append(("table", rows))
    for cur in r.aging_trend:
        how.append(("chart", f"aging_trend_{cur}"))
    how.append(("h3", _t("kpis", loc)))
    krows = [["", *(str(c.currency) for c in r.kpis.currencies), ""]]
    for name in KPI_NAMES:
        krows.append([_t(f"kpi.{name}", loc), *("–" if getattr(c, name) is None else
                                                 (str(getattr(c, name)).replace(".", ",") if loc == "es"
                                                  else str(getattr(c, name))) for c in r.kpis.currencies),
                      _t(f"explain.{name}", loc)])
    how.append(("table", krows))
    how.append(("small", r.kpis.note))
    for cur in r.kpi_trend:
        how.append(("chart", f"kpi_trend_{cur}"))
    how.append(("h3", _t("top", loc)))
    for cur, f in r.top_debtors.items():
        top, total = r.concentration.get(cur, (0, 0))
        share = round(100.0 * top / total, 1) if total > 0 else None
        how.append(("p", f"{cur}: " + _t("concentration", loc, n=5, share=pct(share, loc), top=_m(top, cur, loc),
                                         total=_m(total, cur, loc))))
        trows = [[_t("col.customer", loc), _t("col.name", loc), _t("col.overdue", loc), _t("col.outstanding", loc),
                  _t("col.oldest", loc)]]
        trows += [[x.customer_id, x.name, _m(x.total_due, cur, loc), _m(x.outstanding, cur, loc), x.oldest]
                  for x in f.itertuples()]
        how.append(("table", trows))
    how.append(("h3", _t("flows", loc)))
    for cur in r.flows:
        how.append(("chart", f"flows_{cur}"))
    out.append((_t("how", loc), how))

    work: list[tuple[str, Any]] = [("h3", _t("contacts", loc))]
    if len(r.contacts):
        cols = [enum_label(str(c), loc) for c in r.contacts.columns]
        work.append(("table", [[_t("col.channel", loc), *cols]] +
                     [[enum_label(str(i), loc), *(str(int(v)) for v in row)]
                      for i, row in zip(r.contacts.index, r.contacts.to_numpy(), strict=True)]))
    else:
        work.append(("p", _t("none", loc)))
    work.append(("p", _t("promises", loc, **r.promises)))
    work.append(("h3", _t("levels", loc, days=PAID_WITHIN_DAYS)))
    work.append(("table", [[_t("col.level", loc), _t("col.reminders", loc), _t("col.invoices", loc),
                            _t("col.paid_within", loc, days=PAID_WITHIN_DAYS), _t("col.share", loc)]] +
                 [[x.level, str(x.reminders), str(x.invoices), str(x.paid_within), f"{pct(x.share, loc)} %"]
                  for x in r.levels.itertuples()]))
    work.append(("h3", _t("per_user", loc)))
    has_share = "share" in r.per_user.columns
    work.append(("table", [[_t("col.user", loc), _t("col.contacts", loc), _t("col.calls", loc),
                            _t("col.reminders", loc), _t("col.promises", loc), _t("col.kept", loc),
                            *([_t("col.invoices", loc), _t("col.paid_within", loc, days=PAID_WITHIN_DAYS),
                               _t("col.share", loc)] if has_share else [])]] +
                 [[str(x.user), str(x.contacts), str(x.calls), str(x.reminders), str(x.promises), str(x.kept),
                   *([str(x.invoices), str(x.paid_within), f"{pct(x.share, loc)} %"] if has_share else [])]
                  for x in r.per_user.itertuples()]))
    out.append((_t("work", loc), work))

    nxt: list[tuple[str, Any]] = []
    if r.recommendations:
        nxt.append(("table", [[_t("col.action", loc), _t("col.reason", loc)]] +
                    [[x.action, x.reason] for x in r.recommendations]))
    else:
        nxt.append(("p", _t("no_recs", loc)))
    out.append((_t("next", loc), nxt))

    if r.forecast is not None:
        fc: list[tuple[str, Any]] = []
        if r.backtest is not None and r.backtest.evaluated:
            fc.append(("p", backtest_sentence(r.backtest, loc)))
        for cur in r.forecast.inflow:
            fc.append(("chart", f"forecast_{cur}"))
        starts = r.forecast.week_starts()
        curs = list(r.forecast.inflow)
        wrows = [[_t("col.week", loc), *curs]]
        wrows += [[s.isoformat(), *(_m(r.forecast.inflow[c][k], c, loc) for c in curs)] for k, s in enumerate(starts)]
        wrows.append([_t("later", loc), *(_m(r.forecast.later[c], c, loc) for c in curs)])
        fc.append(("table", wrows))
        fc.append(("small", _t("forecast_note", loc)))
        out.append((_t("forecast", loc), fc))
    return out


# ----------------------------------------------------------------------------------- HTML

_CSS = """
body{font-family:"DejaVu Sans",Verdana,sans-serif;color:#222;max-width:60rem;margin:1.5rem auto;padding:0 1rem}
h1{font-size:1.5rem;margin-bottom:.2rem}h2{font-size:1.2rem;border-bottom:2px solid #ddd;margin-top:2rem}
h3{font-size:1rem;margin:1.2rem 0 .4rem}p.sub{color:#666;margin-top:0}small{color:#666;display:block}
table{border-collapse:collapse;margin:.4rem 0 1rem;font-size:.85rem}
th,td{border-bottom:1px solid #e5e5e5;padding:.2rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f6f6}figure{margin:.5rem 0}figure svg{max-width:100%;height:auto}
"""


def render_html(r: CollectionsReport) -> str:
    """The report as one self-contained HTML page (inline SVG charts, inline CSS, no script, no external URL)."""
    plt = _plt()
    figs = charts(r)
    try:
        svgs = {k: _svg(f) for k, f in figs.items()}
    finally:
        for f in figs.values():
            plt.close(f)
    loc = r.locale
    subtitle = _t("subtitle", loc, as_of=r.as_of.isoformat(), months=r.months, kpi_months=r.kpi_months)
    parts = ["<!DOCTYPE html>", f'<html lang="{loc}"><head><meta charset="utf-8">',
             '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; style-src \'unsafe-inline\'; '
             'img-src data:">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             f"<title>{html.escape(_t('title', loc))} {r.as_of.isoformat()}</title><style>{_CSS}</style></head><body>",
             f"<h1>{html.escape(_t('title', loc))}</h1>",
             f'<p class="sub">{html.escape(subtitle)}</p>']
    for heading, blocks in _sections(r):
        parts.append(f"<section><h2>{html.escape(heading)}</h2>")
        for kind, value in blocks:
            if kind == "chart":
                if value in svgs:
                    parts.append(f'<figure class="chart" data-chart="{html.escape(value)}">{svgs[value]}</figure>')
            elif kind == "table":
                head, *body = value
                parts.append("<table><thead><tr>" + "".join(f"<th>{html.escape(str(h))}</th>" for h in head)
                             + "</tr></thead><tbody>")
                parts += ["<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in body]
                parts.append("</tbody></table>")
            elif kind == "h3":
                parts.append(f"<h3>{html.escape(value)}</h3>")
            elif kind == "small":
                parts.append(f"<small>{html.escape(value)}</small>")
            else:
                parts.append(f"<p>{html.escape(value)}</p>")
        parts.append("</section>")
    parts.append("</body></html>")
    return "\n".join(parts)


# ----------------------------------------------------------------------------------- PDF


def _font() -> tuple[str, str]:
    """DejaVu Sans (shipped with matplotlib) registered with reportlab: every accented letter and sign prints."""
    import matplotlib
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    base = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    if "DejaVuSans" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("DejaVuSans", str(base / "DejaVuSans.ttf")))
        pdfmetrics.registerFont(TTFont("DejaVuSans-Bold", str(base / "DejaVuSans-Bold.ttf")))
    return "DejaVuSans", "DejaVuSans-Bold"


def render_pdf(r: CollectionsReport) -> bytes:
    """The report as an A4 PDF (reportlab; charts as PNG images drawn by matplotlib)."""
    plt = _plt()
    try:
        from reportlab.lib import colors
        from reportlab.lib.pagesizes import A4
        from reportlab.lib.styles import ParagraphStyle
        from reportlab.lib.units import mm
        from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
    except ImportError:
        raise ReportDependencyError("the PDF report needs reportlab: pip install 'cobro[report]'") from None
    regular, bold = _font()
    figs = charts(r)
    try:
        pngs = {k: (_png(f), f.get_size_inches()) for k, f in figs.items()}
    finally:
        for f in figs.values():
            plt.close(f)
    loc = r.locale
    st = {"h1": ParagraphStyle("h1", fontName=bold, fontSize=16, leading=20, spaceAfter=4),
          "sub": ParagraphStyle("sub", fontName=regular, fontSize=9, textColor=colors.grey, spaceAfter=8),
          "h2": ParagraphStyle("h2", fontName=bold, fontSize=13, leading=16, spaceBefore=10, spaceAfter=4,
                                keepWithNext=1),
          "h3": ParagraphStyle("h3", fontName=bold, fontSize=10, leading=13, spaceBefore=6, spaceAfter=3,
                                keepWithNext=1),
          "p": ParagraphStyle("p", fontName=regular, fontSize=8.5, leading=11, spaceAfter=4),
          "small": ParagraphStyle("small", fontName=regular, fontSize=7, leading=9, textColor=colors.grey),
          "cell": ParagraphStyle("cell", fontName=regular, fontSize=7, leading=8.5)}
    width = A4[0] - 30 * mm
    story: list[Any] = [Paragraph(html.escape(_t("title", loc)), st["h1"]),
                        Paragraph(html.escape(_t("subtitle", loc, as_of=r.as_of.isoformat(), months=r.months,
                                                 kpi_months=r.kpi_months)), st["sub"])]
    for heading, blocks in _sections(r):
        story.append(Paragraph(html.escape(heading), st["h2"]))
        for kind, value in blocks:
            if kind == "chart":
                if value in pngs:
                    data, (w, h) = pngs[value]
                    story.append(Image(io.BytesIO(data), width=width, height=width * h / w))
            elif kind == "table":
                rows = [[Paragraph(html.escape(str(c)), st["cell"]) for c in row] for row in value]
                t = Table(rows, repeatRows=1, hAlign="LEFT",
                          colWidths=_col_widths(value, width))
                t.setStyle(TableStyle([("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#f0f0f0")),
                                       ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#dddddd")),
                                       ("VALIGN", (0, 0), (-1, -1), "TOP")]))
                story += [t, Spacer(1, 4)]
            else:
                story.append(Paragraph(html.escape(str(value)), st.get(kind, st["p"])))
    buf = io.BytesIO()

    def footer(canvas: Any, doc: Any) -> None:
        canvas.setFont(regular, 7)
        canvas.setFillColor(colors.grey)
        canvas.drawRightString(A4[0] - 15 * mm, 10 * mm, f"{_t('title', loc)} · {r.as_of.isoformat()} · {doc.page}")

    doc = SimpleDocTemplate(buf, pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm, topMargin=15 * mm,
                            bottomMargin=18 * mm, title=_t("title", loc), author="cobro", invariant=1)
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return buf.getvalue()


def _col_widths(rows: Sequence[Sequence[Any]], width: float) -> list[float]:
    """Columns as wide as their longest text, scaled to the page."""
    n = max(len(r) for r in rows)
    longest = [max(min(len(str(r[i])) if i < len(r) else 0, 60) for r in rows) + 2 for i in range(n)]
    total = sum(longest)
    return [width * w / total for w in longest]


# ----------------------------------------------------------------------------------- files


def write_report(r: CollectionsReport, path: str | os.PathLike[str]) -> Path:
    """Write the report to ``path`` (``.html``/``.htm`` or ``.pdf``) atomically; returns the path written."""
    from sync.fileio import atomic_write

    target = Path(path)
    suffix = target.suffix.lower()
    if suffix in (".html", ".htm"):
        data = render_html(r).encode("utf-8")
    elif suffix == ".pdf":
        data = render_pdf(r)
    else:
        raise UserError(f"--out {target.name}: expected a file name ending in .html or .pdf", source=str(target))
    if not target.parent.exists():
        raise UserError(f"--out {target}: the folder {target.parent} does not exist", source=str(target))
    atomic_write(target, data)
    return target
