#!/usr/bin/env python3
"""Checks `leaklab grade`'s outputs for the fixture submissions against expected.json:
each student's score, verdict and reason in summary.json, Gradescope's results.json,
JUnit XML, the CSV gradebook and the HTML page; and that no process outlived the grader.
Usage: check-grades.py OUT EXPECTED"""
import csv, json, os, re, sys
import xml.etree.ElementTree as ET

out, expected = sys.argv[1], json.load(open(sys.argv[2]))
errors = []
def fail(msg): errors.append(msg)

summary = json.load(open(os.path.join(out, "summary.json")))
checks = {c["student"]: c for c in summary["checks"]}
if set(checks) != set(expected):
    fail(f"students graded {sorted(checks)} != expected {sorted(expected)}")
for name, want in expected.items():
    c = checks.get(name)
    if not c:
        continue
    if c["score"] != want["score"]:
        fail(f"{name}: score {c['score']}, expected {want['score']} ({c['reason']})")
    if not re.fullmatch(want["verdict"], c["verdict"]):
        fail(f"{name}: verdict {c['verdict']}, expected {want['verdict']} ({c['reason']})")
    if not re.search(want["reason"], c["reason"]):
        fail(f"{name}: reason {c['reason']!r} does not match {want['reason']!r}")
    if "output" in want and not re.search(want["output"], c["output"]):
        fail(f"{name}: output does not show {want['output']!r}: {c['output'][:300]!r}")

    # Gradescope: the score, and the test's status, max_score, output and visibility.
    gs = json.load(open(os.path.join(out, "gradescope", name, "results.json")))
    if gs["score"] != want["score"]:
        fail(f"{name}: results.json score {gs['score']}, expected {want['score']}")
    t = gs["tests"][0]
    status = "passed" if want["score"] > 0 else "failed"
    if t["status"] != status or t["max_score"] != 10 or t["visibility"] != "visible" or not t["output"]:
        fail(f"{name}: results.json test {t['name']!r}: status {t['status']}, max {t['max_score']}, "
             f"visibility {t.get('visibility')}")
    if not re.search(want["reason"], t["output"]):
        fail(f"{name}: results.json output does not give the reason")

# JUnit: a failure with the reason for every student who lost points, none for the others.
root = ET.parse(os.path.join(out, "junit.xml")).getroot()
for suite in root.iter("testsuite"):
    name = suite.get("name")
    case = suite.find("testcase")
    failure = case.find("failure")
    if name not in expected:
        fail(f"junit: unexpected suite {name}")
    elif (failure is None) != (expected[name]["score"] > 0):
        fail(f"junit: {name}: failure element {'missing' if failure is None else 'present'}")
    elif failure is not None and not re.search(expected[name]["reason"], failure.get("message")):
        fail(f"junit: {name}: failure message {failure.get('message')!r}")

# CSV gradebook: one row per student, the lab's column, total and max.
rows = {r["student"]: r for r in csv.DictReader(open(os.path.join(out, "grades.csv")))}
for name, want in expected.items():
    r = rows.get(name)
    if not r or float(r["lab 04"]) != want["score"] or float(r["total"]) != want["score"] or float(r["max"]) != 10:
        fail(f"csv: {name}: {r}")

html = open(os.path.join(out, "index.html")).read()
for name in expected:
    if f'id="{name}"' not in html:
        fail(f"html: no section for {name}")

# The NOTES.txt of one student is reported as ignored.
if not any("ignored 1 file" in n and "NOTES.txt" in n for n in summary["notes"]):
    fail(f"notes do not report the ignored file: {summary['notes']}")

# Nothing the grader started is still running.
left = []
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        cmd = open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        continue
    if out in cmd and "check-grades.py" not in cmd:
        left.append(f"{pid}: {cmd[:120]}")
if left:
    fail("processes outlived the grader:\n  " + "\n  ".join(left))

for e in errors:
    print("FAIL", e)
print(f"{len(expected)} students, {len(errors)} problem(s)")
sys.exit(1 if errors else 0)
