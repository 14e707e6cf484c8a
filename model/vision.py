"""Native-resolution image input for Qwen2-VL-family models.

A screenshot becomes model input in one of two ways, as its :class:`~agent.core.coords.Frame` says:

* ``pad`` (default): pad right/bottom to the next multiple of 28 — no resampling, so every
  screen pixel reaches the model as captured and model coordinates map back exactly;
* ``resize``: resample to the Frame's input size (smart_resize), bicubic exactly as
  transformers' Qwen2-VL image processors do (``resampler="pil"`` or ``"torchvision"``).

:func:`qwen2vl_inputs` then builds ``pixel_values`` / ``image_grid_thw`` equal to
``Qwen2VLImageProcessor`` (bit-equal to the torchvision backend, within 1 ulp of the PIL
backend) in one blocked pass: pad, normalise and patch-order a few rows at a time in cache,
writing each output byte once. Sizes come from :mod:`agent.core.coords` only.

torch is optional: it is needed only for ``return_tensors="pt"`` and the torchvision
resampler; everything else runs on numpy + Pillow (HTTP backends need no torch).
"""

from __future__ import annotations

import functools
import itertools
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from PIL import Image

from agent.core.coords import Frame
from agent.core.errors import ConfigError, VisionInputError

if TYPE_CHECKING:
    import torch

    from model.profiles import Profile

OPENAI_CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
RESCALE_FACTOR = 1 / 255
# Hard limit on the *captured* image, checked from its header before any pixel is touched:
# 100 MP is ~12 4K screens; anything larger is a bug or a hostile file, not a screenshot.
MAX_INPUT_PIXELS = 100_000_000
# Padding is black: it is what a capture shows outside the display (letterbox), it is
# transformers' own pad fill, and it cannot be mistaken for a light UI surface that could
# invite clicks; the model sees a uniform strip that carries no content.
PAD_VALUE = 0

VISION_START = "<|vision_start|>"
IMAGE_PAD = "<|image_pad|>"
VISION_END = "<|vision_end|>"

Resampler = Literal["pil", "torchvision"]

_BLOCK_FLOATS = 1 << 18  # ~1 MB float32 scratch per block: stays in cache between passes


@functools.cache
def _torch() -> ModuleType | None:
    """torch, imported on first use (it is slow to import and optional)."""
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is installed in the dev venv
        return None
    return torch


@dataclass(frozen=True)
class VisionInputs:
    """What a Qwen2-VL model takes for one image, plus the Frame that produced it."""

    pixel_values: Any  # torch.FloatTensor or np.ndarray float32, (t*h*w, C*T*p*p)
    image_grid_thw: Any  # torch.LongTensor or np.ndarray int64, (1, 3)
    num_image_tokens: int
    frame: Frame

    @property
    def grid_thw(self) -> tuple[int, int, int]:
        t, h, w = (int(v) for v in np.asarray(self.image_grid_thw).reshape(-1)[:3])
        return t, h, w

    @property
    def placeholder(self) -> str:
        """The prompt text this image occupies (see :func:`image_placeholder`)."""
        return image_placeholder(self.num_image_tokens)


def image_placeholder(num_tokens: int) -> str:
    """Prompt text for one image: start marker, one pad token per image token, end marker."""
    if num_tokens < 1:
        raise VisionInputError(f"an image needs at least one token, got {num_tokens}")
    return VISION_START + IMAGE_PAD * num_tokens + VISION_END


# ---- input checks and RGB conversion ---------------------------------------------------


def _check_size(width: int, height: int, max_input_pixels: int) -> None:
    if width <= 0 or height <= 0:
        raise VisionInputError(f"empty image ({width}x{height})")
    if width * height > max_input_pixels:
        raise VisionInputError(
            f"image of {width}x{height} = {width * height / 1e6:.1f} MP exceeds the limit of "
            f"{max_input_pixels / 1e6:.1f} MP (max_input_pixels); capture a smaller region"
        )


def _composite_on_white(image: Image.Image) -> np.ndarray:
    """Transparency over white, as transformers' ``convert_to_rgb`` does."""
    rgba = image.convert("RGBA")
    background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return np.asarray(Image.alpha_composite(background, rgba).convert("RGB"))


def as_rgb_array(
    image: Image.Image | np.ndarray, *, max_input_pixels: int = MAX_INPUT_PIXELS
) -> np.ndarray:
    """Any PIL image or H×W[×1|3|4] uint8 array → H×W×3 uint8 RGB (a view when possible).

    The size limit is checked before any conversion, so a huge image fails without
    allocating. RGBA / LA / P-with-transparency are composited on white, as transformers does.
    """
    if isinstance(image, Image.Image):
        width, height = image.size
        _check_size(width, height, max_input_pixels)
        if image.mode == "RGB":
            return np.asarray(image)
        if "A" in image.getbands() or image.info.get("transparency") is not None:
            return _composite_on_white(image)
        return np.asarray(image.convert("RGB"))
    if not isinstance(image, np.ndarray):
        raise VisionInputError(f"expected a PIL image or a numpy array, got {type(image).__name__}")
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (1, 3, 4)):
        raise VisionInputError(
            f"expected an H×W, H×W×1, H×W×3 or H×W×4 array (channels last), got {image.shape}"
        )
    _check_size(image.shape[1], image.shape[0], max_input_pixels)
    if image.dtype != np.uint8:
        raise VisionInputError(f"expected a uint8 array, got {image.dtype}")
    if image.ndim == 2:
        image = image[:, :, None]
    if image.shape[2] == 1:
        return np.broadcast_to(image, (*image.shape[:2], 3))
    if image.shape[2] == 4:
        return _composite_on_white(Image.fromarray(np.ascontiguousarray(image), "RGBA"))
    return image


# ---- resampling ------------------------------------------------------------------------


def _check_frame(rgb: np.ndarray, frame: Frame, max_input_pixels: int) -> None:
    height, width = rgb.shape[:2]
    if (width, height) != (frame.screen_w, frame.screen_h):
        raise VisionInputError(
            f"image is {width}x{height} but the frame is for a "
            f"{frame.screen_w}x{frame.screen_h} screenshot"
        )
    _check_size(frame.input_w, frame.input_h, max_input_pixels)
    if frame.mode == "pad" and (frame.input_w < width or frame.input_h < height):
        raise VisionInputError(
            f"pad frame {frame.input_w}x{frame.input_h} is smaller than the {width}x{height} image"
        )


def _resample_chw(rgb: np.ndarray, width: int, height: int, resampler: Resampler) -> np.ndarray:
    """Bicubic resample to (width, height) as transformers' processors do → 3×H×W uint8.

    ``pil``: ``PIL.Image.resize(BICUBIC)`` (Qwen2VLImageProcessorPil, and qwen_vl_utils);
    ``torchvision``: ``tvF.resize(BICUBIC, antialias=True)`` on a contiguous 1×3×H×W uint8
    tensor (Qwen2VLImageProcessor). The two differ by a few levels; pick the one to match.
    """
    if resampler == "pil":
        resized = Image.fromarray(np.ascontiguousarray(rgb)).resize(
            (width, height), Image.Resampling.BICUBIC
        )
        return np.asarray(resized).transpose(2, 0, 1)
    if resampler == "torchvision":
        torch = _torch()
        try:
            from torchvision.transforms.v2 import functional as tvF
        except ImportError as err:
            raise ConfigError(
                "resampler='torchvision' needs torch and torchvision; use resampler='pil'"
            ) from err
        assert torch is not None
        # A fresh contiguous NCHW uint8 copy, as the processor stacks it (same kernel path).
        chw = torch.from_numpy(np.array(rgb.transpose(2, 0, 1), order="C"))[None]
        out = tvF.resize(
            chw, [height, width], interpolation=tvF.InterpolationMode.BICUBIC, antialias=True
        )
        return out[0].numpy()
    raise ConfigError(f"unknown resampler {resampler!r}; use 'pil' or 'torchvision'")


def _planar_source(
    image: Image.Image | np.ndarray,
    frame: Frame,
    resampler: Resampler,
    max_input_pixels: int,
) -> np.ndarray:
    """3×h×w uint8 (a view when possible): the source pixels, resampled when the frame says so.
    In pad mode h×w is the screenshot (padding is added later); otherwise it is the input size."""
    rgb = as_rgb_array(image, max_input_pixels=max_input_pixels)
    _check_frame(rgb, frame, max_input_pixels)
    if frame.mode == "pad" or (frame.input_w, frame.input_h) == (frame.screen_w, frame.screen_h):
        return rgb.transpose(2, 0, 1)
    return _resample_chw(rgb, frame.input_w, frame.input_h, resampler)


def to_model_image(
    image: Image.Image | np.ndarray,
    frame: Frame,
    *,
    resampler: Resampler = "pil",
    max_input_pixels: int = MAX_INPUT_PIXELS,
) -> np.ndarray:
    """The image the model sees: frame.input_h × frame.input_w × 3 uint8.

    ``pad``: the screenshot at the top-left, black (:data:`PAD_VALUE`) right/bottom, no
    resampling. ``resize``: bicubic to the input size, as the chosen transformers backend.
    For HTTP backends that send the image to a server whose processor must not resample it.
    """
    src = _planar_source(image, frame, resampler, max_input_pixels)
    _, h, w = src.shape
    out = np.full((frame.input_h, frame.input_w, 3), PAD_VALUE, np.uint8)
    out[:h, :w] = src.transpose(1, 2, 0)
    return out


# ---- pixel_values ----------------------------------------------------------------------


@functools.cache
def _norm_constants(
    mean: tuple[float, ...], std: tuple[float, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """mean/std folded with the 1/255 rescale, rounded to float32 exactly as transformers'
    fused ``rescale_and_normalize`` does, so ``(v - m) / s`` in float32 is bit-equal."""
    scale = np.float32(1.0 / RESCALE_FACTOR)
    m = (np.asarray(mean, np.float32) * scale).reshape(3, 1, 1)
    s = (np.asarray(std, np.float32) * scale).reshape(3, 1, 1)
    return m, s


def _output_buffer(out: Any, n_rows: int, n_cols: int) -> np.ndarray:
    """A float32 (n_rows, n_cols) numpy view to write into: the caller's ``out`` (numpy or a
    CPU torch tensor, e.g. pinned memory reused across steps) or a fresh array. Fresh memory
    comes from numpy, which asks the kernel for huge pages — far fewer page faults."""
    if out is None:
        return np.empty((n_rows, n_cols), np.float32)
    arr = out
    if not isinstance(out, np.ndarray) and hasattr(out, "numpy"):
        try:
            arr = out.numpy()  # a CPU tensor shares its memory; CUDA / autograd ones refuse
        except (RuntimeError, TypeError) as err:
            raise VisionInputError(f"out must be a CPU tensor without grad: {err}") from err
    if (
        not isinstance(arr, np.ndarray)
        or arr.dtype != np.float32
        or arr.shape != (n_rows, n_cols)
        or not arr.flags.c_contiguous
    ):
        raise VisionInputError(
            f"out must be a C-contiguous float32 CPU array of shape {(n_rows, n_cols)}"
        )
    return arr


@functools.cache
def _pool(workers: int) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=workers, thread_name_prefix="native-agent-vision")


def default_threads() -> int:
    """Worker threads for :func:`qwen2vl_inputs`: blocks are independent; a few suffice."""
    return max(1, min(4, os.cpu_count() or 1))


def _patchify_into(
    src: np.ndarray,
    dst: np.ndarray,
    in_h: int,
    in_w: int,
    mean32: np.ndarray,
    std32: np.ndarray,
    patch: int,
    merge: int,
    temporal: int,
    threads: int,
) -> None:
    """Pad + normalise + patch-order ``src`` (3×h×w uint8, h ≤ in_h, w ≤ in_w) into ``dst``.

    Works on blocks of whole merged-patch rows so the scratch stays in cache: per block,
    deinterleave/pad into a planar uint8 buffer, cast + normalise into a planar float buffer
    (``(v - m) / s`` in float32, as transformers), then one copy permutes it into the output
    rows (merge-ordered, ``[C, T, p, p]`` per row) with the frame broadcast over ``T``.

    Threads pull blocks from a shared counter (numpy releases the GIL), so a thread that
    loses its core to a browser only delays its own block. torch's intra-op threads were
    tried and rejected: every small op waits at a barrier, 5-20× slower on shared cores.
    """
    _, h, w = src.shape
    unit = merge * patch  # image rows per merged-patch row
    gw2 = in_w // unit
    n_units = in_h // unit
    per_block = max(1, _BLOCK_FLOATS // (3 * unit * in_w))
    n_blocks = -(-n_units // per_block)
    out = dst.reshape(n_units, gw2, merge, merge, 3, temporal, patch, patch)
    blocks = itertools.count()
    lock = threading.Lock()

    def claim() -> int:
        with lock:
            return next(blocks)

    def work() -> None:
        rows_max = per_block * unit
        u8 = np.full((3, rows_max, in_w), PAD_VALUE, np.uint8)  # pad columns stay PAD_VALUE
        f32 = np.empty((3, rows_max, in_w), np.float32)
        while (b := claim()) < n_blocks:
            u0 = b * per_block
            nu = min(per_block, n_units - u0)
            rows = nu * unit
            y0 = u0 * unit
            y1 = min(y0 + rows, h)
            if y1 > y0:
                np.copyto(u8[:, : y1 - y0, :w], src[:, y0:y1])
            if y1 - y0 < rows:  # bottom padding (only in the last blocks)
                u8[:, max(y1 - y0, 0) : rows] = PAD_VALUE
            fb = f32[:, :rows]
            np.subtract(u8[:, :rows], mean32, out=fb)
            np.divide(fb, std32, out=fb)
            view = fb.reshape(3, nu, merge, patch, gw2, merge, patch)
            view = view.transpose(1, 4, 2, 5, 0, 3, 6)[:, :, :, :, :, None]
            np.copyto(out[u0 : u0 + nu], view)

    workers = max(1, min(threads, n_blocks))
    if workers == 1:
        work()
        return
    for future in [_pool(workers).submit(work) for _ in range(workers)]:
        future.result()


def qwen2vl_inputs(
    image: Image.Image | np.ndarray,
    frame: Frame,
    *,
    patch_size: int = 14,
    temporal_patch_size: int = 2,
    merge_size: int = 2,
    mean: tuple[float, float, float] | list[float] = OPENAI_CLIP_MEAN,
    std: tuple[float, float, float] | list[float] = OPENAI_CLIP_STD,
    resampler: Resampler = "pil",
    return_tensors: Literal["pt", "np"] = "pt",
    out: torch.Tensor | np.ndarray | None = None,
    max_input_pixels: int = MAX_INPUT_PIXELS,
    threads: int | None = None,
) -> VisionInputs:
    """``pixel_values`` / ``image_grid_thw`` for one screenshot, as ``Qwen2VLImageProcessor``
    makes them for :func:`to_model_image`'s output — without building that image.

    ``out`` (optional) receives the pixel values: pass the previous step's buffer (or a pinned
    one) to skip the page faults of fresh memory, which dominate on large screens.
    ``threads`` defaults to :func:`default_threads`.
    """
    unit = patch_size * merge_size
    if patch_size < 1 or merge_size < 1 or temporal_patch_size < 1:
        raise VisionInputError("patch_size, merge_size and temporal_patch_size must be ≥ 1")
    if frame.input_w % unit or frame.input_h % unit:
        raise VisionInputError(
            f"frame input {frame.input_w}x{frame.input_h} is not a multiple of "
            f"patch_size*merge_size = {unit}"
        )
    if len(mean) != 3 or len(std) != 3:
        raise VisionInputError("mean and std need one value per RGB channel")
    if return_tensors not in ("pt", "np"):
        raise ConfigError(f"return_tensors must be 'pt' or 'np', got {return_tensors!r}")
    torch = _torch() if return_tensors == "pt" else None
    if return_tensors == "pt" and torch is None:
        raise ConfigError("return_tensors='pt' needs torch; install it or pass 'np'")

    src = _planar_source(image, frame, resampler, max_input_pixels)
    grid_h, grid_w = frame.input_h // patch_size, frame.input_w // patch_size
    n_rows = grid_h * grid_w
    n_cols = 3 * temporal_patch_size * patch_size * patch_size
    dst = _output_buffer(out, n_rows, n_cols)
    m32, s32 = _norm_constants(tuple(float(v) for v in mean), tuple(float(v) for v in std))
    _patchify_into(
        src, dst, frame.input_h, frame.input_w, m32, s32, patch_size, merge_size,
        temporal_patch_size, default_threads() if threads is None else max(1, threads),
    )  # fmt: skip

    grid = np.array([[1, grid_h, grid_w]], np.int64)
    if return_tensors == "pt":
        assert torch is not None
        pixel_values: Any = out if out is not None and not isinstance(out, np.ndarray) else None
        pixel_values = torch.from_numpy(dst) if pixel_values is None else pixel_values
        grid_out: Any = torch.from_numpy(grid)
    else:
        pixel_values, grid_out = dst, grid
    return VisionInputs(
        pixel_values=pixel_values,
        image_grid_thw=grid_out,
        num_image_tokens=n_rows // (merge_size * merge_size),
        frame=frame,
    )


def vision_settings(profile: Profile, image_processor: Any | None = None) -> dict[str, Any]:
    """Patch, merge, temporal patch, mean/std and pixel bounds: the checkpoint's processor
    config when there is one (what the model was trained with), else the profile's defaults."""
    ip = image_processor
    size = getattr(ip, "size", None) or {}
    get = size.get if hasattr(size, "get") else (lambda _k: None)
    out: dict[str, Any] = {
        "patch_size": int(getattr(ip, "patch_size", None) or profile.patch),
        "merge_size": int(getattr(ip, "merge_size", None) or profile.merge),
        "temporal_patch_size": int(getattr(ip, "temporal_patch_size", None) or 2),
        "mean": tuple(float(v) for v in (getattr(ip, "image_mean", None) or profile.mean)),
        "std": tuple(float(v) for v in (getattr(ip, "image_std", None) or profile.std)),
    }
    out["min_pixels"] = get("shortest_edge") or getattr(ip, "min_pixels", None)
    out["max_pixels"] = get("longest_edge") or getattr(ip, "max_pixels", None)
    out["max_pixels"] = int(out["max_pixels"] or profile.max_pixels)
    return out
