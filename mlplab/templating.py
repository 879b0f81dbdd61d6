"""HTML pages written to disk (class report, similarity report): Jinja2 templates with autoescape.

Every value a template prints is HTML-escaped unless the template marks it safe, so student text (names,
code, error messages) can never become markup. A package's templates live in its ``templates/`` folder
(package data in pyproject.toml).
"""

from __future__ import annotations

from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined


@cache
def environment(package: str) -> Environment:
    """The template environment of ``package`` (e.g. ``"mlplab.course"``): autoescape on, undefined names fail."""
    return Environment(
        loader=PackageLoader(package, "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render(package: str, name: str, **context: object) -> str:
    """Render ``templates/<name>`` of ``package`` with ``context``."""
    return environment(package).get_template(name).render(**context)
