"""Tiny, randomly initialised Qwen2-VL / Qwen2.5-VL / Qwen3-VL checkpoints (or real configs).

No model hub is needed: the tokenizer is a small byte-level BPE trained here on a built-in
corpus, with Qwen's special tokens (same names, same relative order), Qwen2-VL's chat
template, and a real ``Qwen2VLProcessor`` / ``Qwen2_5_VLProcessor`` / ``Qwen3VLProcessor``
(torchvision image and video processors; Qwen3-VL's with the hub's 16-px patches, mean/std 0.5
and pixel bounds). The result loads with ``from_pretrained`` exactly like a hub checkpoint,
so tests exercise the real loading, preprocessing and generation code paths.

    python tools/make_tiny_qwen.py --out DIR [--family NAME|all] [--head-dim 32]

``--config-of 2b|3b|7b`` prints the real-size hyperparameters instead (used by
``tools/bench_model.py`` to build random weights at a real size in memory; too big to save
in tests). Importable: :func:`build_tiny`, :func:`build_tokenizer`, :func:`build_processor`,
:func:`tiny_config`, :func:`real_config`.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

FAMILIES = ("qwen2-vl", "qwen2.5-vl", "qwen3-vl", "qwen3.5")
QWEN3 = ("qwen3-vl", "qwen3.5")  # 16-px patches, Qwen3VLProcessor
QWEN3_EXTRA_TOKENS = ("<think>", "</think>")  # special tokens in Qwen3's vocabulary

# Qwen2 special tokens in the order of the real vocabulary (151643 ...); here they follow the
# small BPE vocabulary, so their ids differ from the hub's but keep the same relative layout.
SPECIAL_TOKENS = (
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|object_ref_start|>",
    "<|object_ref_end|>",
    "<|box_start|>",
    "<|box_end|>",
    "<|quad_start|>",
    "<|quad_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|vision_pad|>",
    "<|image_pad|>",
    "<|video_pad|>",
    "<tool_call>",
    "</tool_call>",
    "<|fim_prefix|>",
    "<|fim_middle|>",
    "<|fim_suffix|>",
    "<|fim_pad|>",
    "<|repo_name|>",
    "<|file_sep|>",
)
# added tokens that are not special in the real vocabulary (tokenizer_config.json's
# added_tokens_decoder: 151657-151664 have "special": false), so a server that skips special
# tokens (vLLM's default) keeps them in the text: a Qwen2.5-VL answer keeps its <tool_call>
NOT_SPECIAL = ("<tool_call>", "</tool_call>", "<|fim_prefix|>", "<|fim_middle|>",
               "<|fim_suffix|>", "<|fim_pad|>", "<|repo_name|>", "<|file_sep|>")  # fmt: skip

# Qwen2-VL's chat template (also used by Qwen2.5-VL and UI-TARS checkpoints).
CHAT_TEMPLATE = (
    "{% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}"
    "{% for message in messages %}{% if loop.first and message['role'] != 'system' %}"
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}"
    "<|im_start|>{{ message['role'] }}\n{% if message['content'] is string %}"
    "{{ message['content'] }}<|im_end|>\n{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}"
    "{% set image_count.value = image_count.value + 1 %}{% if add_vision_id %}"
    "Picture {{ image_count.value }}: {% endif %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif content['type'] == 'video' or 'video' in content %}"
    "{% set video_count.value = video_count.value + 1 %}{% if add_vision_id %}"
    "Video {{ video_count.value }}: {% endif %}<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif 'text' in content %}{{ content['text'] }}{% endif %}{% endfor %}<|im_end|>\n"
    "{% endif %}{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

# A small corpus so that the BPE learns the frequent pieces of prompts and actions.
_CORPUS = """You are a helpful assistant. You are a GUI agent. You are given a task and your
action history, with screenshots. You need to perform the next action to complete the task.
Thought: I need to click the search button. Action: click(start_box='(235,512)')
left_double right_single drag hotkey type scroll wait finished call_user content direction
<|object_ref_start|>the OK button<|object_ref_end|><|box_start|>(100,100),(200,200)<|box_end|>
{"name": "computer_use", "arguments": {"action": "left_click", "coordinate": [640, 360]}}
{"type": "click", "point": [640, 360]} {"type": "type", "text": "hello world"}
key type mouse_move left_click left_click_drag right_click middle_click double_click scroll
terminate status success failure coordinate pixels time keys text action arguments name
The screen's resolution is 1932x1092. Use a mouse and keyboard to interact with a computer.
Previous actions: Step 1: click Step 2: type Step 3: scroll down up left right enter ctrl
0123456789 0 1 2 3 4 5 6 7 8 9 10 100 1000 ( ) [ ] { } , . : ; ' " = + - * / \\ _ # @ ! ?
"""


def _corpus() -> list[str]:
    """The built-in text plus this project's prompt templates (when importable), so prompts
    tokenize to a few hundred tokens instead of thousands of bytes."""
    texts = [line for line in _CORPUS.splitlines() if line]
    try:
        from agent.core.coords import Frame
        from model.prompts import templates as t
    except ImportError:
        return texts * 4
    frame = Frame.for_screen(1920, 1080, convention="abs")
    for mobile in (False, True):
        texts.append(t.qwen25_system(1932, 1092, mobile=mobile))
        for v15 in (False, True):
            texts.append(t.ui_tars_prompt("Open the settings", v15=v15, mobile=mobile))
    texts.append(t.json_system(frame))
    texts.append(t.grounding_instruction("x", ref=("<ref>", "</ref>"), box=("<box>", "</box>")))
    return texts * 4


def _bytes_alphabet() -> list[str]:
    from tokenizers import pre_tokenizers

    return sorted(pre_tokenizers.ByteLevel.alphabet())


def build_tokenizer(vocab_size: int = 2048, extra: tuple[str, ...] = ()) -> Any:
    """A Qwen2 tokenizer (byte-level BPE, Qwen's pre-tokenizer regex) with Qwen's special
    tokens (and ``extra`` ones, e.g. Qwen3's ``<think>``) appended after the learned
    vocabulary, as in the real one."""
    from tokenizers import AddedToken, Tokenizer, models, pre_tokenizers, trainers
    from transformers import Qwen2Tokenizer

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        initial_alphabet=_bytes_alphabet(),
        special_tokens=[],
        show_progress=False,
    )
    bpe.train_from_iterator(_corpus(), trainer)
    with tempfile.TemporaryDirectory() as tmp:
        bpe.model.save(tmp)
        vocab = json.loads(Path(tmp, "vocab.json").read_text(encoding="utf-8"))
        merges = [
            tuple(line.split(" "))
            for line in Path(tmp, "merges.txt").read_text(encoding="utf-8").splitlines()
            if line and not line.startswith("#version")
        ]
    base = len(vocab)
    specials = (*SPECIAL_TOKENS, *extra)
    for i, tok in enumerate(specials):
        vocab[tok] = base + i
    tok = Qwen2Tokenizer(
        vocab=vocab,
        merges=merges,
        unk_token=None,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        extra_special_tokens=[
            t for t in specials if t not in ("<|endoftext|>", "<|im_end|>", *NOT_SPECIAL)
        ],
        model_max_length=32768,
        errors="replace",
    )
    tok.add_tokens([AddedToken(t, special=False, normalized=False) for t in NOT_SPECIAL])
    tok.chat_template = CHAT_TEMPLATE
    for t in specials:  # ids must be exactly where the config says
        assert tok.convert_tokens_to_ids(t) == vocab[t], t
    return tok


def token_ids(tokenizer: Any) -> dict[str, int]:
    """The config fields that name special token ids."""
    c = tokenizer.convert_tokens_to_ids
    return {
        "image_token_id": c("<|image_pad|>"),
        "video_token_id": c("<|video_pad|>"),
        "vision_start_token_id": c("<|vision_start|>"),
        "vision_end_token_id": c("<|vision_end|>"),
    }


def build_processor(family: str, tokenizer: Any | None = None) -> Any:
    """The real processor class of the family, with hub-default pixel limits."""
    from transformers import (
        Qwen2_5_VLProcessor,
        Qwen2VLImageProcessor,
        Qwen2VLProcessor,
        Qwen2VLVideoProcessor,
    )

    tokenizer = tokenizer or build_tokenizer(extra=_extra(family))
    if family in QWEN3:
        from transformers import Qwen3VLProcessor, Qwen3VLVideoProcessor

        # Qwen/Qwen3-VL-*/preprocessor_config.json: 16-px patches, mean = std = 0.5,
        # size {shortest_edge: 65536, longest_edge: 16777216} (= 16384 tokens of 32²)
        image = Qwen2VLImageProcessor(
            patch_size=16, merge_size=2, temporal_patch_size=2,
            image_mean=[0.5, 0.5, 0.5], image_std=[0.5, 0.5, 0.5],
            size={"shortest_edge": 65536, "longest_edge": 16777216},
        )  # fmt: skip
        return Qwen3VLProcessor(
            image_processor=image,
            tokenizer=tokenizer,
            video_processor=Qwen3VLVideoProcessor(),
            chat_template=CHAT_TEMPLATE,
        )
    image = Qwen2VLImageProcessor(min_pixels=56 * 56, max_pixels=16384 * 28 * 28)
    video = Qwen2VLVideoProcessor()
    cls = Qwen2VLProcessor if family == "qwen2-vl" else Qwen2_5_VLProcessor
    return cls(
        image_processor=image,
        tokenizer=tokenizer,
        video_processor=video,
        chat_template=CHAT_TEMPLATE,
    )


def _section(rotary_dim: int) -> list[int]:
    """mrope_section: rotary_dim/2 frequencies over (t, h, w), like [16, 24, 24] for 128."""
    half = rotary_dim // 2
    t = max(1, half // 4)
    return [t, (half - t) // 2, half - t - (half - t) // 2]


def _extra(family: str) -> tuple[str, ...]:
    return QWEN3_EXTRA_TOKENS if family in QWEN3 else ()


def _text_config(
    family: str,
    *,
    vocab: int,
    hidden: int,
    inter: int,
    layers: int,
    heads: int,
    kv: int,
    head_dim: int | None = None,
    mrope_section: list[int] | None = None,
) -> dict[str, Any]:
    head_dim = head_dim or hidden // heads
    # mrope_section splits head_dim/2 rotary frequencies over (t, h, w) like [16, 24, 24]/128
    half = head_dim // 2
    t = half // 4
    section = mrope_section or [t, (half - t) // 2, half - t - (half - t) // 2]
    common = {  # what every Qwen text config shares
        "vocab_size": vocab,
        "hidden_size": hidden,
        "intermediate_size": inter,
        "num_hidden_layers": layers,
        "num_attention_heads": heads,
        "num_key_value_heads": kv,
        "max_position_embeddings": 32768,
        "rms_norm_eps": 1e-6,
        "hidden_act": "silu",
    }
    if family == "qwen3.5":  # hybrid: Gated DeltaNet (linear) + full attention layers
        return {
            **common,
            "model_type": "qwen3_5_text",
            "head_dim": head_dim,
            "linear_key_head_dim": head_dim,
            "linear_value_head_dim": head_dim,
            "linear_num_key_heads": heads,
            "linear_num_value_heads": heads,
            "layer_types": [
                "full_attention" if (i + 1) % 4 == 0 or i == layers - 1 else "linear_attention"
                for i in range(layers)
            ],
            # rotary over a quarter of each head, split (t, h, w) and interleaved
            "rope_parameters": {
                "rope_type": "default", "rope_theta": 1e7, "partial_rotary_factor": 0.25,
                "mrope_section": _section(head_dim // 4), "mrope_interleaved": True,
            },
        }  # fmt: skip
    if family == "qwen3-vl":
        return {
            **common,
            "model_type": "qwen3_vl_text",
            "head_dim": head_dim,
            "rope_parameters": {
                "rope_type": "default", "rope_theta": 5e6, "mrope_section": section,
                "mrope_interleaved": True,
            },
        }  # fmt: skip
    return {
        **common,
        "model_type": "qwen2_vl_text" if family == "qwen2-vl" else "qwen2_5_vl_text",
        "rope_parameters": {"rope_type": "default", "rope_theta": 1e6, "mrope_section": section},
        "use_sliding_window": False,
    }


def _vision_config(family: str, *, depth: int, dim: int, heads: int, out: int) -> dict[str, Any]:
    if family in QWEN3:
        vision: dict[str, Any] = {
            "model_type": "qwen3_vl_vision" if family == "qwen3-vl" else "qwen3_5_vision",
            "depth": depth,
            "hidden_size": dim,
            "intermediate_size": 4304 if dim == 1152 else dim * 2,
            "num_heads": heads,
            "out_hidden_size": out,
            "patch_size": 16,
            "spatial_merge_size": 2,
            "temporal_patch_size": 2,
            "num_position_embeddings": 2304,
        }
        if family == "qwen3-vl":  # Qwen3-VL feeds vision features into early LLM layers
            taps = {depth // 3, 2 * depth // 3, depth - 1} if depth >= 3 else {depth - 1}
            vision["deepstack_visual_indexes"] = sorted(taps)
        return vision
    if family == "qwen2-vl":
        return {
            "model_type": "qwen2_vl_vision",
            "depth": depth,
            "embed_dim": dim,
            "hidden_size": out,
            "mlp_ratio": 4,
            "num_heads": heads,
            "patch_size": 14,
            "spatial_merge_size": 2,
            "temporal_patch_size": 2,
        }
    full = sorted({max(0, depth // 4 * (i + 1) - 1) for i in range(4)})
    return {
        "model_type": "qwen2_5_vl_vision",
        "depth": depth,
        "hidden_size": dim,
        "intermediate_size": 3420 if dim == 1280 else dim * 2,
        "num_heads": heads,
        "out_hidden_size": out,
        "window_size": 112,
        "fullatt_block_indexes": full,
        "patch_size": 14,
        "spatial_merge_size": 2,
        "temporal_patch_size": 2,
        "tokens_per_second": 2,
    }


def _config(
    family: str, text: dict[str, Any], vision: dict[str, Any], ids: dict[str, int], tie: bool
):
    from transformers import Qwen2_5_VLConfig, Qwen2VLConfig, Qwen3_5Config, Qwen3VLConfig

    cls = {"qwen2-vl": Qwen2VLConfig, "qwen3-vl": Qwen3VLConfig, "qwen3.5": Qwen3_5Config}.get(
        family, Qwen2_5_VLConfig
    )
    text = {
        **text,
        "bos_token_id": None,
        "eos_token_id": ids.pop("_eos"),
        "pad_token_id": ids.pop("_pad"),
    }
    return cls(text_config=text, vision_config=vision, tie_word_embeddings=tie, **ids)


def _ids(tokenizer: Any) -> dict[str, int]:
    return {
        **token_ids(tokenizer),
        "_eos": tokenizer.convert_tokens_to_ids("<|im_end|>"),
        "_pad": tokenizer.convert_tokens_to_ids("<|endoftext|>"),
    }


def tiny_config(family: str, tokenizer: Any, head_dim: int = 16) -> Any:
    """A few-hundred-kB model: 2 text layers of 4 heads of ``head_dim`` (width 64 at the
    default 16), a 2-block vision tower. vLLM's CPU attention needs ``head_dim`` ≥ 32, so
    Qwen3-VL's heads are always at least 32 wide."""
    if head_dim < 8 or head_dim % 8:
        raise SystemExit(f"--head-dim must be a multiple of 8 (≥ 8), got {head_dim}")
    if family in QWEN3:
        hd = max(32, head_dim)
        text = _text_config(
            family, vocab=len(tokenizer), hidden=2 * hd, inter=4 * hd, layers=2, heads=2, kv=1,
            head_dim=hd,
        )  # fmt: skip
        vision = _vision_config(family, depth=2, dim=64, heads=2, out=2 * hd)
        return _config(family, text, vision, _ids(tokenizer), tie=False)
    hidden = 4 * head_dim
    text = _text_config(
        family, vocab=len(tokenizer), hidden=hidden, inter=2 * hidden, layers=2, heads=4, kv=2
    )
    vision = _vision_config(family, depth=2, dim=32, heads=2, out=hidden)
    return _config(family, text, vision, _ids(tokenizer), tie=False)


# Published hyperparameters (config.json of the hub checkpoints), written out: no hub here.
REAL_SIZES: dict[tuple[str, str], dict[str, Any]] = {
    ("qwen2-vl", "2b"): dict(hidden=1536, inter=8960, layers=28, heads=12, kv=2, vocab=151936,
                             vdepth=32, vdim=1280, vheads=16, tie=True),
    ("qwen2-vl", "7b"): dict(hidden=3584, inter=18944, layers=28, heads=28, kv=4, vocab=152064,
                             vdepth=32, vdim=1280, vheads=16, tie=False),
    ("qwen2.5-vl", "3b"): dict(hidden=2048, inter=11008, layers=36, heads=16, kv=2, vocab=151936,
                               vdepth=32, vdim=1280, vheads=16, tie=True),
    ("qwen2.5-vl", "7b"): dict(hidden=3584, inter=18944, layers=28, heads=28, kv=4, vocab=152064,
                               vdepth=32, vdim=1280, vheads=16, tie=False),
    # Qwen/Qwen3-VL-8B-Instruct: head_dim 128, mrope_section [24, 20, 20] (interleaved),
    # a 27-block 1152-wide vision tower with deepstack taps at 8, 16, 24
    ("qwen3-vl", "8b"): dict(hidden=4096, inter=12288, layers=36, heads=32, kv=8, vocab=151936,
                             vdepth=27, vdim=1152, vheads=16, tie=False, section=[24, 20, 20]),
}  # fmt: skip


def real_config(family: str, size: str, tokenizer: Any, layers: int | None = None) -> Any:
    """A real-size config (random weights are built from it); ``layers`` shrinks the text
    depth (and the vision depth in proportion) for CPU smoke runs."""
    key = (family, size.lower())
    if key not in REAL_SIZES:
        known = ", ".join(f"{f}:{s}" for f, s in REAL_SIZES)
        raise SystemExit(f"no real config for {family} {size}; known: {known}")
    r = REAL_SIZES[key]
    n = layers or r["layers"]
    vdepth = r["vdepth"] if layers is None else max(1, round(r["vdepth"] * n / r["layers"]))
    text = _text_config(
        family, vocab=r["vocab"], hidden=r["hidden"], inter=r["inter"], layers=n,
        heads=r["heads"], kv=r["kv"], mrope_section=r.get("section"),
    )  # fmt: skip
    vision = _vision_config(family, depth=vdepth, dim=r["vdim"], heads=r["vheads"], out=r["hidden"])
    if family == "qwen3-vl" and layers is None:
        vision["deepstack_visual_indexes"] = [8, 16, 24]
    return _config(family, text, vision, _ids(tokenizer), tie=r["tie"])


def model_class(family: str) -> Any:
    import transformers

    return getattr(
        transformers,
        {
            "qwen2-vl": "Qwen2VLForConditionalGeneration",
            "qwen3-vl": "Qwen3VLForConditionalGeneration",
            "qwen3.5": "Qwen3_5ForConditionalGeneration",
        }.get(family, "Qwen2_5_VLForConditionalGeneration"),
    )


def build_tiny(
    out: str | Path, family: str = "qwen2-vl", seed: int = 0, head_dim: int = 16
) -> Path:
    """Write a tiny random checkpoint of ``family`` (model, tokenizer, processor, chat
    template) to ``out`` and return it; ``head_dim=32`` makes it servable by vLLM on CPU."""
    import torch

    if family not in FAMILIES:
        raise SystemExit(f"unknown family {family!r}; known: {', '.join(FAMILIES)}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    tokenizer = build_tokenizer(extra=_extra(family))
    processor = build_processor(family, tokenizer)
    model = model_class(family)(tiny_config(family, tokenizer, head_dim)).eval()
    model.generation_config.eos_token_id = [
        tokenizer.convert_tokens_to_ids("<|im_end|>"),
        tokenizer.convert_tokens_to_ids("<|endoftext|>"),
    ]
    model.generation_config.pad_token_id = tokenizer.convert_tokens_to_ids("<|endoftext|>")
    model.generation_config.do_sample = False
    model.save_pretrained(out)
    processor.save_pretrained(out)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, help="output dir (with --family all: one subdir each)")
    p.add_argument("--family", default="qwen2-vl", choices=[*FAMILIES, "all"])
    p.add_argument(
        "--config-of", metavar="SIZE", help="print the real-size config (2b, 3b, 7b, 8b)"
    )
    p.add_argument("--layers", type=int, help="with --config-of: shrink the text depth")
    p.add_argument(
        "--head-dim",
        type=int,
        default=16,
        help="text attention head dimension (default 16; vLLM's CPU build needs 32 or more)",
    )
    args = p.parse_args(argv)
    if args.config_of:
        family = "qwen2-vl" if args.family == "all" else args.family
        cfg = real_config(
            family, args.config_of, build_tokenizer(extra=_extra(family)), args.layers
        )
        print(cfg.to_json_string())
        return 0
    if args.out is None:
        p.error("--out is required")
    families = FAMILIES if args.family == "all" else (args.family,)
    for fam in families:
        target = args.out / fam if args.family == "all" else args.out
        print(build_tiny(target, fam, head_dim=args.head_dim))
    return 0


if __name__ == "__main__":
    sys.exit(main())
