"""Zoom-in grounding: ground on the whole screen, then again on a native-resolution crop
around the first answer.

At native resolution a crop adds no pixels; it removes clutter — a 25 % crop of a 4K screen
is about a sixteenth of the image tokens, for one more call. :class:`ZoomGrounder` wraps any
:class:`~model.grounders.base.DescriptionGrounder`:

* ``off``: the inner grounder as is;
* ``always``: first pass on the whole screen → a crop (agent/core/crops.py: full size, shifted
  at the edges, optionally snapped to the model grid) centred on its point → second pass with
  ``region=crop`` → the second pass's point (full-screen px);
* ``uncertain``: ``k`` first-pass samples (the inner grounder's own ``samples`` when it has
  one); zoom only when they disagree by more than ``threshold`` CSS px (or some failed),
  centred on the medoid sample.

``upscale=True`` sends the inner grounder the crop's bicubic ×2 image (the only resampling,
recorded) instead of a region, and maps its answer back. When the second pass fails (or
answers outside the crop), the first pass's point is returned, and the record says so.

The result is the final pass's :class:`Grounded` (its prompt, raw answer and model point),
``crop`` set to the window read, ``latency_s`` and ``usage`` summed over every pass, and
``zoom`` = ``{"mode", "zoomed", "first": first pass, "samples": [...], "spread_px",
"threshold_px", "crop", "upscale", "resampling", "fallback": why, "second": failed pass}``
(keys present when they apply). A failure is never turned into a point.
"""

from __future__ import annotations

import math
import statistics
import time
from dataclasses import replace
from typing import Any, Literal, Protocol, runtime_checkable

from agent.core.crops import (
    Crop,
    crop_box_to_screen,
    crop_observation,
    crop_size,
    crop_to_screen,
)
from agent.core.crops import crop_window as plan_window
from agent.core.errors import ConfigError
from agent.core.observation import Observation
from model.grounders.base import Box, DescriptionGrounder, Grounded, GroundingFailure

ZoomMode = Literal["off", "always", "uncertain"]
MODES: tuple[str, ...] = ("off", "always", "uncertain")
Result = Grounded | GroundingFailure


@runtime_checkable
class SamplingGrounder(Protocol):
    """A grounder that can answer ``k`` samples at once (its own spread)."""

    def samples(
        self, observation: Observation, description: str, k: int, region: Box | None = None
    ) -> list[Result]: ...


class ZoomGrounder:
    """Two-pass grounding around ``inner`` (see the module docstring)."""

    def __init__(
        self,
        inner: DescriptionGrounder,
        mode: str = "off",
        *,
        fraction: float | None = 0.25,
        size: tuple[float, float] | None = None,
        css: bool = False,
        factor: int | None = None,
        upscale: bool = False,
        k: int = 3,
        threshold: float = 16.0,
    ) -> None:
        if mode not in MODES:
            raise ConfigError(f"zoom mode must be one of {', '.join(MODES)}, got {mode!r}")
        if size is not None:
            fraction = None
        if fraction is None and size is None:
            raise ConfigError("zoom needs a crop fraction or a crop size")
        if fraction is not None and not (0 < fraction <= 1):
            raise ConfigError(f"zoom fraction must be in (0, 1], got {fraction}")
        if size is not None and not all(math.isfinite(v) and v > 0 for v in size):
            raise ConfigError(f"zoom crop size must be two positive numbers, got {size}")
        if factor is not None and (factor < 2 or factor % 2):
            raise ConfigError(
                f"zoom grid factor must be an even patch x merge (28, 32), got {factor}"
            )
        if k < 2 and mode == "uncertain" and not isinstance(inner, SamplingGrounder):
            raise ConfigError(f"uncertain zoom needs k ≥ 2 samples to compare, got k={k}")
        if not (math.isfinite(threshold) and threshold >= 0):
            raise ConfigError(f"zoom threshold must be ≥ 0 CSS px, got {threshold}")
        self.inner = inner
        self.mode: ZoomMode = mode  # type: ignore[assignment]
        self.fraction, self.size, self.css, self.factor = fraction, size, css, factor
        self.upscale = 2 if upscale else 1
        self.k, self.threshold = k, threshold
        self.name = inner.name if mode == "off" else f"{inner.name}+zoom"

    def crop_for(self, observation: Observation, center: tuple[float, float]) -> Crop:
        """The window a second pass around ``center`` (screenshot px) reads."""
        w, h = observation.size
        cw, ch = crop_size(
            w,
            h,
            fraction=self.fraction,
            size=self.size,
            css=self.css,
            scale=observation.scale,
            factor=self.factor,
        )
        return plan_window(w, h, center, (cw, ch), upscale=self.upscale)

    def ground(
        self, observation: Observation, description: str, region: Box | None = None
    ) -> Result:
        if self.mode == "off" or region is not None:  # a caller's region: already narrowed
            return self.inner.ground(observation, description, region)
        t0 = time.perf_counter()
        record: dict[str, Any] = {"mode": self.mode, "zoomed": False}
        first, passes = self._first_pass(observation, description, record)
        if isinstance(first, GroundingFailure):
            return replace(first, zoom=record, **_totals(passes, t0))
        record["first"] = first.to_json()
        if self.mode == "uncertain" and not record["uncertain"]:
            return replace(first, zoom=record, **_totals(passes, t0))
        crop = self.crop_for(observation, first.point)
        record.update(zoomed=True, crop=list(crop.box), upscale=crop.upscale)
        if crop.resampling:
            record["resampling"] = crop.resampling
        second = self._second_pass(observation, description, crop)
        passes.append(second)
        why = _second_pass_problem(second, crop)
        if why is not None:
            record["fallback"] = why
            record["second"] = second.to_json()
            return replace(first, zoom=record, **_totals(passes, t0))
        assert isinstance(second, Grounded)
        return replace(second, crop=crop.box, zoom=record, **_totals(passes, t0))

    # ---- passes ----------------------------------------------------------------------

    def _first_pass(
        self, observation: Observation, description: str, record: dict[str, Any]
    ) -> tuple[Result, list[Result]]:
        """(the first pass's answer, every call made); in ``uncertain`` mode the medoid of
        the samples, with the spread and the decision in ``record``."""
        if self.mode == "always":
            one = self.inner.ground(observation, description)
            return one, [one]
        if isinstance(self.inner, SamplingGrounder):
            got = list(self.inner.samples(observation, description, self.k))
        else:
            got = [self.inner.ground(observation, description) for _ in range(self.k)]
        record["samples"] = [s.to_json() for s in got]
        ok = [s for s in got if isinstance(s, Grounded)]
        if not ok:
            return got[0], got
        med = (
            statistics.median(s.point[0] for s in ok),
            statistics.median(s.point[1] for s in ok),
        )
        spread = max(math.dist(s.point, med) for s in ok)
        limit = self.threshold * observation.scale
        record.update(spread_px=round(spread, 2), threshold_px=limit)
        failed = len(got) - len(ok)
        if failed:
            record["failed_samples"] = failed
        record["uncertain"] = bool(failed) or spread > limit
        medoid = min(ok, key=lambda s: math.dist(s.point, med))
        return medoid, got

    def _second_pass(self, observation: Observation, description: str, crop: Crop) -> Result:
        if crop.upscale == 1:
            return self.inner.ground(observation, description, region=crop.box)
        view = crop_observation(observation, crop)
        out = self.inner.ground(view, description)
        if isinstance(out, GroundingFailure):
            return replace(out, crop=crop.box)
        box = None if out.box is None else crop_box_to_screen(crop, *out.box)
        return replace(out, point=crop_to_screen(crop, *out.point), box=box)


def _second_pass_problem(second: Result, crop: Crop) -> str | None:
    if isinstance(second, GroundingFailure):
        return f"second pass failed: {second.reason}"
    if not crop.contains(*second.point):
        x, y = second.point
        return f"second pass answered ({x:.1f}, {y:.1f}), outside the crop {list(crop.box)}"
    return None


def _totals(passes: list[Result], t0: float) -> dict[str, Any]:
    usage: dict[str, int] = {}
    for p in passes:
        for key, n in p.usage.items():
            usage[key] = usage.get(key, 0) + n
    return {"latency_s": time.perf_counter() - t0, "usage": usage}
