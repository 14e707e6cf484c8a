"""Training data: the samples ``agent export`` renders, tokenised as the in-process backend
tokenises a prompt at inference.

:class:`SampleCollector` is the exporter (:class:`agent.export.Exporter`) with one change: it
keeps each sample's message list as :func:`model.prompts.build_messages` built it — the
screenshots as ``ImagePart`` (observation + Frame) — instead of writing images. Prompt,
history window, dialect, coordinate space and the answer text are the exporter's.

:class:`Collator` turns samples into a batch through
:meth:`model.backends.hf.TransformersModel.inputs` — the same chat template, the same
``<|image_pad|>`` expansion and the same native-resolution ``pixel_values`` /
``image_grid_thw`` as inference — with ``labels`` -100 everywhere but on the answer and its
end-of-turn token.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.core.actions import Action
from agent.core.coords import Frame
from agent.core.observation import Observation
from agent.export.samples import ExportConfig, Exporter, Sample
from model.parsers import convention_for, frame_options, mode_for
from model.prompts import ImagePart, Message


@dataclass
class TrainSample:
    """One step: the prompt messages (screenshots as ``ImagePart``), the answer text."""

    messages: list[Message]
    answer: str
    episode: str
    index: int


class SampleCollector(Exporter):
    """The exporter, keeping message lists in memory (PNG bytes only) instead of files."""

    def __init__(
        self, cfg: ExportConfig, *, grid: int | None = None, min_pixels: int | None = None
    ) -> None:
        super().__init__(cfg, Path("."))
        self.kept: list[TrainSample] = []
        # the in-process backend's frame planning (its grid and resize floor) when given
        self.grid, self.min_pixels = grid or self.fam.grid, min_pixels

    def frame_for(self, obs: Observation, fmt: str) -> Frame:
        """How the backend being trained would be given ``obs`` (the loop's frame planning
        for that model: :class:`agent.episode.loop.Loop`)."""
        if self.min_pixels is None and self.grid == self.fam.grid:
            return super().frame_for(obs, fmt)
        return obs.frame(
            mode=mode_for(fmt),
            max_tokens=self.cfg.max_tokens,
            convention=convention_for(fmt),
            **frame_options(fmt, factor=self.grid, min_pixels=self.min_pixels),
        )

    def _image(self, episode: str, index: int, obs: Any, frame: Frame) -> str:
        return f"images/{episode}/{index:04d}.png"  # nothing written: the collator encodes

    def _sample(
        self,
        messages: list[dict[str, Any]],
        target: str,
        episode: str,
        step: dict[str, Any],
        actions: list[Action],
        frame: Frame,
        index_of: dict[int, int],
    ) -> Sample:
        sample = super()._sample(messages, target, episode, step, actions, frame, index_of)
        kept: list[Message] = [dict(m) for m in messages]
        self.kept.append(TrainSample(kept, target, episode, int(step["index"])))
        return sample

    def collect(self, roots: Sequence[str | Path]) -> list[TrainSample]:
        self.kept = []
        self.episodes([Path(r) for r in roots])
        return list(self.kept)


def fresh(messages: list[Message]) -> list[Message]:
    """The messages with each screenshot's Observation copied: decoding the copy's pixels
    leaves the kept sample holding PNG bytes only (memory stays flat over an epoch)."""
    out: list[Message] = []
    for m in messages:
        content = m["content"]
        if isinstance(content, str):
            out.append(m)
            continue
        parts = []
        for p in content:
            if p["type"] == "image":
                ip: ImagePart = p["image"]
                p = {"type": "image", "image": ImagePart(ip.observation.copy(), ip.frame)}
            parts.append(p)
        out.append({"role": m["role"], "content": parts})
    return out


class SampleDataset:
    """A map-style dataset over :class:`TrainSample` (what ``torch.utils.data`` takes)."""

    def __init__(self, samples: list[TrainSample]) -> None:
        self.samples = samples

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int) -> TrainSample:
        return self.samples[i]


class Collator:
    """Samples → one right-padded batch, each encoded by the backend's own input builder."""

    def __init__(self, encoder: Any) -> None:
        self.encoder = encoder  # a model.backends.hf.TransformersModel
        self.pad_id = int(encoder.end_ids[-1])

    def encode(self, sample: TrainSample) -> dict[str, Any]:
        enc = self.encoder.inputs(fresh(sample.messages), answer=sample.answer)
        enc.pop("_image_tokens", None)
        if "pixel_values" in enc:  # a view of the backend's reused buffer
            enc["pixel_values"] = enc["pixel_values"].clone()
        return enc

    def __call__(self, batch: list[TrainSample]) -> dict[str, Any]:
        import torch

        encs = [self.encode(s) for s in batch]
        width = max(e["input_ids"].shape[1] for e in encs)
        pads = {"input_ids": self.pad_id, "attention_mask": 0, "mm_token_type_ids": 0}
        pads["labels"] = -100
        out: dict[str, Any] = {}
        for key, value in pads.items():
            rows = []
            for e in encs:
                t = e[key]
                extra = width - t.shape[1]
                if extra:
                    t = torch.cat([t, t.new_full((1, extra), value)], dim=1)
                rows.append(t)
            out[key] = torch.cat(rows)
        images = [e for e in encs if "pixel_values" in e]
        if images:
            out["pixel_values"] = torch.cat([e["pixel_values"] for e in images])
            out["image_grid_thw"] = torch.cat([e["image_grid_thw"] for e in images])
        return out
