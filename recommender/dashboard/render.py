"""HTML from the package's Jinja templates (autoescaped): pages, and error pages that say what
went wrong in a sentence (never a traceback)."""

from __future__ import annotations

import functools
from typing import Any

from starlette.responses import HTMLResponse

from recommender.dashboard.views import duration, number

__all__ = ["compile_templates", "error_page", "render"]


@functools.cache
def _environment() -> Any:
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    env = Environment(loader=PackageLoader("recommender.dashboard", "templates"),
                      autoescape=select_autoescape(default=True), undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    env.filters.update(number=number, duration=duration, percent=lambda v: f"{100 * v:.0f}%" if v is not None else "-")
    return env


def compile_templates() -> None:
    """Load (and compile) every template now rather than on its first page."""
    environment = _environment()
    for name in environment.list_templates(extensions=["html"]):
        environment.get_template(name)


def render(template: str, code: int = 200, headers: dict[str, str] | None = None, **context: Any) -> HTMLResponse:
    """The page `template` with `context`, answered with HTTP status `code`."""
    html = _environment().get_template(template).render(**context)
    return HTMLResponse(html, status_code=code, headers=headers)


_TITLES = {400: "Bad request", 404: "Not found", 405: "Method not allowed", 503: "Unavailable",
           500: "Something went wrong"}


def error_page(status: int, message: str, headers: dict[str, str] | None = None) -> HTMLResponse:
    """A page for an HTTP error on the dashboard: its status, the message, the way home."""
    return render("error.html", status, headers, title=_TITLES.get(status, f"Error {status}"), status=status,
                  message=message, active="", served=None)
