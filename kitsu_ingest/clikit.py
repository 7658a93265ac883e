"""Shared CLI plumbing: lazily loaded subcommands and one-line errors instead of tracebacks."""

from __future__ import annotations

import errno
import importlib
import math
import sys
from typing import Any

import click

from kitsu_ingest.errors import KitsuIngestError

__all__ = ["EXIT_USER_ERROR", "FiniteFloatRange", "LazyGroup", "database_option", "fail"]

EXIT_USER_ERROR = 2


def fail(message: str, code: int = EXIT_USER_ERROR) -> None:
    """Print `error: message` on stderr and exit with `code`."""
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


class LazyGroup(click.Group):
    """A click group whose subcommands are imported only when they run (fast `--help`, fast start).

    `lazy_commands` maps a command name to "module:attribute". Any KitsuIngestError (or
    another exception class listed in `user_errors`) escaping a command becomes one line on
    stderr and exit status 2; a full disk or a dropped keyboard interrupt likewise gets no traceback.
    """

    def __init__(
        self,
        *args: Any,
        lazy_commands: dict[str, str] | None = None,
        user_errors: tuple[type[BaseException], ...] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_commands = dict(lazy_commands or {})
        self.user_errors: tuple[type[BaseException], ...] = (KitsuIngestError, *user_errors)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy_commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy_commands:
            module_name, attr = self.lazy_commands[cmd_name].split(":")
            return getattr(importlib.import_module(module_name), attr)
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:  # a bad option value: one line too, naming the command's --help
            where = f"{exc.ctx.command_path} --help" if exc.ctx is not None else "--help"
            fail(f"{' '.join(exc.format_message().split())} (see {where})")
        except self.user_errors as exc:
            fail(str(exc))
        except KeyboardInterrupt:
            fail("interrupted", code=130)
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                fail(f"disk full: {exc}. Free some space and run the command again.")
            raise
        except Exception as exc:
            message = _database_error(exc)
            if message is None:
                raise
            fail(message)


def _database_error(exc: BaseException) -> str | None:
    """One line for an error the database raised (full disk, lost connection, locked file...)."""
    sa_exc = sys.modules.get("sqlalchemy.exc")
    if sa_exc is None or not isinstance(exc, sa_exc.DBAPIError):
        return None
    reason = str(exc.orig or exc).strip().splitlines()[0]
    if "full" in reason.lower():
        return f"disk full while writing the database ({reason}); free some space and run again"
    return f"database error: {reason}"


class FiniteFloatRange(click.FloatRange):
    """A click.FloatRange that also refuses `inf` and `nan` (which FloatRange lets through)."""

    name = "finite float range"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return number


def database_option(function: Any) -> Any:
    """`--database-url` overriding the DATABASE_URL setting."""
    return click.option(
        "--database-url",
        metavar="URL",
        default=None,
        help="Store URL (default: DATABASE_URL, else sqlite:///data/kitsu.db).",
    )(function)
