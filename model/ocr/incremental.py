"""Tile-local, incremental OCR: a screen's text read as a pure function of its tiles.

RapidOCR's detector (PP-OCR DB) has squeeze-excitation blocks — global average pools — so on
a whole screenshot every pixel nudges every box: a cart counter changing top right moves a
line at the bottom left by a pixel. No OCR of a part can then equal a full OCR. So here the
full OCR itself is local:

* **Detection in tiles.** The detector input (the screenshot resized as RapidOCR does, sides
  rounded to multiples of 32) is cut into ``tile``-px cores; each core's probability map is
  computed from the core plus ``margin`` px of context on every side and pasted into one
  map. Text crossing a core edge is seen whole by both tiles, so the stitched map holds it
  as one blob; RapidOCR's own DB post-processing then turns the whole map into boxes.
* **Recognition per line.** Each line crop is recognised with its own padding (crops no
  wider than the recogniser's 320 px are batched together, wider ones alone), so a line's
  text depends on its pixels only, not on which lines share its batch.

Incremental reading keeps ONE previous screen (same size, same scope): a tile whose input
(core + margin) is pixel-identical keeps its probability map, and a line whose box is
unchanged and whose pixels are identical keeps its text. Everything else is computed. The
result is therefore exactly the full OCR of the new screen; a screen that changed
everywhere, or changed size, is simply a full OCR.
"""

from __future__ import annotations

import math
import time
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

import numpy as np

from model.grounding import Box, TextLine, Word

DET_TILE = 320  # core side in detector px (a multiple of 32)
DET_MARGIN = 16  # context on each side of a core (2 × margin: a multiple of 32)
UNIFORM_MEMO = 16  # probability maps of single-colour tile inputs kept
CROP_SLACK = 3  # px around a line's box that its (bicubic) crop reads


@dataclass
class Screen:
    """What is kept of the last screen read: enough to redo only what changed."""

    scope: Hashable
    image: np.ndarray  # BGR, the original pixels
    resized: np.ndarray  # BGR, the detector input (before normalisation)
    prob: np.ndarray  # the stitched probability map, detector px
    reads: dict[bytes, TextLine | None]  # quad bytes → line (None: rejected crop)


def det_tiles(w: int, h: int, tile: int) -> list[Box]:
    """The cores (x0, y0, x1, y1) of a w×h detector input, row by row."""
    return [
        (x0, y0, min(w, x0 + tile), min(h, y0 + tile))
        for y0 in range(0, h, tile)
        for x0 in range(0, w, tile)
    ]


def quad_box(quad: np.ndarray) -> Box:
    pts = np.asarray(quad, dtype=float).reshape(-1, 2)
    return (float(pts[:, 0].min()), float(pts[:, 1].min()),
            float(pts[:, 0].max()), float(pts[:, 1].max()))  # fmt: skip


class TiledOcr:
    """Detection in tiles and recognition per line on one RapidOCR instance's models."""

    def __init__(
        self,
        ocr: Any,
        *,
        tile: int = DET_TILE,
        margin: int = DET_MARGIN,
        text_score: float = 0.5,
        word_boxes: bool = True,
    ) -> None:
        if tile < 32 or tile % 32 or margin < 0 or (2 * margin) % 32:
            raise ValueError("det tile must be a multiple of 32 (≥ 32), 2 × margin of 32")
        self.ocr = ocr
        self.tile = tile
        self.margin = margin
        self.text_score = text_score
        self.word_boxes = word_boxes
        self.screen: Screen | None = None
        self._uniform: dict[tuple[Any, ...], np.ndarray] = {}

    def applicable(self, shape: tuple[int, ...]) -> bool:
        """Screens the detector reads at (about) their own size. Images RapidOCR pads, or
        enlarges for the detector (a crop, a small window), take its own pipeline: their
        text is large there, and tiles would cut it."""
        h, w = shape[:2]
        g, d = self.ocr.cfg.Global, self.ocr.cfg.Det
        ratio = g.width_height_ratio
        if str(d.limit_type) == "max":
            scale = d.limit_side_len / max(h, w) if max(h, w) > d.limit_side_len else 1.0
        else:
            scale = d.limit_side_len / min(h, w) if min(h, w) < d.limit_side_len else 1.0
        return (
            scale <= 1.0
            and g.min_side_len <= min(h, w)
            and max(h, w) <= g.max_side_len
            and h > g.min_height
            and (ratio == -1 or w / h <= ratio)
            and not g.use_cls
        )

    def forget(self) -> None:
        self.screen = None

    def warm_up(self) -> None:
        """Load both ONNX sessions and run each once on a tiny input."""
        det = self.ocr._load_det_model()
        rec = self.ocr._load_rec_model()
        det.session(np.zeros((1, 3, 64, 64), dtype=np.float32))
        rec.session(np.zeros((1, 3, 48, 320), dtype=np.float32))

    # ---- one screen ----------------------------------------------------------------------
    def read(
        self, rgb: np.ndarray, scope: Hashable, stages: dict[str, float], work: dict[str, int]
    ) -> list[TextLine]:
        """The lines of an RGB screenshot; stages get seconds, work gets counts."""
        from rapidocr.utils.process_img import get_rotate_crop_image

        t0 = time.perf_counter()
        det = self.ocr._load_det_model()
        image = np.ascontiguousarray(rgb[:, :, ::-1])
        pre = det.get_preprocess()
        resized = pre.resize(image)
        hh, ww = resized.shape[:2]
        prev = self.screen
        if prev is not None and (prev.scope != scope or prev.image.shape != image.shape
                                 or prev.resized.shape != resized.shape):  # fmt: skip
            prev = None
        tiles = det_tiles(ww, hh, self.tile)
        m = self.margin
        if prev is None:
            changed = [True] * len(tiles)
            prob = np.zeros((hh, ww), dtype=np.float32)
        else:
            blocks = self._changed_blocks(prev.resized, resized)
            changed = [
                bool(blocks[max(0, y0 - m) // 16 : -(-(y1 + m) // 16),
                            max(0, x0 - m) // 16 : -(-(x1 + m) // 16)].any())
                for x0, y0, x1, y1 in tiles
            ]  # fmt: skip
            prob = prev.prob.copy()
        stages["diff"] = time.perf_counter() - t0

        t1 = time.perf_counter()
        px = runs = 0
        for (x0, y0, x1, y1), todo in zip(tiles, changed, strict=True):
            if not todo:
                continue
            ix0, iy0, ix1, iy1 = max(0, x0 - m), max(0, y0 - m), min(ww, x1 + m), min(hh, y1 + m)
            pads = ((iy0 - (y0 - m), (y1 + m) - iy1), (ix0 - (x0 - m), (x1 + m) - ix1))
            real = resized[iy0:iy1, ix0:ix1]
            first = real[0, 0]
            memo = None
            if (real == first).all():  # one colour: its map depends on colour, size, pads
                memo = (first.tobytes(), real.shape, pads)
                hit = self._uniform.get(memo)
                if hit is not None:
                    prob[y0:y1, x0:x1] = hit
                    continue
            x = pre.permute(pre.normalize(real))
            widths = [(0, 0), *((int(a), int(b)) for a, b in pads)]
            x = np.pad(x, widths) if any(map(any, pads)) else x
            p = np.asarray(det.session(np.expand_dims(x, 0).astype(np.float32)))
            core = p[0, 0, m : m + y1 - y0, m : m + x1 - x0]
            prob[y0:y1, x0:x1] = core
            px += x.shape[1] * x.shape[2]
            runs += 1
            if memo is not None:
                if len(self._uniform) >= UNIFORM_MEMO:
                    self._uniform.pop(next(iter(self._uniform)))
                self._uniform[memo] = core.copy()
        work.update(det_px=px, det_runs=runs, det_tiles=sum(changed), tiles=len(tiles))
        stages["det"] = time.perf_counter() - t1

        t2 = time.perf_counter()
        h, w = image.shape[:2]
        boxes, _scores = det.postprocess_op(prob[None, None], (h, w))
        stages["post"] = time.perf_counter() - t2

        t3 = time.perf_counter()
        reads: dict[bytes, TextLine | None] = {}
        crops: list[tuple[bytes, np.ndarray, np.ndarray]] = []
        for quad in boxes:
            key = np.asarray(quad, dtype=np.float32).tobytes()
            if key in reads:
                continue
            if prev is not None and key in prev.reads and self._same_pixels(prev, image, quad):
                reads[key] = prev.reads[key]
                continue
            q = np.array(quad, dtype=np.float32)
            crops.append((key, q, get_rotate_crop_image(image, q.copy())))
        for key, line in self._recognise(crops).items():
            reads[key] = line
        work.update(crops=len(crops), reused=len(reads) - len(crops))
        stages["rec"] = time.perf_counter() - t3
        self.screen = Screen(scope, image, resized, prob, reads)
        return [ln for ln in reads.values() if ln is not None]

    @staticmethod
    def _changed_blocks(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Which 16×16 blocks of the detector input differ (exact pixel comparison)."""
        h, w = a.shape[:2]
        diff = (a != b).reshape(h // 16, 16, w // 16, 16 * a.shape[2])
        return diff.any(axis=(1, 3))

    @staticmethod
    def _same_pixels(prev: Screen, image: np.ndarray, quad: np.ndarray) -> bool:
        h, w = image.shape[:2]
        x0, y0, x1, y1 = quad_box(quad)
        xa, ya = max(0, math.floor(x0) - CROP_SLACK), max(0, math.floor(y0) - CROP_SLACK)
        xb, yb = min(w, math.ceil(x1) + CROP_SLACK + 1), min(h, math.ceil(y1) + CROP_SLACK + 1)
        return bool(np.array_equal(prev.image[ya:yb, xa:xb], image[ya:yb, xa:xb]))

    def _recognise(
        self, crops: list[tuple[bytes, np.ndarray, np.ndarray]]
    ) -> dict[bytes, TextLine | None]:
        """Text of each crop, padded on its own: narrow crops in one call (all padded to the
        recogniser's width), each wider crop alone (padded to its own width)."""
        if not crops:
            return {}
        from rapidocr.ch_ppocr_rec import TextRecInput

        rec = self.ocr._load_rec_model()
        _c, ih, iw = rec.rec_image_shape[:3]
        narrow = [c for c in crops if c[2].shape[1] / c[2].shape[0] <= iw / ih]
        groups = [narrow] if narrow else []
        groups += [[c] for c in crops if c[2].shape[1] / c[2].shape[0] > iw / ih]
        out: dict[bytes, TextLine | None] = {}
        for group in groups:
            res = rec(TextRecInput(img=[c[2] for c in group], return_word_box=self.word_boxes))
            for i, (key, quad, crop) in enumerate(group):
                text, score = str(res.txts[i]), float(res.scores[i])
                if not text.strip() or score < self.text_score:
                    out[key] = None
                    continue
                info = res.word_results[i] if self.word_boxes else None
                words = self._words(crop, quad, text, info)
                out[key] = TextLine(text, quad_box(quad), score, words)
        return out

    def _words(self, crop: np.ndarray, quad: np.ndarray, text: str, info: Any) -> tuple[Word, ...]:
        """Word boxes from the CTC alignment (RapidOCR's own calculation), kept only when
        they spell the line (else the matcher estimates spans proportionally)."""
        from rapidocr.ch_ppocr_rec import TextRecOutput

        if info is None:
            return ()
        try:
            res = self.ocr.cal_rec_boxes(
                [crop], quad[None].copy(), TextRecOutput(txts=(text,), word_results=(info,)), False
            )
            found = res.word_results[0]
            ws = tuple(Word(str(t), quad_box(b)) for t, _s, b in found if b is not None)
        except (TypeError, ValueError, IndexError):
            return ()
        if "".join(wd.text for wd in ws).replace(" ", "") != text.replace(" ", ""):
            return ()
        return ws
