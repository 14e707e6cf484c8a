"""Text for a terminal: what the model or a page wrote is shown, never obeyed.

A model's answer, a page title or an error message may hold terminal escape sequences
(``\\x1b]0;…``, cursor moves, a fake prompt after ``\\r``) or strings that are not valid
UTF-8 (a lone surrogate). :func:`for_terminal` writes control characters as visible escapes
(``\\x1b``), keeps tabs and newlines, and escapes what cannot be encoded.
"""

from __future__ import annotations

import unicodedata

# Bidirectional overrides and isolates reorder what a terminal shows ("Trojan Source").
BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def for_terminal(text: str, *, newlines: bool = True) -> str:
    out: list[str] = []
    for ch in text:
        if ch == "\t" or (ch == "\n" and newlines):
            out.append(ch)
        elif unicodedata.category(ch) in ("Cc", "Cs") or ch in BIDI or ch in "\u2028\u2029":
            out.append(ch.encode("unicode_escape").decode("ascii"))
        else:
            out.append(ch)
    return "".join(out)
