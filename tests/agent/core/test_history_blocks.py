"""The history window (agent.core.model.history_window): sliding, and in blocks."""

from __future__ import annotations

import pytest

from agent.core.errors import ConfigError
from agent.core.model import HistoryItem, history_window


def items(n: int) -> list[HistoryItem]:
    return [HistoryItem(i, f"raw {i}") for i in range(n)]


def shown_steps(n: int, *, images: int = 2, block: int = 1, steps: int | None = 20) -> list[int]:
    return [h.index for h in history_window(items(n), steps=steps, images=images, block=block)[1]]


def test_sliding_window_keeps_the_last_images() -> None:
    assert [len(shown_steps(n)) for n in range(10)] == [0, 1, 2, 2, 2, 2, 2, 2, 2, 2]
    assert shown_steps(7) == [5, 6]
    held, _ = history_window(items(30), steps=20, images=2)
    assert [h.index for h in held] == list(range(10, 30))


def test_blocks_grow_by_one_and_drop_three_at_once() -> None:
    # history_images=2, B=3: m = 1, the window holds 1, 2, 3, 1, 2, 3 ... screenshots
    assert [len(shown_steps(n, block=3)) for n in range(10)] == [0, 1, 2, 3, 1, 2, 3, 1, 2, 3]
    assert shown_steps(3, block=3) == [0, 1, 2]
    assert shown_steps(4, block=3) == [3]  # steps 0-2 dropped together
    assert shown_steps(6, block=3) == [3, 4, 5]
    for n in range(1, 40):  # append-only between boundaries: request n+1 = request n + one
        now, nxt = shown_steps(n, block=3), shown_steps(n + 1, block=3)
        boundary = (n + 1 - 1) % 3 == 0  # request n + 1 has n + 1 - m ≡ 0 (mod B)
        assert nxt == [*now, n] or boundary, n
        assert (nxt == [*now, n]) != boundary or n == 0, n


@pytest.mark.parametrize(("images", "block"), [(2, 3), (2, 5), (3, 5), (4, 3), (1, 3), (5, 9)])
def test_blocks_average_the_sliding_windows_images(images: int, block: int) -> None:
    m = images - (block - 1) // 2
    for start in range(m, m + block):  # any `block` consecutive requests once n ≥ m
        counts = [
            len(shown_steps(n, images=images, block=block)) for n in range(start, start + 4 * block)
        ]
        assert sum(counts) == images * len(counts), (start, counts)
        assert min(counts) == m and max(counts) == m + block - 1


def test_the_text_window_moves_with_the_image_window() -> None:
    # history_steps=4, history_images=2, B=3: text steps = image steps + the 2 before them
    for n in range(1, 30):
        held, shown = history_window(items(n), steps=4, images=2, block=3)
        first = shown[0].index if shown else n
        assert [h.index for h in held] == list(range(max(0, first - 2), n)), n
    held, _ = history_window(items(9), steps=0, images=0, block=1)
    assert held == []


def test_the_window_of_a_window_is_itself() -> None:
    """The loop windows the history, then the message builder windows the request again."""
    for block in (1, 3, 5):
        for n in range(25):
            held, shown = history_window(items(n), steps=6, images=2, block=block)
            again = history_window(held, steps=6, images=2, block=block)
            assert (again[0], again[1]) == (held, shown), (block, n)


def test_the_block_follows_step_numbers_not_list_length() -> None:
    resumed = [HistoryItem(i, "") for i in range(20, 24)]  # a resumed episode's steps 20-23
    _, shown = history_window(resumed, steps=20, images=2, block=3)
    assert [h.index for h in shown] == [21, 22, 23]  # n = 24: start ⌊(24 - 1) / 3⌋ · 3 = 21


@pytest.mark.parametrize(("images", "block"), [(2, 2), (2, 0), (2, 7), (0, 3), (1, -1)])
def test_a_block_that_cannot_keep_the_average_is_a_config_error(images: int, block: int) -> None:
    with pytest.raises(ConfigError, match="history_block"):
        history_window(items(5), steps=20, images=images, block=block)
