"""A secret with ``{ } ^ |`` and spaces, spelled every way a browser and a server write it,
never reaches a recording (issue 22): real headless Chromium, a real HTTP server on
127.0.0.1, the real runner with a scripted model.

The secret is typed into a form that GETs to the page's server (the browser form-encodes
it: ``+`` for a space, ``%7B``); the result page's title holds it as JSON ``\\u`` escapes,
it raises two long dialogs and loads two long URLs from a deny-listed server — one with the
secret from character 290 (where the old code cut at 300 before scrubbing), in lower-case
hex (``%7b%20``), one with it raw (as Chromium spells it) across the env's own cut at
2,000 characters. steps.jsonl and episode.json are then searched for every
spelling, and for any 4 consecutive characters of the secret once decoded.
"""

from __future__ import annotations

import html
import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, quote_plus, unquote_plus, urlsplit

import pytest

from agent.episode.runner import run
from agent.safety.gate import make_gate
from agent.safety.masking import RECORDED_TEXT
from agent.safety.policy import Policy
from agent.safety.secrets import Secrets
from envs.browser import BrowserEnv
from envs.browser.routing import RAW_TEXT
from model.scripted import ScriptedModel

SECRET = "Vx{9} ^Qj|4 kZ"
FORM = (
    "<!doctype html><form action='/result' method='get'>"
    "<input name='q' style='position:absolute; left:20px; top:20px; width:400px; height:40px'>"
    "</form>"
)


def _lower_hex(text: str) -> str:
    return re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), text)


def _escaped(value: str) -> str:
    return "".join(f"\\u{ord(c):04x}" for c in value)


def _result_page(value: str, denied: str) -> str:
    near, across = 290, RAW_TEXT - 6  # where the secret starts in the long texts
    return (
        f"<!doctype html><title>{_escaped(value)}</title><script>"
        f"const v = {json.dumps(value)};"
        "const low = encodeURIComponent(v).replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase());"
        f"alert('a'.repeat({near - 7}) + v);"  # "alert: " is 7 characters
        f"alert('b'.repeat({across - 7}) + v + 'b'.repeat(500));"
        f"const prefix = '{denied}/';"
        f"new Image().src = prefix + 'c'.repeat({near} - prefix.length) + low;"
        f"new Image().src = prefix + 'd'.repeat({across} - prefix.length) + v + 'd'.repeat(500);"
        "</script><p>done</p>"
    )


class _Site:
    def __init__(self, denied: str) -> None:
        self.paths: list[str] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                site.paths.append(self.path)
                path = urlsplit(self.path).path
                body = FORM if path == "/" else _result_page(SECRET, denied)
                data = body.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture
def site() -> Iterator[_Site]:
    s = _Site(denied="http://127.0.0.1:9")  # port 9: discard; deny-listed anyway
    yield s
    s.httpd.shutdown()


def spellings(value: str) -> list[str]:
    """Every spelling the test knows of, built here independently of the scrubber."""
    forms = {
        value,
        quote(value, safe=""),
        quote_plus(value, safe=""),
        quote(value, safe="{}^|"),
        quote_plus(value, safe="{}^|"),
        json.dumps(value, ensure_ascii=True)[1:-1],
        _escaped(value),
        _escaped(value).upper().replace("\\U", "\\u"),
        "".join(f"&#{ord(c)};" for c in value),
        "".join(f"&#x{ord(c):x};" for c in value),
        html.escape(value),
    }
    forms |= {_lower_hex(f) for f in forms}
    return sorted(forms)


def decoded(text: str) -> str:
    """``text`` with every escape undone, repeatedly."""
    for _ in range(3):
        text = re.sub(r"\\+u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), text)
        text = html.unescape(unquote_plus(text))
    return text


def test_every_spelling_is_scrubbed_from_the_recording(site: _Site, tmp_path: Path) -> None:
    steps = [
        json.dumps({"type": "type", "text": "{{secret:pw}}", "point": [200, 40], "enter": True}),
        # the result page's dialogs and blocked requests come in the next observations; a
        # loaded CI machine may take a second or more to navigate and show them
        '{"type": "wait", "seconds": 1.0}',
        '{"type": "wait", "seconds": 1.0}',
        '{"type": "finish"}',
    ]
    gate = make_gate(Policy().with_urls(deny=["127.0.0.1:9"]), confirm="no")
    env = BrowserEnv(viewport=(640, 360))
    try:
        ep = run(
            "x",
            env=env,
            model=ScriptedModel(steps),
            out=tmp_path / "ep",
            url=site.url + "/",
            gate=gate,
            secrets=Secrets({"pw": SECRET}, pixel_check=False),
        )
    finally:
        env.close()
    # the browser did send and show it in each spelling
    sent = " ".join(site.paths)
    assert "/result?q=Vx%7B9%7D+%5EQj%7C4+kZ" in sent and "/ccc" not in sent  # never sent
    extras = [s["observation"]["extra"] for s in ep.steps]
    dialogs = [d for e in extras for d in e.get("dialogs", [])]
    blocked = [b for e in extras for b in e.get("blocked_requests", []) if "url" in b]
    assert len(dialogs) == 2 and len(blocked) == 2, (dialogs, blocked)
    assert all(len(d) <= RECORDED_TEXT for d in dialogs)
    assert all(len(b["url"]) <= RECORDED_TEXT for b in blocked)
    for text in [*dialogs, *(b["url"] for b in blocked)]:
        assert text.endswith("…") and "{{secret:pw}}" not in text  # cut before the placeholder
    assert any(s["observation"]["title"] == "{{secret:pw}}" for s in ep.steps)
    assert any("{{secret:pw}}" in s["observation"]["url"] for s in ep.steps)
    for name in ("steps.jsonl", "episode.json"):
        text = (ep.dir / name).read_text()
        for form in spellings(SECRET):
            assert form not in text, (name, form)
        plain = decoded(text)
        runs = {SECRET[i : i + 4] for i in range(len(SECRET) - 3)}
        assert not [r for r in runs if r in plain], name
