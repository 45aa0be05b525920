#!/usr/bin/env python3
"""The official ui-tars parser on the same corpus as bench_parse.

Two measurements on every case the reference accepts, each the median of 7
passes after a warm-up:
  official_parse     parse_action_to_structure_output, then the screen
                     coordinates multiplied out by hand (the least the
                     reference can do to get what `deskpilot parse` prints);
  official_pipeline  parse_action_to_structure_output followed by
                     parsing_response_to_pyautogui_code, the package's own way
                     to screen coordinates (as in the golden files).
Prints one line each: NAME cases=N median_us_per_parse=X parses_per_s=Y
"""
import contextlib
import io
import json
import statistics
import sys
import time

from ui_tars import action_parser as ref


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        doc = json.load(f)
    cases = [c for c in doc["cases"] if c["kind"] == "match"]
    sink = io.StringIO()  # the reference prints on some paths

    def parse(c):
        return ref.parse_action_to_structure_output(
            c["text"], factor=1000, origin_resized_height=c["screenshot"][1],
            origin_resized_width=c["screenshot"][0], model_type=c["model_type"])

    def one_pass():
        total = 0.0
        for c in cases:
            parsed = parse(c)
            for p in parsed:
                box = p["action_inputs"].get("start_box")
                if box:
                    b = json.loads(box)
                    total += (b[0] + b[2]) / 2 * c["screen"][0]
        return total

    def pipeline_pass():
        total = 0
        for c in cases:
            code = ref.parsing_response_to_pyautogui_code(
                parse(c), image_height=c["screen"][1], image_width=c["screen"][0], scale_factor=1)
            total += len(code)
        return total

    for name, fn in (("official_parse", one_pass), ("official_pipeline", pipeline_pass)):
        with contextlib.redirect_stdout(sink):
            for _ in range(2):
                fn()
            runs = []
            for _ in range(7):
                t0 = time.perf_counter()
                fn()
                runs.append((time.perf_counter() - t0) * 1e6 / len(cases))
        median = statistics.median(runs)
        print(f"{name} cases={len(cases)} median_us_per_parse={median:.3f} parses_per_s={1e6 / median:.0f}")


if __name__ == "__main__":
    main()
