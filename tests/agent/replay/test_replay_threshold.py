"""``agent replay --threshold`` decides the verdict (issue 15): one recorded episode, replayed
through the CLI on a page whose colour moved a little (or a lot) since the recording, is
"no divergence" or "diverged" depending on the threshold given — on both sides of the
default 0.03. Real headless Chromium (recording and CLI replay), a real HTTP server on
127.0.0.1 whose page colour the test sets."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from agent.cli import main
from agent.episode.recording import Episode
from agent.episode.runner import run
from agent.replay.live import DEFAULT_THRESHOLD
from envs.browser import BrowserEnv
from model.scripted import ScriptedModel

GREY = 128  # the page colour at recording time; one grey level moves the luma by 1/255


class _Page:
    """A full-page block of one grey: every tile of the difference moves the same."""

    def __init__(self) -> None:
        self.grey = GREY
        page = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                g = page.grey
                body = (
                    "<!doctype html><body style='margin:0;background:"
                    f"rgb({g},{g},{g});width:100vw;height:100vh'></body>"
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture(scope="module")
def page() -> Iterator[_Page]:
    p = _Page()
    yield p
    p.httpd.shutdown()


@pytest.fixture(scope="module")
def recorded(page: _Page, tmp_path_factory: pytest.TempPathFactory) -> Episode:
    outputs = [
        json.dumps({"type": "click", "point": [100, 100]}),
        json.dumps({"type": "finish", "status": "success"}),
    ]
    env = BrowserEnv(viewport=(320, 240))
    try:
        return run(
            "look at the page",
            env=env,
            model=ScriptedModel(outputs),
            out=tmp_path_factory.mktemp("rec") / "ep",
            url=page.url,
            no_gate=True,
        )
    finally:
        env.close()


def _replay(ep: Episode, out: Path, threshold: str) -> tuple[int, float, dict]:
    """Run ``agent replay --threshold`` and return its exit code, step 0's printed score
    and the replay's episode.json."""
    rc = main(["replay", str(ep.dir), "--out", str(out), "--threshold", threshold])
    meta = json.loads((out / "episode.json").read_text())
    return rc, float(meta["replay"]["steps"][0]["score"]), meta


def test_a_lower_threshold_flags_a_change_the_default_tolerates(
    page: _Page, recorded: Episode, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page.grey = GREY + 4  # ≈ 0.016 in every tile: under the default 0.03
    try:
        rc, score, meta = _replay(recorded, tmp_path / "strict", "0.005")
    finally:
        page.grey = GREY
    out = capsys.readouterr().out
    assert 0.005 < score < DEFAULT_THRESHOLD  # the default would call this no divergence
    assert rc == 1 and "diverged at step 0" in out, out
    assert meta["replay"]["threshold"] == 0.005 and meta["replay"]["first_divergence"] == 0


def test_a_higher_threshold_tolerates_a_change_the_default_flags(
    page: _Page, recorded: Episode, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page.grey = GREY + 25  # ≈ 0.098 in every tile: over the default
    try:
        rc, score, meta = _replay(recorded, tmp_path / "lenient", "0.2")
    finally:
        page.grey = GREY
    out = capsys.readouterr().out
    assert DEFAULT_THRESHOLD < score < 0.2  # the default would call this a divergence
    assert rc == 0 and "no divergence" in out, out
    assert meta["replay"]["first_divergence"] is None


def test_a_zero_threshold_is_refused_not_replaced_by_the_default(
    recorded: Episode, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = main(["replay", str(recorded.dir), "--out", str(tmp_path / "r"), "--threshold", "0"])
    assert rc == 2 and "threshold must be in (0, 1]" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()  # refused before anything ran
