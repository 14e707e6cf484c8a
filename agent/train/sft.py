"""Supervised fine-tuning of an in-process checkpoint on recorded episodes (``agent train``).

The base loads through :func:`model.backends.hf.load_hf_model` — the backend ``agent run
--model DIR`` uses — so the samples are planned (history window, Frame, token cap, resize
floor) and encoded (:meth:`TransformersModel.inputs`) exactly as that backend would at
inference. Training is the transformers ``Trainer``: PEFT LoRA (``lora > 0``) or full
fine-tuning, bf16 on CUDA and float32 on CPU, its progress bar, checkpoints under
``out/checkpoints`` and resume from the last one. At the end the adapter is merged and the
full checkpoint written to ``out`` with the processor files, plus ``out/train.json``.
"""

from __future__ import annotations

import json
import math
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from agent.core.coords import DEFAULT_MAX_TOKENS
from agent.core.errors import ConfigError
from agent.export.samples import ExportConfig
from agent.train.data import Collator, SampleCollector, SampleDataset, TrainSample

# LoRA targets: the language model's projections (the vision tower stays as it was trained)
LORA_TARGETS = r".*language_model.*\.(q_proj|k_proj|v_proj|o_proj|gate_proj|up_proj|down_proj)"


@dataclass
class TrainConfig:
    episodes: list[str]
    family: str
    base: str
    out: str
    lora: int = 16
    epochs: float = 3.0
    lr: float = 1e-4
    max_image_tokens: int | None = None  # None: the checkpoint's own cap, as at inference
    batch_size: int = 1
    seed: int = 0
    save_steps: int = 50
    schedule: str = "linear"  # the learning-rate schedule (transformers' names: constant, cosine)
    max_steps: int = -1  # > 0: stop after this many optimiser steps (tests, benchmarks)
    device: str | None = None
    statuses: tuple[str, ...] = ("success",)
    progress: bool = True

    def check(self) -> None:
        if self.lora < 0:
            raise ConfigError(f"--lora {self.lora}: give a rank ≥ 1, or 0 for a full fine-tune")
        if self.epochs <= 0 or self.lr <= 0 or self.batch_size < 1 or self.save_steps < 1:
            raise ConfigError("--epochs and --lr must be > 0, --batch-size ≥ 1")
        if self.max_image_tokens is not None and self.max_image_tokens < 4:
            raise ConfigError("--max-image-tokens must be ≥ 4")
        missing = [e for e in self.episodes if not Path(e).exists()]
        if missing:
            raise ConfigError(f"no such episode directory: {', '.join(missing)}")


def collect(cfg: TrainConfig, encoder: Any) -> tuple[list[TrainSample], dict[str, Any]]:
    """The export samples for the backend ``encoder`` plans for; a ConfigError when none."""
    try:
        export_cfg = ExportConfig(
            family=encoder.family.name,
            history_images=encoder.history_images,
            history_steps=encoder.history_steps,
            history_block=encoder.history_block,
            max_tokens=cfg.max_image_tokens or encoder.max_tokens or DEFAULT_MAX_TOKENS,
            statuses=cfg.statuses,
        )
    except KeyError as err:
        raise ConfigError(f"unknown model family {cfg.family!r}") from err
    collector = SampleCollector(export_cfg, grid=encoder.grid, min_pixels=encoder.min_pixels)
    samples = collector.collect(cfg.episodes)
    stats = collector.stats.to_json()
    if not samples:
        skipped = ", ".join(f"{k} ×{v}" for k, v in Counter(stats["skipped"]).most_common(6))
        raise ConfigError(
            f"no training samples in {', '.join(cfg.episodes)}: {stats['episodes']} episodes, "
            f"{stats['episodes_used']} used; skipped: {skipped or 'nothing'} — train on "
            "successful or gold episodes (or pass statuses), with actions the "
            f"{encoder.family.name} dialect can express"
        )
    stats["max_image_tokens"] = export_cfg.max_tokens
    stats["history_images"], stats["history_steps"] = encoder.history_images, encoder.history_steps
    stats["history_block"] = encoder.history_block  # the window inference will use too
    return samples, stats


def _peft(model: Any, rank: int) -> Any:
    try:
        from peft import LoraConfig, get_peft_model
    except ImportError as err:
        raise ConfigError(
            "LoRA needs peft: pip install 'native-agent[train]' (or --lora 0: full fine-tune)"
        ) from err
    config = LoraConfig(r=rank, lora_alpha=2 * rank, lora_dropout=0.0, target_modules=LORA_TARGETS)
    return get_peft_model(model, config)


def last_checkpoint(ckpt_dir: Path) -> str | None:
    from transformers.trainer_utils import get_last_checkpoint

    return get_last_checkpoint(str(ckpt_dir)) if ckpt_dir.is_dir() else None


def train(cfg: TrainConfig) -> dict[str, Any]:
    """Fine-tune ``cfg.base`` on ``cfg.episodes``; returns what ``out/train.json`` records."""
    cfg.check()
    import torch
    from transformers import Trainer, TrainingArguments, set_seed

    from model.backends.hf import load_hf_model

    t0 = time.time()
    set_seed(cfg.seed)
    encoder = load_hf_model(
        cfg.base, device=cfg.device, family=cfg.family, max_image_tokens=cfg.max_image_tokens
    )
    samples, data = collect(cfg, encoder)
    cuda = encoder.device.type == "cuda"
    model = encoder.model
    if cfg.lora:
        model = _peft(model, cfg.lora)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    out = Path(cfg.out)
    ckpt_dir = out / "checkpoints"
    resume = last_checkpoint(ckpt_dir)
    args = TrainingArguments(
        output_dir=str(ckpt_dir),
        num_train_epochs=cfg.epochs,
        max_steps=cfg.max_steps,
        learning_rate=cfg.lr,
        per_device_train_batch_size=cfg.batch_size,
        logging_steps=1,
        save_strategy="steps",
        save_steps=cfg.save_steps,
        save_total_limit=2,
        seed=cfg.seed,
        bf16=cuda,
        use_cpu=not cuda,
        report_to="none",
        remove_unused_columns=False,
        dataloader_pin_memory=False,  # the collator's tensors are on the device already
        disable_tqdm=not cfg.progress,
        warmup_steps=0,
        lr_scheduler_type=cfg.schedule,
    )
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=SampleDataset(samples),
        data_collator=Collator(encoder),
    )
    t1 = time.time()
    result = trainer.train(resume_from_checkpoint=resume)
    t2 = time.time()
    merged = model.merge_and_unload() if cfg.lora else model
    merged.eval()
    if cuda:
        torch.cuda.synchronize()
    out.mkdir(parents=True, exist_ok=True)
    merged.save_pretrained(out)
    encoder.processor.save_pretrained(out)
    losses = [
        {"step": e["step"], "loss": round(float(e["loss"]), 6)}
        for e in trainer.state.log_history
        if "loss" in e and "step" in e
    ]
    record = {
        "config": {**asdict(cfg), "statuses": list(cfg.statuses)},
        "family": encoder.family.name,
        "dialect": encoder.format,
        "data": {**data, "samples": len(samples)},
        "device": str(encoder.device),
        "dtype": str(next(merged.parameters()).dtype),  # bf16 weights + autocast on CUDA
        "trainable_parameters": trainable,
        "resumed_from": resume,
        "steps": trainer.state.global_step,
        "losses": losses,
        "train_loss": float(result.training_loss) if math.isfinite(result.training_loss) else None,
        "time_s": {"load_s": t1 - t0, "train_s": t2 - t1, "total_s": time.time() - t0},
    }
    (out / "train.json").write_text(json.dumps(record, indent=2), encoding="utf-8")
    return record
