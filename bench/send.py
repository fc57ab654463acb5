#!/usr/bin/env python3
"""Sends exactly N requests of one kind over one keep-alive connection (for profiling).

    send.py PORT KIND N [RUN]

KIND: smartlead | cellcast | voiceaiwrapper | agencyhandy (a create with a unique e-mail, as
bench/wrk/create.lua sends it) or a path such as /__admin/health (a GET, with the `x-api-key`
that /accounts/companies needs). RUN keeps e-mails
unique across calls against one server. Exits 1 on an answer that is not 200.
"""

import json
import socket
import sys

KEY = "bench-key"


def read_answer(sock: socket.socket, buf: bytearray) -> tuple[int, bytes]:
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            sys.exit("connection closed before an answer")
        buf += chunk
    end = buf.index(b"\r\n\r\n") + 4
    head = bytes(buf[:end]).decode("latin-1")
    status = int(head.split(" ", 2)[1])
    length = 0
    for line in head.split("\r\n")[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    while len(buf) < end + length:
        chunk = sock.recv(65536)
        if not chunk:
            sys.exit("connection closed inside an answer")
        buf += chunk
    body = bytes(buf[end : end + length])
    del buf[: end + length]
    return status, body


def company(sock: socket.socket, buf: bytearray) -> str:
    sock.sendall(f"GET /accounts/companies HTTP/1.1\r\nHost: b\r\nx-api-key: {KEY}\r\n\r\n".encode())
    status, body = read_answer(sock, buf)
    if status != 200:
        sys.exit(f"GET /accounts/companies answered {status}")
    return json.loads(body)["companies"][0]["_id"]


def create(kind: str, email: str, n: int, company_id: str, run: int) -> bytes:
    if kind == "smartlead":
        target, headers = f"/api/v1/client/save?api_key={KEY}", {}
        body = {"email": email, "name": "Acme Agency", "permission": ["campaigns", "email_accounts", "leads"],
                "is_credit_assigned": True, "email_credits": 10000, "lead_credits": 5000}
    elif kind == "cellcast":
        target, headers = "/api/v2/subClient/user", {"Authorization": f"Bearer {KEY}"}
        body = {"name": "Sub Client Name", "email": email, "mobile": f"{run % 100:02d}99{n:09d}",
                "website": "www.example.com", "password": "Password", "companyName": "Cellcast",
                "industry": "Telecommunication", "notes": "Sub Client Notes", "isSharingCredit": True}
    elif kind == "voiceaiwrapper":
        target, headers = "/api/v2/clients/create", {"Authorization": f"Bearer {KEY}"}
        body = {"client_users": [{"email": email, "password": "SecureP@ss123"}],
                "client_details": {"name": "Acme Corp", "email": "acme@example.com"},
                "client_asset_group": {"tenant_voice_provider_id": "VGVuYW50Vm9pY2VQcm92aWRlcjoxMjM=",
                                       "name": "Default Group"}}
    elif kind == "agencyhandy":
        target, headers = "/members/bulk-client", {"x-api-key": KEY, "companyId": company_id}
        body = [{"firstName": "John", "lastName": "Doe", "email": email, "isConvertedClient": False,
                 "status": "New", "contactNo": "1234567890", "source": "website", "positionInBoard": 1}]
    else:
        sys.exit(f"unknown kind {kind}")
    data = json.dumps(body, separators=(",", ":")).encode()
    head = f"POST {target} HTTP/1.1\r\nHost: b\r\nContent-Type: application/json\r\nContent-Length: {len(data)}\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return head.encode() + b"\r\n" + data


def main() -> None:
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    port, kind, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    run = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    buf = bytearray()
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        company_id = company(sock, buf) if kind == "agencyhandy" else ""
        for i in range(n):
            if kind.startswith("/"):
                request = f"GET {kind} HTTP/1.1\r\nHost: b\r\nx-api-key: {KEY}\r\n\r\n".encode()
            else:
                request = create(kind, f"p{run}n{i}@bench.example.com", i, company_id, run)
            sock.sendall(request)
            status, body = read_answer(sock, buf)
            if status != 200:
                sys.exit(f"request {i} answered {status}: {body[:300]!r}")


if __name__ == "__main__":
    main()
