"""Whether a chat template is valid Jinja, without rendering it.

The engines render templates in a sandbox (engines/template_env.py); this only parses,
with the same syntax (loop controls, transformers' `{% generation %}` tag), so that the
importer and `doctor` refuse a template that can never render with the very message the
engine gives when it loads the model.
"""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, TemplateError, nodes
from jinja2.ext import Extension, loopcontrols

from assistant.errors import ChatTemplateError

OVERRIDE_HINT = "Set a chat template override for this model in its settings."


class GenerationTag(Extension):
    """`{% generation %}…{% endgeneration %}`: transformers marks the assistant's tokens
    with it (for training masks); rendering is unchanged by it."""

    tags = {"generation"}

    def parse(self, parser: Any) -> nodes.Node:
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
        return nodes.CallBlock(self.call_method("_render", []), [], [], body).set_lineno(lineno)

    def _render(self, caller: Any) -> str:
        return str(caller())


def invalid(exc: TemplateError | SyntaxError) -> ChatTemplateError:
    if isinstance(exc, TemplateError):
        return ChatTemplateError(f"The model's chat template is not valid Jinja ({exc}).", OVERRIDE_HINT)
    # Jinja's compiler let it through to Python, which refused it (`{% break %}` outside a loop)
    return ChatTemplateError(f"The model's chat template is not valid Jinja ({exc.msg}).", OVERRIDE_HINT)


def check_syntax(source: str) -> None:
    """Raise ChatTemplateError when `source` does not compile as a chat template (nothing runs)."""
    env = Environment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols, GenerationTag])
    try:
        env.compile(source)
    except (TemplateError, SyntaxError) as exc:
        raise invalid(exc) from exc
    except RecursionError as exc:  # thousands of nested blocks
        raise ChatTemplateError("The model's chat template is nested too deeply to read.", OVERRIDE_HINT) from exc
