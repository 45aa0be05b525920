#!/usr/bin/env python3
"""Golden renderings of the Qwen2-VL chat template by transformers' processor.

For each conversation, Qwen2VLProcessor (the real Qwen2 tokenizer, the
default Qwen2VLImageProcessor, the Qwen2-VL instruct chat template) gives the
rendered prompt text and, with the images, the input ids in which each
<|image_pad|> is expanded to grid_t * grid_h * grid_w / merge_size^2 tokens.
Writes tests/golden/chat_template/cases.json. Run from the repository root
with scripts/golden/requirements-models.txt installed:

    python3 scripts/golden/chat_template_cases.py
"""
import json
import sys
from pathlib import Path

import transformers
from PIL import Image
from transformers import Qwen2TokenizerFast, Qwen2VLImageProcessor, Qwen2VLProcessor, Qwen2VLVideoProcessor

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_tiny_models import CHAT_TEMPLATE  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
TOKENIZER = ROOT / "tests/golden/tokenizer/qwen2/tokenizer.json"
OUT = ROOT / "tests/golden/chat_template/cases.json"

UITARS_SYSTEM = "You are a GUI agent. You are given a task and your action history, with screenshots."


def img(w, h):
    return {"type": "image", "width": w, "height": h}


CONVERSATIONS = [
    ([{"role": "user", "content": "Hello"}], {}),
    ([{"role": "user", "content": "Hello"}], {"add_generation_prompt": False}),
    ([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}], {}),
    ([{"role": "user", "content": [img(1920, 1080), {"type": "text", "text": "Click Save."}]}], {}),
    ([{"role": "user", "content": [{"type": "text", "text": "Where is the OK button?"}, img(333, 517)]}], {}),
    ([{"role": "system", "content": [{"type": "text", "text": UITARS_SYSTEM}]},
      {"role": "user", "content": [{"type": "text", "text": "## Instruction\nOpen the terminal"}, img(1366, 768)]},
      {"role": "assistant", "content": "Thought: The terminal icon is in the dock.\nAction: click(start_box='(12,700)')"},
      {"role": "user", "content": [img(1366, 768)]},
      {"role": "assistant", "content": [{"type": "text", "text": "Thought: Typing.\nAction: type(content='ls\\n')"}]},
      {"role": "user", "content": [img(1366, 768)]}], {}),
    ([{"role": "user", "content": [img(800, 600), img(1280, 800), img(56, 56), img(1920, 1080), img(640, 480),
                                   {"type": "text", "text": "Five screenshots of history."}]}], {}),
    ([{"role": "user", "content": [img(800, 600), img(640, 480), {"type": "text", "text": "Compare."}]}],
     {"add_vision_id": True}),
    ([{"role": "user", "content": "你好，请打开终端。😀"}, {"role": "assistant", "content": "好的"},
      {"role": "user", "content": "<|im_start|> inside text and\n\nblank lines  "}], {}),
    ([{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:"}, "width": 1001, "height": 777},
                                   {"type": "text", "text": "An image_url part."}]}], {}),
]


def main() -> int:
    tokenizer = Qwen2TokenizerFast(tokenizer_file=str(TOKENIZER))
    processor = Qwen2VLProcessor(image_processor=Qwen2VLImageProcessor(), tokenizer=tokenizer,
                                 video_processor=Qwen2VLVideoProcessor(),
                                 chat_template=CHAT_TEMPLATE)
    cases = []
    for messages, options in CONVERSATIONS:
        images = []
        for m in messages:
            if isinstance(m["content"], list):
                for part in m["content"]:
                    if part["type"] in ("image", "image_url"):
                        images.append(Image.new("RGB", (part["width"], part["height"]), (200, 100, 50)))
        kwargs = {"add_generation_prompt": options.get("add_generation_prompt", True)}
        if options.get("add_vision_id"):
            kwargs["add_vision_id"] = True
        text = processor.apply_chat_template(messages, tokenize=False, **kwargs)
        inputs = processor(text=[text], images=images or None, return_tensors="pt")
        grids = inputs["image_grid_thw"].tolist() if images else []
        cases.append({"messages": messages, "options": options, "rendered": text, "image_grid_thw": grids,
                      "input_ids": inputs["input_ids"][0].tolist()})
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"transformers": transformers.__version__, "merge_size": 2, "cases": cases},
                              ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"{OUT.relative_to(ROOT)}: {len(cases)} conversations")
    return 0


if __name__ == "__main__":
    sys.exit(main())
