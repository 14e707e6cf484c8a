"""ScreenSpot grounding evaluation on small fixtures written in the ScreenSpot-v2 and
ScreenSpot-Pro annotation formats (generated screenshots); scores are checked against
hand computation, the pixel budget is pinned, and ``--workers 2`` (the real OCR grounder in
spawned processes) gives the same predictions as one process."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from agent.cli import main
from agent.core.errors import ConfigError
from agent.evaluation.screenspot import evaluate_screenspot, load_screenspot
from model.scripted import ScriptedModel


def _png(path: Path, w: int, h: int, words: list[tuple[str, int, int]] = ()) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    img = Image.new("RGB", (w, h), "white")
    d = ImageDraw.Draw(img)
    font = ImageFont.load_default(size=36)
    for text, x, y in words:
        d.text((x, y), text, fill="black", font=font)
    img.save(path)


def click(x: float, y: float) -> str:
    return json.dumps({"type": "click", "point": [x, y]})


@pytest.fixture
def v2(tmp_path: Path) -> Path:
    root = tmp_path / "ScreenSpot-v2"
    _png(root / "screenspotv2_image" / "pc_1.png", 800, 600)
    _png(root / "screenspotv2_image" / "mob_1.png", 400, 800)
    _png(root / "screenspotv2_image" / "web_1.png", 1280, 720)
    files = {
        "desktop": [
            {"img_filename": "pc_1.png", "bbox": [100, 100, 80, 30], "instruction": "save",
             "data_type": "text", "data_source": "windows"},
            {"img_filename": "pc_1.png", "bbox": [300, 50, 20, 20], "instruction": "close",
             "data_type": "icon", "data_source": "macos"},
        ],
        "mobile": [
            {"img_filename": "mob_1.png", "bbox": [10, 10, 100, 40], "instruction": "search",
             "data_type": "text", "data_source": "ios"},
            {"img_filename": "mob_1.png", "bbox": [200, 300, 50, 50], "instruction": "menu",
             "data_type": "icon", "data_source": "android"},
            {"img_filename": "mob_1.png", "bbox": [0, 0, 400, 100], "instruction": "header",
             "data_type": "icon", "data_source": "android"},
        ],
        "web": [
            {"img_filename": "web_1.png", "bbox": [600, 400, 100, 40], "instruction": "buy",
             "data_type": "text", "data_source": "shop"},
        ],
    }  # fmt: skip
    for platform, items in files.items():
        (root / f"screenspot_{platform}_v2.json").write_text(json.dumps(items))
    return root


# in sample order (desktop, mobile, web): hit, edge hit, 0.5 px outside, no parse, no point, hit
V2_OUTPUTS = [
    click(140, 115),
    click(320, 70),
    click(110.5, 30),
    "I cannot find it",
    json.dumps({"type": "finish", "status": "failure"}),
    click(650, 420),
]


@pytest.fixture
def pro(tmp_path: Path) -> Path:
    root = tmp_path / "ScreenSpot-Pro"
    _png(root / "images" / "vscode_macos" / "shot.png", 3840, 2160)
    _png(root / "images" / "photoshop_windows" / "shot.png", 1920, 1080)
    (root / "annotations").mkdir(parents=True)
    (root / "annotations" / "vscode_macos.json").write_text(json.dumps([
        {"img_filename": "vscode_macos/shot.png", "bbox": [1000, 500, 1100, 540],
         "instruction": "open the terminal", "id": "vscode_0", "application": "vscode",
         "platform": "macos", "img_size": [3840, 2160], "ui_type": "text", "group": "Dev"},
        {"img_filename": "vscode_macos/shot.png", "bbox": [10, 10, 30, 30],
         "instruction": "the explorer icon", "id": "vscode_1", "application": "vscode",
         "platform": "macos", "img_size": [3840, 2160], "ui_type": "icon", "group": "Dev"},
    ]))  # fmt: skip
    (root / "annotations" / "photoshop_windows.json").write_text(json.dumps([
        {"img_filename": "photoshop_windows/shot.png", "bbox": [50, 60, 90, 100],
         "instruction": "brush tool", "id": "ps_0", "application": "photoshop",
         "platform": "windows", "img_size": [1920, 1080], "ui_type": "icon",
         "group": "Creative"},
    ]))  # fmt: skip
    return root


def test_v2_scores_as_hand_computed(v2: Path) -> None:
    model = ScriptedModel(V2_OUTPUTS)
    report = evaluate_screenspot(v2, model)
    m = report["metrics"]
    assert m["overall"] == {"n": 6, "hits": 3, "accuracy": 0.5}
    assert m["by_platform"]["desktop"]["accuracy"] == 1.0
    assert m["by_platform"]["mobile"] == {"n": 3, "hits": 0, "accuracy": 0.0}
    assert m["by_platform"]["web"]["accuracy"] == 1.0
    assert m["by_element"]["text"] == {"n": 3, "hits": 2, "accuracy": 2 / 3}
    assert m["by_element"]["icon"] == {"n": 3, "hits": 1, "accuracy": 1 / 3}
    assert m["by_platform_element"]["mobile/icon"]["n"] == 2
    assert m["by_source"]["android"]["n"] == 2 and m["errors"] == 2
    hits = [s["hit"] for s in report["samples"]]
    assert hits == [True, True, False, False, False, True]
    assert report["samples"][2]["point"] == [110.5, 30.0]  # a point, but outside
    assert "no pointing action" in report["samples"][4]["error"]
    # the v2 box is x, y, w, h
    assert tuple(report["samples"][0]["box"]) == (100.0, 100.0, 180.0, 130.0)
    # the model was asked to ground the instruction, at the pinned budget
    assert model.seen[0].task == 'click "save"'
    assert report["pixel_budget"] == {"max_image_tokens": 16384, "max_pixels": 16384 * 784}


def test_pro_with_a_pinned_budget_and_a_normalised_model(pro: Path) -> None:
    # Qwen2-VL 0-1000 boxes; the 4K screenshot is resampled under a 4096-token budget, yet
    # 0-1000 maps back to the same screenshot px: centre (275, 245) → (1056, 529.2)
    outputs = [  # annotation files in name order: photoshop_windows, vscode_macos
        "<|box_start|>(30,70),(40,80)<|box_end|>",  # 1920x1080: (67.2, 81.0) inside
        "<|box_start|>(270,240),(280,250)<|box_end|>",
        "<|box_start|>(0,0),(20,20)<|box_end|>",  # centre (38.4, 21.6): x outside 10..30
    ]
    model = ScriptedModel(outputs, "qwen2-vl")
    report = evaluate_screenspot(pro, model, max_tokens=4096)
    by_id = {s["id"]: s for s in report["samples"]}
    assert by_id["vscode_0"]["point"] == pytest.approx([1056.0, 529.2])
    assert by_id["vscode_0"]["hit"] and by_id["vscode_0"]["resampled"]
    assert by_id["vscode_0"]["tokens"] <= 4096
    assert not by_id["vscode_1"]["hit"] and by_id["ps_0"]["hit"]
    m = report["metrics"]
    assert m["by_group"]["Dev"] == {"n": 2, "hits": 1, "accuracy": 0.5}
    assert m["by_group"]["Creative"]["accuracy"] == 1.0
    assert m["by_platform"]["macos"]["n"] == 2 and m["by_source"]["photoshop"]["hits"] == 1
    # 3840x2160 padded is 138x78 = 10764 tokens > 4096: both its samples are resampled;
    # 1920x1080 padded is 69x39 = 2691 tokens: not
    assert m["resampled"] == 2 and not by_id["ps_0"]["resampled"]
    assert report["pixel_budget"]["max_pixels"] == 4096 * 28 * 28


def test_cli_reports_json_and_html(v2: Path, tmp_path: Path, capsys) -> None:
    script = tmp_path / "script.json"
    script.write_text(json.dumps({"format": "json", "outputs": V2_OUTPUTS}))
    out = tmp_path / "report"
    args = ["eval", "--suite", "screenspot", str(v2), "--model", f"scripted:{script}"]
    assert main([*args, "--out", str(out), "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert "pixel budget: 16384 image tokens = 12,845,056 px" in text
    assert "mobile" in text and " 50.0%" in text
    data = json.loads((out / "report.json").read_text())
    assert data["kind"] == "native-agent/screenspot-report" and len(data["samples"]) == 6
    page = (out / "report.html").read_text()
    assert "desktop/0" in page and "screenspotv2_image/pc_1.png" in page
    assert main(["eval", "--suite", "screenspot", str(tmp_path), "--model", "ocr"]) == 2
    assert "no ScreenSpot annotations" in capsys.readouterr().err


def test_bad_annotations_name_the_problem(tmp_path: Path) -> None:
    item = {"img_filename": "x.png", "instruction": "x", "bbox": [1, 2, 3]}
    (tmp_path / "screenspot_web_v2.json").write_text(json.dumps([item]))
    with pytest.raises(ConfigError, match=r"screenspot_web_v2.json\[0\]: bbox must be 4"):
        load_screenspot(tmp_path)


@pytest.mark.slow
def test_workers_give_the_same_predictions(tmp_path: Path) -> None:
    root = tmp_path / "ss"
    words = [("Settings", 40, 40), ("Profile", 400, 200), ("Logout", 200, 420)]
    _png(root / "screenspotv2_image" / "a.png", 640, 520, words)
    items: list[dict[str, Any]] = []
    for text, x, y in words:
        box = [x - 4, y - 4, 190, 56]
        items.append({"img_filename": "a.png", "bbox": box, "instruction": text,
                      "data_type": "text", "data_source": "linux"})  # fmt: skip
    (root / "screenspot_desktop_v2.json").write_text(json.dumps(items))
    one = evaluate_screenspot(root, "ocr")
    two = evaluate_screenspot(root, "ocr", workers=2)
    assert one["metrics"]["overall"]["hits"] == 3, one["samples"]
    assert [s["point"] for s in one["samples"]] == [s["point"] for s in two["samples"]]
    assert two["workers"] == 2 and two["metrics"] == one["metrics"]
    assert np.isfinite(np.array([s["point"] for s in two["samples"]])).all()
