"""Runs `porter scan`, picklescan and modelscan over fixtures/security/ and prints the
comparison table of docs/security.md.

    python3 -m venv .venv-scanners && .venv-scanners/bin/pip install picklescan==1.0.5 modelscan==0.8.8
    swift build --product porter
    .venv-scanners/bin/python scripts/security/compare_scanners.py .build/debug/porter

A file counts as flagged by picklescan or modelscan when the tool reports an issue (exit 1;
a file it skips or cannot scan is not flagged); by Porter when its verdict is not "safe"
(exit 4 or 5).
"""
import collections
import json
import os
import subprocess
import sys

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
corpus = os.path.join(root, "fixtures", "security")
porter = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, ".build", "debug", "porter")
bindir = os.path.dirname(sys.executable)
record = json.load(open(os.path.join(corpus, "generator.json")))


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    return p.returncode, p.stdout + p.stderr


def porter_verdict(path):
    rc, out = run([porter, "scan", path])
    return {0: "safe", 4: "review", 5: "dangerous"}.get(rc, f"error {rc}")


def picklescan(path):
    rc, out = run([os.path.join(bindir, "picklescan"), "--path", path])
    return rc == 1  # 1: infected; 0: clean; 2: could not scan


def modelscan(path):
    rc, out = run([os.path.join(bindir, "modelscan"), "-p", path])
    return rc == 1  # 1: issues found; 0: none (or the file was skipped)


rows = []
for kind in ("hostile", "benign"):
    for rel, info in sorted(record[kind].items()):
        path = os.path.join(corpus, rel)
        rows.append({"file": rel, "kind": kind, "group": info.get("container", "benign") if kind == "hostile" else "benign",
                     "porter": porter_verdict(path), "picklescan": picklescan(path), "modelscan": modelscan(path)})

groups = collections.OrderedDict()
for r in rows:
    key = ("hostile, " + r["group"]) if r["kind"] == "hostile" else "benign controls"
    groups.setdefault(key, []).append(r)

print("| files | count | Porter not safe | Porter dangerous | picklescan flags | modelscan flags |")
print("|---|---|---|---|---|---|")
for key, rs in groups.items():
    print(f"| {key} | {len(rs)} | {sum(r['porter'] != 'safe' for r in rs)} | {sum(r['porter'] == 'dangerous' for r in rs)} "
          f"| {sum(r['picklescan'] for r in rs)} | {sum(r['modelscan'] for r in rs)} |")

missed = [r for r in rows if r["kind"] == "hostile" and r["porter"] == "safe"]
behind = [r for r in rows if r["kind"] == "hostile" and (r["picklescan"] or r["modelscan"]) and r["porter"] == "safe"]
false_alarms = [r for r in rows if r["kind"] == "benign" and r["porter"] != "safe"]
print()
print(f"hostile files Porter calls safe: {len(missed)}; flagged by a peer but not by Porter: {len(behind)}; "
      f"benign controls Porter does not call safe: {len(false_alarms)}")
for r in missed + false_alarms:
    print("  ", r)
print()
print("hostile files both peers call clean:", sum(1 for r in rows if r["kind"] == "hostile" and not r["picklescan"] and not r["modelscan"]))
print("benign controls flagged by picklescan:", sum(r["picklescan"] for r in rows if r["kind"] == "benign"),
      "by modelscan:", sum(r["modelscan"] for r in rows if r["kind"] == "benign"))
json.dump(rows, open(os.path.join(os.environ.get("TMPDIR", "/tmp"), "porter-scanner-comparison.json"), "w"), indent=1)
sys.exit(1 if missed or behind or false_alarms else 0)
