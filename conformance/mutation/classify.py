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
    # `fields` of a validation error are optional: a call that drops or empties them is fine
    # (not the lines that pick a field out of a message: a wrong field fails
    # response.validation_fields).
    r"|(validationError|validation_error)\((?!.*message)|Object\.keys\(body\.errors\)|errors\.keys\(\)"
    r"|errors = body\.get\(\"errors\"\)|seconds is not None|seconds !== undefined"
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
    # Only `start`, `create_client` and `stop` come, each a JSON object line, with every field
    # and credential part: the unknown-command branch, the handlers of harness-side errors and
    # the fatal handler never run; the harness is always run as a program.
    r"|request\.cmd === 'create_client'|cmd == \"create_client\"|require\.main === module|main\(\)\.catch"
    r"|sys\.exit\(2\)|process\.exit\(2\)"
)

# The line before a `catch`/`except` tells what it guards.
NEVER_SENT_GUARDS = re.compile(r"JSON\.parse\(line\)|json\.loads\(line\)|new URL\(baseUrl\)|await createClient\(request\)|answer = create_client\(request\)")

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
    # A success answer always has every documented field (`ok: true` and an integer `data.id`;
    # `success: true` and a string `data.client_id`; `status: true`): a check that lets one with
    # only some of them through, or no longer reads one, is never put to the test (the suite's
    # `success_shape` answer `{}` has none, which these mutants still reject).
    r"|body\.ok === true|body\.get\(\"ok\"\) is True|body\.success === true|body\.get\(\"success\"\) is True"
    r"|body\.status === true|body\.get\(\"status\"\) is True"
    # Error bodies: SmartLead answers a duplicate with 409 only (never a 400/422 saying "already
    # exist"); Cellcast's 400 always carries an `error` object; AgencyHandy's `failedMembers`
    # are duplicates only (a schema violation fails the whole request with a 400); a `message`
    # the harness defaults to "" when absent is absent only where nothing is read from it.
    r"|\(status === 400 \|\| status === 422\) && message\.includes|status in \(400, 422\) and \"already exist\""
    r"|isObject\(body\.error\) \? body\.error|body\.get\(\"error\"\) if isinstance|error if isinstance\(error, dict\)"
    r"|typeof body\.message === 'string' \? body\.message|isinstance\(body\.get\(\"message\"\), str\)|m = body\.get\(\"message\"\)"
    r"|m if isinstance\(m, str\)|^\s*message = \"\"$"
    r"|typeof member\.message === 'string'|isinstance\(member\.get\(\"message\"\), str\)"
    r"|already exist'\)\) failed\.set|\"already exist\" in message\.lower\(\)"
    # Ids are always non-empty strings (`data.client_id`, `_id`), bodies never arrays.
    r"|const nonEmptyString = |def nonempty_str|return isinstance\(value, str\) and value != \"\"|const isObject = "
    r"|not nonempty_str\(id_\)|!nonEmptyString\(member\._id\)"
    # SmartLead's ids are integers, never booleans or text (`is_int` also guards what is never
    # sent, `timeout_ms`, and never answered, the indexes above).
    r"|return isinstance\(value, int\) and not isinstance\(value, bool\)"
)

# Node's `res` events and Python's watchdog: whichever fires first, a broken or late answer is
# `transport_error` (the `settled` guard keeps the first); the texts and codes of those errors
# are not reported. `created(id)` with an absent or null id: JSON without `id` either way.
SAME_OUTCOME = re.compile(
    r"res\.on\('(error|aborted|close)'|if \(settled\) return|settled = true|!res\.complete"
    r"|ECONNRESET|ETIMEDOUT|no complete answer within|expired\.is_set\(\)|sock\.shutdown|sock is not None"
    r"|const created = \(id\) =>|if id_ is not None"
    # A body that is not JSON reaches the vendor's reading as absent, which reads it as
    # `unexpected_response` anyway (or `server_error`, `rate_limited` by status, as before).
    r"|raw\.length > 0 \? JSON\.parse|json\.loads\(raw\.decode\(\"utf-8\"\)\) if raw"
    # JSON with or without `\\u` escapes is the same JSON; `quote(key, safe="XX")`: letters
    # are never percent-encoded anyway; http.client sets `Content-Length` itself for a bytes
    # body; the watchdog thread's daemon flag matters only at exit, and the socket time-out
    # cuts a silent answer without it.
    r"|ensure_ascii=False|quote\(key, safe=\"\"\)|headers\[\"Content-Length\"\] = str|watchdog\.daemon"
    r"|sock = conn\.sock|^\s+body = None$"
    # mutmut's `timeout_ms / 1001`: a time-out 0.1 % shorter (`* 1000` on the same line is
    # killed by the time-out scenario).
    r"|payload, timeout_ms / 1000\)"
    # The field picked out of a Joi message (`"forward_email_body" must be a string`): a wrong
    # field fails response.validation_fields and a raising line fails response.answers, so a
    # mutant that survives there either picks the same field or drops the optional `fields`
    # (hand-checked, mutation/README.md: Python #148-#152, #155; Node #204-#206).
    r"|message\.startswith\('\"'\) and message\.count|message\[1:message\.index\('\"', 1\)\]"
    r"|/\^\"\(\[\^\"\]\+\)\"/\.exec\(message\)"
)

# The line before a `catch`/`except` tells what it guards.
SAME_OUTCOME_GUARDS = re.compile(r"JSON\.parse\(raw|json\.loads\(raw")

# Code only the planted mutants reach: the body they rewrite (`raw`, `without`, the optional
# fields SmartLead's `sl-null-optionals` fills in), the function client's `setMutant`.
PLANTED_ONLY = re.compile(
    r"built\.raw|const without = |function setMutant|^\s*optional(: | = )\[|attempt \+ 1 < attempts|^\s*break$"
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
     "runs only under `--mutant NAME` (or serves only the code that does: `without`, `raw`, "
     "SmartLead's optional-field list, `setMutant`): the correct client never runs it"),
    ("diagnostics", "diagnostics",
     "logs, `errored` texts, the implementation name and version, the optional `retry_after` and "
     "`fields` extras (absent or empty `fields` are fine), the harness's own options: the "
     "protocol leaves them to the harness"),
    ("never_sent", "never sent",
     "a request PROTOCOL.md rules out: `timeout_ms` missing or not positive, a `base_url` with "
     "https, a path or IPv6 brackets, no `input`, a vendor not in `ready`, a line after `stop`, "
     "a line that is not a JSON object, a command other than `start`, `create_client`, `stop` "
     "(and the handlers of the harness-side errors these would cause)"),
    ("never_answered", "never answered",
     "an answer the vendors' specs rule out and the mock cannot give: a non-JSON body with "
     "another status than a fault's 200; an AgencyHandy 200 whose `failedMembers` indexes or "
     "`createdMembers` count do not add up, whose members are not objects, or whose failed "
     "members are not duplicates; a success with only some of its documented fields; a SmartLead "
     "400/422 saying \"already exist\"; a Cellcast 400 without its "
     "`error` object; an id that is empty or not a string; a body that is an array"),
    ("same_outcome", "same outcome",
     "another path to the same outcome: which of Node's `error`, `aborted`, `close` events or "
     "Python's watchdog reports a broken or late answer (`transport_error` either way), and "
     "`created` with an absent or a null id (no `id` in the JSON either way), a body that is not "
     "JSON read as absent (every vendor's reading makes it `unexpected_response`), JSON with or "
     "without `\\u` escapes, `Content-Length` set by hand or by `http.client`, a time-out of "
     "`timeout_ms / 1001` s"),
]


def classify(source, numbers):
    """{rule key or "review": [line numbers]}, and the source's lines."""
    lines = open(source).read().splitlines()
    planted = blocks(lines, r"\bMUTANTS?\b")
    diagnostic = blocks(lines, r"def retry_after_seconds|function retryAfterSeconds|def header\(|def log|function log|def main|function parseArgs|function main")
    never_sent = blocks(lines, NEVER_SENT.pattern)
    never_answered = blocks(lines, NEVER_ANSWERED.pattern)
    planted |= blocks(lines, PLANTED_ONLY.pattern)

    def guards(n, pattern):  # a catch/except block whose try is the line(s) just above
        text = lines[n - 1].strip()
        return text.startswith(("} catch", "except")) and any(pattern.search(lines[i]) for i in range(max(0, n - 3), n - 1))

    tests = {
        "planted": lambda n, text: n in planted,
        "diagnostics": lambda n, text: n in diagnostic or DIAGNOSTIC.search(text),
        "never_sent": lambda n, text: n in never_sent or guards(n, NEVER_SENT_GUARDS)
        or (text.strip() in ("} else {", "else:") and n < len(lines) and "unknown cmd" in lines[n]),
        "never_answered": lambda n, text: n in never_answered,
        "same_outcome": lambda n, text: SAME_OUTCOME.search(text) or guards(n, SAME_OUTCOME_GUARDS),
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
