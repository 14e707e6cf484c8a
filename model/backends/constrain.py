"""Constrained actions: the structured-output request that makes a server's sampler emit only
text the parser accepts (vLLM ``structured_outputs``; its xgrammar / guidance backends).

For the ``json`` format the constraint is the JSON Schema of actions (``agent schema``),
narrowed so that any text it admits parses: ``type`` required and first, points and boxes
whole screenshot pixels on the screen, strings bounded, key names well-formed. For
``qwen2.5-vl`` it is the schema of the cookbook's ``computer_use`` / ``mobile_use`` call (the
JSON inside ``<tool_call>``, which the parser accepts bare), coordinates on the screen in
model-input pixels. A user schema (``action_schema``, a dict or a JSON file) replaces either,
e.g. to allow only clicks inside a region.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from agent.core.actions import action_schema
from agent.core.coords import Frame, screen_to_model
from agent.core.errors import ConfigError

CONSTRAINED_FORMATS = frozenset({"json", "qwen2.5-vl"})
MAX_STRING = 256  # characters of any free text (typed text, targets, questions)
# key names joined by "+"; bounded by the pattern itself, as xgrammar refuses a pattern with
# a length bound
KEYS = {"type": "string", "pattern": "^[a-z0-9]{1,12}(\\+[a-z0-9]{1,12}){0,3}$"}


def _axis(limit: int) -> dict[str, Any]:
    return {"type": "integer", "minimum": 0, "maximum": max(0, limit - 1)}


def _points(prop: dict[str, Any], w: int, h: int) -> dict[str, Any]:
    """A Point / Box schema (prefixItems of numbers) as on-screen integers."""
    if "anyOf" in prop:  # Optional[...]
        return {**prop, "anyOf": [_points(p, w, h) for p in prop["anyOf"]]}
    items = prop.get("prefixItems")
    if prop.get("type") != "array" or not items:
        return prop
    axes = [_axis(w) if i % 2 == 0 else _axis(h) for i in range(len(items))]
    return {**prop, "prefixItems": axes, "items": False}


def _strings(prop: dict[str, Any]) -> dict[str, Any]:
    if "anyOf" in prop:
        return {**prop, "anyOf": [_strings(p) for p in prop["anyOf"]]}
    if prop.get("type") == "string" and "const" not in prop and "enum" not in prop:
        return {**prop, "maxLength": prop.get("maxLength", MAX_STRING)}
    return prop


def screen_action_schema(frame: Frame) -> dict[str, Any]:
    """The action schema for one screen: every admitted text is an action the ``json``
    parser accepts with its points on the screenshot."""
    schema = copy.deepcopy(action_schema())
    w, h = frame.screen_w, frame.screen_h
    for d in schema.get("$defs", {}).values():
        props = d.get("properties")
        if not isinstance(props, dict) or "type" not in props:
            continue
        ordered = {"type": props["type"]}
        for name, prop in props.items():
            if name != "type":
                ordered[name] = _strings(_points(prop, w, h))
        if "keys" in ordered:  # "ctrl+a": names the parser can normalise, never empty
            ordered["keys"] = dict(KEYS)
        d["properties"] = ordered
        d["required"] = ["type", *[r for r in d.get("required", []) if r != "type"]]
    schema.pop("discriminator", None)  # the oneOf of objects with const types is enough
    return schema


def _model_limits(frame: Frame) -> tuple[int, int]:
    """Exclusive bounds of the whole model coordinates that are still on the screen."""
    x, y = screen_to_model(frame, frame.screen_w - 1, frame.screen_h - 1)
    return int(x) + 1, int(y) + 1


def _call(name: str, actions: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """``{"name": NAME, "arguments": {"action": A, ...}}`` for each action A (an argument
    named ``?x`` is optional)."""
    options = []
    for action, args in actions.items():
        props = {"action": {"const": action}, **{k.lstrip("?"): v for k, v in args.items()}}
        required = ["action", *[k for k in args if not k.startswith("?")]]
        options.append(
            {"type": "object", "properties": props, "required": required,
             "additionalProperties": False}
        )  # fmt: skip
    return {
        "type": "object",
        "properties": {"name": {"const": name}, "arguments": {"anyOf": options}},
        "required": ["name", "arguments"],
        "additionalProperties": False,
    }


def qwen25_call_schema(frame: Frame, *, mobile: bool = False) -> dict[str, Any]:
    """The Qwen2.5-VL cookbook's tool call; every admitted call is one the parser takes."""
    w, h = _model_limits(frame)
    xy = {"type": "array", "prefixItems": [_axis(w), _axis(h)], "items": False,
          "minItems": 2, "maxItems": 2}  # fmt: skip
    text = {"type": "string", "minLength": 1, "maxLength": MAX_STRING}
    status = {"enum": ["success", "failure"]}
    secs = {"type": "integer", "minimum": 0, "maximum": 60}
    if mobile:
        return _call(
            "mobile_use",
            {
                "click": {"coordinate": xy},
                "long_press": {"coordinate": xy, "?time": secs},
                "swipe": {"coordinate": xy, "coordinate2": xy},
                "type": {"text": text},
                "key": {"text": KEYS},
                "system_button": {"button": {"enum": ["Back", "Home", "Menu", "Enter"]}},
                "open": {"text": text},
                "wait": {"?time": secs},
                "terminate": {"status": status},
            },
        )
    pointer = ("left_click", "right_click", "middle_click", "double_click", "mouse_move")
    return _call(
        "computer_use",
        {
            **{a: {"coordinate": xy} for a in pointer},
            "left_click_drag": {"start_coordinate": xy, "coordinate": xy},
            "key": {"keys": {"type": "array", "items": KEYS, "minItems": 1, "maxItems": 4}},
            "type": {"text": text},
            "scroll": {"pixels": {"enum": [-500, -300, -100, 100, 300, 500]}},
            "wait": {"?time": secs},
            "terminate": {"status": status},
        },
    )


def load_schema(value: str | dict[str, Any] | None) -> dict[str, Any] | None:
    """A user's action schema: a dict, a JSON string, or the path of a JSON file."""
    if value is None or isinstance(value, dict):
        return value
    text = value
    if not value.lstrip().startswith("{"):
        path = Path(value).expanduser()
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as err:
            raise ConfigError(
                f"action_schema: cannot read {path} ({err}); give a JSON Schema file or object"
            ) from err
    try:
        schema = json.loads(text)
    except ValueError as err:
        raise ConfigError(f"action_schema is not valid JSON: {err}") from err
    if not isinstance(schema, dict):
        raise ConfigError("action_schema must be a JSON object (a JSON Schema)")
    return schema


def structured_outputs(
    fmt: str, frame: Frame, schema: dict[str, Any] | None = None, *, mobile: bool = False
) -> dict[str, Any]:
    """vLLM's ``structured_outputs`` field for one request in format ``fmt``."""
    if fmt not in CONSTRAINED_FORMATS:
        raise ConfigError(
            f"constrained output is available for the formats {sorted(CONSTRAINED_FORMATS)}, "
            f'not {fmt!r}: set format = "json" or turn constrained off'
        )
    if schema is None:
        schema = (
            screen_action_schema(frame)
            if fmt == "json"
            else qwen25_call_schema(frame, mobile=mobile)
        )
    return {
        "json": schema,
        # no free whitespace, so a confused model cannot pad an answer forever; vLLM 0.32
        # reads this from the server (--structured-outputs-config), newer ones per request
        "disable_any_whitespace": True,
    }


def region_click_schema(x0: int, y0: int, x1: int, y1: int) -> dict[str, Any]:
    """A schema admitting only ``{"type":"click","point":[x,y]}`` inside a screenshot-px
    rectangle (edges included): for tests, demos and tasks that confine where to click."""
    if x1 < x0 or y1 < y0:
        raise ConfigError(f"region ({x0},{y0})-({x1},{y1}) is empty")
    return {
        "type": "object",
        "properties": {
            "type": {"const": "click"},
            "point": {
                "type": "array",
                "prefixItems": [
                    {"type": "integer", "minimum": int(x0), "maximum": int(x1)},
                    {"type": "integer", "minimum": int(y0), "maximum": int(y1)},
                ],
                "items": False,
                "minItems": 2,
                "maxItems": 2,
            },
        },
        "required": ["type", "point"],
        "additionalProperties": False,
    }
