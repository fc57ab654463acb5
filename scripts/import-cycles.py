#!/usr/bin/env python3
"""Finds import cycles among a crate's source files.

Each file is a node; `use crate::a::b` (and `crate::a::b::` paths anywhere in the code) from a
file is an edge to the file that defines module `a::b` (or `a`). Prints every cycle (strongly
connected component with more than one file) and exits 1 if there is one.

    python3 scripts/import-cycles.py mock-server/src conformance/src tests/src
"""
import pathlib
import re
import sys


def module_of(root: pathlib.Path, path: pathlib.Path) -> tuple:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] in ("mod", "lib", "main"):
        parts = parts[:-1]
    return tuple(parts)


def edges(root: pathlib.Path):
    files = {module_of(root, p): p for p in root.rglob("*.rs")}
    graph = {m: set() for m in files}
    for module, path in files.items():
        text = path.read_text()
        # Test modules may reach anywhere; only the code the crate ships counts.
        text = re.split(r"#\[cfg\(test\)\]\s*mod tests", text)[0]
        targets = set(re.findall(r"crate::((?:[a-z_][a-z0-9_]*::)*[a-z_][a-z0-9_]*)", text))
        for group in re.findall(r"crate::\{([^}]*)\}", text):
            targets |= {t.strip().split("::")[0] for t in group.split(",") if t.strip()}
        for super_path in re.findall(r"\bsuper::((?:[a-z_][a-z0-9_]*::)*[a-z_][a-z0-9_]*)", text):
            targets.add("::".join(module[:-1] + tuple(super_path.split("::"))))
        for target in targets:
            parts = tuple(target.split("::"))
            while parts and parts not in files:
                parts = parts[:-1]
            if parts and parts != module and parts != ():
                graph[module].add(parts)
    return graph


def cycles(graph):
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(component)

    sys.setrecursionlimit(10000)
    for v in graph:
        if v not in index:
            visit(v)
    return out


def main(roots):
    found = False
    for root in map(pathlib.Path, roots):
        for component in cycles(edges(root)):
            found = True
            names = sorted("::".join(m) or "(crate root)" for m in component)
            print(f"{root}: import cycle among {', '.join(names)}")
    if not found:
        print(f"no import cycles in {', '.join(roots)}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["mock-server/src", "conformance/src", "tests/src"]))
