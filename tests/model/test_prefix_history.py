"""A 10-step request sequence through the message builder: in blocks, request t + 1 begins
with the whole of request t (the prefix a server's cache reuses) except at block boundaries;
the sliding window breaks that prefix right after the opening at every step."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from agent.core.errors import ConfigError
from agent.core.model import HistoryItem, ModelRequest
from agent.core.observation import Observation
from model.parsers import convention_for, mode_for
from model.prompts import FAMILIES, build_messages, get_family, iter_images
from model.prompts.messages import describe

STEPS = 10
PAD = "." * 1000  # an image is ~1,000 tokens (a 1280x800 screen: 1,334 on a 28 px grid)


def episode(family: str, *, error_at: int | None = None) -> list[ModelRequest]:
    """The requests of a 10-step episode as the loop makes them: each step's screenshot is
    the current one of its request, then a history item of every later request."""
    fmt = FAMILIES[family].format
    obs = [
        Observation(array=np.full((200, 300, 3), i, np.uint8), last_action_error=None)
        for i in range(STEPS)
    ]
    frames = [o.frame(mode=mode_for(fmt), convention=convention_for(fmt)) for o in obs]
    history: list[HistoryItem] = []
    requests = []
    for t in range(STEPS):
        requests.append(ModelRequest("Add the mug to the cart", obs[t], frames[t], list(history)))
        error = "boom" if t == error_at else None
        raw = f'{{"type": "click", "x": {10 + t}, "y": 20}}'
        history.append(HistoryItem(t, raw, None, error, obs[t], frames[t]))
    return requests


def serial(messages: list[dict], images: dict[int, int]) -> str:
    """The conversation in order, images by which step's screenshot they are, ending with
    the generation prompt: what the server's prefix cache hashes."""
    text = describe(messages, image=lambda p: f"<image {images[id(p.observation)]}{PAD}>")
    return text + "\n[assistant]"


def prompts(family: str, block: int, **kw) -> list[str]:
    requests = episode(family, **kw)
    ids = {id(r.observation): t for t, r in enumerate(requests)}
    return [
        serial(build_messages(r, family, history_images=2, history_block=block), ids)
        for r in requests
    ]


def shared(a: str, b: str) -> int:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return n


@pytest.mark.parametrize("family", ["json", "qwen2.5-vl", "qwen3-vl", "ui-tars-1.5"])
def test_blocks_extend_the_previous_request_except_at_block_boundaries(family: str) -> None:
    got = prompts(family, 3)
    for t in range(STEPS - 1):
        boundary = (t + 1 - 1) % 3 == 0 and t > 0  # request t + 1 drops a block (m = 1)
        assert got[t + 1].startswith(got[t]) != boundary, (family, t)
    # the sliding window: from request 3 on, every request breaks the previous one's prefix
    sliding = prompts(family, 1)
    assert not any(sliding[t + 1].startswith(sliding[t]) for t in range(2, STEPS - 1))


def test_blocks_share_far_more_of_each_request() -> None:
    def reused(got: list[str]) -> float:
        return sum(shared(a, b) for a, b in itertools.pairwise(got)) / sum(len(b) for b in got[1:])

    blocks, sliding = reused(prompts("json", 3)), reused(prompts("json", 1))
    assert blocks > 0.6 > 0.4 > sliding, (blocks, sliding)


def test_an_older_steps_line_keeps_its_place_and_text() -> None:
    """A step whose screenshot is dropped becomes a text line once, at a block boundary;
    the failed step's line says so in every later request."""
    requests = episode("json", error_at=0)
    ids = {id(r.observation): t for t, r in enumerate(requests)}
    got = [serial(build_messages(r, "json", history_block=3), ids) for r in requests]
    line = 'Step 1: {"type": "click", "x": 10, "y": 20} (failed: boom)'
    assert all(line not in g for g in got[:4]) and all(line in g for g in got[4:])
    assert all(g.index(line) == got[4].index(line) for g in got[4:])


def test_images_per_request_and_their_average() -> None:
    def counts(block: int) -> list[int]:
        return [
            len(list(iter_images(build_messages(r, "json", history_images=2, history_block=block))))
            - 1
            for r in episode("json")
        ]

    assert counts(1) == [0, 1, 2, 2, 2, 2, 2, 2, 2, 2]
    assert counts(3) == [0, 1, 2, 3, 1, 2, 3, 1, 2, 3]
    assert sum(counts(3)[1:]) / 9 == sum(counts(1)[3:]) / 7 == 2  # steady state: both 2


def test_the_prompt_of_a_step_is_deterministic() -> None:
    assert prompts("qwen2.5-vl", 3) == prompts("qwen2.5-vl", 3)
    requests = episode("ui-tars-1.5")
    first = build_messages(requests[7], "ui-tars-1.5", history_block=3)
    again = build_messages(requests[7], "ui-tars-1.5", history_block=3)
    assert first == again


def test_the_assistant_turns_are_the_raw_replies_byte_for_byte() -> None:
    requests = episode("json")
    msgs = build_messages(requests[9], "json", history_block=3)
    replies = [m["content"] for m in msgs if m["role"] == "assistant"]
    assert replies == [h.raw for h in requests[9].history[6:]]


def test_family_default_block() -> None:
    assert get_family("qwen2.5-vl").block(None, 2) == 3  # no authors' window: blocks
    assert get_family("gui-owl-1.5").block(None, 4) == 1  # the authors' window stays
    # UI-TARS's own runtime keeps its last screenshots as a sliding window
    assert get_family("ui-tars-1.5").block(None, 2) == get_family("ui-tars").block(None, 2) == 1
    assert get_family("qwen2.5-vl").block(None, 0) == 1
    assert get_family("gui-owl-1.5").block(5, 4) == 5
    with pytest.raises(ConfigError, match="history_block"):
        get_family("qwen2.5-vl").block(4, 2)
