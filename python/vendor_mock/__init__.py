"""vendor_mock: the vendor mock (SmartLead, Cellcast, VoiceAIWrapper, AgencyHandy create-client
endpoints) for Python tests, and the conformance suite against a Python function.

- `MockServer`: the mock as a context manager (127.0.0.1, a free port) with `.url`,
  `.journal()`, `.records()`, `.reset()`, `.inject()`.
- The pytest fixture `vendor_mock` (a clean mock per test), installed with the package.
- `run_conformance(function)` and `conformance_tests(function)`: the suite's properties against
  a client function, as one result or as a pytest test per property.
"""

from ._binary import BinaryNotFound, find_binary
from .conformance import ConformanceResult, conformance_tests, run_conformance
from .server import MockError, MockServer

__all__ = [
    "BinaryNotFound",
    "ConformanceResult",
    "MockError",
    "MockServer",
    "conformance_tests",
    "find_binary",
    "run_conformance",
]
__version__ = "0.1.0"
