//! The suite's domain model: scenarios, the cases generated for them, the exchanges with the
//! client, and a case once run.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use vendor_mock::{Effect, Entry};

use crate::protocol::{ClientOutcome, CreateClient, Reply};
use crate::verdict::Verdicts;

/// How a case is set up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scenario {
    /// A valid input, fresh credentials: success.
    Create,
    /// Some of the input pre-created by the suite: duplicate (per entry for a bulk vendor).
    Duplicate,
    /// The same input twice.
    Sequence,
    /// An `expired…` credential: 401.
    Unauthorized,
    /// An input breaking one schema constraint.
    Validation,
    /// An injected 429.
    RateLimited,
    /// An injected 5xx.
    ServerError,
    /// A reset connection or an empty reply.
    Transport,
    /// A non-JSON or truncated body.
    Garbage,
}

impl Scenario {
    pub const ALL: [Self; 9] = [
        Self::Create,
        Self::Duplicate,
        Self::Sequence,
        Self::Unauthorized,
        Self::Validation,
        Self::RateLimited,
        Self::ServerError,
        Self::Transport,
        Self::Garbage,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Duplicate => "duplicate",
            Self::Sequence => "sequence",
            Self::Unauthorized => "unauthorized",
            Self::Validation => "validation",
            Self::RateLimited => "rate_limited",
            Self::ServerError => "server_error",
            Self::Transport => "transport",
            Self::Garbage => "garbage",
        }
    }
}

/// The one constraint a negative input breaks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Broken {
    /// Where, as the mock names fields (`client_users[0].email`, `(body)` for the whole body).
    pub path: String,
    /// The schema keyword broken (`required`, `type`, `format`, `minimum`, …).
    pub constraint: String,
    /// In words.
    pub description: String,
}

/// One generated case: everything needed to run it again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Case {
    pub scenario: Scenario,
    /// The request body the client is asked to send.
    pub input: Value,
    /// Entries the suite creates first (a bulk vendor: their indexes; otherwise `[0]`, the input).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub precreate: Vec<usize>,
    /// The fault the mock answers with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<Effect>,
    /// The constraint a negative input breaks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broken: Option<Broken>,
}

/// One `create_client` exchange and what the mock saw during it.
#[derive(Debug, Clone)]
pub struct Call {
    pub request: CreateClient,
    /// The reply, or why there was none (a crash or time-out).
    pub reply: Result<Value, String>,
    /// The requests the mock journalled during the call, oldest first.
    pub entries: Vec<Entry>,
    pub elapsed_ms: u64,
}

impl Call {
    /// The client's outcome, when it replied with one.
    pub fn outcome(&self) -> Option<ClientOutcome> {
        match self.reply.as_ref().ok().map(Reply::from_json) {
            Some(Ok(Reply::Outcome { outcome, .. })) => Some(outcome),
            _ => None,
        }
    }

    /// The reply's kind for people and events (`created`, `bulk`, `no answer`, …).
    pub fn reported_word(&self) -> String {
        match &self.reply {
            Err(_) => "no answer".into(),
            Ok(v) => match Reply::from_json(v) {
                Ok(Reply::Outcome { outcome, .. }) => outcome.kind().into(),
                Ok(Reply::Skipped { .. }) => "skipped".into(),
                Ok(Reply::Errored { .. }) => "errored".into(),
                Err(_) => "unreadable".into(),
            },
        }
    }
}

/// A case run once, with everything the report needs.
#[derive(Debug, Clone)]
pub struct Executed {
    pub case: Case,
    /// Every credential part the client was given (tenants included).
    pub credentials: BTreeMap<String, String>,
    pub calls: Vec<Call>,
    pub verdicts: Verdicts,
    /// The harness's stderr tail, when it crashed during the case.
    pub stderr: Option<String>,
}
