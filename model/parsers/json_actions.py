"""Plain JSON of the action schema (``agent schema``), points in screenshot px.

Accepted shapes: one action object, a list of them, ``{"thought": …, "action": {…}}`` or
``{"thought": …, "actions": [...]}``; bare or in a ```json fence, with optional prose
before it (taken as the thought).
"""

from __future__ import annotations

import json
from typing import Any

from agent.core.actions import Action, parse_action
from agent.core.coords import model_box_to_screen
from agent.core.errors import CoordinateError
from model.parsers.common import Ctx, Parsed, find_json, guard, strip_or_none

_WRAPPER_KEYS = frozenset({"thought", "action", "actions"})


def convert_points(action: Action, ctx: Ctx, fragment: str) -> Action:
    """Map every point/box of an action from the frame's convention to screenshot px (the
    identity for 'screen') and check it is on screen."""
    update: dict[str, Any] = {}
    for name in ("point", "start", "end"):
        p = getattr(action, name, None)
        if p is not None:
            update[name] = ctx.point(p[0], p[1], fragment)
    box = getattr(action, "box", None)
    if box is not None:
        update["box"] = ctx.box(box[0], box[1], box[2], box[3], fragment)
    region = getattr(action, "region", None)
    if region is not None:  # a zoom: mapped, not refused here (the loop names an empty one)
        try:
            update["region"] = model_box_to_screen(ctx.frame, *region)
        except CoordinateError as err:
            raise ctx.fail(fragment, f"bad region: {err}") from err
    return action.model_copy(update=update) if update else action


def parse_json(text: str, ctx: Ctx) -> Parsed:
    found = find_json(text)
    if found is None:
        raise ctx.fail(text, "no JSON action object found")
    value, start, _end = found
    thought: str | None = None
    items: Any
    wrapped = isinstance(value, dict) and "type" not in value
    if wrapped and ("action" in value or "actions" in value):
        extra = set(value) - _WRAPPER_KEYS
        if extra:
            raise ctx.fail(text[start:_end], f"unexpected keys {sorted(extra)}")
        t = value.get("thought")
        if t is not None and not isinstance(t, str):
            raise ctx.fail(text[start:_end], "'thought' must be a string")
        thought = strip_or_none(t)
        items = value.get("action", value.get("actions"))
        if isinstance(items, dict):
            items = [items]
    elif isinstance(value, dict):
        items = [value]
    else:
        items = value
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise ctx.fail(text[start:_end], "expected an action object or a list of them")
    actions: list[Action] = []
    for item in items:
        fragment = json.dumps(item)[:200]
        with guard(ctx, fragment):
            actions.append(convert_points(parse_action(item), ctx, fragment))
    if thought is None:
        thought = strip_or_none(text[:start].replace("```json", "").replace("```", ""))
    return Parsed(thought, actions)
