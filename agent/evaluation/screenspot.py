"""ScreenSpot grounding evaluation (ScreenSpot-v2 and ScreenSpot-Pro annotation formats).

Layouts read (``agent eval --suite screenspot DIR``):

* **v2** — ``DIR/screenspot_{desktop,mobile,web}_v2.json`` (the platform is in the file
  name), images in ``DIR/screenspotv2_image/``; each item ``{"img_filename", "bbox": [x, y,
  w, h], "instruction", "data_type": "text"|"icon", "data_source"}``.
* **Pro** — ``DIR/annotations/*.json``, images in ``DIR/images/``; each item
  ``{"img_filename", "bbox": [x1, y1, x2, y2], "instruction", "ui_type": "text"|"icon",
  "platform", "application", "group", "id", "img_size"}``.

A sample scores when the model's first pointing action lies inside the box (edges
included), the benchmarks' own rule; no point (a parse error, a refusal) is a miss with its
reason. Accuracy is reported overall, per platform, per element type and per platform ×
type (and per group / application for Pro). The model-input pixel budget is pinned — every
screenshot's Frame is planned with the same token cap — and printed, so results at
different budgets are never confused. ``workers`` > 1 runs shards in spawned processes, each
loading the model once; results come back in annotation order.
"""

from __future__ import annotations

import functools
import json
import multiprocessing
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from agent.core.coords import DEFAULT_MAX_TOKENS, FACTOR
from agent.core.errors import ConfigError, NativeAgentError, describe_error
from agent.core.model import Model, ModelRequest
from agent.core.observation import Observation

KIND = "native-agent/screenspot-report"
V2_FILES = {
    "desktop": "screenspot_desktop_v2.json",
    "mobile": "screenspot_mobile_v2.json",
    "web": "screenspot_web_v2.json",
}
V2_IMAGES = "screenspotv2_image"


@dataclass(frozen=True)
class GroundingSample:
    """One instruction on one screenshot; ``box`` is x1, y1, x2, y2 in screenshot px."""

    id: str
    image: str
    instruction: str
    box: tuple[float, float, float, float]
    platform: str
    element: str
    source: str = ""
    group: str = ""
    benchmark: str = "v2"


def _read_json(path: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise ConfigError(f"cannot read ScreenSpot annotations {path}: {err}") from err
    if not isinstance(data, list):
        raise ConfigError(f"{path}: ScreenSpot annotations are a JSON list of items")
    return data


def _box(raw: Any, xywh: bool, where: str) -> tuple[float, float, float, float]:
    if not (isinstance(raw, list | tuple) and len(raw) == 4):
        raise ConfigError(f"{where}: bbox must be 4 numbers, got {raw!r}")
    try:
        a, b, c, d = (float(v) for v in raw)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"{where}: bbox must be numbers, got {raw!r}") from err
    x2, y2 = (a + c, b + d) if xywh else (c, d)
    if x2 < a or y2 < b:
        raise ConfigError(f"{where}: bbox {raw!r} has negative size")
    return a, b, x2, y2


def _need(item: dict[str, Any], key: str, where: str) -> str:
    v = item.get(key)
    if not isinstance(v, str) or not v.strip():
        raise ConfigError(f"{where}: missing {key!r}")
    return v


def load_screenspot(root: str | Path) -> list[GroundingSample]:
    """Every sample under ``root`` (v2 or Pro layout, detected from the files present)."""
    root = Path(root)
    samples: list[GroundingSample] = []
    v2 = {p: root / f for p, f in V2_FILES.items() if (root / f).exists()}
    pro = sorted((root / "annotations").glob("*.json")) if (root / "annotations").is_dir() else []
    if not v2 and not pro:
        raise ConfigError(
            f"no ScreenSpot annotations in {root}: expected {', '.join(V2_FILES.values())} "
            "(ScreenSpot-v2) or annotations/*.json (ScreenSpot-Pro)"
        )
    for platform, path in v2.items():
        for k, item in enumerate(_read_json(path)):
            where = f"{path.name}[{k}]"
            image = _need(item, "img_filename", where)
            samples.append(
                GroundingSample(
                    id=f"{platform}/{k}",
                    image=str(root / V2_IMAGES / image),
                    instruction=_need(item, "instruction", where),
                    box=_box(item.get("bbox"), True, where),
                    platform=platform,
                    element=str(item.get("data_type", "unknown")),
                    source=str(item.get("data_source", "")),
                )
            )
    for path in pro:
        for k, item in enumerate(_read_json(path)):
            where = f"{path.name}[{k}]"
            image = _need(item, "img_filename", where)
            samples.append(
                GroundingSample(
                    id=str(item.get("id") or f"{path.stem}/{k}"),
                    image=str(root / "images" / image),
                    instruction=_need(item, "instruction", where),
                    box=_box(item.get("bbox"), False, where),
                    platform=str(item.get("platform", path.stem)),
                    element=str(item.get("ui_type", "unknown")),
                    source=str(item.get("application", "")),
                    group=str(item.get("group", "")),
                    benchmark="pro",
                )
            )
    return samples


# ---- grounding ---------------------------------------------------------------------------------


def instruction_task(instruction: str) -> str:
    """The task a model grounds (the same wording as the MCP ``ground`` tool)."""
    from agent.interfaces.session import grounding_task

    return grounding_task(instruction)


def inside(point: tuple[float, float], box: tuple[float, float, float, float]) -> bool:
    return box[0] <= point[0] <= box[2] and box[1] <= point[1] <= box[3]


def ground_sample(model: Model, sample: GroundingSample, max_tokens: int) -> dict[str, Any]:
    """One prediction: the point (screenshot px), hit or miss, and what the model said."""
    from agent.interfaces.session import model_frame
    from model.parsers import parse

    out: dict[str, Any] = {"id": sample.id, "point": None, "hit": False}
    try:
        png = Path(sample.image).read_bytes()
    except OSError as err:
        raise ConfigError(f"sample {sample.id}: cannot read {sample.image}: {err}") from err
    obs = Observation(png=png)
    frame = model_frame(obs, model, max_tokens)
    out.update(
        size=list(obs.size),
        input=[frame.input_w, frame.input_h],
        tokens=frame.tokens,
        resampled=frame.resampled,
    )
    t0 = time.perf_counter()
    try:
        reply = model.act(ModelRequest(instruction_task(sample.instruction), obs, frame))
    except NativeAgentError as err:
        out.update(describe_error(err))
        return out
    out["model_s"] = round(time.perf_counter() - t0, 4)
    out["raw"] = reply.text
    try:
        parsed = parse(model.format, reply.text, frame, convention=frame.convention)
    except NativeAgentError as err:
        out["error"] = str(err)
        return out
    point = next((p for a in parsed.actions if (p := getattr(a, "point", None)) is not None), None)
    if point is None:
        out["error"] = f"no pointing action ({', '.join(a.type for a in parsed.actions)})"
        return out
    out["point"] = [float(point[0]), float(point[1])]
    out["hit"] = inside(point, sample.box)
    return out


_WORKER: dict[str, Any] = {}


def _init_worker(spec: str | Model) -> None:
    from model.registry import load_model

    _WORKER["model"] = spec if isinstance(spec, Model) else load_model(spec)


def _run_shard(shard: list[tuple[int, GroundingSample]], max_tokens: int) -> list[tuple[int, dict]]:
    model = _WORKER["model"]
    return [(i, ground_sample(model, s, max_tokens)) for i, s in shard]


def accuracy(rows: Iterable[dict[str, Any]]) -> dict[str, Any]:
    rows = list(rows)
    hits = sum(1 for r in rows if r["hit"])
    return {"n": len(rows), "hits": hits, "accuracy": hits / len(rows) if rows else None}


def metrics(samples: list[GroundingSample], results: list[dict[str, Any]]) -> dict[str, Any]:
    """Accuracy overall and per platform, element type, platform × type (and Pro groups)."""
    groups: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for s, r in zip(samples, results, strict=True):
        groups["platform"][s.platform].append(r)
        groups["element"][s.element].append(r)
        groups["platform_element"][f"{s.platform}/{s.element}"].append(r)
        if s.group:
            groups["group"][s.group].append(r)
        if s.source:
            groups["source"][s.source].append(r)
    out: dict[str, Any] = {"overall": accuracy(results)}
    for name, table in groups.items():
        out[f"by_{name}"] = {k: accuracy(v) for k, v in sorted(table.items())}
    out["errors"] = sum(1 for r in results if r.get("error"))
    out["resampled"] = sum(1 for r in results if r.get("resampled"))
    return out


def evaluate_screenspot(
    root: str | Path,
    model: str | Model,
    *,
    max_tokens: int | None = None,
    workers: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Score ``model`` (a spec, or a Model when ``workers`` is 1) on the samples under
    ``root``; returns the report (see :func:`write_screenspot_report`)."""
    from model.registry import load_model

    samples = load_screenspot(root)
    if workers < 1:
        raise ConfigError(f"--workers must be ≥ 1, got {workers}")
    if workers > 1 and not isinstance(model, str):
        raise ConfigError("workers > 1 need a model spec (each process loads its own model)")
    own = isinstance(model, str)
    probe = load_model(model) if isinstance(model, str) else model
    budget = int(max_tokens or probe.max_tokens or DEFAULT_MAX_TOKENS)
    describe = probe.describe()
    results: list[dict[str, Any] | None] = [None] * len(samples)
    try:
        if workers == 1:
            for i, s in enumerate(samples):
                results[i] = ground_sample(probe, s, budget)
                if progress:
                    progress(i + 1, len(samples))
        else:
            if own:
                probe.close()
                own = False
            shards = [list(enumerate(samples))[k::workers] for k in range(workers)]
            ctx = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(
                workers, mp_context=ctx, initializer=functools.partial(_init_worker, model)
            ) as pool:
                done = 0
                for part in pool.map(_run_shard, shards, [budget] * workers):
                    for i, r in part:
                        results[i] = r
                    done += len(part)
                    if progress:
                        progress(done, len(samples))
    finally:
        if own:
            probe.close()
    final = [r for r in results if r is not None]
    return {
        "kind": KIND,
        "root": str(root),
        "model": describe,
        "pixel_budget": {"max_image_tokens": budget, "max_pixels": budget * FACTOR * FACTOR},
        "workers": workers,
        "metrics": metrics(samples, final),
        "samples": [{**asdict(s), **r} for s, r in zip(samples, final, strict=True)],
    }


def format_screenspot(report: dict[str, Any]) -> str:
    """The table papers print: accuracy per platform × element type, then overall."""
    m = report["metrics"]
    b = report["pixel_budget"]

    def pct(a: dict[str, Any] | None) -> str:
        return "  n/a " if not a or a["accuracy"] is None else f"{100 * a['accuracy']:5.1f}%"

    lines = [
        f"pixel budget: {b['max_image_tokens']} image tokens = {b['max_pixels']:,} px "
        f"({m['resampled']} of {m['overall']['n']} screenshots resampled to fit)",
        f"{'platform':<14} {'text':>7} {'icon':>7} {'all':>7}   n",
    ]
    for platform, acc in m["by_platform"].items():
        pe = m["by_platform_element"]
        lines.append(
            f"{platform:<14} {pct(pe.get(f'{platform}/text'))} "
            f"{pct(pe.get(f'{platform}/icon'))} {pct(acc)}  {acc['n']}"
        )
    el = m["by_element"]
    lines.append(
        f"{'overall':<14} {pct(el.get('text'))} {pct(el.get('icon'))} "
        f"{pct(m['overall'])}  {m['overall']['n']}  ({m['errors']} without a point)"
    )
    return "\n".join(lines)


def write_screenspot_report(report: dict[str, Any], out: str | Path) -> Path:
    """``out/report.json`` and ``out/report.html`` (the viewer's page: each screenshot with
    the predicted point and the gold box, linked, not inlined); returns the JSON path."""
    from agent.evaluation.viewer import Shot, _kv_table, render

    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "report.json"
    path.write_text(json.dumps(report, indent=2), encoding="utf-8")
    shots = [
        Shot(
            index=k,
            image=Path(s["image"]),
            size=tuple(s.get("size") or (0, 0)),
            pred=tuple(s["point"]) if s.get("point") else None,
            gold_boxes=[list(s["box"])],
            title=f"{s['id']} · {s['platform']} · {s['element']} · {s['instruction'][:80]}",
            badges=[("hit", bool(s["hit"]))],
            sections=[("raw model output", s.get("raw") or "")],
            error=s.get("error"),
            root=Path(report["root"]),  # the viewer shows only images inside the dataset
        )
        for k, s in enumerate(report["samples"])
    ]
    meta = {
        "title": "ScreenSpot grounding report",
        "subtitle": f"model {report['model'].get('name', '?')} · {len(shots)} samples · "
        f"budget {report['pixel_budget']['max_image_tokens']} tokens",
        "summary": _kv_table(
            {"overall": report["metrics"]["overall"], **report["metrics"]["by_platform_element"]}
        ),
    }
    html_path = path.with_suffix(".html")
    html_path.write_text(render(meta, shots, inline=False, out_dir=out_dir), encoding="utf-8")
    return path


def progress_line(done: int, total: int) -> None:
    print(f"\rscreenspot: {done}/{total}", end="" if done < total else "\n", file=sys.stderr)
