"""M-RoPE position ids for a Qwen2-VL text + image sequence, without a model.

Qwen2-VL rotates each token by three positions (temporal, height, width). Text tokens use
the same running index on all three; an image of ``t×h×w`` patches occupies
``t·(h/m)·(w/m)`` tokens (``m`` = spatial merge) laid out row-major, whose ids are
``start + (ti, hi, wi)``; the text after it resumes at ``start + max(h, w)/m``. The
``rope delta`` (max position + 1 − sequence length) lets generation continue with plain
1-D positions. Same result as transformers 5.x ``Qwen2VLModel.get_rope_index`` for one
unpadded sequence (attention mask all ones), computed here in numpy so that a prompt can be
planned (and checked against its images) before any model is loaded.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from agent.core.errors import VisionInputError


def _as_ids(input_ids: Any) -> tuple[np.ndarray, bool]:
    """1-D int64 numpy ids, and whether the caller gave a torch tensor."""
    is_torch = type(input_ids).__module__.startswith("torch")
    ids = input_ids.detach().cpu().numpy() if is_torch else np.asarray(input_ids)
    if ids.ndim == 2 and ids.shape[0] == 1:
        ids = ids[0]
    if ids.ndim != 1:
        raise VisionInputError(f"input_ids must be one sequence (1-D), got shape {ids.shape}")
    if ids.size == 0:
        raise VisionInputError("input_ids is empty")
    if not np.issubdtype(ids.dtype, np.integer):
        raise VisionInputError(f"input_ids must be integers, got {ids.dtype}")
    return ids.astype(np.int64, copy=False), is_torch


def _as_grids(image_grid_thw: Any, spatial_merge_size: int) -> list[tuple[int, int, int]]:
    if image_grid_thw is None:
        return []
    if hasattr(image_grid_thw, "tolist"):
        image_grid_thw = image_grid_thw.tolist()
    grids = []
    for g in image_grid_thw:
        if len(g) != 3:
            raise VisionInputError(f"each image grid is (t, h, w), got {g!r}")
        t, h, w = (int(v) for v in g)
        if t < 1 or h < 1 or w < 1 or h % spatial_merge_size or w % spatial_merge_size:
            raise VisionInputError(
                f"image grid {(t, h, w)} must be positive with h and w multiples of "
                f"spatial_merge_size={spatial_merge_size}"
            )
        grids.append((t, h, w))
    return grids


def mrope_position_ids(
    input_ids: Sequence[int] | np.ndarray | Any,
    image_grid_thw: Sequence[Sequence[int]] | np.ndarray | Any | None,
    *,
    image_token_id: int,
    vision_start_token_id: int | None,
    spatial_merge_size: int = 2,
) -> tuple[np.ndarray | Any, int]:
    """(3, seq_len) int64 position ids (temporal, height, width) and the rope delta.

    ``image_grid_thw`` lists each image's patch grid in prompt order (``VisionInputs.grid_thw``
    or the processor's ``image_grid_thw``). The ids are a torch tensor when ``input_ids`` is
    one (add a batch axis with ``ids[:, None]`` for transformers' ``(3, 1, L)`` layout),
    numpy otherwise. Raises :class:`VisionInputError` when the image tokens do not match the
    grids — the usual symptom of a placeholder built for another image size — or, when
    ``vision_start_token_id`` is given, when an image does not follow its start marker.
    """
    if spatial_merge_size < 1:
        raise VisionInputError(f"spatial_merge_size must be ≥ 1, got {spatial_merge_size}")
    ids, is_torch = _as_ids(input_ids)
    grids = _as_grids(image_grid_thw, spatial_merge_size)
    n = ids.size
    is_image = ids == image_token_id
    image_starts = np.flatnonzero(is_image)

    pos = np.empty((3, n), np.int64)
    cursor = 0  # next sequence index to fill
    current = 0  # next position id
    for k, (t, h, w) in enumerate(grids):
        later = image_starts[np.searchsorted(image_starts, cursor) :]
        if later.size == 0:
            raise VisionInputError(
                f"{len(grids)} image grids but the sequence has image tokens for only {k}"
            )
        start = int(later[0])
        lh, lw = h // spatial_merge_size, w // spatial_merge_size
        length = t * lh * lw
        end = start + length
        if end > n or not is_image[start:end].all():
            run = int(np.argmin(np.append(is_image[start:], False)))
            raise VisionInputError(
                f"image {k} with grid {(t, h, w)} needs {length} image tokens from index "
                f"{start}, but the run there has {run}"
            )
        if vision_start_token_id is not None and (
            start == 0 or ids[start - 1] != vision_start_token_id
        ):
            raise VisionInputError(
                f"image {k} at index {start} does not follow the vision start token"
            )
        text = start - cursor
        pos[:, cursor:start] = current + np.arange(text, dtype=np.int64)
        current += text
        block = pos[:, start:end].reshape(3, t, lh, lw)
        block[0] = current + np.arange(t, dtype=np.int64)[:, None, None]
        block[1] = current + np.arange(lh, dtype=np.int64)[None, :, None]
        block[2] = current + np.arange(lw, dtype=np.int64)[None, None, :]
        current += max(lh, lw)  # transformers 5.x: the temporal extent does not advance it
        cursor = end
    if is_image[cursor:].any():
        extra = int(is_image[cursor:].sum())
        raise VisionInputError(
            f"{extra} image tokens after the last of {len(grids)} images: "
            "the prompt and image_grid_thw disagree"
        )
    pos[:, cursor:] = current + np.arange(n - cursor, dtype=np.int64)
    delta = int(pos.max()) + 1 - n
    if is_torch:
        import torch

        return torch.from_numpy(pos).to(getattr(input_ids, "device", "cpu")), delta
    return pos, delta
