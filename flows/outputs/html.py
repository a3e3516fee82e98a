"""HTML pages from Jinja2 templates: the one module that imports jinja2.

The templates live in ``templates/`` next to this module (shipped as package data).
Autoescaping is on for every template, whatever its name, and undefined names are
errors (:class:`jinja2.StrictUndefined`): a template receives plain data (strings,
numbers, lists, dataclasses) and escapes all of it; nothing is marked safe.
"""

from __future__ import annotations

from functools import lru_cache

from jinja2 import Environment, PackageLoader, StrictUndefined

TEMPLATE_PACKAGE = "nianbao.flows.outputs"
TEMPLATE_FOLDER = "templates"


@lru_cache(maxsize=1)
def environment() -> Environment:
    """The single environment, built on first use."""
    return Environment(
        loader=PackageLoader(TEMPLATE_PACKAGE, TEMPLATE_FOLDER),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )


def render(template_name: str, **context) -> str:
    """The template ``templates/<template_name>`` rendered with ``context``, every value escaped."""
    return environment().get_template(template_name).render(**context)


def template_names() -> list[str]:
    """Every template of the folder, macros and bases included."""
    return sorted(environment().list_templates())
