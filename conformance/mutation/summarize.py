#!/usr/bin/env python3
"""The table of a mutation run: generated, killed, survived, timed out, unviable, and the
survivors (line and mutated code) for review.

    summarize.py mutmut  .mutmut-cache  tests/clients/python/harness.py  path/to/mutmut  harness.py
    summarize.py stryker mutation.json  harness.js
"""

import json
import os
import sqlite3
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from classify import RULES, classify  # noqa: E402


def table(tool, target, counts, survivors, source, lines):
    """`survivors`: (line number, description) of each surviving mutant."""
    generated = sum(counts.values())
    killed = counts["killed"] + counts["timed out"]
    sorted_, _ = classify(source, [n for n, _ in survivors])
    equivalent = sum(len(sorted_[key]) for key, _, _ in RULES)
    by_rule = ", ".join(f"{len(sorted_[key])} {label}" for key, label, _ in RULES if sorted_[key])
    viable = generated - counts["unviable"]
    rate = lambda part, whole: f"{100.0 * part / whole:.1f} %" if whole else "-"
    out = [f"### {tool} on `{target}`", "",
           "| generated | killed | survived | timed out | unviable | killed or timed out | survived, equivalent | killed of the non-equivalent |",
           "| --- | --- | --- | --- | --- | --- | --- | --- |",
           f"| {generated} | {counts['killed']} | {counts['survived']} | {counts['timed out']} | {counts['unviable']} "
           f"| {rate(killed, viable)} | {equivalent} ({by_rule}) | {rate(killed, viable - equivalent)} |", ""]
    out.append("Equivalent survivors, by rule (`classify.py`):")
    out.append("")
    out.extend(f"- {label} ({len(sorted_[key])}): {why}" for key, label, why in RULES)
    out.append("")
    review = [(n, d) for n, d in survivors if n in set(sorted_["review"])]
    if review:
        out.append(f"Survivors to review ({len(review)}):")
        out.append("")
        out.extend(f"- line {n}: {d}" for n, d in review)
        out.append("")
    return "\n".join(out)


def mutmut(cache, target, binary, source):
    db = sqlite3.connect(cache)
    status = {"ok_killed": "killed", "bad_survived": "survived", "bad_timeout": "timed out",
              "ok_suspicious": "killed", "skipped": "unviable", "untested": "unviable"}
    counts = {"killed": 0, "survived": 0, "timed out": 0, "unviable": 0}
    survivors = []
    rows = db.execute("SELECT Mutant.id, Mutant.status, Line.line_number, Line.line FROM Mutant JOIN Line ON Mutant.line = Line.id")
    for mid, st, number, line in rows:
        counts[status.get(st, "unviable")] += 1
        if st == "bad_survived":
            # `mutmut show ID` prints the mutation (one process per mutant: too slow for all).
            survivors.append((number + 1, f"#{mid} `{line.strip()[:100]}`"))
    return table("mutmut", target, counts, survivors, source, None)


def stryker(report, target):
    data = json.load(open(report))
    kinds = {"Killed": "killed", "Survived": "survived", "NoCoverage": "survived", "Timeout": "timed out",
             "CompileError": "unviable", "RuntimeError": "unviable", "Ignored": "unviable"}
    counts = {"killed": 0, "survived": 0, "timed out": 0, "unviable": 0}
    survivors = []
    source = tempfile.NamedTemporaryFile("w", suffix=".js", delete=False)
    for name, f in data["files"].items():
        lines = f["source"].splitlines()
        source.write(f["source"])
        for m in f["mutants"]:
            counts[kinds.get(m["status"], "unviable")] += 1
            if m["status"] in ("Survived", "NoCoverage"):
                line = m["location"]["start"]["line"]
                replacement = m.get("replacement", "").replace("\n", " ")[:80]
                survivors.append((line, f"#{m['id']} `{lines[line - 1].strip()[:90]}` → {m['mutatorName']}: `{replacement}`"))
    source.close()
    return table("StrykerJS", target, counts, survivors, source.name, None)


if __name__ == "__main__":
    tool = sys.argv[1]
    if tool == "mutmut":
        print(mutmut(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]))
    else:
        print(stryker(sys.argv[2], sys.argv[3]))
