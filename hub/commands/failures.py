"""One way for every command to fail: one clear line on standard error and an exit code, never a traceback.

The line names what is wrong (the variable, file or system) and never a value that could be a secret or
personal data: the hub's own errors are written that way, database errors are cut to the driver's first
line (SQL parameters are hidden by the engines), and any other exception shows only its class.
``hub --debug`` re-raises instead, for the whole traceback.

Exit codes: 1 the work failed or was refused on its merits; 2 configuration or permission; 3 busy (another
run or request holds the hub's lock: try again later).
"""

from __future__ import annotations

import typer
from typer.core import TyperGroup
from typer.exceptions import TyperException

from hub.commands.context import errors, invocation

FAILED, CONFIGURATION, BUSY = 1, 2, 3


class FailClearly(TyperGroup):
    """The root command group: runs the command and turns any exception into ``explain``'s line."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, TyperException):
            raise
        except Exception as error:
            if invocation(ctx).debug:
                raise
            message, code = explain(error)
            # One line whatever the terminal's width (log readers match it), and never read as markup.
            errors.print(message, style="red", highlight=False, markup=False, soft_wrap=True)
            raise typer.Exit(code) from None


def explain(error: Exception) -> tuple[str, int]:
    """The line to print and the exit code for an exception that ended a command."""
    import duckdb
    import sqlalchemy as sa

    from hub.access.policy import AccessDenied, PolicyError
    from hub.config import ConfigurationError
    from hub.locking import Busy
    from transforms.matching.settings import SettingsError

    if isinstance(error, Busy):
        return str(error), BUSY
    if isinstance(error, (ConfigurationError, AccessDenied, PolicyError)):
        return str(error), CONFIGURATION
    if isinstance(error, SettingsError):
        return f"matching settings: {error}", CONFIGURATION
    if isinstance(error, sa.exc.NoSuchModuleError):
        return "HUB_DATABASE_URL names a database driver that is not installed", CONFIGURATION
    if isinstance(error, (sa.exc.DBAPIError, duckdb.Error)):
        cause = error.orig if isinstance(error, sa.exc.DBAPIError) else error
        if isinstance(cause, duckdb.IOException) and "lock" in str(cause).lower():
            return "the hub's database file is open in another process (a run?): try again when it is done", BUSY
        return f"the hub's database (HUB_DATABASE_URL) refused: {_first_line(cause)}", FAILED
    if isinstance(error, OSError) and error.filename:
        return f"cannot use {error.filename}: {error.strerror} (check HUB_HOME and the folders it names)", CONFIGURATION
    if _is_hub_error(error):
        return str(error), FAILED
    return f"failed with {type(error).__name__}; run `hub --debug ...` for the traceback", FAILED


def _first_line(error: BaseException | None) -> str:
    text = str(error or "").strip().splitlines()
    return (text[0] if text else type(error).__name__)[:300]


def _is_hub_error(error: Exception) -> bool:
    """The hub's own exceptions, whose messages are written to carry no personal data or secrets."""
    from exports.http import ToolError
    from hub.access.reader import ViewMissing
    from hub.gdpr.locate import SubjectNotFound
    from hub.gdpr.rectification import InvalidCorrection
    from hub.gdpr.requests import RequestError

    own = (RequestError, SubjectNotFound, InvalidCorrection, ViewMissing, ToolError)
    return isinstance(error, own) or type(error) is LookupError  # not KeyError: it would carry the key
