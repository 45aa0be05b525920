#!/usr/bin/env python3
"""Tiny random Qwen2-VL and Qwen2.5-VL checkpoints and what transformers computes with them.

Writes tests/golden/models/<name>/ (config.json, generation_config.json,
tokenizer.json, chat_template.json, safetensors) and
tests/golden/models/<name>.golden.json + <name>.logits.bin (little-endian
float32, offsets in the JSON): prompt ids, logits of the last prompt position
(and of every position for the first prompt), the 32-token greedy
continuation and the logits of each of its steps.

The three checkpoints cover what released UI-TARS checkpoints vary in:
  qwen2vl-tied        Qwen2-VL, tied embeddings (no lm_head), original names
                      (model.layers.*, visual.*), BF16, flat config.json
  qwen25vl-untied     Qwen2.5-VL, lm_head, transformers >= 4.52 names
                      (model.language_model.*, model.visual.*), F32, nested
                      text_config, two shards + model.safetensors.index.json
  qwen2vl-untied-f16  Qwen2-VL, lm_head, new names, F16, transformers 5
                      rope_parameters layout
All: hidden 64, 2 layers, 4 query heads over 2 KV heads (GQA), head_dim 16,
mrope_section [2, 3, 3], vocabulary 2048 (a truncation of the real Qwen2
tokenizer, tests/golden/tokenizer/qwen2/tokenizer.json).

Run from the repository root in a virtualenv outside it with
scripts/golden/requirements-models.txt installed:

    python3 scripts/golden/make_tiny_models.py
"""
import copy
import json
import shutil
import struct
import sys
from pathlib import Path

import torch
import transformers
from safetensors.torch import save_file
from transformers import (GenerationConfig, Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration, Qwen2VLConfig,
                          Qwen2VLForConditionalGeneration)

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "tests/golden/models"
REAL_TOKENIZER = ROOT / "tests/golden/tokenizer/qwen2/tokenizer.json"

BASE_VOCAB = 2000    # ids 0..1999 of the real vocabulary
VOCAB_SIZE = 2048    # the embedding is padded past the added tokens, as Qwen's is
NEW_TOKENS = 32
# Greedy goldens need clear winners: the seeds are chosen so that the top two
# logits of every generated step differ by more than MIN_MARGIN, far above
# the 1e-4 the C++ engine is held to.
MIN_MARGIN = 2e-4

CHAT_TEMPLATE = (
    "{% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' %}<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
    "{% endif %}<|im_start|>{{ message['role'] }}\n{% if message['content'] is string %}{{ message['content'] }}"
    "<|im_end|>\n{% else %}{% for content in message['content'] %}{% if content['type'] == 'image' or 'image' in "
    "content or 'image_url' in content %}{% set image_count.value = image_count.value + 1 %}{% if add_vision_id %}"
    "Picture {{ image_count.value }}: {% endif %}<|vision_start|><|image_pad|><|vision_end|>{% elif content['type'] "
    "== 'video' or 'video' in content %}{% set video_count.value = video_count.value + 1 %}{% if add_vision_id %}"
    "Video {{ video_count.value }}: {% endif %}<|vision_start|><|video_pad|><|vision_end|>{% elif 'text' in content %}"
    "{{ content['text'] }}{% endif %}{% endfor %}<|im_end|>\n{% endif %}{% endfor %}{% if add_generation_prompt %}"
    "<|im_start|>assistant\n{% endif %}")


def tiny_tokenizer() -> dict:
    """The real Qwen2 tokenizer cut to its first BASE_VOCAB tokens and the merges among them."""
    tok = json.loads(REAL_TOKENIZER.read_text(encoding="utf-8"))
    vocab = {t: i for t, i in tok["model"]["vocab"].items() if i < BASE_VOCAB}
    merges = [m for m in tok["model"]["merges"]
              if (m[0] if isinstance(m, list) else m.split(" ")[0]) in vocab
              and (m[1] if isinstance(m, list) else m.split(" ")[1]) in vocab
              and "".join(m if isinstance(m, list) else m.split(" ")) in vocab]
    tok["model"]["vocab"] = vocab
    tok["model"]["merges"] = merges
    for k, added in enumerate(tok["added_tokens"]):
        added["id"] = BASE_VOCAB + k
    return tok


def special_ids(tok: dict) -> dict:
    return {a["content"]: a["id"] for a in tok["added_tokens"]}


TEXT = dict(vocab_size=VOCAB_SIZE, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
            num_key_value_heads=2, max_position_embeddings=4096, rms_norm_eps=1e-6, rope_theta=1000000.0,
            rope_scaling={"type": "mrope", "mrope_section": [2, 3, 3]}, initializer_range=0.1)
VISION_QWEN2 = dict(depth=2, embed_dim=32, num_heads=2, mlp_ratio=2, hidden_size=64, patch_size=14,
                    spatial_merge_size=2, temporal_patch_size=2, in_chans=3, initializer_range=0.1)
VISION_QWEN25 = dict(depth=2, hidden_size=32, intermediate_size=64, num_heads=2, out_hidden_size=64, patch_size=14,
                     spatial_merge_size=2, temporal_patch_size=2, window_size=112, fullatt_block_indexes=[1],
                     hidden_act="silu", in_chans=3, initializer_range=0.1)


def build(arch: str, tied: bool, ids: dict, seed: int):
    torch.manual_seed(seed)
    common = dict(image_token_id=ids["<|image_pad|>"], video_token_id=ids["<|video_pad|>"],
                  vision_start_token_id=ids["<|vision_start|>"], vision_end_token_id=ids["<|vision_end|>"],
                  tie_word_embeddings=tied)
    text = dict(TEXT, tie_word_embeddings=tied, bos_token_id=ids["<|endoftext|>"], eos_token_id=ids["<|im_end|>"])
    if arch == "qwen2_vl":
        cfg = Qwen2VLConfig(text_config=text, vision_config=VISION_QWEN2, **common)
        model = Qwen2VLForConditionalGeneration(cfg)
    else:
        cfg = Qwen2_5_VLConfig(text_config=text, vision_config=VISION_QWEN25, **common)
        model = Qwen2_5_VLForConditionalGeneration(cfg)
    model.config.text_config.tie_word_embeddings = tied
    model.config._attn_implementation = "eager"
    model.eval()
    return model


def store(model, dtype: torch.dtype) -> dict:
    """Round every weight to the stored dtype in place; the tensors to write (new names)."""
    state = {}
    with torch.no_grad():
        for name, p in model.state_dict().items():
            p.copy_(p.to(dtype).to(torch.float32))
            state[name] = p.detach().to(dtype).contiguous()
    if model.config.text_config.tie_word_embeddings:
        state.pop("lm_head.weight", None)
    return state


def old_names(state: dict) -> dict:
    out = {}
    for name, t in state.items():
        if name.startswith("model.language_model."):
            name = "model." + name[len("model.language_model."):]
        elif name.startswith("model.visual."):
            name = name[len("model."):]
        out[name] = t
    return out


def flat_config(model, arch_name: str) -> dict:
    nested = model.config.to_dict()
    text = nested.pop("text_config")
    flat = {k: v for k, v in nested.items() if k in ("vision_config", "image_token_id", "video_token_id",
                                                     "vision_start_token_id", "vision_end_token_id")}
    for k in ("vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
              "num_key_value_heads", "max_position_embeddings", "rms_norm_eps", "rope_theta", "rope_scaling",
              "hidden_act", "tie_word_embeddings", "bos_token_id", "eos_token_id"):
        flat[k] = text[k]
    flat["architectures"] = [arch_name]
    flat["model_type"] = nested["model_type"]
    flat["torch_dtype"] = "bfloat16"
    return flat


def rope_parameters_config(model, arch_name: str) -> dict:
    cfg = model.config.to_dict()
    text = cfg["text_config"]
    rope = text.pop("rope_scaling")
    text["rope_parameters"] = {"rope_type": "default", "rope_theta": text.pop("rope_theta"),
                               "mrope_section": rope["mrope_section"]}
    cfg["architectures"] = [arch_name]
    return cfg


def write_model_dir(path: Path, config: dict, shards: list, tok: dict, ids: dict) -> None:
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    (path / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    gen = {"bos_token_id": ids["<|endoftext|>"], "eos_token_id": [ids["<|im_end|>"], ids["<|endoftext|>"]],
           "pad_token_id": ids["<|endoftext|>"], "do_sample": False, "transformers_version": transformers.__version__}
    (path / "generation_config.json").write_text(json.dumps(gen, indent=2) + "\n")
    (path / "tokenizer.json").write_text(json.dumps(tok, ensure_ascii=False) + "\n", encoding="utf-8")
    pre = {"min_pixels": 28 * 28, "max_pixels": 28 * 28 * 1280, "patch_size": 14, "merge_size": 2,
           "temporal_patch_size": 2, "image_mean": [0.48145466, 0.4578275, 0.40821073],
           "image_std": [0.26862954, 0.26130258, 0.27577711], "image_processor_type": "Qwen2VLImageProcessor"}
    (path / "preprocessor_config.json").write_text(json.dumps(pre, indent=2) + "\n")
    (path / "chat_template.json").write_text(json.dumps({"chat_template": CHAT_TEMPLATE}, indent=2) + "\n")
    if len(shards) == 1:
        save_file(shards[0], str(path / "model.safetensors"), metadata={"format": "pt"})
        return
    weight_map = {}
    for k, shard in enumerate(shards):
        name = f"model-{k + 1:05d}-of-{len(shards):05d}.safetensors"
        save_file(shard, str(path / name), metadata={"format": "pt"})
        weight_map.update({t: name for t in shard})
    total = sum(t.numel() * t.element_size() for s in shards for t in s.values())
    (path / "model.safetensors.index.json").write_text(
        json.dumps({"metadata": {"total_size": total}, "weight_map": weight_map}, indent=2, sort_keys=True) + "\n")


def prompts(tokenizer, ids: dict) -> list:
    chat = tokenizer.apply_chat_template(
        [{"role": "user", "content": "Open the terminal and list my files."}], tokenize=False,
        add_generation_prompt=True, chat_template=CHAT_TEMPLATE)
    texts = ["Hello, world! Thought: click the Save button.", chat,
             "def main():\n    return 42  # 你好 😀 مرحبا"]
    return [tokenizer(t, add_special_tokens=False)["input_ids"] for t in texts]


@torch.no_grad()
def run(model, prompt_ids: list, blob: bytearray) -> dict:
    def put(t: torch.Tensor) -> dict:
        data = t.to(torch.float32).contiguous().numpy().tobytes()
        entry = {"offset": len(blob), "shape": list(t.shape)}
        blob.extend(data)
        return entry

    cases = []
    min_margin = float("inf")
    for k, ids in enumerate(prompt_ids):
        x = torch.tensor([ids])
        logits = model(input_ids=x).logits[0]  # (L, vocab)
        gen = model.generate(x, attention_mask=torch.ones_like(x), max_new_tokens=NEW_TOKENS, min_new_tokens=NEW_TOKENS,
                             do_sample=False, eos_token_id=None, pad_token_id=0, output_logits=True,
                             return_dict_in_generate=True)
        steps = torch.stack([s[0] for s in gen.logits])  # (NEW_TOKENS, vocab)
        top2 = torch.topk(steps, 2, dim=-1).values
        min_margin = min(min_margin, float((top2[:, 0] - top2[:, 1]).min()))
        case = {"prompt_ids": ids, "generated_ids": gen.sequences[0, len(ids):].tolist(),
                "last_logits": put(logits[-1])}
        if k == 0:
            case["all_logits"] = put(logits)
            case["step_logits"] = put(steps)
        cases.append(case)
    return {"cases": cases, "min_greedy_margin": min_margin}


CROPS = ROOT / "tests/golden/vision/crops"
# (screenshot, left, top, width, height): crops of real screenshots whose
# sides are multiples of 28, so the processor only normalizes them. Merged
# grids (h x w) 8x8 (a multiple of Qwen2.5-VL's 4x4-unit window) and 9x5, 6x8, 3x3,
# 4x10 (not).
CROP_SPECS = [
    ("chromium_form_1920x1080", 40, 60, 224, 224),
    ("xterm_ls_1366x768", 0, 0, 140, 252),
    ("zenity_entry_800x600", 250, 200, 224, 168),
    ("mousepad_1280x800", 10, 40, 84, 84),
    ("zenity_calendar_1001x777", 300, 250, 280, 112),
]
IMAGE_PROMPTS = [
    ("one image", [0], "Where is the Submit button?"),
    ("two images", [1, 2], "What changed between these screenshots?"),
    ("five images", [3, 4, 0, 1, 2], "## Instruction\nOpen the terminal and list my files."),
]


def make_crops() -> list:
    from PIL import Image
    CROPS.mkdir(parents=True, exist_ok=True)
    crops = []
    for name, left, top, w, h in CROP_SPECS:
        image = Image.open(ROOT / "tests/golden/images" / f"{name}.png").convert("RGB").crop((left, top, left + w, top + h))
        path = CROPS / f"{name}_{w}x{h}.png"
        image.save(path)
        crops.append((path, image))
    return crops


@torch.no_grad()
def run_images(model, model_dir: Path, crops: list, blob: bytearray) -> list:
    from transformers import Qwen2TokenizerFast, Qwen2VLImageProcessor, Qwen2VLProcessor, Qwen2VLVideoProcessor
    tokenizer = Qwen2TokenizerFast(tokenizer_file=str(model_dir / "tokenizer.json"))
    processor = Qwen2VLProcessor(image_processor=Qwen2VLImageProcessor(min_pixels=28 * 28,
                                                                             max_pixels=28 * 28 * 1280),
                                 tokenizer=tokenizer, video_processor=Qwen2VLVideoProcessor(), chat_template=CHAT_TEMPLATE)

    def put(t):
        entry = {"offset": len(blob), "shape": list(t.shape)}
        blob.extend(t.to(torch.float32).contiguous().numpy().tobytes())
        return entry

    cases = []
    for k, (title, which, question) in enumerate(IMAGE_PROMPTS):
        images = [crops[i][1] for i in which]
        content = [{"type": "image"} for _ in which] + [{"type": "text", "text": question}]
        text = processor.apply_chat_template([{"role": "user", "content": content}], tokenize=False,
                                             add_generation_prompt=True)
        inputs = processor(text=[text], images=images, return_tensors="pt")
        ids = inputs["input_ids"]
        grid = inputs["image_grid_thw"]
        pixels = inputs["pixel_values"]
        position_ids, deltas = model.model.get_rope_index(ids, grid, None, attention_mask=torch.ones_like(ids))
        features = model.model.get_image_features(pixels, grid)
        features = torch.cat(list(features), dim=0) if isinstance(features, (list, tuple)) else features
        logits = model(input_ids=ids, attention_mask=torch.ones_like(ids), pixel_values=pixels,
                       image_grid_thw=grid).logits[0]
        gen = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), pixel_values=pixels,
                             image_grid_thw=grid, max_new_tokens=NEW_TOKENS, min_new_tokens=NEW_TOKENS, do_sample=False,
                             eos_token_id=None, pad_token_id=0, output_logits=True, return_dict_in_generate=True)
        steps = torch.stack([s[0] for s in gen.logits])
        top2 = torch.topk(steps, 2, dim=-1).values
        case = {"title": title, "images": [str(crops[i][0].relative_to(ROOT / "tests/golden")) for i in which],
                "prompt_ids": ids[0].tolist(), "image_grid_thw": grid.tolist(),
                "pixel_sums": [float(pixels.double().sum()), float((pixels.double() ** 2).sum())],
                "position_ids": position_ids[:, 0, :].tolist(), "rope_delta": int(deltas[0, 0]),
                "image_features": put(features), "last_logits": put(logits[-1]),
                "generated_ids": gen.sequences[0, ids.shape[1]:].tolist(),
                "min_greedy_margin": float((top2[:, 0] - top2[:, 1]).min())}
        if k == 0:
            case["step_logits"] = put(steps)
        cases.append(case)
    return cases


def main() -> int:
    from transformers import PreTrainedTokenizerFast
    tok = tiny_tokenizer()
    ids = special_ids(tok)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=__import__("tokenizers").Tokenizer.from_str(json.dumps(tok)))
    crops = make_crops()
    specs = [
        ("qwen2vl-tied", "qwen2_vl", True, torch.bfloat16, "flat", 1, "Qwen2VLForConditionalGeneration", 1),
        ("qwen25vl-untied", "qwen2_5_vl", False, torch.float32, "nested", 2, "Qwen2_5_VLForConditionalGeneration", 5),
        ("qwen2vl-untied-f16", "qwen2_vl", False, torch.float16, "rope_parameters", 1,
         "Qwen2VLForConditionalGeneration", 3),
    ]
    for name, arch, tied, dtype, layout, n_shards, arch_name, seed in specs:
        model = build(arch, tied, ids, seed)
        state = store(model, dtype)
        if layout == "flat":
            state = old_names(state)
            config = flat_config(model, arch_name)
        elif layout == "nested":
            config = model.config.to_dict()
            config["architectures"] = [arch_name]
        else:
            config = rope_parameters_config(model, arch_name)
        config["torch_dtype"] = {torch.bfloat16: "bfloat16", torch.float32: "float32", torch.float16: "float16"}[dtype]
        names = sorted(state)
        shards = [{n: state[n] for n in names[i::n_shards]} for i in range(n_shards)]
        write_model_dir(OUT / name, config, shards, tok, ids)

        blob = bytearray()
        result = run(model, prompts(tokenizer, ids), blob)
        result["image_cases"] = run_images(model, OUT / name, crops, blob)
        result["min_greedy_margin"] = min([result["min_greedy_margin"]] +
                                          [c["min_greedy_margin"] for c in result["image_cases"]])
        result.update({"model": name, "torch": torch.__version__, "transformers": transformers.__version__,
                       "dtype": str(dtype), "tied": tied, "layout": layout, "attn_implementation": "eager"})
        if result["min_greedy_margin"] < MIN_MARGIN:
            raise SystemExit(f"{name}: greedy margin {result['min_greedy_margin']} < {MIN_MARGIN}; pick another seed")
        (OUT / f"{name}.golden.json").write_text(json.dumps(result, indent=1) + "\n")
        (OUT / f"{name}.logits.bin").write_bytes(bytes(blob))
        print(f"{name}: {len(state)} tensors, min greedy margin {result['min_greedy_margin']:.4g}, "
              f"logits {len(blob) / 1e6:.2f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
