"""The conformance suite against a Python function: `run_conformance` (one run, its results)
and `conformance_tests` (a pytest test per property).

The function is the client under test, called once per create with one dict (`vendor`,
`base_url`, `credentials`, `input`, `timeout_ms`) and returning the outcome (`{"kind":
"created", "id": ...}`, see the suite's PROTOCOL.md); `vendor-conformance run --client
python:MODULE:FUNCTION` runs it in a fresh Python process (this interpreter, this sys.path).
"""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from ._binary import find_binary


def client_spec(client):
    """`python:MODULE:FUNCTION` for a function, or the string given (`"pkg.client:create"`,
    `"python:pkg.client:create"`, `"node:client.mjs#create"`, `"exec:..."`)."""
    if isinstance(client, str):
        return client if client.split(":", 1)[0] in ("python", "node", "exec") else "python:" + client
    module = getattr(client, "__module__", None)
    name = getattr(client, "__qualname__", None)
    if not module or not name or "<" in name:
        raise TypeError(f"{client!r} is not a module-level function; pass 'module:function' instead")
    if module == "__main__":
        module = getattr(sys.modules["__main__"], "__file__", None) or module
    return f"python:{module}:{name}"


class ConformanceResult:
    """One run of the suite: its exit code, output and events (the `--report ndjson` log)."""

    def __init__(self, exit_code, output, events, replay_dir):
        self.exit_code = exit_code
        self.output = output
        self.events = events
        self.replay_dir = replay_dir

    @property
    def passed(self):
        """Every property passed (exit 0)."""
        return self.exit_code == 0

    def properties(self):
        """`{property: {vendor: status}}` with status `pass`, `fail` or `skip`; a revision other
        than the default is named `vendor@revision`."""
        out = {}
        for e in self.events:
            if e.get("event") == "property":
                vendor = e["vendor"] if e.get("revision", "default") == "default" else f"{e['vendor']}@{e['revision']}"
                out.setdefault(e["property"], {})[vendor] = e["status"]
        return out

    def failed(self):
        """The ids of the properties that failed on some vendor."""
        return sorted(p for p, by_vendor in self.properties().items() if "fail" in by_vendor.values())

    def failures(self, prop=None):
        """The failures (shrunk counterexamples), of one property or all."""
        return [e for e in self.events if e.get("event") == "failure" and prop in (None, e.get("property"))]

    def notes(self, prop):
        return [e.get("note") for e in self.events if e.get("event") == "property" and e["property"] == prop and e.get("note")]

    def error(self):
        """Why the run stopped early (exit 2, 3 or 4), else None."""
        if self.exit_code in (0, 1):
            return None
        return f"vendor-conformance exited {self.exit_code}:\n{self.output.strip()}"

    def __repr__(self):
        return f"ConformanceResult(exit_code={self.exit_code}, failed={self.failed()})"


def render_failure(failure):
    """A failure event as the suite prints it: property, message, counterexample, requests,
    answers, expected vs actual, the replay command."""
    lines = [
        f"FAIL {failure['property']} [{failure['vendor']}] {failure.get('title', '')}",
        f"  {failure.get('message', '')}",
        f"  scenario: {failure.get('scenario')}",
        "  counterexample:",
        "    " + json.dumps(failure.get("case", {}).get("input"), indent=2).replace("\n", "\n    "),
    ]
    for request, answer in zip(failure.get("requests", []), failure.get("answers", [])):
        lines += ["  request the client sent:", "    " + request.rstrip().replace("\n", "\n    "), f"  answer: {answer}"]
    for reported in failure.get("reported", []):
        lines.append(f"  reported: {json.dumps(reported)}")
    for label in ("expected", "actual"):
        lines += [f"  {label}:", "    " + str(failure.get(label, "")).rstrip().replace("\n", "\n    ")]
    if failure.get("replay_command"):
        lines.append(f"  replay: {failure['replay_command']}")
    return "\n".join(lines)


def _env(extra):
    env = dict(os.environ)
    # The shim runs in this interpreter, with this process's import path.
    env["VENDOR_CONFORMANCE_PYTHON"] = sys.executable
    paths = [p or os.getcwd() for p in sys.path]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(p for p in paths if os.path.isdir(p)))
    env.update({k: str(v) for k, v in (extra or {}).items()})
    return env


def run_conformance(
    client,
    *,
    vendor="all",
    cases=None,
    seed=None,
    revision=None,
    args=(),
    binary=None,
    replay_dir=None,
    env=None,
    timeout=None,
):
    """Runs `vendor-conformance run` against `client` (a function, or `"module:function"`) and
    returns a ConformanceResult. `vendor`: a vendor, a comma-separated list or `all`; `cases`
    per scenario (default: the suite's, 16 or $PROPTEST_CASES); `revision` as `--revision`;
    `args` more flags; failures are saved as replay files in `replay_dir` (default: a new
    temporary folder, kept)."""
    binary = binary or find_binary("vendor-conformance")
    replay_dir = Path(replay_dir or tempfile.mkdtemp(prefix="vendor-conformance-"))
    replay_dir.mkdir(parents=True, exist_ok=True)
    events_path = replay_dir / "events.ndjson"
    command = [binary, "run", "--client", client_spec(client), "--vendor", vendor, "--no-progress"]
    command += ["--report", f"ndjson:{events_path}", "--replay-dir", str(replay_dir)]
    if cases is not None:
        command += ["--cases", str(cases)]
    if seed is not None:
        command += ["--seed", str(seed)]
    if revision is not None:
        command += ["--revision", revision]
    command += list(args)
    done = subprocess.run(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=_env(env),
        text=True,
        encoding="utf-8",
        errors="replace",
        timeout=timeout,
        check=False,
    )
    events = []
    if events_path.exists():
        for line in events_path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                events.append(json.loads(line))
    return ConformanceResult(done.returncode, done.stdout, events, replay_dir)


def property_ids(binary=None):
    """The suite's property ids, in its order."""
    binary = binary or find_binary("vendor-conformance")
    out = subprocess.run([binary, "properties", "--format", "json"], capture_output=True, text=True, check=True)
    return [p["id"] for p in json.loads(out.stdout)]


def conformance_tests(client, **options):
    """A pytest test function, parametrized with one test per property of the suite, that runs
    the suite once against `client` (on the first of its tests) and passes, fails (with the
    shrunk counterexample) or skips each property as the run found it:

        from vendor_mock import conformance_tests
        test_my_client = conformance_tests("my_package.client:create_client", vendor="smartlead", cases=8)

    `options` are run_conformance's."""
    import pytest

    cache = {}

    def result():
        if "result" not in cache:
            cache["result"] = run_conformance(client, **options)
        return cache["result"]

    @pytest.mark.parametrize("conformance_property", property_ids(options.get("binary")))
    def test_conformance(conformance_property):
        run = result()
        if run.error():
            pytest.fail(run.error(), pytrace=False)
        by_vendor = run.properties().get(conformance_property, {})
        failing = sorted(v for v, status in by_vendor.items() if status == "fail")
        if failing:
            details = "\n\n".join(render_failure(f) for f in run.failures(conformance_property))
            pytest.fail(f"{conformance_property} fails on {', '.join(failing)}\n{details}", pytrace=False)
        if not by_vendor or all(status == "skip" for status in by_vendor.values()):
            notes = "; ".join(run.notes(conformance_property)) or "no vendor checked it"
            pytest.skip(f"{conformance_property}: {notes}")

    test_conformance.__doc__ = f"The conformance suite's property against {client_spec(client)}."
    return test_conformance
