#!/usr/bin/env python3
"""Golden preprocessing from transformers' Qwen2VLImageProcessor (slow path).

For each screenshot in tests/golden/images/*.png (scripts/golden/screenshots.sh)
and two processor settings (transformers' defaults, 56*56..28*28*1280 pixels;
UI-TARS-1.5's 100*28*28..16384*28*28), records image_grid_thw, the resized
uint8 image as a lossless PNG (tests/golden/vision/resized/), the sum of every
pixel_values row and 4096 sampled pixel_values entries. Writes
tests/golden/vision/preprocess.json. Run from the repository root with
scripts/golden/requirements-models.txt installed:

    python3 scripts/golden/vision_cases.py
"""
import json
import sys
from pathlib import Path

import numpy as np
import transformers
from PIL import Image
from transformers import Qwen2VLImageProcessor
from transformers.image_transforms import resize
from transformers.image_utils import PILImageResampling
from transformers.models.qwen2_vl.image_processing_qwen2_vl import smart_resize

ROOT = Path(__file__).resolve().parents[2]
IMAGES = ROOT / "tests/golden/images"
OUT = ROOT / "tests/golden/vision"

SETTINGS = {
    "default": {"shortest_edge": 56 * 56, "longest_edge": 28 * 28 * 1280},
    "uitars15": {"shortest_edge": 100 * 28 * 28, "longest_edge": 16384 * 28 * 28},
}


def main() -> int:
    (OUT / "resized").mkdir(parents=True, exist_ok=True)
    cases = []
    for path in sorted(IMAGES.glob("*.png")):
        image = Image.open(path).convert("RGB")
        for setting, size in SETTINGS.items():
            if setting == "uitars15" and image.width * image.height > 1400 * 900:
                continue  # upscaled full-HD screenshots would make a large golden; smaller ones cover the path
            # min_pixels/max_pixels: transformers 4.57 ignores `size` in the constructor.
            processor = Qwen2VLImageProcessor(min_pixels=size["shortest_edge"], max_pixels=size["longest_edge"])
            out = processor(images=[image], return_tensors="np")
            pixels = out["pixel_values"].astype(np.float32)
            grid = out["image_grid_thw"][0].tolist()
            h, w = smart_resize(image.height, image.width, factor=28, min_pixels=size["shortest_edge"],
                                max_pixels=size["longest_edge"])
            resized = resize(np.array(image), (h, w), resample=PILImageResampling.BICUBIC,
                             input_data_format="channels_last")
            name = f"{path.stem}.{setting}.png"
            Image.fromarray(resized.astype(np.uint8)).save(OUT / "resized" / name, optimize=True)
            rng = np.random.default_rng(len(cases))
            flat = pixels.reshape(-1)
            idx = np.sort(rng.choice(flat.size, size=4096, replace=False))
            cases.append({
                "image": f"images/{path.name}", "setting": setting, "min_pixels": size["shortest_edge"],
                "max_pixels": size["longest_edge"], "width": image.width, "height": image.height,
                "resized": f"vision/resized/{name}", "resized_width": w, "resized_height": h, "grid_thw": grid,
                "shape": list(pixels.shape), "row_sums": pixels.astype(np.float64).sum(axis=1).tolist(),
                "sample_index": idx.tolist(), "sample_values": flat[idx].astype(float).tolist(),
            })
            print(f"{path.name} [{setting}]: {image.width}x{image.height} -> {w}x{h}, grid {grid}")
    (OUT / "preprocess.json").write_text(json.dumps({"transformers": transformers.__version__, "cases": cases}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
