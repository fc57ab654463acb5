import http.client, json, urllib.error, urllib.parse, urllib.request
VENDORS = ["smartlead"]
KINDS = {400: "validation_error", 401: "unauthorized", 409: "duplicate", 422: "validation_error", 429: "rate_limited"}
def create_client(req):
    url = f"{req['base_url']}/api/v1/client/save?api_key={urllib.parse.quote(req['credentials']['api_key'])}"
    post = urllib.request.Request(url, json.dumps(req["input"]).encode(), {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(post, timeout=req["timeout_ms"] / 1000) as answer:
            return {"kind": "created", "id": json.loads(answer.read())["data"]["id"]}
    except urllib.error.HTTPError as e:
        return {"kind": "server_error" if e.code >= 500 else KINDS.get(e.code, "unexpected_response")}
    except (OSError, http.client.HTTPException):
        return {"kind": "transport_error"}
    except (ValueError, KeyError, TypeError):
        return {"kind": "unexpected_response"}
