"""``load_grounder(spec)``: the grounder a ``--grounder`` spec names, optionally wrapped in
zoom-in grounding (:class:`~model.grounders.zoom.ZoomGrounder`)."""

from __future__ import annotations

from typing import Any

from model.grounders.base import DescriptionGrounder


def load_grounder(
    spec: str,
    *,
    zoom: str = "off",
    zoom_size: tuple[float, float] | None = None,
    zoom_fraction: float | None = None,
    zoom_upscale: bool = False,
    zoom_samples: int = 3,
    zoom_threshold: float = 16.0,
    **settings: Any,
) -> DescriptionGrounder:
    """``ocr`` (the CPU OCR grounder), ``scripted:FILE`` (a fake: recorded answers), or any
    model spec whose family grounds (its grounding prompt and dialect). ``zoom`` ``always`` /
    ``uncertain`` wraps it in a :class:`~model.grounders.zoom.ZoomGrounder`: the crop is
    ``zoom_size`` (screenshot px) or ``zoom_fraction`` of each side (default 0.25),
    ``zoom_upscale`` reads it ×2; ``uncertain`` compares ``zoom_samples`` first answers
    against ``zoom_threshold`` CSS px. Bad settings are a ConfigError."""
    inner = _load(spec, **settings)
    if zoom == "off":
        return inner
    from model.grounders.zoom import ZoomGrounder

    return ZoomGrounder(
        inner,
        zoom,
        fraction=0.25 if zoom_fraction is None else zoom_fraction,
        size=zoom_size,
        upscale=zoom_upscale,
        k=zoom_samples,
        threshold=zoom_threshold,
    )


def _load(spec: str, **settings: Any) -> DescriptionGrounder:
    if spec == "ocr" or spec.startswith("ocr:"):
        from model.grounders.ocr import load_ocr_grounder

        return load_ocr_grounder(spec.partition(":")[2], **settings)
    if spec.startswith("scripted:"):
        from model.grounders.scripted import load_scripted_grounder

        return load_scripted_grounder(spec.partition(":")[2], **settings)
    from model.grounders.family import load_family_grounder

    return load_family_grounder(spec, **settings)
