#!/usr/bin/env python3
"""Sorts a mutation run's survivors by why they survive, from the mutated line and the block
it sits in. The rules (RULES, the same for the Python and the Node harness) are tried in order;
a survivor no rule explains is left for review:

- planted: code that runs only under `--mutant NAME` (the MUTANTS table, `MUTANT` checks and
  the blocks they guard): the correct client never runs it, so changing it changes nothing;
- diagnostics: what the protocol leaves to the harness and the suite does not judge: stderr
  logs, the `errored` messages, the implementation name, the optional `retry_after` and
  `fields` extras, command-line options of the harness itself;
- never sent: requests PROTOCOL.md rules out, so no caller of the client sends them either;
- never answered: answers the vendors' specs rule out, so the mock (faithful to them) cannot
  give them and neither does the vendor;
- same outcome: another path to the outcome the correct code reaches on every answer;
- review: everything else, listed line by line for a person to explain or to kill with a better
  suite.

    classify.py harness.py SURVIVOR_LINES...
"""

import re
import sys

# What the protocol leaves to the harness (the suite does not judge it).
DIAGNOSTIC = re.compile(
    r"\blog\(|print\(|stderr|IMPLEMENTATION|implementation|retry_after|Retry-After|retry-after|retryAfter"
    r"|fields|fieldName|HarnessError|errored|argv|--mutant|--list-mutants|list_mutants|args\.|parser\."
    r"|usage|PROTOCOL_VERSION|version"
)

# PROTOCOL.md: `timeout_ms` is always sent and positive; `base_url` is `http://host:port` (no
# https, no path, no IPv6 brackets from this suite's mock on 127.0.0.1); `input` is always there;
# only the vendors of `ready` are asked for; `stop` is followed by the end of stdin; every line is
# a JSON object.
NEVER_SENT = re.compile(
    r"DEFAULT_TIMEOUT_MS|timeout_ms <= 0|timeout_ms > 0|isInt\(request\.timeout_ms\)"
    r"|adapter is None|!adapter\b|\"input\" not in request|'input' in request"
    r"|isinstance\(base_url, str\)|typeof request\.base_url"
    r"|cmd == \"stop\"|request\.cmd === 'stop'|isinstance\(request, dict\)"
    r"|url\.scheme|url\.protocol|\bhttps\b|HTTPSConnection|url\.hostname|url\.pathname|url\.path\.rstrip"
    r"|not line\.strip\(\)"
)

# The vendors' specs (specs/*.yaml, ../shared/vendor-docs/): every body is JSON except where a
# fault makes it garbage with a 200 (its status is never a 4xx then); AgencyHandy's 200 always
# holds the `createdMembers` and `failedMembers` arrays, each failed member an object with an
# `index` in range and no index twice, the created ones as many as the entries not failed, each
# with a string `_id`; every error body the harness reads a `message` from is an object.
NEVER_ANSWERED = re.compile(
    r"200 <= status < 300|status >= 200 && status < 300"
    r"|\bindex\b.*(len\(sent\)|sent\.length|in failed|failed\.has)"
    r"|len\(created_members\) != len\(sent\)|createdMembers\.length !== sent\.length"
    r"|isinstance\(created_members, list\) or not isinstance\(failed_members, list\)"
    r"|Array\.isArray\(createdMembers\) \|\| !Array\.isArray\(failedMembers\)"
    r"|not isinstance\(body, dict\) or not isinstance\(sent, list\)|!isObject\(body\) \|\| !Array\.isArray\(sent\)"
    r"|isinstance\(member, dict\)|isObject\(member\)"
    r"|body\.get\(\"failedMembers\", \[\]\)|body\.failedMembers === undefined"
)

# Node's `res` events and Python's watchdog: whichever fires first, a broken or late answer is
# `transport_error` (the `settled` guard keeps the first); the texts and codes of those errors
# are not reported. `created(id)` with an absent or null id: JSON without `id` either way.
SAME_OUTCOME = re.compile(
    r"res\.on\('(error|aborted|close)'|if \(settled\) return|settled = true|!res\.complete"
    r"|ECONNRESET|ETIMEDOUT|no complete answer within|expired\.is_set\(\)|sock\.shutdown|sock is not None"
    r"|const created = \(id\) =>|if id_ is not None"
)


def blocks(lines, start_pattern):
    """Line numbers (1-based) of the lines matching `start_pattern` and of the blocks they open."""
    marked = set()
    for i, line in enumerate(lines):
        if not re.search(start_pattern, line):
            continue
        marked.add(i + 1)
        if not line.rstrip().endswith((":", "{")):
            continue
        indent = len(line) - len(line.lstrip())
        for j in range(i + 1, len(lines)):
            nxt = lines[j]
            if nxt.strip() and len(nxt) - len(nxt.lstrip()) <= indent:
                break
            marked.add(j + 1)
    return marked


# (key, what the table calls it, why such a mutant changes nothing a vendor or caller sees)
RULES = [
    ("planted", "planted-bug code",
     "runs only under `--mutant NAME`: the correct client never runs it"),
    ("diagnostics", "diagnostics",
     "logs, `errored` texts, the implementation name and version, the optional `retry_after` and "
     "`fields` extras, the harness's own options: the protocol leaves them to the harness"),
    ("never_sent", "never sent",
     "a request PROTOCOL.md rules out: `timeout_ms` missing or not positive, a `base_url` with "
     "https, a path or IPv6 brackets, no `input`, a vendor not in `ready`, a line after `stop`"),
    ("never_answered", "never answered",
     "an answer the vendors' specs rule out and the mock cannot give: a non-JSON body with "
     "another status than a fault's 200, an AgencyHandy 200 whose `failedMembers` indexes or "
     "`createdMembers` count do not add up or whose members are not objects"),
    ("same_outcome", "same outcome",
     "another path to the same outcome: which of Node's `error`, `aborted`, `close` events or "
     "Python's watchdog reports a broken or late answer (`transport_error` either way), and "
     "`created` with an absent or a null id (no `id` in the JSON either way)"),
]


def classify(source, numbers):
    """{rule key or "review": [line numbers]}, and the source's lines."""
    lines = open(source).read().splitlines()
    planted = blocks(lines, r"\bMUTANTS?\b")
    diagnostic = blocks(lines, r"def retry_after_seconds|function retryAfterSeconds|def log|function log|def main|function parseArgs|function main")
    tests = {
        "planted": lambda n, text: n in planted,
        "diagnostics": lambda n, text: n in diagnostic or DIAGNOSTIC.search(text),
        "never_sent": lambda n, text: NEVER_SENT.search(text),
        "never_answered": lambda n, text: NEVER_ANSWERED.search(text),
        "same_outcome": lambda n, text: SAME_OUTCOME.search(text),
    }
    out = {key: [] for key, _, _ in RULES}
    out["review"] = []
    for n in numbers:
        text = lines[n - 1]
        key = next((key for key, _, _ in RULES if tests[key](n, text)), "review")
        out[key].append(n)
    return out, lines


if __name__ == "__main__":
    result, lines = classify(sys.argv[1], [int(n) for n in sys.argv[2:]])
    for reason, numbers in result.items():
        print(f"{reason}: {len(numbers)}")
    for n in sorted(set(result["review"])):
        print(f"  review line {n}: {lines[n - 1].strip()[:100]}")
