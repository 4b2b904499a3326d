"""The error a rule answers with instead of running a statement."""

from __future__ import annotations


class RedshiftError(Exception):
    """A refusal, sent to the client as an ErrorResponse (SQLSTATE, message, detail, hint)."""

    def __init__(
        self,
        message: str,
        sqlstate: str = "XX000",
        *,
        detail: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.sqlstate = sqlstate
        self.detail = detail
        self.hint = hint

    def __repr__(self) -> str:
        return f"RedshiftError({self.message!r}, {self.sqlstate!r})"

    def copy(self) -> RedshiftError:
        """A new exception with the same fields (a cached refusal is raised afresh)."""
        return RedshiftError(self.message, self.sqlstate, detail=self.detail, hint=self.hint)


def syntax_error(near: str, why: str) -> RedshiftError:
    """Redshift's parser's answer for syntax its grammar lacks (SQLSTATE 42601), with a hint
    naming the rule."""
    return RedshiftError(f'syntax error at or near "{near}"', "42601", hint=why)


def unsupported(what: str, why: str) -> RedshiftError:
    """``<what> is not supported`` (SQLSTATE 0A000)."""
    return RedshiftError(f"{what} is not supported", "0A000", hint=why)


def no_such_function(name: str, hint: str) -> RedshiftError:
    """PostgreSQL's words for a function that does not exist (SQLSTATE 42883)."""
    return RedshiftError(f"function {name} does not exist", "42883", hint=hint)


def cannot_rewrite(why: str) -> RedshiftError:
    """The emulator cannot carry out a rewrite this statement needs (SQLSTATE 54001, as
    PostgreSQL's "statement too complex"). Never a crash: the session goes on."""
    return RedshiftError(
        f"the Redshift emulator cannot rewrite this statement: {why}",
        "54001",
        hint="Simplify the statement or split it; this is a limit of the emulator, not of Redshift",
    )
