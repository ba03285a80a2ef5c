"""The Office add-in's files, served by the cobro service (issue 10): ``/addin/manifest.xml`` (rewritten for the
address the service is reached by), the shared runtime page, the dialog, scripts, ``functions.json`` and icons
under ``/addin/…``, and Microsoft's ``office.js`` from npm's ``@microsoft/office-js`` under ``/addin/office/…``
(nothing from a CDN). The task pane is the cobro page itself (``/?host=excel``), served by ``addin.page``.

Same origin as the API: the add-in's pages call ``/api/tables/*`` without CORS; requests from any other origin are
refused by the page's origin check (``COBRO_ALLOWED_ORIGINS`` declares the Office on the web frames, if needed).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from flask import Blueprint, Flask, Response, abort, current_app, request, send_from_directory

from addin.page.routes import allowed_origins

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
MANIFEST = HERE / "manifest.xml"
DEFAULT_BASE = "https://localhost:8750"
OFFICE_JS = HERE.parent.parent / "node_modules" / "@microsoft" / "office-js" / "dist"
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "frame-ancestors 'self'; base-uri 'none'; form-action 'none'")

officejs = Blueprint("officejs", __name__, url_prefix="/addin")


def manifest_text(base_url: str = DEFAULT_BASE) -> str:
    """The manifest with every ``https://localhost:8750`` replaced by ``base_url`` (``https://host[:port]``, no
    path). Raises ``ValueError`` for anything else: Office loads add-ins over HTTPS only."""
    base = base_url.rstrip("/")
    if not re.fullmatch(r"https://[A-Za-z0-9.-]+(?::\d{1,5})?", base):
        raise ValueError(f"{base_url!r} is not an https://host[:port] address; Office loads add-ins over HTTPS only")
    return MANIFEST.read_text("utf-8").replace(DEFAULT_BASE, base)


def _headers(resp: Response) -> Response:
    resp.headers["Cache-Control"] = "no-cache"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    # Excel on the web frames the add-in's pages from Office's hosts: those declared in COBRO_ALLOWED_ORIGINS
    # (e.g. https://*.officeapps.live.com) may frame them, as they may frame the page.
    declared = sorted(allowed_origins(current_app))
    resp.headers.setdefault("Content-Security-Policy",
                            CSP.replace("frame-ancestors 'self'", " ".join(["frame-ancestors 'self'", *declared])))
    return resp


@officejs.get("/manifest.xml")
def manifest() -> Response:
    """The manifest for ``$COBRO_ADDIN_URL`` (a team's public HTTPS address, behind a TLS reverse proxy), else the
    address this request came through when it is HTTPS, else ``https://localhost:8750``."""
    base = current_app.config.get("COBRO_ADDIN_URL") or os.environ.get("COBRO_ADDIN_URL", "")
    if not base:
        here = request.host_url.rstrip("/")
        base = here if here.startswith("https://") else DEFAULT_BASE
    resp = Response(manifest_text(base), mimetype="application/xml")
    resp.headers["Content-Disposition"] = 'attachment; filename="cobro-manifest.xml"'
    return _headers(resp)


@officejs.get("/office/<path:name>")
def office_js(name: str) -> Response:
    """Microsoft's office.js (and the files it loads), from ``npm install``'s ``@microsoft/office-js``."""
    if not OFFICE_JS.is_dir():
        abort(404, description="office.js is not installed: run `npm install` in the cobro checkout")
    resp = send_from_directory(OFFICE_JS, name, max_age=0)
    resp.headers["Cache-Control"] = "max-age=3600"
    return resp


@officejs.get("/<path:name>")
def static_file(name: str) -> Response:
    """The runtime page, the dialog, the scripts, ``functions.json`` and the icons."""
    return _headers(send_from_directory(STATIC, name, max_age=0))


def register_officejs(app: Flask) -> None:
    """Serve the add-in's files on ``app`` (called once by ``server.create_app``)."""
    app.register_blueprint(officejs)
