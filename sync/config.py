"""Where cobro sends mail from: SMTP settings read from the environment or a config file, never the workbook.

Environment variables (an empty value counts as unset):

=========================  =====================================================================
``COBRO_SMTP_HOST``        server name; without it (here or in the file) nothing is configured and
                           cobro uses its embedded local sink (``sync.smtp_sink``)
``COBRO_SMTP_PORT``        default 465 for ``ssl``, 587 for ``starttls``, 25 for ``none``
``COBRO_SMTP_SECURITY``    ``ssl`` (implicit TLS), ``starttls`` (default) or ``none`` (plain text)
``COBRO_SMTP_USER``        login name; blank = no login (a relay that trusts the network)
``COBRO_SMTP_PASSWORD``    the password; better left out and kept in the system keyring under
                           service ``cobro``, username = the user (``keyring set cobro USER``)
``COBRO_SMTP_TIMEOUT``     seconds to wait for the server on each step (default 30)
``COBRO_SMTP_MAX_ATTEMPTS``  tries per message and per connection in one run for temporary errors (default 4)
``COBRO_SMTP_BACKOFF``     first retry delay in seconds; doubles on each retry (default 1)
``COBRO_SMTP_BACKOFF_MAX`` longest retry delay in seconds (default 30)
``COBRO_CONFIG``           path of the config file (instead of the default below)
=========================  =====================================================================

The config file is TOML, by default ``$XDG_CONFIG_HOME/cobro/config.toml`` (``~/.config/cobro/config.toml``;
``%APPDATA%\\cobro\\config.toml`` on Windows). The same settings live in an ``[smtp]`` table, named without the
prefix; the environment-style names (``COBRO_SMTP_HOST = "..."``) are accepted at the top level too::

    [smtp]
    host = "smtp.example.com"
    port = 587
    security = "starttls"
    user = "cobros@example.com"
    # password = "..."      # prefer the keyring; if you keep it here, chmod 600 this file
    timeout = 30
    max_attempts = 4
    backoff = 1.0
    backoff_max = 30.0

Environment variables override the file, key by key. The password is never printed: ``repr`` masks it.
"""

from __future__ import annotations

import logging
import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from cobro.errors import ServiceConfigError

SECURITY_CHOICES = ("ssl", "starttls", "none")
DEFAULT_PORTS = {"ssl": 465, "starttls": 587, "none": 25}
KEYRING_SERVICE = "cobro"

# setting name -> environment variable
_KEYS = {
    "host": "COBRO_SMTP_HOST",
    "port": "COBRO_SMTP_PORT",
    "security": "COBRO_SMTP_SECURITY",
    "user": "COBRO_SMTP_USER",
    "password": "COBRO_SMTP_PASSWORD",
    "timeout": "COBRO_SMTP_TIMEOUT",
    "max_attempts": "COBRO_SMTP_MAX_ATTEMPTS",
    "backoff": "COBRO_SMTP_BACKOFF",
    "backoff_max": "COBRO_SMTP_BACKOFF_MAX",
}
_ENV_TO_KEY = {v: k for k, v in _KEYS.items()}
_SECRET_KEYS = frozenset({"password"})

log = logging.getLogger("cobro.config")

DeliveryProbe = Callable[[str], bool]
"""``already_delivered(message_id) -> bool``: asks a server that can be asked whether it holds a Message-ID."""


class ConfigError(ServiceConfigError, ValueError):
    """The SMTP settings are incomplete or malformed; the message says which setting and where."""

    def to_json(self, locale: str = "en") -> dict[str, object]:
        return {"error": f"the service's mail settings are wrong: {self}"}


@dataclass(frozen=True)
class SmtpConfig:
    """How to reach one SMTP server, plus the retry policy of a batch.

    ``already_delivered`` is set when the server can be asked whether it already holds a Message-ID
    (the embedded sink, the test servers); a real SMTP server cannot, and leaves it ``None``.
    """

    host: str
    port: int = 0  # 0 = the default port of ``security``
    security: str = "starttls"
    user: str = ""
    password: str = ""
    timeout: float = 30.0
    max_attempts: int = 4
    backoff: float = 1.0
    backoff_max: float = 30.0
    already_delivered: DeliveryProbe | None = field(default=None, compare=False)
    source: str = field(default="", compare=False)  # where the settings came from, for messages

    def __post_init__(self) -> None:
        where = f" ({self.source})" if self.source else ""
        if not self.host or any(c.isspace() for c in self.host):
            raise ConfigError(f"SMTP host must be a server name such as smtp.example.com, got {self.host!r}{where}")
        if self.security not in SECURITY_CHOICES:
            raise ConfigError(f"SMTP security must be one of ssl, starttls, none; got {self.security!r}{where}")
        if self.port == 0:
            object.__setattr__(self, "port", DEFAULT_PORTS[self.security])
        if not isinstance(self.port, int) or not 1 <= self.port <= 65535:
            raise ConfigError(f"SMTP port must be a whole number from 1 to 65535, got {self.port!r}{where}")
        if not self.timeout > 0:
            raise ConfigError(f"SMTP timeout must be a number of seconds above 0, got {self.timeout!r}{where}")
        if not isinstance(self.max_attempts, int) or self.max_attempts < 1:
            raise ConfigError(f"SMTP max_attempts must be a whole number of at least 1, got {self.max_attempts!r}")
        if self.backoff < 0 or self.backoff_max < 0:
            raise ConfigError(f"SMTP backoff delays must not be negative{where}")
        if self.password and not self.user:
            raise ConfigError(f"an SMTP password is set but no user (COBRO_SMTP_USER){where}")

    def __repr__(self) -> str:
        return (
            f"SmtpConfig(host={self.host!r}, port={self.port}, security={self.security!r}, user={self.user!r}, "
            f"password={'***' if self.password else ''!r}, timeout={self.timeout}, max_attempts={self.max_attempts}, "
            f"backoff={self.backoff}, backoff_max={self.backoff_max}, "
            f"probe={'yes' if self.already_delivered else 'no'}, source={self.source!r})"
        )

    __str__ = __repr__

    def address(self) -> str:
        """``host:port``, for messages."""
        return f"{self.host}:{self.port}"

    def retry_delay(self, attempt: int) -> float:
        """Seconds to wait after failed try number ``attempt`` (1-based): backoff, doubling, capped."""
        return min(self.backoff_max, self.backoff * (2 ** max(0, attempt - 1)))

    @classmethod
    def from_env(
        cls,
        env: Mapping[str, str] = os.environ,
        config_path: str | os.PathLike[str] | None = None,
        keyring_lookup: Callable[[str, str], str | None] | None = None,
    ) -> SmtpConfig | None:
        """The configured server, or ``None`` when nothing is configured (cobro then uses its local sink).

        ``config_path`` (or ``COBRO_CONFIG``) names a file that must exist; the default file may be absent.
        ``keyring_lookup(service, user)`` defaults to the system keyring. Raises ``ConfigError``.
        """
        values: dict[str, tuple[object, str]] = {}  # key -> (value, where it came from)
        path = _config_file(env, config_path)
        if path is not None:
            for key, value in _read_file(path).items():
                values[key] = (value, str(path))
        for key, var in _KEYS.items():
            raw = env.get(var)
            if raw is not None and raw.strip() != "":
                values[key] = (raw.strip() if key != "password" else raw, var)
        if not values:
            return None
        if "host" not in values:
            named = ", ".join(sorted({_describe(k, w) for k, (_, w) in values.items()}))
            raise ConfigError(f"SMTP settings are given ({named}) but no host: set COBRO_SMTP_HOST or host in [smtp]")

        def get(key: str, kind: type, default: object) -> object:
            if key not in values:
                return default
            value, where = values[key]
            return _coerce(key, value, kind, where)

        user = str(get("user", str, ""))
        password = str(get("password", str, ""))
        sources = sorted({w for _, w in values.values()})
        if user and not password:
            password = _keyring_password(user, keyring_lookup) or ""
            if not password:
                raise ConfigError(
                    f"SMTP user {user!r} has no password: set COBRO_SMTP_PASSWORD, add password to [smtp] in the "
                    f"config file, or store it in the system keyring (keyring set {KEYRING_SERVICE} {user})"
                )
            sources.append("keyring")
        security = str(get("security", str, "starttls")).lower()
        return cls(
            host=str(get("host", str, "")),
            port=int(get("port", int, 0)),  # type: ignore[call-overload]
            security=security,
            user=user,
            password=password,
            timeout=float(get("timeout", float, 30.0)),  # type: ignore[arg-type]
            max_attempts=int(get("max_attempts", int, 4)),  # type: ignore[call-overload]
            backoff=float(get("backoff", float, 1.0)),  # type: ignore[arg-type]
            backoff_max=float(get("backoff_max", float, 30.0)),  # type: ignore[arg-type]
            source=", ".join(sources),
        )


def default_config_path(env: Mapping[str, str] = os.environ) -> Path | None:
    """The config file cobro reads when none is named (it may not exist)."""
    if os.name == "nt" and env.get("APPDATA"):
        return Path(env["APPDATA"]) / "cobro" / "config.toml"
    if env.get("XDG_CONFIG_HOME"):
        return Path(env["XDG_CONFIG_HOME"]) / "cobro" / "config.toml"
    if env.get("HOME"):
        return Path(env["HOME"]) / ".config" / "cobro" / "config.toml"
    return None


def _config_file(env: Mapping[str, str], config_path: str | os.PathLike[str] | None) -> Path | None:
    named = config_path if config_path is not None else (env.get("COBRO_CONFIG") or None)
    if named is not None:
        path = Path(named).expanduser()
        if not path.is_file():
            origin = "COBRO_CONFIG" if config_path is None else "the config path given"
            raise ConfigError(f"config file not found: {path} (from {origin})")
        return path
    path = default_config_path(env)
    return path if path is not None and path.is_file() else None


def _read_file(path: Path) -> dict[str, object]:
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from None
    found: dict[str, object] = {}
    for name, value in data.items():
        if name in _ENV_TO_KEY:
            found[_ENV_TO_KEY[name]] = value
    table = data.get("smtp", {})
    if not isinstance(table, dict):
        raise ConfigError(f"config file {path}: 'smtp' must be a table ([smtp]), got {type(table).__name__}")
    for name, value in table.items():
        if name not in _KEYS:
            known = ", ".join(_KEYS)
            raise ConfigError(f"config file {path}: unknown key {name!r} in [smtp]; known keys: {known}")
        found[name] = value
    if any(k in _SECRET_KEYS for k in found):
        warning = readable_by_others(path)
        if warning:
            log.warning("%s", warning)
    return found


def readable_by_others(path: Path) -> str | None:
    """The warning for a file holding a secret that other users can read (as ``sync.tokens`` words it for the
    token secret, and as ssh does for private keys), or None when only its owner can (always None on Windows,
    where the mode bits say nothing)."""
    if os.name == "nt":
        return None
    try:
        mode = path.stat().st_mode & 0o777
    except OSError:
        return None
    if mode & 0o077:
        return f"{path} can be read by other users (mode {mode:o}); run `chmod 600 {path}`"
    return None


def _describe(key: str, where: str) -> str:
    return _KEYS[key] if where == _KEYS[key] else f"{key} in {where}"


def _coerce(key: str, value: object, kind: type, where: str) -> object:
    label = _describe(key, where)
    if isinstance(value, bool):
        raise ConfigError(f"{label} must be {_KIND_WORDS[kind]}, got {_shown(key, value)}")
    if kind is str:
        if not isinstance(value, str | int):
            raise ConfigError(f"{label} must be text, got {_shown(key, value)}")
        return str(value).strip() if key not in _SECRET_KEYS else str(value)
    try:
        if kind is int:
            if isinstance(value, float) and not value.is_integer():
                raise ValueError
            return int(value) if not isinstance(value, str) else int(value.strip())
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ConfigError(f"{label} must be {_KIND_WORDS[kind]}, got {_shown(key, value)}") from None


_TOML_KINDS = {str: "text", int: "a whole number", float: "a number", bool: "true/false", list: "a list",
               dict: "a table"}


def _shown(key: str, value: object) -> str:
    """How a wrong value is named in an error: the value itself for plain settings (``'abc'``), only its kind
    for a secret — an error message ends up in terminals, logs and HTTP answers, a password must not."""
    if key in _SECRET_KEYS:
        return _TOML_KINDS.get(type(value), type(value).__name__) + " (value not shown)"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


_KIND_WORDS = {int: "a whole number", float: "a number", str: "text"}


def _keyring_password(user: str, lookup: Callable[[str, str], str | None] | None) -> str | None:
    if lookup is None:
        try:
            import keyring
        except Exception:  # keyring missing or its backend failing to load: no keyring
            return None
        lookup = keyring.get_password
    try:
        return lookup(KEYRING_SERVICE, user)
    except Exception:  # no usable backend (keyring.errors.NoKeyringError, a locked store...): treated as absent
        return None
