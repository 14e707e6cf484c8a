"""The scripted grounder (a fake: recorded answers) and its file checks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from agent.core.errors import ConfigError
from agent.core.observation import Observation
from model.grounders.base import Grounded, GroundingFailure
from model.grounders.registry import load_grounder
from model.grounders.scripted import ScriptedGrounder

OBS = Observation(array=np.zeros((200, 300, 3), dtype=np.uint8))


def write(tmp_path: Path, data: Any) -> str:
    path = tmp_path / "grounder.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return f"scripted:{path}"


def test_answers_are_consumed_in_order_then_fail(tmp_path: Path) -> None:
    spec = write(tmp_path, [{"point": [10, 20]}, {"box": [100, 40, 140, 60]}, {"fail": "gone"}])
    g = load_grounder(spec)
    assert isinstance(g, ScriptedGrounder)
    a = g.ground(OBS, "first")
    b = g.ground(OBS, "second", region=(50.0, 0.0, 300.0, 200.0))
    c = g.ground(OBS, "third")
    d = g.ground(OBS, "fourth")
    assert isinstance(a, Grounded) and a.point == (10.0, 20.0) and a.box is None
    assert isinstance(b, Grounded) and b.point == (120.0, 50.0) and b.box == (100, 40, 140, 60)
    assert b.crop == (50.0, 0.0, 300.0, 200.0) and b.description == "second"
    assert isinstance(c, GroundingFailure) and c.reason == "gone"
    assert isinstance(d, GroundingFailure) and "exhausted" in d.reason
    assert [s[0] for s in g.seen] == ["first", "second", "third", "fourth"]
    assert a.to_json()["ok"] and not d.to_json()["ok"]


def test_a_mapping_answers_by_description(tmp_path: Path) -> None:
    g = load_grounder(write(tmp_path, {"Search": {"point": [5, 6]}, "Gone": {"fail": "no"}}))
    for _ in range(2):  # the same description answers the same way every time
        got = g.ground(OBS, "Search")
        assert isinstance(got, Grounded) and got.point == (5.0, 6.0)
    assert isinstance(g.ground(OBS, "Gone"), GroundingFailure)
    missing = g.ground(OBS, "Book")
    assert isinstance(missing, GroundingFailure) and "Book" in missing.reason


def test_a_point_off_the_screen_is_a_failure(tmp_path: Path) -> None:
    g = load_grounder(write(tmp_path, [{"point": [301, 10]}, {"point": [300, 200]}]))
    assert isinstance(g.ground(OBS, "x"), GroundingFailure)
    assert isinstance(g.ground(OBS, "x"), Grounded)  # the far edge itself is on it


@pytest.mark.parametrize(
    ("data", "says"),
    [
        ("{not json", "not valid JSON"),
        ('"a string"', "a list of answers"),
        ([{"point": [1]}], "2 finite numbers"),
        ([{"point": [1, True]}], "2 finite numbers"),
        ([{"box": [10, 10, 5, 20]}], "x2 ≥ x1"),
        ([{"point": [1, 2], "fail": "x"}], "one of point, box or fail"),
        ([{"point": [1, 2], "size": 3}], "unknown keys size"),
        ([{"fail": ""}], "non-empty reason"),
        ({"Search": [1, 2]}, "one of point, box or fail"),
    ],
)
def test_bad_files_are_config_errors(tmp_path: Path, data: Any, says: str) -> None:
    with pytest.raises(ConfigError, match=says):
        load_grounder(write(tmp_path, data))


def test_missing_file_and_settings_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_grounder(f"scripted:{tmp_path / 'nope.json'}")
    with pytest.raises(ConfigError, match="needs a file"):
        load_grounder("scripted:")
    with pytest.raises(ConfigError, match="no settings"):
        load_grounder(write(tmp_path, []), colour="red")
