"""``agent models``: every family from the registry, each space's dialect and coordinates."""

from __future__ import annotations

import json

import pytest

from agent.cli import main
from model.parsers import spec_for
from model.profiles import PROFILES


def test_models_json_lists_every_family_with_its_dialect_per_space(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["models", "--json"]) == 0
    infos = {i["family"]: i for i in json.loads(capsys.readouterr().out)}
    assert set(infos) == set(PROFILES)
    for name, p in PROFILES.items():
        spaces = infos[name]["action_spaces"]
        assert list(spaces) == list(p.action_spaces)
        for space, d in spaces.items():
            dialect = spec_for(p.format_for(space))
            assert d["dialect"] == dialect.name
            assert d["coordinates"] == dialect.coords.describe()
        assert infos[name]["grid"] == p.grid and infos[name]["max_pixels"] == p.max_pixels
        steps, images = p.history(None, None)
        block = p.block(None, images)
        assert infos[name]["history"] == {"steps": steps, "images": images, "block": block}
        authors = p.history_steps is not None or p.history_images is not None
        own = p.history_block  # UI-TARS: its runtime's sliding window
        assert block == (own or (1 if authors or not images else 3)), name


def test_models_names_the_999_space_of_the_qwen3_mobile_cookbook(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["models", "qwen3-vl"]) == 0
    out = capsys.readouterr().out
    assert "mobile    qwen3-vl-mobile: 0-999" in out
    assert "computer  qwen3-vl: 0-1000" in out
    assert "grounding qwen3-vl: 0-1000" in out  # the cookbook's bbox_2d grounding request
    assert main(["models", "qwen3.5"]) == 0
    assert "grounding" not in capsys.readouterr().out  # no grounding prompt: no space


def test_models_unknown_family_is_a_config_error_listing_the_known(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["models", "no-such-vl"]) == 2
    err = capsys.readouterr().err
    assert "unknown model family 'no-such-vl'" in err and "qwen2.5-vl" in err
