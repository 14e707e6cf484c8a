"""Finding input fields OCR cannot see: rectangles drawn by borders or fills.

OCR reads a field's label or placeholder but not an empty box. The heuristic, kept simple:

1. an *edge mask*: neighbouring grey levels differ by more than ``EDGE_THRESHOLD`` (a 1 px
   ``#ccc`` border on white differs by 51, a faint ``#e5e5e5`` one by 26);
2. contours of that mask (OpenCV, which RapidOCR already depends on) give bounding
   rectangles; a rectangle is kept when ≥ ``SIDE_COVERAGE`` of each of its four sides lies on
   edge pixels (corners skipped, so rounded corners pass) and it is at least about a text
   line tall and a few characters wide;
3. *placeholder*: the text sits inside such a rectangle, near its left side with room to the
   right (a centred button label does not pass);
4. *label*: the nearest rectangle to the right on the same row, or below, starting near the
   label's left edge (within a few text heights). Nearest by gap in text heights, a gap
   below counting ``BELOW_WEIGHT`` times: the field on the label's row wins unless the one
   below is much closer (a stacked form puts its field right under the label).

Fields drawn as a bottom line only (Material) are not found; the caller then falls back to
the label itself, which focuses its input on the web (``<label for>``).
"""

from __future__ import annotations

import numpy as np

from model.grounding import Box

EDGE_THRESHOLD = 12
SIDE_COVERAGE = 0.8
REACH = 1600.0  # px searched to the right: a field must lie wholly inside the region
BELOW_WEIGHT = 2.0  # equal gaps: the field on the label's row wins over the one below


def _gray(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        return image.astype(np.int16)
    rgb = image[:, :, :3].astype(np.int32)
    return ((rgb[:, :, 0] * 299 + rgb[:, :, 1] * 587 + rgb[:, :, 2] * 114) // 1000).astype(np.int16)


def _edges(gray: np.ndarray) -> np.ndarray:
    """Pixels where the grey level jumps, marked on both sides of the jump."""
    e = np.zeros(gray.shape, dtype=bool)
    dx = np.abs(np.diff(gray, axis=1)) > EDGE_THRESHOLD
    dy = np.abs(np.diff(gray, axis=0)) > EDGE_THRESHOLD
    e[:, 1:] |= dx
    e[:, :-1] |= dx
    e[1:, :] |= dy
    e[:-1, :] |= dy
    return e


def _coverage(edges: np.ndarray, x1: int, y1: int, x2: int, y2: int) -> float:
    """Smallest fraction of a side of the rectangle lying on edge pixels (±1 px)."""
    h, w = edges.shape
    cut_x = max(2, min((x2 - x1) // 6, 10))
    cut_y = max(2, min((y2 - y1) // 6, 10))
    fracs = []
    for y in (y1, y2):
        ys = slice(max(y - 1, 0), min(y + 2, h))
        seg = edges[ys, x1 + cut_x : x2 - cut_x + 1].any(axis=0)
        fracs.append(seg.mean() if seg.size else 0.0)
    for x in (x1, x2):
        xs = slice(max(x - 1, 0), min(x + 2, w))
        seg = edges[y1 + cut_y : y2 - cut_y + 1, xs].any(axis=1)
        fracs.append(seg.mean() if seg.size else 0.0)
    return float(min(fracs))


def find_rects(
    image: np.ndarray,
    region: Box,
    *,
    min_h: float,
    max_h: float,
    min_w: float,
) -> list[Box]:
    """Bordered or filled rectangles inside ``region`` (screenshot px), outermost first."""
    import cv2

    ih, iw = image.shape[:2]
    rx1, ry1 = max(int(region[0]), 0), max(int(region[1]), 0)
    rx2, ry2 = min(int(region[2]), iw), min(int(region[3]), ih)
    if rx2 - rx1 < 8 or ry2 - ry1 < 8:
        return []
    edges = _edges(_gray(image[ry1:ry2, rx1:rx2]))
    contours, _ = cv2.findContours(
        edges.astype(np.uint8) * 255, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE
    )
    rects: list[Box] = []
    for c in contours:
        x, y, w, h = cv2.boundingRect(c)
        if not (min_h <= h <= max_h and w >= min_w):
            continue
        if _coverage(edges, x, y, x + w - 1, y + h - 1) < SIDE_COVERAGE:
            continue
        box = (float(x + rx1), float(y + ry1), float(x + w + rx1), float(y + h + ry1))
        if any(_same(box, r) for r in rects):
            continue
        rects.append(box)
    rects.sort(key=lambda b: -(b[2] - b[0]) * (b[3] - b[1]))
    return rects


def _same(a: Box, b: Box, tol: float = 4.0) -> bool:
    return all(abs(p - q) <= tol for p, q in zip(a, b, strict=True))


def enclosing_field(image: np.ndarray, text: Box) -> Box | None:
    """The input field a text (placeholder or value) sits in, if it sits in one."""
    x1, y1, x2, y2 = text
    th = max(y2 - y1, 8.0)
    region = (x1 - 3 * th, y1 - 2.5 * th, x2 + max(60 * th, REACH), y2 + 2.5 * th)
    best: Box | None = None
    for r in find_rects(image, region, min_h=th * 1.05, max_h=th * 4.0, min_w=(x2 - x1) + th):
        if not (r[0] < x1 and r[1] < y1 and r[2] > x2 and r[3] > y2):
            continue
        left_pad, right_pad = x1 - r[0], r[2] - x2
        if left_pad > 2.0 * th or right_pad < max(2.0 * th, 1.5 * left_pad):
            continue  # centred text: a button or a badge, not a field
        if best is None or (r[2] - r[0]) * (r[3] - r[1]) < (best[2] - best[0]) * (
            best[3] - best[1]
        ):
            best = r  # the tightest enclosing field
    return best


def field_near_label(image: np.ndarray, label: Box) -> Box | None:
    """The input field a label names: nearest rectangle right of it or below it."""
    x1, y1, x2, y2 = label
    th = max(y2 - y1, 8.0)
    cy = (y1 + y2) / 2.0
    options: list[tuple[float, Box]] = []
    right = (x2 + 1, y1 - 3 * th, x2 + max(60 * th, REACH), y2 + 3 * th)
    for r in find_rects(image, right, min_h=th * 0.9, max_h=th * 10, min_w=max(2 * th, 30.0)):
        if r[0] >= x2 - 2 and r[1] <= cy <= r[3]:
            gap = (r[0] - x2) / th
            if gap <= 20:
                options.append((gap, r))
    below = (x1 - 4 * th, y2 - 2, x1 + max(60 * th, REACH), y2 + 14 * th)
    for r in find_rects(image, below, min_h=th * 0.9, max_h=th * 10, min_w=max(2 * th, 30.0)):
        starts_near = abs(r[0] - x1) <= 3 * th or r[0] <= (x1 + x2) / 2 <= r[2]
        if r[1] >= y2 - 2 and starts_near:
            gap = (r[1] - y2) / th
            if gap <= 3:
                options.append((gap * BELOW_WEIGHT, r))
    if not options:
        return None
    options.sort(key=lambda o: (o[0], (o[1][2] - o[1][0]) * (o[1][3] - o[1][1])))
    return options[0][1]
