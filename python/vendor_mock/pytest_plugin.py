"""pytest plugin (registered through the `pytest11` entry point): the `vendor_mock` fixture.

    def test_duplicate(vendor_mock):
        client = MyClient(base_url=vendor_mock.url, api_key="k")
        client.create(email="a@example.com")
        ...
        assert [e["status"] for e in vendor_mock.journal("smartlead")] == [200, 409]

One mock serves the whole session (started on first use, stopped at the end); each test gets it
reset (state, journal, faults, rate-limit counters), which costs one admin request, a few
milliseconds. `@pytest.mark.vendor_mock(seed=7, revision="agencyhandy=2026-07")` gives a test a
mock started with those serve options (one per distinct set of options, shared the same way).
"""

import pytest

from .server import MockServer


class _Servers:
    """The session's mocks, one per set of serve options."""

    def __init__(self):
        self._servers = {}

    def get(self, options):
        key = repr(sorted(options.items()))
        server = self._servers.get(key)
        if server is None:
            server = MockServer(**options).start()
            self._servers[key] = server
        return server

    def stop(self):
        for server in self._servers.values():
            server.stop()
        self._servers.clear()


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "vendor_mock(**options): serve options (seed, revision, header_case, ...) for the vendor_mock fixture",
    )


@pytest.fixture(scope="session")
def vendor_mock_servers():
    """The session's mocks (see the `vendor_mock` fixture)."""
    servers = _Servers()
    yield servers
    servers.stop()


@pytest.fixture
def vendor_mock(request, vendor_mock_servers):
    """A running vendor mock (`vendor_mock.MockServer`), clean for this test: no records, an
    empty journal, no faults."""
    marker = request.node.get_closest_marker("vendor_mock")
    options = dict(marker.kwargs) if marker else {}
    server = vendor_mock_servers.get(options)
    server.reset()
    return server
