"""Masking without an env: a pure function of an Observation, the privacy snapshot it carries
and the secrets; and the env-side pure parts that build those snapshots (the browser's DOM
read, Android's view hierarchy). Safety code asks for declared features, never probes."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.core.coords import Frame
from agent.core.observation import Observation, PrivacyRequest, PrivacySnapshot
from agent.safety.masking import (
    MASK_RGB,
    PAD,
    mask_and_scrub,
    needs_recapture,
    privacy_request,
    sensitive_boxes,
)
from agent.safety.secrets import Secrets
from envs.android.hierarchy import parse_dump, private_boxes
from envs.browser.privacy import SPLIT, same_sensitive, snapshot_of
from envs.browser.privacy import sensitive_boxes as dom_boxes

ROOT = Path(__file__).resolve().parents[3]
SECRET = "hunter2"


def _obs(privacy: PrivacySnapshot | None = None, **kw: object) -> Observation:
    arr = np.full((100, 200, 3), 250, np.uint8)
    return Observation(array=arr, privacy=privacy, **kw)  # type: ignore[arg-type]


def _masked(arr: np.ndarray) -> np.ndarray:
    return (arr == MASK_RGB).all(axis=-1)


def test_snapshot_boxes_are_painted_and_strings_scrubbed_without_an_env() -> None:
    secrets = Secrets({"pw": SECRET})
    snap = PrivacySnapshot(boxes=((20.0, 10.0, 60.0, 30.0),), request=privacy_request(secrets))
    obs = _obs(snap, url=f"http://x/?p={SECRET}", title=f"hi {SECRET}", extra={"d": SECRET})
    out = mask_and_scrub(obs, secrets)
    expected = np.zeros((100, 200), bool)
    expected[10 - PAD : 30 + PAD, 20 - PAD : 60 + PAD] = True
    assert np.array_equal(_masked(out.array), expected)
    assert not _masked(obs.array).any()  # the original is left untouched
    assert SECRET not in f"{out.url}{out.title}{out.extra}" and out.extra["masked"] == 1
    assert "{{secret:pw}}" in (out.url or "")


@pytest.mark.parametrize(
    "snap",
    [
        PrivacySnapshot.untied("the page kept changing", source="dom", request=PrivacyRequest()),
        PrivacySnapshot(boxes=((1.0, 1.0, 5.0, 5.0),), request=PrivacyRequest(())),  # stale
    ],
    ids=["untied", "read-for-other-secrets"],
)
def test_a_snapshot_that_cannot_vouch_for_the_screen_masks_all_of_it(
    snap: PrivacySnapshot,
) -> None:
    secrets = Secrets({"pw": SECRET})
    out = mask_and_scrub(_obs(snap), secrets)
    assert _masked(out.array).all() and out.extra["masked"] == 1 and out.extra["mask_reason"]


def test_no_snapshot_and_no_secrets_leaves_the_screen_alone() -> None:
    obs = _obs()
    assert mask_and_scrub(obs, None) is obs and sensitive_boxes(obs, Secrets()) == []
    # a password field on a snapshot is painted even with no secrets set
    snap = PrivacySnapshot(boxes=((0.0, 0.0, 10.0, 10.0),))
    assert len(sensitive_boxes(_obs(snap), None)) == 1


def test_needs_recapture_only_for_snapshots_read_for_other_secrets() -> None:
    secrets = Secrets({"pw": SECRET})
    assert needs_recapture(_obs(PrivacySnapshot()), secrets)
    assert not needs_recapture(_obs(PrivacySnapshot(request=privacy_request(secrets))), secrets)
    assert not needs_recapture(_obs(), secrets)  # no snapshot: OCR's business
    assert not needs_recapture(_obs(PrivacySnapshot()), None)


# ---- the browser's DOM read → boxes (pure) --------------------------------------------------


FRAME2 = Frame.for_screen(400, 200, scale=2.0)  # DSF 2: CSS rects double


def test_dom_read_boxes_in_screenshot_px() -> None:
    read = {
        "version": [3, "file:///x", 0, 0, 200, 100],
        "fields": [
            {"rect": [10, 10, 50, 20], "password": True, "value": "x"},
            {"rect": [10, 30, 50, 40], "password": True, "value": ""},  # empty: kept
            {"rect": [10, 50, 50, 60], "password": False, "value": f"is {SECRET}!"},
            {"rect": [10, 70, 50, 80], "password": False, "value": "plain"},
        ],
        "texts": [{"rect": [100, 10, 150, 20], "text": f"code {SECRET}"}],
    }
    boxes, reason = dom_boxes(read, (SECRET,), FRAME2)
    assert reason is None
    assert boxes == [(20, 20, 100, 40), (20, 100, 100, 120), (200, 20, 300, 40)]
    snap = snapshot_of(read, PrivacyRequest((SECRET,)), FRAME2, tied=True)
    assert snap.tied and snap.boxes == tuple(boxes) and snap.version == tuple(read["version"])
    assert not snapshot_of(read, PrivacyRequest((SECRET,)), FRAME2, tied=False).tied
    assert not snapshot_of(None, PrivacyRequest(), FRAME2, tied=True).tied
    no_texts = {**read, "texts": None}  # secrets asked for, text nodes not read: no vouching
    assert not snapshot_of(no_texts, PrivacyRequest((SECRET,)), FRAME2, tied=True).tied


def test_reads_around_a_screenshot_agree_only_on_the_same_boxes_and_document() -> None:
    pw = {"rect": [10, 10, 50, 20], "password": True, "value": "x"}
    a = {"version": [1, "u", 0, 0, 1, 1], "fields": [pw], "texts": []}
    clock = {**a, "version": [9, "u", 0, 0, 1, 1]}  # other parts changed: still agree
    moved = {**a, "fields": [{**pw, "rect": [10, 12, 50, 22]}]}
    elsewhere = {**a, "version": [1, "v", 0, 0, 1, 1]}
    assert same_sensitive(a, clock, (), FRAME2)
    assert not same_sensitive(a, moved, (), FRAME2)
    assert not same_sensitive(a, elsewhere, (), FRAME2)
    assert not same_sensitive(a, None, (), FRAME2)


@settings(max_examples=80, deadline=None)
@given(st.text("ab7", min_size=1, max_size=6), st.integers(1, 5))
def test_a_secret_split_over_text_nodes_is_never_boxed(secret: str, cut: int) -> None:
    cut = min(cut, len(secret) - 1)
    texts = [{"rect": [0, 0, 10, 10], "text": f"x{secret[:cut]}"}]
    texts.append({"rect": [10, 0, 20, 10], "text": f"{secret[cut:]}y"})
    read = {"version": [1, "u", 0, 0, 1, 1], "fields": [], "texts": texts}
    boxes, reason = dom_boxes(read, (secret,), FRAME2)
    whole_in_one = any(secret in t["text"] for t in texts)
    if len(secret) > 1 and not whole_in_one:
        assert reason == SPLIT  # "".join would show it, no single box covers it
    else:
        assert reason is None and boxes


def test_android_hierarchy_boxes() -> None:
    dump = (
        "junk<hierarchy rotation='0'><node bounds='[0,0][1080,2400]'>"
        "<node password='true' text='' bounds='[100,600][980,760]'/>"
        f"<node text='PIN {SECRET}' bounds='[0,10][20,30]'/>"
        "<node text='Cancel' bounds='[100,1300][980,1500]'/></node></hierarchy>\nUI dumped"
    )
    root = parse_dump(dump)
    frame = Frame.for_screen(540, 1200, scale=0.5)  # screenshot at half the input px
    assert private_boxes(root, (SECRET,), frame) == [(50, 300, 490, 380), (0, 5, 10, 15)]
    assert private_boxes(root, (), frame) == [(50, 300, 490, 380)]


# ---- declared features, not probes ------------------------------------------------------------


PROBE = re.compile(r"hasattr\(env|env\.name ==|\._translate\(|getattr\(env, \"(page|shell)")


def test_no_env_probe_left_in_agent() -> None:
    hits = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
        for path in sorted((ROOT / "agent").rglob("*.py"))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if PROBE.search(line)
    ]
    assert hits == []
