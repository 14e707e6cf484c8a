"""The env spec: JSON settings that rebuild an env, recorded once in episode.json and read
back from older recordings (``env.kwargs`` as ``str()`` values, or ``env.spec``)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from agent.core.env import EnvSpec
from agent.core.errors import ConfigError
from agent.episode.runner import recorded_spec, run
from envs.registry import make_env


def test_spec_is_json_and_normalised() -> None:
    a = EnvSpec("browser", {"viewport": (900, 640), "dsf": 1.5, "site": None})
    assert a == EnvSpec("browser", {"viewport": [900, 640], "dsf": 1.5, "site": None})
    assert EnvSpec.from_json(json.loads(json.dumps(a.to_json()))) == a
    with pytest.raises(ConfigError, match="when"):
        EnvSpec("browser", {"when": object()})
    with pytest.raises(ConfigError, match="finite"):
        EnvSpec("browser", {"dsf": math.nan})
    with pytest.raises(ConfigError, match="non-empty"):
        EnvSpec("")


def test_recorded_spec_reads_every_recording_format() -> None:
    new = {"env": {"name": "browser", "spec": {"viewport": [700, 500], "site": "shop"}}}
    assert recorded_spec(new) == EnvSpec("browser", {"viewport": [700, 500], "site": "shop"})
    old = {"viewport": "(700, 500)", "dsf": "2.0", "headless": "True", "site": "shop"}
    old_str = {"env": {"name": "browser", "kwargs": old}}
    assert recorded_spec(old_str) == EnvSpec(
        "browser", {"viewport": [700, 500], "dsf": 2.0, "headless": True, "site": "shop"}
    )
    both = {"env": {"name": "miniwob", "kwargs": {"dsf": "1.0"}, "spec": {"dsf": 2.0}}}
    assert recorded_spec(both) == EnvSpec("miniwob", {"dsf": 2.0})  # spec wins
    assert recorded_spec({"env": {"name": "desktop"}}) == EnvSpec("desktop")
    assert recorded_spec({}) == EnvSpec("browser")


def test_make_env_names_a_setting_the_env_does_not_take() -> None:
    with pytest.raises(ConfigError, match=r"bad settings for the browser env.*monitor"):
        make_env(EnvSpec("browser", {"monitor": 1}))
    with pytest.raises(ConfigError, match="unknown env"):
        make_env(EnvSpec("nosuch"))


@pytest.mark.browser
def test_run_records_the_spec_once(tmp_path: Path) -> None:
    script = tmp_path / "s.json"
    finish = {"actions": [{"type": "finish", "status": "success", "answer": "ok"}]}
    script.write_text(json.dumps({"format": "json", "outputs": [json.dumps(finish)]}))
    ep = run("look", env="browser", model=f"scripted:{script}", out=tmp_path / "ep",
             site="shop", viewport=(640, 480), no_gate=True)  # fmt: skip
    env = ep.meta["env"]
    assert set(env) == {"name", "spec", "url"}
    assert env["spec"]["viewport"] == [640, 480] and env["spec"]["site"] == "shop"
    with make_env(recorded_spec(ep.meta)) as again:
        assert again.spec() == EnvSpec("browser", env["spec"])
