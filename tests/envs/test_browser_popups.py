"""A tab the action opens is the one the step's observation shows, even when Playwright's page
event arrives late: the new tab's page answers after SLOW_S (as a busy machine or a slow site
delays it), so the event comes long after the opener's settle and capture. Real headless
Chromium and a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from agent.core.actions import Action, Click, MiddleClick
from envs.browser import BrowserEnv

SLOW_S = 2.4  # past the settle's 2 s wait for requests, within POPUP_WAIT_S
OPENER = """<!doctype html><body style="margin:0;font:16px sans-serif">
<a id="blank" href="/slow?via=blank" target="_blank"
   style="position:absolute;left:10px;top:10px">new tab</a>
<button id="open" onclick="window.open('/slow?via=open')"
   style="position:absolute;left:10px;top:60px">window.open</button>
<a id="plain" href="/slow?via=middle" style="position:absolute;left:10px;top:110px">link</a>
<a id="kept" href="/slow?via=kept" target="_blank" onclick="event.preventDefault()"
   style="position:absolute;left:10px;top:160px">prevented</a>
</body>"""


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path.startswith("/slow"):
            time.sleep(SLOW_S)
            body = f"<title>{self.path}</title><body>opened {self.path}</body>"
        else:
            body = OPENER
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()


@pytest.fixture(scope="module")
def env(server: str) -> Iterator[BrowserEnv]:
    e = BrowserEnv(server, viewport=(400, 220))
    yield e
    e.close()


def point_of(env: BrowserEnv, selector: str) -> tuple[float, float]:
    box = env.page.locator(selector).bounding_box()
    assert box is not None
    return (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)


@pytest.mark.parametrize(
    ("selector", "press", "via"),
    [("#blank", Click, "blank"), ("#open", Click, "open"), ("#plain", MiddleClick, "middle")],
)
def test_the_step_shows_the_tab_it_opened(
    env: BrowserEnv, selector: str, press: type[Action], via: str
) -> None:
    env.reset()
    res = env.step(press(point=point_of(env, selector)))  # type: ignore[call-arg]
    obs = res.observation
    assert obs.last_action_error is None, obs.last_action_error
    assert obs.url.endswith(f"/slow?via={via}"), obs.url
    assert obs.title == f"/slow?via={via}"
    assert len(env.page.context.pages) == 2


def test_a_prevented_link_opens_nothing_and_stays(env: BrowserEnv) -> None:
    env.reset()
    obs = env.step(Click(point=point_of(env, "#kept"))).observation
    assert obs.last_action_error is None and obs.url.endswith("/")
    assert len(env.page.context.pages) == 1
