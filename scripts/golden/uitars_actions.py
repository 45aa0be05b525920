#!/usr/bin/env python3
"""Golden action-parsing results from the official `ui-tars` package.

Writes tests/golden/uitars_actions.json, which the C++ tests read (no Python
needed there). Every case is a model output, a model type (coordinate
convention), the screenshot size the model saw and the screen size that gets
the input. The expected values come from the reference:

  ui_tars.action_parser.parse_action_to_structure_output   (types, texts, keys)
  ui_tars.action_parser.parsing_response_to_pyautogui_code (screen coordinates)
  ui_tars.action_parser.smart_resize                       (1000+ random sizes)

Three kinds of case:
  match     the reference parses it; deskpilot must give the same result;
  superset  the reference raises, or returns something unusable (the
            single key 'ctrl+c'), where the intent is plain (box tokens,
            "Action：", [x,y], ...); the expected result is the reference's
            result on an equivalent text it does accept ("equivalent");
  error     deskpilot must refuse it; "official_ok" records whether the
            reference raised too (it lets an unknown action or a key it cannot
            press through, as a no-op).

Usage (versions pinned in requirements.txt beside this file):
  python3 -m venv /tmp/golden && /tmp/golden/bin/pip install -r scripts/golden/requirements.txt
  /tmp/golden/bin/python scripts/golden/uitars_actions.py
"""
import contextlib
import importlib.metadata
import io
import inspect
import json
import math
import os
import random
import re
import sys

from ui_tars import action_parser as ref

PINNED = "0.5.1"
FORMAT_VERSION = 1
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "tests", "golden", "uitars_actions.json")

# (screenshot the model saw, screen that receives input)
SCREENS = [
    ((1920, 1080), (1920, 1080)),
    ((2560, 1440), (2560, 1440)),
    ((1366, 768), (1366, 768)),
    ((3840, 2160), (3840, 2160)),
    ((1522, 1022), (1522, 1022)),
    ((1001, 777), (1001, 777)),
    ((333, 517), (333, 517)),
    ((1280, 800), (1280, 800)),
    ((1920, 1080), (3840, 2160)),   # HiDPI: the capture is half the screen
    ((1280, 720), (2560, 1440)),
    ((1599, 899), (1599, 899)),
]
MODEL_TYPES = ["qwen25vl", "qwen2vl", "doubao"]


def model_extent(model_type, shot):
    """Full width/height in the model's own coordinates."""
    if model_type == "qwen25vl":
        h, w = ref.smart_resize(shot[1], shot[0])
        return w, h
    return 1000, 1000


def pt(ext, fx, fy):
    """A point at fractions (fx, fy) of the model extent, as integers."""
    return int(ext[0] * fx), int(ext[1] * fy)


def templates(ext):
    """(kind, text, equivalent-or-None) tuples for one model extent."""
    x, y = pt(ext, 0.31, 0.42)
    x1, y1 = pt(ext, 0.12, 0.07)
    x2, y2 = pt(ext, 0.58, 0.81)
    bx1, by1 = pt(ext, 0.20, 0.30)
    bx2, by2 = pt(ext, 0.27, 0.34)
    t = "Thought: I need to open the settings menu first.\n"
    out = [
        ("match", f"{t}Action: click(start_box='({x},{y})')", None),
        ("match", f"{t}Action: click(start_box='({bx1},{by1},{bx2},{by2})')", None),
        ("match", f"{t}Action: left_double(start_box='({x},{y})')", None),
        ("match", f"{t}Action: right_single(start_box='({x2},{y2})')", None),
        ("match", f"{t}Action: hover(start_box='({x1},{y1})')", None),
        ("match", f"{t}Action: drag(start_box='({x1},{y1})', end_box='({x2},{y2})')", None),
        ("match", f"{t}Action: drag(start_box='({bx1},{by1},{bx2},{by2})', end_box='({x2},{y2})')", None),
        ("match", f"{t}Action: click(point='<point>{x} {y}</point>')", None),
        ("match", f"Thought: Drag the slider.\nAction: drag(start_point='<point>{x1} {y1}</point>', end_point='<point>{x2} {y2}</point>')", None),
        ("match", f"{t}Action: scroll(start_box='({x},{y})', direction='down')", None),
        ("match", f"{t}Action: scroll(start_box='({x},{y})', direction='up')", None),
        ("match", f"{t}Action: scroll(point='<point>{x2} {y2}</point>', direction='left')", None),
        ("match", f"{t}Action: scroll(start_box='({x1},{y1})', direction='right')", None),
        ("match", f"{t}Action: click(start_box='{x}, {y}')", None),
        ("match", f"{t}Action: click(start_box='( {x} , {y} )')", None),
        ("match", f"Action: click(start_box='({x},{y})')", None),
        ("match", f"Reflection: The menu did not open, so the click missed.\nAction_Summary: Click the gear icon instead.\nAction: click(start_box='({x2},{y2})')", None),
        ("match", f"Action_Summary: Open the file menu.\nAction: click(start_box='({x1},{y1})')", None),
        ("match", f"{t}Action: click(start_box='({x},{y})'", None),  # missing ')'
        ("match", f"{t}Action: click(start_box='({x},{y})')\n\ntype(content='hello')", None),
        ("match", f"<think>\nThe user wants the settings. The gear is top right.\n</think>\nThought: Click the gear.\nAction: click(start_box='({x},{y})')", None),
        ("match", f"Thought: The Action menu is at the top; I will use it.\nAction: click(start_box='({x},{y})')", None),
        ("match", f"Thought: 我需要点击设置按钮。\nAction: click(start_box='({x},{y})')", None),
        ("match", f"{t}Action: long_press(start_box='({x},{y})')", None),
        # Superset: the reference raises, the intent is plain.
        ("superset", f"{t}Action: click(start_box='<|box_start|>({x},{y})<|box_end|>')",
         f"{t}Action: click(start_box='({x},{y})')"),
        ("superset", f"{t}Action: drag(start_box='<|box_start|>({x1},{y1})<|box_end|>', end_box='<|box_start|>({x2},{y2})<|box_end|>')",
         f"{t}Action: drag(start_box='({x1},{y1})', end_box='({x2},{y2})')"),
        ("superset", f"{t}Action: click(start_box='<bbox>{bx1} {by1} {bx2} {by2}</bbox>')",
         f"{t}Action: click(start_box='({bx1},{by1},{bx2},{by2})')"),
        ("superset", f"{t}Action: click(start_box='[{x},{y}]')",
         f"{t}Action: click(start_box='({x},{y})')"),
        ("superset", f"{t}Action: right_single(start_box='[{bx1}, {by1}, {bx2}, {by2}]')",
         f"{t}Action: right_single(start_box='({bx1},{by1},{bx2},{by2})')"),
        ("superset", f"Thought: Click it.\nAction：click(start_box='({x},{y})')",
         f"Thought: Click it.\nAction: click(start_box='({x},{y})')"),
        ("superset", f"Thought: Click it.\nAction:click(start_box='({x},{y})')",
         f"Thought: Click it.\nAction: click(start_box='({x},{y})')"),
        ("superset", f"{t}Action: click(start_box=({x},{y}))",
         f"{t}Action: click(start_box='({x},{y})')"),
    ]
    return out


def keyboard_templates():
    t = "Thought: Use the keyboard.\n"
    out = []
    for chord in ["ctrl c", "ctrl v", "ctrl shift t", "alt f4", "enter", "ctrl alt t", "esc",
                  "ctrl a", "super", "shift tab", "ctrl pagedown", "backspace", "delete",
                  "f5", "ctrl l", "alt tab", "home", "end", "up", "arrowdown", "space", "ctrl s",
                  "win d", "ctrl shift esc", "F11", "Return", "tab"]:
        out.append(("match", f"{t}Action: hotkey(key='{chord}')", None))
    out.append(("match", f"{t}Action: hotkey(hotkey='ctrl z')", None))
    out.append(("match", f"{t}Action: press(key='enter')", None))
    out.append(("match", f"{t}Action: press(key='shift')", None))
    out.append(("match", f"{t}Action: keydown(key='ctrl')", None))
    out.append(("match", f"{t}Action: release(key='shift')", None))
    out.append(("match", f"{t}Action: keyup(key='alt')", None))
    out.append(("superset", f"{t}Action: hotkey(key='ctrl+c')", f"{t}Action: hotkey(key='ctrl c')"))
    out.append(("superset", f"{t}Action: hotkey(key='Ctrl+Shift+T')", f"{t}Action: hotkey(key='ctrl shift t')"))
    out.append(("superset", f'{t}Action: hotkey(key="ctrl w")', f"{t}Action: hotkey(key='ctrl w')"))
    return out


def text_templates():
    t = "Thought: Type the text.\n"
    bodies = [
        "hello world",
        "hello\\n",                          # \n escape: submit
        "It\\'s done",                       # escaped quote
        "It's not escaped",                  # unescaped quote
        'say "hi" twice',
        "line one\\nline two",
        "line one\\nline two\\n",
        "中文输入测试",
        "日本語のテキスト",
        "emoji 😀 ok",
        "C:\\\\Users\\\\me",                 # escaped backslashes
        "tab\\there",
        "ls -la ~/Documents\\n",
        "https://example.com/search?q=a+b&x=1",
        "price: $5, (approx.)",
        "x = f(a, b)",
        "don't stop, won't stop",
        "é è ê ë",
        "print('hi')",
        "50% off",
    ]
    out = [("match", f"{t}Action: type(content='{b}')", None) for b in bodies]
    out.append(("match", f"{t}Action: finished(content='The file is saved.')", None))
    out.append(("match", f"{t}Action: finished(content='Done: it\\'s saved')", None))
    out.append(("match", f"{t}Action: finished()", None))
    out.append(("match", f"{t}Action: wait()", None))
    out.append(("match", f"{t}Action: call_user()", None))
    out.append(("match", f"{t}Action: open_app(app_name='Chrome')", None))
    out.append(("match", f"{t}Action: press_home()", None))
    out.append(("match", f"{t}Action: press_back()", None))
    out.append(("match", f"{t}Action: scroll(direction='down')", None))
    out.append(("match", f"{t}Action: type(content='abc')\n\nhotkey(key='enter')", None))
    out.append(("match", f"{t}Action: type(content='   leading spaces go')", None))
    out.append(("match", "Thought: I wrote Action: click earlier by mistake.\nAction: type(content='x')", None))
    out.append(("match", "Thought: First line.\n\nSecond paragraph of the thought.\nAction: wait()", None))
    out.append(("match", f"{t}Action: hotkey(key='ctrl a')\n\nhotkey(key='ctrl c')\n\nfinished(content='copied')", None))
    out.append(("match", f"{t}Action: finished(content='完成了 ✓')", None))
    out.append(("match", f"{t}Action: type(content='a\\tb')", None))
    out.append(("superset", f'{t}Action: type(content="double quoted")',
                f"{t}Action: type(content='double quoted')"))
    out.append(("superset", f"{t}Action: type(text='hello')", f"{t}Action: type(content='hello')"))
    out.append(("superset", f"{t}Action: finished(content='It's done')",
                f"{t}Action: finished(content='It\\'s done')"))
    # Both must refuse these.
    for bad in ["Thought: nothing to do", "Action: ", "Action: click(start_box='(1,2,3)')",
                "Action: click(start_box='abc')", "Action: frobnicate(x='1')",
                "Action: click()", "Action: 12345", "Action: hotkey(key='ctrl notakey')"]:
        out.append(("error", bad, None))
    return out


def structured(text, model_type, shot):
    with contextlib.redirect_stdout(io.StringIO()):
        return ref.parse_action_to_structure_output(
            text, factor=1000, origin_resized_height=shot[1], origin_resized_width=shot[0],
            model_type=model_type)


def pyautogui_code(parsed, screen):
    kwargs = {}
    if "scale_factor" in inspect.signature(ref.parsing_response_to_pyautogui_code).parameters:
        kwargs["scale_factor"] = 1  # parse_action_to_structure_output already normalised to 0..1
    return ref.parsing_response_to_pyautogui_code(parsed, image_height=screen[1],
                                                  image_width=screen[0], **kwargs)


NUM = r"(-?[0-9.]+(?:e-?\d+)?)"


def expected_actions(parsed, code, screen):
    """Per action: type and the reference's screen coordinates, text, keys."""
    calls = re.findall(rf"pyautogui\.(click|doubleClick|moveTo|dragTo)\({NUM}, {NUM}", code)
    calls = [(name, float(a), float(b)) for name, a, b in calls]
    out = []
    for p in parsed:
        t = p["action_type"]
        inputs = p["action_inputs"]
        e = {"type": t, "inputs": inputs}
        if t in ("click", "left_single", "left_double", "right_single", "hover"):
            name, x, y = calls.pop(0)
            e["x"], e["y"] = x, y
        elif t in ("drag", "select"):
            _, x, y = calls.pop(0)
            _, ex, ey = calls.pop(0)
            e["x"], e["y"], e["end_x"], e["end_y"] = x, y, ex, ey
        elif "start_box" in inputs:
            # scroll and mobile actions: the converter does not map these,
            # so apply its own formula (centre of the box times the screen).
            b = json.loads(inputs["start_box"])
            e["x"] = round((b[0] + b[2]) / 2 * screen[0], 3)
            e["y"] = round((b[1] + b[3]) / 2 * screen[1], 3)
        if t == "hotkey":
            # As the converter reads it: key= else hotkey=, split on spaces.
            e["keys"] = inputs.get("key", inputs.get("hotkey", "")).split()
        elif t in ("press", "keydown", "release", "keyup"):
            e["keys"] = inputs.get("key", inputs.get("press", "")).split()
        if t == "type":
            e["content"] = inputs.get("content", "")
        if t in ("finished", "call_user"):
            e["content"] = inputs.get("content", "")
        if t == "scroll":
            e["direction"] = inputs.get("direction", "")
        if t == "open_app":
            e["app_name"] = inputs.get("app_name", "")
        out.append(e)
    return out


def run_case(kind, text, equivalent, model_type, shot, screen):
    case = {"kind": kind, "text": text, "model_type": model_type,
            "screenshot": list(shot), "screen": list(screen)}
    try:
        # Both stages: the structure parser and the pyautogui converter (which
        # is where a 3-number box or a missing point is refused).
        pyautogui_code(structured(text, model_type, shot), screen)
        official_ok = True
    except Exception as exc:  # the reference raises assorted exceptions
        official_ok = False
        case["official_error"] = f"{type(exc).__name__}: {exc}"[:200]
    if kind == "match":
        assert official_ok, f"expected the reference to accept: {text!r}: {case.get('official_error')}"
    case["official_ok"] = official_ok
    if kind == "error":
        return case
    source = text if kind == "match" else equivalent
    parsed = structured(source, model_type, shot)
    code = pyautogui_code(parsed, screen)
    case["equivalent"] = equivalent
    case["thought"] = parsed[0]["thought"]
    case["reflection"] = parsed[0]["reflection"]
    case["pyautogui"] = code
    case["actions"] = expected_actions(parsed, code, screen)
    return case


def smart_resize_cases(rng):
    cases = []
    def add(h, w, min_pixels=ref.MIN_PIXELS, max_pixels=ref.MAX_PIXELS):
        try:
            rh, rw = ref.smart_resize(h, w, min_pixels=min_pixels, max_pixels=max_pixels)
            cases.append({"width": w, "height": h, "min_pixels": min_pixels,
                          "max_pixels": max_pixels, "resized": [rw, rh]})
        except ValueError as exc:
            cases.append({"width": w, "height": h, "min_pixels": min_pixels,
                          "max_pixels": max_pixels, "error": str(exc)})
    for w, h in [(1522, 1022), (1920, 1080), (2560, 1440), (3840, 2160), (1366, 768),
                 (1280, 800), (800, 600), (333, 517), (28, 28), (1, 1), (14, 14), (5600, 28),
                 (5601, 28), (10000, 50), (100, 20000), (7680, 4320)]:
        add(h, w)
    while len(cases) < 1200:
        r = rng.random()
        if r < 0.5:
            w, h = rng.randint(200, 4000), rng.randint(200, 2500)
        elif r < 0.8:
            w, h = rng.randint(1, 12000), rng.randint(1, 12000)
        else:
            w, h = rng.randint(1, 300), rng.randint(1, 300)
        if rng.random() < 0.25:
            lo = rng.choice([4 * 28 * 28, 256 * 28 * 28, 1000 * 28 * 28])
            hi = rng.choice([1280 * 28 * 28, 2048 * 28 * 28, 12845056])
            add(h, w, lo, hi)
        else:
            add(h, w)
    return cases


def main():
    version = importlib.metadata.version("ui-tars")
    if version != PINNED:
        sys.exit(f"ui-tars {version} installed, {PINNED} pinned: pip install -r scripts/golden/requirements.txt")
    cases = []
    for mi, model_type in enumerate(MODEL_TYPES):
        for si, (shot, screen) in enumerate(SCREENS):
            ext = model_extent(model_type, shot)
            for ti, (kind, text, equiv) in enumerate(templates(ext)):
                # Every template on three screens per model type: enough
                # variety without thousands of near-copies.
                if (ti + si + mi) % 4 == 0:
                    cases.append(run_case(kind, text, equiv, model_type, shot, screen))
    shot, screen = SCREENS[0]
    for kind, text, equiv in keyboard_templates() + text_templates():
        cases.append(run_case(kind, text, equiv, "qwen25vl", shot, screen))
    rng = random.Random(20261129)
    doc = {
        "format_version": FORMAT_VERSION,
        "generator": "scripts/golden/uitars_actions.py",
        "reference": f"ui-tars=={version}",
        "cases": cases,
        "smart_resize": smart_resize_cases(rng),
    }
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, indent=1)
        f.write("\n")
    kinds = {}
    for c in cases:
        kinds[c["kind"]] = kinds.get(c["kind"], 0) + 1
    print(f"wrote {OUT}: {len(cases)} cases {kinds}, {len(doc['smart_resize'])} smart_resize sizes")


if __name__ == "__main__":
    main()
