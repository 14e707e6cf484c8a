"""The pixel check: masking verified by reading the screenshot as it leaves, as a person would.

The DOM read (envs.browser.sinks) says where a page renders a value; a page can lie to it
(getters redefined on ``Node.prototype``, text moved by a CSS animation, ``::marker``, a
``text-shadow`` copy drawn outside the element's box). So when secrets are set, the image
masking is about to hand on — to the model and to the recorder — is OCR'd once more, and
every line that holds a **run** of a secret is painted over too.

The rule (one normal form for both sides, :func:`ocr_form`): Unicode NFKC, format characters
dropped, look-alike letters made ASCII and case folded as for target names
(agent.safety.names); all white space removed (OCR splits and joins words at will); and the
letters OCR confuses made one (``0``→``o``, ``1 i | !``→``l``, brackets ``{[`` → ``(`` and
``}]`` → ``)``). A line matches when its form contains ``RUN`` (4) consecutive characters of a
secret's form, or the whole form of a secret shorter than that. So a page showing ``word``
is masked for the secret ``password1``: choose secrets without dictionary words.

Only the text is checked that OCR can read: a run drawn below OCR's size or contrast (a few
px high, faint) is not found, and neither is one OCR misreads beyond the folds above.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from agent.core.observation import Box
from agent.safety.names import normalise_name

RUN = 4  # consecutive characters of a secret that a screenshot may not show
SCOPE = "pixel-check"  # the OCR engine's incremental base for these reads
_FOLD = str.maketrans({"0": "o", "1": "l", "i": "l", "|": "l", "!": "l",
                       "{": "(", "[": "(", "}": ")", "]": ")"})  # fmt: skip


def ocr_form(text: str) -> str:
    """The form in which a secret and a line of OCR are compared (see the module doc)."""
    return normalise_name(text).replace(" ", "").translate(_FOLD)


def runs(value: str, n: int = RUN) -> frozenset[str]:
    """The runs of ``value`` a screenshot may not show: every ``n`` consecutive characters of
    its normal form (the whole form when shorter)."""
    form = ocr_form(value)
    if len(form) <= n:
        return frozenset({form} if form else ())
    return frozenset(form[i : i + n] for i in range(len(form) - n + 1))


@dataclass(frozen=True)
class PixelHit:
    """A line of the screenshot that reads as (part of) a secret: its box and the secret's
    name (never the text read)."""

    box: Box
    secret: str


class RunMatcher:
    """The runs of a set of named secrets, matched against OCR lines."""

    def __init__(self, named: Iterable[tuple[str, str]], n: int = RUN) -> None:
        self.runs = [(name, runs(value, n)) for name, value in named]

    def secret_in(self, text: str) -> str | None:
        """The name of the first secret with a run in ``text``."""
        form = ocr_form(text)
        for name, rs in self.runs:
            if any(r in form for r in rs):
                return name
        return None

    def hits(self, lines: Iterable[tuple[str, Box]]) -> list[PixelHit]:
        out = []
        for text, box in lines:
            name = self.secret_in(text)
            if name is not None:
                out.append(PixelHit(box, name))
        return out
