"""A client with a crash: it reads Cellcast's credential under the wrong name (KeyError)."""

VENDORS = ["cellcast"]


def create_client(req):
    token = req["credentials"]["api_key"]  # Cellcast's credential part is `token`
    return {"kind": "created", "id": token}
