"""smartlead_client with one planted bug: the 409 duplicate is reported as a validation error."""
import smartlead_client

VENDORS = smartlead_client.VENDORS


def create_client(req):
    outcome = smartlead_client.create_client(req)
    return {"kind": "validation_error"} if outcome["kind"] == "duplicate" else outcome
