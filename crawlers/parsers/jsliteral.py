"""A reader for the JavaScript object literals of WTO data files (``news_item[2118] = { ni_head:"..." };``).

Not JSON: keys are unquoted, strings may use single quotes and escapes, there may be comments and trailing
commas. Only literals are read (objects, arrays, strings, numbers, true/false/null/undefined); anything else
raises :class:`ParseError` with the position.

>>> read_value('{ a:"x", b:[1, 2,], }', 0)
({'a': 'x', 'b': [1, 2]}, 21)
"""

from __future__ import annotations

import re
from typing import Any

from crawlers.errors import ParseError

MAX_DEPTH = 50
_NUMBER = re.compile(r"-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_IDENT = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")
_WORDS: dict[str, Any] = {"true": True, "false": False, "null": None, "undefined": None}
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v", "0": "\0"}


def read_value(text: str, pos: int) -> tuple[Any, int]:
    """Read one literal at ``pos`` (whitespace and comments skipped); return it and the end offset."""
    return _Reader(text).value(pos, 0)


class _Reader:
    def __init__(self, text: str) -> None:
        self.text = text
        self.n = len(text)

    def fail(self, pos: int, what: str) -> ParseError:
        line = self.text.count("\n", 0, pos) + 1
        near = self.text[pos : pos + 20]
        return ParseError(f"{what} at line {line} (offset {pos}, near {near!r})")

    def skip(self, pos: int) -> int:
        t, n = self.text, self.n
        while pos < n:
            c = t[pos]
            if c.isspace():
                pos += 1
            elif t.startswith("//", pos):
                end = t.find("\n", pos)
                pos = n if end < 0 else end + 1
            elif t.startswith("/*", pos):
                end = t.find("*/", pos + 2)
                if end < 0:
                    raise self.fail(pos, "unclosed comment")
                pos = end + 2
            else:
                break
        return pos

    def value(self, pos: int, depth: int) -> tuple[Any, int]:
        if depth > MAX_DEPTH:
            raise self.fail(pos, f"nesting deeper than {MAX_DEPTH}")
        pos = self.skip(pos)
        if pos >= self.n:
            raise self.fail(pos, "unexpected end of data")
        c = self.text[pos]
        if c == "{":
            return self.obj(pos + 1, depth + 1)
        if c == "[":
            return self.arr(pos + 1, depth + 1)
        if c in "\"'":
            return self.string(pos)
        m = _NUMBER.match(self.text, pos)
        if m:
            raw = m[0]
            try:
                return (float(raw) if any(ch in raw for ch in ".eE") else int(raw)), m.end()
            except ValueError as exc:
                raise self.fail(pos, f"bad number {raw!r}") from exc
        m = _IDENT.match(self.text, pos)
        if m and m[0] in _WORDS:
            return _WORDS[m[0]], m.end()
        raise self.fail(pos, "expected a value")

    def obj(self, pos: int, depth: int) -> tuple[dict[str, Any], int]:
        out: dict[str, Any] = {}
        while True:
            pos = self.skip(pos)
            if pos >= self.n:
                raise self.fail(pos, "unclosed object")
            c = self.text[pos]
            if c == "}":
                return out, pos + 1
            if c in "\"'":
                key, pos = self.string(pos)
            else:
                m = _IDENT.match(self.text, pos) or re.compile(r"\d+").match(self.text, pos)
                if not m:
                    raise self.fail(pos, "expected a key")
                key, pos = m[0], m.end()
            pos = self.skip(pos)
            if pos >= self.n or self.text[pos] != ":":
                raise self.fail(pos, "expected ':' after a key")
            out[key], pos = self.value(pos + 1, depth)
            pos = self.skip(pos)
            if pos < self.n and self.text[pos] == ",":
                pos += 1
            elif pos < self.n and self.text[pos] == "}":
                continue
            else:
                raise self.fail(pos, "expected ',' or '}'")

    def arr(self, pos: int, depth: int) -> tuple[list[Any], int]:
        out: list[Any] = []
        while True:
            pos = self.skip(pos)
            if pos >= self.n:
                raise self.fail(pos, "unclosed array")
            if self.text[pos] == "]":
                return out, pos + 1
            item, pos = self.value(pos, depth)
            out.append(item)
            pos = self.skip(pos)
            if pos < self.n and self.text[pos] == ",":
                pos += 1
            elif pos < self.n and self.text[pos] == "]":
                continue
            else:
                raise self.fail(pos, "expected ',' or ']'")

    def string(self, pos: int) -> tuple[str, int]:
        quote = self.text[pos]
        t, n = self.text, self.n
        out: list[str] = []
        i = pos + 1
        while i < n:
            c = t[i]
            if c == quote:
                return "".join(out), i + 1
            if c == "\n":
                raise self.fail(i, "line break inside a string")
            if c != "\\":
                out.append(c)
                i += 1
                continue
            if i + 1 >= n:
                break
            e = t[i + 1]
            if e in _ESCAPES:
                out.append(_ESCAPES[e])
                i += 2
            elif e in "ux":
                width = 4 if e == "u" else 2
                digits = t[i + 2 : i + 2 + width]
                if len(digits) != width or not all(ch in "0123456789abcdefABCDEF" for ch in digits):
                    raise self.fail(i, f"bad \\{e} escape")
                out.append(chr(int(digits, 16)))
                i += 2 + width
            elif e == "\n":
                i += 2  # a backslash-newline continues the string
            else:
                out.append(e)
                i += 2
        raise self.fail(pos, "unclosed string")
