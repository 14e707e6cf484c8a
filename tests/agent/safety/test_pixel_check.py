"""The pixel check without a browser: its rule (runs of 4 characters in one normal form), its
fail-closed path, its setting; and text rendered into an image read by the real OCR."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from agent.core.errors import ConfigError, ModelError
from agent.core.observation import Observation, PrivacyRequest, PrivacySnapshot
from agent.safety.masking import MASK_RGB, mask_and_scrub
from agent.safety.pixelcheck import RUN, RunMatcher, ocr_form, runs
from agent.safety.secrets import PIXEL_CHECK_ENV, Secrets
from agent.safety.targets import TargetReader

SECRET = "QUOKKA7193"


def test_a_secret_is_its_runs_of_four_in_the_normal_form() -> None:
    assert RUN == 4
    assert runs("Ab 1{") == frozenset({"abl("})  # spaces gone, 1 → l, { → (, case folded
    assert runs("abc") == frozenset({"abc"})  # shorter than a run: the whole value
    assert len(runs(SECRET)) == len(SECRET) - 3
    assert ocr_form("ＱＵＯＫ\u200bＫＡ") == "quokka"  # NFKC, zero-width space dropped
    assert ocr_form("QUОKKA") == "quokka"  # a Cyrillic О


@pytest.mark.parametrize(
    ("line", "hit"),
    [
        ("Welcome QUOKKA7193!", True),
        ("kka71", True),  # four of its characters in a row
        ("Q U O K", True),  # OCR spaced it out
        ("QU0KKA", True),  # OCR read O as 0
        ("QUO-KKA", False),  # no four in a row: "-" is a character
        ("Welcome back", False),
    ],
)
def test_a_line_matches_on_any_run(line: str, hit: bool) -> None:
    matcher = RunMatcher([("pw", SECRET), ("other", "zzzzzz")])
    assert (matcher.secret_in(line) == "pw") is hit
    found = matcher.hits([(line, (1.0, 2.0, 3.0, 4.0))])
    assert [(h.secret, h.box) for h in found] == ([("pw", (1.0, 2.0, 3.0, 4.0))] if hit else [])


class _BrokenOcr:
    """An OCR engine that fails on every read (the fault the check must survive)."""

    calls = 0

    def read(self, image: np.ndarray, **kw: Any) -> Any:
        type(self).calls += 1
        raise ModelError("the OCR model could not run")


def _snapshot_obs() -> Observation:
    arr = np.full((60, 120, 3), 250, np.uint8)
    snap = PrivacySnapshot(boxes=(), request=PrivacyRequest((SECRET,)))
    return Observation(array=arr, privacy=snap)


def test_a_failing_check_masks_the_whole_image_and_says_why() -> None:
    reader = TargetReader(ocr=_BrokenOcr())  # type: ignore[arg-type]
    out = mask_and_scrub(_snapshot_obs(), Secrets({"pw": SECRET}), reader)
    assert (out.array == MASK_RGB).all()
    assert out.extra["mask_reason"] == "the pixel check failed (ModelError)"


def test_the_setting_turns_the_check_off_and_only_on_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reader = TargetReader(ocr=_BrokenOcr())  # type: ignore[arg-type]
    before = _BrokenOcr.calls
    off = Secrets({"pw": SECRET}, pixel_check=False)
    assert (mask_and_scrub(_snapshot_obs(), off, reader).array == 250).all()  # not read
    on = Secrets({"pw": SECRET})
    assert (mask_and_scrub(_snapshot_obs(), on, reader, pixel_check=False).array == 250).all()
    assert _BrokenOcr.calls == before
    assert (mask_and_scrub(_snapshot_obs(), off, reader, pixel_check=True).array != 250).all()
    assert Secrets.from_sources(["pw=abcd"], environ={}).pixel_check
    assert not Secrets.from_sources(environ={PIXEL_CHECK_ENV: "0"}).pixel_check
    assert Secrets.from_sources(environ={PIXEL_CHECK_ENV: "on"}).pixel_check
    with pytest.raises(ConfigError, match=f"{PIXEL_CHECK_ENV} must be 1 or 0"):
        Secrets.from_sources(environ={PIXEL_CHECK_ENV: "maybe"})


def test_no_secrets_no_check() -> None:
    reader = TargetReader(ocr=_BrokenOcr())  # type: ignore[arg-type]
    out = mask_and_scrub(_snapshot_obs(), Secrets(), reader)
    assert "mask_reason" not in out.extra and (out.array == 250).all()


def test_ocr_without_the_package_is_a_config_error_naming_the_fix() -> None:
    class _NoOcr:
        @property
        def ocr(self) -> Any:
            raise ConfigError("the OCR grounder needs rapidocr and onnxruntime")

    with pytest.raises(ConfigError, match=f"set {PIXEL_CHECK_ENV}=0"):
        mask_and_scrub(_snapshot_obs(), Secrets({"pw": SECRET}), _NoOcr())  # type: ignore[arg-type]


def test_text_the_snapshot_missed_is_masked_line_by_line_by_the_real_ocr() -> None:
    img = Image.new("RGB", (640, 200), "white")
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default(size=28)
    draw.text((20, 30), "PELICAN", fill="black", font=font)
    draw.text((20, 120), f"code {SECRET}", fill="black", font=font)
    snap = PrivacySnapshot(boxes=(), request=PrivacyRequest((SECRET,)))
    obs = Observation(array=np.asarray(img), privacy=snap)
    out = mask_and_scrub(obs, Secrets({"pw": SECRET}), TargetReader())
    hits = out.extra["pixel_hits"]
    assert [h["secret"] for h in hits] == ["pw"] and "mask_reason" not in out.extra
    x1, y1, x2, y2 = hits[0]["box"]
    assert y1 < 150 < y2 and x1 < 120 < x2
    assert (out.array[int(y1) : int(y2), int(x1) : int(x2)] == MASK_RGB).all()  # its line
    assert (out.array[:100] == obs.array[:100]).all()  # PELICAN's line is left alone
    assert out.extra["masked"] == 1
