"""`vendor_mock.MockServer` on its own: start, options, admin calls, stop."""

import json
import os
import socket
import urllib.error
import urllib.request

import pytest

from json_http import post
from vendor_mock import BinaryNotFound, MockError, MockServer, find_binary


def refused(url):
    host, port = url.removeprefix("http://").split(":")
    with socket.socket() as s:
        return s.connect_ex((host, int(port))) != 0


def test_it_serves_on_loopback_and_a_free_port_and_stops_on_exit():
    with MockServer() as first, MockServer() as second:
        assert first.url.startswith("http://127.0.0.1:") and first.url != second.url
        with urllib.request.urlopen(first.url + "/__admin/health", timeout=5) as answer:
            assert json.loads(answer.read())["status"] == "ok"
    assert refused(first.url) and refused(second.url)


def test_the_same_seed_gives_the_same_ids():
    ids = []
    for _ in range(2):
        with MockServer(seed=42) as mock:
            _, body = post(mock.url, "/api/v2/clients/create", {
                "client_users": [{"email": "u@example.com", "password": "pw"}],
                "client_asset_group": {"tenant_voice_provider_id": "VGVuYW50Vm9pY2VQcm92aWRlcjox"},
            }, {"Authorization": "Bearer t"})
            ids.append(body["data"]["client_id"])
            assert mock.records("voiceaiwrapper")[0]["client_id"] == body["data"]["client_id"]
    assert ids[0] == ids[1]


def test_a_revision_is_served_and_named_by_the_health_route():
    with MockServer(revision={"agencyhandy": "2026-07"}) as mock:
        with urllib.request.urlopen(mock.url + "/__admin/health", timeout=5) as answer:
            assert json.loads(answer.read())["revisions"]["agencyhandy"] == "2026-07"


def agencyhandy_create(mock, company_header):
    with urllib.request.urlopen(urllib.request.Request(mock.url + "/accounts/companies", headers={"x-api-key": "k"})) as a:
        company = json.loads(a.read())["companies"][0]["_id"]
    body = [{"firstName": "A", "lastName": "B", "email": "ab@example.com", "isConvertedClient": False}]
    # http.client keeps header names as given; urllib would capitalise them.
    import http.client

    host, port = mock.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=5)
    conn.request("POST", "/members/bulk-client", json.dumps(body),
                 {"x-api-key": "k", company_header: company, "Content-Type": "application/json"})
    status = conn.getresponse().status
    conn.close()
    return status


def test_header_case_strict_by_default_and_lenient_on_request():
    with MockServer() as strict, MockServer(header_case="lenient") as lenient:
        assert agencyhandy_create(strict, "companyid") == 401
        assert agencyhandy_create(lenient, "companyid") == 200


def test_inject_times_and_journal_filters():
    with MockServer() as mock:
        fault = mock.inject({"type": "rate_limited", "retry_after": 7}, vendor="cellcast", times=1)
        assert [f["id"] for f in mock.faults()] == [fault]
        body = {"name": "N", "email": "n@example.com", "password": "p", "companyName": "C", "industry": "I", "isSharingCredit": True}
        assert post(mock.url, "/api/v2/subClient/user", body, {"Authorization": "Bearer t"})[0] == 429
        assert post(mock.url, "/api/v2/subClient/user", body, {"Authorization": "Bearer t"})[0] == 200
        assert mock.faults() == []
        assert [e["status"] for e in mock.journal("cellcast")] == [429, 200]
        assert [e["status"] for e in mock.journal(status="4xx")] == [429]
        assert mock.journal("smartlead") == []
        mock.reset(vendor="cellcast")
        assert mock.records("cellcast") == []


def test_seeded_records_make_the_next_create_a_duplicate():
    with MockServer() as mock:
        mock.seed_records("smartlead", [{"email": "taken@example.com", "name": "T"}])
        status, _ = post(mock.url, "/api/v1/client/save?api_key=k", {"email": "taken@example.com", "name": "T"}, {})
        assert status == 409


def test_an_admin_token_is_sent_with_every_admin_request():
    with MockServer(admin_token="s3cret") as mock:
        assert mock.journal() == []
        with pytest.raises(urllib.error.HTTPError) as refused_without:
            urllib.request.urlopen(mock.url + "/__admin/requests", timeout=5)
        assert refused_without.value.code == 401


def test_a_bad_option_fails_to_start_with_the_mocks_own_message():
    with pytest.raises(MockError) as failed:
        MockServer(header_case="sideways").start()
    assert "sideways" in str(failed.value)


def test_a_missing_binary_is_named_with_how_to_get_it(monkeypatch, tmp_path):
    monkeypatch.setenv("VENDOR_MOCK_BIN", str(tmp_path / "nothing-here"))
    with pytest.raises(BinaryNotFound, match="VENDOR_MOCK_BIN"):
        find_binary("vendor-mock")


def test_the_installed_programs_are_found():
    for name in ("vendor-mock", "vendor-conformance"):
        path = find_binary(name)
        assert os.access(path, os.X_OK), path
