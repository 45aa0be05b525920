#!/usr/bin/env python3
"""Golden UI-TARS-1.5 prompts from the official ui-tars package (pinned in
scripts/golden/requirements.txt): ui_tars.prompt's COMPUTER_USE_DOUBAO,
MOBILE_USE_DOUBAO and GROUNDING_DOUBAO formatted with a few languages and
instructions. Writes tests/golden/uitars_prompts.json.

    python3 scripts/golden/uitars_prompts.py
"""
import json
import sys
from pathlib import Path

import ui_tars.prompt as prompt

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "tests/golden/uitars_prompts.json"

INSTRUCTIONS = ["Open the terminal and list my files.", "Type {\"a\": 1} into the 'Name' field\nthen press Enter",
                "打开浏览器"]


def main() -> int:
    cases = []
    for style, template in [("computer-v1.5", prompt.COMPUTER_USE_DOUBAO), ("mobile-v1.5", prompt.MOBILE_USE_DOUBAO),
                            ("grounding", prompt.GROUNDING_DOUBAO)]:
        for language in ["English", "Chinese"]:
            for instruction in INSTRUCTIONS:
                text = template.replace("{language}", language).replace("{instruction}", instruction) \
                    if style == "grounding" else template.format(language=language, instruction=instruction)
                cases.append({"style": style, "language": language, "instruction": instruction, "prompt": text})
    OUT.write_text(json.dumps({"ui_tars": "0.5.1", "cases": cases}, ensure_ascii=False, indent=1) + "\n",
                   encoding="utf-8")
    print(f"{OUT.relative_to(ROOT)}: {len(cases)} prompts")
    return 0


if __name__ == "__main__":
    sys.exit(main())
