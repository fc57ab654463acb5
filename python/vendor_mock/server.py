"""`MockServer`: the vendor mock as a Python context manager, driven through its admin API."""

import collections
import json
import os
import re
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

from ._binary import find_binary

_BANNER = re.compile(r"listening on (http://\S+)")


class MockError(RuntimeError):
    """The mock did not start, stopped, or refused an admin request."""


def _flags(options):
    """`serve` flags from keyword arguments: `seed=7` → `--seed 7`, `rate_limits=True` →
    `--rate-limits`, `revision={"agencyhandy": "2026-07"}` → `--revision agencyhandy=2026-07`,
    a list → the flag repeated; None and False are left out."""
    args = []
    for key, value in options.items():
        if value is None or value is False:
            continue
        flag = "--" + key.replace("_", "-")
        if value is True:
            args.append(flag)
            continue
        if isinstance(value, dict):
            value = [f"{k}={v}" for k, v in value.items()]
        for item in value if isinstance(value, (list, tuple)) else [value]:
            args.extend([flag, os.fspath(item) if isinstance(item, os.PathLike) else str(item)])
    return args


class MockServer:
    """The vendor mock on 127.0.0.1 and a free port, for the duration of a `with` block.

    >>> with MockServer(seed=7) as mock:
    ...     client = MyClient(base_url=mock.url)
    ...     mock.inject({"type": "status", "status": 503}, vendor="smartlead", times=1)

    Keyword arguments are `vendor-mock serve` options (see its --help): `seed`, `revision`
    (`"agencyhandy=2026-07"` or `{"agencyhandy": "2026-07"}`), `header_case` (`"strict"` or
    `"lenient"`), `specs`, `credentials`, `seed_data`, `journal_size`, `journal_secrets`,
    `rate_limits`, `admin_token`, `body_limit`, `client_timeout`, `idle_timeout`, `workers`, …
    `binary` names the program (default: `find_binary()`), `start_timeout` how long to wait for
    it to answer (seconds), `env` extra environment variables for it.
    """

    def __init__(self, *, binary=None, start_timeout=10.0, env=None, **options):
        self._binary = binary
        self._start_timeout = start_timeout
        self._env = env or {}
        self._options = options
        self._token = options.get("admin_token")
        self._process = None
        self._output = collections.deque(maxlen=200)
        self._reader = None
        self.url = None

    # -- life cycle ------------------------------------------------------------------------------

    def start(self):
        """Starts the mock and waits until `GET /__admin/health` answers; returns self."""
        if self._process is not None:
            return self
        binary = self._binary or find_binary("vendor-mock")
        options = {k: v for k, v in self._options.items() if k not in ("host", "port")}
        command = [binary, "serve", "--host", "127.0.0.1", "--port", "0", *_flags(options)]
        env = dict(os.environ)
        env.setdefault("VENDOR_MOCK_LOG", "warn")
        env.update({k: str(v) for k, v in self._env.items()})
        self._process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
            text=True,
            encoding="utf-8",
            errors="replace",
        )
        found = threading.Event()
        self._reader = threading.Thread(target=self._read_output, args=(found,), daemon=True)
        self._reader.start()
        deadline = time.monotonic() + self._start_timeout
        while not found.wait(0.005):
            if self._process.poll() is not None or time.monotonic() > deadline:
                self._fail(f"vendor-mock did not start ({' '.join(command)})")
        self._wait_healthy(deadline)
        return self

    def _read_output(self, found):
        for line in self._process.stdout:
            self._output.append(line.rstrip("\n"))
            if self.url is None:
                match = _BANNER.search(line)
                if match:
                    self.url = match.group(1)
                    found.set()

    def _wait_healthy(self, deadline):
        while True:
            try:
                self._admin("GET", "/__admin/health", timeout=1)
                return
            except (OSError, MockError) as e:
                if self._process.poll() is not None or time.monotonic() > deadline:
                    self._fail(f"vendor-mock at {self.url} does not answer its health check ({e})")
                time.sleep(0.005)

    def _fail(self, message):
        self.stop()
        output = "\n".join(self._output)
        raise MockError(f"{message}; its output:\n{output}" if output else message)

    def stop(self):
        """Stops the mock (SIGTERM, then SIGKILL after 5 s). Safe to call twice."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._reader is not None:
            self._reader.join(2)
        if process.stdout is not None:
            process.stdout.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def __del__(self):
        try:
            self.stop()
        except Exception:
            pass

    @property
    def output(self):
        """The mock's last lines of output (start banner, warnings, log lines)."""
        return list(self._output)

    # -- admin API -------------------------------------------------------------------------------

    def _admin(self, method, path, body=None, timeout=10):
        if self.url is None:
            raise MockError("the mock is not running (use `with MockServer() as mock:` or .start())")
        data = None if body is None else json.dumps(body).encode("utf-8")
        request = urllib.request.Request(self.url + path, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if self._token:
            request.add_header("Authorization", f"Bearer {self._token}")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as e:
            raise MockError(f"{method} {path}: {e.code} {e.read().decode('utf-8', 'replace')}") from None
        return json.loads(raw) if raw else None

    def journal(self, vendor=None, **filters):
        """The journal, oldest first: a list of the admin API's entries (`method`, `path`,
        `query`, `headers`, `body`, `status`, `response`, `outcome`, …). Filters as the admin
        API's: `vendor`, `credential`, `status` (`409`, `"4xx"`), `outcome`, `since`, `limit`."""
        query = {k: v for k, v in {"vendor": vendor, **filters}.items() if v is not None}
        suffix = "?" + urllib.parse.urlencode(query) if query else ""
        return self._admin("GET", "/__admin/requests" + suffix)["requests"]

    def records(self, vendor, collection=None):
        """The records that exist for a vendor, in creation order: those of one collection, or
        of all of them (most vendors have one)."""
        by_collection = self._admin("GET", "/__admin/state/" + urllib.parse.quote(vendor, safe=""))["records"]
        if collection is not None:
            return list(by_collection.get(collection, []))
        return [record for records in by_collection.values() for record in records]

    def reset(self, vendor=None, credential=None):
        """Forgets state, journal entries, faults and rate-limit counters: of every vendor, of
        one, or what one credential of a vendor created."""
        body = {k: v for k, v in {"vendor": vendor, "credential": credential}.items() if v is not None}
        self._admin("POST", "/__admin/reset", body)

    def inject(self, effect, vendor=None, times=None, **match):
        """Adds a fault (`effect` as the admin API's JSON, e.g. `{"type": "status", "status": 503}`,
        `{"type": "rate_limited"}`, `{"type": "reset"}`, `{"type": "latency", "ms": 200}`) for a
        vendor's requests (or all), the next `times` of them (or until reset); `credential`,
        `path` and `probability` narrow it further. Returns its id."""
        fault = {"effect": effect}
        fault.update({k: v for k, v in {"vendor": vendor, "times": times, **match}.items() if v is not None})
        return self._admin("POST", "/__admin/faults", fault)["id"]

    def faults(self):
        """The active faults."""
        return self._admin("GET", "/__admin/faults")["faults"]

    def seed_records(self, vendor, records, credentials=None):
        """Creates records through the uniqueness index (all or nothing); returns them as stored."""
        batch = {"records": list(records)}
        if credentials is not None:
            batch["credentials"] = credentials
        return self._admin("POST", "/__admin/state/" + urllib.parse.quote(vendor, safe=""), batch)["created"]

    def __repr__(self):
        return f"MockServer(url={self.url!r})"
