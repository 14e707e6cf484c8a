"""Every spelling of a secret that a browser, a server or a serialiser can write, as a regex.

A secret is matched character by character, and each character may be written in any of the
forms below — mixed freely, in either hex case — so no list of whole-value encodings can
miss one (Chromium leaves ``{ } ^ |`` raw in a query but escapes them in a path, a form
post writes a space as ``+``, a server's JSON writes ``\\u007b``, an HTML page ``&#123;``):

* the character itself;
* percent-encoding of each of its UTF-8 bytes (``%7B`` / ``%7b``), also encoded again
  (``%257B``, up to 3 more times), ``+`` for a space (form encoding) and ``%s`` (what
  Android's ``input text`` types as one);
* JSON / JavaScript escapes: ``\\u007B`` (a surrogate pair above U+FFFF), ``\\u{7B}``,
  ``\\x7B`` (below U+0100), ``\\"`` ``\\\\`` ``\\/`` and the short control escapes — each
  with up to 8 backslashes (a value escaped again; bounded, so that a page's run of
  backslashes costs linear time, not quadratic);
* HTML character references: ``&#123;`` ``&#x7b;`` (leading zeros, no ``;``) and the
  named ones for ``& < > " '`` and the no-break space.

:func:`cut_end_pattern` matches what a cut leaves: a prefix of at least ``CUT_PREFIX``
characters (same forms, the last one possibly half-written: ``%7``) before a cut mark,
``…`` (agent.core.errors.cut) or ``...``. Unmarked ends are left alone: a field holding
``demo`` is not the password ``demo123`` cut short.
"""

from __future__ import annotations

import re

CUT_PREFIX = 4  # characters of a secret that a cut may not leave behind

_NAMED = {"&": "amp", "<": "lt", ">": "gt", '"': "quot", "'": "apos", "\xa0": "nbsp"}
_SHORT = {'"': '"', "\\": "\\", "/": "/", "\n": "n", "\r": "r", "\t": "t", "\b": "b", "\f": "f"}
_BS = r"\\{1,8}"  # escaped once, twice, … (bounded: a run of backslashes stays linear)
_PARTIAL = (  # an escape the cut left half-written
    r"(?:%(?:25){0,3}[0-9a-fA-F]?|\\{1,8}(?:u[0-9a-fA-F]{0,3}|x[0-9a-fA-F]?)?|&#?[xX]?[0-9a-fA-F]{0,7})?"
)
_CUT = r"(?=\.\.\.|…)"


def _hex(digits: str) -> str:
    """``digits`` as a regex that accepts either case."""
    return "".join(f"[{d.lower()}{d.upper()}]" if d.isalpha() else d for d in digits)


def _dec_or_hex_ref(code: int) -> str:
    return f"&#(?:0{{0,8}}{code}|[xX]0{{0,8}}{_hex(f'{code:x}')});?"


def char_forms(ch: str) -> str:
    """A regex group matching one character in every spelling named above."""
    code = ord(ch)
    forms = [re.escape(ch)]
    utf8 = ch.encode("utf-8", "surrogatepass")
    forms.append("".join(f"%(?:25){{0,3}}{_hex(f'{b:02x}')}" for b in utf8))
    if ch == " ":
        forms += [r"\+", "%s"]  # form encoding; Android's ``input text``
    if code <= 0xFFFF:
        forms.append(_BS + "u" + _hex(f"{code:04x}"))
    else:
        hi, lo = 0xD800 + ((code - 0x10000) >> 10), 0xDC00 + ((code - 0x10000) & 0x3FF)
        forms.append(_BS + "u" + _hex(f"{hi:04x}") + _BS + "u" + _hex(f"{lo:04x}"))
    forms.append(_BS + r"u\{0{0,8}" + _hex(f"{code:x}") + r"\}")
    if code < 0x100:
        forms.append(_BS + "x" + _hex(f"{code:02x}"))
    if ch in _SHORT:
        forms.append(_BS + re.escape(_SHORT[ch]))
    forms.append(_dec_or_hex_ref(code))
    if ch in _NAMED:
        forms.append(f"&{_NAMED[ch]};?")
    return "(?:" + "|".join(forms) + ")"


def value_pattern(value: str) -> re.Pattern[str]:
    """The whole value, each character in any of its spellings."""
    return re.compile("".join(char_forms(c) for c in value))


def cut_end_pattern(value: str) -> re.Pattern[str] | None:
    """A prefix of ``value`` (≥ ``CUT_PREFIX`` characters) left where a string was cut;
    None for a value too short to have one that is not the whole value."""
    if len(value) <= CUT_PREFIX:
        return None
    parts = [char_forms(c) for c in value[:-1]]  # the whole value is the other pattern's
    tail = ""
    for p in reversed(parts[CUT_PREFIX:]):
        tail = f"(?:{p}{tail})?"
    return re.compile("".join(parts[:CUT_PREFIX]) + tail + _PARTIAL + _CUT)
