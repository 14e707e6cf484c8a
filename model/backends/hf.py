"""``TransformersModel``: Qwen2-VL, Qwen2.5-VL, UI-TARS (v1 = Qwen2-VL arch, 1.5 = Qwen2.5-VL
arch), Qwen3-VL (dense and MoE) and Qwen3.5 in-process with transformers, at native resolution.

Input: the Frame says how each screenshot becomes model input (``mode_for(format)``: pad to
multiples of the profile's grid — 28, or 32 for Qwen3-VL / Qwen3.5 — with no resampling,
except UI-TARS-1.5, whose absolute coordinates live in the smart-resized space it was
trained on). ``pixel_values`` / ``image_grid_thw`` come from
:func:`model.vision.qwen2vl_inputs` (equal to ``Qwen2VLImageProcessor``'s output, with the
checkpoint's own mean/std/patch sizes), and the chat template's ``<|image_pad|>`` is
expanded to exactly that many tokens, so the checkpoint's processor never resamples.

Generation is greedy and stops at the end of the first complete action of the family's
format (:mod:`model.backends.stopping`), unless ``multi_action`` lets the model write several
actions in one turn (the loop executes them in order). ``force_text`` constrains decoding
to a given text (tests with random weights, demos): the real generate → decode → parse
path, fixed output.
"""

from __future__ import annotations

import importlib.util
import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.core.coords import FACTOR
from agent.core.errors import ConfigError, ModelError
from agent.core.model import Model, ModelReply, ModelRequest
from model.backends.stopping import cut_at_stop
from model.config import BACKENDS, check_backend
from model.parsers import convention_for, mode_for
from model.prompts import Family, ImagePart, Message, build_messages, resolve_family
from model.vision import vision_settings

END_TOKENS = ("<|im_end|>", "<|endoftext|>")


@dataclass
class Generation:
    """One completion: text, why it ended, timings (s) and token counts."""

    text: str
    finish_reason: str  # "stop" (end of turn / action / stop string) or "length"
    timings: dict[str, float] = field(default_factory=dict)
    usage: dict[str, int] = field(default_factory=dict)


def pick_device(device: str | None) -> str:
    import torch

    if device in (None, "", "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def pick_dtype(dtype: str | None, device: str) -> Any:
    """bf16 on CUDA, float32 on CPU (bf16 matmuls on CPU are slow and not what GPUs compute)."""
    import torch

    if dtype in (None, "", "auto"):
        return torch.bfloat16 if device.startswith("cuda") else torch.float32
    try:
        value = getattr(
            torch, {"bf16": "bfloat16", "fp16": "float16", "fp32": "float32"}.get(dtype, dtype)
        )
    except AttributeError:
        value = None
    if not isinstance(value, torch.dtype):
        raise ConfigError(f"unknown dtype {dtype!r}; use auto, bfloat16, float16 or float32")
    return value


def pick_attention(attn: str | None, device: str) -> str:
    """flash_attention_2 on CUDA when flash_attn is importable, else sdpa."""
    if attn not in (None, "", "auto"):
        return attn
    if device.startswith("cuda") and importlib.util.find_spec("flash_attn") is not None:
        return "flash_attention_2"
    return "sdpa"


class TransformersModel(Model):
    """A loaded checkpoint plus its processor; ``act`` is one greedy decision."""

    def __init__(
        self,
        model: Any,
        processor: Any,
        *,
        name: str = "hf",
        family: Family | str | None = None,
        format: str | None = None,
        max_new_tokens: int = 512,
        history_images: int | None = None,
        history_steps: int | None = None,
        history_block: int | None = None,
        max_image_tokens: int | None = None,
        action_space: str = "computer",
        language: str = "English",
        force_text: str | None = None,
        multi_action: bool = False,
    ) -> None:
        self.model = model
        self.processor = processor
        self.tokenizer = getattr(processor, "tokenizer", processor)
        model_type = getattr(model.config, "model_type", None)
        fam = family if isinstance(family, Family) else None
        named = family if isinstance(family, str) else None
        self.family = fam or resolve_family(name, model_type=model_type, family=named)
        self.format = format or self.family.format_for(action_space)
        self.input_mode = mode_for(self.format)
        self.convention = convention_for(self.format)
        self.max_tokens = max_image_tokens  # None: the checkpoint's max_pixels, see below
        self.name = name
        self.max_new_tokens = max_new_tokens
        # the family's own history window unless the settings give one
        self.history_steps, self.history_images = self.family.history(history_steps, history_images)
        self.history_block = self.family.block(history_block, self.history_images)
        self.action_space = action_space
        self.language = language
        self.force_text = force_text
        self.multi_action = multi_action
        self.device = next(model.parameters()).device
        self._lock = threading.Lock()
        self._vision_kwargs = self._check_image_processor()
        self.grid = self._vision_kwargs["patch_size"] * self._vision_kwargs["merge_size"]
        if self.max_tokens is None:
            self.max_tokens = self._processor_token_cap()
        tok = self.tokenizer
        self.image_token_id = int(model.config.image_token_id)
        self.end_ids = [tok.convert_tokens_to_ids(t) for t in END_TOKENS]
        self.end_ids = [i for i in self.end_ids if isinstance(i, int) and i >= 0]
        if not self.end_ids:
            raise ModelError(f"{name}: the tokenizer has no {END_TOKENS[0]} token")
        if tok.convert_tokens_to_ids("<|image_pad|>") != self.image_token_id:
            raise ModelError(
                f"{name}: config.image_token_id {self.image_token_id} is not the tokenizer's "
                "<|image_pad|> id: tokenizer and model do not belong together"
            )

    def _check_image_processor(self) -> dict[str, Any]:
        """Our pixel tensors must be what this checkpoint's processor would produce: its own
        patch / merge / mean / std (the profile's defaults only where it says nothing)."""
        ip = getattr(self.processor, "image_processor", None)
        if ip is None:
            raise ModelError(f"{self.name}: the processor has no image processor")
        vs = vision_settings(self.family, ip)
        self._max_pixels = vs.pop("max_pixels")
        min_pixels = vs.pop("min_pixels")
        grid = vs["patch_size"] * vs["merge_size"]
        if grid != self.family.grid:
            raise ModelError(
                f"{self.name}: patch_size*merge_size = {grid}, but the {self.family.name} "
                f"profile expects {self.family.grid}; pass --model-family to pick another"
            )
        # resize floor: the profile's when it names one (UI-TARS: its parser's), else the
        # checkpoint's processor's
        self.min_pixels = self.family.min_pixels or (int(min_pixels) if min_pixels else None)
        # when the Frame must resample (token cap, UI-TARS-1.5's smart_resize space),
        # resample as this checkpoint's own processor does: PIL or torchvision bicubic
        vs["resampler"] = "pil" if type(ip).__name__.endswith("Pil") else "torchvision"
        return vs

    def _processor_token_cap(self) -> int | None:
        """The checkpoint's own ``max_pixels`` as an image-token cap: past it the model was
        never shown a screen, so the Frame resamples there (and says so)."""
        return int(self._max_pixels) // (self.grid or FACTOR) ** 2 if self._max_pixels else None

    # ---- prompt rendering -------------------------------------------------------------
    def messages(self, request: ModelRequest) -> list[Message]:
        return build_messages(
            request,
            self.family,
            history_images=self.history_images,
            history_steps=self.history_steps,
            history_block=self.history_block,
            action_space=self.action_space,
            language=self.language,
        )

    def render(self, messages: list[Message]) -> tuple[str, list[ImagePart]]:
        """The chat template applied (one ``<|image_pad|>`` per image) and the images."""
        conv: list[dict[str, Any]] = []
        images: list[ImagePart] = []
        for m in messages:
            content = m["content"]
            if isinstance(content, str):
                conv.append({"role": m["role"], "content": content})
                continue
            parts: list[dict[str, Any]] = []
            for p in content:
                if p["type"] == "image":
                    images.append(p["image"])
                    parts.append({"type": "image"})
                else:
                    parts.append({"type": "text", "text": p["text"]})
            conv.append({"role": m["role"], "content": parts})
        template = getattr(self.processor, "chat_template", None) or self.tokenizer.chat_template
        if not template:
            raise ModelError(f"{self.name}: the checkpoint has no chat template")
        text = self.tokenizer.apply_chat_template(
            conv, chat_template=template, tokenize=False, add_generation_prompt=True
        )
        return text, images

    def inputs(self, messages: list[Message], answer: str | None = None) -> dict[str, Any]:
        """Model inputs for a message list: ids with expanded image tokens, mm_token_type_ids,
        pixel_values and image_grid_thw from :func:`model.vision.qwen2vl_inputs`.

        With ``answer`` (training, :mod:`agent.train`): the answer's tokens and the
        end-of-turn token follow the prompt, and ``labels`` is -100 everywhere but on them.
        ``pixel_values`` is a view of a reused buffer: copy it before the next call."""
        import torch

        from model.backends.hf_generate import expand_image_tokens

        text, images = self.render(messages)
        ids = self.tokenizer(text, add_special_tokens=False)["input_ids"]
        vis = self._vision(images)
        try:
            ids, types = expand_image_tokens(
                ids, self.image_token_id, [v.num_image_tokens for v in vis]
            )
        except ValueError as err:
            raise ModelError(f"{self.name}: {err}") from err
        labels: list[int] | None = None
        if answer is not None:
            target = self.tokenizer(answer, add_special_tokens=False)["input_ids"]
            target = [*target, self.end_ids[0]]  # the end of turn: where generation stops
            labels = [-100] * len(ids) + target
            ids, types = ids + target, types + [0] * len(target)
        out: dict[str, Any] = {
            "input_ids": torch.tensor([ids], dtype=torch.long, device=self.device),
            "attention_mask": torch.ones((1, len(ids)), dtype=torch.long, device=self.device),
            "mm_token_type_ids": torch.tensor([types], dtype=torch.int, device=self.device),
        }
        if labels is not None:
            out["labels"] = torch.tensor([labels], dtype=torch.long, device=self.device)
        if vis:
            dtype = next(self.model.parameters()).dtype
            pv = self._pv_buf[: sum(v.pixel_values.shape[0] for v in vis)]
            out["pixel_values"] = pv.to(self.device, dtype=dtype, non_blocking=True)
            out["image_grid_thw"] = torch.cat([v.image_grid_thw for v in vis]).to(self.device)
        out["_image_tokens"] = sum(v.num_image_tokens for v in vis)
        return out

    def _vision(self, images: list[Any]) -> list[Any]:
        """Pixel values of every image written into one reused host buffer: no concat copy,
        and no page faults of ~50 MB fresh memory per 1080p screenshot on every step."""
        import torch

        from model.vision import qwen2vl_inputs

        kw = self._vision_kwargs
        p, tp = kw.get("patch_size", 14), kw.get("temporal_patch_size", 2)
        rows = [(im.frame.input_h // p) * (im.frame.input_w // p) for im in images]
        cols = 3 * tp * p * p
        need = sum(rows)
        buf = getattr(self, "_pv_buf", None)
        if buf is None or buf.shape[0] < need or buf.shape[1] != cols:
            buf = torch.empty((need, cols), dtype=torch.float32)
            if self.device.type == "cuda":
                buf = buf.pin_memory()
            self._pv_buf = buf
        vis, start = [], 0
        for im, n in zip(images, rows, strict=True):
            vis.append(
                qwen2vl_inputs(im.observation.array, im.frame, out=buf[start : start + n], **kw)
            )
            start += n
        return vis

    # ---- generation -------------------------------------------------------------------
    def generate(
        self,
        messages: list[Message],
        *,
        max_new_tokens: int | None = None,
        stop: list[str] | None = None,
        include_stop: bool = False,
        force_text: str | None = None,
        stop_at_action: bool = True,
    ) -> Generation:
        """Greedy completion of ``messages`` (thread-safe: one generation at a time)."""
        import torch

        from model.backends.hf_generate import ForceTokens, TextStop

        with self._lock:
            t0 = time.perf_counter()
            inputs = self.inputs(messages)
            image_tokens = inputs.pop("_image_tokens")
            prompt_len = inputs["input_ids"].shape[1]
            if self.device.type == "cuda":
                torch.cuda.synchronize(self.device)
            t1 = time.perf_counter()
            stopper = TextStop(
                self.tokenizer,
                prompt_len,
                format=self.format if stop_at_action else None,
                stops=[*(stop or ()), *self.family.stop],
                end_tokens=END_TOKENS,
            )
            processors = []
            force = force_text if force_text is not None else self.force_text
            if force is not None:
                target = self.tokenizer(force, add_special_tokens=False)["input_ids"]
                processors.append(ForceTokens(target, prompt_len, self.end_ids[0]))
            limit = max_new_tokens or self.max_new_tokens
            try:
                with torch.inference_mode():
                    out = self.model.generate(
                        **inputs,
                        max_new_tokens=limit,
                        do_sample=False,
                        logits_processor=processors,
                        stopping_criteria=[stopper],
                        eos_token_id=self.end_ids,
                        pad_token_id=self.end_ids[-1],
                    )
            except torch.OutOfMemoryError as err:
                raise ModelError(
                    f"{self.name}: out of GPU memory for {prompt_len} prompt tokens "
                    f"({image_tokens} image tokens): lower history_images or max_image_tokens"
                ) from err
            gen = out[0, prompt_len:].tolist()
            t2 = time.perf_counter()
        return self._result(
            gen, stopper, stop, include_stop, limit, prompt_len, image_tokens, (t0, t1, t2)
        )

    def _result(
        self,
        gen: list[int],
        stopper: Any,
        stop: list[str] | None,
        include_stop: bool,
        limit: int,
        prompt_len: int,
        image_tokens: int,
        times: tuple[float, float, float],
    ) -> Generation:
        t0, t1, t2 = times
        ended = bool(gen) and gen[-1] in self.end_ids
        text = self.tokenizer.decode(gen, skip_special_tokens=False)
        for tok in END_TOKENS:
            text = text.replace(tok, "")
        stopped = ended or stopper.stopped_by is not None
        if stop:
            text, hit = cut_at_stop(text, stop, include_stop)
            stopped = stopped or hit
        first = stopper.first_token_at or t2
        decode_s = max(t2 - first, 0.0)
        n = len(gen)
        timings = {
            "preprocess_s": t1 - t0,
            "prefill_s": first - t1,
            "decode_s": decode_s,
            "tokens_per_s": (n - 1) / decode_s if n > 1 and decode_s > 0 else 0.0,
            "total_s": t2 - t0,
        }
        usage = {
            "prompt_tokens": prompt_len,
            "image_tokens": image_tokens,
            "completion_tokens": n,
            "total_tokens": prompt_len + n,
        }
        reason = "stop" if stopped or n < limit else "length"
        return Generation(text, reason, timings, usage)

    def act(self, request: ModelRequest) -> ModelReply:
        g = self.generate(self.messages(request), stop_at_action=not self.multi_action)
        return ModelReply(text=g.text, timings=g.timings, usage=g.usage)

    def close(self) -> None:
        self.model = None  # drop the weights; CUDA memory is freed with the last reference

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "backend": "transformers",
            "family": self.family.name,
            "device": str(self.device),
            "dtype": str(next(self.model.parameters()).dtype) if self.model is not None else None,
            "forced": self.force_text is not None,
            "multi_action": self.multi_action,
        }


MODEL_CLASSES = {
    "qwen2_vl": "Qwen2VLForConditionalGeneration",
    "qwen2_5_vl": "Qwen2_5_VLForConditionalGeneration",
    "qwen3_vl": "Qwen3VLForConditionalGeneration",
    "qwen3_vl_moe": "Qwen3VLMoeForConditionalGeneration",
    "qwen3_5": "Qwen3_5ForConditionalGeneration",
    "qwen3_5_moe": "Qwen3_5MoeForConditionalGeneration",
}


def model_class(model_type: str | None) -> Any:
    """The generation class for a config's ``model_type`` (auto for anything else)."""
    import transformers

    name = MODEL_CLASSES.get(model_type or "")
    cls = getattr(transformers, name, None) if name else None
    return cls or transformers.AutoModelForImageTextToText


# the settings TransformersModel takes (model.config.BACKENDS["transformers"] less loading)
HF_SETTINGS = BACKENDS["transformers"] - {"device", "dtype", "attn_implementation"}
HF_SETTINGS -= {"trust_remote_code"}
REMOTE_CODE_HINT = (
    "set trust_remote_code = true (config file) or NATIVE_AGENT_TRUST_REMOTE_CODE=1 to run "
    "the checkpoint's own Python code, after reading it"
)


def _needs_remote_code(where: str, family: str | None) -> str | None:
    """Why loading ``where`` runs the checkpoint's own code (None: it does not): its
    profile says so (OpenCUA), or its local ``config.json`` maps classes (``auto_map``)."""
    config: dict[str, Any] = {}
    path = Path(where) / "config.json"
    if path.is_file():
        try:
            loaded = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            loaded = {}
        config = loaded if isinstance(loaded, dict) else {}
    model_type = config.get("model_type")
    profile = resolve_family(
        where, model_type=model_type if isinstance(model_type, str) else None, family=family
    )
    if profile.remote_code:
        return f"model family {profile.name!r} loads only with the checkpoint's own code"
    if config.get("auto_map"):
        return "its config.json maps classes to its own code (auto_map)"
    return None


def load_hf_model(
    spec: str,
    *,
    device: str | None = None,
    dtype: str | None = None,
    attn_implementation: str | None = None,
    trust_remote_code: bool | None = None,
    **settings: Any,
) -> TransformersModel:
    """Load a checkpoint (local path or hub id) with AutoProcessor and its model class.
    Any other setting is a ConfigError naming it (checked before anything loads)."""
    check_backend("transformers", settings)
    unknown = sorted(set(settings) - HF_SETTINGS)
    if unknown:
        raise ConfigError(
            f"the transformers backend does not take {', '.join(unknown)}; "
            f"its settings: {', '.join(sorted(BACKENDS['transformers']))}"
        )
    try:
        from transformers import AutoConfig, AutoProcessor
    except ImportError as err:
        raise ConfigError(
            "the transformers backend needs transformers: pip install 'native-agent[transformers]'"
        ) from err
    where = spec
    if Path(spec).expanduser().exists():
        where = str(Path(spec).expanduser())
    why = _needs_remote_code(where, settings.get("family"))
    if why and not trust_remote_code:
        raise ConfigError(
            f"cannot load {spec!r} without trust_remote_code: {why}; {REMOTE_CODE_HINT}"
        )
    trust = {"trust_remote_code": True} if trust_remote_code else {}
    dev = pick_device(device)
    torch_dtype = pick_dtype(dtype, dev)
    attn = pick_attention(attn_implementation, dev)
    try:
        config = AutoConfig.from_pretrained(where, **trust)
        processor = AutoProcessor.from_pretrained(where, **trust)
        cls = model_class(getattr(config, "model_type", None))
        kw: dict[str, Any] = {"dtype": torch_dtype, "attn_implementation": attn, **trust}
        if importlib.util.find_spec("accelerate") is not None:
            kw["device_map"] = dev  # load straight onto the device, no CPU copy of the weights
        model = cls.from_pretrained(where, **kw)
    except (OSError, ValueError) as err:
        local = Path(spec).expanduser().exists()
        hint = (
            "check that the directory holds a transformers checkpoint (config.json, weights, "
            "processor and tokenizer files)"
            if local
            else "not a local path, and the hub could not provide it; download it first "
            "(huggingface-cli download ID) and pass the local path"
        )
        raise ModelError(f"cannot load model {spec!r}: {err} — {hint}") from err
    model = model.to(dev).eval()
    options = {k: v for k, v in settings.items() if v is not None}
    return TransformersModel(model, processor, name=spec, **options)
