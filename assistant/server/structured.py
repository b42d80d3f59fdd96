"""Structured output: a request's JSON format as the GBNF grammar the engine holds the
answer to (`GenParams.grammar`, llama.cpp's grammar sampler: engines/llamacpp_sampling.py).

- OpenAI `response_format`: {"type": "text"} (free text), {"type": "json_object"} (any
  JSON object), {"type": "json_schema", "json_schema": {"name", "schema", "strict"}}.
- Anthropic `output_config.format`: {"type": "json_schema", "schema": {...}}.

A schema becomes a grammar with llama.cpp's own converter (as shipped in llama-cpp-python,
`llama_cpp.llama_grammar`), so every answer that ends with "stop" parses and validates.
The converter does not hold every JSON Schema keyword (`minimum`, `multipleOf`, `not`...):
a schema that uses one is refused with a 400 naming the keyword and where it is, never
turned into a grammar that would let through what the schema forbids. `oneOf` is held
as `anyOf` (an answer matching both is let through), as llama-server does.

Only llama.cpp models (GGUF) hold a grammar: for others the request is refused (400).
"""

from __future__ import annotations

import json
from typing import Any

from assistant.core.json_grammar import strict_json_chars
from assistant.core.types import ModelRef
from assistant.server.protocol import BadRequest

# what the converter turns into grammar; annotations that change nothing are allowed too
_HELD = {"type", "properties", "required", "additionalProperties", "items", "prefixItems", "minItems", "maxItems",
         "enum", "const", "anyOf", "oneOf", "allOf", "$ref", "$defs", "definitions", "pattern", "format",
         "minLength", "maxLength"}
_NOTES = {"title", "description", "default", "examples", "$schema", "$id", "$comment", "deprecated", "readOnly",
          "writeOnly", "strict", "name"}
_FORMATS = {"date", "time", "date-time", "uuid", "uuid1", "uuid2", "uuid3", "uuid4", "uuid5"}
_TYPES = {"object", "array", "string", "number", "integer", "boolean", "null"}


def _check(schema: Any, where: str, field: str) -> None:
    """Refuse what the grammar could not hold, naming it and its place in the schema."""
    if isinstance(schema, bool):
        if schema is False:
            raise BadRequest(f"{field}: the schema at {where} is false (nothing can match it).",
                             "Use a schema that some JSON value matches.")
        return
    if not isinstance(schema, dict):
        raise BadRequest(f"{field}: the schema at {where} must be a JSON object.", "Fix the schema.")
    for key in schema:
        if key not in _HELD and key not in _NOTES:
            raise BadRequest(
                f"{field}: the JSON Schema keyword “{key}” (at {where}) is not supported for structured output here.",
                f"Leave “{key}” out of the schema. Supported: {', '.join(sorted(_HELD - {'$defs', 'definitions'}))}.")
    types = schema.get("type")
    for t in types if isinstance(types, list) else [types] if types is not None else []:
        if t not in _TYPES:
            raise BadRequest(f"{field}: “{t}” (at {where}.type) is not a JSON Schema type.",
                             f"Use one of: {', '.join(sorted(_TYPES))}.")
    fmt = schema.get("format")
    if fmt is not None and fmt not in _FORMATS:
        raise BadRequest(f"{field}: the string format “{fmt}” (at {where}) is not supported for structured output here.",
                         f"Leave “format” out, or use one of: {', '.join(sorted(_FORMATS))}.")
    ref = schema.get("$ref")
    if ref is not None and not (isinstance(ref, str) and ref.startswith("#")):
        raise BadRequest(f"{field}: “$ref” {ref!r} (at {where}) points outside the schema.",
                         "Put the definition under $defs and point to it with \"#/$defs/NAME\".")
    for key in ("properties", "$defs", "definitions"):
        for name, sub in (schema.get(key) or {}).items():
            _check(sub, f"{where}.{key}.{name}", field)
    for key in ("anyOf", "oneOf", "allOf", "prefixItems"):
        for i, sub in enumerate(schema.get(key) or []):
            _check(sub, f"{where}.{key}[{i}]", field)
    for key in ("items", "additionalProperties"):
        sub = schema.get(key)
        if isinstance(sub, list):
            for i, s in enumerate(sub):
                _check(s, f"{where}.{key}[{i}]", field)
        elif sub is not None and sub is not True and sub is not False:
            _check(sub, f"{where}.{key}", field)


def schema_grammar(schema: Any, field: str) -> str:
    """The GBNF grammar of the JSON values that `schema` allows; a BadRequest naming `field`
    when the schema is not one this server can hold."""
    from llama_cpp.llama_grammar import json_schema_to_gbnf  # the converter of llama.cpp

    try:
        _check(schema, "the schema's root", field)
        return strict_json_chars(str(json_schema_to_gbnf(json.dumps(schema))))
    except (AssertionError, AttributeError, ValueError, KeyError, TypeError, RecursionError, NotImplementedError) as exc:
        raise BadRequest(f"{field}: the JSON schema could not be turned into a grammar ({exc}).",
                         "Simplify the schema (plain types, properties, required, enum, items).") from None


def json_object_grammar() -> str:
    """Any JSON object (response_format json_object): llama.cpp's JSON grammar, its root an
    object with no whitespace after it (an answer then ends at its closing brace)."""
    from llama_cpp.llama_grammar import JSON_GBNF

    rules = str(JSON_GBNF).replace("root   ::= object", "")
    return ('root ::= "{" ws ( string ":" ws value ("," ws string ":" ws value)* )? "}"\n' + rules)


def openai_grammar(response_format: dict[str, Any] | None) -> str | None:
    """The grammar for an OpenAI `response_format`; None for free text."""
    field = "response_format"
    if response_format is None:
        return None
    kind = response_format.get("type")
    extra = set(response_format) - {"type", "json_schema"}
    if extra:
        raise BadRequest(f"{field}: unknown field “{sorted(extra)[0]}”.", "Send type, and json_schema with json_schema.")
    if kind == "text":
        return None
    if kind == "json_object":
        return json_object_grammar()
    if kind == "json_schema":
        spec = response_format.get("json_schema")
        if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
            raise BadRequest(f"{field}: json_schema needs a name and a schema.",
                             "Send {\"type\": \"json_schema\", \"json_schema\": {\"name\": ..., \"schema\": {...}}}.")
        unknown = set(spec) - {"name", "schema", "strict", "description"}
        if unknown:
            raise BadRequest(f"{field}.json_schema: unknown field “{sorted(unknown)[0]}”.",
                             "Send name, schema, strict and description only.")
        return schema_grammar(spec.get("schema", {}), f"{field}.json_schema.schema")
    raise BadRequest(f"{field}: type “{kind}” is not supported.", "Use text, json_object or json_schema.")


def anthropic_grammar(output_config: dict[str, Any] | None) -> str | None:
    """The grammar for an Anthropic `output_config` ({"format": {"type": "json_schema",
    "schema": {...}}}); None when it asks for no format."""
    if not output_config:
        return None
    unknown = set(output_config) - {"format"}
    if unknown:
        name = sorted(unknown)[0]
        raise BadRequest(f"output_config: “{name}” is not supported by this server.", f"Leave output_config.{name} out.")
    fmt = output_config.get("format")
    if fmt is None:
        return None
    if not isinstance(fmt, dict) or fmt.get("type") != "json_schema" or set(fmt) - {"type", "schema"}:
        raise BadRequest("output_config.format must be {\"type\": \"json_schema\", \"schema\": {...}}.",
                         "Send the schema that way, or leave output_config out.")
    if "schema" not in fmt:
        raise BadRequest("output_config.format.schema is required.", "Add the JSON schema of the answer.")
    return schema_grammar(fmt["schema"], "output_config.format.schema")


def check_engine(model: ModelRef, grammar: str | None, field: str) -> None:
    """Only llama.cpp holds an answer to a grammar: any other model is refused, never answered in prose."""
    if grammar is not None and model.format != "gguf":
        kind = {"mlx": "an MLX model", "remote": "a model on another server"}.get(model.format, model.format)
        raise BadRequest(f"{field}: structured output needs a GGUF model (llama.cpp); “{model.display_name}” is {kind}.",
                         f"Ask a GGUF model, or leave {field} out.")
