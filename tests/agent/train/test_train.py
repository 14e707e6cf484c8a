"""``agent train`` on a tiny random Qwen2-VL (CPU): the labels, the loss, LoRA merge and
resume, and a trained checkpoint acting through the in-process backend on a real page."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agent.cli import main as cli_main
from agent.core.errors import ConfigError
from agent.core.model import ModelRequest
from agent.evaluation.gold import GoldStep, gold_entry, write_gold_episode
from agent.train import Collator, TrainConfig, collect, train
from model.backends.hf import load_hf_model
from model.parsers import frame_options, parse
from tests.conftest import load_tool

GOAL = "Press the blue button"
PAGE = """<!doctype html><html><head><title>start</title><style>
body{margin:0;background:#eee} button{position:absolute;left:70px;top:30px;width:90px;
height:40px;background:#2060d0;border:0}</style></head>
<body><button onclick="document.title='pressed'"></button></body></html>"""
CENTER = (115.0, 50.0)  # the button's centre, screenshot px (dsf 1)


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    builder = load_tool("make_tiny_qwen")
    path: Path = builder.build_tiny(tmp_path_factory.mktemp("tiny") / "qwen2-vl", "qwen2-vl")
    return path


def demonstration(root: Path, png: bytes, name: str = "ep") -> Path:
    """A gold episode: on this screen, the person clicked the button."""
    click = {"type": "click", "point": list(CENTER)}
    gold = gold_entry(click, boxes=[[70, 30, 160, 70]], source="t")
    return write_gold_episode(root / name, {"task": {"goal": GOAL}}, [GoldStep(png, gold)])


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("page") / "button.html"
    path.write_text(PAGE, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def still(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Episodes of a synthetic screen (no browser) for the cheap tests."""
    import io

    import numpy as np
    from PIL import Image

    arr = np.full((112, 224, 3), 238, np.uint8)
    arr[30:70, 70:160] = (32, 96, 208)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    root = tmp_path_factory.mktemp("still")
    demonstration(root / "eps", buf.getvalue())
    return root / "eps"


def test_labels_are_the_answer_and_end_of_turn_after_the_inference_prompt(
    base: Path, still: Path
) -> None:
    encoder = load_hf_model(str(base), family="qwen2-vl")
    samples, data = collect(TrainConfig([str(still)], "qwen2-vl", str(base), "unused"), encoder)
    assert len(samples) == 1 and data["samples"] == 1
    (sample,) = samples
    assert sample.answer.startswith("click <|box_start|>(")  # the qwen2-vl dialect
    batch = Collator(encoder)([sample, sample])
    labels, ids = batch["labels"][0], batch["input_ids"][0]
    kept = labels != -100
    tok = encoder.tokenizer
    assert tok.decode(labels[kept]) == sample.answer + "<|im_end|>"
    # the answer is the tail, every earlier position is masked
    n = int(kept.sum())
    assert kept[-n:].all() and not kept[:-n].any()
    assert (labels[kept] == ids[kept]).all()
    # the prompt is token for token what the backend feeds at inference
    prompt = encoder.inputs(sample.messages)["input_ids"][0]
    assert ids[: len(ids) - n].tolist() == prompt.tolist()
    # native resolution: 224x112 at 28 px per token → 8×4 tokens, 16×8 patches
    assert batch["image_grid_thw"].tolist() == [[1, 8, 16], [1, 8, 16]]
    assert int((ids == encoder.image_token_id).sum()) == 32


def test_lora_is_merged_and_training_resumes_from_its_checkpoint(
    base: Path, still: Path, tmp_path: Path
) -> None:
    cfg: dict[str, Any] = {"lora": 4, "lr": 1e-2, "save_steps": 2, "progress": False}
    out = tmp_path / "lora"
    first = train(TrainConfig([str(still)], "qwen2-vl", str(base), str(out), max_steps=4, **cfg))
    assert first["resumed_from"] is None and first["steps"] == 4
    again = train(TrainConfig([str(still)], "qwen2-vl", str(base), str(out), max_steps=6, **cfg))
    assert again["resumed_from"] is not None and again["resumed_from"].endswith("checkpoint-4")
    assert again["steps"] == 6
    assert [x["step"] for x in again["losses"]] == [1, 2, 3, 4, 5, 6]
    assert again["losses"][:4] == first["losses"]  # the history came back with the weights
    # merged: a plain checkpoint (no adapter files), loads in the in-process backend
    assert not (out / "adapter_config.json").exists()
    loaded = load_hf_model(str(out), family="qwen2-vl")
    names = [n for n, _ in loaded.model.named_parameters()]
    assert names and not any("lora" in n for n in names)
    plain = load_hf_model(str(base), family="qwen2-vl")
    changed = [
        n
        for (n, p), (_, q) in zip(
            loaded.model.named_parameters(), plain.model.named_parameters(), strict=True
        )
        if not p.equal(q)
    ]
    assert changed and all("language_model" in n for n in changed)
    record = json.loads((out / "train.json").read_text())
    assert record["config"]["lora"] == 4 and record["data"]["samples"] == 1


def test_no_samples_says_why(base: Path, tmp_path: Path, still: Path) -> None:
    png = next(still.rglob("0000.png")).read_bytes()
    finish = gold_entry({"type": "finish"}, source="t")
    write_gold_episode(tmp_path / "eps" / "f", {"task": {"goal": GOAL}}, [GoldStep(png, finish)])
    with pytest.raises(ConfigError, match="not expressible in qwen2-vl"):
        train(TrainConfig([str(tmp_path / "eps")], "qwen2-vl", str(base), str(tmp_path / "o")))
    with pytest.raises(ConfigError, match="no such episode directory"):
        train(TrainConfig([str(tmp_path / "nope")], "qwen2-vl", str(base), str(tmp_path / "o")))
    with pytest.raises(ConfigError, match="full fine-tune"):
        train(TrainConfig([str(still)], "qwen2-vl", str(base), str(tmp_path / "o"), lora=-1))


@pytest.mark.browser
def test_trained_checkpoint_acts_on_its_training_screen(
    base: Path, page: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from envs.browser import BrowserEnv

    env = BrowserEnv(url=page.as_uri(), viewport=(224, 112))
    try:
        screen = env.reset()
        assert screen.title == "start"
        demonstration(tmp_path / "eps", screen.png)
        out = tmp_path / "model"
        rc = cli_main(
            [
                "train",
                str(tmp_path / "eps"),
                "--family",
                "qwen2-vl",
                "--base",
                str(base),
                "--out",
                str(out),
                "--lora",
                "0",
                "--lr",
                "2e-2",
                "--max-steps",
                "40",
                "--save-steps",
                "1000",
            ]
        )
        assert rc == 0
        record = json.loads((out / "train.json").read_text())
        losses = [x["loss"] for x in record["losses"]]
        assert len(losses) == 40 and losses[-1] < 0.2 * losses[0]
        model = load_hf_model(str(out))  # family from the checkpoint, as `agent run` does
        obs = env.observe()
        frame = obs.frame(
            mode=model.input_mode,
            max_tokens=model.max_tokens,
            convention=model.convention,
            **frame_options(model.format, factor=model.grid, min_pixels=model.min_pixels),
        )
        reply = model.act(ModelRequest(GOAL, obs, frame, []))
        (action,) = parse(model.format, reply.text, frame).actions
        assert action.type == "click"
        env.step(action)
        assert env.observe().title == "pressed"
    finally:
        env.close()


def test_each_training_setting_has_its_effect(base: Path, still: Path, tmp_path: Path) -> None:
    """--epochs, --batch-size, --seed, --save-steps, --device and --max-image-tokens, through
    the CLI: each changes what the run did (steps, checkpoints, LoRA init, the image grid)."""

    def run(name: str, *extra: str) -> dict[str, Any]:
        out = tmp_path / name
        args = ["train", str(still), str(still), "--family", "qwen2-vl", "--base", str(base)]
        assert cli_main([*args, "--out", str(out), "--lr", "1e-2", "--lora", "2", *extra]) == 0
        record: dict[str, Any] = json.loads((out / "train.json").read_text())
        record["checkpoints"] = sorted(p.name for p in (out / "checkpoints").glob("checkpoint-*"))
        return record

    # two copies of the one-sample episode dir: 2 samples
    a = run("a", "--epochs", "2", "--save-steps", "1", "--seed", "1", "--device", "cpu")
    assert a["data"]["samples"] == 2 and a["steps"] == 4  # 2 samples x 2 epochs, batch 1
    assert a["checkpoints"] == ["checkpoint-3", "checkpoint-4"]  # every step, the last two kept
    assert a["device"] == "cpu"
    assert a["data"]["history_block"] == 3  # the window the checkpoint's backend will use
    b = run("b", "--epochs", "2", "--batch-size", "2", "--save-steps", "3", "--seed", "1")
    assert b["steps"] == 2  # one batch of 2 per epoch
    c = run("c", "--epochs", "2", "--save-steps", "5", "--seed", "1")
    assert c["checkpoints"] == ["checkpoint-4"]  # only the final save
    assert [x["loss"] for x in c["losses"]] == [x["loss"] for x in a["losses"]]  # same seed
    d = run("d", "--epochs", "2", "--save-steps", "1", "--seed", "2")
    assert [x["loss"] for x in d["losses"]] != [x["loss"] for x in a["losses"]]  # LoRA init
    # the image cap: 224x112 is 32 tokens at native resolution; a cap of 8 resamples it
    e = run("e", "--max-steps", "1", "--max-image-tokens", "8")
    assert a["data"]["max_image_tokens"] != 8 and e["data"]["max_image_tokens"] == 8
