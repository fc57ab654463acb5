//! Harness protocol v1: the messages between the suite and a client under test, the
//! [`ClientUnderTest`] trait for in-process Rust clients, and the published JSON Schema.
//!
//! The wire format is newline-delimited JSON, documented in `conformance/PROTOCOL.md`; the
//! schema is `conformance/protocol.schema.json`. Receivers ignore fields they do not know.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The protocol version this suite speaks.
pub const PROTOCOL_VERSION: u64 = 1;

/// The published JSON Schema of every message (`$defs` per message).
pub const PROTOCOL_SCHEMA: &str = include_str!("../protocol.schema.json");

/// `{"cmd":"start","version":1}`: the first line the suite sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Start {
    pub cmd: String,
    pub version: u64,
}

impl Default for Start {
    fn default() -> Self {
        Self { cmd: "start".into(), version: PROTOCOL_VERSION }
    }
}

/// Who the client is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Implementation {
    pub name: String,
    pub language: String,
    #[serde(default)]
    pub version: String,
}

/// The answer to `start`: the protocol version and the vendors the client supports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ready {
    pub ready: bool,
    pub version: u64,
    pub implementation: Implementation,
    pub vendors: Vec<String>,
}

impl Ready {
    /// A ready answer for protocol v1.
    pub fn new(name: &str, language: &str, version: &str, vendors: &[&str]) -> Self {
        Self {
            ready: true,
            version: PROTOCOL_VERSION,
            implementation: Implementation {
                name: name.to_owned(),
                language: language.to_owned(),
                version: version.to_owned(),
            },
            vendors: vendors.iter().map(|v| (*v).to_owned()).collect(),
        }
    }
}

/// `{"cmd":"create_client",...}`: create one client (a bulk vendor: one request's entries).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreateClient {
    pub cmd: String,
    pub seq: u64,
    pub vendor: String,
    /// `http://127.0.0.1:PORT`, no trailing slash: the vendor's paths go after it.
    pub base_url: String,
    /// Credential parts by the spec's names (`api_key`, `token`, `company_id`).
    pub credentials: BTreeMap<String, String>,
    /// The vendor's documented request body.
    pub input: Value,
    /// The time-out the client should give its own HTTP exchange (optional in the protocol).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
}

/// What a client made of the vendor's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ClientOutcome {
    /// Created; `id` is the id the vendor returned, when it returns one.
    Created {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<Value>,
    },
    /// The vendor rejected the input; `fields` names the offending fields where known.
    ValidationError {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        fields: Option<Vec<String>>,
    },
    Duplicate {},
    Unauthorized {},
    RateLimited {},
    ServerError {},
    TransportError {},
    UnexpectedResponse {},
    /// A bulk vendor's per-entry answer, in input order.
    Bulk {
        entries: Vec<ClientOutcome>,
    },
}

impl ClientOutcome {
    /// The `kind` word.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Created { .. } => "created",
            Self::ValidationError { .. } => "validation_error",
            Self::Duplicate {} => "duplicate",
            Self::Unauthorized {} => "unauthorized",
            Self::RateLimited {} => "rate_limited",
            Self::ServerError {} => "server_error",
            Self::TransportError {} => "transport_error",
            Self::UnexpectedResponse {} => "unexpected_response",
            Self::Bulk { .. } => "bulk",
        }
    }

    /// `created` with an id.
    pub fn created(id: impl Into<Value>) -> Self {
        Self::Created { id: Some(id.into()) }
    }
}

/// The answer to `create_client`.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// `{"seq":N,"outcome":{...}}`
    Outcome { seq: u64, outcome: ClientOutcome },
    /// `{"seq":N,"skipped":true,"message":...}`: the client does not do this case.
    Skipped { seq: u64, message: String },
    /// `{"seq":N,"errored":true,"context":{"message":...}}`: the harness itself failed.
    Errored { seq: u64, message: String, context: Value },
}

impl Reply {
    /// The `seq` it answers.
    pub fn seq(&self) -> u64 {
        match self {
            Self::Outcome { seq, .. } | Self::Skipped { seq, .. } | Self::Errored { seq, .. } => *seq,
        }
    }

    /// An errored reply with a message.
    pub fn errored(seq: u64, message: impl Into<String>) -> Self {
        let message = message.into();
        Self::Errored { seq, context: json!({ "message": message }), message }
    }

    /// The reply as its protocol JSON.
    pub fn to_json(&self) -> Value {
        match self {
            Self::Outcome { seq, outcome } => json!({ "seq": seq, "outcome": outcome }),
            Self::Skipped { seq, message } => json!({ "seq": seq, "skipped": true, "message": message }),
            Self::Errored { seq, context, .. } => json!({ "seq": seq, "errored": true, "context": context }),
        }
    }

    /// Reads a reply line's JSON; says what is wrong when it is not a reply.
    pub fn from_json(value: &Value) -> Result<Self, String> {
        let obj = value.as_object().ok_or("the answer is not a JSON object")?;
        let seq = obj.get("seq").and_then(Value::as_u64).ok_or("the answer has no integer `seq`")?;
        let has = |k: &str| obj.contains_key(k);
        match (has("outcome"), has("skipped"), has("errored")) {
            (true, false, false) => {
                let outcome = serde_json::from_value(obj["outcome"].clone())
                    .map_err(|e| format!("`outcome` is not a valid outcome: {e}"))?;
                Ok(Self::Outcome { seq, outcome })
            }
            (false, true, false) => {
                if obj.get("skipped") != Some(&Value::Bool(true)) {
                    return Err("`skipped` must be true".into());
                }
                let message = obj.get("message").and_then(Value::as_str).unwrap_or_default().to_owned();
                Ok(Self::Skipped { seq, message })
            }
            (false, false, true) => {
                if obj.get("errored") != Some(&Value::Bool(true)) {
                    return Err("`errored` must be true".into());
                }
                let context = obj.get("context").cloned().unwrap_or(Value::Null);
                let message = context.get("message").and_then(Value::as_str).unwrap_or_default().to_owned();
                Ok(Self::Errored { seq, message, context })
            }
            _ => Err("the answer must have exactly one of `outcome`, `skipped`, `errored`".into()),
        }
    }
}

/// A client under test, in-process: the same messages as the subprocess protocol.
///
/// Implement it for a Rust client and hand it to the runner as
/// [`Client::InProcess`](crate::Client::InProcess). A panic in `create_client` counts as a crash:
/// the case fails and the client is started again.
pub trait ClientUnderTest {
    /// Answers `start`: the version, who the client is, the vendors it supports.
    fn start(&mut self) -> Ready;
    /// Performs one create and says what came of it.
    fn create_client(&mut self, request: &CreateClient) -> Reply;
    /// Answers `stop` (release resources).
    fn stop(&mut self) {}
}

/// The protocol schema, compiled once per message.
#[derive(Debug)]
pub struct ProtocolSchema {
    validators: BTreeMap<&'static str, jsonschema::Validator>,
}

/// The messages the schema defines.
pub const MESSAGES: [&str; 6] = ["start", "ready", "create_client", "reply", "outcome", "stop"];

impl ProtocolSchema {
    /// Compiles every message's `$defs` entry.
    pub fn new() -> Result<Self, String> {
        let root: Value = serde_json::from_str(PROTOCOL_SCHEMA).map_err(|e| format!("protocol.schema.json: {e}"))?;
        let defs = root.get("$defs").cloned().ok_or("protocol.schema.json has no $defs")?;
        let mut validators = BTreeMap::new();
        for name in MESSAGES {
            let schema = json!({
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "$defs": defs,
                "$ref": format!("#/$defs/{name}"),
            });
            let validator = jsonschema::options()
                .with_draft(jsonschema::Draft::Draft202012)
                .build(&schema)
                .map_err(|e| format!("protocol.schema.json $defs/{name}: {e}"))?;
            validators.insert(name, validator);
        }
        Ok(Self { validators })
    }

    /// Checks a message against its definition; the errors, joined, when it does not conform.
    pub fn validate(&self, message: &str, value: &Value) -> Result<(), String> {
        let validator = self.validators.get(message).ok_or_else(|| format!("no message `{message}` in the schema"))?;
        let mut errors: Vec<String> = validator
            .iter_errors(value)
            .map(|e| {
                let at = e.instance_path().to_string();
                if at.is_empty() { e.to_string() } else { format!("{at}: {e}") }
            })
            .collect();
        // `oneOf` only says that no branch matched: name what is wrong inside the outcome.
        if let (false, "reply", Some(outcome)) = (errors.is_empty(), message, value.get("outcome"))
            && let Some(v) = self.validators.get("outcome")
        {
            errors.extend(v.iter_errors(outcome).map(|e| format!("/outcome{}: {e}", e.instance_path())));
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(format!("`{message}` message does not conform to protocol.schema.json: {}", errors.join("; ")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema() -> ProtocolSchema {
        ProtocolSchema::new().expect("the schema compiles")
    }

    #[test]
    fn the_issue_examples_conform_to_the_schema() {
        let s = schema();
        s.validate("start", &json!({"cmd":"start","version":1})).expect("start");
        s.validate(
            "ready",
            &json!({"ready":true,"version":1,"implementation":{"name":"x","language":"rust","version":"1"},"vendors":["smartlead"]}),
        )
        .expect("ready");
        s.validate(
            "create_client",
            &json!({"cmd":"create_client","seq":3,"vendor":"cellcast","base_url":"http://127.0.0.1:4010","credentials":{"token":"t"},"input":{}}),
        )
        .expect("create_client");
        s.validate("reply", &json!({"seq":3,"outcome":{"kind":"created","id":301}})).expect("created");
        s.validate(
            "reply",
            &json!({"seq":3,"outcome":{"kind":"bulk","entries":[{"kind":"created","id":"a"},{"kind":"duplicate"}]}}),
        )
        .expect("bulk");
        s.validate("reply", &json!({"seq":3,"skipped":true,"message":"no"})).expect("skipped");
        s.validate("reply", &json!({"seq":3,"errored":true,"context":{"message":"boom"}})).expect("errored");
        s.validate("stop", &json!({"cmd":"stop"})).expect("stop");
    }

    #[test]
    fn the_schema_rejects_what_the_protocol_forbids() {
        let s = schema();
        for bad in [
            json!({"seq":1,"outcome":{"kind":"maybe"}}),
            json!({"seq":1}),
            json!({"seq":1,"outcome":{"kind":"created"},"skipped":true}),
            json!({"seq":1,"outcome":{"kind":"bulk"}}),
            json!({"seq":1,"outcome":{"kind":"bulk","entries":[{"kind":"bulk","entries":[]}]}}),
            json!({"seq":"1","outcome":{"kind":"created"}}),
            json!({"seq":1,"errored":true}),
        ] {
            assert!(s.validate("reply", &bad).is_err(), "{bad} should not conform");
        }
        assert!(s.validate("ready", &json!({"ready":true,"version":2,"implementation":{},"vendors":[]})).is_err());
    }

    #[test]
    fn replies_round_trip_through_their_json() {
        let replies = [
            Reply::Outcome {
                seq: 1,
                outcome: ClientOutcome::Bulk {
                    entries: vec![ClientOutcome::created("x"), ClientOutcome::Duplicate {}],
                },
            },
            Reply::Skipped { seq: 2, message: "not mine".into() },
            Reply::errored(3, "boom"),
            Reply::Outcome { seq: 4, outcome: ClientOutcome::ValidationError { fields: Some(vec!["email".into()]) } },
        ];
        for reply in replies {
            let json = reply.to_json();
            schema().validate("reply", &json).expect("conforms");
            assert_eq!(Reply::from_json(&json), Ok(reply));
        }
    }

    #[test]
    fn unknown_fields_of_an_outcome_are_ignored() {
        let reply = Reply::from_json(&json!({"seq":1,"outcome":{"kind":"rate_limited","retry_after":30}}));
        assert_eq!(reply, Ok(Reply::Outcome { seq: 1, outcome: ClientOutcome::RateLimited {} }));
    }
}
