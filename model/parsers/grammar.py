"""Constrained-decoding grammars: the JSON Schemas a server's sampler (vLLM
``structured_outputs``: xgrammar / guidance) is held to, one per dialect that has one
(:attr:`model.parsers.Dialect.grammar`; ``None`` where a grammar cannot be written as JSON).

For ``json`` it is the action schema (``agent schema``) narrowed so that any text it admits
parses: ``type`` required and first, points and boxes whole screenshot pixels on the screen,
strings bounded, key names well-formed. For the cookbook tool-call dialects it is the schema of
the ``computer_use`` / ``mobile_use`` call (the JSON inside ``<tool_call>``, which the parser
accepts bare), coordinates on the screen in the dialect's own space.
"""

from __future__ import annotations

import copy
from typing import Any

from agent.core.actions import action_schema
from agent.core.coords import Frame, screen_to_model

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


def bbox_schema(frame: Frame) -> dict[str, Any]:
    """A grounding answer, ``{"bbox_2d": [x1, y1, x2, y2]}`` (Qwen2.5-VL's cookbook answer
    without its free-text ``label``: a sampled label can hold text the reader stumbles on, and
    the description already names the element), its box on the screen in model-input px."""
    w, h = _model_limits(frame)
    box = {"type": "array", "prefixItems": [_axis(w), _axis(h), _axis(w), _axis(h)],
           "items": False, "minItems": 4, "maxItems": 4}  # fmt: skip
    return {
        "type": "object",
        "properties": {"bbox_2d": box},
        "required": ["bbox_2d"],
        "additionalProperties": False,
    }


PLANNER_POINTER = ("click", "double_click", "right_click", "hover")
PLANNER_TARGET = 80  # characters of a planner's element description


def planner_schema(labels: list[str] | None = None) -> dict[str, Any]:
    """A constrained planner's answer (:mod:`model.planner`): one action of our JSON with a
    ``target`` description and no coordinates. With ``labels`` (the OCR lines a text-only
    planner is shown) a target is one of them, quoted, so every pointer answer can ground."""
    target: dict[str, Any] = {"type": "string", "minLength": 1, "maxLength": PLANNER_TARGET}
    if labels:
        target = {"enum": sorted({'"' + t.replace('"', "'") + '"' for t in labels})}
    text = {"type": "string", "minLength": 1, "maxLength": 64}

    def one(kind: dict[str, Any], required: list[str], **props: Any) -> dict[str, Any]:
        return {"type": "object", "properties": {"type": kind, **props},
                "required": ["type", *required], "additionalProperties": False}  # fmt: skip

    return {
        "anyOf": [
            one({"enum": list(PLANNER_POINTER)}, ["target"], target=target),
            one({"const": "type"}, ["text", "target"], text=text, target=target),
            one({"const": "key"}, ["keys"], keys=dict(KEYS)),
            one(
                {"const": "scroll"},
                ["direction"],
                direction={"enum": ["up", "down", "left", "right"]},
            ),
            one({"const": "wait"}, [], seconds={"type": "integer", "minimum": 0, "maximum": 5}),
            one(
                {"const": "finish"},
                ["status"],
                status={"enum": ["success", "failure"]},
                answer={"type": "string", "maxLength": 120},
            ),
        ]
    }


def point_schema(frame: Frame) -> dict[str, Any]:
    """A pointing answer, ``{"point_2d": [x, y]}`` (Qwen3-VL's cookbook answer without its
    label), on the screen in the dialect's space (0–1000)."""
    w, h = _model_limits(frame)
    xy = {"type": "array", "prefixItems": [_axis(w), _axis(h)], "items": False,
          "minItems": 2, "maxItems": 2}  # fmt: skip
    return {
        "type": "object",
        "properties": {"point_2d": xy},
        "required": ["point_2d"],
        "additionalProperties": False,
    }


def json_grammar(frame: Frame, mobile: bool = False) -> dict[str, Any]:
    return screen_action_schema(frame)


def tool_call_grammar(frame: Frame, mobile: bool = False) -> dict[str, Any]:
    return qwen25_call_schema(frame, mobile=mobile)
