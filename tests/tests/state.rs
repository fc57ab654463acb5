//! State: what was created stays created; uniqueness scopes (platform or per credential) hold
//! across accounts and under 100 concurrent creates; seeded mocks are deterministic.

use e2e::{Server, VendorSpec, embedded, seeded, send, serve, serve_embedded};
use serde_json::Value;
use vendor_mock::Entry;

fn outcome(entry: &Entry) -> Value {
    serde_json::to_value(&entry.outcome).expect("an outcome serializes")
}

/// How many records an outcome created and how many entries it refused as duplicates.
fn created_and_duplicates(entry: &Entry) -> (usize, usize) {
    let o = outcome(entry);
    match o["kind"].as_str() {
        Some("created") => (1, 0),
        Some("duplicate") => (0, 1),
        Some("bulk") => (
            o["created"].as_u64().and_then(|n| usize::try_from(n).ok()).unwrap_or_default(),
            o["failed"].as_array().map_or(0, Vec::len),
        ),
        _ => panic!("{} {}: not a create outcome: {o}", entry.method, entry.path),
    }
}

fn records(server: &Server, spec: &VendorSpec) -> Vec<Value> {
    let all = server.mock.records(&spec.name).expect("the vendor exists");
    all[spec.create_op().collection()].as_array().cloned().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_was_created_stays_created_and_platform_scoped_values_clash_across_credentials_unlike_credential_scoped_ones()
 {
    let specs = embedded();
    for spec in VendorSpec::all(&specs) {
        let server = serve(specs.clone(), seeded(1)).await;
        let op = spec.create_op();
        let example = op.example();
        let a = spec.account(server.addr, "a").await;
        let b = spec.account(server.addr, "b").await;

        let first = server.send(&spec.create(&a, &example)).await;
        assert_eq!(first.status, op.success_status(), "{}: {}", spec.name, first.text());
        assert_eq!(created_and_duplicates(&server.last_entry()), (op.records_of(&example).len(), 0));
        let stored = records(&server, &spec);
        assert_eq!(stored.len(), op.records_of(&example).len(), "{}: the created record is kept", spec.name);
        let sent_values = op.unique_values(&example);
        let kept_values: Vec<_> = stored.iter().flat_map(|r| op.unique_values(r)).collect();
        assert_eq!(kept_values, sent_values, "{}: the record holds the unique values sent", spec.name);

        // The same values under another credential.
        let platform_wide = op.unique_rules().iter().any(|r| r.scope == vendor_mock::spec::Scope::Platform);
        let other = server.send(&spec.create(&b, &example)).await;
        let (created, duplicates) = created_and_duplicates(&server.last_entry());
        if platform_wide {
            assert_eq!((created, duplicates), (0, 1), "{}: platform-wide values clash across keys", spec.name);
            assert_eq!(records(&server, &spec).len(), 1, "{}: nothing new is stored", spec.name);
        } else {
            assert_eq!(other.status, op.success_status(), "{}", spec.name);
            assert_eq!(
                (created, duplicates),
                (1, 0),
                "{}: credential-scoped values are free for another key",
                spec.name
            );
            assert_eq!(records(&server, &spec).len(), 2, "{}: both records are stored", spec.name);
        }

        // The same values again under the first credential, in another letter case.
        let mut shouting = example.clone();
        for rule in op.unique_rules() {
            op.rewrite(&mut shouting, &rule, &mut |v| v.to_uppercase());
        }
        server.send(&spec.create(&a, &shouting)).await;
        let (created, duplicates) = created_and_duplicates(&server.last_entry());
        assert_eq!((created, duplicates), (0, 1), "{}: values are compared case-insensitively", spec.name);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agencyhandy_emails_are_unique_per_company_so_another_key_may_reuse_one_but_not_the_same_key() {
    let server = serve_embedded().await;
    let spec = VendorSpec::of(&embedded(), "agencyhandy");
    let example = spec.create_op().example();
    let a = spec.account(server.addr, "a").await;
    let b = spec.account(server.addr, "b").await;
    assert_ne!(a.get("company_id"), b.get("company_id"), "two keys, two companies");
    for (creds, created, failed) in [(&a, 1, 0), (&b, 1, 0), (&a, 0, 1), (&b, 0, 1)] {
        let body = server.send(&spec.create(creds, &example)).await.json();
        assert_eq!(body["createdMembers"].as_array().map(Vec::len), Some(created), "{body}");
        assert_eq!(body["failedMembers"].as_array().map_or(0, Vec::len), failed, "{body}");
    }
    assert_eq!(records(&server, &spec).len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_hundred_concurrent_creates_sharing_one_email_make_exactly_one_record_per_vendor() {
    const N: usize = 100;
    let specs = embedded();
    for spec in VendorSpec::all(&specs) {
        let server = serve(specs.clone(), seeded(1)).await;
        let op = spec.create_op();
        let shared = op.unique_rules().first().expect("a create operation has a unique rule").name.clone();
        let creds = spec.account(server.addr, "race").await;
        let requests: Vec<_> =
            (0..N).map(|i| spec.create(&creds, &op.freshen(&op.example(), Some(&shared), i + 1))).collect();
        let tasks: Vec<_> =
            requests.into_iter().map(|r| tokio::spawn(async move { send(server.addr, &r).await })).collect();
        let mut statuses = Vec::new();
        for task in tasks {
            statuses.push(task.await.expect("a request task ends").status);
        }

        let entries: Vec<Entry> =
            server.mock.journal().into_iter().filter(|e| e.operation.as_deref() == Some(op.id().as_str())).collect();
        assert_eq!(entries.len(), N, "{}: the journal has every request", spec.name);
        let (created, duplicates) =
            entries.iter().map(created_and_duplicates).fold((0, 0), |t, c| (t.0 + c.0, t.1 + c.1));
        assert_eq!((created, duplicates), (1, N - 1), "{}: one winner, the rest duplicates", spec.name);
        assert_eq!(records(&server, &spec).len(), 1, "{}: exactly one record is stored", spec.name);
        let winners = statuses.iter().filter(|&&s| s == op.success_status()).count();
        if op.is_bulk() {
            assert_eq!(winners, N, "{}: a bulk create answers 200 even for duplicate entries", spec.name);
        } else {
            let rule = &op.unique_rules()[0];
            let losers = statuses.iter().filter(|&&s| s == spec.template_status(&rule.error)).count();
            assert_eq!((winners, losers), (1, N - 1), "{}: statuses {statuses:?}", spec.name);
        }
    }
}

/// The answers (status and raw body) to the same sequence of creates on every vendor.
async fn sequence(seed: u64) -> Vec<(u16, Vec<u8>)> {
    let specs = embedded();
    let server = serve(specs.clone(), seeded(seed)).await;
    let mut answers = Vec::new();
    for spec in VendorSpec::all(&specs) {
        let op = spec.create_op();
        let creds = spec.account(server.addr, "det").await;
        for body in [op.example(), op.freshen(&op.example(), None, 1), op.freshen(&op.example(), None, 2)] {
            let response = server.send(&spec.create(&creds, &body)).await;
            assert_eq!(response.status, op.success_status(), "{}: {}", spec.name, response.text());
            answers.push((response.status, response.body));
        }
    }
    answers
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_mocks_with_the_same_seed_give_identical_success_bodies_byte_for_byte() {
    let first = sequence(7).await;
    let second = sequence(7).await;
    assert_eq!(first.len(), second.len());
    for (a, b) in first.iter().zip(&second) {
        assert_eq!(String::from_utf8_lossy(&a.1), String::from_utf8_lossy(&b.1));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn different_seeds_give_different_generated_keys_and_ids() {
    let field = |answers: &[(u16, Vec<u8>)], pointer: &str| -> Vec<String> {
        answers
            .iter()
            .filter_map(|(_, body)| serde_json::from_slice::<Value>(body).ok())
            .filter_map(|v| v.pointer(pointer).and_then(Value::as_str).map(str::to_owned))
            .collect()
    };
    let seven = sequence(7).await;
    let other = sequence(1_000).await;
    let api_keys = (field(&seven, "/data/api_key"), field(&other, "/data/api_key"));
    assert_eq!(api_keys.0.len(), 3, "SmartLead answered three creates with an api_key");
    assert!(api_keys.0.iter().zip(&api_keys.1).all(|(a, b)| a != b), "api_keys differ: {api_keys:?}");
    let ids = (field(&seven, "/createdMembers/0/_id"), field(&other, "/createdMembers/0/_id"));
    assert_eq!(ids.0.len(), 3, "AgencyHandy answered three creates with an _id");
    assert!(ids.0.iter().zip(&ids.1).all(|(a, b)| a != b), "AgencyHandy ids differ: {ids:?}");
}
