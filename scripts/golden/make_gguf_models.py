#!/usr/bin/env python3
"""Tiny UI-TARS-shaped models in GGUF, made by llama.cpp's own tools, and what
transformers computes with their dequantized weights.

Two random checkpoints (made here, not committed) in the shapes UI-TARS
varies in, with rows long enough for the K-quants (hidden 256, one 256-wide
MLP, head_dim 64, mrope_section [8, 12, 12], two layers, the 2048-token cut
of the real Qwen2 tokenizer):
  qwen25vl-q   Qwen2.5-VL (UI-TARS-1.5-7B's architecture), lm_head untied
  qwen2vl-q    Qwen2-VL (UI-TARS-2B/7B/72B), tied embeddings
Their weights are rounded to F16 first, so that llama.cpp's converter
(`convert_hf_to_gguf.py --outtype f16`, and `--mmproj` for the vision
tower) loses nothing; `llama-quantize` then makes
  qwen25vl-q-Q4_K_M   the Q4_K_M mix (Q4_K, with Q6_K for output and some
                      attn_v / ffn_down), as downloaded UI-TARS files have it
  qwen25vl-q-mixed    every other type in one file (a few MB in all):
                      token_embd and attn_output/ffn_down Q8_0, attn_q Q4_0,
                      ffn_up Q5_K, ffn_gate Q4_K, output Q6_K, attn_k F16,
                      attn_v BF16
  qwen2vl-q-Q4_K_M    the Q4_K_M mix of the Qwen2-VL model.
Written to tests/golden/gguf/: <model>-<TYPE>.gguf, mmproj-<model>-F16.gguf,
and <model>-<TYPE>.golden.json + .logits.bin: per text prompt and one image
prompt, transformers' logits of the last prompt position and its greedy
continuation, with the weights replaced by gguf-py's dequantization of the
GGUF tensors (the vision tower's by the mmproj's). Where llama.cpp's
`llama-gguf-logits` harness (scripts/golden/llama_gguf_logits.cpp, built
against the same llama.cpp, LLAMA_GGUF_LOGITS) is given, its logits of the
text prompts and of the image prompt (through mtmd, with the text tokens
it made around the image) too.

Run from the repository root, in a virtualenv outside it with
scripts/golden/requirements-models.txt and gguf installed, LLAMA_CPP naming
a llama.cpp source tree (the llama-cpp-python sdist's vendor/llama.cpp) with
llama-quantize built in $LLAMA_CPP/build/bin:

    LLAMA_CPP=/path/to/llama.cpp python3 scripts/golden/make_gguf_models.py
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_tiny_models as tiny  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "tests/golden/gguf"
LLAMA_CPP = Path(os.environ.get("LLAMA_CPP", ""))
NEW_TOKENS = 8

TEXT = dict(tiny.TEXT, hidden_size=256, intermediate_size=256, num_attention_heads=4, num_key_value_heads=2,
            rope_scaling={"type": "mrope", "mrope_section": [8, 12, 12]}, initializer_range=0.05)
# Four blocks: llama.cpp's converter maps the merger's mlp.0 / mlp.2 like block
# numbers, so a tower needs more than two blocks to convert.
VISION_QWEN2 = dict(tiny.VISION_QWEN2, hidden_size=256, depth=4)
VISION_QWEN25 = dict(tiny.VISION_QWEN25, out_hidden_size=256, depth=4, fullatt_block_indexes=[1, 3])
MIXED = ["--token-embedding-type", "q8_0", "--output-tensor-type", "q6_k", "--tensor-type", "attn_q=q4_0",
         "--tensor-type", "ffn_up=q5_k", "--tensor-type", "ffn_gate=q4_k", "--tensor-type", "attn_k=f16",
         "--tensor-type", "attn_v=bf16"]
QUANTIZE = {"Q4_K_M": [], "mixed": MIXED}  # llama-quantize options; the base type is Q8_0 for mixed
MODELS = [("qwen25vl-q", "qwen2_5_vl", False, 5, ["Q4_K_M", "mixed"]),
          ("qwen2vl-q", "qwen2_vl", True, 1, ["Q4_K_M"])]

TEXT_NAMES = {"token_embd": "model.language_model.embed_tokens", "output_norm": "model.language_model.norm",
              "output": "lm_head"}
LAYER_NAMES = {"attn_norm": "input_layernorm", "attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj",
               "attn_v": "self_attn.v_proj", "attn_output": "self_attn.o_proj", "ffn_norm": "post_attention_layernorm",
               "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj", "ffn_down": "mlp.down_proj"}


def build(arch, tied, ids, seed):
    saved = (tiny.TEXT, tiny.VISION_QWEN2, tiny.VISION_QWEN25)
    tiny.TEXT, tiny.VISION_QWEN2, tiny.VISION_QWEN25 = TEXT, VISION_QWEN2, VISION_QWEN25
    try:
        return tiny.build(arch, tied, ids, seed)
    finally:
        tiny.TEXT, tiny.VISION_QWEN2, tiny.VISION_QWEN25 = saved


def hf_name(gguf_name):
    """The transformers parameter of a text tensor of llama.cpp's qwen2vl architecture."""
    base, _, suffix = gguf_name.rpartition(".")
    if base in TEXT_NAMES:
        return TEXT_NAMES[base] + "." + suffix
    parts = base.split(".")
    if parts[0] == "blk" and len(parts) == 3 and parts[2] in LAYER_NAMES:
        return f"model.language_model.layers.{parts[1]}.{LAYER_NAMES[parts[2]]}.{suffix}"
    raise KeyError(gguf_name)


def dequantized(path):
    from gguf import GGUFReader
    from gguf.quants import dequantize
    reader = GGUFReader(str(path))
    out = {}
    for t in reader.tensors:
        out[t.name] = (dequantize(t.data, t.tensor_type).astype(np.float32), t.tensor_type.name)
    return out


def converter(args, env):
    # The tiny vocabulary tokenizes the converter's probe text differently
    # from the real Qwen2 vocabulary, so its pre-tokenizer hash is unknown:
    # tell it the pre-tokenizer is Qwen2's, which it is.
    code = ("import sys; sys.argv = sys.argv[1:]; sys.path.insert(0, %r);"
            "import conversion.base as b; b.TextModel.get_vocab_base_pre = lambda self, tok: 'qwen2';"
            "import runpy; runpy.run_path(%r, run_name='__main__')") % (str(LLAMA_CPP), str(LLAMA_CPP / "convert_hf_to_gguf.py"))
    subprocess.run([sys.executable, "-c", code, "convert_hf_to_gguf.py", *args], check=True, env=env)


def llama_cpp_logits(harness, gguf_path, prompt_ids):
    if not harness:
        return None
    out = []
    for ids in prompt_ids:
        res = subprocess.run([harness, str(gguf_path), ",".join(map(str, ids))], check=True, capture_output=True)
        out.append(np.frombuffer(res.stdout, dtype="<f4").copy())
    return out


def llama_cpp_image_logits(harness, gguf_path, mmproj, image, question):
    """llama.cpp (mtmd) on the image prompt: its logits and the text tokens it made around the image."""
    if not harness:
        return None, None
    text = ("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n<__media__>" + question +
            "<|im_end|>\n<|im_start|>assistant\n")
    res = subprocess.run([harness, str(gguf_path), str(mmproj), str(image), text], check=True, capture_output=True)
    tokens = res.stderr.decode().strip().splitlines()[-1]
    return np.frombuffer(res.stdout, dtype="<f4").copy(), tokens


@torch.no_grad()
def golden(model, weights, prompt_ids, image_case, blob):
    state = model.state_dict()
    with torch.no_grad():
        for name, (value, _) in weights.items():
            target = hf_name(name)
            if target not in state:
                raise KeyError(f"{name} -> {target} is not a parameter")
            state[target].copy_(torch.from_numpy(value).reshape(state[target].shape))
        if model.config.text_config.tie_word_embeddings:
            model.lm_head.weight = model.model.language_model.embed_tokens.weight

    def put(t):
        entry = {"offset": len(blob), "shape": list(t.shape)}
        blob.extend(t.to(torch.float32).contiguous().numpy().tobytes())
        return entry

    cases = []
    for ids in prompt_ids:
        x = torch.tensor([ids])
        logits = model(input_ids=x).logits[0]
        gen = model.generate(x, attention_mask=torch.ones_like(x), max_new_tokens=NEW_TOKENS, min_new_tokens=NEW_TOKENS,
                             do_sample=False, eos_token_id=None, pad_token_id=0, output_logits=True,
                             return_dict_in_generate=True)
        steps = torch.stack([s[0] for s in gen.logits])
        top2 = torch.topk(steps, 2, dim=-1).values
        cases.append({"prompt_ids": ids, "last_logits": put(logits[-1]),
                      "generated_ids": gen.sequences[0, len(ids):].tolist(),
                      "min_greedy_margin": float((top2[:, 0] - top2[:, 1]).min())})
    ids, pixels, grid, title, images = image_case
    logits = model(input_ids=ids, attention_mask=torch.ones_like(ids), pixel_values=pixels, image_grid_thw=grid).logits[0]
    gen = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), pixel_values=pixels, image_grid_thw=grid,
                         max_new_tokens=NEW_TOKENS, min_new_tokens=NEW_TOKENS, do_sample=False, eos_token_id=None,
                         pad_token_id=0, output_logits=True, return_dict_in_generate=True)
    steps = torch.stack([s[0] for s in gen.logits])
    top2 = torch.topk(steps, 2, dim=-1).values
    image = {"title": title, "images": images, "prompt_ids": ids[0].tolist(), "image_grid_thw": grid.tolist(),
             "last_logits": put(logits[-1]), "generated_ids": gen.sequences[0, ids.shape[1]:].tolist(),
             "min_greedy_margin": float((top2[:, 0] - top2[:, 1]).min())}
    return cases, image


def image_inputs(model_dir, crops):
    from transformers import Qwen2TokenizerFast, Qwen2VLImageProcessor, Qwen2VLProcessor, Qwen2VLVideoProcessor
    tokenizer = Qwen2TokenizerFast(tokenizer_file=str(model_dir / "tokenizer.json"))
    processor = Qwen2VLProcessor(image_processor=Qwen2VLImageProcessor(min_pixels=28 * 28, max_pixels=28 * 28 * 1280),
                                 tokenizer=tokenizer, video_processor=Qwen2VLVideoProcessor(),
                                 chat_template=tiny.CHAT_TEMPLATE)
    title, which, question = tiny.IMAGE_PROMPTS[0]
    images = [crops[i][1] for i in which]
    content = [{"type": "image"} for _ in which] + [{"type": "text", "text": question}]
    text = processor.apply_chat_template([{"role": "user", "content": content}], tokenize=False,
                                         add_generation_prompt=True)
    inputs = processor(text=[text], images=images, return_tensors="pt")
    names = [str(crops[i][0].relative_to(ROOT / "tests/golden")) for i in which]
    return inputs["input_ids"], inputs["pixel_values"], inputs["image_grid_thw"], title, names


def main():
    if not (LLAMA_CPP / "convert_hf_to_gguf.py").exists():
        raise SystemExit("set LLAMA_CPP to a llama.cpp source tree (with build/bin/llama-quantize)")
    quantizer = LLAMA_CPP / "build/bin/llama-quantize"
    harness = os.environ.get("LLAMA_GGUF_LOGITS", "")
    env = dict(os.environ, PYTHONPATH=str(LLAMA_CPP / "gguf-py"))
    from transformers import PreTrainedTokenizerFast
    import tokenizers
    tok = tiny.tiny_tokenizer()
    ids = tiny.special_ids(tok)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tokenizers.Tokenizer.from_str(json.dumps(tok)))
    prompt_ids = tiny.prompts(tokenizer, ids)
    crops = tiny.make_crops()
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)
    work = Path(tempfile.mkdtemp(prefix="deskpilot-gguf-"))
    for name, arch, tied, seed, types in MODELS:
        model = build(arch, tied, ids, seed)
        state = tiny.store(model, torch.float16)
        config = model.config.to_dict()
        config["architectures"] = [{"qwen2_vl": "Qwen2VLForConditionalGeneration",
                                    "qwen2_5_vl": "Qwen2_5_VLForConditionalGeneration"}[arch]]
        config["torch_dtype"] = "float16"
        hf_dir = work / name
        # llama.cpp's converter reads the original names (model.layers.*, visual.*).
        tiny.write_model_dir(hf_dir, config, [tiny.old_names(state)], tok, ids)
        f16 = work / f"{name}-F16.gguf"
        converter([str(hf_dir), "--outtype", "f16", "--outfile", str(f16)], env)
        converter([str(hf_dir), "--outtype", "f16", "--mmproj", "--outfile", str(OUT / f"mmproj-{name}-F16.gguf")], env)
        case_inputs = image_inputs(hf_dir, crops)
        for qtype in types:
            path = OUT / f"{name}-{qtype}.gguf"
            base = "Q8_0" if qtype == "mixed" else qtype
            subprocess.run([str(quantizer), *QUANTIZE[qtype], str(f16), str(path), base], check=True,
                           capture_output=True)
            weights = dequantized(path)
            blob = bytearray()
            fresh = build(arch, tied, ids, seed)
            tiny.store(fresh, torch.float16)  # the vision tower: exactly the mmproj's F16 values
            cases, image = golden(fresh, weights, prompt_ids, case_inputs, blob)
            theirs = llama_cpp_logits(harness, path, prompt_ids)
            if theirs:
                for case, logits in zip(cases, theirs):
                    case["llama_cpp_last_logits"] = {"offset": len(blob), "shape": [len(logits)]}
                    blob.extend(logits.astype("<f4").tobytes())
            question = tiny.IMAGE_PROMPTS[0][2]
            theirs_image, tokens = llama_cpp_image_logits(harness, path, OUT / f"mmproj-{name}-F16.gguf",
                                                          ROOT / "tests/golden" / image["images"][0], question)
            if theirs_image is not None:
                image["llama_cpp_last_logits"] = {"offset": len(blob), "shape": [len(theirs_image)]}
                image["llama_cpp_tokens"] = tokens
                blob.extend(theirs_image.astype("<f4").tobytes())
            result = {"model": name, "architecture": arch, "type": qtype, "tied": tied, "cases": cases,
                      "image_case": image, "tensor_types": {k: v[1] for k, v in sorted(weights.items())},
                      "torch": torch.__version__, "transformers": tiny.transformers.__version__}
            (OUT / f"{name}-{qtype}.golden.json").write_text(json.dumps(result, indent=1) + "\n")
            (OUT / f"{name}-{qtype}.logits.bin").write_bytes(bytes(blob))
            margin = min([c["min_greedy_margin"] for c in cases] + [image["min_greedy_margin"]])
            print(f"{path.name}: {path.stat().st_size / 1e6:.2f} MB, min greedy margin {margin:.3g}")
    shutil.rmtree(work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
