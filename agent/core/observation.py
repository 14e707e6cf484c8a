"""What an env hands over each step: one screenshot at native resolution and what the env
knows about it (:class:`Observation`), and the result of one action (:class:`StepResult`)."""

from __future__ import annotations

import io
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from agent.core.coords import Convention, Frame, Mode, Rotation

Box = tuple[float, float, float, float]  # screenshot px: left, top, right, bottom


@dataclass(frozen=True)
class PrivacyRequest:
    """What an env's privacy snapshots look for besides password fields: the secret values.
    The env compares them in Python (a page is never sent a value to compare against)."""

    secrets: tuple[str, ...] = ()


@dataclass(frozen=True)
class PrivacySnapshot:
    """What masking needs to know about one screenshot, read by the env with the capture.

    ``boxes`` (screenshot px) are what must be painted over: password fields with a value,
    fields and text that hold a requested secret. ``tied`` says whether they describe this
    very screenshot; when not (the page kept changing, the read failed, a secret is split
    over several nodes), ``reason`` says why and masking paints the whole screen.
    """

    boxes: tuple[Box, ...] = ()
    tied: bool = True
    source: str = "dom"
    request: PrivacyRequest = PrivacyRequest()
    version: tuple[Any, ...] | None = None
    reason: str | None = None

    @classmethod
    def untied(cls, reason: str, *, source: str, request: PrivacyRequest) -> PrivacySnapshot:
        return cls(tied=False, source=source, request=request, reason=reason)

    def covers(self, secrets: list[str] | tuple[str, ...]) -> bool:
        """Whether it was read looking for every one of ``secrets``."""
        return set(secrets) <= set(self.request.secrets)


class Observation:
    """One screenshot at native resolution plus what the env knows about it.

    Holds PNG bytes and/or a decoded RGB array and converts lazily, so an env that
    captures PNG (a browser) never decodes unless the model needs pixels, and the
    recorder can write the PNG it was given as-is.
    """

    def __init__(
        self,
        *,
        png: bytes | None = None,
        array: np.ndarray | None = None,
        scale: float = 1.0,
        offset: tuple[float, float] = (0.0, 0.0),
        rotation: Rotation = 0,
        url: str | None = None,
        title: str | None = None,
        app: str | None = None,
        last_action_error: str | None = None,
        extra: dict[str, Any] | None = None,
        size: tuple[int, int] | None = None,
        pointer: tuple[float, float] | None = None,
        privacy: PrivacySnapshot | None = None,
        timings: dict[str, float] | None = None,
    ) -> None:
        if png is None and array is None:
            raise ValueError("an Observation needs png bytes or an RGB array")
        self._png = png
        self._array = array
        self.scale = scale
        self.offset = offset
        self.rotation = rotation
        self.url = url
        self.title = title
        self.app = app
        self.last_action_error = last_action_error
        self.extra = extra or {}
        self._size = size
        self.pointer = pointer  # the env's pointer, screenshot px (set by Env.observe)
        self.privacy = privacy  # what masking needs, from envs that offer it
        self.timings = timings or {}  # env-side phases: capture_s, decode_s, settle_s
        self.captured_at = time.time()

    def copy(self, **changes: Any) -> Observation:
        """The same screenshot and facts with ``changes`` applied (a new ``array`` drops the
        PNG, which would no longer match); keeps ``captured_at``."""
        kw: dict[str, Any] = {
            "scale": self.scale,
            "offset": self.offset,
            "rotation": self.rotation,
            "url": self.url,
            "title": self.title,
            "app": self.app,
            "last_action_error": self.last_action_error,
            "extra": dict(self.extra),
            "size": self.size,
            "privacy": self.privacy,
            "timings": dict(self.timings),
            "pointer": self.pointer,
        }
        if "array" not in changes:
            kw["png"], kw["array"] = self._png, self._array
        kw.update(changes)
        out = Observation(**kw)
        out.captured_at = self.captured_at
        return out

    def with_error(self, error: str | None) -> Observation:
        """This screen again, reporting ``error`` (an action that was not executed)."""
        return self.copy(last_action_error=error)

    @property
    def array(self) -> np.ndarray:
        """H×W×3 uint8 RGB."""
        if self._array is None:
            assert self._png is not None
            with Image.open(io.BytesIO(self._png)) as im:
                self._array = np.asarray(im.convert("RGB"))
        return self._array

    @property
    def image(self) -> Image.Image:
        return Image.fromarray(self.array)

    @property
    def png(self) -> bytes:
        if self._png is None:
            buf = io.BytesIO()
            Image.fromarray(self.array).save(buf, format="PNG", compress_level=1)
            self._png = buf.getvalue()
        return self._png

    @property
    def has_png(self) -> bool:
        return self._png is not None

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in screenshot px, read from the PNG header when not decoded."""
        if self._size is None:
            if self._array is not None:
                self._size = (self._array.shape[1], self._array.shape[0])
            else:
                assert self._png is not None
                w = int.from_bytes(self._png[16:20], "big")
                h = int.from_bytes(self._png[20:24], "big")
                self._size = (w, h)
        return self._size

    def frame(
        self,
        *,
        mode: Mode = "pad",
        max_tokens: int | None = None,
        convention: Convention = "norm1000",
        factor: int | None = None,
        min_pixels: int | None = None,
        divisor: float | None = None,
    ) -> Frame:
        """The Frame of this screenshot for a model with the given input conventions (grid
        ``factor`` 28 or 32, resize floor ``min_pixels``, relative ``divisor``); it carries
        the pointer."""
        kw: dict[str, Any] = {} if max_tokens is None else {"max_tokens": max_tokens}
        if divisor is not None:
            kw["divisor"] = divisor
        if factor is not None:
            kw["factor"] = factor
        if min_pixels is not None:
            kw["min_pixels"] = min_pixels
        w, h = self.size
        return Frame.for_screen(
            w,
            h,
            mode=mode,
            convention=convention,
            scale=self.scale,
            offset=self.offset,
            rotation=self.rotation,
            pointer=self.pointer,
            **kw,
        )

    def meta(self) -> dict[str, Any]:
        """JSON-safe description (no pixels), for recordings."""
        w, h = self.size
        return {
            "width": w,
            "height": h,
            "scale": self.scale,
            "offset": list(self.offset),
            "rotation": self.rotation,
            "url": self.url,
            "title": self.title,
            "app": self.app,
            "last_action_error": self.last_action_error,
            **({"extra": self.extra} if self.extra else {}),
        }


@dataclass
class StepResult:
    observation: Observation
    reward: float = 0.0
    terminated: bool = False
    truncated: bool = False
    info: dict[str, Any] = field(default_factory=dict)
