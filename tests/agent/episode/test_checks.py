"""The step check and the loop guard's counter, on real observations built from arrays."""

from __future__ import annotations

import numpy as np
import pytest

from agent.core.actions import parse_action
from agent.core.errors import ConfigError
from agent.core.observation import Observation
from agent.episode.checks import (
    LoopGuard,
    Pages,
    action_key,
    diff_step,
    parse_counts,
)


def _obs(paint: tuple[int, int, int, int] | None = None, url: str | None = None) -> Observation:
    a = np.full((120, 200, 3), 250, dtype=np.uint8)
    if paint is not None:
        x0, y0, x1, y1 = paint
        a[y0:y1, x0:x1] = 0
    return Observation(array=a, url=url)


def test_diff_reports_the_changed_region_in_screen_px() -> None:
    d = diff_step(_obs(), _obs((30, 40, 70, 50)))
    assert d.result == "changed"
    assert d.region == (30, 40, 70, 50)
    assert d.pixels == 400
    assert d.fraction == pytest.approx(400 / (200 * 120))


def test_faint_noise_widens_nothing_the_region_is_the_real_change() -> None:
    a = np.full((120, 200, 3), 250, dtype=np.uint8)
    a[5:110, 5:190] -= 10  # faint nearly everywhere (below the channel threshold)
    a[70:90, 120:150] = 0
    d = diff_step(_obs(), Observation(array=a))
    assert d.region == (120, 70, 150, 90) and d.pixels == 600


def test_diff_below_the_pixel_floor_is_no_change_and_a_new_url_is_change() -> None:
    small = diff_step(_obs(), _obs((0, 0, 4, 4)), min_pixels=16)
    assert small.result == "no_change" and small.region == (0, 0, 4, 4)
    page = diff_step(_obs(url="http://a/1"), _obs(url="http://a/2"))
    assert page.result == "changed" and page.page_changed and page.pixels == 0


def test_action_key_buckets_points_and_normalises_text() -> None:
    click = parse_action({"type": "click", "point": [100.0, 100.0]})
    near = parse_action({"type": "click", "point": [103.0, 101.0]})
    far = parse_action({"type": "click", "point": [140.0, 100.0]})
    assert action_key(click) == action_key(near) != action_key(far)
    t1 = parse_action({"type": "type", "text": "Hello  World"})
    t2 = parse_action({"type": "type", "text": "hello world"})
    assert action_key(t1) == action_key(t2)


def test_the_page_is_the_url_when_there_is_one() -> None:
    pages = Pages()
    assert pages.key(_obs(url="http://x/")) == pages.key(_obs((0, 0, 200, 120), url="http://x/"))
    assert pages.key(_obs(url="http://x/")) != pages.key(_obs(url="http://x/2"))


def test_a_small_change_stays_on_its_page_a_large_one_is_another() -> None:
    pages = Pages()
    first = pages.key(_obs())
    assert pages.key(_obs((10, 10, 16, 18))) == first  # a digit-sized change
    other = pages.key(_obs((0, 0, 200, 60)))  # half the screen
    assert other != first
    assert pages.key(_obs()) == first and pages.key(_obs((0, 0, 200, 60))) == other


def test_the_counter_nudges_at_exactly_the_configured_counts_then_stops() -> None:
    guard = LoopGuard(nudges=(3, 5), stop=6, stagnation=0, no_progress_k=100)
    click = parse_action({"type": "click", "point": [10.0, 10.0]})
    before, after = _obs(), _obs((0, 0, 50, 50))  # the screen changes: only repeats count
    fed, stops = [], []
    for n in range(1, 7):
        v = guard.after_step(before, [click], after)
        assert v.record["guard"]["repeats"] == n
        if v.feedback:
            fed.append(n)
            assert "click (10, 10)" in v.feedback
        stops.append(v.stop)
    assert fed == [3, 5]
    assert stops == [None] * 5 + ["loop"]


def test_another_page_is_another_pair() -> None:
    guard = LoopGuard(nudges=(2,), stagnation=0, no_progress_k=100)
    click = parse_action({"type": "click", "point": [10.0, 10.0]})
    a = guard.after_step(_obs(url="http://x/1"), [click], _obs(url="http://x/2"))
    b = guard.after_step(_obs(url="http://x/2"), [click], _obs(url="http://x/3"))
    assert a.feedback is None and b.feedback is None
    assert b.record["guard"]["repeats"] == 1


def test_stagnation_nudges_every_n_unchanged_steps() -> None:
    guard = LoopGuard(nudges=(), stagnation=2, no_progress_k=100)
    fed = []
    for n in range(1, 6):
        act = parse_action({"type": "click", "point": [float(20 * n), 10.0]})  # all different
        v = guard.after_step(_obs(), [act], _obs())
        assert v.record["check"]["result"] == "no_change"
        if v.feedback:
            fed.append((n, v.record["guard"]["nudges"]))
    assert fed == [(2, ["stagnation_2"]), (4, ["stagnation_4"])]


@pytest.mark.parametrize("bad", ["5,x", "1,5", "0"])
def test_bad_counts_are_a_config_error(bad: str) -> None:
    with pytest.raises(ConfigError, match="--loop-nudges"):
        parse_counts(bad)


def test_off_means_no_nudges_and_a_bad_stop_is_refused() -> None:
    assert parse_counts("off") == ()
    assert parse_counts("12,5,8") == (5, 8, 12)
    with pytest.raises(ConfigError, match="--loop-stop"):
        LoopGuard(stop=1)
