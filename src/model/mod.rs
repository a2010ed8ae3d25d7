//! Plain Rust types for the input contract (`events.md`) and their decoding
//! and validation from JSON and protobuf. No I/O happens here: the Kafka shell
//! hands in bytes and a header, and gets back a validated event or a
//! [`DecodeError`] that says why the record belongs on the dead-letter topic.

mod decode;

pub use decode::{decode_event, validate_platform_event, DecodeError, PayloadFormat};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The generated protobuf types of `proto/contactkpi/v1`.
pub mod proto {
    #![allow(clippy::all, missing_docs)]
    include!(concat!(env!("OUT_DIR"), "/contactkpi.v1.rs"));
}

/// Event time in UTC. The offset of the original timestamp does not matter
/// for any figure; windows are aligned by the configured time zone instead.
pub type Timestamp = DateTime<Utc>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Voice,
    Email,
    Chat,
}

impl Channel {
    pub const ALL: [Channel; 3] = [Channel::Voice, Channel::Email, Channel::Chat];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Voice => "voice",
            Channel::Email => "email",
            Channel::Chat => "chat",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "voice" => Some(Channel::Voice),
            "email" => Some(Channel::Email),
            "chat" => Some(Channel::Chat),
            _ => None,
        }
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Party {
    Customer,
    Agent,
}

impl Party {
    pub fn as_str(self) -> &'static str {
        match self {
            Party::Customer => "customer",
            Party::Agent => "agent",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Disposition {
    Resolved,
    Unresolved,
    Escalated,
    CallbackScheduled,
}

impl Disposition {
    pub fn as_str(self) -> &'static str {
        match self {
            Disposition::Resolved => "resolved",
            Disposition::Unresolved => "unresolved",
            Disposition::Escalated => "escalated",
            Disposition::CallbackScheduled => "callback_scheduled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "resolved" => Some(Disposition::Resolved),
            "unresolved" => Some(Disposition::Unresolved),
            "escalated" => Some(Disposition::Escalated),
            "callback_scheduled" => Some(Disposition::CallbackScheduled),
            _ => None,
        }
    }
}

/// One validated event of the input contract.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContactEvent {
    pub event_id: String,
    pub contact_id: String,
    pub channel: Channel,
    pub ts: Timestamp,
    pub kind: EventKind,
}

/// The type-specific part of an event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum EventKind {
    ContactStarted {
        customer_id: String,
        queue: Option<String>,
        language: Option<String>,
    },
    AgentJoined {
        agent_id: String,
    },
    Message {
        party: Party,
        agent_id: Option<String>,
        text: String,
        end_ts: Option<Timestamp>,
        raised_voice: bool,
    },
    Transfer {
        from_agent_id: String,
    },
    ContactEnded {
        disposition: Disposition,
        callback_due: Option<Timestamp>,
    },
    CallbackCompleted {
        agent_id: String,
    },
    Survey {
        csat: u8,
    },
}

impl EventKind {
    /// Every `type` name of the contract, in its order.
    pub const TYPE_NAMES: [&'static str; 7] = [
        "contact_started",
        "agent_joined",
        "message",
        "transfer",
        "contact_ended",
        "callback_completed",
        "survey",
    ];

    /// The contract's `type` name.
    pub fn type_name(&self) -> &'static str {
        match self {
            EventKind::ContactStarted { .. } => "contact_started",
            EventKind::AgentJoined { .. } => "agent_joined",
            EventKind::Message { .. } => "message",
            EventKind::Transfer { .. } => "transfer",
            EventKind::ContactEnded { .. } => "contact_ended",
            EventKind::CallbackCompleted { .. } => "callback_completed",
            EventKind::Survey { .. } => "survey",
        }
    }
}

impl ContactEvent {
    /// The event as one JSON object of the contract (the simulator, tests and
    /// `--to-file` write this).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::{json, Map, Value};
        let mut m = Map::new();
        m.insert("event_id".into(), json!(self.event_id));
        m.insert("contact_id".into(), json!(self.contact_id));
        m.insert("channel".into(), json!(self.channel.as_str()));
        m.insert("type".into(), json!(self.kind.type_name()));
        m.insert("ts".into(), json!(format_ts(self.ts)));
        match &self.kind {
            EventKind::ContactStarted {
                customer_id,
                queue,
                language,
            } => {
                m.insert("customer_id".into(), json!(customer_id));
                if let Some(q) = queue {
                    m.insert("queue".into(), json!(q));
                }
                if let Some(l) = language {
                    m.insert("language".into(), json!(l));
                }
            }
            EventKind::AgentJoined { agent_id } | EventKind::CallbackCompleted { agent_id } => {
                m.insert("agent_id".into(), json!(agent_id));
            }
            EventKind::Message {
                party,
                agent_id,
                text,
                end_ts,
                raised_voice,
            } => {
                m.insert("party".into(), json!(party.as_str()));
                if let Some(a) = agent_id {
                    m.insert("agent_id".into(), json!(a));
                }
                m.insert("text".into(), json!(text));
                if let Some(e) = end_ts {
                    m.insert("end_ts".into(), json!(format_ts(*e)));
                }
                if *raised_voice {
                    m.insert("raised_voice".into(), json!(true));
                }
            }
            EventKind::Transfer { from_agent_id } => {
                m.insert("from_agent_id".into(), json!(from_agent_id));
            }
            EventKind::ContactEnded {
                disposition,
                callback_due,
            } => {
                m.insert("disposition".into(), json!(disposition.as_str()));
                if let Some(d) = callback_due {
                    m.insert("callback_due".into(), json!(format_ts(*d)));
                }
            }
            EventKind::Survey { csat } => {
                m.insert("csat".into(), json!(csat));
            }
        }
        Value::Object(m)
    }

    /// The same event as a protobuf record of the contract.
    pub fn to_proto(&self) -> proto::ContactEvent {
        let mut p = proto::ContactEvent {
            event_id: self.event_id.clone(),
            contact_id: self.contact_id.clone(),
            channel: self.channel.as_str().into(),
            r#type: self.kind.type_name().into(),
            ts: format_ts(self.ts),
            ..Default::default()
        };
        match &self.kind {
            EventKind::ContactStarted {
                customer_id,
                queue,
                language,
            } => {
                p.customer_id = Some(customer_id.clone());
                p.queue = queue.clone();
                p.language = language.clone();
            }
            EventKind::AgentJoined { agent_id } | EventKind::CallbackCompleted { agent_id } => {
                p.agent_id = Some(agent_id.clone());
            }
            EventKind::Message {
                party,
                agent_id,
                text,
                end_ts,
                raised_voice,
            } => {
                p.party = Some(party.as_str().into());
                p.agent_id = agent_id.clone();
                p.text = Some(text.clone());
                p.end_ts = end_ts.map(format_ts);
                p.raised_voice = raised_voice.then_some(true);
            }
            EventKind::Transfer { from_agent_id } => p.from_agent_id = Some(from_agent_id.clone()),
            EventKind::ContactEnded {
                disposition,
                callback_due,
            } => {
                p.disposition = Some(disposition.as_str().into());
                p.callback_due = callback_due.map(format_ts);
            }
            EventKind::Survey { csat } => p.csat = Some(i32::from(*csat)),
        }
        p
    }
}

/// RFC 3339 in UTC with millisecond precision, as the simulator writes it.
pub fn format_ts(ts: Timestamp) -> String {
    ts.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Whole milliseconds from `from` to `to` (the exact difference, truncated
/// toward zero): the unit of every duration figure.
pub fn millis_between(from: Timestamp, to: Timestamp) -> i64 {
    (to - from).num_milliseconds()
}
