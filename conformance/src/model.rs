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
    /// A record holding one unique value of the input created first, or two entries of the input
    /// sharing one: duplicate (per entry for a bulk vendor).
    Duplicate,
    /// The same input twice.
    Sequence,
    /// A credential the vendor refuses: a rejected prefix (`expired…`), or a part left empty.
    Unauthorized,
    /// A 403: a tenant credential that is not the account's, or a credential the vendor
    /// knows but denies the permission (a forbidden prefix).
    Forbidden,
    /// An input breaking one schema constraint.
    Validation,
    /// A 429: injected, or the vendor's own rate limit used up first.
    RateLimited,
    /// An injected 5xx.
    ServerError,
    /// A reset connection or an empty reply.
    Transport,
    /// A non-JSON or truncated body.
    Garbage,
    /// An answer later than the client's time-out: `transport_error`, in time.
    Timeout,
    /// An answer the vendor never gives to a create (a status it does not document for one, a
    /// 4xx that is not JSON, a success without its documented shape): `unexpected_response`.
    Undocumented,
}

impl Scenario {
    pub const ALL: [Self; 12] = [
        Self::Create,
        Self::Duplicate,
        Self::Sequence,
        Self::Unauthorized,
        Self::Forbidden,
        Self::Validation,
        Self::RateLimited,
        Self::ServerError,
        Self::Transport,
        Self::Garbage,
        Self::Timeout,
        Self::Undocumented,
    ];

    /// The scenario whose outcome an answer with this status documents, for a vendor's
    /// documented example answer the suite injects: 400 and 422 a validation error, 401 and 403
    /// a refused credential, 409 a duplicate, 429 a rate limit, 5xx a server error; other
    /// statuses document no outcome (`None`: not injected).
    pub fn documented_by(status: u16) -> Option<Self> {
        match status {
            400 | 422 => Some(Self::Validation),
            401 => Some(Self::Unauthorized),
            403 => Some(Self::Forbidden),
            409 => Some(Self::Duplicate),
            429 => Some(Self::RateLimited),
            500..=599 => Some(Self::ServerError),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Duplicate => "duplicate",
            Self::Sequence => "sequence",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::Validation => "validation",
            Self::RateLimited => "rate_limited",
            Self::ServerError => "server_error",
            Self::Transport => "transport",
            Self::Garbage => "garbage",
            Self::Timeout => "timeout",
            Self::Undocumented => "undocumented",
        }
    }
}

/// A refusal of the vendor's that a case sets up (the spec declares each).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Refusal {
    /// The credential part's value starts with a prefix the vendor refuses (`expired…`): 401.
    RejectedPrefix { part: String, prefix: String },
    /// The credential part's value starts with a prefix the vendor knows but denies the
    /// permission (`x-mock.auth.forbidden_prefixes`: `forbidden…`): 403.
    ForbiddenPrefix { part: String, prefix: String },
    /// The credential part is given empty (a key the caller did not set): 401.
    Empty { part: String },
    /// The tenant credential part names a tenant of another account: 403.
    ForeignTenant { part: String },
    /// The suite first sends requests with the same credential until the vendor refuses one,
    /// using up its rate limit of `requests` per `window_seconds`: 429.
    RateLimit { requests: u32, window_seconds: u64 },
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
    /// Which variant of the scenario (`rule:mobile`, `within:email`, `prefix:expired:api_key`,
    /// `empty:company_id`, `format`, `limit`, `reset`, …): each gets its share of the cases.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub variant: String,
    /// The request body the client is asked to send.
    pub input: Value,
    /// The credential values the client is given, by part (tenant parts are looked up on the
    /// mock when the case runs).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub credentials: BTreeMap<String, String>,
    /// The body the suite creates first, with the same credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub precreate: Option<Value>,
    /// The fault the mock answers with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<Effect>,
    /// The constraint a negative input breaks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broken: Option<Broken>,
    /// The refusal the case sets up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refusal: Option<Refusal>,
    /// The time-out the client is given for this case, when it is not the run's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
}

impl Case {
    /// A case of a scenario with this input and credentials and nothing else set up.
    pub fn new(scenario: Scenario, variant: &str, input: Value, credentials: BTreeMap<String, String>) -> Self {
        Self {
            scenario,
            variant: variant.to_owned(),
            input,
            credentials,
            precreate: None,
            fault: None,
            broken: None,
            refusal: None,
            timeout_ms: None,
        }
    }
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
