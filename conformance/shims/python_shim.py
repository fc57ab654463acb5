"""vendor-conformance shim for `--client python:MODULE:FUNCTION` (protocol v1, PROTOCOL.md).

Shipped inside the vendor-conformance binary and written to a temporary folder for each run.
It imports MODULE (a dotted module name importable from the current folder, or a path to a
.py file), looks FUNCTION up in it (dots reach into attributes: `Client.create`), and speaks the
line protocol on the suite's behalf: for every `create_client` it calls

    FUNCTION({"vendor", "base_url", "credentials", "input", "timeout_ms"})

once and answers with the outcome it returns (a dict such as {"kind": "created", "id": 7});
a coroutine function is awaited. An exception becomes an `errored` reply carrying the traceback.

Optional module attributes: VENDORS (the vendors the client supports; default: every vendor
of the suite's specs, argv[3]) and IMPLEMENTATION ({"name", "language", "version"}).

Protocol lines go to the real stdout only: whatever the client prints (print(), logging, C
extensions writing to file descriptor 1) ends up on stderr, which the suite keeps for its
crash reports.
"""

import asyncio
import importlib
import importlib.util
import inspect
import json
import os
import sys
import traceback

PROTOCOL_VERSION = 1


def protocol_stream():
    """The real stdout for protocol lines; fd 1 and sys.stdout then point at stderr."""
    sys.stdout.flush()
    out = os.fdopen(os.dup(1), "w", encoding="utf-8", newline="\n")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return out


def load_module(name):
    if name.endswith(".py") or os.sep in name or "/" in name:
        path = os.path.abspath(name)
        folder = os.path.dirname(path)
        if folder not in sys.path:
            sys.path.insert(0, folder)
        module_name = os.path.splitext(os.path.basename(path))[0]
        spec = importlib.util.spec_from_file_location(module_name, path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load {path} as a Python module")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
        return module
    if "" not in sys.path and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    return importlib.import_module(name)


def find_function(module, dotted):
    target = module
    for part in dotted.split("."):
        target = getattr(target, part)
    if not callable(target):
        raise TypeError(f"{dotted} in {module.__name__} is not callable")
    return target


def implementation(module, module_name, function_name):
    out = {"name": f"{module_name}:{function_name}", "language": "python", "version": ""}
    version = getattr(module, "__version__", None)
    if isinstance(version, str):
        out["version"] = version
    declared = getattr(module, "IMPLEMENTATION", None)
    if isinstance(declared, dict):
        out.update({k: str(v) for k, v in declared.items() if k in ("name", "language", "version")})
    return out


def vendors(module, default):
    declared = getattr(module, "VENDORS", None)
    if isinstance(declared, (list, tuple)) and all(isinstance(v, str) for v in declared):
        return list(declared)
    return default


def errored(seq, message):
    return {"seq": seq, "errored": True, "context": {"message": message}}


def call(function, loop, request):
    argument = {
        "vendor": request.get("vendor"),
        "base_url": request.get("base_url"),
        "credentials": request.get("credentials"),
        "input": request.get("input"),
        "timeout_ms": request.get("timeout_ms"),
    }
    result = function(argument)
    if inspect.isawaitable(result):
        result = loop.run_until_complete(result)
    return result


def answer(function, loop, request):
    seq = request.get("seq")
    try:
        outcome = call(function, loop, request)
    except BaseException as e:  # the client's failure, whatever it is, is this case's answer
        if isinstance(e, (KeyboardInterrupt, SystemExit)):
            raise
        tb = e.__traceback__
        while tb is not None and tb.tb_frame.f_code.co_filename == __file__:
            tb = tb.tb_next  # the shim's own frames say nothing about the client
        trace = "".join(traceback.format_exception(type(e), e, tb))
        sys.stderr.write(trace)
        sys.stderr.flush()
        return errored(seq, f"{type(e).__name__}: {e}\n{trace}")
    if not isinstance(outcome, dict) or not isinstance(outcome.get("kind"), str):
        return errored(
            seq,
            f"the client function returned {outcome!r}; expected an outcome dict such as "
            '{"kind": "created", "id": 42} (see PROTOCOL.md)',
        )
    return {"seq": seq, "outcome": outcome}


def main(argv):
    if len(argv) < 3:
        sys.stderr.write("usage: python_shim.py MODULE FUNCTION [VENDOR,...]\n")
        return 2
    module_name, function_name = argv[1], argv[2]
    default_vendors = [v for v in (argv[3] if len(argv) > 3 else "").split(",") if v]
    out = protocol_stream()
    sys.stdin.reconfigure(encoding="utf-8", errors="strict")
    # Import before answering `start`: an import error is a start-up failure (exit 3) with its
    # traceback in the suite's report.
    try:
        module = load_module(module_name)
        function = find_function(module, function_name)
    except Exception as e:
        traceback.print_exc()
        sys.stderr.write(
            f"python:{module_name}:{function_name}: cannot load the client function: {type(e).__name__}: {e}"
            f" (Python {sys.executable}, folder {os.getcwd()})\n"
        )
        return 1
    loop = asyncio.new_event_loop()

    def emit(obj):
        out.write(json.dumps(obj, separators=(",", ":"), ensure_ascii=False) + "\n")
        out.flush()

    while True:
        line = sys.stdin.readline()
        if not line:
            break
        if not line.strip():
            continue
        try:
            request = json.loads(line)
        except ValueError as e:
            sys.stderr.write(f"python_shim: a request line is not JSON: {e}\n")
            return 2
        cmd = request.get("cmd")
        if cmd == "start":
            emit(
                {
                    "ready": True,
                    "version": PROTOCOL_VERSION,
                    "implementation": implementation(module, module_name, function_name),
                    "vendors": vendors(module, default_vendors),
                }
            )
        elif cmd == "stop":
            break
        elif cmd == "create_client":
            emit(answer(function, loop, request))
        else:
            emit(errored(request.get("seq"), f"unknown cmd {cmd!r}"))
    loop.close()
    return 0


if __name__ == "__main__":
    code = main(sys.argv)
    sys.stderr.flush()
    # The protocol says exit now, even when the client left threads or sockets open.
    os._exit(code)
