"""One self-contained HTML page per episode or eval report: every step's screenshot with the
predicted point, the executed point and the gold box drawn over it (SVG), plus the raw
model output, the parsed actions and the timings.

* predicted point: the model's first parsed action (``point``, else ``start``);
* executed point: where the env actually acted, as :mod:`agent.episode.steps` defines it
  (the recorded input-unit point mapped back to screenshot px, so rounding and clamping
  show);
* gold: the step's ``gold`` boxes (a gold point when there is no box);
* phases: the step's per-phase timings as one small stacked bar.

Screenshots are inlined as ``data:`` URLs (default) or linked by relative path.
"""

from __future__ import annotations

import base64
import contextlib
import errno
import functools
import html
import json
import os
import webbrowser
from dataclasses import dataclass, field
from pathlib import Path
from string import Template
from typing import Any

from agent.core.errors import ConfigError, RecordingError
from agent.episode.recording import load_episode
from agent.episode.steps import PHASES, StepRecord
from agent.evaluation.metrics import anchor, gold_of

Point = tuple[float, float]
TEMPLATE = Path(__file__).parent / "templates" / "viewer.html"


@dataclass
class Shot:
    """One step as drawn: screenshot, size, overlays, and what to print beside it."""

    index: int
    image: Path
    size: tuple[int, int]
    pred: Point | None = None
    executed: Point | None = None
    gold_boxes: list[list[float]] = field(default_factory=list)
    gold_point: Point | None = None
    title: str = ""
    badges: list[tuple[str, bool]] = field(default_factory=list)
    sections: list[tuple[str, str]] = field(default_factory=list)
    error: str | None = None
    phases: dict[str, float] = field(default_factory=dict)
    step_s: float | None = None
    root: Path | None = None  # the folder the screenshot must lie in (its episode)


def _action_text(a: dict[str, Any] | None) -> str:
    if not a:
        return "(no action)"
    parts = [a["type"]]
    for k in ("target", "text", "keys", "direction", "url", "name", "status", "answer", "question"):
        if a.get(k):
            parts.append(f"{k}={a[k]!r}"[:60])
    return " ".join(parts)


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def episode_shots(directory: str | Path) -> tuple[dict[str, Any], list[Shot]]:
    ep = load_episode(directory, full=False)  # strings as recorded: cut ones name their file
    shots = [_episode_shot(ep.dir, step) for step in ep.records]
    o = ep.outcome
    meta = {
        "title": f"Episode: {ep.meta.get('task', {}).get('goal', '')}"[:200],
        "subtitle": f"{ep.dir} · model {ep.meta.get('model', {}).get('name', '?')} · "
        f"{o.get('status', '?')} after {o.get('steps', len(ep.steps))} step(s)",
        "summary": _kv_table({k: v for k, v in o.items() if k != "final_observation"}),
    }
    return meta, shots


def _episode_shot(directory: Path, step: StepRecord) -> Shot:
    gold = gold_of(step.line) if step.gold is not None else None
    sections = []
    if step.thought:
        sections.append(("thought", step.thought))
    sections.append(("raw model output", step.raw))
    for k, att in enumerate(step.attempts):
        sections.append((f"attempt {k + 1}", _compact(att)))
    sections.append(("actions", "\n".join(_compact(r) for r in step.line.get("actions", []))))
    if gold:
        sections.append(("gold", _compact(gold)))
    sections.append(("timings (s)", _compact(step.line.get("timings", {}))))
    return Shot(
        index=step.index,
        image=directory / step.screenshot,
        root=directory,
        size=step.size,
        pred=step.predicted_point,
        executed=step.executed_point,
        gold_boxes=gold["boxes"] if gold else [],
        gold_point=anchor(gold["action"]) if gold and not gold["boxes"] else None,
        title="; ".join(_action_text(a.action) for a in step.actions) or "(no action)",
        sections=sections,
        error=step.first_error,
        phases=step.phases(),
        step_s=step.timings.get("step_s"),
    )


def report_shots(path: str | Path) -> tuple[dict[str, Any], list[Shot]]:
    report = json.loads(Path(path).read_text(encoding="utf-8"))
    if report.get("kind") != "native-agent/eval-report":
        raise ConfigError(f"{path} is not an eval report (agent eval writes report.json)")
    shots = []
    for ep in report["episodes"]:
        for s in ep["steps"]:
            gold, pred, extra = s["gold"], s.get("pred"), s.get("extra", {})
            badges = [("type", s["type_match"]), ("step", s["success"])]
            if s.get("element_match") is not None:
                badges.insert(1, ("element", s["element_match"]))
            if s.get("text_f1") is not None:
                badges.insert(-1, (f"text F1 {s['text_f1']:.2f}", s["text_f1"] >= 0.5))
            sections = [
                ("prediction", _compact(pred)),
                ("gold", _compact(gold)),
                ("raw model output", s.get("raw") or ""),
            ]
            if s.get("distance_px") is not None:
                sections.insert(0, ("distance", f"{s['distance_px']:.1f} px"))
            ex = extra.get("executed")
            shots.append(
                Shot(
                    index=s["index"],
                    image=Path(ep["dir"]) / (extra.get("screenshot") or f"{s['index']:04d}.png"),
                    root=Path(ep["dir"]),
                    size=tuple(extra.get("size") or (0, 0)),
                    pred=anchor({k: v for k, v in (pred or {}).items() if k != "box"}),
                    executed=tuple(ex) if ex else None,
                    gold_boxes=gold.get("boxes", []),
                    gold_point=anchor(gold["action"]) if not gold.get("boxes") else None,
                    title=f"{Path(ep['dir']).name} · predicted {_action_text(pred)} · gold "
                    f"{_action_text(gold['action'])}",
                    badges=badges,
                    sections=sections,
                    error=s.get("parse_error"),
                )
            )
    meta = {
        "title": "Evaluation report",
        "subtitle": f"model {report.get('model', {}).get('name', '?')} · "
        f"{len(report['episodes'])} episode(s)",
        "summary": _kv_table(report["metrics"]),
    }
    return meta, shots


def _kv_table(data: dict[str, Any]) -> str:
    rows = []
    for k, v in data.items():
        text = json.dumps(v) if isinstance(v, (dict, list)) else str(v)
        rows.append(f"<tr><th>{html.escape(k)}</th><td>{html.escape(text[:400])}</td></tr>")
    return f'<table class="metrics">{"".join(rows)}</table>'


PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def placeholder(w: int, h: int, why: str) -> str:
    """An inline SVG standing in for a screenshot that is missing or refused."""
    w, h = max(int(w or 0), 160), max(int(h or 0), 90)
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
        f'viewBox="0 0 {w} {h}"><rect width="100%" height="100%" fill="#e5e7eb"/>'
        f'<text x="50%" y="50%" text-anchor="middle" font-family="sans-serif" '
        f'font-size="{max(12, h // 20)}" fill="#6b7280">{html.escape(why)}</text></svg>'
    )
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8", "replace")).decode(
        "ascii"
    )


def _inside(image: Path, root: Path | None) -> bool:
    if root is None:
        return False
    try:
        image.resolve().relative_to(root.resolve())
    except (ValueError, OSError):
        return False
    return True


def _src(shot: Shot, inline: bool, out_dir: Path) -> str:
    """The screenshot's URL: only a PNG file inside the episode's own folder is embedded or
    linked (a tampered step line naming ``../../secret`` gets a placeholder); a missing one
    (what a full disk leaves) gets a placeholder too."""
    image, (w, h) = shot.image, shot.size
    if not _inside(image, shot.root):
        return placeholder(w, h, "screenshot outside the episode folder: not shown")
    try:
        data = image.read_bytes() if inline else image.open("rb").read(8)
    except OSError:
        return placeholder(w, h, f"screenshot {image.name} is missing")
    if not data.startswith(PNG_MAGIC):
        return placeholder(w, h, f"{image.name} is not a PNG: not shown")
    if inline:
        return "data:image/png;base64," + base64.b64encode(data).decode("ascii")
    return Path(os.path.relpath(image.resolve(), out_dir.resolve())).as_posix()


def _overlay(shot: Shot) -> str:
    w, h = int(shot.size[0] or 0), int(shot.size[1] or 0)
    r = max(3.0, max(w, h) / 140)
    sw = max(1.0, max(w, h) / 500)
    parts = []
    for b in shot.gold_boxes:
        parts.append(
            f'<rect class="gold-box" x="{b[0]:.2f}" y="{b[1]:.2f}" width="{b[2] - b[0]:.2f}" '
            f'height="{b[3] - b[1]:.2f}" stroke-width="{sw:.2f}"/>'
        )
    if shot.gold_point is not None:
        gx, gy = shot.gold_point
        parts.append(
            f'<circle class="gold-point" cx="{gx:.2f}" cy="{gy:.2f}" r="{r * 1.6:.2f}" '
            f'stroke-width="{sw:.2f}"/>'
        )
    if shot.executed is not None:
        ex, ey = shot.executed
        parts.append(
            f'<g class="exec-point" data-x="{ex:.2f}" data-y="{ey:.2f}" stroke-width="{sw:.2f}">'
            f'<line x1="{ex - r * 1.5:.2f}" y1="{ey:.2f}" x2="{ex + r * 1.5:.2f}" y2="{ey:.2f}"/>'
            f'<line x1="{ex:.2f}" y1="{ey - r * 1.5:.2f}" x2="{ex:.2f}" y2="{ey + r * 1.5:.2f}"/>'
            "</g>"
        )
    if shot.pred is not None:
        px, py = shot.pred
        parts.append(
            f'<circle class="pred-point" cx="{px:.2f}" cy="{py:.2f}" r="{r:.2f}" '
            f'stroke-width="{sw:.2f}"/>'
        )
    return (
        f'<svg class="overlay" viewBox="0 0 {w} {h}" preserveAspectRatio="none" '
        f'xmlns="http://www.w3.org/2000/svg">{"".join(parts)}</svg>'
    )


PHASE_COLOURS = {
    "capture_s": "#0ea5e9",
    "decode_s": "#14b8a6",
    "mask_s": "#a855f7",
    "model_s": "#f59e0b",
    "parse_s": "#eab308",
    "gate_s": "#ef4444",
    "execute_s": "#22c55e",
    "settle_s": "#84cc16",
    "record_s": "#64748b",
}


def _phase_bar(shot: Shot) -> str:
    """One stacked bar: each phase's share of the step (of ``step_s``, else of their sum)."""
    phases = {k: v for k, v in shot.phases.items() if v > 0}
    total = max(shot.step_s or 0.0, sum(phases.values()))
    if not phases or total <= 0:
        return ""
    segs = []
    for k in PHASES:
        if k not in phases:
            continue
        name, ms, pct = k[:-2], 1000 * phases[k], 100 * phases[k] / total
        segs.append(
            f'<span class="phase" data-phase="{name}" data-ms="{ms:.1f}" '
            f'style="width:{pct:.3f}%;background:{PHASE_COLOURS[k]}" '
            f'title="{name} {ms:.1f} ms"></span>'
        )
    legend = " · ".join(f"{k[:-2]} {1000 * phases[k]:.0f}" for k in PHASES if k in phases)
    return (
        f'<div class="phases" data-step-ms="{1000 * total:.1f}" title="ms per phase">'
        f'<div class="phase-bar">{"".join(segs)}</div>'
        f"<small>{html.escape(legend)} ms of {1000 * total:.0f} ms</small></div>"
    )


def _display_width(shot: Shot) -> int:
    """Large screenshots shrink to 960 px; small ones (MiniWoB++, phones) grow to 400."""
    return min(960, max(shot.size[0], 400))


def _step_html(shot: Shot, inline: bool, out_dir: Path) -> str:
    """One step's section. Every value from the recording is escaped, in text and in
    attributes alike (a tampered episode must not run script in the viewer)."""
    q = functools.partial(html.escape, quote=True)
    badges = "".join(
        f'<span class="badge {"ok" if ok else "bad"}">{q(str(name))}</span>'
        for name, ok in shot.badges
    )
    details = "".join(
        f"<div><strong>{q(str(k))}</strong><pre>{q(str(v))}</pre></div>" for k, v in shot.sections
    )
    err = f'<p class="err">{q(str(shot.error))}</p>' if shot.error else ""
    i, (w, h) = q(str(shot.index)), (int(shot.size[0] or 0), int(shot.size[1] or 0))
    return (
        f'<section class="step" id="step-{i}" data-index="{i}">'
        f"<h2>Step {i}: {q(shot.title)}{badges}</h2>{err}{_phase_bar(shot)}"
        f'<div class="row"><div class="shot" style="width: min(100%, {_display_width(shot)}px)" '
        f'data-width="{w}" data-height="{h}"><img alt="step {i}" '
        f'src="{q(_src(shot, inline, out_dir))}">{_overlay(shot)}</div>'
        f'<div class="details">{details}</div></div></section>'
    )


def render(meta: dict[str, Any], shots: list[Shot], *, inline: bool, out_dir: Path) -> str:
    template = Template(TEMPLATE.read_text(encoding="utf-8"))
    return template.substitute(
        title=html.escape(meta["title"]),
        subtitle=html.escape(meta["subtitle"]),
        summary=meta.get("summary", ""),
        steps="\n".join(_step_html(s, inline, out_dir) for s in shots),
    )


def write_page(path: Path, data: bytes) -> None:
    """Write the page whole or not at all: through a temporary file renamed into place, which
    is removed when the disk refuses the write (full, or over a size limit). The error is a
    RecordingError naming the fix; an existing page at ``path`` is left as it was."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as err:
        with contextlib.suppress(OSError):
            tmp.unlink()
        full = err.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
        fix = (
            f"free {len(data) // 1024 + 1} KiB there or pass --out on another disk"
            if full
            else "pass --out with a folder you can write to"
        )
        raise RecordingError(
            f"cannot write the viewer page {path} ({err.strerror or err}): {fix}; "
            "nothing was written"
        ) from err


def write_view(
    target: str | Path,
    out: str | Path | None = None,
    *,
    inline: bool = True,
    open_browser: bool = False,
) -> Path:
    """Render an episode directory or an eval ``report.json`` to one HTML file."""
    target = Path(target)
    if target.is_dir():
        meta, shots = episode_shots(target)
        out_path = Path(out) if out else target / "view.html"
    elif target.is_file():
        meta, shots = report_shots(target)
        out_path = Path(out) if out else target.with_suffix(".html")
    else:
        raise ConfigError(f"{target} is neither an episode directory nor a report file")
    page = render(meta, shots, inline=inline, out_dir=out_path.parent)
    # a recorded string may hold a lone surrogate (model output is data): never a crash
    write_page(out_path, page.encode("utf-8", "replace"))
    if open_browser:
        webbrowser.open(out_path.resolve().as_uri())
    return out_path
