//! The checks against hand-made journal entries.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use vendor_mock::{Entry, HeaderCaseSeen};

use super::{Context, HIDDEN};
use crate::judge::evaluate;
use crate::model::{Call, Case, Scenario};
use crate::properties as p;
use crate::protocol::CreateClient;
use crate::vendor::VendorModel;
use crate::verdict::{Verdict, Verdicts};

fn model(name: &str) -> VendorModel {
    let specs = vendor_mock::Specs::embedded().expect("embedded specs load");
    VendorModel::new(std::sync::Arc::clone(specs.vendor(name).expect("a vendor"))).expect("a model")
}

fn entry(model: &VendorModel, headers: &[(&str, &str)], query: Option<&str>, body: &Value) -> Entry {
    let entry = json!({
        "seq": 1, "at": "2025-12-01T10:00:00.000Z",
        "vendor": model.name(), "operation": model.create().id,
        "method": model.create().method.to_string(), "path": model.create().path,
        "query": query, "version": "HTTP/1.1",
        "headers": headers, "header_case": "raw", "body": body.to_string(),
        "status": 200, "response": {}, "outcome": {"kind": "created", "collection": "c", "ids": {}},
        "duration_us": 1,
    });
    serde_json::from_value(entry).expect("an Entry")
}

fn judge(model: &VendorModel, creds: &[(&str, &str)], input: &Value, e: Entry, masked: bool) -> Verdicts {
    let credentials: BTreeMap<String, String> = creds.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    let schema = crate::schema::compile(model.schema()).expect("compiles");
    let ctx = Context {
        vendor: model,
        schema: &schema,
        credentials: &credentials,
        client_timeout_ms: 5000,
        masked,
        require_vendors: false,
    };
    let case = Case::new(Scenario::Create, "", input.clone(), credentials.clone());
    let call = Call {
        request: CreateClient {
            cmd: "create_client".into(),
            seq: 1,
            vendor: model.name().to_owned(),
            base_url: "http://127.0.0.1:1".into(),
            credentials: credentials.clone(),
            input: input.clone(),
            timeout_ms: None,
        },
        reply: Ok(json!({"seq": 1, "outcome": {"kind": "created"}})),
        entries: vec![e],
        elapsed_ms: 3,
    };
    evaluate(&ctx, &case, &[call])
}

fn word(v: &Verdicts, id: &str) -> &'static str {
    v.get(id).map_or("none", Verdict::word)
}

const AH_CREDS: [(&str, &str); 2] = [("api_key", "ck_0123456789"), ("company_id", "64b7f0c2a1b2c3d4e5f60718")];

fn ah_input() -> Value {
    json!([{"firstName":"A","lastName":"B","email":"a@b.io","isConvertedClient":false}])
}

#[test]
fn the_header_case_is_checked_only_when_the_raw_names_are_known() {
    let m = model("agencyhandy");
    let headers = [
        ("x-api-key", "ck_0123456789"),
        ("companyid", "64b7f0c2a1b2c3d4e5f60718"),
        ("Content-Type", "application/json"),
    ];
    let e = entry(&m, &headers, None, &ah_input());
    let v = judge(&m, &AH_CREDS, &ah_input(), e.clone(), false);
    assert_eq!(word(&v, p::AUTH_HEADER_CASE.id), "fail");
    assert_eq!(word(&v, p::AUTH.id), "pass", "the name matches case-insensitively");
    let mut lowercase = e;
    lowercase.header_case = HeaderCaseSeen::Lowercase;
    let v = judge(&m, &AH_CREDS, &ah_input(), lowercase, false);
    match v.get(p::AUTH_HEADER_CASE.id) {
        Some(Verdict::Skip { reason }) => assert!(reason.contains("could not be checked"), "{reason}"),
        other => panic!("expected a skip, got {other:?}"),
    }
}

#[test]
fn a_credential_in_the_body_or_another_header_is_not_confined() {
    let m = model("agencyhandy");
    let input = json!([{"firstName":"ck_0123456789","lastName":"B","email":"a@b.io","isConvertedClient":false}]);
    let headers = [
        ("x-api-key", "ck_0123456789"),
        ("companyId", "64b7f0c2a1b2c3d4e5f60718"),
        ("X-Debug", "key=ck_0123456789"),
        ("Content-Type", "application/json"),
    ];
    let v = judge(&m, &AH_CREDS, &input, entry(&m, &headers, None, &input), false);
    match v.get(p::CREDENTIAL_CONFINED.id) {
        Some(Verdict::Fail { message, .. }) => {
            assert!(message.contains("in the body") && message.contains("header `X-Debug`"), "{message}");
        }
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[test]
fn a_query_credential_must_be_the_only_query_parameter_and_sent_once() {
    let m = model("smartlead");
    let input = json!({"email":"a@b.io","name":"x"});
    let creds = [("api_key", "ck_0123456789")];
    let ct = [("Content-Type", "application/json")];
    let ok = judge(&m, &creds, &input, entry(&m, &ct, Some("api_key=ck_0123456789"), &input), false);
    assert_eq!((word(&ok, p::ROUTE.id), word(&ok, p::AUTH.id)), ("pass", "pass"));
    let extra = judge(&m, &creds, &input, entry(&m, &ct, Some("api_key=ck_0123456789&debug=1"), &input), false);
    assert_eq!(word(&extra, p::ROUTE.id), "fail");
    let twice = judge(&m, &creds, &input, entry(&m, &ct, Some("api_key=ck_0123456789&api_key=x"), &input), false);
    assert_eq!(word(&twice, p::AUTH.id), "fail");
}

#[test]
fn a_bearer_scheme_is_case_insensitive_but_the_token_is_exact() {
    let m = model("cellcast");
    let input =
        json!({"name":"n","email":"a@b.io","password":"p","companyName":"c","industry":"i","isSharingCredit":true});
    let creds = [("token", "ck_0123456789")];
    for (value, expected) in
        [("bearer ck_0123456789", "pass"), ("Bearer ck_0123456780", "fail"), ("ck_0123456789", "fail")]
    {
        let headers = [("Authorization", value), ("Content-Type", "application/json")];
        let v = judge(&m, &creds, &input, entry(&m, &headers, None, &input), false);
        assert_eq!(word(&v, p::AUTH.id), expected, "{value}");
    }
}

#[test]
fn a_masking_journal_still_lets_credentials_and_passwords_match() {
    let m = model("cellcast");
    let input = json!({"name":"n","email":"a@b.io","password":"hunter2","companyName":"c","industry":"i","isSharingCredit":true});
    let mut shown = input.clone();
    shown["password"] = json!(HIDDEN);
    let creds = [("token", "ck_0123456789")];
    let headers = [("Authorization", "Bearer ck_0****"), ("Content-Type", "application/json")];
    let v = judge(&m, &creds, &input, entry(&m, &headers, None, &shown), true);
    assert_eq!((word(&v, p::AUTH.id), word(&v, p::BODY_CARRIED.id)), ("pass", "pass"));
    let v = judge(&m, &creds, &input, entry(&m, &headers, None, &shown), false);
    assert_eq!(word(&v, p::BODY_CARRIED.id), "fail", "without masking, `****` is not the password");
}
