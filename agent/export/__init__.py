"""Recorded episodes → fine-tuning data in the model's own prompt, coordinate space and
output dialect (``agent export``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agent.export.formats import FORMATS, write
from agent.export.render import DIALECTS, UnsupportedAction, render, same_action
from agent.export.samples import ExportConfig, Exporter, Sample, pixel_budget


def export(
    episodes: list[str | Path],
    *,
    family: str,
    format: str = "llamafactory",
    out: str | Path,
    name: str | None = None,
    **options: Any,
) -> dict[str, Any]:
    """Export ``episodes`` (directories, searched recursively) for ``family`` in ``format``;
    returns the manifest also written to ``out/export.json``."""
    import json

    from agent.core.errors import ConfigError

    if format not in FORMATS:
        raise ConfigError(f"unknown export format {format!r}; known: {', '.join(FORMATS)}")
    cfg = ExportConfig(family=family, **options)
    out_dir = Path(out)
    exporter = Exporter(cfg, out_dir)
    samples = exporter.episodes([Path(e) for e in episodes])
    dataset = name or f"native_agent_{cfg.fam.name.replace('.', '_').replace('-', '_')}"
    path = write(samples, format, out_dir, dataset)
    manifest = {
        "dataset": dataset,
        "file": path.name,
        "format": format,
        "family": cfg.fam.name,
        "dialect": cfg.fam.format,
        "history_images": cfg.history_images,
        "history_steps": cfg.history_steps,
        "history_block": exporter.block,
        "max_image_tokens": cfg.max_tokens,
        "image_max_pixels": pixel_budget(cfg.max_tokens),
        **exporter.stats.to_json(),
    }
    (out_dir / "export.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return manifest


__all__ = [
    "DIALECTS",
    "FORMATS",
    "ExportConfig",
    "Exporter",
    "Sample",
    "UnsupportedAction",
    "export",
    "render",
    "same_action",
]
