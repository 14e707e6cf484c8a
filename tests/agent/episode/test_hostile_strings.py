"""The recorder and the terminal against hostile strings and signals (issue 15): a page
title and a model answer holding a lone surrogate are recorded (never a crash, never an
empty steps.jsonl), the answer's terminal escape sequences are shown escaped, and SIGTERM
finalises the episode as ``interrupted``. Real ``agent run`` processes, real headless
Chromium on a page served from 127.0.0.1, the scripted model."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from agent.commands.terminal import for_terminal
from agent.core.errors import Interrupted, clear_signals, note_signal
from agent.episode.recording import EpisodeWriter, json_line, load_episode
from agent.episode.runner import finish

AGENT = [sys.executable, "-m", "agent.cli"]
PAGE = (
    b"<!doctype html><title>x</title><body><h1>hostile</h1>"
    b"<script>document.title = 'a\\ud800b' + '\\u001b]0;pwned\\u0007';</script></body>"
)


class _Page(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(PAGE)))
        self.end_headers()
        self.wfile.write(PAGE)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def page_url() -> Iterator[str]:
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Page)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}/"
    srv.shutdown()


def _script(tmp_path: Path, outputs: list[dict[str, object]]) -> Path:
    path = tmp_path / "script.json"
    data = {"format": "json", "outputs": [json.dumps({"actions": [o]}) for o in outputs]}
    path.write_text(json.dumps(data))  # json.dumps writes a lone surrogate as \\ud800
    return path


def test_json_line_records_any_string() -> None:
    line = json_line({"t": "a\ud800b", "ok": "café"})
    assert json.loads(line) == {"t": "a\ud800b", "ok": "café"}
    assert json_line({"ok": "café"}) == '{"ok": "café"}\n'.encode()


@pytest.mark.browser
def test_lone_surrogates_and_escapes_are_recorded_not_crashed(
    tmp_path: Path, page_url: str
) -> None:
    answer = "done \ud800 \x1b]0;pwned\x07 \x1b[2J"
    script = _script(
        tmp_path,
        [
            {"type": "wait", "seconds": 0.1},
            {"type": "finish", "status": "success", "answer": answer},
        ],
    )
    out = tmp_path / "ep"
    res = subprocess.run(
        [*AGENT, "run", "--task", "read the title", "--url", page_url, "--model",
         f"scripted:{script}", "--out", str(out), "--no-gate"],
        capture_output=True, timeout=240,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr.decode(errors="replace")
    ep = load_episode(out)
    assert ep.outcome["status"] == "success" and len(ep.steps) == 2
    assert ep.outcome["answer"] == answer  # the lone surrogate round-trips
    titles = [s["observation"]["title"] for s in ep.steps]
    assert all(t.startswith("a\ud800b") for t in titles), titles  # the page's own title
    err = res.stderr
    assert b"\x1b" not in err and b"\x07" not in err  # nothing the terminal would obey
    assert b"\\x1b]0;pwned\\x07" in err and b"\\ud800" in err


@pytest.mark.browser
def test_sigterm_finalises_the_episode_as_interrupted(tmp_path: Path, page_url: str) -> None:
    script = _script(tmp_path, [{"type": "wait", "seconds": 0.05 + i / 100} for i in range(60)])
    out = tmp_path / "ep"
    proc = subprocess.Popen(
        [*AGENT, "run", "--task", "wait", "--url", page_url, "--model", f"scripted:{script}",
         "--out", str(out), "--no-gate", "--quiet", "--max-steps", "60"],
        stderr=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 180
        lines = out / "steps.jsonl"
        while not (lines.exists() and lines.read_bytes().count(b"\n") >= 2):
            assert proc.poll() is None and time.monotonic() < deadline, "no steps recorded"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGTERM)  # the agent only: it closes its browser itself
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 143, err
    assert b"interrupted (SIGTERM)" in err
    ep = load_episode(out)
    assert ep.outcome["status"] == "interrupted", ep.outcome
    assert ep.outcome["error_code"] == "interrupted"
    assert ep.meta["ended_at"] is not None and len(ep.steps) >= 2


def test_an_error_after_a_stop_signal_is_the_interruption(tmp_path: Path) -> None:
    """SIGTERM's Interrupted, raised inside the browser driver's I/O, can surface as the
    driver's own error (its pipe torn down mid-call): once a stop signal was noted the
    episode is recorded ``interrupted`` and Interrupted propagates (exit 143), not a crash."""

    def torn_down() -> Any:
        note_signal("SIGTERM")
        raise RuntimeError("Connection closed while reading from the driver")

    def crash() -> Any:
        raise RuntimeError("Connection closed while reading from the driver")

    try:
        with pytest.raises(Interrupted) as info:
            finish(EpisodeWriter(tmp_path / "a", {"task": {"goal": "x"}}), torn_down)
    finally:
        clear_signals()
    assert isinstance(info.value.__cause__, RuntimeError)
    outcome = load_episode(tmp_path / "a").outcome
    assert outcome["status"] == "interrupted" and outcome["error_code"] == "interrupted"
    assert outcome["error_type"] == "RuntimeError"
    with pytest.raises(RuntimeError):  # no signal: the same error is a crash
        finish(EpisodeWriter(tmp_path / "b", {"task": {"goal": "x"}}), crash)
    assert load_episode(tmp_path / "b").outcome["status"] == "error"


def test_for_terminal_shows_control_characters() -> None:
    assert for_terminal("ok\tfine\nnext") == "ok\tfine\nnext"
    assert for_terminal("a\x1b[31mred\rb\u202ec\x9b") == "a\\x1b[31mred\\rb\\u202ec\\x9b"
    assert for_terminal("x\ny", newlines=False) == "x\\ny"
