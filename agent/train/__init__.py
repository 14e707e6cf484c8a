"""Fine-tuning at native resolution from recorded episodes (``agent train``).

:mod:`agent.train.data` turns episodes into the samples ``agent export`` renders and encodes
them as the in-process backend does at inference; :mod:`agent.train.sft` trains (LoRA or
full), resumes, merges and records ``train.json``. Heavy imports (torch, transformers, peft)
happen inside :func:`train`.
"""

from __future__ import annotations

from agent.train.data import Collator, SampleCollector, SampleDataset, TrainSample
from agent.train.sft import TrainConfig, collect, train

__all__ = [
    "Collator",
    "SampleCollector",
    "SampleDataset",
    "TrainConfig",
    "TrainSample",
    "collect",
    "train",
]
