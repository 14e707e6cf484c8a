"""Secrets: the env types the value, while the model, the episode directory (every byte of
every file, PNG pixels read back by OCR), the progress output and the logs only ever hold
the placeholder. Real headless Chromium on the bundled account site; real OCR."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from agent.core.actions import Type
from agent.core.env import Feature
from agent.core.errors import ActionFailedError, ConfigError
from agent.core.observation import Observation, PrivacySnapshot
from agent.episode.runner import run
from agent.safety.masking import MASK_RGB
from agent.safety.secrets import Secrets
from board_env import BoardEnv
from envs.browser import BrowserEnv
from envs.browser.dom import rect_to_screen
from model.scripted import ScriptedModel

VALUE = "demo123"  # the account site's real demo password: a login proves it was typed
AGENT = [sys.executable, "-m", "agent.cli"]


# ---- unit ------------------------------------------------------------------------------------


def test_sources_placeholders_and_scrubbing() -> None:
    s = Secrets.from_sources(["card=4242 4242"], {"NATIVE_AGENT_SECRET_PASSWORD": "pa ss/w&rd"})
    assert sorted(s.names) == ["card", "password"] and len(s) == 2
    typed = s.inject(Type(text="{{secret:PASSWORD}} then {{ secret:card }}"))
    assert typed.text == "pa ss/w&rd then 4242 4242"
    assert s.inject(Type(text="plain")).text == "plain"
    with pytest.raises(ActionFailedError, match="unknown secret"):
        s.inject(Type(text="{{secret:pin}}"))
    data = {
        "raw": "typed pa ss/w&rd",
        "url": "http://x/?q=pa+ss%2Fw%26rd&r=pa%20ss%2Fw%26rd",
        "pa ss/w&rd": ["4242 4242", 3, None],
    }
    clean = json.dumps(s.scrub(data))
    assert "pa ss" not in clean and "4242" not in clean and "w%26rd" not in clean
    assert "{{secret:password}}" in clean and "{{secret:card}}" in clean
    assert s.leaks(clean.encode()) == [] and s.leaks(b"xx pa+ss%2Fw%26rd") == ["password"]
    assert "{{secret:card}}" in s.prompt_note() and "4242" not in s.prompt_note()
    for bad in (["x"], ["=v"], ["n=ab"], ["bad name=value"]):
        with pytest.raises(ConfigError):
            Secrets.from_sources(bad, {})


def test_log_records_are_scrubbed(caplog: pytest.LogCaptureFixture) -> None:
    s = Secrets({"password": VALUE})
    with caplog.at_level(logging.INFO), s.redact_logs():
        logging.getLogger("x").info("typed %s into the form", VALUE)
    assert VALUE not in caplog.text and "{{secret:password}}" in caplog.text


def test_unknown_placeholder_is_never_typed(tmp_path: Path) -> None:
    env = BoardEnv()
    field = json.dumps({"type": "type", "text": "{{secret:nope}}", "point": [100, 220]})
    ep = run(
        "x",
        env=env,
        model=ScriptedModel([field]),
        out=tmp_path / "ep",
        max_steps=1,
        secrets={"password": VALUE},
        no_gate=True,
    )
    rec = ep.steps[0]["actions"][0]
    assert "unknown secret {{secret:nope}}" in rec["error"] and "result" not in rec
    assert env.state.text == ""


# ---- the bundled login site ---------------------------------------------------------------------


def _box(env: BrowserEnv, selector: str) -> tuple[float, float, float, float]:
    rect = env.page.eval_on_selector(
        selector,
        "e => {const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]}",
    )
    return rect_to_screen(env.geometry(), tuple(rect))[0]


def _centre(box: tuple[float, float, float, float]) -> list[float]:
    return [(box[0] + box[2]) / 2, (box[1] + box[3]) / 2]


@pytest.fixture(scope="module")
def account() -> Any:
    env = BrowserEnv(site="account")
    yield env
    env.close()


@pytest.fixture(scope="module")
def login_layout(account: BrowserEnv) -> dict[str, Any]:
    """Where the login form is, and proof that OCR reads the demo password on the page."""
    account.reset()
    account.page.wait_for_selector("#password")
    layout = {k: _box(account, f"#{k}") for k in ("username", "password", "login-btn")}
    layout["hint"] = _box(account, "#demo-credentials code:nth-of-type(2)")
    from model.ocr import OcrEngine

    layout["ocr"] = OcrEngine()
    raw = " ".join(ln.text for ln in layout["ocr"].read(account.observe().array).lines)
    assert VALUE in raw  # the positive control: unmasked, OCR does read it
    return layout


def _assert_clean(directory: Path, ocr: Any) -> None:
    """No byte of any file holds the value; no PNG shows it to OCR."""
    secrets = Secrets({"password": VALUE})
    files = [p for p in directory.rglob("*") if p.is_file()]
    assert any(p.suffix == ".png" for p in files) and any(p.name == "steps.jsonl" for p in files)
    for p in files:
        data = p.read_bytes()
        assert secrets.leaks(data) == [], p
        if p.suffix == ".png":
            text = " ".join(
                ln.text for ln in ocr.read(np.asarray(Image.open(p).convert("RGB"))).lines
            )
            assert VALUE not in text.replace(" ", ""), (p, text)


def _masked(png: Path, box: tuple[float, float, float, float]) -> bool:
    arr = np.asarray(Image.open(png).convert("RGB"))
    x1, y1, x2, y2 = (int(v) for v in box)
    inner = arr[y1 + 2 : y2 - 2, x1 + 2 : x2 - 2].reshape(-1, 3)
    return bool(inner.size) and bool((inner == MASK_RGB).all())


def test_password_typed_into_the_login_site_never_reaches_the_episode(
    login_layout: dict[str, Any], tmp_path: Path
) -> None:
    L = login_layout
    outputs = [
        json.dumps(
            {"type": "type", "text": "demo", "point": _centre(L["username"]), "clear": True}
        ),
        json.dumps(
            {
                "type": "type",
                "text": "{{secret:password}}",
                "point": _centre(L["password"]),
                "clear": True,
            }
        ),
        json.dumps({"type": "click", "point": _centre(L["login-btn"])}),
        '{"type": "finish", "status": "success", "answer": "signed in"}',
    ]
    script = tmp_path / "login.json"
    script.write_text(json.dumps({"format": "json", "outputs": outputs}))
    out = tmp_path / "ep"
    env = {**os.environ, "NATIVE_AGENT_SECRET_PASSWORD": VALUE}
    proc = subprocess.run(
        [
            *AGENT,
            "run",
            "--task",
            "Sign in as demo with password {{secret:password}}",
            "--site",
            "account",
            "--model",
            f"scripted:{script}",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert VALUE not in proc.stdout + proc.stderr  # progress lines and summary
    steps = [json.loads(ln) for ln in (out / "steps.jsonl").read_text().splitlines()]
    assert steps[-1]["observation"]["url"].endswith("#/settings")  # the real value logged in
    assert steps[1]["actions"][0]["action"]["text"] == "{{secret:password}}"
    meta = json.loads((out / "episode.json").read_text())
    assert meta["secrets"] == {"names": ["password"]}
    assert _masked(out / "0002.png", L["password"])  # the filled password field
    assert _masked(out / "0000.png", L["hint"])  # the page's own hint shows the value
    assert not _masked(out / "0000.png", L["password"])  # empty: its placeholder stays visible
    _assert_clean(out, L["ocr"])


def test_replay_types_the_secret_again_only_when_given(
    account: BrowserEnv, login_layout: dict[str, Any], tmp_path: Path
) -> None:
    """A recording keeps the placeholder, so `agent replay` needs the value again: without
    it the replay refuses before anything runs; with it the login succeeds once more."""
    L = login_layout
    outputs = [
        json.dumps({"type": "type", "text": "demo", "point": _centre(L["username"])}),
        json.dumps(
            {"type": "type", "text": "{{secret:password}}", "point": _centre(L["password"])}
        ),
        json.dumps({"type": "click", "point": _centre(L["login-btn"])}),
        '{"type": "finish", "status": "success"}',
    ]
    source = run(
        "Sign in as demo",
        env=account,
        model=ScriptedModel(outputs),
        out=tmp_path / "ep",
        url=account.start_url,
        secrets={"password": VALUE},
        no_gate=True,
    )
    assert source.steps[-1]["observation"]["url"].endswith("#/settings")
    clean_env = {k: v for k, v in os.environ.items() if not k.startswith("NATIVE_AGENT_SECRET_")}
    cmd = [*AGENT, "replay", str(source.dir), "--out"]
    refused = subprocess.run(
        [*cmd, str(tmp_path / "r1")], capture_output=True, text=True, timeout=300, env=clean_env
    )
    assert refused.returncode == 2 and "NATIVE_AGENT_SECRET_PASSWORD" in refused.stderr
    assert not (tmp_path / "r1").exists()  # refused before any browser step
    ok = subprocess.run(
        [*cmd, str(tmp_path / "r2")],
        capture_output=True,
        text=True,
        timeout=300,
        env={**clean_env, "NATIVE_AGENT_SECRET_PASSWORD": VALUE},
    )
    assert ok.returncode == 0, ok.stderr[-2000:]
    steps = [json.loads(ln) for ln in (tmp_path / "r2" / "steps.jsonl").read_text().splitlines()]
    assert steps[-1]["observation"]["url"].endswith("#/settings")  # the real value typed again
    assert json.loads((tmp_path / "r2" / "episode.json").read_text())["secrets"] == {
        "names": ["password"]
    }
    assert VALUE not in ok.stdout + ok.stderr
    _assert_clean(tmp_path / "r2", L["ocr"])


def test_secret_in_a_plain_text_field_is_masked_for_model_and_recording(
    account: BrowserEnv, login_layout: dict[str, Any], tmp_path: Path
) -> None:
    L = login_layout
    account.reset()
    outputs = [
        json.dumps(
            {"type": "type", "text": "{{secret:password}}", "point": _centre(L["username"])}
        ),
        '{"type": "finish", "status": "success"}',
    ]
    model = ScriptedModel(outputs)
    task = f"Type {{{{secret:password}}}} into the username field (not {VALUE})"
    ep = run(
        task,
        env=account,
        model=model,
        out=tmp_path / "ep",
        secrets=Secrets({"password": VALUE}),
        no_gate=True,
    )
    assert account.page.input_value("#username") == VALUE  # the env typed the real value
    assert all(VALUE not in req.task and "{{secret:password}}" in req.task for req in model.seen)
    after = model.seen[1].observation  # what the model was shown after typing
    x1, y1, x2, y2 = (int(v) for v in L["username"])
    assert (after.array[y1 + 2 : y2 - 2, x1 + 2 : x2 - 2] == MASK_RGB).all()
    assert after.extra.get("masked", 0) >= 2  # the field and the page's hint
    assert _masked(ep.dir / "0001.png", L["username"])
    assert VALUE not in json.dumps(ep.meta) + json.dumps(ep.steps)
    _assert_clean(ep.dir, L["ocr"])


def test_android_password_nodes_are_masked(tmp_path: Path) -> None:
    from envs.android import AndroidEnv
    from envs.android.fake_adb import FakeAdbServer

    dump = (
        '<?xml version="1.0" ?><hierarchy rotation="0"><node class="android.widget.FrameLayout" '
        'bounds="[0,0][1080,2400]"><node class="android.widget.EditText" password="true" '
        'text="" bounds="[100,600][980,760]" /><node class="android.widget.Button" '
        'text="Cancel" bounds="[100,1300][980,1500]" /></node></hierarchy>'
    )
    transcript = Path(__file__).parents[2] / "envs" / "adb_transcripts" / "pixel_portrait.json"
    with FakeAdbServer(transcript) as fake:
        fake.respond(match="uiautomator dump /dev/tty", stdout=dump)
        env = AndroidEnv(adb_port=fake.port, settle=0)
        try:
            ep = run(
                "x",
                env=env,
                model=ScriptedModel(['{"type": "finish"}']),
                out=tmp_path / "ep",
                secrets={"pin": "2468"},
                no_gate=True,
            )
        finally:
            env.close()
    arr = np.asarray(Image.open(ep.screenshot_path(0)).convert("RGB"))
    assert (arr[620:740, 120:960] == MASK_RGB).all()  # the password EditText
    assert not (arr[1320:1480, 120:960] == MASK_RGB).all()  # "Cancel" is left alone


class FieldsUnreadable(BoardEnv):
    """A board that offers privacy snapshots but could not read one for its screenshot (as
    a page mid-navigation): it says so, and masking fails closed."""

    features = frozenset({Feature.PRIVACY_SNAPSHOT})

    def _capture(self) -> Observation:
        obs = super()._capture()
        obs.privacy = PrivacySnapshot.untied(
            "Execution context was destroyed", source="test", request=self.privacy
        )
        return obs


def test_masking_fails_closed_when_fields_cannot_be_located(tmp_path: Path) -> None:
    ep = run(
        "x",
        env=FieldsUnreadable(),
        model=ScriptedModel(['{"type": "finish"}']),
        out=tmp_path / "ep",
        no_gate=True,
    )
    arr = np.asarray(Image.open(ep.screenshot_path(0)).convert("RGB"))
    assert (arr == MASK_RGB).all() and ep.steps[0]["observation"]["extra"]["masked"] == 1
