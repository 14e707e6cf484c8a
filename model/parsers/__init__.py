"""Model output parsers: raw model text → :class:`Parsed` (thought + actions in screenshot px).

Each format knows its coordinate convention and the input mode its model expects, so the
loop can build the right :class:`~agent.core.coords.Frame` (:func:`convention_for`,
:func:`mode_for`). Coordinates are converted only by :mod:`agent.core.coords`.

Malformed output raises exactly one :class:`~agent.core.errors.ParseError` naming the format and
the offending fragment — never a guessed action, never an internal exception.
"""

from __future__ import annotations

from typing import Any

from agent.core.actions import action_points
from agent.core.coords import Convention, Frame, Mode, check_on_screen
from agent.core.errors import ConfigError, CoordinateError, ParseError
from model.parsers.common import (
    INTERNAL_ERRORS,
    MAX_ACTIONS,
    MAX_TEXT_CHARS,
    Ctx,
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
    | {"swipe", "key", "wait", "navigate", "back", "home", "open_app"}
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
    "FORMATS",
    "MAX_TEXT_CHARS",
    "FormatSpec",
    "Parsed",
    "convention_for",
    "frame_options",
    "mode_for",
    "parse",
    "spec_for",
]

FORMATS: dict[str, FormatSpec] = {
    spec.name: spec
    for spec in (
        FormatSpec(
            "json",
            "screen",
            "pad",
            parse_json,
            "the action schema as JSON, points in screenshot px",
            offers=OFFERS["json"],
            not_offered=NOT_OFFERED["json"],
        ),
        FormatSpec(
            "qwen-vl",
            "norm1000",
            "pad",
            parse_qwen_vl,
            "<ref>…</ref><box>(x1,y1),(x2,y2)</box>, 0–1000",
            offers=OFFERS["qwen-vl"],
            not_offered=NOT_OFFERED["qwen-vl"],
        ),
        FormatSpec(
            "qwen2-vl",
            "norm1000",
            "pad",
            parse_qwen2_vl,
            "<|object_ref_start|>…<|box_start|>(x1,y1),(x2,y2)<|box_end|>, 0–1000",
            offers=OFFERS["qwen2-vl"],
            not_offered=NOT_OFFERED["qwen2-vl"],
        ),
        FormatSpec(
            "qwen2.5-vl",
            "abs",
            "pad",
            parse_qwen25,
            "bbox_2d/point_2d JSON or <tool_call> computer_use/mobile_use, input px",
            offers=OFFERS["qwen2.5-vl"],
            not_offered=NOT_OFFERED["qwen2.5-vl"],
        ),
        FormatSpec(
            "qwen3-vl",
            "norm1000",
            "pad",
            parse_qwen25,
            "computer_use tool calls (JSON or Qwen3.5 XML), bbox_2d/point_2d, 0–1000",
            factor=32,
            offers=OFFERS["qwen3-vl"],
            not_offered=NOT_OFFERED["qwen3-vl"],
        ),
        FormatSpec(
            "qwen3-vl-mobile",
            "norm999",
            "pad",
            parse_qwen25,
            "mobile_use tool calls as Qwen3-VL's mobile cookbook, 0–999",
            factor=32,
            offers=OFFERS["qwen3-vl-mobile"],
            not_offered=NOT_OFFERED["qwen3-vl-mobile"],
        ),
        FormatSpec(
            "ui-tars",
            "norm1000",
            "pad",
            parse_uitars,
            "UI-TARS v1: Thought/Action calls, 0–1000",
            min_pixels=UITARS_MIN_PIXELS,
            offers=OFFERS["ui-tars"],
            not_offered=NOT_OFFERED["ui-tars"],
        ),
        FormatSpec(
            "ui-tars-1.5",
            "abs",
            "resize",
            parse_uitars,
            "UI-TARS-1.5: Thought/Action calls, px of the smart-resized input",
            min_pixels=UITARS_MIN_PIXELS,
            offers=OFFERS["ui-tars-1.5"],
            not_offered=NOT_OFFERED["ui-tars-1.5"],
        ),
    )
}


def spec_for(format: str) -> FormatSpec:
    """The format's spec; an unknown name is a ConfigError listing the known ones."""
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
    return out


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
    ctx = Ctx(format, frame.with_convention(convention or spec.convention))
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
