"""One rule for e-mail addresses, shared by the reminder planner and the mailer (they must never disagree).

An address is one bare mailbox ``local@domain``:

- the local part is a dot-atom (RFC 5322) whose characters may include any non-ASCII UTF-8 (RFC 6531:
  ``josé@empresa.es``), at most 64 octets, no leading, trailing or doubled dot; quoted local parts are refused
  (almost no server delivers them);
- the domain is an internet host name of two labels or more — internationalised names allowed and converted to
  their ASCII form by IDNA 2008 with UTS 46 mapping (RFC 5890: ``info@cañón.es`` → ``info@xn--can-8mak.es``);
  single-label names (``ana@localhost``) and IP literals are refused: they cannot be delivered to a customer;
- the whole address is at most 254 octets.
"""

from __future__ import annotations

import re

import idna

_ATEXT = r"A-Za-z0-9!#$%&'*+/=?^_`{|}~\-"
_LOCAL = re.compile(rf"^[{_ATEXT}\u0080-\U0010ffff]+(?:\.[{_ATEXT}\u0080-\U0010ffff]+)*$")
_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_TLD = re.compile(r"^(?:[A-Za-z]{2,63}|xn--[A-Za-z0-9-]{1,59})$")
_FORBIDDEN = re.compile(r"[\s\x00-\x1f\x7f\u0085\u2028\u2029\"(),:;<>@\[\\\]]")


def normalize_email(address: str) -> str | None:
    """``address`` as it will be sent (IDN domain in ASCII, lower-cased domain), or None when it is not a
    deliverable single mailbox by the rule above."""
    a = address.strip()
    if a.count("@") != 1:
        return None
    local, domain = a.split("@")
    if not local or not domain or _FORBIDDEN.search(local) or not _LOCAL.match(local):
        return None
    if len(local.encode("utf-8")) > 64:
        return None
    try:
        ascii_domain = idna.encode(domain.rstrip("."), uts46=True).decode("ascii") if not domain.isascii() \
            else domain.rstrip(".")
    except (idna.IDNAError, UnicodeError, ValueError):
        return None
    labels = ascii_domain.lower().split(".")
    if len(labels) < 2 or not all(_LABEL.match(label) for label in labels) or not _TLD.match(labels[-1]):
        return None
    out = f"{local}@{'.'.join(labels)}"
    if len(out.encode("utf-8")) > 254:
        return None
    return out


def is_valid_email(address: str) -> bool:
    """True when ``address`` is one deliverable mailbox (see the module docstring)."""
    return normalize_email(address) is not None


def needs_smtputf8(address: str) -> bool:
    """True when the (normalized) address has a non-ASCII local part: the server must offer SMTPUTF8."""
    return not address.split("@", 1)[0].isascii()
