"""The model's history window is what reaches the server: the loop keeps screenshots for the
model's own ``history_images`` and the request holds at most ``history_steps`` earlier steps
(the OpenAI-compatible backend against a real HTTP server on 127.0.0.1 that records every
request body)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.episode.loop import LoopConfig
from agent.episode.runner import run
from board_env import BoardEnv
from model.backends.openai_backend import OpenAIModel
from tests.model.chat_server import ChatServer

CLICK = json.dumps({"type": "click", "point": [100.0, 65.0]})  # the OK button


class Recorder(ChatServer):
    """Answers every chat completion with a click on OK and keeps the request bodies."""

    def __init__(self) -> None:
        reply = {"choices": [{"index": 0, "message": {"content": CLICK}}]}
        super().__init__(lambda _: (200, reply, {}))

    @property
    def bodies(self) -> list[dict[str, Any]]:
        return [r["json"] for r in self.requests]

    def images(self) -> list[int]:
        """Images per request."""
        return [json.dumps(b["messages"]).count('"type": "image_url"') for b in self.bodies]

    def earlier_steps(self) -> list[list[int]]:
        """Per request, the earlier steps it mentions (text lines and replayed replies)."""
        out = []
        for body in self.bodies:
            text = json.dumps(body["messages"])
            lines = [int(n) - 1 for n in re.findall(r"Step (\d+):", text)]
            turns = sum(1 for m in body["messages"] if m["role"] == "assistant")
            out.append([*lines, *([-1] * turns)])
        return out


@pytest.fixture
def server() -> Iterator[Recorder]:
    srv = Recorder()
    yield srv
    srv.close()


def _run(tmp_path: Path, server: Recorder, **window: int) -> None:
    model = OpenAIModel("tiny", server.url, family="json", retries=0, **window)
    try:
        ep = run(
            "press OK",
            env=BoardEnv(),
            model=model,
            out=tmp_path / "ep",
            config=LoopConfig(max_steps=6, no_progress_k=100),
            no_gate=True,
        )
    finally:
        model.close()
    assert ep.outcome["status"] == "max_steps" and len(ep.steps) == 6


def test_history_images_setting_is_the_image_window(tmp_path: Path, server: Recorder) -> None:
    _run(tmp_path, server, history_images=4, history_block=1)
    # the sliding window: the current screenshot + up to four earlier ones
    assert server.images() == [1, 2, 3, 4, 5, 5]


def test_history_steps_bounds_the_earlier_steps(tmp_path: Path, server: Recorder) -> None:
    _run(tmp_path, server, history_images=0, history_steps=2)
    assert server.images() == [1] * 6
    mentioned = server.earlier_steps()
    assert [len(m) for m in mentioned] == [0, 1, 2, 2, 2, 2]
    assert mentioned[-1] == [3, 4]  # the last two steps (0-based), as text lines


def test_history_steps_also_bounds_the_image_window(tmp_path: Path, server: Recorder) -> None:
    _run(tmp_path, server, history_images=4, history_steps=2, history_block=1)
    assert server.images() == [1, 2, 3, 3, 3, 3]
    assert [len(m) for m in server.earlier_steps()] == [0, 1, 2, 2, 2, 2]
