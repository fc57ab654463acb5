#!/usr/bin/env python3
"""Self-test of the reference harnesses and their mutants against a live vendor-mock.

    python3 tests/clients/python/selftest.py --mock-bin target/debug/vendor-mock   # starts a mock on a free port
    python3 tests/clients/python/selftest.py --mock-url http://127.0.0.1:4011      # uses a running one

(`tests/clients/selftest.sh` builds the mock and runs this.)

Between the harness and the mock sits a small recording proxy (standard library only): it keeps
every request exactly as sent on the wire (header names verbatim, body bytes) and the answer, and
it can play a fault instead of forwarding (429, 500, 503, reset, empty reply, truncated body,
non-JSON body, an unexpected JSON body, a slow answer): a base_url of `http://PROXY/fault/NAME`
selects fault NAME; `http://PROXY` forwards to the mock. This stands in for the mock's fault API
until that is reachable over HTTP.

For every case the test checks, independently of the harnesses' code:
- request side (from the proxy's record): exactly one request, no retry after a 4xx, method/path/
  query, auth header names (case-exact where the spec says so) and values, the credential nowhere
  else, Content-Type, a JSON body equal to the input (no dropped fields, no added nulls);
- response side: the outcome the harness reported equals the outcome a careful client derives from
  the answer the mock (or the fault) gave, and, for the correct harnesses, the mock answered what
  the case intends (so the case really exercises success, duplicate, 401, ...).
The correct harnesses must pass every property on every case; each mutant must fail the property
it targets (tests/clients/MUTANTS.md), and the report shows the wire-level evidence.
"""

import argparse
import json
import os
import queue
import random
import re
import socket
import socketserver
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
CLIENTS = os.path.dirname(HERE)
ROOT = os.path.dirname(os.path.dirname(CLIENTS))

HARNESSES = {
    "python": [sys.executable, os.path.join(CLIENTS, "python", "harness.py")],
    "node": ["node", os.path.join(CLIENTS, "node", "harness.js")],
}

VENDOR_PATH = {
    "smartlead": "/api/v1/client/save",
    "cellcast": "/api/v2/subClient/user",
    "voiceaiwrapper": "/api/v2/clients/create",
    "agencyhandy": "/members/bulk-client",
}

# Which mutant targets which property, and the cases that show it (vendor, case name).
# Must agree with tests/clients/MUTANTS.md (checked below).
MUTANTS = {
    "python": {
        "ah-companyid-lowercase": ("request.auth-header-case", [("agencyhandy", "success")]),
        "cc-drop-is-sharing-credit": ("request.body-fields-carried", [("cellcast", "success")]),
        "cc-duplicate-as-created": ("response.duplicate", [("cellcast", "duplicate")]),
        "sl-key-in-header": ("request.credential-placement", [("smartlead", "success")]),
        "sl-drop-logo-url": ("request.body-fields-carried", [("smartlead", "success")]),
        "vw-no-id": ("response.created-id", [("voiceaiwrapper", "success")]),
        "any-retry-401": ("request.no-retry-after-4xx", [(v, "unauthorized") for v in VENDOR_PATH]),
        "any-500-as-created": ("response.server-error", [(v, "fault-500") for v in VENDOR_PATH]),
        "any-4xx-as-validation": ("response.unexpected-response", [(v, "fault-404") for v in VENDOR_PATH]),
        "ah-type-as-field": ("response.validation-error", [("agencyhandy", "validation")]),
        "vw-403-as-unexpected": ("response.unauthorized", [("voiceaiwrapper", "forbidden")]),
    },
    "node": {
        "sl-null-optionals": ("request.optional-not-null", [("smartlead", "success-minimal")]),
        "sl-wrong-path": ("request.method-path", [("smartlead", "success")]),
        "cc-no-content-type": ("request.content-type", [("cellcast", "success")]),
        "cc-form-encoded": ("request.content-type", [("cellcast", "success")]),
        "cc-drop-notes": ("request.body-fields-carried", [("cellcast", "success")]),
        "vw-duplicate-as-validation": ("response.duplicate", [("voiceaiwrapper", "duplicate")]),
        "ah-all-created": ("response.bulk-entries", [("agencyhandy", "bulk-duplicate")]),
        "any-429-as-server-error": ("response.rate-limited", [(v, "fault-429") for v in VENDOR_PATH]),
        "sl-any-200-as-created": ("response.unexpected-response", [("smartlead", "fault-unexpected-json")]),
        "any-ready-drops-agencyhandy": ("protocol.ready-vendors", [("agencyhandy", "success")]),
    },
}

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def say(*parts):
    print(*parts, flush=True)


# --------------------------------------------------------------------------------------------
# The recording proxy


class Proxy:
    """Records each request verbatim, then forwards it to the mock or plays a fault."""

    def __init__(self, upstream):
        url = urllib.parse.urlsplit(upstream)
        self.upstream = (url.hostname, url.port)
        self.records = []
        self.lock = threading.Lock()
        proxy = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                proxy.serve(self.request)

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, fault=None):
        return f"http://127.0.0.1:{self.port}" + (f"/fault/{fault}" if fault else "")

    def mark(self):
        with self.lock:
            return len(self.records)

    def since(self, mark):
        with self.lock:
            return list(self.records[mark:])

    @staticmethod
    def read_message(sock):
        """Reads one HTTP/1.1 message (head + Content-Length body). Returns (head bytes, body bytes)."""
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed before the head ended")
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
            if name.strip().lower() == b"transfer-encoding":
                raise ConnectionError("chunked bodies are not supported by the test proxy")
        while len(rest) < length:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed before the body ended")
            rest += chunk
        return head, rest[:length]

    def serve(self, conn):
        conn.settimeout(30)
        try:
            head, body = self.read_message(conn)
        except (OSError, ValueError) as e:
            say(f"  proxy: could not read a request: {e}")
            return
        lines = head.decode("latin-1").split("\r\n")
        method, target, version = (lines[0].split(" ") + ["", ""])[:3]
        headers = []
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers.append((name, value.strip()))
        url = urllib.parse.urlsplit(target)
        path, fault = url.path, None
        match = re.match(r"^/fault/([a-z0-9-]+)(/.*)$", path)
        if match:
            fault, path = match.group(1), match.group(2)
        record = {
            "method": method, "path": path, "query": url.query, "version": version, "headers": headers,
            "body": body, "fault": fault, "status": None, "answer": None, "answer_headers": [],
        }
        with self.lock:
            self.records.append(record)
        try:
            if fault:
                self.play(conn, fault, record)
            else:
                self.forward(conn, head, body, record)
        except OSError as e:
            say(f"  proxy: {e}")
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def forward(self, conn, head, body, record):
        with socket.create_connection(self.upstream, timeout=30) as up:
            up.sendall(head + b"\r\n\r\n" + body)
            rhead, rbody = self.read_message(up)
        status_line, *hlines = rhead.decode("latin-1").split("\r\n")
        record["status"] = int(status_line.split(" ")[1])
        record["answer_headers"] = [(n, v.strip()) for n, _, v in (h.partition(":") for h in hlines)]
        record["answer"] = rbody
        conn.sendall(rhead + b"\r\n\r\n" + rbody)

    @staticmethod
    def respond(conn, status, reason, body, content_type="application/json", extra=(), length=None):
        out = f"HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\n"
        for name, value in extra:
            out += f"{name}: {value}\r\n"
        out += f"Content-Length: {len(body) if length is None else length}\r\nConnection: close\r\n\r\n"
        conn.sendall(out.encode("latin-1") + body)

    def play(self, conn, fault, record):
        record["status"] = {"429": 429, "429-body": 429, "500": 500, "503": 503, "404": 404, "garbage": 200,
                            "unexpected-json": 200}.get(fault)
        if fault == "429":
            body = b'{"error":{"code":"RATE_LIMIT_EXCEEDED","message":"Too many requests. Please retry after 7 seconds.","retry_after":7}}'
            self.respond(conn, 429, "Too Many Requests", body, extra=[("Retry-After", "7")])
        elif fault == "429-body":  # no Retry-After header: the seconds are in the (SmartLead-style) body
            body = b'{"error":{"code":"RATE_LIMIT_EXCEEDED","message":"Too many requests. Please retry after 9 seconds.","retry_after":9}}'
            self.respond(conn, 429, "Too Many Requests", body)
        elif fault == "500":
            self.respond(conn, 500, "Internal Server Error", b'{"message":"Internal server error"}')
        elif fault == "503":
            self.respond(conn, 503, "Service Unavailable", b"<html>upstream down</html>", content_type="text/html")
        elif fault == "404":  # a proxy's page: a status no vendor answers a create with, not JSON
            self.respond(conn, 404, "Not Found", b"<html><body>404 Not Found</body></html>", content_type="text/html")
        elif fault == "garbage":
            self.respond(conn, 200, "OK", b"<html><body>Welcome!</body></html>", content_type="text/html")
        elif fault == "unexpected-json":
            self.respond(conn, 200, "OK", b'{"unexpected":true}')
        elif fault == "truncated":
            self.respond(conn, 200, "OK", b'{"ok":true,"data":{"id":3', length=120)
        elif fault == "reset":
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        elif fault == "empty":
            pass  # close without a byte
        elif fault == "slow":
            time.sleep(3)
            self.respond(conn, 200, "OK", b"{}")
        else:
            raise OSError(f"unknown fault {fault}")
        record["answer"] = b""


# --------------------------------------------------------------------------------------------
# Driving a harness


class Harness:
    def __init__(self, language, mutant=None):
        cmd = list(HARNESSES[language]) + (["--mutant", mutant] if mutant else [])
        self.label = f"{language}" + (f" --mutant {mutant}" if mutant else "")
        self.stderr = open(os.devnull, "w") if not os.environ.get("SELFTEST_HARNESS_STDERR") else None
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr,
                                     text=True, bufsize=1, cwd=ROOT)
        self.lines = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()
        self.seq = 0
        ready = self.ask({"cmd": "start", "version": 1})
        expect = {"ready": True, "version": 1}
        # Which vendors `ready` lists is judged as protocol.ready-vendors (see ready_failures).
        self.vendors = ready.get("vendors")
        if any(ready.get(k) != v for k, v in expect.items()) or not isinstance(ready.get("implementation"), dict):
            raise AssertionError(f"{self.label}: bad start answer {ready}")
        impl = ready["implementation"]
        if not all(isinstance(impl.get(k), str) for k in ("name", "language", "version")):
            raise AssertionError(f"{self.label}: bad implementation {impl}")

    def _pump(self):
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def ask(self, request, timeout=30):
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"{self.label}: no answer within {timeout}s to {request.get('cmd')}") from None
        if line is None:
            raise AssertionError(f"{self.label}: stdout closed (exit {self.proc.wait()})")
        try:
            return json.loads(line)
        except ValueError:
            raise AssertionError(f"{self.label}: non-protocol line on stdout: {line!r}") from None

    def create(self, vendor, base_url, credentials, input_, timeout_ms=None):
        self.seq += 1
        request = {"cmd": "create_client", "seq": self.seq, "vendor": vendor, "base_url": base_url,
                   "credentials": credentials, "input": input_}
        if timeout_ms:
            request["timeout_ms"] = timeout_ms
        answer = self.ask(request)
        if answer.get("seq") != self.seq:
            raise AssertionError(f"{self.label}: answer seq {answer.get('seq')} for request seq {self.seq}")
        return answer

    def stop(self):
        self.proc.stdin.write(json.dumps({"cmd": "stop"}) + "\n")
        self.proc.stdin.flush()
        try:
            code = self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise AssertionError(f"{self.label}: did not exit after stop") from None
        extra = self.lines.get(timeout=5)
        if extra is not None:
            raise AssertionError(f"{self.label}: wrote {extra!r} after stop")
        if code != 0:
            raise AssertionError(f"{self.label}: exit {code} after stop")
        if self.stderr:
            self.stderr.close()


# --------------------------------------------------------------------------------------------
# The cases


class Cases:
    """Inputs and credentials, fresh per run (the mock keeps state: e-mails are made unique)."""

    def __init__(self, mock_url):
        self.mock_url = mock_url
        self.n = 0
        self.run = f"{os.getpid()}{int(time.time()) % 100000}"

    def uid(self):
        self.n += 1
        return f"{self.run}x{self.n}"

    def company_of(self, api_key):
        req = urllib.request.Request(self.mock_url + "/accounts/companies", headers={"x-api-key": api_key})
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.load(r)["companies"][0]["_id"]

    def credentials(self, vendor, bad=False):
        u = self.uid()
        prefix = "expired" if bad else "good"
        if vendor == "smartlead":
            return {"api_key": f"{prefix}-slkey-{u}"}
        if vendor in ("cellcast", "voiceaiwrapper"):
            return {"token": f"{prefix}-tok-{u}"}
        key = f"{prefix}-ahkey-{u}"
        good = f"good-ahkey-{u}"
        return {"api_key": key, "company_id": self.company_of(good)}

    def mobile(self):
        return "04" + f"{random.randrange(10**8):08d}"  # unique across runs against one mock

    def valid(self, vendor, full=True):
        u = self.uid()
        if vendor == "smartlead":
            body = {"email": f"sl{u}@example.com", "name": f"Acme {u}"}
            if full:
                body.update({"password": "S3cret!", "logo": "aGVsbG8=", "logo_url": "https://example.com/logo.png",
                             "permission": ["campaigns", "email_accounts", "leads"], "is_credit_assigned": True,
                             "email_credits": 10000, "lead_credits": 5000})
            return body
        if vendor == "cellcast":
            body = {"name": f"Sub {u}", "email": f"cc{u}@example.com", "password": "Password", "companyName": "Cellcast",
                    "industry": "Telecommunication", "isSharingCredit": True}
            if full:
                body.update({"mobile": self.mobile(), "website": "www.example.com", "notes": "Sub Client Notes"})
            return body
        if vendor == "voiceaiwrapper":
            body = {"client_users": [{"email": f"vw{u}@example.com", "password": "SecureP@ss123"}],
                    "client_asset_group": {"tenant_voice_provider_id": "VGVuYW50Vm9pY2VQcm92aWRlcjoxMjM="}}
            if full:
                body["client_asset_group"]["name"] = "Default Group"
                body.update({"client_details": {"name": f"Acme {u}", "email": f"acme{u}@example.com"},
                             "billing_provider": {"type": "STRIPE", "selected_product": {"product_id": "p", "price_ids": ["x"]}},
                             "client_access": {"assistant": "view_only", "campaign": "view_and_add"},
                             "assigned_resources": {"assistant": ["asst_abc123"], "vapi_workflow": [], "campaign": ["Vm9pY2VDYW1wYWlnbjoxMjM="]}})
            return body
        entry = {"firstName": "John", "lastName": f"Doe{u}", "email": f"ah{u}@example.com", "isConvertedClient": False}
        if full:
            entry.update({"status": "Active", "contactNo": "1234567890", "source": "website", "positionInBoard": 2})
        return [entry]

    def invalid(self, vendor):
        body = self.valid(vendor, full=False)
        if vendor == "smartlead":
            body["email"] = "not-an-email"          # 422
        elif vendor == "cellcast":
            del body["isSharingCredit"]             # 400, error.isSharingCredit
        elif vendor == "voiceaiwrapper":
            body["client_asset_group"] = {}          # 400, errors.client_asset_group.tenant_voice_provider_id
        else:
            del body[0]["isConvertedClient"]        # 400, fieldName [0].isConvertedClient
        return body


# What each case is meant to make the mock answer (checked for the correct harnesses only).
INTENT = {
    "success": "created", "success-minimal": "created", "duplicate": "duplicate", "unauthorized": "unauthorized",
    "validation": "validation_error", "bulk-duplicate": "bulk", "forbidden": "unauthorized",
    "fault-429": "rate_limited", "fault-429-body": "rate_limited", "fault-500": "server_error", "fault-503": "server_error",
    "fault-reset": "transport_error", "fault-empty": "transport_error", "fault-truncated": "transport_error",
    "fault-slow": "transport_error", "fault-garbage": "unexpected_response", "fault-unexpected-json": "unexpected_response",
    "fault-404": "unexpected_response", "closed-port": "transport_error",
}


def case_names(vendor):
    names = ["success", "success-minimal", "duplicate", "unauthorized", "validation"]
    if vendor == "agencyhandy":
        names += ["bulk-duplicate", "forbidden"]
    if vendor == "voiceaiwrapper":
        names += ["forbidden"]  # a token with the `forbidden` prefix: 403
    names += [n for n in INTENT if n.startswith("fault-")] + ["closed-port"]
    return names


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def run_case(h, proxy, cases, vendor, name):
    """Runs one case (possibly several creates). Returns a list of exchanges (one per create)."""
    creds = cases.credentials(vendor, bad=(name == "unauthorized"))
    base, timeout_ms = proxy.url(), None
    steps = []
    if name == "success":
        steps = [cases.valid(vendor)]
    elif name == "success-minimal":
        steps = [cases.valid(vendor, full=False)]
    elif name == "duplicate":
        first = cases.valid(vendor)
        second = json.loads(json.dumps(first))
        if vendor == "cellcast":
            second["mobile"] = cases.mobile()       # only the e-mail clashes
        steps = [first, second]
    elif name == "unauthorized":
        steps = [cases.valid(vendor)]
    elif name == "validation":
        steps = [cases.invalid(vendor)]
    elif name == "bulk-duplicate":
        a, b, c = cases.valid(vendor)[0], cases.valid(vendor)[0], cases.valid(vendor, full=False)[0]
        steps = [[a], [b, dict(a, firstName="Again"), c]]  # the second request's entry 1 is a duplicate
    elif name == "forbidden" and vendor == "voiceaiwrapper":
        creds["token"] = "forbidden-" + creds["token"]
        steps = [cases.valid(vendor)]
    elif name == "forbidden":
        creds["company_id"] = "0" * 24
        steps = [cases.valid(vendor)]
    elif name.startswith("fault-"):
        base = proxy.url(name[len("fault-"):])
        timeout_ms = 1000 if name == "fault-slow" else None
        steps = [cases.valid(vendor)]
    elif name == "closed-port":
        base = f"http://127.0.0.1:{closed_port()}"
        steps = [cases.valid(vendor)]
    out = []
    for input_ in steps:
        mark = proxy.mark()
        started = time.monotonic()
        answer = h.create(vendor, base, creds, input_, timeout_ms)
        elapsed = time.monotonic() - started
        time.sleep(0.05 if name == "fault-slow" else 0)
        out.append({"vendor": vendor, "case": name, "credentials": creds, "input": input_, "answer": answer,
                    "requests": proxy.since(mark), "elapsed": elapsed, "closed_port": name == "closed-port"})
    return out


# --------------------------------------------------------------------------------------------
# The oracle: what a careful client reports for an answer (written apart from the harnesses)


def parse_json(raw):
    try:
        return json.loads(raw.decode("utf-8")) if raw else None
    except (UnicodeDecodeError, ValueError):
        return None


def expected_outcome(ex):
    if ex["closed_port"]:
        return {"kind": "transport_error"}
    record = ex["requests"][-1]
    fault = record["fault"]
    if fault in ("reset", "empty", "truncated", "slow"):
        return {"kind": "transport_error"}
    if fault in ("garbage", "unexpected-json"):
        return {"kind": "unexpected_response"}
    status, body = record["status"], parse_json(record["answer"])
    if status == 429:
        return {"kind": "rate_limited", "retry_after": 7 if fault == "429" else 9}
    if status >= 500:
        return {"kind": "server_error"}
    vendor, sent = ex["vendor"], ex["input"]
    if status == 401 or (status == 403 and vendor in ("voiceaiwrapper", "agencyhandy")):  # the 403s documented
        return {"kind": "unauthorized"}
    if vendor == "smartlead":
        if status == 200:
            return {"kind": "created", "id": body["data"]["id"]}
        if status == 409:
            return {"kind": "duplicate"}
        if status in (400, 422):
            return {"kind": "validation_error"}
    elif vendor == "cellcast":
        if status == 200:
            return {"kind": "created"}
        if status == 400:
            err = body["error"]
            if any("already exist" in str(err.get(f, "")) for f in ("email", "mobile")):
                return {"kind": "duplicate"}
            return {"kind": "validation_error", "fields": sorted(err)}
    elif vendor == "voiceaiwrapper":
        if status == 200:
            return {"kind": "created", "id": body["data"]["client_id"]}
        if status == 400:
            if "already exists" in body["message"]:
                return {"kind": "duplicate"}
            return {"kind": "validation_error", "fields": sorted(body.get("errors") or {})}
    elif vendor == "agencyhandy":
        if status == 200:
            failed = {m["index"]: m for m in body.get("failedMembers", [])}
            ids = iter(m["_id"] for m in body["createdMembers"])
            entries = [{"kind": "duplicate"} if i in failed else {"kind": "created", "id": next(ids)} for i in range(len(sent))]
            return {"kind": "bulk", "entries": entries}
        if status == 400:
            return {"kind": "validation_error", "fields": [body["fieldName"]]}
    return {"kind": "unexpected_response"}


RESPONSE_PROPERTY = {
    "created": "response.created", "duplicate": "response.duplicate", "unauthorized": "response.unauthorized",
    "validation_error": "response.validation-error", "rate_limited": "response.rate-limited",
    "server_error": "response.server-error", "transport_error": "response.transport-error",
    "unexpected_response": "response.unexpected-response", "bulk": "response.bulk-entries",
}


def normalise(outcome):
    out = dict(outcome)
    if "fields" in out:
        out["fields"] = sorted(out["fields"])
    return out


def check_response(ex, failures):
    answer = ex["answer"]
    expected = expected_outcome(ex)
    prop = RESPONSE_PROPERTY[expected["kind"]]
    if "outcome" not in answer:
        failures[prop] = f"no outcome in answer {answer}"
        return
    actual = normalise(answer["outcome"])
    if actual != normalise(expected):
        if expected["kind"] == "created" and actual.get("kind") == "created":
            prop = "response.created-id"
        failures[prop] = f"expected {json.dumps(expected)}, harness said {json.dumps(answer['outcome'])}"
    if expected["kind"] == "transport_error" and ex["elapsed"] > 10.5:
        failures["response.within-timeout"] = f"took {ex['elapsed']:.1f}s"


# --------------------------------------------------------------------------------------------
# Request-side checks (from the proxy's record)

CREDENTIAL_PLACE = {
    # vendor -> [(credential part, where, name, format)]
    "smartlead": [("api_key", "query", "api_key", "{}")],
    "cellcast": [("token", "header", "Authorization", "Bearer {}")],
    "voiceaiwrapper": [("token", "header", "Authorization", "Bearer {}")],
    "agencyhandy": [("api_key", "header", "x-api-key", "{}"), ("company_id", "header", "companyId", "{}")],
}
CASE_EXACT = {"companyId"}  # the spec's `case_sensitive: true` header names


def strict_equal(a, b):
    if type(a) is not type(b):
        # JSON numbers: 1 and 1.0 are the same number; booleans are never numbers.
        if isinstance(a, bool) or isinstance(b, bool) or not all(isinstance(x, (int, float)) for x in (a, b)):
            return False
        return a == b
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(strict_equal(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(strict_equal(x, y) for x, y in zip(a, b))
    return a == b


def body_diff(sent, got, path="$"):
    """(missing-or-changed, extra nulls, extra non-nulls) between the input and the body sent."""
    changed, nulls, extra = [], [], []
    if isinstance(sent, dict) and isinstance(got, dict):
        for k, v in sent.items():
            if k not in got:
                changed.append(f"{path}.{k} dropped")
            else:
                c, n, e = body_diff(v, got[k], f"{path}.{k}")
                changed += c
                nulls += n
                extra += e
        for k, v in got.items():
            if k not in sent:
                (nulls if v is None else extra).append(f"{path}.{k}" + ("" if v is None else f"={json.dumps(v)}"))
    elif isinstance(sent, list) and isinstance(got, list) and len(sent) == len(got):
        for i, (a, b) in enumerate(zip(sent, got)):
            c, n, e = body_diff(a, b, f"{path}[{i}]")
            changed += c
            nulls += n
            extra += e
    elif not strict_equal(sent, got):
        changed.append(f"{path} changed: {json.dumps(sent)} -> {json.dumps(got)}")
    return changed, nulls, extra


def check_requests(ex, failures):
    requests = ex["requests"]
    if ex["closed_port"]:
        if requests:
            failures["request.exactly-one"] = f"{len(requests)} requests reached the proxy for a closed port"
        return
    if len(requests) != 1:
        first = requests[0]["status"] if requests else None
        prop = "request.no-retry-after-4xx" if requests and first and 400 <= first < 500 else "request.exactly-one"
        failures[prop] = f"{len(requests)} requests for one create (first answered {first}): " + \
            "; ".join(f"{r['method']} {r['path']}{'?' + r['query'] if r['query'] else ''} -> {r['status']}" for r in requests)
        if not requests:
            return
    r = requests[0]
    vendor, creds = ex["vendor"], ex["credentials"]
    headers = r["headers"]
    query = urllib.parse.parse_qsl(r["query"], keep_blank_values=True)

    # method, path, query
    problems = []
    if r["method"] != "POST":
        problems.append(f"method {r['method']}")
    if r["path"] != VENDOR_PATH[vendor]:
        problems.append(f"path {r['path']} (expected {VENDOR_PATH[vendor]})")
    allowed_query = {"api_key"} if vendor == "smartlead" else set()
    stray = [k for k, _ in query if k not in allowed_query]
    if stray or len(query) != len({k for k, _ in query}):
        problems.append(f"unexpected query {r['query']!r}")
    if problems:
        failures["request.method-path"] = "; ".join(problems)

    # auth headers: present, right value, exact case where the spec says so
    problems = []
    for part, where, name, fmt in CREDENTIAL_PLACE[vendor]:
        if where != "header":
            continue
        exact = [v for n, v in headers if n == name]
        loose = [(n, v) for n, v in headers if n.lower() == name.lower()]
        if name in CASE_EXACT and not exact:
            problems.append(f"no header named exactly `{name}` (sent: {[n for n, _ in loose] or 'none'})")
        elif not loose:
            problems.append(f"no `{name}` header")
        elif len(loose) > 1:
            problems.append(f"`{name}` sent {len(loose)} times")
        elif loose[0][1] != fmt.format(creds[part]):
            problems.append(f"`{name}` value is not `{fmt.format('<' + part + '>')}`")
    if problems:
        failures["request.auth-header-case"] = "; ".join(problems)

    # credential placement: in its place, nowhere else
    problems = []
    body_text = r["body"].decode("utf-8", "replace")
    for part, where, name, fmt in CREDENTIAL_PLACE[vendor]:
        secret = creds[part]
        if where == "query":
            values = [v for k, v in query if k == name]
            if values != [secret]:
                problems.append(f"query `{name}` is {values or 'absent'}")
        elsewhere = [f"header {n}" for n, v in headers if secret in v and not (where == "header" and n.lower() == name.lower())]
        elsewhere += [f"query {k}" for k, v in query if secret in v and not (where == "query" and k == name)]
        if secret in urllib.parse.unquote(r["path"]):
            elsewhere.append("path")
        if secret in body_text:
            elsewhere.append("body")
        if elsewhere:
            problems.append(f"{part} also sent in {', '.join(elsewhere)}")
    if problems:
        failures["request.credential-placement"] = "; ".join(problems)

    # Content-Type
    types = [v for n, v in headers if n.lower() == "content-type"]
    if len(types) != 1 or types[0].split(";")[0].strip().lower() != "application/json":
        failures["request.content-type"] = f"Content-Type {types or 'absent'}"

    # body
    body = parse_json(r["body"])
    if body is None and r["body"] != b"null":
        failures["request.body-json"] = f"body is not JSON: {r['body'][:80]!r}"
        return
    changed, nulls, extra = body_diff(ex["input"], body)
    if changed:
        failures["request.body-fields-carried"] = "; ".join(changed)
    if nulls:
        failures["request.optional-not-null"] = "null sent for " + ", ".join(nulls)
    if extra:
        failures["request.body-no-extra"] = "added " + ", ".join(extra)


def check_intent(ex, failures):
    """The mock (or fault) answered what the case is for; only meaningful for correct harnesses."""
    want = INTENT[ex["case"]]
    if ex["case"] == "duplicate" and ex.get("step") == 0:
        want = "created"  # the first create of the pair succeeds, the second is the duplicate
    meant = expected_outcome(ex)
    got = meant["kind"]
    if got == "bulk" and want in ("created", "duplicate") and all(e["kind"] == want for e in meant["entries"]):
        got = want  # AgencyHandy answers every create in bulk: one entry of the intended kind
    if got != want:
        failures["case.intent"] = f"case {ex['case']} wants the answer to mean {want}, it meant {got}"
    if ex["case"] == "bulk-duplicate" and ex.get("step") == 1:
        kinds = [e["kind"] for e in expected_outcome(ex)["entries"]]
        if kinds != ["created", "duplicate", "created"]:
            failures["case.intent"] = f"bulk entries {kinds}"


ALL_VENDORS = ["smartlead", "cellcast", "voiceaiwrapper", "agencyhandy"]


def ready_failures(h):
    """protocol.ready-vendors: the harness's `ready` lists every vendor it serves (all four)."""
    if h.vendors != ALL_VENDORS:
        return {"protocol.ready-vendors": f"ready lists {h.vendors}, not {ALL_VENDORS}"}
    return {}


def evaluate(exchanges, intent):
    failures = {}
    for step, ex in enumerate(exchanges):
        ex["step"] = step
        f = {}
        check_requests(ex, f)
        check_response(ex, f)
        if intent:
            check_intent(ex, f)
        for k, v in f.items():
            failures.setdefault(k, f"step {step}: {v}")
    return failures


# --------------------------------------------------------------------------------------------
# The mock


class MockLog:
    """Tails the mock's stdout log (one `answered` line per request) when we started the mock."""

    def __init__(self, path):
        self.path = path

    def mark(self):
        return os.path.getsize(self.path) if self.path else 0

    def since(self, mark):
        if not self.path:
            return []
        time.sleep(0.05)
        with open(self.path, "rb") as f:
            f.seek(mark)
            text = f.read().decode("utf-8", "replace")
        out = []
        for line in ANSI.sub("", text).splitlines():
            if "answered" in line:
                out.append(line.split("answered", 1)[1].strip())
        return out


def start_mock(binary, logfile):
    log = open(logfile, "wb")
    proc = subprocess.Popen([binary, "serve", "--port", "0", "--seed", "1"], stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 20
    while time.time() < deadline:
        with open(logfile, "rb") as f:
            m = re.search(rb"listening on (http://[0-9.:]+)", f.read())
        if m:
            return proc, m.group(1).decode()
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.kill()
    raise SystemExit(f"the mock did not start; see {logfile}")


# --------------------------------------------------------------------------------------------


def mutants_md_rows():
    rows = {}
    path = os.path.join(CLIENTS, "MUTANTS.md")
    with open(path, encoding="utf-8") as f:
        for line in f:
            cells = [c.strip().strip("`") for c in line.strip().strip("|").split("|")]
            if len(cells) >= 5 and cells[1] in ("python", "node"):
                rows[(cells[1], cells[0])] = cells[4].split()[0].strip("`,")
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mock-url", help="use this running mock")
    parser.add_argument("--mock-bin", default=os.path.join(ROOT, "target", "debug", "vendor-mock"), help="start this mock binary")
    parser.add_argument("--only", choices=sorted(HARNESSES), help="test only this harness")
    args = parser.parse_args()

    mock_proc, logfile = None, None
    if args.mock_url:
        mock_url = args.mock_url.rstrip("/")
    else:
        logfile = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"selftest-mock-{os.getpid()}.log")
        mock_proc, mock_url = start_mock(args.mock_bin, logfile)
    mocklog = MockLog(logfile)
    say(f"mock: {mock_url}" + (f" (log {logfile})" if logfile else ""))
    proxy = Proxy(mock_url)
    cases = Cases(mock_url)
    errors = []
    languages = [args.only] if args.only else list(HARNESSES)
    try:
        # 1. the correct harnesses: every property on every case
        for language in languages:
            say(f"\n== {language} harness (correct): every case must pass every property")
            h = Harness(language)
            for prop, why in ready_failures(h).items():
                say(f"  FAIL {prop}: {why}")
                errors.append(f"{language}: {prop}: {why}")
            for vendor in VENDOR_PATH:
                for name in case_names(vendor):
                    exchanges = run_case(h, proxy, cases, vendor, name)
                    failures = evaluate(exchanges, intent=True)
                    outcomes = " then ".join(json.dumps(ex["answer"].get("outcome", ex["answer"])) for ex in exchanges)
                    statuses = ",".join(str(r["status"] or "none") for ex in exchanges for r in ex["requests"]) or "-"
                    mark = "ok  " if not failures else "FAIL"
                    say(f"  {mark} {vendor:15} {name:22} answer {statuses:8} -> {outcomes}")
                    for prop, why in failures.items():
                        say(f"         {prop}: {why}")
                        errors.append(f"{language} {vendor} {name}: {prop}: {why}")
            # a harness-side problem answers `errored`, an unknown vendor `skipped`
            a = h.create("cellcast", proxy.url(), {}, {"name": "x"})
            b = h.create("acme", proxy.url(), {"token": "t"}, {})
            if not (a.get("errored") and isinstance(a.get("context", {}).get("message"), str)):
                errors.append(f"{language}: missing credential did not answer errored: {a}")
            if not (b.get("skipped") and isinstance(b.get("message"), str)):
                errors.append(f"{language}: unknown vendor did not answer skipped: {b}")
            say(f"  ok   protocol: missing credential -> {json.dumps(a)}; unknown vendor -> {json.dumps(b)}")
            h.stop()
            say("  ok   stop -> exit 0")

        # 2. the mutants: each fails the property it targets, shown on the wire
        documented = mutants_md_rows()
        for language in languages:
            listed = subprocess.run(HARNESSES[language] + ["--list-mutants"], capture_output=True, text=True, check=True)
            names = [line.split("\t")[0] for line in listed.stdout.splitlines()]
            if sorted(names) != sorted(MUTANTS[language]):
                errors.append(f"{language}: --list-mutants {names} != selftest table {sorted(MUTANTS[language])}")
            for mutant, (target, targets) in MUTANTS[language].items():
                if documented.get((language, mutant)) != target:
                    errors.append(f"MUTANTS.md row for {language} {mutant} says {documented.get((language, mutant))}, selftest says {target}")
                say(f"\n== {language} --mutant {mutant}  (target {target})")
                h = Harness(language, mutant)
                caught = False
                for vendor, name in targets:
                    m = mocklog.mark()
                    exchanges = run_case(h, proxy, cases, vendor, name)
                    failures = {**ready_failures(h), **evaluate(exchanges, intent=False)}
                    caught_here = target in failures
                    caught = caught or caught_here
                    say(f"  {'caught' if caught_here else 'MISSED'} {vendor} {name}: {target}: {failures.get(target, '(passed)')}")
                    others = {k: v for k, v in failures.items() if k != target}
                    for prop, why in others.items():
                        say(f"         also {prop}: {why}")
                    for ex in exchanges:
                        for r in ex["requests"]:
                            names_sent = ", ".join(n for n, _ in r["headers"])
                            say(f"         wire: {r['method']} {r['path']}{'?' + r['query'] if r['query'] else ''} "
                                f"[{names_sent}] body {r['body'][:160].decode('utf-8', 'replace')}")
                        say(f"         answer -> {json.dumps(ex['answer'].get('outcome'))}")
                    for line in mocklog.since(m):
                        say(f"         mock log: {line}")
                    if not caught_here:
                        errors.append(f"{language} --mutant {mutant}: {target} not caught on {vendor} {name}")
                h.stop()

        # 3. each mutant against every case: which properties fail (the kill matrix)
        say("\n== kill matrix: properties each mutant fails over the whole case suite")
        for language in languages:
            for mutant, (target, _) in MUTANTS[language].items():
                h = Harness(language, mutant)
                failed = {prop: set(VENDOR_PATH) for prop in ready_failures(h)}
                for vendor in VENDOR_PATH:
                    for name in case_names(vendor):
                        if name in ("fault-slow",):
                            continue  # slow and irrelevant to every mutant
                        for prop in evaluate(run_case(h, proxy, cases, vendor, name), intent=False):
                            failed.setdefault(prop, set()).add(vendor)
                h.stop()
                cells = ", ".join(f"{p} [{'/'.join(sorted(v))}]" for p, v in sorted(failed.items()))
                say(f"  {language:6} {mutant:28} {cells}")
                if target not in failed:
                    errors.append(f"{language} --mutant {mutant}: {target} never failed over the suite")
    finally:
        proxy.server.shutdown()
        if mock_proc:
            mock_proc.terminate()
            mock_proc.wait(timeout=15)

    say("")
    if errors:
        say(f"SELFTEST FAILED ({len(errors)}):")
        for e in errors:
            say(f"  - {e}")
        return 1
    say("SELFTEST PASSED")
    return 0


if __name__ == "__main__":
    sys.exit(main())
