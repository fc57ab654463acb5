"""The `vendor_mock` fixture, used the way a team's tests use it: a client talks to the mock's
URL, the test reads the journal and records, resets, injects faults."""

from json_http import post

SMARTLEAD = "/api/v1/client/save"


def create(url, api_key, email):
    """A SmartLead create: (status, body)."""
    return post(url, f"{SMARTLEAD}?api_key={api_key}", {"email": email, "name": "Acme"}, {})


def test_a_create_succeeds_and_is_journalled_and_stored(vendor_mock):
    status, body = create(vendor_mock.url, "key-1", "ada@example.com")
    assert status == 200 and body["ok"] is True
    [entry] = vendor_mock.journal()
    assert (entry["vendor"], entry["method"], entry["path"], entry["status"]) == ("smartlead", "POST", SMARTLEAD, 200)
    assert entry["outcome"]["kind"] == "created"
    assert [r["email"] for r in vendor_mock.records("smartlead")] == ["ada@example.com"]


def test_the_same_email_twice_gets_smartleads_duplicate_answer(vendor_mock):
    assert create(vendor_mock.url, "key-1", "ada@example.com")[0] == 200
    status, body = create(vendor_mock.url, "key-2", "ADA@example.com")
    assert status == 409 and body["error"] == "Conflict", body
    assert [e["status"] for e in vendor_mock.journal("smartlead")] == [200, 409]
    assert len(vendor_mock.records("smartlead")) == 1


def test_reset_forgets_records_journal_and_faults(vendor_mock):
    create(vendor_mock.url, "key-1", "ada@example.com")
    vendor_mock.inject({"type": "status", "status": 500}, vendor="cellcast")
    vendor_mock.reset()
    assert vendor_mock.journal() == [] and vendor_mock.records("smartlead") == [] and vendor_mock.faults() == []
    assert create(vendor_mock.url, "key-1", "ada@example.com")[0] == 200, "the e-mail is free again"


def test_an_injected_503_answers_once_with_the_vendors_body_then_the_mock_is_normal_again(vendor_mock):
    vendor_mock.inject({"type": "status", "status": 503}, vendor="smartlead", times=1)
    status, body = create(vendor_mock.url, "key-1", "ada@example.com")
    assert status == 503 and {"statusCode", "error", "message"} <= body.keys(), body  # SmartLead's Boom body
    assert create(vendor_mock.url, "key-1", "ada@example.com")[0] == 200
    assert [e["status"] for e in vendor_mock.journal()] == [503, 200]
    assert vendor_mock.journal()[0]["outcome"]["kind"] == "fault"


def test_a_test_after_others_starts_from_a_clean_mock(vendor_mock):
    # The tests above left records, journal entries and faults behind.
    create(vendor_mock.url, "key-1", "left@example.com")
    vendor_mock.inject({"type": "reset"}, vendor="voiceaiwrapper")


def test_and_the_next_test_sees_none_of_it(vendor_mock):
    assert vendor_mock.journal() == []
    assert vendor_mock.records("smartlead") == []
    assert vendor_mock.faults() == []


SERVERS_SEEN = set()


def test_every_test_gets_the_sessions_one_server(vendor_mock):
    SERVERS_SEEN.add(vendor_mock.url)
    assert vendor_mock.url.startswith("http://127.0.0.1:")


def test_so_a_clean_mock_is_a_reset_not_a_restart(vendor_mock):
    SERVERS_SEEN.add(vendor_mock.url)
    assert len(SERVERS_SEEN) == 1, SERVERS_SEEN
