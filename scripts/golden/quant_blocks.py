#!/usr/bin/env python3
"""Random blocks of every GGUF type deskpilot runs and what gguf-py makes of them.

Writes tests/golden/quant/<TYPE>.blocks (raw blocks, as in a GGUF file) and
<TYPE>.f32 (little-endian float32: gguf.quants.dequantize of those blocks),
for F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K, Q6_K; and <TYPE>.input.f32 +
<TYPE>.quantized for the types gguf-py quantizes bit-exactly as ggml does
(Q8_0, Q4_0, BF16, F16).

The block bytes are random, with the f16 scales (d, dmin) drawn from a mix
of ordinary values and the extremes: zero, the smallest subnormal, the
largest finite half, negative values. Infinite and NaN scales are left out
(their products are NaN in both and say nothing).

Run from the repository root in a virtualenv with `gguf` (the PyPI
package, scripts/golden/requirements.txt):

    python3 scripts/golden/quant_blocks.py
"""
from pathlib import Path

import numpy as np
from gguf import GGMLQuantizationType as T
from gguf.constants import GGML_QUANT_SIZES
from gguf.quants import dequantize, quantize

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "tests/golden/quant"
BLOCKS = 48

# Byte offsets of the f16 scales inside each block type.
SCALE_OFFSETS = {T.Q8_0: [0], T.Q4_0: [0], T.Q4_K: [0, 2], T.Q5_K: [0, 2], T.Q6_K: [208]}
EXTREMES = np.array([0.0, 2.0**-24, -(2.0**-24), 65504.0, -65504.0, 2.0**-14, 1.0, -1.0], dtype=np.float16)


def random_scales(rng, n):
    ordinary = (rng.standard_normal(n) * 0.02).astype(np.float16)
    extreme = rng.choice(EXTREMES, n)
    return np.where(rng.random(n) < 0.25, extreme, ordinary).astype(np.float16)


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(20261203)
    for qtype in (T.Q8_0, T.Q4_0, T.Q4_K, T.Q5_K, T.Q6_K):
        block_elems, block_bytes = GGML_QUANT_SIZES[qtype]
        raw = rng.integers(0, 256, size=(BLOCKS, block_bytes), dtype=np.uint8)
        for off in SCALE_OFFSETS[qtype]:
            raw[:, off:off + 2] = random_scales(rng, BLOCKS).view(np.uint8).reshape(BLOCKS, 2)
        values = dequantize(raw, qtype).astype(np.float32).reshape(-1)
        assert values.size == BLOCKS * block_elems
        (OUT / f"{qtype.name}.blocks").write_bytes(raw.tobytes())
        (OUT / f"{qtype.name}.f32").write_bytes(values.astype("<f4").tobytes())
    for qtype in (T.F16, T.BF16):
        raw = rng.integers(0, 65536, size=BLOCKS * 32, dtype=np.uint16)
        raw = raw[(raw & 0x7F80 if qtype == T.BF16 else raw & 0x7C00) != (0x7F80 if qtype == T.BF16 else 0x7C00)]
        raw_bytes = raw.astype("<u2").view(np.uint8)
        values = dequantize(raw_bytes, qtype).astype(np.float32).reshape(-1)
        (OUT / f"{qtype.name}.blocks").write_bytes(raw_bytes.tobytes())
        (OUT / f"{qtype.name}.f32").write_bytes(values.astype("<f4").tobytes())
    # Quantization where gguf-py is bit-exact with ggml: inputs with ties and
    # extremes next to ordinary Gaussian values.
    for qtype in (T.Q8_0, T.Q4_0, T.F16, T.BF16):
        x = (rng.standard_normal((BLOCKS, 32)) * rng.choice([1e-6, 1e-2, 1.0, 100.0], (BLOCKS, 1))).astype(np.float32)
        x[0] = 0.0
        x[1, :] = np.float32(0.5)
        x[2, ::2] = np.float32(-3.0)
        q = quantize(x.reshape(-1) if qtype in (T.F16, T.BF16) else x, qtype)
        (OUT / f"{qtype.name}.input.f32").write_bytes(x.astype("<f4").tobytes())
        (OUT / f"{qtype.name}.quantized").write_bytes(np.ascontiguousarray(q).tobytes())
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
