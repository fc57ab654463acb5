#!/usr/bin/env python3
"""Time from process start to the first successful answer of `vendor-mock serve`.

    first_answer.py BINARY RUNS PATH [HEADER ...]

For each run: pick a free loopback port, start `BINARY serve --port PORT` (stdout and stderr to
/dev/null), then try every 0.5 ms to connect and send `GET PATH` (with the given `Name: value`
headers); the clock stops at the first answer whose status is 200. Prints one line per run and a
last line `FIRST_ANSWER median_ms=… min_ms=… max_ms=… runs=…`. Exits 1 if a run gets no 200
within 5 s.
"""

import os
import socket
import statistics
import subprocess
import sys
import time

RETRY_S = 0.0005
GIVE_UP_S = 5.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def status_of(port: int, request: bytes) -> int | None:
    """The status of one answer, or None if nothing listens yet or the answer is incomplete."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0) as s:
            s.sendall(request)
            head = b""
            while b"\r\n" not in head:
                chunk = s.recv(4096)
                if not chunk:
                    return None
                head += chunk
    except OSError:
        return None
    parts = head.split(b" ", 2)
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None


def one_run(binary: str, path: str, headers: list[str]) -> float:
    port = free_port()
    extra = "".join(f"{h}\r\n" for h in headers)
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{extra}Connection: close\r\n\r\n".encode()
    start = time.perf_counter()
    process = subprocess.Popen(
        [binary, "serve", "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        while True:
            if status_of(port, request) == 200:
                return (time.perf_counter() - start) * 1000
            if process.poll() is not None:
                sys.exit(f"{binary} exited with {process.returncode} before answering")
            if time.perf_counter() - start > GIVE_UP_S:
                sys.exit(f"no 200 from GET {path} within {GIVE_UP_S} s")
            time.sleep(RETRY_S)
    finally:
        process.terminate()
        process.wait()


def main() -> None:
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    binary, runs, path, headers = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]
    if not os.access(binary, os.X_OK):
        sys.exit(f"{binary} is not executable")
    times = []
    for i in range(runs):
        ms = one_run(binary, path, headers)
        times.append(ms)
        print(f"run {i + 1}: {ms:.2f} ms")
    print(
        f"FIRST_ANSWER median_ms={statistics.median(times):.2f} min_ms={min(times):.2f} "
        f"max_ms={max(times):.2f} runs={runs}"
    )


if __name__ == "__main__":
    main()
