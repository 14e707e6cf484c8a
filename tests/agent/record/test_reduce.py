"""The reducer: hand-built golden event streams and generated ones (hypothesis)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from agent.core.actions import dump_action, parse_action
from agent.core.inputs import RawEvent
from agent.record.reduce import ReduceConfig, chord, reduce_events


def acts(events: list[RawEvent], **cfg: float) -> list[dict]:
    return [dump_action(r.action) for r in reduce_events(events, ReduceConfig(**cfg))]


def click(t: float, x: float, y: float, button: str = "left", **kw) -> list[RawEvent]:
    return [
        RawEvent(t, "down", x, y, button=button, **kw),  # type: ignore[arg-type]
        RawEvent(t + 0.08, "up", x, y, button=button),  # type: ignore[arg-type]
    ]


def keys(t: float, text: str, dt: float = 0.05) -> list[RawEvent]:
    out = []
    for i, ch in enumerate(text):
        shift = ("shift",) if ch.isupper() else ()
        out.append(RawEvent(t + i * dt, "key_down", key=ch.lower(), text=ch, modifiers=shift))
        out.append(RawEvent(t + i * dt + 0.02, "key_up", key=ch.lower(), modifiers=shift))
    return out


def key(t: float, name: str, *mods: str) -> list[RawEvent]:
    return [
        RawEvent(t, "key_down", key=name, modifiers=mods),
        RawEvent(t + 0.03, "key_up", key=name),
    ]


FIELD = {"tag": "input", "box": [10, 20, 200, 40]}


def test_golden_form_fill() -> None:
    """Moves dropped; click, typed text with Shift and a Backspace, Enter folded in, a
    chord, a named key, a scroll burst coalesced."""
    events = [
        RawEvent(0.0, "move", 5, 5),
        RawEvent(0.1, "move", 50, 30),
        RawEvent(0.2, "down", 50, 30, button="left", target=FIELD),
        RawEvent(0.25, "move", 51, 30),
        RawEvent(0.3, "up", 51, 30, button="left"),
        *keys(1.0, "Helo"),
        *key(1.3, "backspace"),
        *keys(1.4, "lo W"),
        *key(2.0, "enter"),
        *key(3.0, "a", "ctrl"),
        *key(3.5, "tab"),
        RawEvent(4.0, "wheel", 300, 200, dy=100),
        RawEvent(4.1, "wheel", 300, 200, dy=100),
        RawEvent(4.2, "move", 301, 200),
        RawEvent(4.3, "wheel", 300, 200, dy=120),
    ]
    assert acts(events) == [
        {"type": "click", "point": [50.0, 30.0]},
        {"type": "type", "text": "Hello W", "clear": False, "enter": True},
        {"type": "key", "keys": "ctrl+a"},
        {"type": "key", "keys": "tab"},
        {"type": "scroll", "direction": "down", "amount": 3, "point": [300.0, 200.0]},
    ]
    reduced = reduce_events(events)
    assert reduced[0].target == FIELD and reduced[0].start == 0.2 and reduced[0].end == 0.3
    assert reduced[1].start == 1.0 and reduced[1].end == 2.0


def test_double_click_by_interval_and_distance() -> None:
    twice = [*click(0.0, 100, 100), *click(0.3, 102, 101)]
    assert [a["type"] for a in acts(twice)] == ["double_click"]
    assert reduce_events(twice)[0].end == 0.38
    slow = [*click(0.0, 100, 100), *click(0.6, 100, 100)]
    assert [a["type"] for a in acts(slow)] == ["click", "click"]
    far = [*click(0.0, 100, 100), *click(0.2, 110, 100)]
    assert [a["type"] for a in acts(far)] == ["click", "click"]
    # the parameters decide (a longer interval makes the slow pair a double click)
    assert [a["type"] for a in acts(slow, double_click_s=0.7)] == ["double_click"]
    # a third click starts afresh
    thrice = [*click(0.0, 100, 100), *click(0.2, 100, 100), *click(0.4, 100, 100)]
    assert [a["type"] for a in acts(thrice)] == ["double_click", "click"]
    # right clicks never pair
    rights = [*click(0.0, 1, 1, "right"), *click(0.2, 1, 1, "right")]
    assert [a["type"] for a in acts(rights)] == ["right_click", "right_click"]


def test_buttons_and_drag() -> None:
    assert acts(click(0, 5, 6, "middle")) == [{"type": "middle_click", "point": [5.0, 6.0]}]
    jitter = [
        RawEvent(0.0, "down", 10, 10, button="left"),
        RawEvent(0.1, "move", 15, 13),
        RawEvent(0.2, "up", 14, 12, button="left"),
    ]
    assert acts(jitter) == [{"type": "click", "point": [10.0, 10.0]}]
    drag = [
        RawEvent(0.0, "down", 10, 10, button="left"),
        RawEvent(0.1, "move", 60, 40),
        RawEvent(0.3, "move", 120, 80),
        RawEvent(0.4, "up", 120, 80, button="left"),
    ]
    assert acts(drag) == [{"type": "drag", "start": [10.0, 10.0], "end": [120.0, 80.0]}]
    assert reduce_events(drag)[0].events == 4
    # a key pressed while the button is held: the drag began first, so it comes first
    held = [drag[0], *key(0.05, "escape"), *drag[1:]]
    assert [a["type"] for a in acts(held)] == ["drag", "key"]
    # away and back while held: a drag that ends where it began, not a click
    back = [
        RawEvent(0.0, "down", 10, 10, button="left"),
        RawEvent(0.1, "move", 80, 10),
        RawEvent(0.2, "up", 11, 10, button="left"),
    ]
    assert acts(back) == [{"type": "drag", "start": [10.0, 10.0], "end": [11.0, 10.0]}]
    # a press still held when the recording stops is dropped; an up without a down too
    assert acts([RawEvent(0, "down", 1, 1, button="left"), RawEvent(1, "up", 1, 1)][:1]) == []
    assert acts([RawEvent(0, "up", 1, 1, button="left")]) == []


def test_keys_and_runs() -> None:
    # Backspace with no run open is a key; a run erased completely is dropped
    assert acts([*key(0, "backspace")]) == [{"type": "key", "keys": "backspace"}]
    assert acts([*keys(0, "ab"), *key(0.2, "backspace"), *key(0.3, "backspace")]) == []
    # erased, then Enter: only the Enter remains
    assert acts([*keys(0, "a"), *key(0.1, "backspace"), *key(0.2, "enter")]) == [
        {"type": "key", "keys": "enter"}
    ]
    # modifiers alone are dropped; shift+tab and ctrl+shift+t are chords in our order
    assert acts([*key(0, "shift"), *key(0.1, "tab", "shift")]) == [
        {"type": "key", "keys": "shift+tab"}
    ]
    assert acts(key(0, "t", "shift", "ctrl")) == [{"type": "key", "keys": "ctrl+shift+t"}]
    assert chord("+", ("ctrl",)) == "ctrl+plus"
    assert acts(key(0, "ArrowLeft")) == [{"type": "key", "keys": "left"}]
    # a key typed twice (key_down, then the same character as committed text) counts once;
    # text from an input method alone is typed
    echo = [RawEvent(0, "key_down", key="x", text="x"), RawEvent(0.01, "text", text="x")]
    assert acts(echo) == [{"type": "type", "text": "x", "clear": False, "enter": False}]
    ime = [RawEvent(0, "text", text="日本"), RawEvent(0.5, "text", text="語")]
    assert acts(ime)[0]["text"] == "日本語"
    # a click ends a run: click, type, click, type stay four actions
    seq = [*click(0, 1, 1), *keys(0.5, "ab"), *click(1, 2, 2), *keys(1.5, "c")]
    assert [a["type"] for a in acts(seq)] == ["click", "type", "click", "type"]


def test_scroll_directions_and_gaps() -> None:
    up_then_down = [
        RawEvent(0.0, "wheel", 1, 1, dy=-100),
        RawEvent(0.1, "wheel", 1, 1, dy=100),
    ]
    assert [(a["direction"], a["amount"]) for a in acts(up_then_down)] == [("up", 1), ("down", 1)]
    gap = [RawEvent(0.0, "wheel", 1, 1, dx=40), RawEvent(1.0, "wheel", 1, 1, dx=300)]
    assert [(a["direction"], a["amount"]) for a in acts(gap)] == [("right", 1), ("right", 3)]
    assert acts(gap, wheel_gap_s=2.0)[0]["amount"] == 3


# ---- generated streams ---------------------------------------------------------------------

CHARS = st.text(
    alphabet=st.characters(min_codepoint=32, max_codepoint=126, exclude_characters="\x7f"),
    min_size=1,
    max_size=30,
)


@settings(max_examples=60, deadline=None)
@given(text=CHARS, dt=st.floats(0.01, 2.0))
def test_generated_typing_is_one_run(text: str, dt: float) -> None:
    got = acts(keys(0.0, text, dt))
    assert got == [{"type": "type", "text": text, "clear": False, "enter": False}]


@settings(max_examples=60, deadline=None)
@given(
    points=st.lists(st.tuples(st.integers(0, 2000), st.integers(0, 2000)), min_size=1, max_size=12),
    gap=st.floats(0.51, 3.0),
)
def test_generated_clicks_far_apart_in_time(points: list[tuple[int, int]], gap: float) -> None:
    events = [e for i, (x, y) in enumerate(points) for e in click(i * gap, x, y)]
    got = acts(events)
    assert got == [{"type": "click", "point": [float(x), float(y)]} for x, y in points]


KINDS = ("down", "up", "move", "wheel", "key_down", "key_up", "text")
event = st.builds(
    RawEvent,
    t=st.floats(0, 100),
    kind=st.sampled_from(KINDS),
    x=st.one_of(st.none(), st.floats(0, 4000)),
    y=st.one_of(st.none(), st.floats(0, 4000)),
    button=st.one_of(st.none(), st.sampled_from(("left", "right", "middle"))),
    key=st.one_of(st.none(), st.sampled_from(("a", "enter", "shift", "backspace", "tab", "+"))),
    text=st.one_of(st.none(), st.text(max_size=3)),
    dx=st.floats(-500, 500),
    dy=st.floats(-500, 500),
    modifiers=st.lists(st.sampled_from(("ctrl", "shift", "alt", "meta")), max_size=2).map(tuple),
)


@settings(max_examples=100, deadline=None)
@given(st.lists(event, max_size=40))
def test_any_stream_reduces_to_valid_ordered_actions(events: list[RawEvent]) -> None:
    out = reduce_events(events)
    assert [r.start for r in out] == sorted(r.start for r in out)
    for r in out:
        assert r.start <= r.end
        assert parse_action(dump_action(r.action)) == r.action
    assert reduce_events(events) == out  # pure: the same events, the same actions
