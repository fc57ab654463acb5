#!/usr/bin/env python3
"""Reference client harness in Python (conformance protocol v1).

A correct client of the four vendors' create-client endpoints, driven over newline-delimited
JSON on stdin/stdout (see issue 3, "Driving a client: harness protocol v1"):

    {"cmd":"start","version":1}                       -> {"ready":true,...}
    {"cmd":"create_client","seq":N,"vendor":...}      -> {"seq":N,"outcome":{...}}
    {"cmd":"stop"}                                    -> exit 0

Standard library only. HTTP goes through ``http.client`` because it sends header names exactly
as given (``urllib.request`` capitalises them, which breaks AgencyHandy's case-exact
``companyId``). No retries, ever. stdout carries protocol lines only; logs go to stderr.

``--mutant NAME`` turns on one realistic bug (see ``MUTANTS`` and tests/clients/MUTANTS.md);
``--list-mutants`` prints their names. Without it the harness is correct.
"""

import argparse
import email.utils
import http.client
import json
import socket
import sys
import threading
import time
import urllib.parse

IMPLEMENTATION = {"name": "vendor-mock-reference-python", "language": "python", "version": "1.0.0"}
PROTOCOL_VERSION = 1
VENDORS = ["smartlead", "cellcast", "voiceaiwrapper", "agencyhandy"]
DEFAULT_TIMEOUT_MS = 10_000

# Each mutant changes exactly one behaviour of the correct client.
MUTANTS = {
    "ah-companyid-lowercase": "AgencyHandy: sends the company header as `companyid` instead of `companyId`",
    "cc-drop-is-sharing-credit": "Cellcast: drops the mandatory `isSharingCredit` field from the body",
    "cc-duplicate-as-created": "Cellcast: treats the 400 'already exist' answer as success (idempotent create)",
    "sl-key-in-header": "SmartLead: sends the API key as an `X-API-Key` header instead of the `api_key` query parameter",
    "sl-drop-logo-url": "SmartLead: drops the optional `logo_url` field from the body",
    "vw-no-id": "VoiceAIWrapper: reports `created` without the `data.client_id` id",
    "any-retry-401": "every vendor: retries once after a 401 (same request again)",
    "any-500-as-created": "every vendor: reports `created` on a 5xx answer (only 4xx are treated as errors)",
    "any-4xx-as-validation": "every vendor: reports a 4xx it does not know (404, 405, 413, …) as `validation_error`",
    "ah-type-as-field": "AgencyHandy: names the error's `type` (`ValidationError`) as the field instead of `fieldName`",
    "vw-403-as-unexpected": "VoiceAIWrapper: treats only 401 as `unauthorized` (its documented 403 becomes `unexpected_response`)",
}

MUTANT = None


def log(*parts):
    print("[harness.py]", *parts, file=sys.stderr, flush=True)


def emit(obj):
    sys.stdout.write(json.dumps(obj, separators=(",", ":"), ensure_ascii=False) + "\n")
    sys.stdout.flush()


class HarnessError(Exception):
    """A problem on the harness side (bad request line, missing credential): `errored`."""


# --------------------------------------------------------------------------------------------
# Answers: shared helpers


def created(id_=None):
    out = {"kind": "created"}
    if id_ is not None:
        out["id"] = id_
    return out


def validation_error(fields=None):
    out = {"kind": "validation_error"}
    if fields:
        out["fields"] = list(fields)
    return out


def kind(k):
    return {"kind": k}


def header(headers, name):
    """The first value of header `name` (case-insensitive), or None."""
    for key, value in headers:
        if key.lower() == name.lower():
            return value
    return None


def retry_after_seconds(headers, body):
    """Seconds from `Retry-After` (delta-seconds or HTTP-date), else from the body, else None."""
    value = header(headers, "Retry-After")
    if value is not None:
        value = value.strip()
        if value.isdigit():
            return int(value)
        try:
            when = email.utils.parsedate_to_datetime(value)
            return max(0, int(when.timestamp() - time.time()))
        except (TypeError, ValueError):
            pass
    if isinstance(body, dict):
        # SmartLead documents {"error":{"code":"RATE_LIMIT_EXCEEDED","retry_after":30}}.
        for holder in (body.get("error"), body):
            if isinstance(holder, dict):
                seconds = holder.get("retry_after")
                if isinstance(seconds, int) and not isinstance(seconds, bool) and seconds >= 0:
                    return seconds
    return None


def is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def nonempty_str(value):
    return isinstance(value, str) and value != ""


# --------------------------------------------------------------------------------------------
# Vendors: how to send, how to read the answer


def require_credential(credentials, name):
    value = credentials.get(name) if isinstance(credentials, dict) else None
    # An empty value is the caller's (a key it did not set): sent as given, the vendor answers 401.
    if not isinstance(value, str):
        raise HarnessError(f"credentials.{name} is missing or not a string")
    return value


class SmartLead:
    path = "/api/v1/client/save"
    # The documented optional body fields (used only by mutants that misuse them).
    optional = ["password", "logo", "logo_url", "permission", "is_credit_assigned", "email_credits", "lead_credits"]

    def request(self, credentials, body):
        key = require_credential(credentials, "api_key")
        headers = {"Content-Type": "application/json"}
        query = "?api_key=" + urllib.parse.quote(key, safe="")
        if MUTANT == "sl-key-in-header":
            headers["X-API-Key"] = key
            query = ""
        if MUTANT == "sl-drop-logo-url" and isinstance(body, dict):
            body = {k: v for k, v in body.items() if k != "logo_url"}
        return self.path + query, headers, body

    def classify(self, status, headers, body, sent):
        message = ""
        if isinstance(body, dict):
            m = body.get("message")
            message = m if isinstance(m, str) else ""
        if status == 200:
            data = body.get("data") if isinstance(body, dict) else None
            if isinstance(body, dict) and body.get("ok") is True and isinstance(data, dict) and is_int(data.get("id")):
                return created(data["id"])
            return kind("unexpected_response")
        if status == 401:
            return kind("unauthorized")
        if status == 409 or (status in (400, 422) and "already exist" in message):
            return kind("duplicate")
        if status in (400, 422):
            # Joi/Boom messages name the field first: "\"forward_email_body\" must be a string".
            if message.startswith('"') and message.count('"') >= 2:
                return validation_error([message[1:message.index('"', 1)]])
            return validation_error()
        # SmartLead documents no 403: like a 404, 405 or 413 it is an answer no create gets.
        return kind("unexpected_response")


class Cellcast:
    path = "/api/v2/subClient/user"

    def request(self, credentials, body):
        token = require_credential(credentials, "token")
        if MUTANT == "cc-drop-is-sharing-credit" and isinstance(body, dict):
            body = {k: v for k, v in body.items() if k != "isSharingCredit"}
        headers = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
        return self.path, headers, body

    def classify(self, status, headers, body, sent):
        if status == 200:
            if isinstance(body, dict) and body.get("status") is True:
                return created()  # the documented success carries no id
            return kind("unexpected_response")
        if status == 401:  # Cellcast documents no 403
            return kind("unauthorized")
        if status == 400:  # nor a 422
            error = body.get("error") if isinstance(body, dict) else None
            error = error if isinstance(error, dict) else {}
            for field in ("email", "mobile"):
                text = error.get(field)
                if isinstance(text, str) and "already exist" in text:
                    if MUTANT == "cc-duplicate-as-created":
                        return created()
                    return kind("duplicate")
            return validation_error(error.keys())
        return kind("unexpected_response")


class VoiceAIWrapper:
    path = "/api/v2/clients/create"

    def request(self, credentials, body):
        token = require_credential(credentials, "token")
        headers = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
        return self.path, headers, body

    def classify(self, status, headers, body, sent):
        message = ""
        if isinstance(body, dict) and isinstance(body.get("message"), str):
            message = body["message"]
        if status == 200:
            data = body.get("data") if isinstance(body, dict) else None
            if isinstance(body, dict) and body.get("success") is True and isinstance(data, dict) and nonempty_str(data.get("client_id")):
                if MUTANT == "vw-no-id":
                    return created()
                return created(data["client_id"])
            return kind("unexpected_response")
        if status == 401 or (status == 403 and MUTANT != "vw-403-as-unexpected"):
            return kind("unauthorized")
        if status == 400:
            if "already exists" in message:
                return kind("duplicate")
            errors = body.get("errors") if isinstance(body, dict) else None
            return validation_error(errors.keys() if isinstance(errors, dict) else None)
        return kind("unexpected_response")


class AgencyHandy:
    path = "/members/bulk-client"

    def request(self, credentials, body):
        key = require_credential(credentials, "api_key")
        company = require_credential(credentials, "company_id")
        company_header = "companyid" if MUTANT == "ah-companyid-lowercase" else "companyId"
        headers = {"x-api-key": key, company_header: company, "Content-Type": "application/json"}
        return self.path, headers, body

    def classify(self, status, headers, body, sent):
        if status == 200:
            return self.entries(body, sent)
        if status in (401, 403):
            return kind("unauthorized")
        if status == 400:
            field = body.get("type" if MUTANT == "ah-type-as-field" else "fieldName") if isinstance(body, dict) else None
            return validation_error([field] if nonempty_str(field) else None)
        return kind("unexpected_response")

    @staticmethod
    def entries(body, sent):
        """Per input entry: failedMembers name theirs by `index`; createdMembers are the rest, in order."""
        if not isinstance(body, dict) or not isinstance(sent, list):
            return kind("unexpected_response")
        created_members = body.get("createdMembers")
        failed_members = body.get("failedMembers", [])
        if not isinstance(created_members, list) or not isinstance(failed_members, list):
            return kind("unexpected_response")
        failed = {}
        for member in failed_members:
            index = member.get("index") if isinstance(member, dict) else None
            if not is_int(index) or not 0 <= index < len(sent) or index in failed:
                return kind("unexpected_response")
            message = member.get("message") if isinstance(member.get("message"), str) else ""
            if "already exist" in message.lower():
                failed[index] = kind("duplicate")
            else:
                field = member.get("fieldName")
                failed[index] = validation_error([field] if nonempty_str(field) else None)
        if len(created_members) != len(sent) - len(failed):
            return kind("unexpected_response")
        remaining = iter(created_members)
        entries = []
        for index in range(len(sent)):
            if index in failed:
                entries.append(failed[index])
                continue
            member = next(remaining)
            id_ = member.get("_id") if isinstance(member, dict) else None
            if not nonempty_str(id_):
                return kind("unexpected_response")
            entries.append(created(id_))
        return {"kind": "bulk", "entries": entries}


ADAPTERS = {
    "smartlead": SmartLead(),
    "cellcast": Cellcast(),
    "voiceaiwrapper": VoiceAIWrapper(),
    "agencyhandy": AgencyHandy(),
}


# --------------------------------------------------------------------------------------------
# HTTP


def send(base_url, path, headers, payload, timeout_s):
    """POST once. Returns (status, [(name, value)], body bytes); raises OSError/HTTPException."""
    url = urllib.parse.urlsplit(base_url)
    if url.scheme not in ("http", "https") or not url.hostname:
        raise HarnessError(f"base_url {base_url!r} is not an http(s) URL")
    target = url.path.rstrip("/") + path
    cls = http.client.HTTPSConnection if url.scheme == "https" else http.client.HTTPConnection
    conn = cls(url.hostname, url.port, timeout=timeout_s)  # per socket operation
    expired = threading.Event()

    def cut():  # the whole exchange gets timeout_s too: a trickling answer is cut off
        expired.set()
        sock = conn.sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    watchdog = threading.Timer(timeout_s, cut)
    watchdog.daemon = True
    watchdog.start()
    try:
        headers = dict(headers)
        headers["Content-Length"] = str(len(payload))
        conn.request("POST", target, body=payload, headers=headers)
        response = conn.getresponse()
        raw = response.read()  # IncompleteRead on a truncated body
        if expired.is_set():
            raise TimeoutError(f"no complete answer within {timeout_s} s")
        return response.status, response.getheaders(), raw
    except (OSError, http.client.HTTPException) as e:
        if expired.is_set() and not isinstance(e, TimeoutError):
            raise TimeoutError(f"no complete answer within {timeout_s} s") from e
        raise
    finally:
        watchdog.cancel()
        conn.close()


def create_client(request):
    vendor = request.get("vendor")
    adapter = ADAPTERS.get(vendor)
    if adapter is None:
        return {"skipped": True, "message": f"vendor {vendor!r} is not supported by this harness"}
    if "input" not in request:
        raise HarnessError("create_client without `input`")
    body = request["input"]
    base_url = request.get("base_url")
    if not isinstance(base_url, str):
        raise HarnessError("create_client without a string `base_url`")
    timeout_ms = request.get("timeout_ms", DEFAULT_TIMEOUT_MS)
    if not is_int(timeout_ms) or timeout_ms <= 0:
        timeout_ms = DEFAULT_TIMEOUT_MS

    path, headers, body = adapter.request(request.get("credentials"), body)
    payload = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")

    attempts = 2 if MUTANT == "any-retry-401" else 1
    for attempt in range(attempts):
        try:
            status, response_headers, raw = send(base_url, path, headers, payload, timeout_ms / 1000)
        except (OSError, http.client.HTTPException) as e:  # refused, reset, closed, time-out, truncated
            log(f"{vendor}: transport error: {type(e).__name__}: {e}")
            return {"outcome": kind("transport_error")}
        log(f"{vendor}: POST {path.split('?')[0]} -> {status} {raw[:300]!r}")
        if status == 401 and attempt + 1 < attempts:
            continue
        break
    return {"outcome": classify(adapter, status, response_headers, raw, body)}


def classify(adapter, status, headers, raw, sent):
    try:
        body = json.loads(raw.decode("utf-8")) if raw else None
    except (UnicodeDecodeError, ValueError):
        body = None
        if 200 <= status < 300:
            return kind("unexpected_response")
    if status == 429:
        out = kind("rate_limited")
        seconds = retry_after_seconds(headers, body)
        if seconds is not None:
            out["retry_after"] = seconds
        return out
    if status >= 500:
        if MUTANT == "any-500-as-created":
            return created()
        return kind("server_error")
    outcome = adapter.classify(status, headers, body, sent)
    if MUTANT == "any-4xx-as-validation" and 400 <= status < 500 and outcome["kind"] == "unexpected_response":
        return validation_error()
    return outcome


# --------------------------------------------------------------------------------------------
# The protocol loop


def handle(line):
    """One request line; returns the answer object, or None when the harness must exit."""
    try:
        request = json.loads(line)
    except ValueError as e:
        return {"errored": True, "context": {"message": f"request line is not JSON: {e}"}}
    if not isinstance(request, dict):
        return {"errored": True, "context": {"message": "request line is not a JSON object"}}
    cmd = request.get("cmd")
    if cmd == "start":
        if request.get("version") != PROTOCOL_VERSION:
            log(f"unsupported protocol version {request.get('version')!r}; this harness speaks {PROTOCOL_VERSION}")
            sys.exit(2)
        implementation = dict(IMPLEMENTATION)
        if MUTANT:
            implementation["name"] += f"+mutant:{MUTANT}"
        return {"ready": True, "version": PROTOCOL_VERSION, "implementation": implementation, "vendors": VENDORS}
    if cmd == "stop":
        return None
    seq = request.get("seq")
    if cmd == "create_client":
        try:
            answer = create_client(request)
        except HarnessError as e:
            answer = {"errored": True, "context": {"message": str(e)}}
        except Exception as e:  # a bug in the harness: report it, keep serving
            log(f"internal error: {type(e).__name__}: {e}")
            answer = {"errored": True, "context": {"message": f"harness bug: {type(e).__name__}: {e}"}}
    else:
        answer = {"errored": True, "context": {"message": f"unknown cmd {cmd!r}"}}
    return {"seq": seq, **answer}


def main():
    global MUTANT
    parser = argparse.ArgumentParser(description="Reference Python client harness (protocol v1)")
    parser.add_argument("--mutant", choices=sorted(MUTANTS), help="turn on one deliberate bug")
    parser.add_argument("--list-mutants", action="store_true", help="print the mutant names and exit")
    args = parser.parse_args()
    if args.list_mutants:
        for name, what in MUTANTS.items():
            print(f"{name}\t{what}")
        return 0
    MUTANT = args.mutant
    # Protocol lines are UTF-8 whatever the locale says.
    sys.stdin.reconfigure(encoding="utf-8", errors="strict")
    sys.stdout.reconfigure(encoding="utf-8", newline="\n")
    if MUTANT:
        log(f"mutant {MUTANT}: {MUTANTS[MUTANT]}")
    while True:
        line = sys.stdin.readline()
        if not line:
            return 0
        if not line.strip():
            continue
        answer = handle(line)
        if answer is None:
            return 0
        emit(answer)


if __name__ == "__main__":
    sys.exit(main())
