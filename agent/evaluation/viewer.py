"""One self-contained HTML page per episode or eval report: every step's screenshot with the
predicted point, the executed point and the gold box drawn over it (SVG), plus the raw
model output, the parsed actions and the timings.

* predicted point: the model's first parsed action (``point``, else ``start``);
* executed point: where the env actually acted — the recorded input-unit point mapped back
  to screenshot px through :mod:`agent.core.coords` (so rounding and clamping show);
* gold: the step's ``gold`` boxes (a gold point when there is no box).

Screenshots are inlined as ``data:`` URLs (default) or linked by relative path.
"""

from __future__ import annotations

import base64
import html
import json
import webbrowser
from dataclasses import dataclass, field
from pathlib import Path
from string import Template
from typing import Any

from agent.core.coords import Frame, input_to_screen
from agent.core.errors import ConfigError, RecordingError
from agent.episode.recording import load_episode
from agent.evaluation.metrics import anchor, gold_of

Point = tuple[float, float]
TEMPLATE = Path(__file__).parent / "templates" / "viewer.html"


def executed_point(step: dict[str, Any]) -> Point | None:
    """Screenshot px where the first executed pointing action landed."""
    for rec in step.get("actions", []):
        if "result" not in rec:
            continue
        inp = (rec.get("input") or {}).get("point") or (rec.get("input") or {}).get("start")
        if inp is not None and step.get("frame"):
            try:
                return input_to_screen(Frame(**step["frame"]), inp[0], inp[1])
            except (TypeError, ValueError):
                pass
        p = anchor({k: v for k, v in rec["action"].items() if k != "box"})
        if p is not None:
            return p
    return None


def predicted_point(step: dict[str, Any]) -> Point | None:
    acts = step.get("actions") or []
    if not acts:
        return None
    return anchor({k: v for k, v in acts[0]["action"].items() if k != "box"})


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
    ep = load_episode(directory)
    shots = []
    for step in ep.steps:
        obs = step.get("observation", {})
        gold = gold_of(step) if "gold" in step else None
        acts = [r["action"] for r in step.get("actions", [])]
        sections = []
        if step.get("thought"):
            sections.append(("thought", step["thought"]))
        sections.append(("raw model output", step.get("raw", "")))
        for k, att in enumerate(step.get("attempts") or []):
            sections.append((f"attempt {k + 1}", _compact(att)))
        sections.append(("actions", "\n".join(_compact(r) for r in step.get("actions", []))))
        if gold:
            sections.append(("gold", _compact(gold)))
        sections.append(("timings (s)", _compact(step.get("timings", {}))))
        errors = [step.get("error"), obs.get("last_action_error")]
        errors += [r.get("error") or r.get("result", {}).get("error") for r in step["actions"]]
        shots.append(
            Shot(
                index=int(step["index"]),
                image=ep.dir / (step.get("screenshot") or f"{int(step['index']):04d}.png"),
                size=(int(obs.get("width", 0)), int(obs.get("height", 0))),
                pred=predicted_point(step),
                executed=executed_point(step),
                gold_boxes=gold["boxes"] if gold else [],
                gold_point=anchor(gold["action"]) if gold and not gold["boxes"] else None,
                title="; ".join(_action_text(a) for a in acts) or "(no action)",
                sections=sections,
                error=next((e for e in errors if e), None),
            )
        )
    o = ep.outcome
    meta = {
        "title": f"Episode: {ep.meta.get('task', {}).get('goal', '')}"[:200],
        "subtitle": f"{ep.dir} · model {ep.meta.get('model', {}).get('name', '?')} · "
        f"{o.get('status', '?')} after {o.get('steps', len(ep.steps))} step(s)",
        "summary": _kv_table({k: v for k, v in o.items() if k != "final_observation"}),
    }
    return meta, shots


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
                    size=tuple(extra.get("size") or (0, 0)),  # type: ignore[arg-type]
                    pred=anchor({k: v for k, v in (pred or {}).items() if k != "box"}),
                    executed=tuple(ex) if ex else None,  # type: ignore[arg-type]
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


def _src(image: Path, inline: bool, out_dir: Path) -> str:
    if inline:
        try:
            data = base64.b64encode(image.read_bytes()).decode("ascii")
        except OSError as err:
            raise RecordingError(f"cannot read screenshot {image}: {err}") from err
        return f"data:image/png;base64,{data}"
    try:
        rel = image.resolve().relative_to(out_dir.resolve())
        return rel.as_posix()
    except ValueError:
        import os

        return Path(os.path.relpath(image.resolve(), out_dir.resolve())).as_posix()


def _overlay(shot: Shot) -> str:
    w, h = shot.size
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


def _display_width(shot: Shot) -> int:
    """Large screenshots shrink to 960 px; small ones (MiniWoB++, phones) grow to 400."""
    return min(960, max(shot.size[0], 400))


def _step_html(shot: Shot, inline: bool, out_dir: Path) -> str:
    badges = "".join(
        f'<span class="badge {"ok" if ok else "bad"}">{html.escape(name)}</span>'
        for name, ok in shot.badges
    )
    details = "".join(
        f"<div><strong>{html.escape(k)}</strong><pre>{html.escape(v)}</pre></div>"
        for k, v in shot.sections
    )
    err = f'<p class="err">{html.escape(shot.error)}</p>' if shot.error else ""
    return (
        f'<section class="step" id="step-{shot.index}" data-index="{shot.index}">'
        f"<h2>Step {shot.index}: {html.escape(shot.title)}{badges}</h2>{err}"
        f'<div class="row"><div class="shot" style="width: min(100%, {_display_width(shot)}px)" '
        f'data-width="{shot.size[0]}" data-height="{shot.size[1]}"><img alt="step {shot.index}" '
        f'src="{_src(shot.image, inline, out_dir)}">{_overlay(shot)}</div>'
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
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(render(meta, shots, inline=inline, out_dir=out_path.parent), "utf-8")
    if open_browser:
        webbrowser.open(out_path.resolve().as_uri())
    return out_path
