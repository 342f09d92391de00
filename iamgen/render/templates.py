"""Loading the Jinja2 templates: shipped in ``iamgen.templates``, each one
overridable by a file of the same name in a user's ``--templates DIR``."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Any

import jinja2

from ..errors import UsageError
from .escape import comment_text, hcl_string, yaml_key, yaml_string

TEMPLATE_PACKAGE = "iamgen.templates"


def _as_list(value: Any) -> list[Any]:
    """A policy element's value as a list (IAM allows a bare string for one)."""
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _packaged_source(name: str) -> str | None:
    resource = files(TEMPLATE_PACKAGE).joinpath(name)
    if not resource.is_file():
        return None
    return resource.read_text(encoding="utf-8")


def template_environment(templates_dir: Path | None = None) -> jinja2.Environment:
    """A Jinja2 environment over the shipped templates and, first, ``templates_dir``.

    Undefined variables are errors, nothing is HTML-escaped, and the filters
    ``hcl``, ``yaml``, ``yaml_key``, ``comment`` and ``as_list`` quote values for the output.
    """
    loaders: list[jinja2.BaseLoader] = []
    if templates_dir is not None:
        if not templates_dir.is_dir():
            raise UsageError(f"--templates {templates_dir}: not a directory")
        loaders.append(jinja2.FileSystemLoader(str(templates_dir), encoding="utf-8"))
    loaders.append(jinja2.FunctionLoader(_packaged_source))
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        hcl=hcl_string, yaml=yaml_string, yaml_key=yaml_key, comment=comment_text, as_list=_as_list
    )
    return env


def render_template(env: jinja2.Environment, name: str, context: dict[str, Any]) -> str:
    """Render template ``name``; a missing or broken template is a UsageError,
    and so is one of the user's (``--templates``) that fails while rendering
    (a shipped one that fails is a bug, and raises as one)."""
    template = None
    try:
        template = env.get_template(name)
        text = template.render(context)
    except jinja2.TemplateNotFound:
        raise UsageError(f"template {name} not found") from None
    except jinja2.TemplateSyntaxError as exc:
        where = exc.filename or name
        raise UsageError(f"template {where} line {exc.lineno}: {exc.message}") from None
    except jinja2.TemplateError as exc:
        raise UsageError(f"template {name}: {exc}") from None
    except UnicodeDecodeError:
        raise UsageError(f"template {name}: not UTF-8 text") from None
    except (ArithmeticError, LookupError, TypeError, ValueError, AttributeError,
            RecursionError) as exc:
        if template is None or template.filename is None:  # a shipped one: a bug
            raise
        raise UsageError(f"template {template.filename} failed: "
                         f"{type(exc).__name__}: {exc}") from None
    return text.rstrip("\n") + "\n"
