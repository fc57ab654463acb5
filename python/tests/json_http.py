"""The one JSON POST the package's tests send, without a third-party HTTP client."""

import json
import urllib.error
import urllib.request


def post(url, path, body, headers):
    """POSTs `body` as JSON to `url + path`: (status, parsed answer), error statuses included."""
    request = urllib.request.Request(url + path, json.dumps(body).encode(), {"Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())
