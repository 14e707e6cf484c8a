"""One normal form for the names a policy matches, so a rule for "Delete" also stops a
button a page spells to slip past it: ``De\\u200blete`` (zero-width space), ``De\\u00adlete``
(soft hyphen), ``Dеlete`` (Cyrillic ``е``), ``Ｄｅｌｅｔｅ`` (full-width).

Applied to both sides of every match (the rule's phrase and the text read from the screen):
Unicode NFKC; invisible and format characters (category Cf: zero-width spaces and joiners,
soft hyphens, bidi controls) removed; every non-ASCII letter or digit that Unicode's
confusables list (via ``confusable-homoglyphs``, the UTS #39 data) gives an ASCII look-alike
replaced by it; case folded; runs of white space made one space.
"""

from __future__ import annotations

import functools
import re
import unicodedata

_SPACE = re.compile(r"\s+")


@functools.lru_cache(maxsize=1)
def _ascii_lookalikes() -> dict[str, str]:
    from confusable_homoglyphs.confusables import confusables_data

    table: dict[str, str] = {}
    for char, glyphs in confusables_data.items():
        if len(char) != 1 or char.isascii():
            continue
        for g in glyphs:
            c = g.get("c", "")
            if len(c) == 1 and c.isascii() and c.isalnum():
                table[char] = c
                break
    return table


def normalise_name(text: str) -> str:
    """The form in which a rule's phrase and a target's text are compared."""
    text = unicodedata.normalize("NFKC", text)
    text = "".join(c for c in text if unicodedata.category(c) != "Cf")
    table = _ascii_lookalikes()
    text = "".join(table.get(c, c) for c in text)
    return _SPACE.sub(" ", text.casefold()).strip()
