"""Dataset converters on hand-made samples in the public formats (tests/fixtures/datasets),
the TFRecord / protobuf reader checked against Google's protobuf runtime, and gold episodes
recorded from the live bundled sites by tools/record_gold.py."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

from agent.episode.recording import load_episode
from agent.evaluation import evaluate
from agent.evaluation.tfrecord import (
    crc32c,
    encode_example,
    parse_example,
    parse_forest,
    read_records,
)
from model.scripted import ScriptedModel

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "fixtures" / "datasets"


def tool(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"tool_{name}", ROOT / "tools" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ---- the wire formats, against protobuf's own runtime --------------------------------------

F = descriptor_pb2.FieldDescriptorProto


def _msg(fdp: descriptor_pb2.FileDescriptorProto, name: str, fields: list[tuple]) -> None:
    m = fdp.message_type.add(name=name)
    for fname, num, ftype, label, type_name in fields:
        f = m.field.add(name=fname, number=num, type=ftype, label=label)
        if type_name:
            f.type_name = type_name


@pytest.fixture(scope="module")
def pb() -> dict[str, type]:
    """tf.train.Example and android_env's a11y forest (the fields we read), built as
    dynamic protobuf messages."""
    fdp = descriptor_pb2.FileDescriptorProto(name="t.proto", package="t", syntax="proto3")
    rep, opt = F.LABEL_REPEATED, F.LABEL_OPTIONAL
    _msg(fdp, "BytesList", [("value", 1, F.TYPE_BYTES, rep, None)])
    _msg(fdp, "FloatList", [("value", 1, F.TYPE_FLOAT, rep, None)])
    _msg(fdp, "Int64List", [("value", 1, F.TYPE_INT64, rep, None)])
    _msg(fdp, "Feature", [("bytes_list", 1, F.TYPE_MESSAGE, opt, ".t.BytesList"),
                          ("float_list", 2, F.TYPE_MESSAGE, opt, ".t.FloatList"),
                          ("int64_list", 3, F.TYPE_MESSAGE, opt, ".t.Int64List")])  # fmt: skip
    feats = fdp.message_type.add(name="Features")
    entry = feats.nested_type.add(name="FeatureEntry")
    entry.options.map_entry = True
    entry.field.add(name="key", number=1, type=F.TYPE_STRING, label=opt)
    entry.field.add(name="value", number=2, type=F.TYPE_MESSAGE, label=opt, type_name=".t.Feature")
    feats.field.add(name="feature", number=1, type=F.TYPE_MESSAGE, label=rep,
                    type_name=".t.Features.FeatureEntry")  # fmt: skip
    _msg(fdp, "Example", [("features", 1, F.TYPE_MESSAGE, opt, ".t.Features")])
    _msg(fdp, "ProtoRect", [(n, i + 1, F.TYPE_INT32, opt, None)
                            for i, n in enumerate(("left", "top", "right", "bottom"))])  # fmt: skip
    _msg(fdp, "Node", [("bounds_in_screen", 2, F.TYPE_MESSAGE, opt, ".t.ProtoRect"),
                       ("class_name", 3, F.TYPE_STRING, opt, None),
                       ("text", 7, F.TYPE_STRING, opt, None),
                       ("is_clickable", 14, F.TYPE_BOOL, opt, None),
                       ("is_visible_to_user", 23, F.TYPE_BOOL, opt, None)])  # fmt: skip
    _msg(fdp, "Tree", [("nodes", 1, F.TYPE_MESSAGE, rep, ".t.Node")])
    _msg(fdp, "Window", [("layer", 4, F.TYPE_INT32, opt, None),
                         ("tree", 11, F.TYPE_MESSAGE, opt, ".t.Tree")])  # fmt: skip
    _msg(fdp, "Forest", [("windows", 1, F.TYPE_MESSAGE, rep, ".t.Window")])
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    names = ("Example", "Forest")
    return {n: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"t.{n}")) for n in names}


def test_crc32c_known_vector() -> None:
    assert crc32c(b"123456789") == 0xE3069283  # the CRC-32C check value


def test_example_reader_matches_protobuf(pb: dict[str, type]) -> None:
    ex = pb["Example"]()
    ex.features.feature["goal"].bytes_list.value.append(b"find it")
    ex.features.feature["xy"].float_list.value.extend([0.25, -1.0])
    ex.features.feature["ids"].int64_list.value.extend([3, -2, 1 << 40])
    assert parse_example(ex.SerializeToString()) == {
        "goal": [b"find it"],
        "xy": [0.25, -1.0],
        "ids": [3, -2, 1 << 40],
    }
    again = pb["Example"].FromString(encode_example({"goal": ["g"], "xy": [0.5], "n": [7]}))
    assert again.features.feature["goal"].bytes_list.value == [b"g"]
    assert list(again.features.feature["xy"].float_list.value) == [0.5]
    assert list(again.features.feature["n"].int64_list.value) == [7]
    first = next(read_records(DATA / "androidcontrol" / "sample.tfrecord.gz", check_data=True))
    sample = pb["Example"].FromString(first)
    assert sample.features.feature["episode_id"].int64_list.value == [4242]


def test_forest_reader_matches_protobuf(pb: dict[str, type]) -> None:
    forest = pb["Forest"]()
    win = forest.windows.add(layer=2)
    node = win.tree.nodes.add(class_name="Button", text="OK", is_clickable=True)
    node.is_visible_to_user = True
    node.bounds_in_screen.left, node.bounds_in_screen.top = -5, 10
    node.bounds_in_screen.right, node.bounds_in_screen.bottom = 100, 60
    (n,) = parse_forest(forest.SerializeToString())
    assert n["bounds"] == [-5, 10, 100, 60] and n["layer"] == 2
    assert n["text"] == "OK" and n["is_clickable"] and n["is_visible_to_user"]
    assert not n["is_editable"]


# ---- converters --------------------------------------------------------------------------------


def _gold(ep_dir: Path) -> list[dict]:
    return [s["gold"] for s in load_episode(ep_dir).steps]


def test_androidcontrol(tmp_path: Path) -> None:
    conv = tool("convert_androidcontrol")
    sample = DATA / "androidcontrol" / "sample.tfrecord.gz"
    assert conv.main([str(sample), "--out", str(tmp_path)]) == 0
    ep = load_episode(tmp_path / "androidcontrol-4242")
    assert ep.meta["task"] == {"goal": "Set an alarm for 7:30 in the Clock app",
                               "id": "androidcontrol/4242"}  # fmt: skip
    g = [s["gold"] for s in ep.steps]
    assert [x["action"]["type"] for x in g] == ["open_app", "click", "type", "scroll"]
    assert g[0]["action"] == {"type": "open_app", "name": "Clock"}
    # the click at (135, 305) hits the button, its label and an invisible view: the button
    assert g[1]["action"]["point"] == [135.0, 305.0] and g[1]["boxes"] == [[40, 280, 230, 330]]
    typed = {"type": "type", "text": "7:30", "point": [100.0, 120.0], "enter": True}
    assert g[2]["action"] == {**typed, "clear": False}
    assert g[2]["boxes"] == [[20, 100, 250, 140]]
    assert g[3]["action"] == {"type": "scroll", "direction": "down", "amount": 5}
    assert ep.steps[1]["instruction"] == "Tap Add alarm"
    assert ep.steps[0]["observation"]["width"] == 270 and ep.screenshot_path(3).exists()
    model = ScriptedModel([json.dumps(x["action"]) for x in g])
    report = evaluate([ep.dir], model, step_instructions=True)  # the low-level setting
    assert [r.task for r in model.seen] == ep.meta["step_instructions"]
    assert report["metrics"]["step_success_rate"] == 1.0
    g2 = _gold(tmp_path / "androidcontrol-4243")
    assert g2[0]["action"]["type"] == "long_press" and g2[0]["boxes"] == []  # no node there
    assert g2[1]["action"] == {"type": "home"}
    assert g2[2]["action"] == {"type": "type", "text": "hello", "clear": False, "enter": False}


def test_aitw(tmp_path: Path) -> None:
    conv = tool("convert_aitw")
    (ep_dir,) = conv.convert([DATA / "aitw" / "sample.tfrecord.gz"], tmp_path)
    ep = load_episode(ep_dir)
    assert ep.meta["task"]["goal"] == "search for a coffee maker"
    assert [s["step_id"] for s in ep.steps] == [0, 1, 2, 3, 4]  # sorted by step_id
    g = [s["gold"] for s in ep.steps]
    tap = g[0]
    assert tap["action"] == {"type": "click", "point": [36.0, 79.2]}  # (0.5·72, 0.55·144)
    assert tap["distance_threshold"] == 0.14
    ((x1, y1, x2, y2),) = tap["boxes"]  # only the (1.4×-enlarged) box holding the tap
    # (y, x, h, w) = (.5, .25, .1, .5) grows by 1.4·h, 1.4·w around its centre, AITW-style
    assert [x1, y1, x2, y2] == pytest.approx([0.0, 61.92, 72.0, 96.48], abs=0.01)
    assert g[1]["action"] == {"type": "type", "text": "coffee maker", "clear": False,
                              "enter": False}  # fmt: skip
    assert g[2]["action"]["type"] == "swipe"
    assert g[2]["action"]["start"] == [36.0, pytest.approx(115.2, abs=0.01)]
    assert g[3]["action"] == {"type": "key", "keys": "enter"}
    assert g[4]["action"] == {"type": "finish", "status": "success"}
    assert ep.steps[0]["observation"]["width"] == 72


def test_mind2web(tmp_path: Path) -> None:
    conv = tool("convert_mind2web")
    with pytest.warns(UserWarning, match="no screenshot for u4"):
        (ep_dir,) = conv.convert(
            [DATA / "mind2web" / "tasks.json"], DATA / "mind2web" / "screenshots", tmp_path
        )
    ep = load_episode(ep_dir)
    assert ep.meta["task"]["goal"] == "Search flights to New York for 2 adults"
    g = [s["gold"] for s in ep.steps]
    assert len(g) == 3  # u4 had no screenshot
    assert g[0]["action"] == {"type": "click", "point": [140.0, 65.0]}  # the box centre
    assert g[0]["boxes"] == [[100.0, 50.0, 180.0, 80.0]] and g[0]["op"] == "CLICK"
    assert g[1]["action"]["text"] == "New York" and g[1]["boxes"] == [[20.0, 100.0, 220.0, 124.0]]
    assert g[2]["op"] == "SELECT" and g[2]["action"]["type"] == "type"
    assert g[2]["boxes"] == [[20.0, 150.0, 140.0, 174.0], [20.0, 150.0, 180.0, 174.0]]
    assert g[1]["action_repr"] == "[textbox]  To -> TYPE: New York"


def test_converted_episodes_score_perfectly_against_themselves(tmp_path: Path) -> None:
    with pytest.warns(UserWarning, match="no screenshot"):
        tool("convert_mind2web").convert(
            [DATA / "mind2web" / "tasks.json"], DATA / "mind2web" / "screenshots", tmp_path / "m"
        )
    tool("convert_aitw").convert([DATA / "aitw" / "sample.tfrecord.gz"], tmp_path / "a")
    eps = sorted(p.parent for p in tmp_path.rglob("episode.json"))
    outputs = [json.dumps(s["gold"]["action"]) for d in eps for s in load_episode(d).steps]
    m = evaluate([tmp_path], ScriptedModel(outputs))["metrics"]
    assert m["steps"] == 8 and m["step_success_rate"] == 1.0 and m["episode_success_rate"] == 1.0


# ---- gold episodes from the live bundled sites ---------------------------------------------------


@pytest.mark.browser
def test_record_gold_on_a_bundled_task(tmp_path: Path) -> None:
    rec = tool("record_gold")
    (entry,) = rec.record(["account/change-display-name"], tmp_path, viewport=(900, 640))
    assert entry["success"] and entry["gold_steps"] >= 5
    ep = load_episode(tmp_path / entry["episode"])
    pointing = [s for s in ep.steps if "point" in s["gold"]["action"]]
    assert len(pointing) >= 3
    for s in pointing:
        (box,) = s["gold"]["boxes"]
        x, y = s["gold"]["action"]["point"]
        assert box[0] <= x <= box[2] and box[1] <= y <= box[3]
        assert s["gold"]["source"] == "oracle-dom"
    index = json.loads((tmp_path / "index.json").read_text())
    assert index == [entry]


@pytest.mark.parametrize("name", ["convert_aitw", "convert_androidcontrol", "convert_mind2web"])
def test_missing_input_is_one_line_and_exit_2(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flags = ["--screenshots", str(tmp_path)] if name == "convert_mind2web" else []
    missing = str(tmp_path / "nope.gz")
    assert tool(name).main([missing, "--out", str(tmp_path / "out"), *flags]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "nope.gz" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()
