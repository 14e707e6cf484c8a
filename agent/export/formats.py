"""Sample files in the schemas the fine-tuning stacks read, and LLaMA-Factory's
``dataset_info.json`` entry.

* ``llamafactory`` — LLaMA-Factory's multimodal ShareGPT variant (its ``mllm_demo.json``):
  ``{"messages": [{"role", "content"}], "images": [...]}``, ``<image>`` marks in the text,
  image paths relative to the dataset directory; ``dataset_info.json`` maps the columns.
* ``sharegpt`` — classic ShareGPT: ``{"conversations": [{"from": "system"|"human"|"gpt",
  "value"}], "images": [...]}`` (LLaMA-Factory's default ShareGPT tags, so it gets a
  ``dataset_info.json`` entry too).
* ``ms-swift`` — ms-swift's standard format, JSON lines of ``{"messages": [...],
  "images": [...]}`` with ``<image>`` marks and absolute image paths.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from agent.core.errors import ConfigError
from agent.export.samples import Sample

FORMATS = ("llamafactory", "sharegpt", "ms-swift")
SHAREGPT_ROLES = {"system": "system", "user": "human", "assistant": "gpt"}


def record(sample: Sample, fmt: str, out: Path) -> dict[str, Any]:
    if fmt == "llamafactory":
        return {"messages": sample.messages, "images": sample.images}
    if fmt == "sharegpt":
        conv = [{"from": SHAREGPT_ROLES[m["role"]], "value": m["content"]} for m in sample.messages]
        return {"conversations": conv, "images": sample.images}
    if fmt == "ms-swift":
        images = [str((out / p).resolve()) for p in sample.images]
        return {"messages": sample.messages, "images": images}
    raise ConfigError(f"unknown export format {fmt!r}; known: {', '.join(FORMATS)}")


def dataset_info(fmt: str, file_name: str) -> dict[str, Any]:
    """LLaMA-Factory's dataset_info.json entry for a file of this format."""
    if fmt == "llamafactory":
        return {
            "file_name": file_name,
            "formatting": "sharegpt",
            "columns": {"messages": "messages", "images": "images"},
            "tags": {
                "role_tag": "role",
                "content_tag": "content",
                "user_tag": "user",
                "assistant_tag": "assistant",
                "system_tag": "system",
            },
        }
    return {
        "file_name": file_name,
        "formatting": "sharegpt",
        "columns": {"messages": "conversations", "images": "images"},
    }


def write(samples: list[Sample], fmt: str, out: Path, name: str) -> Path:
    """Write the sample file (atomically), its provenance ``NAME.meta.jsonl`` (episode,
    step, recorded actions and Frame of each sample, line for line) and, for LLaMA-Factory,
    merge its entry into ``out/dataset_info.json``; returns the sample file."""
    out.mkdir(parents=True, exist_ok=True)
    rows = [record(s, fmt, out) for s in samples]
    if fmt == "ms-swift":
        path = out / f"{name}.jsonl"
        text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    else:
        path = out / f"{name}.json"
        text = json.dumps(rows, ensure_ascii=False, indent=1)
    _atomic(path, text)
    meta = [
        {
            "episode": s.episode,
            "index": s.index,
            "format": s.dialect,
            "actions": s.actions,
            "frame": s.frame,
        }
        for s in samples
    ]
    _atomic(out / f"{name}.meta.jsonl", "".join(json.dumps(m) + "\n" for m in meta))
    if fmt in ("llamafactory", "sharegpt"):
        info_path = out / "dataset_info.json"
        info: dict[str, Any] = {}
        if info_path.exists():
            try:
                info = json.loads(info_path.read_text(encoding="utf-8"))
            except json.JSONDecodeError as err:
                raise ConfigError(f"{info_path} is not valid JSON: {err}") from err
        info[name] = dataset_info(fmt, path.name)
        _atomic(info_path, json.dumps(info, indent=2))
    return path


def _atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
