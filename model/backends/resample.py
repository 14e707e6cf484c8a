"""Catch a server that resamples our screenshots (a silent offset on every absolute click).

A server may feed the model another size than the one each image's
:class:`~agent.core.coords.Frame` planned: a hosted endpoint with its own pixel cap, a vLLM
started with a lower ``--mm-processor-kwargs max_pixels`` whose request overrides are not
trusted, an ``agent serve`` with a lower ``--max-image-tokens``. The model then answers in the
pixels of an image we never planned, and every ``abs`` point lands off target by the resize
ratio. The symptom is visible in the token counts: a Qwen image of ``w``×``h`` input pixels
costs ``image_tokens(w, h, factor)`` prompt tokens, and a resampled one costs another number.

How :class:`ResampleGuard` compares them, cheapest source first:

* **usage.image_tokens** (``agent serve`` reports it): compared with the Frames' sum on every
  response, at no cost.
* **usage.prompt_tokens** only (vLLM, most OpenAI-compatible servers): that count mixes the
  image tokens with the prompt's text tokens, and no tokenizer for a hosted model is at hand
  here. So once per (server, model, pixel settings, image size) the guard sends two probes
  that differ only in the image: one of the size the Frame planned, one reference square of
  16×16 grid cells (256 tokens, within any server's bounds). The text cancels out of the
  difference: ``server tokens = probe - reference + 256``. The probes are vLLM's ``/tokenize``
  (chat messages with images: the server's own preprocessing, no generation) when the server
  answers it in vLLM's shape, else a ``max_tokens=1`` chat completion. The result is cached
  for the process (``MEASURED``), so an episode pays two small requests on its first step and
  nothing after; every later request of the same size is checked against the cache.
* neither: nothing can be checked; :attr:`ResampleGuard.status` says ``unverified``.

A mismatch raises :class:`~agent.core.errors.ResampledInputError` before the reply reaches
the parser, so no action runs. When a ``max_pixels`` cap with Qwen's ``smart_resize``
explains the server's count (:func:`server_input_size`), the message names the input size the
server used and the ``--max-image-tokens`` that makes our own Frame match it (the Frame then
records ``resampled`` and its ``reason``).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from typing import Any

import httpx
import numpy as np

from agent.core.coords import MIN_PIXELS, NORM_SCALE, Frame, image_tokens, smart_resize
from agent.core.errors import NativeAgentError, ResampledInputError
from agent.core.observation import Observation
from model.backends.images import model_png, png_data_url
from model.prompts import ImagePart

REF_CELLS = 16  # the reference probe: a square of 16×16 grid cells = 256 image tokens
PROBE_TEXT = "Describe the image."
# server, model, pixel settings, input w, input h, factor → the server's image tokens
MEASURED: dict[tuple[str, str, str, int, int, int], int] = {}
_LOCK = threading.Lock()

Post = Callable[[dict[str, Any]], dict[str, Any]]


def expected_tokens(frames: Iterable[Frame]) -> int:
    """Image tokens the Frames plan, all images together."""
    return sum(image_tokens(f.input_w, f.input_h, f.factor) for f in frames)


def server_input_size(
    w: int, h: int, tokens: int, factor: int, min_pixels: int = MIN_PIXELS
) -> tuple[int, int] | None:
    """The (w, h) Qwen's ``smart_resize`` makes of a ``w``×``h`` image under the
    ``max_pixels`` cap that costs exactly ``tokens``; None when no cap explains the count.

    The result only changes where ``h / beta`` or ``w / beta`` crosses a multiple of
    ``factor`` (``beta = sqrt(w·h / max_pixels)``), so those caps are all that is tried."""
    caps = {(k * factor) ** 2 * w / h for k in range(1, h // factor + 2)}
    caps |= {(k * factor) ** 2 * h / w for k in range(1, w // factor + 2)}
    for cap in sorted(caps):
        try:
            rh, rw = smart_resize(h, w, factor, min_pixels=min_pixels, max_pixels=int(cap) + 1)
        except NativeAgentError:
            return None
        if image_tokens(rw, rh, factor) == tokens:
            return rw, rh
    return None


def resampled_error(
    url: str,
    frame_size: tuple[int, int, int],
    expected: int,
    reported: int,
    how: str,
    *,
    per_image: bool = True,
) -> ResampledInputError:
    """The error naming what the server did and the fixes (``per_image``: the counts are
    one image's, so the server's input size can be derived from them)."""
    w, h, factor = frame_size
    explain = per_image and reported < expected
    size = server_input_size(w, h, reported, factor) if explain else None
    seen = f" (it fed the model {size[0]}x{size[1]})" if size else ""
    cap = (
        f"pass --max-image-tokens {reported} so our Frame resamples to what the server "
        f"accepts (recorded in the step's frame), or "
        if size
        else ""
    )
    return ResampledInputError(
        f"{url} resampled the {w}x{h} model input{seen}: {how} {reported} image tokens where "
        f"the Frame planned {expected} ({w // factor}x{h // factor} cells of {factor} px), so "
        f"every absolute-pixel point would land off target. Fix: start vLLM with "
        f"--trust-request-mm-kwargs (our min/max_pixels then apply), or raise the server's "
        f"max_pixels (--mm-processor-kwargs '{{\"max_pixels\": {w * h}}}'), or "
        f"{cap}use a server that keeps the image size.",
        expected=expected,
        reported=reported,
        server_size=size,
    )


def probe_image(w: int, h: int, factor: int) -> dict[str, Any]:
    """A blank image of exactly ``w``×``h`` as the request sends it (a data-URL part)."""
    frame = Frame(screen_w=w, screen_h=h, input_w=w, input_h=h, factor=factor)
    obs = Observation(array=np.zeros((h, w, 3), dtype=np.uint8))
    return {
        "type": "image_url",
        "image_url": {"url": png_data_url(model_png(ImagePart(obs, frame)))},
    }


class ResampleGuard:
    """Checks each response of one server against the Frames of the images it was sent.

    ``post`` sends a chat-completions body (the backend's, with its retries and errors);
    ``client`` / ``root_url`` reach vLLM's ``/tokenize``."""

    def __init__(
        self, base_url: str, post: Post, client: httpx.Client, enabled: bool = True
    ) -> None:
        self.at(base_url)
        self.post = post
        self.client = client
        self.tokenize: bool | None = None  # None: not tried yet
        self.enabled = enabled
        self.status = "unchecked" if enabled else "off"  # then image_tokens|probe|unverified

    def at(self, base_url: str) -> None:
        """Check against this server from now on (one of several endpoints: the one that
        answered; its ``/tokenize`` measures)."""
        self.base_url = base_url
        self.root_url = base_url[: -len("/v1")] if base_url.endswith("/v1") else base_url

    def check(self, body: dict[str, Any], frames: list[Frame], data: dict[str, Any]) -> None:
        """Raise ResampledInputError when the server's token counts say it resampled an
        image whose points are absolute (``abs`` / ``screen`` conventions; a normalised
        point means the same spot at any resolution, so those images are not probed)."""
        frames = [f for f in frames if f.convention not in NORM_SCALE]
        if not frames or not self.enabled:
            return
        usage = data.get("usage")
        usage = usage if isinstance(usage, dict) else {}
        reported = _count(usage.get("image_tokens"))
        if reported is not None:
            self.status = "image_tokens"
            self._check_total(frames, reported)
            return
        if _count(usage.get("prompt_tokens")) is None:
            self.status = "unverified"
            return
        self.status = "probe"
        for size in sorted({(f.input_w, f.input_h, f.factor) for f in frames}):
            server = self.measure(body, *size)
            if server is not None and server != image_tokens(*size):
                raise resampled_error(
                    self.base_url, size, image_tokens(*size), server, "two probes measured"
                )

    def _check_total(self, frames: list[Frame], reported: int) -> None:
        """The server's own image-token count against the Frames' (per image when all
        images share one size)."""
        expected = expected_tokens(frames)
        if reported == expected:
            return
        sizes = {(f.input_w, f.input_h, f.factor) for f in frames}
        n = len(frames)
        if len(sizes) == 1 and reported % n == 0:
            (size,) = sizes
            raise resampled_error(
                self.base_url, size, image_tokens(*size), reported // n, "it counted"
            )
        f = max(frames, key=lambda f: f.input_w * f.input_h)
        raise resampled_error(
            self.base_url,
            (f.input_w, f.input_h, f.factor),
            expected,
            reported,
            f"for {n} images it counted",
            per_image=False,
        )

    def measure(self, body: dict[str, Any], w: int, h: int, factor: int) -> int | None:
        """The server's image tokens for a ``w``×``h`` input under ``body``'s pixel settings
        (cached; None when the server reports no token counts)."""
        pixels = {k: body.get(k) for k in ("mm_processor_kwargs", "min_pixels", "max_pixels")}
        key = (self.base_url, str(body.get("model")), json.dumps(pixels, sort_keys=True), w, h)
        with _LOCK:
            if (*key, factor) in MEASURED:
                return MEASURED[(*key, factor)]
        ref = REF_CELLS * factor
        probe = self._count_prompt(body, probe_image(w, h, factor))
        base = self._count_prompt(body, probe_image(ref, ref, factor))
        if probe is None or base is None:
            return None
        tokens = probe - base + REF_CELLS * REF_CELLS
        with _LOCK:
            MEASURED[(*key, factor)] = tokens
        return tokens

    def _count_prompt(self, body: dict[str, Any], image: dict[str, Any]) -> int | None:
        messages = [{"role": "user", "content": [image, {"type": "text", "text": PROBE_TEXT}]}]
        if self.tokenize is not False:
            count = self._tokenize(body, messages)
            if count is not None:
                return count
        skip = ("messages", "structured_outputs", "stop", "include_stop_str_in_output")
        probe = {k: v for k, v in body.items() if k not in skip}
        probe.update(messages=messages, max_tokens=1, temperature=0.0)
        usage = self.post(probe).get("usage")
        return _count(usage.get("prompt_tokens")) if isinstance(usage, dict) else None

    def _tokenize(self, body: dict[str, Any], messages: list[dict[str, Any]]) -> int | None:
        """vLLM's ``/tokenize`` of chat messages (None, and never again, when the server
        does not answer it in vLLM's shape: ``count`` and ``max_model_len``)."""
        req: dict[str, Any] = {"model": body.get("model"), "messages": messages}
        if body.get("mm_processor_kwargs"):
            req["mm_processor_kwargs"] = body["mm_processor_kwargs"]
        try:
            resp = self.client.post(f"{self.root_url}/tokenize", json=req)
            data = resp.json() if resp.status_code == 200 else None
        except (httpx.HTTPError, ValueError):
            data = None
        count = _count(data.get("count")) if isinstance(data, dict) else None
        if count is not None and "max_model_len" not in (data or {}):
            count = None  # not vLLM's answer: its meaning is unknown
        if self.tokenize is None:
            self.tokenize = count is not None
        return count


def _count(v: Any) -> int | None:
    """``v`` when it is a token count (a non-negative int, not a bool), else None."""
    return v if isinstance(v, int) and not isinstance(v, bool) and v >= 0 else None


def refused_mm_kwargs(resp: httpx.Response) -> bool:
    """An HTTP 400 whose structured ``error.param`` is ``mm_processor_kwargs`` (vLLM
    started without ``--trust-request-mm-kwargs``)."""
    if resp.status_code != 400:
        return False
    try:
        data = resp.json()
    except ValueError:
        return False
    err = data.get("error") if isinstance(data, dict) else None
    return isinstance(err, dict) and err.get("param") == "mm_processor_kwargs"


def without_mm_kwargs(body: dict[str, Any]) -> dict[str, Any]:
    """``body`` without the per-request ``mm_processor_kwargs``."""
    return {k: v for k, v in body.items() if k != "mm_processor_kwargs"}
