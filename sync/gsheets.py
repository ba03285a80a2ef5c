"""Reaching Google Sheets: the gspread client cobro uses, with credentials, retries, and a base URL for tests.

- Credentials: a service account's JSON key file named by ``COBRO_GOOGLE_CREDENTIALS`` (or ``google_credentials``
  in ``~/.config/cobro/config.toml``), else the user's OAuth credentials as gspread keeps them
  (``~/.config/gspread/authorized_user.json``). Never stored in the sheet.
- ``COBRO_SHEETS_API_URL``: when set, every Sheets (and Drive) API call goes to that base URL, without
  authentication — for tests (``tests/fake_sheets.py``) and emulators. gspread builds its URLs from constants
  imported by name, so the session rewrites them on the way out instead.
- Retries: 429 and 5xx answers are retried with exponential backoff and full jitter (1 s, 2 s, 4 s … capped at
  32 s, at most 6 attempts), within Google's per-minute quotas; other errors are final.
- A ledger is named by its spreadsheet key or its URL (``https://docs.google.com/spreadsheets/d/KEY/edit``).
"""

from __future__ import annotations

import os
import random
import re
import time
from collections.abc import Callable, Mapping
from typing import Any

from cobro.errors import InputError, ServiceConfigError

SHEETS_BASE = "https://sheets.googleapis.com"
DRIVE_BASE = "https://www.googleapis.com"
SCOPES = ("https://www.googleapis.com/auth/spreadsheets", "https://www.googleapis.com/auth/drive.file")
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_ATTEMPTS = 6

_KEY_IN_URL = re.compile(r"/spreadsheets/d/([A-Za-z0-9_-]{20,})")
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]{25,}$")


class SheetsAccessError(ServiceConfigError):
    """Google Sheets cannot be reached or refused the credentials."""

    http_status = 502


def spreadsheet_key(ledger: str) -> str | None:
    """The spreadsheet key in ``ledger`` (a key, a Sheets URL or ``gsheet:KEY``), or None when it names a file."""
    text = ledger.strip()
    if text.startswith("gsheet:"):
        return text[len("gsheet:"):]
    m = _KEY_IN_URL.search(text)
    if m:
        return m[1]
    if _BARE_KEY.match(text) and not os.path.exists(text):
        return text
    return None


def is_google_sheet(ledger: str) -> bool:
    """True when ``ledger`` names a Google Sheet rather than a file."""
    return spreadsheet_key(ledger) is not None


def _retrying_http_client(sleep: Callable[[float], None]) -> type:
    import gspread
    from gspread.exceptions import APIError

    class RetryingHTTPClient(gspread.HTTPClient):  # type: ignore[misc]
        """gspread's own HTTP client, retrying 429/5xx with exponential backoff and full jitter."""

        def request(self, *args: Any, **kwargs: Any) -> Any:
            delay = 1.0
            for attempt in range(1, MAX_ATTEMPTS + 1):
                try:
                    return super().request(*args, **kwargs)
                except APIError as e:
                    status = getattr(e.response, "status_code", 0)
                    if status not in RETRY_STATUSES or attempt == MAX_ATTEMPTS:
                        raise
                    retry_after = e.response.headers.get("Retry-After") if e.response is not None else None
                    wait = float(retry_after) if retry_after and retry_after.isdigit() else random.uniform(0, delay)
                    sleep(min(wait, 32.0))
                    delay = min(delay * 2, 32.0)
            raise AssertionError("unreachable")

    return RetryingHTTPClient


def _session_for(api_url: str) -> Any:
    from google.auth.credentials import AnonymousCredentials
    from google.auth.transport.requests import AuthorizedSession

    base = api_url.rstrip("/")

    class LocalSession(AuthorizedSession):  # type: ignore[misc]
        """Sends every Sheets/Drive API call to ``base`` without credentials."""

        def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
            for prefix in (SHEETS_BASE, DRIVE_BASE):
                if url.startswith(prefix):
                    url = base + url[len(prefix):]
                    break
            return super().request(method, url, *args, **kwargs)

    return LocalSession(AnonymousCredentials())


def credentials_file(env: Mapping[str, str] = os.environ) -> str | None:
    """The service-account key file from the environment or cobro's config file, if any."""
    if env.get("COBRO_GOOGLE_CREDENTIALS"):
        return env["COBRO_GOOGLE_CREDENTIALS"]
    from .config import _config_file, _read_file

    path = _config_file(env, None)
    if path is None or not path.is_file():
        return None
    value = _read_file(path).get("google_credentials")
    return str(value) if value else None


def client(env: Mapping[str, str] = os.environ, *, sleep: Callable[[float], None] = time.sleep) -> Any:
    """A gspread ``Client`` for cobro: the fake/emulator at ``COBRO_SHEETS_API_URL`` when set, else Google with
    the service account or the user's OAuth credentials."""
    try:
        import gspread
    except ImportError:
        raise InputError("Google Sheets needs gspread: install cobro with its sheets extra "
                         "(pip install 'cobro[sheets]')") from None
    http_client = _retrying_http_client(sleep)
    api_url = env.get("COBRO_SHEETS_API_URL", "").strip()
    if api_url:
        return gspread.Client(auth=None, session=_session_for(api_url), http_client=http_client)
    key_file = credentials_file(env)
    try:
        if key_file:
            from google.oauth2.service_account import Credentials

            creds = Credentials.from_service_account_file(key_file, scopes=list(SCOPES))
            return gspread.Client(auth=creds, http_client=http_client)
        from gspread.auth import DEFAULT_AUTHORIZED_USER_FILENAME, load_credentials

        user = load_credentials(DEFAULT_AUTHORIZED_USER_FILENAME)
        if user is None:
            raise SheetsAccessError(
                "no Google credentials: set COBRO_GOOGLE_CREDENTIALS to a service account's JSON key file (and "
                "share the sheet with its e-mail), or sign in once with gspread's OAuth flow")
        return gspread.Client(auth=user, http_client=http_client)
    except (OSError, ValueError) as e:
        raise SheetsAccessError(f"the Google credentials cannot be used: {type(e).__name__}") from None
