"""Shared by the recommender tests: running `recommend` in-process."""

from __future__ import annotations

from click.testing import CliRunner

from recommender.cli import main


def run_recommend(*args: str) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of `recommend ARGS`; an unexpected exception is raised as is."""
    outcome = CliRunner().invoke(main, list(args))
    if outcome.exception and not isinstance(outcome.exception, SystemExit):
        raise outcome.exception
    return outcome.exit_code, outcome.stdout, outcome.stderr
