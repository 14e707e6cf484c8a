"""RapidOCR (v3) on native-resolution screenshots, cached per image and read incrementally.

What RapidOCR does to a large image, and how we configure it:

* ``Global.max_side_len`` (default 2000) shrinks any image whose long side exceeds it
  *before* detection; a DSF-2 or 4K screenshot would lose half its pixels. We raise it to
  4096 so screenshots up to 4K are read as captured.
* The detector resizes again by ``Det.limit_type`` / ``Det.limit_side_len``: ``max``
  shrinks the long side to the limit (PaddleOCR's classic default is max/960: 12 px UI text at
  1920×1080 then falls to ~6 px and is lost or merged); ``min`` only *enlarges* images whose
  short side is below the limit. We keep ``min`` / 736: a 1920×1080 or 1280×800 screenshot is
  detected at its own size (rounded to multiples of 32), tiny crops are enlarged.
* Recognition always crops from the full-resolution image, so only detection is affected.
* Detection normalisation: RapidOCR's config feeds the detector ``(x - 0.5) / 0.5``;
  PaddleOCR's own DB detector configs use the ImageNet mean/std. On large, sparse screens
  (a dialog on an empty 1920×1080 desktop) the 0.5/0.5 inputs leave the probability map
  below ``box_thresh`` and whole buttons vanish; ImageNet statistics detect them (and read
  the bundled sites as well or better: 243 vs 239 of 269 DOM strings at 1280 and 1920 px).
* Very sparse large screens still lose small text (≤ 12 px on an empty 1920×1080 canvas):
  when the full pass finds fewer than ``sparse_lines`` lines on an image larger than
  ``TILE`` px, the image is read again in overlapping tiles and the lines merged.
* The angle classifier (``use_cls``) is off: screen text is upright, it costs time and can
  flip a line by 180°.
* ``return_word_box`` gives word boxes (from the CTC alignment) that make sub-line spans
  exact; it costs little.
* Screen-shaped images are detected in ``det_tile``-px tiles with context and recognised
  line by line (:mod:`model.ocr.incremental`), so that, with ``incremental``, the next
  screen costs only its changed tiles and lines and still equals a full read. ``det_tile=0``
  is RapidOCR's own whole-image pipeline (no incremental reading).

RapidOCR wants BGR for arrays; :attr:`Observation.array` is RGB, so we flip channels.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from agent.core.errors import ConfigError, ModelError, VisionInputError
from model.grounding import Box, TextLine, Word
from model.ocr.incremental import DET_TILE, TiledOcr

IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]
TILE = 960  # side of the tiles of the sparse-screen second pass
TILE_OVERLAP = 160


@dataclass(frozen=True)
class OcrResult:
    """Lines read from one image (screenshot px), with how long reading took."""

    lines: tuple[TextLine, ...]
    size: tuple[int, int]  # (width, height)
    digest: str
    seconds: float
    stages: dict[str, float] = field(default_factory=dict)
    work: dict[str, int] = field(default_factory=dict)  # det_px, crops, reused, ...


def image_digest(image: np.ndarray) -> str:
    """Content hash of an image (shape included): the OCR cache key."""
    h = hashlib.blake2b(digest_size=16)
    h.update(repr((image.shape, str(image.dtype))).encode())
    h.update(np.ascontiguousarray(image).data)
    return h.hexdigest()


def _quad_to_box(quad: Any) -> Box:
    pts = np.asarray(quad, dtype=float).reshape(-1, 2)
    return (
        float(pts[:, 0].min()),
        float(pts[:, 1].min()),
        float(pts[:, 0].max()),
        float(pts[:, 1].max()),
    )


def _shift(box: Box, dx: float, dy: float) -> Box:
    return (box[0] + dx, box[1] + dy, box[2] + dx, box[3] + dy)


def tiles(w: int, h: int, tile: int = TILE, overlap: int = TILE_OVERLAP) -> list[Box]:
    """Overlapping tiles (x0, y0, x1, y1) of at most about ``tile`` px covering w×h."""

    def cuts(n: int) -> list[tuple[int, int]]:
        k = max(1, math.ceil((n - overlap) / (tile - overlap)))
        if k == 1:
            return [(0, n)]
        size = math.ceil((n + (k - 1) * overlap) / k)
        return [
            (min(i * (size - overlap), n - size), min(i * (size - overlap), n - size) + size)
            for i in range(k)
        ]

    return [(x0, y0, x1, y1) for y0, y1 in cuts(h) for x0, x1 in cuts(w)]


def merge_lines(lines: list[TextLine]) -> list[TextLine]:
    """Drop lines read twice (tile overlaps, or the full pass and a tile): of two lines
    that mostly overlap, the longer text stays."""
    kept: list[TextLine] = []
    for ln in sorted(lines, key=lambda x: (-len(x.text), -x.score)):
        if not any(_cover(ln.box, k.box) > 0.5 for k in kept):
            kept.append(ln)
    return kept


def _cover(a: Box, b: Box) -> float:
    """Intersection over the smaller box's area."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    small = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return ix * iy / small if small > 0 else 0.0


class OcrEngine:
    """A RapidOCR instance plus a small LRU cache of results keyed by image content, so
    several instructions (or a grounding and a field search) on one screen OCR it once."""

    def __init__(
        self,
        *,
        det_limit_side_len: int = 736,
        det_limit_type: str = "min",
        max_side_len: int = 4096,
        text_score: float = 0.5,
        use_cls: bool = False,
        word_boxes: bool = True,
        imagenet_norm: bool = True,
        sparse_lines: int = 3,
        threads: int | None = None,
        cache_size: int = 8,
        det_tile: int = DET_TILE,
        incremental: bool = True,
        params: dict[str, Any] | None = None,
    ) -> None:
        if det_limit_type not in ("min", "max"):
            raise ConfigError(f"det_limit_type must be 'min' or 'max', got {det_limit_type!r}")
        try:
            from rapidocr import RapidOCR
        except ModuleNotFoundError as err:
            raise ConfigError(
                "the OCR grounder needs rapidocr and onnxruntime: pip install 'native-agent[ocr]'"
            ) from err
        cfg: dict[str, Any] = {
            "Global.log_level": "error",
            "Global.use_cls": use_cls,
            "Global.text_score": text_score,
            "Global.max_side_len": max_side_len,
            "Det.limit_side_len": det_limit_side_len,
            "Det.limit_type": det_limit_type,
        }
        if imagenet_norm:
            cfg["Det.mean"], cfg["Det.std"] = IMAGENET_MEAN, IMAGENET_STD
        if threads is not None:
            cfg["EngineConfig.onnxruntime.intra_op_num_threads"] = threads
        cfg.update(params or {})
        self.settings = {**cfg, "det_tile": det_tile, "incremental": incremental}
        self.word_boxes = word_boxes
        self.sparse_lines = sparse_lines
        try:
            self._ocr = RapidOCR(params=cfg)
        except Exception as err:  # rapidocr raises plain exceptions for bad configs
            raise ModelError(f"could not start RapidOCR: {err}") from err
        self.tiled: TiledOcr | None = None
        if det_tile:
            try:
                self.tiled = TiledOcr(
                    self._ocr, tile=det_tile, text_score=text_score, word_boxes=word_boxes
                )
            except ValueError as err:
                raise ConfigError(str(err)) from err
        self.incremental = incremental
        self._cache: OrderedDict[str, OcrResult] = OrderedDict()
        self._cache_size = max(0, cache_size)
        self._lock = threading.Lock()
        self._run_lock = threading.Lock()  # one inference at a time; the warm-up holds it
        self._warm: threading.Thread | None = None
        self.hits = 0
        self.misses = 0

    def warm_up(self, background: bool = True) -> threading.Thread | None:
        """Load the ONNX sessions and run each once, in a daemon thread by default, so the
        first screen does not pay for it (a read meanwhile waits for it to finish)."""
        if self._warm is not None:
            return self._warm

        def work() -> None:
            with self._run_lock:
                try:
                    if self.tiled is not None:
                        self.tiled.warm_up()
                    else:
                        self._ocr(np.full((64, 64, 3), 255, np.uint8))
                except Exception:  # a failed warm-up is retried (and reported) by a read
                    pass

        if not background:
            work()
            return None
        self._warm = threading.Thread(target=work, name="ocr-warm-up", daemon=True)
        self._warm.start()
        return self._warm

    def join_warm_up(self, timeout: float = 120.0) -> None:
        """Wait for a background warm-up to finish: a process that exits while ONNX Runtime
        is still loading in that thread aborts ("terminate called without an active
        exception") instead of exiting with its own status."""
        if self._warm is not None:
            self._warm.join(timeout)

    def read(self, image: np.ndarray, *, scope: Hashable = None) -> OcrResult:
        """OCR an H×W×3 RGB uint8 screenshot at its own resolution (cached by content).

        With ``incremental`` the previous screen read with the same ``scope`` and size is
        the base: only its changed tiles and lines are computed again (the result equals a
        full read; see :mod:`model.ocr.incremental`)."""
        if image.ndim != 3 or image.shape[2] not in (3, 4) or image.dtype != np.uint8:
            raise VisionInputError(
                f"OCR needs an H×W×3 uint8 RGB image, got {image.shape} {image.dtype}"
            )
        if image.shape[2] == 4:
            image = image[:, :, :3]
        key = image_digest(image)
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                self.hits += 1
                return hit
        with self._run_lock:
            result = self._run(image, key, scope)
        with self._lock:
            self.misses += 1
            if self._cache_size:
                self._cache[key] = result
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        return result

    def clear_cache(self, *, screen: bool = True) -> None:
        """Forget cached results and (``screen``) the incremental base."""
        with self._lock:
            self._cache.clear()
        if screen:
            self.forget_screen()

    def forget_screen(self) -> None:
        """Drop the incremental base: the next read is a full one (a new episode or env)."""
        if self.tiled is not None:
            with self._run_lock:
                self.tiled.forget()

    def _run(self, image: np.ndarray, key: str, scope: Hashable) -> OcrResult:
        t0 = time.perf_counter()
        stages: dict[str, float] = {}
        work: dict[str, int] = {}
        if self.tiled is not None and self.tiled.applicable(image.shape):
            if not self.incremental:
                self.tiled.forget()
            try:
                lines = self.tiled.read(image, scope, stages, work)
            except Exception as err:
                self.tiled.forget()
                h, w = image.shape[:2]
                raise ModelError(f"RapidOCR failed on a {w}x{h} image: {err}") from err
        else:
            lines = self._read(image, 0, 0, stages)
        h, w = image.shape[:2]
        if len(lines) < self.sparse_lines and max(h, w) > TILE * 1.25:
            t1 = time.perf_counter()
            for x0, y0, x1, y1 in tiles(w, h):
                lines += self._read(image[y0:y1, x0:x1], int(x0), int(y0), {})
            lines = merge_lines(lines)
            stages["tiles"] = time.perf_counter() - t1
        lines.sort(key=lambda ln: (round(ln.box[1] / 8), ln.box[0]))
        return OcrResult(tuple(lines), (w, h), key, time.perf_counter() - t0, stages, work)

    def _read(
        self, image: np.ndarray, x0: int, y0: int, stages: dict[str, float]
    ) -> list[TextLine]:
        """One RapidOCR pass; boxes shifted by (x0, y0) into screenshot px."""
        bgr = np.ascontiguousarray(image[:, :, ::-1])
        try:
            out = self._ocr(bgr, return_word_box=self.word_boxes)
        except Exception as err:
            h, w = image.shape[:2]
            raise ModelError(f"RapidOCR failed on a {w}x{h} image: {err}") from err
        for name, v in zip(
            ("det", "cls", "rec"), getattr(out, "elapse_list", []) or [], strict=False
        ):
            if isinstance(v, float):
                stages[name] = stages.get(name, 0.0) + v
        txts = getattr(out, "txts", None)
        boxes = getattr(out, "boxes", None)
        if not txts or boxes is None:
            return []
        scores = getattr(out, "scores", None) or (1.0,) * len(txts)
        words = self._words(out, len(txts))
        lines = []
        for i, (quad, text, score) in enumerate(zip(boxes, txts, scores, strict=False)):
            ws = tuple(Word(wd.text, _shift(wd.box, x0, y0)) for wd in words[i])
            lines.append(TextLine(str(text), _shift(_quad_to_box(quad), x0, y0), float(score), ws))
        return lines

    def _words(self, out: Any, n: int) -> list[tuple[Word, ...]]:
        """Word boxes per line. RapidOCR drops empty word lists when filtering, which can
        misalign them with the lines; each list is checked against its line's text and
        unusable ones are left empty (the matcher then estimates spans proportionally)."""
        empty: list[tuple[Word, ...]] = [()] * n
        wr = getattr(out, "word_results", None)
        if not self.word_boxes or not wr or len(wr) != n:
            return empty
        result = list(empty)
        for i, (line_words, text) in enumerate(zip(wr, out.txts, strict=False)):
            try:
                ws = tuple(
                    Word(str(t), _quad_to_box(b)) for t, _s, b in line_words if b is not None
                )
            except (TypeError, ValueError):
                continue
            if "".join(w.text for w in ws).replace(" ", "") == str(text).replace(" ", ""):
                result[i] = ws
        return result
