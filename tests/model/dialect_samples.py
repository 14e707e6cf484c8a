"""Samples of any dialect, written by the dialect's own renderer: valid outputs, an edge
template (its click's first two numbers as ``{x}``/``{y}``) and the syntax pieces of its text.

The property and hostile-output tests use hand-written samples for the base dialects and these
for every other one, so a dialect added later is attacked the day it lands."""

from __future__ import annotations

import re

from agent.core.actions import Action, Click, Scroll, Type
from agent.core.coords import Frame
from agent.export.render import UnsupportedAction, render
from model.parsers import convention_for, frame_options, mode_for

# the dialects whose tests keep hand-written samples; every other one gets these helpers'
BASE = ("json", "qwen-vl", "qwen2-vl", "qwen2.5-vl", "qwen3-vl", "qwen3-vl-mobile", "ui-tars")
BASE += ("ui-tars-1.5",)
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_PIECE = re.compile(r"[A-Za-z_]+|[^\sA-Za-z_0-9]")


def sample_frame(fmt: str, w: int = 1280, h: int = 800) -> Frame:
    return Frame.for_screen(
        w, h, mode=mode_for(fmt), convention=convention_for(fmt), **frame_options(fmt)
    )


def valid_outputs(fmt: str) -> list[str]:
    """A click, a typed text at a point and a scroll, as the model would write them (those the
    dialect can say)."""
    frame = sample_frame(fmt)
    out = []
    cases: list[list[Action]] = [
        [Click(point=(123.0, 77.0))],
        [Type(text="hi", point=(50.0, 60.0))],
        [Scroll(direction="down", point=(640.0, 400.0))],
    ]
    for actions in cases:
        try:
            out.append(render(actions, frame, fmt))
        except UnsupportedAction:
            continue
    return out


def edge_template(fmt: str) -> str:
    """The dialect's click with its first two numbers as ``{x}`` and ``{y}`` (str.format)."""
    text = valid_outputs(fmt)[0].replace("{", "{{").replace("}", "}}")
    a, b = list(_NUMBER.finditer(text))[:2]
    return text[: a.start()] + "{x}" + text[a.end() : b.start()] + "{y}" + text[b.end() :]


def syntax_pieces(fmt: str) -> list[str]:
    """The words and punctuation of the dialect's valid outputs (token soup)."""
    pieces: list[str] = []
    for text in valid_outputs(fmt):
        for p in _PIECE.findall(text):
            if p not in pieces:
                pieces.append(p)
    return pieces
