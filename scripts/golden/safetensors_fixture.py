#!/usr/bin/env python3
"""Safetensors fixtures written by the reference `safetensors` package.

Writes tests/golden/safetensors/:
  single/model.safetensors            F32 and F16 tensors, with __metadata__
  sharded/model-0000{1,2}-of-00002.safetensors + model.safetensors.index.json
                                      (the index in the layout transformers writes)
  expected.json                       every tensor's dtype, shape and values
The C++ tests read them without Python. Versions: scripts/golden/requirements.txt.
"""
import json
import os

import numpy as np
from safetensors.numpy import save_file

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "tests", "golden", "safetensors")


def main():
    rng = np.random.default_rng(20261129)
    tensors = {
        "model.embed_tokens.weight": rng.standard_normal((7, 5)).astype(np.float32),
        "model.layers.0.self_attn.q_proj.bias": rng.standard_normal((5,)).astype(np.float16),
        "model.norm.weight": np.linspace(-2, 2, 5, dtype=np.float32),
        "scalar": np.array(3.5, dtype=np.float32),
        "empty": np.zeros((0, 4), dtype=np.float32),
    }
    os.makedirs(os.path.join(OUT, "single"), exist_ok=True)
    save_file(tensors, os.path.join(OUT, "single", "model.safetensors"), metadata={"format": "pt"})

    os.makedirs(os.path.join(OUT, "sharded"), exist_ok=True)
    names = sorted(tensors)
    shards = {"model-00001-of-00002.safetensors": names[:2], "model-00002-of-00002.safetensors": names[2:]}
    weight_map = {}
    for shard, members in shards.items():
        save_file({n: tensors[n] for n in members}, os.path.join(OUT, "sharded", shard), metadata={"format": "pt"})
        weight_map.update({n: shard for n in members})
    total = sum(t.nbytes for t in tensors.values())
    with open(os.path.join(OUT, "sharded", "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)

    expected = {n: {"dtype": {"float32": "F32", "float16": "F16"}[str(t.dtype)], "shape": list(t.shape),
                    "values": [float(v) for v in t.astype(np.float64).ravel()]}
                for n, t in tensors.items()}
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
    print("wrote", OUT)


if __name__ == "__main__":
    main()
