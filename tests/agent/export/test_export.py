"""``agent export``: episodes recorded with the real EpisodeWriter (generated screens and
actions on desktop, HiDPI browser and portrait phone geometries) become samples in every
format for every family; each exported assistant turn, parsed with our own parser, gives
back the recorded action within 1 px. LLaMA-Factory and ms-swift cannot be installed beside
the project (their transformers pins exclude ours), so their documented schema is checked:
LLaMA-Factory's ShareGPT converter rules (role alternation, even turn count, one image per
``<image>``), its dataset_info.json columns, and ms-swift's messages/images layout."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from agent.cli import main
from agent.core.actions import (
    Back,
    Click,
    DoubleClick,
    Drag,
    Finish,
    Home,
    Hover,
    Key,
    LongPress,
    Navigate,
    OpenApp,
    RightClick,
    Scroll,
    Swipe,
    Type,
    Wait,
    action_points,
    dump_action,
    parse_action,
)
from agent.core.coords import Frame
from agent.core.observation import Observation
from agent.episode.recording import EpisodeWriter, load_episode
from agent.export import ExportConfig, Exporter, export
from agent.export.formats import write
from agent.export.render import same_action, tolerance
from model.backends.stopping import action_complete, cut_at_stop
from model.parsers import parse, spec_for
from model.prompts import FAMILIES

FORMATS = ("llamafactory", "sharegpt", "ms-swift")


def _screen(w: int, h: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = np.zeros((h, w, 3), np.uint8)
    img[..., 0] = np.linspace(0, 255, w, dtype=np.uint8)[None, :]
    img[..., 1] = np.linspace(0, 255, h, dtype=np.uint8)[:, None]
    for _ in range(6):
        x, y = int(rng.integers(0, w - 60)), int(rng.integers(0, h - 30))
        img[y : y + 30, x : x + 60] = rng.integers(0, 255, 3)
    return img


def _pt(rng: np.random.Generator, w: int, h: int) -> tuple[float, float]:
    return float(rng.uniform(5, w - 6)), float(rng.uniform(5, h - 6))


def computer_actions(w: int, h: int, seed: int) -> list[Any]:
    r = np.random.default_rng(seed)
    x, y = _pt(r, w, h)
    return [
        Click(point=(x, y), box=(x - 30.5, y - 12.25, x + 41, y + 9), target="Search"),
        DoubleClick(point=_pt(r, w, h)),
        Type(text="{{secret:password}}", point=_pt(r, w, h)),
        RightClick(point=_pt(r, w, h)),
        Hover(point=_pt(r, w, h)),
        Drag(start=_pt(r, w, h), end=_pt(r, w, h)),
        Type(text="BOS", point=_pt(r, w, h), enter=True),
        Key(keys="ctrl+shift+t"),
        Scroll(direction="down", amount=3, point=_pt(r, w, h)),
        Navigate(url="http://127.0.0.1/next"),
        Wait(seconds=1.0),
        Finish(answer="done"),
    ]


def mobile_actions(w: int, h: int, seed: int) -> list[Any]:
    r = np.random.default_rng(seed)
    return [
        Click(point=_pt(r, w, h)),
        LongPress(point=_pt(r, w, h), duration=2.0),
        Swipe(start=_pt(r, w, h), end=_pt(r, w, h)),
        Type(text="hello world"),
        Back(),
        Home(),
        OpenApp(name="Settings"),
        Finish(),
    ]


def record(out: Path, w: int, h: int, scale: float, actions: list[Any], env: str) -> Path:
    meta = {
        "task": {"goal": "Sign in with {{secret:password}} and search", "id": None},
        "env": {"name": env},
        "model": {"name": "scripted", "format": "json"},
        "secrets": {"names": ["password"]},
    }
    writer = EpisodeWriter(out, meta)
    for i, a in enumerate(actions):
        obs = Observation(array=_screen(w, h, i), scale=scale)
        line = {
            "index": i,
            "observation": obs.meta(),
            "screenshot": writer.save_screenshot(i, obs),
            "frame": obs.frame().model_dump(),
            "raw": json.dumps(dump_action(a)),
            "thought": f"step {i + 1}",
            "actions": [
                {"action": dump_action(a), "gate": {"verdict": "allow"}, "result": {}},
            ],
        }
        writer.write_step(line)
    writer.finish({"status": "success", "steps": len(actions)})
    return out


@pytest.fixture(scope="module")
def episodes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("episodes")
    record(root / "desktop", 1920, 1080, 1.0, computer_actions(1920, 1080, 1), "desktop")
    record(root / "hidpi", 1600, 1000, 2.0, computer_actions(1600, 1000, 2), "browser")
    record(root / "phone", 1080, 2400, 1.0, mobile_actions(1080, 2400, 3), "android")
    failed = record(root / "failed", 640, 400, 1.0, [Click(point=(3, 4))], "browser")
    data = json.loads((failed / "episode.json").read_text())
    data["outcome"] = {"status": "failure"}
    (failed / "episode.json").write_text(json.dumps(data))
    return root


def recorded_steps(root: Path) -> dict[tuple[str, int], list[Any]]:
    out = {}
    for steps in root.glob("*/steps.jsonl"):
        for line in steps.read_text().splitlines():
            s = json.loads(line)
            out[(steps.parent.name, s["index"])] = [parse_action(a["action"]) for a in s["actions"]]
    return out


def turns(row: dict[str, Any], fmt: str) -> list[tuple[str, str]]:
    if fmt == "sharegpt":
        names = {"system": "system", "human": "user", "gpt": "assistant"}
        return [(names[m["from"]], m["value"]) for m in row["conversations"]]
    return [(m["role"], m["content"]) for m in row["messages"]]


def check_llamafactory_schema(row: dict[str, Any], fmt: str, out: Path) -> None:
    """LLaMA-Factory's SharegptDatasetConverter: an optional leading system turn, then
    user/assistant strictly alternating, an even count; its mm plugin: one image per mark."""
    msgs = turns(row, fmt)
    if msgs[0][0] == "system":
        msgs = msgs[1:]
    assert len(msgs) % 2 == 0 and msgs
    for k, (role, content) in enumerate(msgs):
        assert role == ("user" if k % 2 == 0 else "assistant") and isinstance(content, str)
    marks = sum(c.count("<image>") for _, c in msgs)
    assert marks == len(row["images"])
    for p in row["images"]:
        assert (Path(p) if fmt == "ms-swift" else out / p).is_file()
        if fmt == "ms-swift":
            assert Path(p).is_absolute()


@pytest.fixture(scope="module", params=sorted(FAMILIES))
def exported(
    request: pytest.FixtureRequest, episodes: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, Path, dict[str, Any]]:
    """One export per family (the samples), written in every format."""
    family = request.param
    out = tmp_path_factory.mktemp(f"data-{family}")
    exporter = Exporter(ExportConfig(family=family), out)
    samples = exporter.episodes([episodes])
    for fmt in FORMATS:
        write(samples, fmt, out, f"set_{fmt}")
    stats = {**exporter.stats.to_json(), "samples": len(samples)}
    return family, out, {**stats, "history_block": exporter.block}


@pytest.mark.parametrize("fmt", FORMATS)
def test_round_trip_every_family_and_format(
    episodes: Path, exported: tuple[str, Path, dict[str, Any]], fmt: str
) -> None:
    family, out, manifest = exported
    fam = FAMILIES[family]
    assert manifest["episodes"] == 4 and manifest["episodes_used"] == 3  # not the failed one
    name = f"set_{fmt}"
    rows_path = out / (f"{name}.jsonl" if fmt == "ms-swift" else f"{name}.json")
    if fmt == "ms-swift":
        rows = [json.loads(x) for x in rows_path.read_text().splitlines()]
    else:
        rows = json.loads(rows_path.read_text())
    metas = [json.loads(x) for x in (out / f"{name}.meta.jsonl").read_text().splitlines()]
    assert len(rows) == len(metas) == manifest["samples"] > 0
    recorded = recorded_steps(episodes)
    total = sum(len(v) for k, v in recorded.items() if k[0] != "failed")
    skipped_steps = sum(n for r, n in manifest["skipped"].items() if not r.startswith("episode"))
    assert not any("round trip failed" in r for r in manifest["skipped"])
    # a step is one sample, or — where inference stops after one call — one per call, in order
    answers: dict[tuple[str, int], list[Any]] = {}
    for row, meta in zip(rows, metas, strict=True):
        text = turns(row, fmt)[-1][1]
        frame = Frame(**meta["frame"])
        # what inference keeps of the answer (its stop string, its first complete action)
        stops = list(spec_for(meta["format"]).stop)
        kept = cut_at_stop(text, stops, True)[0]
        kept = next(
            (kept[:n] for n in range(1, len(kept)) if action_complete(meta["format"], kept[:n])),
            kept,
        )
        parsed = parse(meta["format"], text, frame).actions
        assert parse(meta["format"], kept, frame).actions == parsed, f"cut inside {text!r}"
        answers.setdefault((meta["episode"], meta["index"]), []).extend(parsed)
    assert len(answers) + skipped_steps == total  # every step: sample(s) or a reason
    per_step = Counter((m["episode"], m["index"]) for m in metas)
    assert sum(manifest["split"].values()) == sum(1 for n in per_step.values() if n > 1)
    for row, meta in zip(rows, metas, strict=True):
        check_llamafactory_schema(row, fmt, out)
        frame = Frame(**meta["frame"])
        assistant = turns(row, fmt)[-1]
        assert assistant[0] == "assistant"
        if meta["episode"] != "phone":  # a family may write a dialect of its own for mobile
            assert meta["format"] == fam.format
        parsed = answers[(meta["episode"], meta["index"])]
        want = recorded[(meta["episode"], meta["index"])]
        # 1 px, unless the dialect itself is coarser: 0-1000 integers over a side > 2000 px
        tol = tolerance(frame)
        assert tol == 1.0 or max(frame.input_w, frame.input_h) > 2000, (tol, frame)
        assert same_action(want, parsed, meta["format"], tol) is None, (assistant[1], want)
        got_pts = [p for a in parsed for p in action_points(a)]
        want_pts = [p for a in want for p in action_points(a)]
        assert len(got_pts) == len(want_pts)
        for (gx, gy), (wx, wy) in zip(got_pts, want_pts, strict=True):
            assert abs(gx - wx) <= tol and abs(gy - wy) <= tol, (assistant[1], want)
        # images at the model's input resolution; padding added pixels without moving any
        last = Image.open(Path(row["images"][-1]) if fmt == "ms-swift" else out / row["images"][-1])
        assert last.size == (frame.input_w, frame.input_h)
        shot = np.asarray(Image.open(episodes / meta["episode"] / f"{meta['index']:04d}.png"))
        if frame.mode == "pad":
            assert np.array_equal(np.asarray(last)[: frame.screen_h, : frame.screen_w], shot)
        # the inference history window: at most 2 earlier screenshots + the current one, or
        # in blocks of B (the family's default 3): at most 2 + (B - 1) / 2
        assert len(row["images"]) <= 3 + (manifest["history_block"] - 1) // 2
        text = json.dumps(row)
        assert "{{secret:password}}" in text  # the goal's placeholder, never a value
    if fmt != "ms-swift":
        info = json.loads((out / "dataset_info.json").read_text())[name]
        assert info["file_name"] == rows_path.name and info["formatting"] == "sharegpt"
        assert set(info["columns"].values()) <= set(rows[0])


def test_prompt_is_the_familys_own_and_history_matches_inference(
    episodes: Path, tmp_path: Path
) -> None:
    from agent.core.model import HistoryItem, ModelRequest
    from model.prompts import build_messages

    manifest = export(
        [episodes / "desktop"],
        family="qwen2.5-vl",
        format="llamafactory",
        out=tmp_path,
        history_block=1,
    )
    rows = json.loads((tmp_path / manifest["file"]).read_text())
    metas = [
        json.loads(x)
        for x in (tmp_path / f"{manifest['dataset']}.meta.jsonl").read_text().splitlines()
    ]
    k = next(i for i, m in enumerate(metas) if m["index"] == 4)  # hover: 4 earlier steps
    # step 3, a type at a point, is two turns (the click, then the typing): Qwen2.5-VL's
    # inference stops after one <tool_call>, so the history holds 5 earlier turns
    assert [m["index"] for m in metas[: k + 1]] == [0, 1, 2, 2, 3, 4]
    system, user = rows[k]["messages"][0], rows[k]["messages"][1]
    assert system["role"] == "system" and '"name": "computer_use"' in system["content"]
    assert "1932" in system["content"] or "1920" in system["content"]  # the model's px space
    assert user["content"].startswith("The user query: Sign in with {{secret:password}}")
    lines = user["content"]
    assert all(f"Step {n}: <tool_call>" in lines for n in (1, 2, 3))
    assert '"left_click"' in lines.split("Step 3:")[1] and "Step 4:" not in lines
    assert len(rows[k]["images"]) == 3 and rows[k]["images"][0].endswith("0002.png")
    assert rows[k]["messages"][-1]["content"].count("<tool_call>") == 1
    # the same conversation the loop would build, checked against build_messages directly
    frame = Frame(**metas[k]["frame"])
    obs = Observation(array=np.zeros((1080, 1920, 3), np.uint8))
    hist = [HistoryItem(i, "x", None, None, obs if i >= 3 else None, frame) for i in range(5)]
    ref = build_messages(ModelRequest(manifest["family"], obs, frame, hist), "qwen2.5-vl")
    assert [m["role"] for m in ref] == [m["role"] for m in rows[k]["messages"][:-1]]


def test_export_in_blocks_matches_inference(episodes: Path, tmp_path: Path) -> None:
    """The family's default (qwen2.5-vl: blocks of 3), counted in the loop's steps: the type
    at a point of recorded step 2 is two turns, so the hover (recorded step 4) is turn 5 and
    keeps the screenshots of turns ≥ ⌊(5 - 1) / 3⌋ · 3 = 3; turns 0-2 are text lines."""
    manifest = export(
        [episodes / "desktop"], family="qwen2.5-vl", format="llamafactory", out=tmp_path
    )
    assert manifest["history_block"] == 3
    rows = json.loads((tmp_path / manifest["file"]).read_text())
    metas = [
        json.loads(x)
        for x in (tmp_path / f"{manifest['dataset']}.meta.jsonl").read_text().splitlines()
    ]
    assert [m["index"] for m in metas[:6]] == [0, 1, 2, 2, 3, 4]  # sample k is turn k
    user = rows[5]["messages"][1]["content"]
    assert "Step 3: <tool_call>" in user and "Step 4:" not in user
    assert [p[-8:] for p in rows[5]["images"]] == ["0002.png", "0003.png", "0004.png"]
    assert [p[-8:] for p in rows[4]["images"]] == ["0002.png", "0003.png"]  # turn 4: turn 3
    # turn 3 (the typing): a block's last request, every earlier turn with its screenshot
    assert [p[-8:] for p in rows[3]["images"]] == ["0000.png", "0001.png", *["0002.png"] * 2]


def test_resampled_screens_use_the_dialects_resolution(episodes: Path, tmp_path: Path) -> None:
    manifest = export(
        [episodes / "desktop"], family="qwen2-vl", format="ms-swift", out=tmp_path, max_tokens=1024
    )
    metas = [
        json.loads(x)
        for x in (tmp_path / f"{manifest['dataset']}.meta.jsonl").read_text().splitlines()
    ]
    assert metas and all(Frame(**m["frame"]).resampled for m in metas)
    assert manifest["image_max_pixels"] == 1024 * 28 * 28


def test_cli_export_and_errors(episodes: Path, tmp_path: Path, capsys) -> None:
    args = ["export", str(episodes), "--family", "ui-tars", "--format", "sharegpt"]
    assert main([*args, "--out", str(tmp_path / "a")]) == 0
    err = capsys.readouterr().err
    assert "samples from 3/4 episodes" in err and "skipped" in err
    assert main([*args, "--out", str(tmp_path / "b"), "--status", "any"]) == 0
    assert "from 4/4 episodes" in capsys.readouterr().err
    assert (
        main(["export", str(tmp_path / "nothing"), "--family", "json", "--out", str(tmp_path)]) == 2
    )
    assert "no episodes" in capsys.readouterr().err


def test_gold_episodes_are_taken_with_their_gold_action(tmp_path: Path) -> None:
    ep = record(tmp_path / "eps" / "gold", 640, 400, 1.0, [Click(point=(3, 4))], "browser")
    lines = (ep / "steps.jsonl").read_text().splitlines()
    step = json.loads(lines[0])
    step["gold"] = {"action": {"type": "click", "point": [50, 60]}, "boxes": [[40, 50, 60, 70]]}
    (ep / "steps.jsonl").write_text(json.dumps(step) + "\n")
    data = json.loads((ep / "episode.json").read_text())
    data["outcome"] = {"status": "failure"}  # a failed run, but its steps carry gold
    (ep / "episode.json").write_text(json.dumps(data))
    manifest = export(
        [tmp_path / "eps"], family="qwen2-vl", format="llamafactory", out=tmp_path / "o"
    )
    (row,) = json.loads((tmp_path / "o" / manifest["file"]).read_text())
    (meta,) = [json.loads(x) for x in (tmp_path / "o" / f"{manifest['dataset']}.meta.jsonl").open()]
    parsed = parse("qwen2-vl", row["messages"][-1]["content"], Frame(**meta["frame"])).actions
    assert len(parsed) == 1 and max(abs(parsed[0].point[0] - 50), abs(parsed[0].point[1] - 60)) <= 1


def test_wide_screens_come_back_within_half_a_model_unit(tmp_path: Path) -> None:
    """0-1000 integers over a 3864 px wide input are 3.86 px apart: a click comes back
    within half of that (the dialect's own resolution), and the sample is kept."""
    r = np.random.default_rng(7)
    clicks = [Click(point=_pt(r, 3840, 2160)) for _ in range(6)]
    record(tmp_path / "eps" / "wide", 3840, 2160, 1.0, clicks, "desktop")
    manifest = export([tmp_path / "eps"], family="qwen2-vl", format="ms-swift", out=tmp_path / "o")
    assert manifest["samples"] == 6 and not manifest["skipped"]
    rows = [json.loads(x) for x in (tmp_path / "o" / manifest["file"]).open()]
    metas = [json.loads(x) for x in (tmp_path / "o" / f"{manifest['dataset']}.meta.jsonl").open()]
    for row, meta, want in zip(rows, metas, clicks, strict=True):
        frame = Frame(**meta["frame"])
        assert frame.input_w == 3864 and not frame.resampled
        (got,) = parse("qwen2-vl", row["messages"][-1]["content"], frame).actions
        off = max(abs(got.point[0] - want.point[0]), abs(got.point[1] - want.point[1]))
        assert off <= 3.864 / 2 + 1e-9


def test_a_cleared_field_is_selected_first_where_the_dialect_cannot_say_clear(
    tmp_path: Path,
) -> None:
    """``clear`` (type over the field's text) is not in the tool-call dialects: their turns
    say it as the person would — click the field, select all, type; the JSON dialect keeps
    the one action. Without this a trained model types after the old text."""
    acts = [Type(text="Ada", point=(100.0, 50.0), clear=True), Type(text="x", clear=True)]
    ep = record(tmp_path / "eps" / "clear", 640, 400, 1.0, acts, "browser")
    got = {}
    for family in ("qwen2.5-vl", "json"):
        ex = Exporter(ExportConfig(family=family), tmp_path / family)
        samples = ex.episode(load_episode(ep))
        got[family] = [
            [
                dump_action(a)
                for a in parse(s.dialect, s.messages[-1]["content"], Frame(**s.frame)).actions
            ]
            for s in samples
        ]
    assert [[a["type"] for a in t] for t in got["qwen2.5-vl"]] == [
        ["click"],
        ["key"],
        ["type"],
        ["key"],
        ["type"],
    ]
    assert got["qwen2.5-vl"][1][0]["keys"] == "ctrl+a" and got["qwen2.5-vl"][2][0]["text"] == "Ada"
    assert not any(a.get("clear") for t in got["qwen2.5-vl"] for a in t)
    assert [[a.get("clear") for a in t] for t in got["json"]] == [[True], [True]]


def test_cli_history_block_sets_the_exported_window(episodes: Path, tmp_path: Path) -> None:
    """``agent export --history-block``: the window the samples hold, as at inference."""

    def images(name: str, *extra: str) -> tuple[int, list[int]]:
        out = tmp_path / name
        args = ["export", str(episodes / "desktop"), "--family", "qwen2.5-vl"]
        assert main([*args, "--format", "ms-swift", "--out", str(out), *extra]) == 0
        manifest = json.loads((out / "export.json").read_text())
        rows = (out / f"{manifest['dataset']}.jsonl").read_text().splitlines()
        return manifest["history_block"], [len(json.loads(r)["images"]) for r in rows]

    block, default = images("default")
    assert block == 3 and max(default) == 4  # blocks of 3: up to 3 earlier screenshots
    block, sliding = images("sliding", "--history-block", "1")
    assert block == 1 and max(sliding) == 3 and sliding != default
