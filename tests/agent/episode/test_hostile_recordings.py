"""Hostile recordings never crash a reader: a step line nested 200,000 deep (or an
``episode.json`` that is) is a RecordingError with a clear message for ``load_episode``,
``agent view`` and ``agent run --resume``; a model answer holding a lone surrogate (model
output is data, and JSON can spell one) still gives a viewer page."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.cli import main
from agent.core.errors import RecordingError
from agent.episode.recording import load_episode
from agent.episode.steps import MAX_JSON_DEPTH, json_depth

DEEP = "[" * 200_000 + "]" * 200_000


def _episode(root: Path, lines: list[str], meta: str = '{"task": {"goal": "x"}}') -> Path:
    ep = root / "ep"
    ep.mkdir()
    (ep / "episode.json").write_text(meta, encoding="utf-8")
    (ep / "steps.jsonl").write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return ep


def _line(i: int, raw: str = "ok") -> str:
    return json.dumps({"index": i, "raw": raw, "actions": []})


def test_a_step_line_nested_200000_deep_is_a_recording_error(tmp_path: Path, capsys) -> None:
    deep = '{"index": 1, "raw": "x", "actions": [], "extra": ' + DEEP + "}"
    ep = _episode(tmp_path, [_line(0), deep, _line(2)])
    with pytest.raises(RecordingError, match=f"deeper than {MAX_JSON_DEPTH}") as info:
        load_episode(ep)
    assert info.value.code == "recording"
    assert main(["view", str(ep), "--out", str(tmp_path / "v.html")]) == 2
    assert main(["run", "--resume", str(ep)]) == 2
    err = capsys.readouterr().err
    assert err.count(f"nested deeper than {MAX_JSON_DEPTH} levels") == 2


def test_a_deep_episode_json_is_a_recording_error(tmp_path: Path) -> None:
    ep = _episode(tmp_path, [_line(0)], meta='{"task": ' + DEEP + "}")
    with pytest.raises(RecordingError, match="deeper than"):
        load_episode(ep)


def test_a_lone_surrogate_in_a_model_answer_still_gives_a_viewer_page(tmp_path: Path) -> None:
    ep = _episode(tmp_path, [_line(0, "pay \ud800 now")])  # json.dumps writes it as \ud800
    assert "\\ud800" in (ep / "steps.jsonl").read_text(encoding="utf-8")
    out = tmp_path / "v.html"
    assert main(["view", str(ep), "--out", str(out)]) == 0
    page = out.read_bytes().decode("utf-8")  # valid UTF-8
    assert "pay ? now" in page


def test_depth_counts_brackets_outside_strings_only() -> None:
    assert json_depth('{"a": [1, {"b": "[[[\\"["}]}') == 3
    assert json_depth("[" * 10 + "]" * 10) == 10
    assert json_depth("[" * 1000) == MAX_JSON_DEPTH + 1  # stops counting past the limit
