#!/usr/bin/python3
"""The desktop part of the real-screens grounding set
(tests/golden/grounding/desktop): GTK dialogs (zenity), an editor
(mousepad, its window and its File menu) and a terminal (xterm) on a private
Xvfb, each captured with `deskpilot capture`. Boxes come from the
applications themselves: AT-SPI (the accessibility tree GTK exports:
role, name, extents on the screen) for GTK, and xterm's character grid (its
window size over its rows and columns) for the terminal, whose text we print.

Run by scripts/golden/grounding_desktop.sh inside a D-Bus session with the
AT-SPI bus running; Debian's python3-gi and gir1.2-atspi-2.0. Writes
OUT/screenspot_desktop.json (ScreenSpot's format: img_filename, bbox as
x, y, w, h, instruction, data_type text/icon, data_source) and OUT/images/.
"""
import json
import os
import subprocess
import sys
import time

import gi

gi.require_version("Atspi", "2.0")
from gi.repository import Atspi  # noqa: E402

DESKPILOT, OUT = sys.argv[1], sys.argv[2]
W, H = 1280, 800
# Roles whose name is drawn as their text; others are found by what they are.
TEXT_ROLES = {"push button": "button", "toggle button": "button", "radio button": "option",
              "check box": "checkbox", "menu item": "menu item", "menu": "menu", "label": None,
              "table cell": None, "table column header": "column", "page tab": "tab", "list item": None,
              "check menu item": "menu item", "radio menu item": "menu item"}
FIELD_ROLES = {"text", "entry", "password text", "spin button"}


def walk(node, found):
    try:
        role, name = node.get_role_name(), (node.get_name() or "").strip()
        states = node.get_state_set()
        if states.contains(Atspi.StateType.SHOWING):
            e = node.get_extents(Atspi.CoordType.SCREEN)
            found.append((role, name, (e.x, e.y, e.width, e.height)))
        for i in range(node.get_child_count()):
            walk(node.get_child_at_index(i), found)
    except Exception:  # a node gone while walking
        pass


def tree(app_name):
    desk = Atspi.get_desktop(0)
    found = []
    for i in range(desk.get_child_count()):
        app = desk.get_child_at_index(i)
        if app is not None and (app.get_name() or "") == app_name:
            walk(app, found)
    return found


def on_screen(box):
    x, y, w, h = box
    return w >= 6 and h >= 6 and x >= 0 and y >= 0 and x + w <= W and y + h <= H


def targets_from_tree(nodes):
    """(instruction, type, box) for the nodes worth pointing at."""
    out = []
    labels = [(n, b) for r, n, b in nodes if r == "label" and n and on_screen(b)]
    for role, name, box in nodes:
        if not on_screen(box):
            continue
        if role in TEXT_ROLES and name and len(name) <= 40 and "\u200e" not in name:
            suffix = TEXT_ROLES[role]
            if suffix == "button" and box[2] <= 1.3 * box[3]:
                # A button as wide as it is high shows an icon; its name is a description.
                out.append((name.lower(), "icon", box))
            else:
                out.append((name if suffix is None else f"{name} {suffix}", "text", box))
        elif role in FIELD_ROLES:
            # The label on its row, to its left: "the Email field".
            x, y, w, h = box
            row = [(n, b) for n, b in labels if b[0] + b[2] <= x + 2 and abs((b[1] + b[3] / 2) - (y + h / 2)) < h]
            if row:
                label = max(row, key=lambda nb: nb[1][0])[0].rstrip(":")
                out.append((f"the {label} field", "icon", box))
    # An instruction that names two places is no target.
    count = {}
    for instr, _, _ in out:
        count[instr] = count.get(instr, 0) + 1
    return [t for t in out if count[t[0]] == 1]


def capture(name):
    path = os.path.join(OUT, "images", name + ".png")
    subprocess.run([DESKPILOT, "capture", "--out", path], check=True, stdout=subprocess.DEVNULL)


def wait_for_app(app_name, timeout=15):
    start = time.time()
    while time.time() - start < timeout:
        nodes = tree(app_name)
        if any(r in ("dialog", "frame", "file chooser") for r, _, _ in nodes):
            time.sleep(1.0)  # drawn, not just mapped
            return tree(app_name)
        time.sleep(0.3)
    raise SystemExit(f"{app_name} did not appear on the AT-SPI bus within {timeout} s")


records = []


def add(screen, targets):
    for instr, kind, (x, y, w, h) in targets:
        records.append({"img_filename": screen + ".png", "bbox": [x, y, w, h], "instruction": instr,
                        "data_type": kind, "data_source": screen})
    print(f"{screen}: {len(targets)} targets", file=sys.stderr)


def gtk_screen(screen, command, app_name="zenity", before=None):
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd="/tmp")
    try:
        nodes = wait_for_app(app_name)
        if before:
            nodes = before(nodes)
        capture(screen)
        add(screen, targets_from_tree(nodes))
    finally:
        proc.kill()
        proc.wait()


def open_menu(app_name, menu_name):
    def run(nodes):
        desk = Atspi.get_desktop(0)
        for i in range(desk.get_child_count()):
            app = desk.get_child_at_index(i)
            if (app.get_name() or "") != app_name:
                continue
            stack = [app]
            while stack:
                n = stack.pop()
                if n.get_role_name() == "menu" and n.get_name() == menu_name:
                    n.get_action_iface().do_action(0)
                    time.sleep(1.0)
                    return tree(app_name)
                stack.extend(n.get_child_at_index(k) for k in range(n.get_child_count()))
        raise SystemExit(f"no menu '{menu_name}' in {app_name}")
    return run


def xterm_screen(work):
    """xterm prints a listing we wrote; each word's box is its cells on xterm's grid."""
    lines = ["$ ls -l projects", "total 16",
             "-rw-r--r-- 1 ada staff  2048 Mar  3 09:12 budget.ods",
             "-rw-r--r-- 1 ada staff   512 Mar  4 17:40 notes.txt",
             "drwxr-xr-x 2 ada staff  4096 Mar  5 08:01 photos",
             "-rwxr-xr-x 1 ada staff   733 Mar  6 12:30 deploy.sh",
             "$ git status", "On branch main", "Changes not staged for commit:",
             "        modified:   README.md", "        modified:   src/parser.cpp",
             "Untracked files:", "        release-notes.md", "$ "]
    text_file = os.path.join(work, "screen.txt")
    with open(text_file, "w") as f:
        f.write("\n".join(lines))
    cols, rows = 100, 30
    proc = subprocess.Popen(["xterm", "-b", "0", "-bw", "0", "-geometry", f"{cols}x{rows}+0+0", "-fa", "DejaVu Sans Mono",
                             "-fs", "13", "-title", "terminal", "-e", "sh", "-c", f"cat {text_file}; sleep 60"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(2.5)
        info = subprocess.run(["xwininfo", "-name", "terminal"], capture_output=True, text=True, check=True).stdout
        width = int(info.split("Width:")[1].split()[0])
        height = int(info.split("Height:")[1].split()[0])
        cw, ch = width / cols, height / rows
        capture("xterm")
        words = {"budget.ods": "budget.ods", "notes.txt": "notes.txt", "photos": "the photos folder",
                 "deploy.sh": "deploy.sh", "main": "the branch name", "README.md": "the modified README.md",
                 "src/parser.cpp": "src/parser.cpp", "release-notes.md": "the untracked release-notes.md",
                 "total": "total", "staff": None}
        targets = []
        for row, line in enumerate(lines):
            for word, instr in words.items():
                col = line.find(word)
                if instr is None or col < 0 or line.find(word, col + 1) >= 0:
                    continue
                box = (round(col * cw), round(row * ch), round(len(word) * cw), round(ch))
                targets.append((instr, "text", box))
        for row, cmd in ((0, "ls -l projects"), (6, "git status")):
            targets.append((f"the command {cmd}", "text", (round(2 * cw), round(row * ch), round(len(cmd) * cw), round(ch))))
        targets.append(("Changes not staged for commit", "text", (0, round(8 * ch), round(29 * cw), round(ch))))
        add("xterm", targets)
    finally:
        proc.kill()
        proc.wait()


def main():
    os.makedirs(os.path.join(OUT, "images"), exist_ok=True)
    work = "/tmp/deskpilot-desktop-set"  # a fixed path: it shows in the file chooser
    subprocess.run(["rm", "-rf", work], check=True)
    os.makedirs(work)
    os.chdir(work)  # the file chooser lists the current folder among its places
    if True:
        docs = os.path.join(work, "Documents")
        os.makedirs(os.path.join(docs, "Invoices"))
        os.makedirs(os.path.join(docs, "Travel"))
        for name in ("budget-2026.ods", "letter.odt", "notes.txt", "photo-001.jpg", "report-q3.pdf"):
            open(os.path.join(docs, name), "w").write("x\n")
        gtk_screen("zenity-forms", ["zenity", "--forms", "--title", "New contact", "--text", "Contact details",
                                    "--add-entry", "First name", "--add-entry", "Last name", "--add-entry", "Email",
                                    "--add-password", "Password", "--ok-label", "Save", "--cancel-label", "Discard"])
        gtk_screen("zenity-question", ["zenity", "--question", "--title", "Delete file",
                                       "--text", "Delete the file report.txt for good?", "--ok-label", "Delete",
                                       "--cancel-label", "Keep it", "--width", "420"])
        gtk_screen("zenity-list", ["zenity", "--list", "--title", "Choose a printer", "--width", "640", "--height", "420",
                                   "--column", "Printer", "--column", "Location", "--column", "Status",
                                   "LaserJet", "Second floor", "Ready", "OfficeJet", "Reception", "Paper jam",
                                   "Plotter", "Design studio", "Offline", "Labelwriter", "Warehouse", "Low toner"])
        gtk_screen("zenity-entry", ["zenity", "--entry", "--title", "New folder", "--text", "Name of the new folder:",
                                    "--ok-label", "Create", "--width", "400"])
        gtk_screen("zenity-files", ["zenity", "--file-selection", "--title", "Open a document",
                                    "--filename", docs + "/"])
        note = os.path.join(work, "meeting-notes.txt")
        open(note, "w").write("Agenda\n1. Budget review\n2. Hiring plan\n3. Release date\n")
        env = dict(os.environ, XDG_CONFIG_HOME=os.path.join(work, "config"))
        for screen, menu in (("mousepad", None), ("mousepad-file-menu", "File"), ("mousepad-edit-menu", "Edit")):
            proc = subprocess.Popen(["mousepad", note], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
            try:
                nodes = wait_for_app("mousepad")
                if menu:
                    nodes = open_menu("mousepad", menu)(nodes)
                capture(screen)
                add(screen, targets_from_tree(nodes))
            finally:
                proc.kill()
                proc.wait()
        xterm_screen(work)
    with open(os.path.join(OUT, "screenspot_desktop.json"), "w") as f:
        f.write("[\n" + ",\n".join("  " + json.dumps(r) for r in records) + "\n]\n")
    print(f"{len(records)} samples in {OUT}", file=sys.stderr)


main()
