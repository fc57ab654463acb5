#!/usr/bin/env python3
"""Sorts a mutation run's survivors by why they survive, from the mutated line and the block
it sits in (rules below, the same for the Python and the Node harness):

- planted: code that runs only under `--mutant NAME` (the MUTANTS table, `MUTANT` checks and
  the blocks they guard): the correct client never runs it, so changing it changes nothing;
- diagnostics: what the protocol leaves to the harness and the suite does not judge: stderr
  logs, the `errored` messages, the implementation name, the optional `retry_after` and
  `fields` extras, command-line options of the harness itself;
- review: everything else, listed line by line for a person to explain or to kill with a better
  suite.

    classify.py harness.py SURVIVOR_LINES...
"""

import re
import sys

DIAGNOSTIC = re.compile(
    r"\blog\(|print\(|stderr|IMPLEMENTATION|implementation|retry_after|Retry-After|retry-after|retryAfter"
    r"|fields|fieldName|HarnessError|errored|argv|--mutant|--list-mutants|list_mutants|args\.|parser\."
    r"|usage|PROTOCOL_VERSION|version"
)


def blocks(lines, start_pattern):
    """Line numbers (1-based) of the lines matching `start_pattern` and of the blocks they open."""
    marked = set()
    for i, line in enumerate(lines):
        if not re.search(start_pattern, line):
            continue
        marked.add(i + 1)
        if not line.rstrip().endswith((":", "{")):
            continue
        indent = len(line) - len(line.lstrip())
        for j in range(i + 1, len(lines)):
            nxt = lines[j]
            if nxt.strip() and len(nxt) - len(nxt.lstrip()) <= indent:
                break
            marked.add(j + 1)
    return marked


def classify(source, numbers):
    lines = open(source).read().splitlines()
    planted = blocks(lines, r"\bMUTANTS?\b")
    diagnostic = blocks(lines, r"def retry_after_seconds|function retryAfterSeconds|def log|function log|def main|function parseArgs|function main")
    out = {"planted": [], "diagnostics": [], "review": []}
    for n in numbers:
        text = lines[n - 1]
        if n in planted:
            out["planted"].append(n)
        elif n in diagnostic or DIAGNOSTIC.search(text):
            out["diagnostics"].append(n)
        else:
            out["review"].append(n)
    return out, lines


if __name__ == "__main__":
    result, lines = classify(sys.argv[1], [int(n) for n in sys.argv[2:]])
    for reason, numbers in result.items():
        print(f"{reason}: {len(numbers)}")
    for n in sorted(set(result["review"])):
        print(f"  review line {n}: {lines[n - 1].strip()[:100]}")
