"""Every step line the writer puts on disk is scrubbed of the secrets (issue 15): the loop
and the session scrub their lines too, but the writer's own ``scrub`` is the promise its
other callers (and a resumed episode) rely on. The test reads the real steps.jsonl bytes
and looks for the value in every spelling a recording could hold: raw UTF-8, JSON-escaped
(ASCII or not), and each URL encoding a page or a browser uses."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from agent.episode.recording import EpisodeWriter, load_episode
from agent.episode.runner import run
from agent.safety.secrets import Secrets, encoded_forms
from board_env import BoardEnv
from model.scripted import ScriptedModel

VALUE = 'pä ss/w&rd"\\+x'  # non-ASCII, space, slash, ampersand, quote, backslash, plus


def _spellings(value: str) -> list[bytes]:
    forms = [
        value,
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
        *encoded_forms(value),
    ]
    return [f.encode("utf-8") for f in dict.fromkeys(forms)]


def _leaked(data: bytes) -> list[bytes]:
    return [f for f in _spellings(VALUE) if f in data]


def _step(i: int) -> dict[str, Any]:
    """A step line holding the value everywhere a real one can: the model's raw output,
    an action's text, a URL (both encodings), an error, a nested list, a dict key."""
    url = f"http://127.0.0.1/login?p={encoded_forms(VALUE)[0]}&q={encoded_forms(VALUE)[1]}"
    return {
        "index": i,
        "raw": f"I will type {VALUE} then " + json.dumps({"type": "type", "text": VALUE}),
        "observation": {"url": url, "title": f"Welcome {VALUE}"},
        "actions": [{"action": {"type": "type", "text": VALUE}, "error": f"rejected {VALUE}"}],
        "notes": [[VALUE, 1, None]],
        VALUE: "as a key",
    }


def test_the_writer_scrubs_every_step_line(tmp_path: Path) -> None:
    secrets = Secrets({"password": VALUE})
    writer = EpisodeWriter(tmp_path / "ep", {"task": {"goal": "log in"}}, scrub=secrets.scrub)
    for i in range(3):
        writer.write_step(_step(i))
    writer.finish({"status": "success"})
    data = (tmp_path / "ep" / "steps.jsonl").read_bytes()
    assert data.count(b"\n") == 3
    assert _leaked(data) == [] and secrets.leaks(data) == []
    steps = load_episode(tmp_path / "ep").steps
    assert [s["index"] for s in steps] == [0, 1, 2]
    assert steps[0]["actions"][0]["action"]["text"] == "{{secret:password}}"
    assert "{{secret:password}}" in steps[2]["observation"]["url"]


def test_a_reopened_writer_scrubs_the_lines_it_appends(tmp_path: Path) -> None:
    secrets = Secrets({"password": VALUE})
    first = EpisodeWriter(tmp_path / "ep", {"task": {"goal": "x"}}, scrub=secrets.scrub)
    first.write_step(_step(0))
    first.finish({"status": "failure"})
    again = EpisodeWriter.reopen(tmp_path / "ep", scrub=secrets.scrub)
    again.write_step(_step(1))
    again.finish({"status": "success"})
    data = (tmp_path / "ep" / "steps.jsonl").read_bytes()
    assert data.count(b"\n") == 2 and _leaked(data) == []


def test_the_control_without_scrub_the_value_is_on_disk(tmp_path: Path) -> None:
    """The check can see a leak: the same lines written without a scrub hold every form."""
    writer = EpisodeWriter(tmp_path / "ep", {"task": {"goal": "x"}})
    writer.write_step(_step(0))
    writer.finish({"status": "success"})
    data = (tmp_path / "ep" / "steps.jsonl").read_bytes()
    assert VALUE.encode() not in data  # the JSON line escapes the quote and backslash...
    assert json.dumps(VALUE, ensure_ascii=False)[1:-1].encode() in data  # ...this is there
    assert encoded_forms(VALUE)[0].encode() in data


def test_a_run_that_echoes_the_secret_records_only_the_placeholder(tmp_path: Path) -> None:
    """End to end: a model that types the literal value and says it in its output."""
    field = {"type": "type", "text": VALUE, "point": [100, 220]}
    outputs = [json.dumps(field), json.dumps({"type": "finish", "status": "success"})]
    ep = run(
        "log in",
        env=BoardEnv(),
        model=ScriptedModel(outputs),
        out=tmp_path / "ep",
        secrets={"password": VALUE},
        no_gate=True,
    )
    data = (tmp_path / "ep" / "steps.jsonl").read_bytes()
    assert len(ep.steps) == 2 and _leaked(data) == []
    assert ep.steps[0]["actions"][0]["action"]["text"] == "{{secret:password}}"
