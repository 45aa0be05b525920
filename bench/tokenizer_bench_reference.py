#!/usr/bin/env python3
"""The tokenizers package on the inputs of bench_tokenizer (single thread).

    RAYON_NUM_THREADS=1 python3 bench/tokenizer_bench_reference.py TOKENIZER_JSON CASES_JSON
"""
import json
import statistics
import sys
import time

import tokenizers


def median_ms(rounds, f):
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        f()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def main() -> int:
    t0 = time.perf_counter()
    tok = tokenizers.Tokenizer.from_file(sys.argv[1])
    load_ms = (time.perf_counter() - t0) * 1000
    texts = [c["text"] for c in json.load(open(sys.argv[2], encoding="utf-8"))["cases"]]
    doc = "".join(t + "\n" for t in texts)
    counts = {}

    def strings():
        counts["tokens"] = sum(len(tok.encode(t, add_special_tokens=False).ids) for t in texts)

    def document():
        counts["doc_tokens"] = len(tok.encode(doc, add_special_tokens=False).ids)

    strings_ms = median_ms(15, strings)
    doc_ms = median_ms(15, document)
    print(f"tokenizers_{tokenizers.__version__} strings={len(texts)} tokens={counts['tokens']} strings_ms={strings_ms:.3f} "
          f"doc_tokens={counts['doc_tokens']} doc_ms={doc_ms:.3f} load_ms={load_ms:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
