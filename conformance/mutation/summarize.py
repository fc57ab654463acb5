#!/usr/bin/env python3
"""The table of a mutation run: generated, killed, survived, timed out, unviable, and the
survivors (line and mutated code) for review.

    summarize.py mutmut  .mutmut-cache  harness.py  path/to/mutmut
    summarize.py stryker mutation.json  harness.js
"""

import json
import sqlite3
import subprocess
import sys


def table(tool, target, counts, survivors):
    generated = sum(counts.values())
    non_equivalent = generated - counts["unviable"]
    killed = counts["killed"] + counts["timed out"]
    score = 100.0 * killed / non_equivalent if non_equivalent else 0.0
    out = [f"### {tool} on `{target}`", "", "| generated | killed | survived | timed out | unviable | killed or timed out |",
           "| --- | --- | --- | --- | --- | --- |",
           f"| {generated} | {counts['killed']} | {counts['survived']} | {counts['timed out']} | {counts['unviable']} | {score:.1f} % |", ""]
    if survivors:
        out.append("Survivors:")
        out.append("")
        out.extend(f"- {s}" for s in survivors)
        out.append("")
    return "\n".join(out)


def mutmut(cache, target, binary):
    db = sqlite3.connect(cache)
    status = {"ok_killed": "killed", "bad_survived": "survived", "bad_timeout": "timed out",
              "ok_suspicious": "killed", "skipped": "unviable", "untested": "unviable"}
    counts = {"killed": 0, "survived": 0, "timed out": 0, "unviable": 0}
    survivors = []
    rows = db.execute("SELECT Mutant.id, Mutant.status, Line.line_number, Line.line FROM Mutant JOIN Line ON Mutant.line = Line.id")
    for mid, st, number, line in rows:
        counts[status.get(st, "unviable")] += 1
        if st == "bad_survived":
            diff = subprocess.run([binary, "show", str(mid)], capture_output=True, text=True).stdout
            changed = [l[1:].strip() for l in diff.splitlines() if l.startswith("+") and not l.startswith("+++")]
            survivors.append(f"#{mid} line {number + 1}: `{line.strip()}` → `{' / '.join(changed)}`")
    return table("mutmut", target, counts, survivors)


def stryker(report, target):
    data = json.load(open(report))
    kinds = {"Killed": "killed", "Survived": "survived", "NoCoverage": "survived", "Timeout": "timed out",
             "CompileError": "unviable", "RuntimeError": "unviable", "Ignored": "unviable"}
    counts = {"killed": 0, "survived": 0, "timed out": 0, "unviable": 0}
    survivors = []
    for name, f in data["files"].items():
        lines = f["source"].splitlines()
        for m in f["mutants"]:
            counts[kinds.get(m["status"], "unviable")] += 1
            if m["status"] in ("Survived", "NoCoverage"):
                line = m["location"]["start"]["line"]
                survivors.append(f"#{m['id']} line {line}: `{lines[line - 1].strip()}` → {m['mutatorName']}: `{m.get('replacement', '')}`")
    return table("StrykerJS", target, counts, survivors)


if __name__ == "__main__":
    tool = sys.argv[1]
    if tool == "mutmut":
        print(mutmut(sys.argv[2], sys.argv[3], sys.argv[4]))
    else:
        print(stryker(sys.argv[2], sys.argv[3]))
