//! AgencyHandy's case-exact `companyId` header, over raw TCP (HTTP/1.1 clients such as reqwest
//! lowercase header names, so the bytes are written by hand) and over HTTP/2 (curl, h2c).

use e2e::{Request, SAFETY, Server, read_response, seeded, serve, serve_embedded};
use serde_json::{Value, json};
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use vendor_mock::{HeaderCase, HeaderCaseSeen};

const KEY: &str = "ah_case_key";

async fn company(server: &Server) -> String {
    let response = server.send(&Request::get("/accounts/companies").header("x-api-key", KEY)).await;
    assert_eq!(response.status, 200, "{}", response.text());
    response.json()["companies"][0]["_id"].as_str().expect("a company id").to_owned()
}

/// One client named `first` with a unique e-mail.
fn client(first: &str) -> Value {
    json!([{
        "firstName": first,
        "lastName": "Case",
        "email": format!("{}@case.example.com", first.to_ascii_lowercase()),
        "isConvertedClient": false
    }])
}

/// A create whose company header is spelled `name`.
fn create(name: &str, company: &str, first: &str) -> Request {
    Request::post("/members/bulk-client").header("x-api-key", KEY).header(name, company).json(&client(first))
}

fn assert_authentication_error(status: u16, body: &Value, what: &str) {
    assert_eq!(status, 401, "{what}: {body}");
    assert_eq!(body["type"], "AuthenticationError", "{what}");
    assert_eq!(body["verification_status"], "FAILED", "{what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn company_id_spelled_exactly_is_accepted_and_any_other_case_gets_the_authentication_error() {
    let server = serve_embedded().await;
    let company = company(&server).await;
    let ok = server.send(&create("companyId", &company, "Exact")).await;
    assert_eq!(ok.status, 200, "{}", ok.text());
    assert_eq!(ok.json()["createdMembers"][0]["name"], "Exact Case");
    assert_eq!(server.last_entry().header_case, HeaderCaseSeen::Raw, "the raw head was matched to the request");
    assert!(server.last_entry().headers.iter().any(|(n, _)| n == "companyId"), "the journal keeps the wire case");

    for name in ["companyid", "CompanyId", "COMPANYID"] {
        let response = server.send(&create(name, &company, name)).await;
        let body = response.json();
        assert_authentication_error(response.status, &body, name);
        let message = body["message"].as_str().unwrap_or_default();
        assert!(message.contains(name) && message.contains("companyId"), "{name}: the message names both: {message}");
    }
    let records = server.mock.records("agencyhandy").expect("agencyhandy exists");
    assert_eq!(records["clients"].as_array().map(Vec::len), Some(1), "only the exact spelling created a client");

    // Only `companyId` is case-exact: the key's header name may be sent in any case.
    for (n, key_name) in ["X-API-KEY", "X-Api-Key"].into_iter().enumerate() {
        let request = Request::post("/members/bulk-client")
            .header(key_name, KEY)
            .header("companyId", &company)
            .json(&client(&format!("Key{n}")));
        let response = server.send(&request).await;
        assert_eq!(response.status, 200, "{key_name}: {}", response.text());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelined_requests_with_alternating_case_on_one_connection_each_get_their_own_answer_in_order() {
    let server = serve_embedded().await;
    let company = company(&server).await;
    let sent = [("companyId", "Alpha"), ("companyid", "Bravo"), ("companyId", "Charlie"), ("COMPANYID", "Delta")];
    let mut wire = Vec::new();
    for (name, first) in sent {
        wire.extend(create(name, &company, first).to_wire(server.addr));
    }
    let exchange = async {
        let mut stream = TcpStream::connect(server.addr).await.expect("connect");
        stream.write_all(&wire).await.expect("one write holds every request");
        let mut reader = BufReader::new(stream);
        let mut answers = Vec::new();
        for _ in sent {
            answers.push(read_response(&mut reader).await.expect("an answer per request"));
        }
        answers
    };
    let answers = tokio::time::timeout(SAFETY, exchange).await.expect("the mock answers within the safety bound");
    for ((name, first), response) in sent.iter().zip(&answers) {
        let body = response.json();
        if *name == "companyId" {
            assert_eq!(response.status, 200, "{first}: {body}");
            assert_eq!(body["createdMembers"][0]["name"], format!("{first} Case"), "answers come in request order");
        } else {
            assert_authentication_error(response.status, &body, first);
        }
    }
    let records = server.mock.records("agencyhandy").expect("agencyhandy exists");
    let names: Vec<&str> =
        records["clients"].as_array().into_iter().flatten().filter_map(|r| r["firstName"].as_str()).collect();
    assert_eq!(names, ["Alpha", "Charlie"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chunked_request_body_keeps_the_exact_header_case() {
    let server = serve_embedded().await;
    let company = company(&server).await;
    let body = serde_json::to_vec(&client("Chunked")).expect("serialize");
    let (first, second) = body.split_at(body.len() / 2);
    let mut chunked = Vec::new();
    for part in [first, second] {
        chunked.extend(format!("{:x}\r\n", part.len()).into_bytes());
        chunked.extend_from_slice(part);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let request = Request::post("/members/bulk-client")
        .header("x-api-key", KEY)
        .header("companyId", &company)
        .header("Content-Type", "application/json")
        .header("Transfer-Encoding", "chunked")
        .body(chunked.clone());
    let response = server.send(&request).await;
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.json()["createdMembers"][0]["name"], "Chunked Case");

    let lowercase = Request::post("/members/bulk-client")
        .header("x-api-key", KEY)
        .header("companyid", &company)
        .header("Content-Type", "application/json")
        .header("Transfer-Encoding", "chunked")
        .body(chunked);
    let response = server.send(&lowercase).await;
    assert_authentication_error(response.status, &response.json(), "chunked with companyid");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expect_100_continue_gets_the_interim_answer_before_the_body_is_sent() {
    let server = serve_embedded().await;
    let company = company(&server).await;
    let body = serde_json::to_vec(&client("Patient")).expect("serialize");
    let request = create("companyId", &company, "Patient").header("Expect", "100-continue");
    let wire = request.to_wire(server.addr);
    let head = &wire[..wire.len() - body.len()];
    let exchange = async {
        let mut stream = TcpStream::connect(server.addr).await.expect("connect");
        stream.write_all(head).await.expect("send the head only");
        let mut reader = BufReader::new(stream);
        let interim = read_response(&mut reader).await.expect("an interim answer");
        reader.get_mut().write_all(&body).await.expect("send the body");
        let last = read_response(&mut reader).await.expect("the final answer");
        (interim, last)
    };
    let (interim, last) = tokio::time::timeout(SAFETY, exchange).await.expect("the mock answers within the bound");
    assert_eq!(interim.status, 100, "100 Continue comes before the body");
    assert_eq!(last.status, 200, "{}", last.text());
    assert_eq!(last.json()["createdMembers"][0]["name"], "Patient Case");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lenient_header_case_accepts_companyid_in_any_case() {
    let server =
        serve(vendor_mock::Specs::embedded().expect("specs"), seeded(1).header_case(HeaderCase::Lenient)).await;
    let company = company(&server).await;
    for (n, name) in ["companyid", "CompanyId", "COMPANYID", "companyId"].into_iter().enumerate() {
        let response = server.send(&create(name, &company, &format!("Lenient{n}"))).await;
        assert_eq!(response.status, 200, "{name}: {}", response.text());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_lowercases_header_names_like_reqwest_gets_the_authentication_error_in_strict_mode() {
    let server = serve_embedded().await;
    let company = company(&server).await;
    let response = reqwest::Client::new()
        .post(format!("http://{}/members/bulk-client", server.addr))
        .header("x-api-key", KEY)
        .header("companyId", &company)
        .json(&client("Reqwest"))
        .send()
        .await
        .expect("the mock answers");
    let status = response.status().as_u16();
    let body: Value = response.json().await.expect("JSON");
    assert_authentication_error(status, &body, "reqwest");
    let entry = server.last_entry();
    assert!(entry.headers.iter().any(|(n, _)| n == "companyid"), "reqwest sent `companyid`: {:?}", entry.headers);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_http2_header_names_are_lowercase_by_protocol_so_companyid_is_accepted() {
    let server = serve_embedded().await;
    let company = company(&server).await;
    let url = format!("http://{}/members/bulk-client", server.addr);
    let body = client("Hyper").to_string();
    let curl = tokio::task::spawn_blocking(move || {
        std::process::Command::new("curl")
            .args(["--silent", "--show-error", "--http2-prior-knowledge", "--max-time", "10"])
            .args(["--write-out", "\n%{http_code} %{http_version}"])
            .args(["-H", &format!("x-api-key: {KEY}"), "-H", &format!("companyid: {company}")])
            .args(["-H", "content-type: application/json", "--data-binary", &body, &url])
            .output()
    });
    let output = curl.await.expect("the curl task ends").expect("curl runs (it is needed for the h2c test)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "curl: {stdout} {}", String::from_utf8_lossy(&output.stderr));
    let (body, status_line) = stdout.rsplit_once('\n').expect("curl prints the status after the body");
    assert_eq!(status_line, "200 2", "status and HTTP version; body {body}");
    let body: Value = serde_json::from_str(body).expect("JSON");
    assert_eq!(body["createdMembers"][0]["name"], "Hyper Case");

    let entry = server.last_entry();
    assert_eq!(entry.header_case, HeaderCaseSeen::Lowercase);
    assert_eq!(entry.version, "HTTP/2.0");
    assert_eq!(entry.status, 200);
}

/// Sends `companyid` (wrong case) with an absolute-form target, as a client configured with an
/// HTTP proxy pointing at the mock does, then an origin-form request on the same connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_absolute_form_request_target_still_gets_the_authentication_error_for_companyid() {
    let server = serve_embedded().await;
    let company = company(&server).await;
    let mut absolute = create("companyid", &company, "Proxied");
    absolute.target = format!("http://{}/members/bulk-client", server.addr);
    let then = create("companyid", &company, "After");
    let mut wire = absolute.to_wire(server.addr);
    wire.extend(then.to_wire(server.addr));
    let exchange = async {
        let mut stream = TcpStream::connect(server.addr).await.expect("connect");
        stream.write_all(&wire).await.expect("write both requests");
        let mut reader = BufReader::new(stream);
        let first = read_response(&mut reader).await.expect("first answer");
        let second = read_response(&mut reader).await.expect("second answer");
        (first, second)
    };
    let (first, second) = tokio::time::timeout(SAFETY, exchange).await.expect("the mock answers within the bound");
    assert_authentication_error(first.status, &first.json(), "absolute-form target with companyid");
    assert_authentication_error(second.status, &second.json(), "origin-form companyid on the same connection");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_head_over_64_kib_and_under_hyper_limit_still_gets_the_authentication_error_for_companyid() {
    let server = serve_embedded().await;
    let company = company(&server).await;
    let padded = create("companyid", &company, "Padded").header("X-Padding", &"p".repeat(70 * 1024));
    let response = server.send(&padded).await;
    assert_authentication_error(response.status, &response.json(), "70 KiB head with companyid");
}
