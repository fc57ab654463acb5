"""The Python reference client as a plain function, for `--client python:MODULE:FUNCTION`.

    vendor-conformance run --client python:tests/clients/python/function_client.py:create_client

`create_client` is the reference client of harness.py (same adapters, same HTTP), called by the
suite's shim with one dict (`vendor`, `base_url`, `credentials`, `input`, `timeout_ms`); it
returns the outcome and lets its errors raise (the shim reports them as `errored`).
`mutant_<name>` (dashes as underscores, e.g. `mutant_sl_key_in_header`) is the same client with
one of harness.py's mutants turned on.
"""

import harness

VENDORS = harness.VENDORS
IMPLEMENTATION = {**harness.IMPLEMENTATION, "name": "vendor-mock-reference-python-function"}


def create_client(request):
    answer = harness.create_client(request)
    if "outcome" not in answer:
        raise harness.HarnessError(answer.get("message", "the reference client gave no outcome"))
    return answer["outcome"]


def _mutant(name):
    def create_client_with_bug(request):
        harness.MUTANT = name
        return create_client(request)

    create_client_with_bug.__doc__ = harness.MUTANTS[name]
    return create_client_with_bug


for _name in harness.MUTANTS:
    globals()["mutant_" + _name.replace("-", "_")] = _mutant(_name)
