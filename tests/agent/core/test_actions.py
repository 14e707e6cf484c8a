"""The action schema: a frozen discriminated union with a JSON Schema contract."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from agent.core.actions import (
    ACTION_TYPES,
    Click,
    Key,
    Type,
    action_schema,
    dump_action,
    normalize_keys,
    parse_action,
)


def test_every_type_round_trips_through_json() -> None:
    samples = {
        "click": {"point": [1, 2]},
        "double_click": {"point": [1, 2], "box": [0, 0, 3, 4]},
        "right_click": {"point": [1, 2]},
        "middle_click": {"point": [1, 2]},
        "hover": {"point": [1, 2]},
        "long_press": {"point": [1, 2], "duration": 2},
        "drag": {"start": [1, 2], "end": [3, 4]},
        "swipe": {"start": [1, 2], "end": [3, 4]},
        "type": {"text": "héllo", "clear": True, "enter": True},
        "key": {"keys": "Control+C"},
        "scroll": {"direction": "down", "amount": 3},
        "wait": {"seconds": 0.5},
        "navigate": {"url": "http://127.0.0.1/"},
        "back": {},
        "home": {},
        "open_app": {"name": "Settings"},
        "zoom": {"region": [0, 0, 30, 40], "scale": 2},
        "finish": {"status": "success", "answer": "42"},
        "call_user": {"question": "which one?"},
    }
    assert set(samples) == set(ACTION_TYPES)
    for t, fields in samples.items():
        a = parse_action({"type": t, **fields})
        assert a.type == t
        again = parse_action(json.dumps(dump_action(a)))
        assert again == a


def test_frozen_and_strict() -> None:
    c = Click(point=(1, 2))
    with pytest.raises(ValidationError):
        c.point = (3, 4)  # type: ignore[misc]
    with pytest.raises(ValidationError):
        parse_action({"type": "click", "point": [1, 2], "bogus": 1})
    with pytest.raises(ValidationError):
        parse_action({"type": "teleport"})
    with pytest.raises(ValidationError):
        parse_action({"type": "click", "point": [float("nan"), 1]})


def test_box_corners_ordered_and_keys_normalised() -> None:
    c = Click(point=(5, 5), box=(10, 10, 0, 0))
    assert c.box == (0, 0, 10, 10)
    assert Key(keys="Control + Shift + T").keys == "ctrl+shift+t"
    assert normalize_keys("Return") == "enter"
    assert Type(text="x").clear is False


def test_schema_is_a_discriminated_union() -> None:
    schema = action_schema()
    assert schema["discriminator"]["propertyName"] == "type"
    mapping = schema["discriminator"]["mapping"]
    assert set(mapping) == set(ACTION_TYPES)


def test_cli_schema_prints_json() -> None:
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-m", "agent.cli", "schema"], capture_output=True, text=True, check=True
    )
    assert json.loads(out.stdout)["discriminator"]["propertyName"] == "type"
