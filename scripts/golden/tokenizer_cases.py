#!/usr/bin/env python3
"""Golden ids for the Qwen2 tokenizer from the `tokenizers` package.

Writes tests/golden/tokenizer/cases.json: for each of >= 2000 strings (hand
picked edge cases plus seeded random mixtures of English, French, Chinese,
Japanese, Arabic, emoji, code, whitespace runs, digits and special tokens
inside text), the ids `tokenizers` produces with
tests/golden/tokenizer/qwen2/tokenizer.json and its decoding
(skip_special_tokens=False). Run from the repository root with the pinned
requirements (scripts/golden/requirements.txt):

    python3 scripts/golden/tokenizer_cases.py
"""
import json
import random
import sys
from pathlib import Path

import tokenizers

ROOT = Path(__file__).resolve().parents[2]
TOKENIZER = ROOT / "tests/golden/tokenizer/qwen2/tokenizer.json"
OUT = ROOT / "tests/golden/tokenizer/cases.json"

HAND = [
    "", " ", "  ", "\n", "\n\n", " \n", "\r\n", "\t", "a", "A", "1", "12", "123", "1234567890",
    "Hello, world!", "hello world", " hello", "  hello", "   hello  ", "hello\n", "hello \n world",
    "it's", "IT'S", "we're", "they've", "I'm", "you'll", "he'd", "WE'RE", "YOU'LL", "can'T", "'s", "''s",
    "\u017fs", "'\u017f", "x'\u017fy",  # long s folds to s under (?i)
    "don't stop", "rock 'n' roll", "'hello'", "\"quoted\"",
    "Thought: I should click the Save button.\nAction: click(start_box='(235,512)')",
    "Action: type(content='hello\\n')", "hotkey(key='ctrl c')", "scroll(start_box='<|box_start|>(10,20)<|box_end|>', direction='down')",
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n",
    "<|vision_start|><|image_pad|><|image_pad|><|vision_end|>", "<|endoftext|>", "<|im_start|><|im_end|>",
    "text<|im_end|>text", "<|im_end", "|im_end|>", "<<|im_end|>>", "<|box_start|>(1,2)<|box_end|>",
    "<tool_call>{\"a\": 1}</tool_call>", "<|fim_prefix|>def f():<|fim_suffix|>\n<|fim_middle|>",
    "Café", "Cafe\u0301", "e\u0301", "\u212b", "A\u030a", "\uac00", "\u1100\u1161", "ﬁ", "Ⅻ", "½", "²", "①",
    "Le cœur a ses raisons que la raison ne connaît point.", "Ça va? Très bien, merci !",
    "你好，世界！", "我想打开终端并列出我的文件。", "日本語のテキストです。カタカナとひらがな。", "ｶﾀｶﾅ",
    "مرحبا بالعالم", "السلام عليكم ورحمة الله", "שלום עולם", "Привет, мир!", "Γειά σου Κόσμε", "नमस्ते दुनिया",
    "สวัสดีชาวโลก", "안녕하세요 세계", "😀", "👍🏽", "👨‍👩‍👧‍👦", "🇫🇷🇯🇵", "❤️", "a😀b", " 😀 ", "😀😀😀",
    "def main():\n    print('hi')\n    return 0\n", "for (int i = 0; i < n; ++i) { x[i] += 1; }",
    "if x == 1:\n\tpass\n", "#include <stdio.h>\n", "$ ls -la /home/user\n", "a  b   c    d",
    " " * 17, "\n" * 9, " \n \n ", "\t\t\t", "a\u00a0b", "\u3000\u3000x", "x\u2028y", "x\u2029y", "x\u0085y",
    "\u200b", "\u200d", "\ufeffBOM", "\u0000", "\x01\x02", "\x7f", "tab\tsep\tvalues", "CRLF\r\nline\r\n",
    "3.14159", "1,000,000", "2026-11-29", "12:34:56", "0x1F", "1e-5", "v1.2.3", "١٢٣", "一二三", "٣.١٤",
    "www.example.com/path?q=1&r=2#frag", "user@example.org", "C:\\Windows\\System32", "~/.config/deskpilot",
    "!!!", "???", "...", "---", "***", "$$$", "%%%", "(((", ")))", "[[[", "]]]", "{{{", "}}}", ";;\n\n",
    "a!\n\n", "a.\r\n", "x,\n", "— – -", "“smart quotes”", "‘single’", "«guillemets»", "¿Qué?", "¡Hola!",
    "<|endoftext|>\u0338x", ">\u0338", "a<|im_end|>\u0301b", "\u212a<|im_end|>",  # NFC stops at added tokens
    "ß", "SS", "ŉ", "ǅ", "Ǆ", "İstanbul", "ıi", "ﬀ", "Å", "ø", "æ", "ﬃ", "µ",
]

FRAGMENTS = {
    "en": ["the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "Open", "terminal", "click",
           "Save", "button", "file", "report.txt", "Settings", "Cancel", "OK", "don't", "it's", "we'll"],
    "fr": ["le", "cœur", "été", "ça", "où", "déjà", "garçon", "français", "Noël", "naïve", "fenêtre", "élève"],
    "zh": ["你好", "世界", "打开", "终端", "文件", "保存", "设置", "取消", "确定", "浏览器", "。", "，"],
    "ja": ["こんにちは", "世界", "ファイル", "保存", "ボタン", "を", "クリック", "します", "。", "「", "」"],
    "ar": ["مرحبا", "عالم", "ملف", "حفظ", "زر", "انقر", "على", "،", "؟"],
    "emoji": ["😀", "🚀", "👍", "🏽", "❤️", "✅", "🔥", "👨‍💻", "🇩🇪", "©", "™"],
    "code": ["def", "(", ")", ":", "{", "}", "[", "]", "==", "!=", "->", "=>", "::", "//", "/*", "*/",
             "x_1", "self.", "std::vector<int>", "#", "'", "\"", "`", "\\n", "\\t", "0x7f", "i++"],
    "ws": [" ", "  ", "   ", "\t", "\n", "\n\n", "\r\n", " \n", "\n ", "        ", "\u00a0", "\u3000"],
    "num": ["0", "7", "42", "2026", "3.5", "1,024", "99%", "-1", "+33", "٤٢", "Ⅷ", "½", "³"],
    "special": ["<|im_start|>", "<|im_end|>", "<|endoftext|>", "<|image_pad|>", "<|vision_start|>",
                "<|vision_end|>", "<|box_start|>", "<|box_end|>", "<tool_call>", "<|fim_pad|>"],
}


def random_string(rng: random.Random) -> str:
    groups = list(FRAGMENTS)
    pieces = []
    for _ in range(rng.randint(1, 24)):
        group = rng.choice(groups)
        pieces.append(rng.choice(FRAGMENTS[group]))
        if rng.random() < 0.5:
            pieces.append(rng.choice([" ", "", "", "\n", "  ", ", "]))
    return "".join(pieces)


def random_codepoints(rng: random.Random) -> str:
    # Arbitrary scalar values, weighted toward the planes real text uses.
    out = []
    for _ in range(rng.randint(1, 16)):
        plane = rng.random()
        if plane < 0.3:
            cp = rng.randint(0x20, 0x7E)
        elif plane < 0.8:
            cp = rng.randint(0x80, 0xFFFF)
        else:
            cp = rng.randint(0x10000, 0x10FFFF)
        if 0xD800 <= cp <= 0xDFFF:
            continue
        out.append(chr(cp))
    return "".join(out)


def main() -> int:
    tok = tokenizers.Tokenizer.from_file(str(TOKENIZER))
    rng = random.Random(20261129)
    texts = list(HAND)
    while len(texts) < 1800:
        texts.append(random_string(rng))
    while len(texts) < 2200:
        texts.append(random_codepoints(rng))
    # Long inputs: whitespace runs, one long word, a long mixed paragraph.
    texts += [" " * 300 + "x", "\n" * 200, "a" * 1000, "你" * 500, " ".join(random_string(rng) for _ in range(80))]
    cases = []
    for text in texts:
        ids = tok.encode(text, add_special_tokens=False).ids
        cases.append({"text": text, "ids": ids, "decoded": tok.decode(ids, skip_special_tokens=False)})
    OUT.write_text(json.dumps({"tokenizers_version": tokenizers.__version__, "cases": cases}, ensure_ascii=False,
                              indent=0) + "\n", encoding="utf-8")
    print(f"{OUT.relative_to(ROOT)}: {len(cases)} cases (tokenizers {tokenizers.__version__})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
