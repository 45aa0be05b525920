#!/usr/bin/env python3
"""The vision benchmark's model and its transformers reference.

    vision_bench_reference.py make DIR        a random-weight Qwen2.5-VL checkpoint with
                                              UI-TARS-1.5-7B's vision tower (depth 32,
                                              width 1280, 16 heads, SwiGLU 3420, windows
                                              of 112 px, full attention in blocks 7, 15,
                                              23, 31) and a one-layer decoder of its width
                                              (3584), BF16, with UI-TARS-1.5's processor
                                              limits
    vision_bench_reference.py run DIR PNG     transformers encodes the screenshot (FP32,
                                              sdpa, torch threads = CPUs): one line
"""
import json
import os
import resource
import shutil
import sys
import time
from pathlib import Path

import torch
import transformers
from PIL import Image
from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration, Qwen2VLImageProcessor

ROOT = Path(__file__).resolve().parents[1]
VISION = dict(depth=32, hidden_size=1280, intermediate_size=3420, num_heads=16, out_hidden_size=3584, patch_size=14,
              spatial_merge_size=2, temporal_patch_size=2, window_size=112, fullatt_block_indexes=[7, 15, 23, 31],
              hidden_act="silu", in_chans=3)
TEXT = dict(vocab_size=2048, hidden_size=3584, intermediate_size=512, num_hidden_layers=1, num_attention_heads=28,
            num_key_value_heads=4, rope_scaling={"type": "mrope", "mrope_section": [16, 24, 24]}, rope_theta=1e6,
            max_position_embeddings=32768)
PIXELS = dict(min_pixels=100 * 28 * 28, max_pixels=16384 * 28 * 28)  # UI-TARS-1.5's preprocessor_config.json


def make(out: Path) -> None:
    torch.manual_seed(0)
    cfg = Qwen2_5_VLConfig(text_config=TEXT, vision_config=VISION, image_token_id=2012, video_token_id=2013,
                           vision_start_token_id=2010, vision_end_token_id=2011)
    model = Qwen2_5_VLForConditionalGeneration(cfg).to(torch.bfloat16)
    if out.exists():
        shutil.rmtree(out)
    model.save_pretrained(out, safe_serialization=True)
    shutil.copy(ROOT / "tests/golden/models/qwen25vl-untied/tokenizer.json", out / "tokenizer.json")
    (out / "preprocessor_config.json").write_text(json.dumps(dict(PIXELS, patch_size=14, merge_size=2,
                                                                  temporal_patch_size=2)) + "\n")
    vision = sum(p.numel() for n, p in model.named_parameters() if "visual" in n)
    print(f"made {out}: vision tower {vision / 1e6:.0f}M parameters (BF16)")


@torch.no_grad()
def run(path: Path, png: Path) -> None:
    torch.set_num_threads(os.cpu_count())
    model = Qwen2_5_VLForConditionalGeneration.from_pretrained(path, torch_dtype=torch.float32,
                                                               attn_implementation="sdpa").eval()
    inputs = Qwen2VLImageProcessor(**PIXELS)(images=[Image.open(png).convert("RGB")], return_tensors="pt")
    grid = inputs["image_grid_thw"]
    t0 = time.perf_counter()
    out = model.model.get_image_features(inputs["pixel_values"], grid)
    ms = (time.perf_counter() - t0) * 1000
    tokens = sum(o.shape[0] for o in out)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"transformers_fp32 grid={grid[0].tolist()} tokens={tokens} vision_ms={ms:.0f} peak_rss_mb={peak_mb:.0f} "
          f"threads={torch.get_num_threads()} transformers={transformers.__version__}")


def main() -> int:
    if sys.argv[1] == "make":
        make(Path(sys.argv[2]))
    else:
        run(Path(sys.argv[2]), Path(sys.argv[3]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
