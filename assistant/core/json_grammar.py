"""A correction to the GBNF that llama-cpp-python's JSON Schema converter writes.

Its `char` rule (`[^"\\] | "\\" (...)`) lets a raw control character (a line break, a tab)
into a JSON string, which JSON forbids: a model held to such a grammar can write an answer
that does not parse (seen: `"name": " Sea of \"<newline>    \""`). llama.cpp's own converter
(common/json-schema-to-grammar.cpp) has the strict rule; this puts it in place."""

from __future__ import annotations

import re

# llama.cpp's: no `"`, no backslash, no control character (U+0000-U+001F, U+007F) unescaped
STRICT_CHAR = r'char ::= [^"\\\x7F\x00-\x1F] | [\\] (["\\/bfnrt] | "u" [0-9a-fA-F]{4})'
_CHAR_RULE = re.compile(r"^char ::= .*$", re.M)


def strict_json_chars(grammar: str) -> str:
    """The grammar with the converter's `char` rule replaced by the strict one."""
    return _CHAR_RULE.sub(lambda _m: STRICT_CHAR, grammar)
