"""Loading the Jinja2 templates: shipped in ``iamgen.templates``, each one
overridable by a file of the same name in a user's ``--templates DIR``."""

from __future__ import annotations

import os
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


class _UserTemplates(jinja2.FileSystemLoader):
    """The user's ``--templates DIR``: a template missing there falls back to
    the shipped one; one there that cannot be read (a folder, a link to
    nothing, no permission) is a UsageError, never a silent fallback."""

    def __init__(self, folder: Path) -> None:
        super().__init__(str(folder), encoding="utf-8")
        self._folder = folder

    def get_source(self, environment: jinja2.Environment,
                   template: str) -> tuple[str, str | None, Any]:
        path = self._folder.joinpath(*template.split("/"))
        if os.path.lexists(path) and not path.is_file():
            raise UsageError(f"template {path}: not a file")
        try:
            return super().get_source(environment, template)
        except jinja2.TemplateNotFound:  # (an OSError too): the shipped one is used
            raise
        except OSError as exc:
            raise UsageError(f"template {path}: cannot read ({exc.strerror or exc})") from None


def template_environment(templates_dir: Path | None = None) -> jinja2.Environment:
    """A Jinja2 environment over the shipped templates and, first, ``templates_dir``.

    Undefined variables are errors, nothing is HTML-escaped, and the filters
    ``hcl``, ``yaml``, ``yaml_key``, ``comment`` and ``as_list`` quote values for the output.
    """
    loaders: list[jinja2.BaseLoader] = []
    if templates_dir is not None:
        if not templates_dir.is_dir():
            raise UsageError(f"--templates {templates_dir}: not a directory")
        loaders.append(_UserTemplates(templates_dir))
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
    except jinja2.TemplateNotFound as exc:  # this one, or one it includes
        missing = exc.name if isinstance(exc.name, str) else name
        raise UsageError(f"template {missing} not found"
                         + (f" (included by {name})" if missing != name else "")) from None
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
