"""Generation helpers for the transformers backend: stop at the first complete action,
time the prefill, and (for tests and demos) force the output text token by token.

Forcing goes through a real :class:`LogitsProcessor`, so with random weights the whole path
prompt → prefill → decode → detokenize → parse still runs; only the argmax is fixed.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, cast

import torch
from transformers import LogitsProcessor, StoppingCriteria

from model.backends.stopping import action_complete, cut_at_stop


class ForceTokens(LogitsProcessor):
    """Allow only ``target[k]`` at step k (then only the end-of-turn token)."""

    def __init__(self, target: Sequence[int], prompt_len: int, eos_id: int) -> None:
        self.target = list(target)
        self.prompt_len = prompt_len
        self.eos_id = eos_id

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        k = input_ids.shape[1] - self.prompt_len
        tid = self.target[k] if k < len(self.target) else self.eos_id
        forced = torch.full_like(scores, float("-inf"))
        forced[:, tid] = 0.0
        return cast(torch.FloatTensor, forced)


class TextStop(StoppingCriteria):
    """Stops when the decoded completion holds a complete action of ``format`` (or one of
    the ``stops`` strings); records the time of the first generated token (end of prefill).
    """

    def __init__(
        self,
        tokenizer: Any,
        prompt_len: int,
        *,
        format: str | None,
        stops: Sequence[str] = (),
        end_tokens: Sequence[str] = (),
    ) -> None:
        self.tokenizer = tokenizer
        self.prompt_len = prompt_len
        self.format = format
        self.stops = [s for s in stops if s]
        self.end_tokens = tuple(end_tokens)
        self.first_token_at: float | None = None
        self.stopped_by: str | None = None

    def __call__(
        self, input_ids: torch.LongTensor, scores: Any = None, **kwargs: Any
    ) -> torch.BoolTensor:
        gen = input_ids[0, self.prompt_len :].tolist()  # .tolist() also syncs the device
        if self.first_token_at is None:
            self.first_token_at = time.perf_counter()
        done = False
        if self.format is not None or self.stops:
            text = self.tokenizer.decode(gen, skip_special_tokens=False)
            for tok in self.end_tokens:
                text = text.replace(tok, "")
            if self.stops and cut_at_stop(text, self.stops, True)[1]:
                done, self.stopped_by = True, "stop"
            elif self.format is not None and action_complete(self.format, text):
                done, self.stopped_by = True, "action"
        flags = torch.full((input_ids.shape[0],), done, dtype=torch.bool, device=input_ids.device)
        return cast(torch.BoolTensor, flags)


def expand_image_tokens(
    ids: list[int], image_token_id: int, counts: Sequence[int]
) -> tuple[list[int], list[int]]:
    """Repeat the i-th ``<|image_pad|>`` ``counts[i]`` times; return (ids, mm_token_type_ids)
    with 1 marking image tokens (the model's M-RoPE needs them)."""
    out: list[int] = []
    types: list[int] = []
    i = 0
    for t in ids:
        if t == image_token_id:
            if i >= len(counts):
                raise ValueError(
                    f"the prompt has more image placeholders than images ({len(counts)})"
                )
            out.extend([t] * counts[i])
            types.extend([1] * counts[i])
            i += 1
        else:
            out.append(t)
            types.append(0)
    if i != len(counts):
        raise ValueError(f"the prompt has {i} image placeholders for {len(counts)} images")
    return out, types
