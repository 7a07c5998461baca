#!/usr/bin/env python3
"""Checks a student handout (scripts/make-handout) against the kit it came from: no
solutions, wrong fixes or instructor files; no lab's diagnosis; no line that only a
solution has; no principle text. Usage: check-handout.py ROOT HANDOUT"""
import glob, json, os, sys

root, handout = sys.argv[1], sys.argv[2]
errors = []

texts = {}
for dirpath, dirnames, filenames in os.walk(handout):
    rel = os.path.relpath(dirpath, handout)
    for forbidden in ("solutions", "tests", "slides", ".ci"):
        if rel == forbidden or rel.startswith(forbidden + os.sep):
            errors.append(f"{rel}/ is in the handout")
    for f in filenames:
        path = os.path.join(dirpath, f)
        name = os.path.relpath(path, handout)
        if f in ("instructor.json", "NOTES.md", "BENCHMARKS.md") or f.endswith(".patch"):
            errors.append(f"{name}: instructor material")
        try:
            texts[name] = open(path, encoding="utf-8").read()
        except (UnicodeDecodeError, OSError):
            pass

def find(needle):
    return [n for n, t in texts.items() if needle in t]

# The kit's files a handout may hold: under version control, outside the instructors' folders.
import subprocess
public = []
for f in subprocess.run(["git", "-C", root, "ls-files"], capture_output=True, text=True, check=True).stdout.split("\n"):
    if f and not f.startswith(("solutions/", "tests/", "slides/", ".ci/")) and f != "BENCHMARKS.md":
        try:
            public.append(open(os.path.join(root, f), encoding="utf-8").read())
        except (UnicodeDecodeError, OSError):
            pass

labs = distinctive = 0
for sol in sorted(glob.glob(os.path.join(root, "solutions", "[0-9][0-9]-*"))):
    labs += 1
    lab = os.path.basename(sol)
    info = json.load(open(os.path.join(sol, "instructor.json")))
    if info.get("diagnosis") and find(info["diagnosis"]):
        errors.append(f"{lab}: its diagnosis '{info['diagnosis']}' is in {find(info['diagnosis'])}")
    for para in info.get("principle", []):
        probe = " ".join(para.split())[:60]
        if any(probe in " ".join(t.split()) for t in texts.values()):
            errors.append(f"{lab}: principle text '{probe}...' is in the handout")
    manifest = json.load(open(os.path.join(root, "labs", lab, "lab.json")))
    for f in manifest["student_files"]:
        leaky = {l.strip() for l in open(os.path.join(root, "labs", lab, f))}
        for line in open(os.path.join(sol, f)):
            line = line.strip()
            # A line only the solution has: what its fix wrote.
            if len(line) < 30 or line in leaky or any(line in t for t in public):
                continue
            distinctive += 1
            if find(line):
                errors.append(f"{lab}/{f}: the solution's line '{line[:70]}' is in {find(line)[:3]}")

for e in errors:
    print("FAIL", e)
print(f"{len(texts)} files, {labs} labs, {distinctive} lines only a solution has, {len(errors)} problem(s)")
sys.exit(1 if errors or labs == 0 or distinctive < 50 else 0)
