"""Finding the `vendor-mock` and `vendor-conformance` programs."""

import os
import shutil
import sys
import sysconfig
from pathlib import Path

#: Environment variable naming each program explicitly.
ENV = {"vendor-mock": "VENDOR_MOCK_BIN", "vendor-conformance": "VENDOR_CONFORMANCE_BIN"}


class BinaryNotFound(RuntimeError):
    """Neither the environment variable, this package's install, PATH nor a workspace build has it."""


def _executable(path):
    return path.is_file() and os.access(path, os.X_OK)


def _workspace_builds(name):
    """`target/{debug,release}/NAME` of the vendor-mock workspace this file sits in (a checkout
    used with `pip install -e`, or tests run from the source tree), honouring CARGO_TARGET_DIR."""
    here = Path(__file__).resolve()
    for folder in here.parents:
        if (folder / "Cargo.toml").is_file() and (folder / "mock-server").is_dir():
            target = Path(os.environ.get("CARGO_TARGET_DIR") or folder / "target")
            if not target.is_absolute():
                target = folder / target
            return [target / "debug" / name, target / "release" / name]
    return []


def find_binary(name="vendor-mock"):
    """The path of `vendor-mock` (or `vendor-conformance`): the environment variable
    (`VENDOR_MOCK_BIN`, `VENDOR_CONFORMANCE_BIN`), then the one `pip install` put beside this
    Python, then PATH, then the workspace's build output. Raises BinaryNotFound saying where it
    looked."""
    looked = []
    variable = ENV.get(name)
    explicit = os.environ.get(variable) if variable else None
    if explicit:
        path = Path(explicit)
        if _executable(path):
            return str(path)
        raise BinaryNotFound(f"{variable}={explicit} is not an executable file")
    looked.append(f"${variable} (unset)")
    scripts = [Path(sysconfig.get_path("scripts")), Path(sys.executable).parent]
    for folder in scripts:
        path = folder / name
        if _executable(path):
            return str(path)
        looked.append(str(path))
    found = shutil.which(name)
    if found:
        return found
    looked.append("PATH")
    builds = _workspace_builds(name)
    candidates = [p for p in builds if _executable(p)]
    if candidates:
        return str(max(candidates, key=lambda p: p.stat().st_mtime))
    looked.extend(str(p) for p in builds)
    if not builds:
        looked.append("a workspace build (this package is not inside the vendor-mock repository)")
    raise BinaryNotFound(
        f"cannot find `{name}`; looked in: {', '.join(looked)}. Install the package with "
        f"`pip install ./python` from the vendor-mock repository (it builds the programs with cargo), "
        f"build them with `cargo build -p mock-server -p conformance`, or set {variable}."
    )
