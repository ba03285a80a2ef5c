"""API tokens of the sync service: one per ledger, printable again, stored only as a hash, never in the workbook.

``cobro token LEDGER`` prints the token of a ledger, creating it on first use; every ``/api`` route of the
service (``server.py``) wants it as ``Authorization: Bearer <token>``, and the token alone says which ledger a
request is about.

How it works
============

Everything lives in cobro's data folder (``data_dir()``): ``$COBRO_HOME`` when set, else
``$XDG_DATA_HOME/cobro`` (``~/.local/share/cobro``; ``%LOCALAPPDATA%\\cobro`` on Windows). The folder is created
with mode 0700 and both files with mode 0600:

``secret.key``
    32 random bytes, made once (``secrets.token_bytes``). Whoever reads this file can compute every token, so it
    is as sensitive as the tokens themselves; it never leaves the data folder.
``tokens.json``
    the registry: for each ledger (its canonical path: absolute, symlinks resolved) a random ``nonce``, the
    ``sha256`` of its token, and when it was created and last rotated. The token itself is not stored.

A token is derived, not remembered: ``token = "cobro_" + base64url(HMAC-SHA256(secret, "cobro-token-v1" NUL
canonical_path NUL nonce))`` (no padding). So ``cobro token LEDGER`` can print the same token again while only its
hash is kept, and a token cannot be guessed without the secret. ``--rotate`` draws a new nonce: the ledger gets a
new token and the old one stops working at once (the server re-reads the registry when it changes). Moving or
renaming the workbook changes its canonical path, hence its token (run ``cobro token`` on the new path).

Checking a token (``TokenStore.resolve``) hashes what the client sent and compares it with *every* registered
hash using ``hmac.compare_digest``, without stopping at the first match, so the time taken says nothing about
which token, or how much of one, was right.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from cobro.errors import ServiceConfigError
from sync.fileio import file_lock, write_private

TOKEN_PREFIX = "cobro_"
REGISTRY_VERSION = 1
SECRET_FILE = "secret.key"
REGISTRY_FILE = "tokens.json"
_DERIVATION_LABEL = b"cobro-token-v1"


class TokenStoreError(ServiceConfigError, RuntimeError):
    """The data folder or the registry cannot be used (unreadable, corrupt, wrong permissions)."""

    def to_json(self, locale: str = "en") -> dict[str, object]:
        return {"error": "the service's token registry cannot be read; see the server log"}


def data_dir(env: Mapping[str, str] = os.environ) -> Path:
    """cobro's per-user data folder (see the module docstring); not created here."""
    if env.get("COBRO_HOME"):
        return Path(env["COBRO_HOME"]).expanduser()
    if os.name == "nt" and env.get("LOCALAPPDATA"):
        return Path(env["LOCALAPPDATA"]) / "cobro"
    if env.get("XDG_DATA_HOME"):
        return Path(env["XDG_DATA_HOME"]).expanduser() / "cobro"
    return Path.home() / ".local" / "share" / "cobro"


def canonical_path(path: str | os.PathLike[str]) -> str:
    """The one spelling of a ledger's name that its token is bound to: a file's absolute path with symlinks
    resolved, or ``gsheet:KEY`` for a Google Sheet (named by its key or URL)."""
    if isinstance(path, str):
        from .gsheets import spreadsheet_key

        key = spreadsheet_key(path)
        if key is not None:
            return f"gsheet:{key}"
    return os.path.normcase(str(Path(path).expanduser().resolve()))


def token_hash(token: str) -> str:
    """What the registry keeps of a token: its SHA-256, hex."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class TokenEntry:
    ledger: str  # canonical path
    token_sha256: str
    nonce: str
    created: str
    rotated: str | None


class TokenStore:
    """The token registry in ``home`` (default ``data_dir()``). Safe to share between threads and processes."""

    def __init__(self, home: str | os.PathLike[str] | None = None) -> None:
        self.home = Path(home) if home is not None else data_dir()
        self.secret_path = self.home / SECRET_FILE
        self.registry_path = self.home / REGISTRY_FILE
        self._lock_path = self.home / ".tokens.lock"
        self._cache_key: tuple[int, int, int] | None = None
        self._cache: dict[str, TokenEntry] = {}

    # ------------------------------------------------------------------------------------ public

    def token_for(self, ledger: str | os.PathLike[str], *, rotate: bool = False) -> str:
        """The API token of ``ledger``; registers it on first use; ``rotate=True`` replaces it with a new one."""
        path = canonical_path(ledger)
        with self._locked():
            secret = self._secret(create=True)
            entries = self._read()
            entry = entries.get(path)
            now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
            if entry is not None and not rotate:
                token = _derive(secret, path, entry.nonce)
                if hmac.compare_digest(token_hash(token), entry.token_sha256):
                    return token
                # The secret was replaced (restored from another machine?): the stored hash is useless; re-register.
            nonce = secrets.token_hex(16)
            token = _derive(secret, path, nonce)
            entries[path] = TokenEntry(ledger=path, token_sha256=token_hash(token), nonce=nonce,
                                       created=entry.created if entry else now,
                                       rotated=now if entry is not None else None)
            self._write(entries)
            return token

    def has_token(self, ledger: str | os.PathLike[str]) -> bool:
        """Whether ``ledger`` has a registered token (without creating one)."""
        return canonical_path(ledger) in self._entries()

    def resolve(self, token: str) -> str | None:
        """The canonical path of the ledger ``token`` belongs to, or ``None``. Constant time per registry size."""
        if not isinstance(token, str) or not token:
            return None
        digest = token_hash(token)
        found: str | None = None
        for entry in self._entries().values():
            if hmac.compare_digest(digest, entry.token_sha256):
                found = entry.ledger  # no early exit: every entry is compared
        return found

    def forget(self, ledger: str | os.PathLike[str]) -> bool:
        """Remove a ledger's token (it stops working). Returns whether there was one."""
        path = canonical_path(ledger)
        with self._locked():
            entries = self._read()
            if entries.pop(path, None) is None:
                return False
            self._write(entries)
            return True

    def entries(self) -> list[TokenEntry]:
        """The registered ledgers (hashes only; never the tokens)."""
        return list(self._entries().values())

    # ------------------------------------------------------------------------------------ files

    def _ensure_home(self) -> None:
        try:
            self.home.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as e:
            raise TokenStoreError(f"cannot create cobro's data folder {self.home}: {e.strerror or e}") from None

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """An exclusive lock over the registry for writers (two `cobro token` at once must not lose an entry), on
        Windows as on POSIX (``sync.fileio.file_lock``)."""
        self._ensure_home()
        with file_lock(self._lock_path):
            yield

    def _secret(self, create: bool) -> bytes:
        try:
            data = self.secret_path.read_bytes()
        except FileNotFoundError:
            if not create:
                raise TokenStoreError(f"no secret key in {self.home}") from None
            data = secrets.token_bytes(32)
            _write_private(self.secret_path, data)
            return data
        except OSError as e:
            raise TokenStoreError(f"cannot read {self.secret_path}: {e.strerror or e}") from None
        if len(data) < 32:
            raise TokenStoreError(f"{self.secret_path} is damaged (expected 32 random bytes, found {len(data)}); "
                                  "delete it and run `cobro token` again (every token will change)")
        _check_private(self.secret_path)
        return data

    def _entries(self) -> dict[str, TokenEntry]:
        """The registry, re-read only when the file changed (each write replaces it: a new inode)."""
        try:
            st = self.registry_path.stat()
        except FileNotFoundError:
            self._cache_key, self._cache = None, {}
            return {}
        key = (st.st_ino, st.st_mtime_ns, st.st_size)
        if key != self._cache_key:
            self._cache = self._read()
            self._cache_key = key
        return self._cache

    def _read(self) -> dict[str, TokenEntry]:
        try:
            raw = self.registry_path.read_text("utf-8")
        except FileNotFoundError:
            return {}
        except OSError as e:
            raise TokenStoreError(f"cannot read {self.registry_path}: {e.strerror or e}") from None
        try:
            data = json.loads(raw)
            if not isinstance(data, dict) or data.get("version") != REGISTRY_VERSION:
                raise ValueError(f"unknown registry version {data.get('version') if isinstance(data, dict) else '?'}")
            out = {}
            for path, e in data.get("ledgers", {}).items():
                out[path] = TokenEntry(ledger=path, token_sha256=str(e["token_sha256"]), nonce=str(e["nonce"]),
                                       created=str(e.get("created", "")), rotated=e.get("rotated"))
            return out
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            raise TokenStoreError(f"{self.registry_path} is not a cobro token registry ({e}); move it away and run "
                                  "`cobro token` again for each ledger") from None

    def _write(self, entries: Mapping[str, TokenEntry]) -> None:
        data = {"version": REGISTRY_VERSION,
                "about": "cobro API tokens: only SHA-256 hashes are kept; `cobro token LEDGER` prints a token",
                "ledgers": {p: {"token_sha256": e.token_sha256, "nonce": e.nonce, "created": e.created,
                                "rotated": e.rotated} for p, e in sorted(entries.items())}}
        _write_private(self.registry_path, json.dumps(data, indent=2, ensure_ascii=False).encode("utf-8"))


def _derive(secret: bytes, path: str, nonce: str) -> str:
    msg = b"\0".join((_DERIVATION_LABEL, path.encode("utf-8", "surrogatepass"), nonce.encode("ascii")))
    mac = hmac.new(secret, msg, hashlib.sha256).digest()
    return TOKEN_PREFIX + base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")


def _write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically, readable by its owner only (0600)."""
    write_private(path, data)


def _check_private(path: Path) -> None:
    """Refuse a secret others can read (as ssh does with private keys)."""
    if os.name == "nt":
        return
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise TokenStoreError(f"{path} can be read by other users (mode {mode:o}); run `chmod 600 {path}`")
