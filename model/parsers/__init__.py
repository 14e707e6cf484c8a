"""Model output parsers: raw model text → :class:`Parsed` (thought + actions in screenshot px).

Each format knows its coordinate convention and the input mode its model expects, so the
loop can build the right :class:`~agent.core.coords.Frame` (:func:`convention_for`,
:func:`mode_for`). Coordinates are converted only by :mod:`agent.core.coords`.

Malformed output raises exactly one :class:`~agent.core.errors.ParseError` naming the format and
the offending fragment — never a guessed action, never an internal exception.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from agent.core.actions import OBSERVE_TYPES, action_points
from agent.core.coords import Convention, CoordSpec, Frame, Mode, check_on_screen
from agent.core.errors import ConfigError, CoordinateError, ParseError
from model.parsers import (
    complete,
    gelab,
    grammar,
    holo,
    maiui,
    owl,
    points,
    pyautogui,
    render,
    venus,
)
from model.parsers.common import (
    INTERNAL_ERRORS,
    MAX_ACTIONS,
    MAX_TEXT_CHARS,
    Ctx,
    Dialect,
    FormatSpec,
    Parsed,
    clean,
    one_line,
)
from model.parsers.grounding import parse_qwen2_vl, parse_qwen_vl
from model.parsers.json_actions import parse_json
from model.parsers.qwen25 import parse_qwen25
from model.parsers.uitars import parse_uitars

UITARS_MIN_PIXELS = 100 * 28 * 28  # ui-tars action_parser.MIN_PIXELS: its smart_resize floor

# What each format's prompts offer (the union over its action spaces: computer, mobile,
# grounding) and what they declare left out — both written out, read from the official prompt
# texts and tools (model/prompts/official) and templates.JSON_ACTIONS, so a new action type is
# in neither until someone decides (tests/agent/core/test_action_union.py names the gap). A
# type a parser also accepts but no prompt names is not offered.
_CLICKS = frozenset({"click", "double_click", "right_click", "middle_click"})
_GROUNDING = _CLICKS | {"hover", "long_press", "type", "scroll", "drag"}
_NOT_GROUNDING = {"swipe", "key", "wait", "navigate", "back", "home", "open_app", "finish"}
_QWEN_COMPUTER = _CLICKS | {"hover", "drag", "key", "type", "scroll", "wait", "finish"}
_QWEN25_MOBILE = {"click", "long_press", "swipe", "type", "key", "back", "home", "open_app"}
_QWEN3_MOBILE = {"click", "long_press", "swipe", "type", "key", "back", "home", "wait", "finish"}
_UITARS = {"click", "double_click", "right_click", "drag", "key", "type", "scroll", "wait"}
_UITARS |= {"finish", "long_press", "home", "back"}
OFFERS: dict[str, frozenset[str]] = {
    "json": _GROUNDING
    | {"swipe", "key", "wait", "navigate", "back", "home", "open_app", "zoom"}
    | {"finish", "call_user"},
    "qwen-vl": _GROUNDING,  # the verbs of templates._GROUNDING_VERBS
    "qwen2-vl": _GROUNDING,
    "qwen2.5-vl": _QWEN_COMPUTER | _QWEN25_MOBILE,
    "qwen3-vl": _QWEN_COMPUTER,  # computer_use (its mobile space is qwen3-vl-mobile)
    "qwen3-vl-mobile": frozenset(_QWEN3_MOBILE),
    "ui-tars": frozenset(_UITARS | {"call_user", "swipe"}),  # v1 mobile: scroll(start, end)
    "ui-tars-1.5": frozenset(_UITARS | {"open_app"}),
}
NOT_OFFERED: dict[str, frozenset[str]] = {
    "json": frozenset(),
    "qwen-vl": frozenset(_NOT_GROUNDING | {"call_user"}),
    "qwen2-vl": frozenset(_NOT_GROUNDING | {"call_user"}),
    "qwen2.5-vl": frozenset({"navigate", "call_user"}),
    "qwen3-vl": frozenset({"long_press", "swipe", "navigate", "back", "home", "open_app"})
    | {"call_user"},
    "qwen3-vl-mobile": frozenset({"double_click", "right_click", "middle_click", "hover"})
    | {"drag", "scroll", "navigate", "open_app", "call_user"},
    "ui-tars": frozenset({"middle_click", "hover", "navigate", "open_app"}),
    "ui-tars-1.5": frozenset({"middle_click", "hover", "swipe", "navigate", "call_user"}),
}

__all__ = [
    "DIALECTS",
    "FORMATS",
    "MAX_TEXT_CHARS",
    "Dialect",
    "FormatSpec",
    "Parsed",
    "convention_for",
    "frame_options",
    "mode_for",
    "parse",
    "spec_for",
]

_LOSSY_TAGS = frozenset({"amount", "clear", "duration"})
_LOSSY_CALLS = frozenset({"box", "target", "clear", "duration"})
_LOSSY_UITARS = frozenset({"amount", "box", "target", "clear", "seconds"})
_Q3 = 32  # Qwen3-VL / Qwen3.5 grid: 16-px patches merged 2×2

FORMATS: dict[str, Dialect] = {
    d.name: d
    for d in (
        Dialect(
            "json", CoordSpec(space="screen"), parse_json, render.render_json,
            complete.json_complete, "the action schema as JSON, points in screenshot px",
            grammar=grammar.json_grammar, whole_type=True,
        ),
        Dialect(
            "qwen-vl", CoordSpec(space="norm1000"), parse_qwen_vl,
            render.grounding_renderer("qwen-vl"), complete.grounding_completer("</box>"),
            "<ref>…</ref><box>(x1,y1),(x2,y2)</box>, 0–1000",
            lossy=_LOSSY_TAGS, whole_type=True,
        ),
        Dialect(
            "qwen2-vl", CoordSpec(space="norm1000"), parse_qwen2_vl,
            render.grounding_renderer("qwen2-vl"), complete.grounding_completer("<|box_end|>"),
            "<|object_ref_start|>…<|box_start|>(x1,y1),(x2,y2)<|box_end|>, 0–1000",
            lossy=_LOSSY_TAGS, whole_type=True,
        ),
        Dialect(
            "qwen2.5-vl", CoordSpec(space="abs"), parse_qwen25,
            render.tool_call_renderer("qwen2.5-vl"), complete.tool_call_complete,
            "bbox_2d/point_2d JSON or <tool_call> computer_use/mobile_use, input px",
            stop=("</tool_call>",), grammar=grammar.tool_call_grammar, lossy=_LOSSY_CALLS,
            grounding_grammar=grammar.bbox_schema,
        ),
        Dialect(
            "qwen3-vl", CoordSpec(space="norm1000", factor=_Q3), parse_qwen25,
            render.tool_call_renderer("qwen3-vl"), complete.tool_call_complete,
            "computer_use tool calls (JSON or Qwen3.5 XML), bbox_2d/point_2d, 0–1000",
            stop=("</tool_call>",), lossy=_LOSSY_CALLS, grounding_grammar=grammar.point_schema,
        ),
        Dialect(
            "qwen3-vl-mobile", CoordSpec(space="norm999", factor=_Q3), parse_qwen25,
            render.tool_call_renderer("qwen3-vl-mobile", "mobile"), complete.tool_call_complete,
            "mobile_use tool calls as Qwen3-VL's mobile cookbook, 0–999",
            stop=("</tool_call>",), lossy=_LOSSY_CALLS,
        ),
        Dialect(
            "ui-tars", CoordSpec(space="norm1000", min_pixels=UITARS_MIN_PIXELS), parse_uitars,
            render.uitars_renderer("ui-tars", v1=True), complete.uitars_complete,
            "UI-TARS v1: Thought/Action calls, 0–1000", lossy=_LOSSY_UITARS,
        ),
        Dialect(
            "ui-tars-1.5",
            CoordSpec(space="abs", mode="resize", min_pixels=UITARS_MIN_PIXELS), parse_uitars,
            render.uitars_renderer("ui-tars-1.5", v1=False), complete.uitars_complete,
            "UI-TARS-1.5: Thought/Action calls, px of the smart-resized input",
            lossy=_LOSSY_UITARS,
        ),
    )
}  # fmt: skip
# what each dialect's prompts offer and declare left out (see OFFERS): set once, here
FORMATS = {
    n: dataclasses.replace(d, offers=OFFERS[n], not_offered=NOT_OFFERED[n])
    for n, d in FORMATS.items()
}
# the GUI fine-tunes' dialects, one module per grammar group
for _group in (owl, maiui, venus, pyautogui, holo, gelab, points):
    FORMATS.update({d.name: d for d in _group.DIALECTS})
# Our own observation actions (``zoom``): only the ``json`` dialect's prompt and schema offer
# them (Anthropic's tool serves its zoom inside the backend); no fine-tune's official prompt
# has one, so every other dialect declares them not offered — decided here, once.
FORMATS = {
    n: d
    if d.offers >= OBSERVE_TYPES
    else dataclasses.replace(d, not_offered=d.not_offered | (OBSERVE_TYPES - d.offers))
    for n, d in FORMATS.items()
}
DIALECTS = FORMATS


def spec_for(format: str) -> Dialect:
    """The format's dialect; an unknown name is a ConfigError listing the known ones."""
    try:
        return FORMATS[format]
    except (KeyError, TypeError):
        raise ConfigError(
            f"unknown output format {format!r}; known: {', '.join(FORMATS)}"
        ) from None


def convention_for(format: str) -> Convention:
    """The coordinate convention the format's model writes."""
    return spec_for(format).convention


def mode_for(format: str) -> Mode:
    """How screenshots become model input for this format ('pad' or 'resize')."""
    return spec_for(format).mode


def frame_options(
    format: str, *, factor: int | None = None, min_pixels: int | None = None
) -> dict[str, Any]:
    """``Frame.for_screen`` keywords the format's models need (grid, resize floor); a model
    that knows better (its checkpoint's processor) passes its own values."""
    spec = spec_for(format)
    out: dict[str, Any] = {"factor": factor or spec.factor}
    if (min_pixels or spec.min_pixels) is not None:
        out["min_pixels"] = min_pixels or spec.min_pixels
    if spec.coords.divisor is not None:
        out["divisor"] = spec.coords.divisor
    return out


def _read_as(frame: Frame, spec: Dialect, convention: Convention | None) -> Frame:
    """The frame in the dialect's space (or a model's own ``convention``)."""
    if convention is not None and convention != spec.convention:
        return frame.with_convention(convention)
    return frame.with_convention(spec.convention, spec.coords.divisor)


def parse(format: str, text: str, frame: Frame, *, convention: Convention | None = None) -> Parsed:
    """Parse one model turn. Points come back in screenshot px, each checked on screen.

    ``frame`` is re-labelled with the format's convention (or ``convention``, for a model
    that overrides it), so callers may pass a Frame built for any convention.
    """
    spec = spec_for(format)
    if not isinstance(text, str):
        raise ParseError(format, repr(text), "model output is not text")
    if len(text) > MAX_TEXT_CHARS:
        raise ParseError(
            format, text[:200], f"output has {len(text)} chars, over the {MAX_TEXT_CHARS} limit"
        )
    body = clean(text)
    if not body.strip():
        raise ParseError(format, text, "empty output")
    ctx = Ctx(format, _read_as(frame, spec, convention))
    try:
        parsed = spec.parse(body, ctx)
    except ParseError:
        raise
    except CoordinateError as err:
        raise ctx.fail(body, f"bad coordinates: {err}") from err
    except INTERNAL_ERRORS as err:
        raise ctx.fail(body, f"malformed output ({type(err).__name__}: {one_line(err)})") from err
    if not parsed.actions:
        raise ctx.fail(body, "no action found")
    if len(parsed.actions) > MAX_ACTIONS:
        raise ctx.fail(body, f"{len(parsed.actions)} actions in one turn, over {MAX_ACTIONS}")
    for action in parsed.actions:  # defence in depth: every parser already checked
        for x, y in action_points(action):
            try:
                check_on_screen(ctx.frame, x, y)
            except CoordinateError as err:
                raise ctx.fail(body, f"bad coordinates: {err}") from err
    return parsed
