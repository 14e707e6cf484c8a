"""A small tokenizer for Python-call-like actions: ``name(key='value', key2="v", k=3)``.

UI-TARS writes its actions this way. Model text is untrusted, so instead of ``eval`` or
``ast`` this scanner reads one character at a time (linear, no recursion, no regex
backtracking) and accepts only keyword arguments whose values are strings or bare tokens.

Strings follow UI-TARS's escaping (``\\'``, ``\\"``, ``\\n``, ``\\t``, ``\\\\``); other
backslashes stay literal. Models often forget to escape an apostrophe, so a quote only ends a
string when it is followed by ``,`` or ``)`` (or the end of the line): ``'it's'`` reads
as ``it's``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from agent.core.errors import ParseError

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ESCAPES = {"n": "\n", "t": "\t", "'": "'", '"': '"', "\\": "\\"}
_SPACE = " \t\r\n"
_BETWEEN_CALLS = _SPACE + ";"


@dataclass
class Call:
    name: str
    args: dict[str, str]
    fragment: str  # the source text of this call, for error messages


Fail = Callable[[str, str], ParseError]


class _Scanner:
    def __init__(self, src: str, fail: Fail) -> None:
        self.src = src
        self.n = len(src)
        self.i = 0
        self.call_start = 0
        self.fail = fail

    def skip(self, chars: str = _SPACE) -> None:
        while self.i < self.n and self.src[self.i] in chars:
            self.i += 1

    def peek(self) -> str:
        return self.src[self.i] if self.i < self.n else ""

    def here(self, width: int = 60) -> str:
        """The current call up to a little past the scan position, for error messages."""
        start = max(self.call_start, self.i - 2 * width)
        return self.src[start : self.i + width].strip() or "<end of text>"

    def ident(self, what: str) -> str:
        m = _IDENT.match(self.src, self.i)
        if not m:
            raise self.fail(self.here(), f"expected {what}")
        self.i = m.end()
        return m.group(0)

    def expect(self, ch: str) -> None:
        self.skip()
        if self.peek() != ch:
            raise self.fail(self.here(), f"expected {ch!r}")
        self.i += 1

    def string(self) -> str:
        quote = self.src[self.i]
        start = self.i
        self.i += 1
        out: list[str] = []
        while self.i < self.n:
            c = self.src[self.i]
            if c == "\\" and self.i + 1 < self.n:
                nxt = self.src[self.i + 1]
                out.append(_ESCAPES.get(nxt, "\\" + nxt))
                self.i += 2
                continue
            if c == quote and self._closes():
                self.i += 1
                return "".join(out)
            out.append(c)
            self.i += 1
        raise self.fail(self.src[start : start + 80], "unterminated string")

    def _closes(self) -> bool:
        """A quote closes the string only where an argument can end."""
        j = self.i + 1
        while j < self.n and self.src[j] in " \t":
            j += 1
        return j >= self.n or self.src[j] in ",)\r\n"

    def bare(self) -> str:
        """An unquoted value: a token, or a bracketed coordinate like ``(x,y)``."""
        start = self.i
        closer = {"(": ")", "[": "]"}.get(self.peek())
        if closer is not None:
            end = self.src.find(closer, self.i, self.i + 200)
            if end < 0:
                raise self.fail(self.here(), f"unclosed {self.peek()!r}")
            self.i = end + 1
            return self.src[start : self.i]
        while self.i < self.n and self.src[self.i] not in ",)\n":
            self.i += 1
        value = self.src[start : self.i].strip()
        if not value:
            raise self.fail(self.here(), "expected a value")
        return value

    def value(self) -> str:
        self.skip()
        return self.string() if self.peek() in ("'", '"') else self.bare()

    def call(self) -> Call:
        start = self.call_start = self.i
        name = self.ident("an action name like click(...)")
        self.expect("(")
        args: dict[str, str] = {}
        while True:
            self.skip()
            if self.peek() == ")":
                self.i += 1
                break
            key = self.ident("a keyword argument (key='value')")
            self.expect("=")
            if key in args:
                raise self.fail(self.src[start : self.i], f"argument {key!r} given twice")
            args[key] = self.value()
            self.skip()
            if self.peek() == ",":
                self.i += 1
            elif self.peek() != ")":
                raise self.fail(self.here(), "expected ',' or ')' after an argument")
        return Call(name, args, self.src[start : self.i])


def parse_calls(src: str, fail: Fail) -> list[Call]:
    """Every call in ``src``, separated by whitespace, newlines or ``;``."""
    sc = _Scanner(src, fail)
    calls: list[Call] = []
    while True:
        sc.skip(_BETWEEN_CALLS)
        if sc.i >= sc.n:
            return calls
        calls.append(sc.call())
