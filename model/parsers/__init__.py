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
        ),
        FormatSpec(
            "qwen-vl",
            "norm1000",
            "pad",
            parse_qwen_vl,
            "<ref>…</ref><box>(x1,y1),(x2,y2)</box>, 0–1000",
        ),
        FormatSpec(
            "qwen2-vl",
            "norm1000",
            "pad",
            parse_qwen2_vl,
            "<|object_ref_start|>…<|box_start|>(x1,y1),(x2,y2)<|box_end|>, 0–1000",
        ),
        FormatSpec(
            "qwen2.5-vl",
            "abs",
            "pad",
            parse_qwen25,
            "bbox_2d/point_2d JSON or <tool_call> computer_use/mobile_use, input px",
        ),
        FormatSpec(
            "qwen3-vl",
            "norm1000",
            "pad",
            parse_qwen25,
            "computer_use tool calls (JSON or Qwen3.5 XML), bbox_2d/point_2d, 0–1000",
            factor=32,
        ),
        FormatSpec(
            "qwen3-vl-mobile",
            "norm999",
            "pad",
            parse_qwen25,
            "mobile_use tool calls as Qwen3-VL's mobile cookbook, 0–999",
            factor=32,
        ),
        FormatSpec(
            "ui-tars",
            "norm1000",
            "pad",
            parse_uitars,
            "UI-TARS v1: Thought/Action calls, 0–1000",
            min_pixels=UITARS_MIN_PIXELS,
        ),
        FormatSpec(
            "ui-tars-1.5",
            "abs",
            "resize",
            parse_uitars,
            "UI-TARS-1.5: Thought/Action calls, px of the smart-resized input",
            min_pixels=UITARS_MIN_PIXELS,
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
