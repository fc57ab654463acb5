#!/usr/bin/env python3
"""The project's most expensive source lines in a callgrind profile, per request.

    hot_lines.py ANNOTATED.txt REQUESTS [TOP] [PREFIX]

ANNOTATED.txt is the output of `callgrind_annotate --auto=yes --inclusive=yes --context=0
--threshold=100 --include=ROOT FILE`. Lines of files under PREFIX (default `mock-server/src/`)
are ranked by inclusive cost (the line and everything it calls), divided by REQUESTS. A file that
appears twice (relative and absolute path, from inlining) is merged.
"""

import re
import sys
from collections import defaultdict

SECTION = re.compile(r"^-- Auto-annotated source: (.*)$")
LINE_MARK = re.compile(r"^-- line (\d+) -+$")
COST = re.compile(r"^\s*([0-9,]+) \(\s*[0-9.]+%\)\s?(.*)$")
BLANK = re.compile(r"^\s*\.\s?(.*)$")


def main() -> None:
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    path, requests = sys.argv[1], int(sys.argv[2])
    top = int(sys.argv[3]) if len(sys.argv) > 3 else 25
    prefix = sys.argv[4] if len(sys.argv) > 4 else "mock-server/src/"
    costs: dict[tuple[str, int], int] = defaultdict(int)
    text: dict[tuple[str, int], str] = {}
    current, line = None, 0
    with open(path, encoding="utf-8", errors="replace") as f:
        for raw in f:
            raw = raw.rstrip("\n")
            m = SECTION.match(raw)
            if m:
                name = m.group(1)
                at = name.find(prefix)
                current = name[at:] if at >= 0 else None
                line = 1
                continue
            if current is None:
                continue
            m = LINE_MARK.match(raw)
            if m:
                line = int(m.group(1))
                continue
            if raw.startswith("--") or raw.startswith("==="):
                continue
            m = COST.match(raw)
            if m and m.group(2).lstrip().startswith("=>"):
                # A call made by the source line above: its inclusive cost belongs to that line.
                costs[(current, line - 1)] += int(m.group(1).replace(",", ""))
                continue
            if m and m.group(2).startswith("events annotated"):
                continue  # the summary line after the annotated files
            if m:
                costs[(current, line)] += int(m.group(1).replace(",", ""))
                text[(current, line)] = m.group(2).strip()
                line += 1
                continue
            m = BLANK.match(raw)
            if m:
                text.setdefault((current, line), m.group(1).strip())
                line += 1
    ranked = sorted(costs.items(), key=lambda kv: kv[1], reverse=True)[:top]
    print(f"{'instr/req':>10}  where")
    for (file, n), cost in ranked:
        print(f"{cost // requests:>10}  {file}:{n}  {text.get((file, n), '')[:110]}")


if __name__ == "__main__":
    main()
