#!/usr/bin/env python3
"""Import cycles among the source files of a Rust crate.

    python3 conformance/tools/import-cycles.py conformance/src mock-server/src

For every `.rs` file of each `src` folder, the modules it names (`use crate::a::b`, an inline
`crate::a::f()`, `super::x`, `self::x`, and `use child::…` of its own `mod child;`) are resolved
to the file that defines the longest matching module path. A file depends on every file it
names (not on the files its `mod` lines declare: a parent holds its children, it does not use
them). Test modules are included: a cycle is a cycle. Prints every strongly connected set of
files with more than one file (and the edges that close it) and exits 1; prints "no import
cycles" and exits 0 otherwise. Standard library only.
"""

import os
import re
import sys

PATH = re.compile(r"\b(crate|super|self)((?:::[A-Za-z_][A-Za-z0-9_]*)+)")
USE_BLOCK = re.compile(r"\buse\s+([^;]+);", re.S)
MOD_DECL = re.compile(r"^\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+([A-Za-z_][A-Za-z0-9_]*)\s*;", re.M)
COMMENT = re.compile(r"//[^\n]*|/\*.*?\*/", re.S)
STRING = re.compile(r'"(?:\\.|[^"\\])*"')


def module_files(src):
    """Module path (tuple) -> file, for every .rs file under src."""
    modules = {}
    for root, _, files in os.walk(src):
        for name in files:
            if not name.endswith(".rs"):
                continue
            path = os.path.join(root, name)
            rel = os.path.relpath(path, src)[:-3].split(os.sep)
            if rel[-1] in ("lib", "main") and len(rel) == 1:
                modules.setdefault((), path)
                continue
            if rel[-1] == "mod":
                rel = rel[:-1]
            modules[tuple(rel)] = path
    return modules


def expand_use(tree):
    """`a::{b, c::{d, e}}` -> ['a::b', 'a::c::d', 'a::c::e'] (aliases and globs dropped)."""
    tree = re.sub(r"\s+", "", tree)
    out = []

    def walk(prefix, text):
        depth, start, parts = 0, 0, []
        for i, ch in enumerate(text):
            if ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
            elif ch == "," and depth == 0:
                parts.append(text[start:i])
                start = i + 1
        parts.append(text[start:])
        for part in filter(None, parts):
            if "{" in part:
                head, inner = part.split("{", 1)
                walk(prefix + head, inner[: inner.rfind("}")])
            else:
                out.append(prefix + part.split("as")[0] if "as" in part.split("::")[-1] else prefix + part)

    walk("", tree)
    return [p.rstrip(":*").rstrip(":") for p in out]


INLINE_MOD = re.compile(r"\bmod\s+([A-Za-z_][A-Za-z0-9_]*)\s*\{")


def inline_modules(text):
    """(start, end, name) of every inline `mod name { … }` block."""
    blocks = []
    for m in INLINE_MOD.finditer(text):
        depth = 0
        for i in range(m.end() - 1, len(text)):
            if text[i] == "{":
                depth += 1
            elif text[i] == "}":
                depth -= 1
                if depth == 0:
                    blocks.append((m.start(), i, m.group(1)))
                    break
    return blocks


def references(text, own, children):
    """Module paths (tuples, absolute) a file in module `own` names; inside an inline module
    (`mod tests { use super::*; }`), `super` and `self` are relative to that module."""
    text = STRING.sub('""', COMMENT.sub("", text))
    blocks = inline_modules(text)

    def module_at(pos):
        return tuple(own) + tuple(name for start, end, name in blocks if start <= pos <= end)

    found = []
    candidates = [(m.group(0), m.start()) for m in PATH.finditer(text)]
    for m in USE_BLOCK.finditer(text):
        for path in expand_use(m.group(1)):
            head = path.split("::")[0]
            if head in children:
                candidates.append(("self::" + path, m.start()))
    for path, pos in candidates:
        own_here = module_at(pos)
        steps = path.split("::")
        head, rest = steps[0], [s for s in steps[1:] if s]
        if head == "crate":
            base = []
        elif head == "self":
            base = list(own_here)
        else:  # super (possibly repeated)
            base = list(own_here)
            while rest and rest[0] == "super":
                rest = rest[1:]
                base = base[:-1]
            base = base[:-1]
        found.append(tuple(base + rest))
    return found


def root_reexports(text):
    """Names the crate root re-exports (`pub use a::b::{C, D as E}`) -> the module they come from."""
    names = {}
    for block in USE_BLOCK.findall(STRING.sub('""', COMMENT.sub("", text))):
        for path in expand_use(block):
            steps = [s for s in path.split("::") if s]
            if len(steps) >= 2 and steps[0] not in ("std", "core", "alloc"):
                names[steps[-1]] = tuple(steps[:-1])
    return names


def resolve(path, modules, reexports):
    """The file-module a path lands in; a crate-root name re-exported from a module counts as
    that module (the root is a facade, not a dependency)."""
    if path[:1] and path[0] in reexports and path[:1] not in modules:
        path = reexports[path[0]] + path[1:]
    for n in range(len(path), -1, -1):
        if path[:n] in modules:
            return path[:n]
    return ()


def cycles(graph):
    """Tarjan's strongly connected components with more than one node."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def strong(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in list(graph):
        if v not in index:
            strong(v)
    return out


def check(src):
    modules = module_files(src)
    with open(modules[()], encoding="utf-8") as f:
        reexports = root_reexports(f.read())
    graph = {}
    for module, path in modules.items():
        with open(path, encoding="utf-8") as f:
            text = f.read()
        children = set(MOD_DECL.findall(text))
        targets = {resolve(r, modules, reexports) for r in references(text, module, children)}
        graph[path] = sorted(modules[t] for t in targets if modules[t] != path)
    found = cycles(graph)
    for comp in found:
        print(f"cycle in {src}:")
        for v in comp:
            closing = [w for w in graph[v] if w in comp]
            print(f"  {os.path.relpath(v, src)} -> {', '.join(os.path.relpath(w, src) for w in closing)}")
    return found


def main(argv):
    folders = argv[1:] or ["conformance/src"]
    found = [c for src in folders for c in check(src)]
    if not found:
        print(f"no import cycles ({', '.join(folders)})")
        return 0
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
