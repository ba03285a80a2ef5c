"""One family for every error cobro reports to a person.

``CobroError`` is the base (as click has one exception base with an exit code): each error knows

- where it happened — ``source`` (a sheet or a file as the user names it), ``row`` and ``column``, when known;
- the exit status a command ends with (``exit_code``, 2 for a mistake the user can fix);
- the HTTP status the service answers with (``http_status``), and its JSON body (``to_json``).

Hosts handle it in one place: the command line prints ``render(locale)`` and exits with ``exit_code``; the
service answers ``http_status`` with ``to_json(locale)``. An exception outside this family is a bug (a traceback
in the log, a 500), never a user's mistake.
"""

from __future__ import annotations

from typing import Any

EXIT_USER_ERROR = 2


class CobroError(Exception):
    """A problem cobro explains to a person; nothing was written unless the message says otherwise."""

    exit_code: int = EXIT_USER_ERROR
    http_status: int = 400

    def __init__(self, message: str = "", *, source: str | None = None, row: int | None = None,
                 column: str | None = None) -> None:
        super().__init__(message)
        self.source = source
        self.row = row
        self.column = column

    def where(self) -> dict[str, Any]:
        """The location as JSON keys (only those known)."""
        out: dict[str, Any] = {}
        if self.source:
            out["source"] = self.source
        if self.row is not None:
            out["row"] = self.row
        if self.column:
            out["column"] = self.column
        return out

    def render(self, locale: str = "en") -> str:
        """The message for a person, in ``locale`` where the error has translations."""
        return str(self) or type(self).__name__

    def details(self, locale: str = "en") -> list[dict[str, Any]]:
        """Each problem as ``{"message", …location}``; one for a plain error."""
        return [{"message": self.render(locale), **self.where()}]

    def to_json(self, locale: str = "en") -> dict[str, Any]:
        """The service's response body."""
        return {"error": self.render(locale), "problems": self.details(locale)}


class UserError(CobroError):
    """A mistake in how a command was called or what it was given (a missing option, a bad value)."""


class ConflictError(CobroError):
    """The ledger is busy or changed meanwhile: wait or retry; nothing was written."""

    http_status = 409

    def to_json(self, locale: str = "en") -> dict[str, Any]:
        return {"error": self.render(locale)}


class InputError(CobroError):
    """Data that cannot be used as it is (a workbook, a statement, an amount, a template)."""

    http_status = 422


class ServiceConfigError(CobroError):
    """The installation is misconfigured (mail settings, journal, token registry): the operator must act."""

    http_status = 500

    def to_json(self, locale: str = "en") -> dict[str, Any]:
        return {"error": self.render(locale)}
