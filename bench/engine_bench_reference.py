#!/usr/bin/env python3
"""The engine benchmark's model and its transformers reference.

    engine_bench_reference.py make DIR      a random-weight Qwen2-VL checkpoint with
                                            Qwen2-0.5B's decoder shape (BF16, tied,
                                            the real Qwen2 tokenizer) in DIR
    engine_bench_reference.py run DIR DTYPE PROMPT_FILE NEW_TOKENS
                                            transformers' prefill and decode on it,
                                            DTYPE float32 or bfloat16, torch threads
                                            = the CPU count; one line of figures

Decode speed = (NEW_TOKENS - 1) / (time of generate(NEW_TOKENS) - time of
generate(1)): the first token comes from the prefill. Greedy, no eos stop.
"""
import json
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

import torch
import transformers
from transformers import Qwen2VLConfig, Qwen2VLForConditionalGeneration

ROOT = Path(__file__).resolve().parents[1]
TOKENIZER = ROOT / "tests/golden/tokenizer/qwen2/tokenizer.json"

# Qwen2-0.5B's decoder (UI-TARS shapes scaled down to what a 2-core CPU runs).
TEXT = dict(vocab_size=151936, hidden_size=896, intermediate_size=4864, num_hidden_layers=24, num_attention_heads=14,
            num_key_value_heads=2, max_position_embeddings=32768, rms_norm_eps=1e-6, rope_theta=1000000.0,
            rope_scaling={"type": "mrope", "mrope_section": [8, 12, 12]}, tie_word_embeddings=True,
            bos_token_id=151643, eos_token_id=151645)
VISION = dict(depth=1, embed_dim=32, num_heads=2, mlp_ratio=2, hidden_size=896, patch_size=14, spatial_merge_size=2,
              temporal_patch_size=2)


def make(out: Path) -> None:
    torch.manual_seed(0)
    cfg = Qwen2VLConfig(text_config=TEXT, vision_config=VISION, tie_word_embeddings=True, image_token_id=151655,
                        video_token_id=151656, vision_start_token_id=151652, vision_end_token_id=151653)
    model = Qwen2VLForConditionalGeneration(cfg).to(torch.bfloat16)
    if out.exists():
        shutil.rmtree(out)
    model.save_pretrained(out, safe_serialization=True)
    shutil.copy(TOKENIZER, out / "tokenizer.json")
    gen = {"eos_token_id": [151645, 151643], "pad_token_id": 151643, "do_sample": False}
    (out / "generation_config.json").write_text(json.dumps(gen, indent=2) + "\n")
    params = sum(p.numel() for p in model.parameters())
    print(f"made {out}: {params / 1e6:.0f}M parameters (BF16)")


@torch.no_grad()
def run(path: Path, dtype: str, prompt_file: Path, new_tokens: int) -> None:
    torch.set_num_threads(os.cpu_count())
    from tokenizers import Tokenizer
    ids = Tokenizer.from_file(str(path / "tokenizer.json")).encode(prompt_file.read_text(encoding="utf-8"),
                                                                    add_special_tokens=False).ids
    model = Qwen2VLForConditionalGeneration.from_pretrained(path, torch_dtype=getattr(torch, dtype),
                                                            attn_implementation="sdpa").eval()
    x = torch.tensor([ids])
    mask = torch.ones_like(x)

    def gen(n):
        t0 = time.perf_counter()
        model.generate(x, attention_mask=mask, max_new_tokens=n, min_new_tokens=n, do_sample=False, eos_token_id=None,
                       pad_token_id=0)
        return (time.perf_counter() - t0) * 1000

    gen(2)  # warm up
    one = statistics.median(gen(1) for _ in range(3))
    full = statistics.median(gen(new_tokens) for _ in range(2))
    decode_tps = (new_tokens - 1) / ((full - one) / 1000)
    print(f"transformers_{dtype} prompt_tokens={len(ids)} prefill_ms={one:.1f} prefill_tps={len(ids) / one * 1000:.1f} "
          f"decode_tps={decode_tps:.2f} torch={torch.__version__} transformers={transformers.__version__} "
          f"threads={torch.get_num_threads()}")


def main() -> int:
    if sys.argv[1] == "make":
        make(Path(sys.argv[2]))
    else:
        run(Path(sys.argv[2]), sys.argv[3], Path(sys.argv[4]), int(sys.argv[5]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
