//! Decoding of one Kafka record value into a validated [`ContactEvent`].
//!
//! JSON and protobuf are first read into the same flat "raw" shape and then
//! validated by one function, so the two formats cannot drift apart.

use super::{proto, Channel, ContactEvent, Disposition, EventKind, Party, Timestamp};
use chrono::DateTime;
use prost::Message;
use serde::Deserialize;
use thiserror::Error;

/// Which wire format a record is in, from its `content-type` header or the
/// configured default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PayloadFormat {
    Json,
    Protobuf,
    /// A value whose first non-whitespace byte is `{` is JSON, else protobuf.
    Auto,
}

impl PayloadFormat {
    /// The format named by a `content-type` header value, if it names one.
    pub fn from_content_type(value: &str) -> Option<Self> {
        let media = value
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        match media.as_str() {
            "application/json" => Some(PayloadFormat::Json),
            "application/x-protobuf" | "application/protobuf" => Some(PayloadFormat::Protobuf),
            _ => None,
        }
    }
}

/// Why a record cannot be used. Every variant sends the record to the
/// dead-letter topic; `reason()` is the short, fixed label used in headers
/// and metrics (never containing record content).
#[derive(Debug, Error, PartialEq)]
pub enum DecodeError {
    #[error("record value is {size} bytes, over the limit of {limit}")]
    TooLarge { size: usize, limit: usize },
    #[error("record has no value")]
    Empty,
    #[error("invalid json: {0}")]
    Json(String),
    #[error("invalid protobuf: {0}")]
    Protobuf(String),
    #[error("unsupported content-type header")]
    UnsupportedContentType,
    #[error("missing required field `{0}`")]
    MissingField(&'static str),
    #[error("unknown {field} `{value}`")]
    UnknownValue { field: &'static str, value: String },
    #[error("unparsable timestamp in `{field}`")]
    BadTimestamp { field: &'static str },
    #[error("csat {0} is outside 1..5")]
    CsatOutOfRange(i64),
    #[error("`{0}` is not a valid id (at most {MAX_ID_BYTES} bytes; agent ids without `/` or control characters)")]
    InvalidId(&'static str),
}

impl DecodeError {
    /// Every value `reason()` can return (metrics pre-create their series).
    pub const REASONS: [&'static str; 13] = [
        "too_large",
        "empty",
        "invalid_json",
        "invalid_protobuf",
        "unsupported_content_type",
        "missing_field",
        "unknown_type",
        "unknown_channel",
        "unknown_party",
        "unknown_value",
        "bad_timestamp",
        "csat_out_of_range",
        "invalid_id",
    ];

    pub fn reason(&self) -> &'static str {
        match self {
            DecodeError::TooLarge { .. } => "too_large",
            DecodeError::Empty => "empty",
            DecodeError::Json(_) => "invalid_json",
            DecodeError::Protobuf(_) => "invalid_protobuf",
            DecodeError::UnsupportedContentType => "unsupported_content_type",
            DecodeError::MissingField(_) => "missing_field",
            DecodeError::UnknownValue { field: "type", .. } => "unknown_type",
            DecodeError::UnknownValue {
                field: "channel", ..
            } => "unknown_channel",
            DecodeError::UnknownValue { field: "party", .. } => "unknown_party",
            DecodeError::UnknownValue { .. } => "unknown_value",
            DecodeError::BadTimestamp { .. } => "bad_timestamp",
            DecodeError::CsatOutOfRange(_) => "csat_out_of_range",
            DecodeError::InvalidId(_) => "invalid_id",
        }
    }
}

/// The flat shape both wire formats share before validation. Unknown JSON
/// fields are allowed: the contract permits additions.
#[derive(Debug, Default, Deserialize)]
struct RawEvent {
    event_id: Option<String>,
    contact_id: Option<String>,
    channel: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    ts: Option<String>,
    customer_id: Option<String>,
    queue: Option<String>,
    language: Option<String>,
    agent_id: Option<String>,
    party: Option<String>,
    text: Option<String>,
    end_ts: Option<String>,
    raised_voice: Option<bool>,
    from_agent_id: Option<String>,
    disposition: Option<String>,
    callback_due: Option<String>,
    csat: Option<i64>,
}

impl From<proto::ContactEvent> for RawEvent {
    fn from(p: proto::ContactEvent) -> Self {
        let non_empty = |s: String| (!s.is_empty()).then_some(s);
        RawEvent {
            event_id: non_empty(p.event_id),
            contact_id: non_empty(p.contact_id),
            channel: non_empty(p.channel),
            kind: non_empty(p.r#type),
            ts: non_empty(p.ts),
            customer_id: p.customer_id,
            queue: p.queue,
            language: p.language,
            agent_id: p.agent_id,
            party: p.party,
            text: p.text,
            end_ts: p.end_ts,
            raised_voice: p.raised_voice,
            from_agent_id: p.from_agent_id,
            disposition: p.disposition,
            callback_due: p.callback_due,
            csat: p.csat.map(i64::from),
        }
    }
}

/// Decodes and validates one record value.
///
/// `content_type` is the record's `content-type` header, if any; without it
/// `default_format` decides.
pub fn decode_event(
    value: Option<&[u8]>,
    content_type: Option<&str>,
    default_format: PayloadFormat,
    max_bytes: usize,
) -> Result<ContactEvent, DecodeError> {
    let bytes = value.ok_or(DecodeError::Empty)?;
    if bytes.len() > max_bytes {
        return Err(DecodeError::TooLarge {
            size: bytes.len(),
            limit: max_bytes,
        });
    }
    if bytes.is_empty() {
        return Err(DecodeError::Empty);
    }
    let format = match content_type {
        Some(ct) => {
            PayloadFormat::from_content_type(ct).ok_or(DecodeError::UnsupportedContentType)?
        }
        None => default_format,
    };
    // A UTF-8 byte-order mark (Windows tools write one) is not part of JSON.
    let json_bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let first = json_bytes.iter().find(|b| !b.is_ascii_whitespace());
    let format = match format {
        PayloadFormat::Auto => {
            if first == Some(&b'{') {
                PayloadFormat::Json
            } else {
                PayloadFormat::Protobuf
            }
        }
        f => f,
    };
    let raw: RawEvent = match format {
        PayloadFormat::Json => {
            // serde reads a struct from a JSON array too; the contract says object.
            if first != Some(&b'{') {
                return Err(DecodeError::Json("an event is a JSON object".into()));
            }
            serde_json::from_slice(json_bytes).map_err(|e| DecodeError::Json(e.to_string()))?
        }
        _ => proto::ContactEvent::decode(bytes)
            .map_err(|e| DecodeError::Protobuf(e.to_string()))?
            .into(),
    };
    validate(raw, Strictness::Contract)
}

/// How strictly [`validate`] reads an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Strictness {
    /// The input contract as written: an agent's message names its agent.
    Contract,
    /// An event a platform adapter built: some platforms' transcripts say
    /// only that a turn is the agent's (Amazon Connect's Contact Lens says
    /// `AGENT`), so the agent is whoever holds the contact at that moment.
    Platform,
}

/// Validates one event that a platform adapter built in the contract's JSON
/// shape (`adapters`): every rule of the contract applies, except that an
/// agent's message may leave `agent_id` out.
pub fn validate_platform_event(value: serde_json::Value) -> Result<ContactEvent, DecodeError> {
    if !value.is_object() {
        return Err(DecodeError::Json("an event is a JSON object".into()));
    }
    let raw: RawEvent =
        serde_json::from_value(value).map_err(|e| DecodeError::Json(e.to_string()))?;
    validate(raw, Strictness::Platform)
}

/// Longest identifier (`event_id`, `contact_id`, `customer_id`, agent ids):
/// ids are kept per contact and per customer in state and in keys, so one
/// record must not make them megabytes.
pub const MAX_ID_BYTES: usize = 256;

fn required(v: Option<String>, field: &'static str) -> Result<String, DecodeError> {
    match v {
        Some(s) if s.len() > MAX_ID_BYTES => Err(DecodeError::InvalidId(field)),
        Some(s) if !s.trim().is_empty() => Ok(s),
        _ => Err(DecodeError::MissingField(field)),
    }
}

/// A required value from a fixed set (`channel`, `type`, `party`,
/// `disposition`) or a time: an over-long one is not an id but a value
/// outside the set, reported with its first characters only.
fn required_value(v: Option<String>, field: &'static str) -> Result<String, DecodeError> {
    match v {
        Some(s) if s.len() > MAX_ID_BYTES => {
            let mut end = 32;
            while !s.is_char_boundary(end) {
                end -= 1;
            }
            let value = format!("{}… ({} bytes)", &s[..end], s.len());
            if field == "ts" {
                return Err(DecodeError::BadTimestamp { field });
            }
            Err(DecodeError::UnknownValue { field, value })
        }
        other => required(other, field),
    }
}

/// A required agent id. It becomes a segment of `/`-separated aggregate and
/// alert keys (`agent/{agent_id}/{channel}/…`) and a metric label, so a `/`
/// would make two agents' keys collide or misparse, and a control character
/// would corrupt logs and the text exposition.
fn agent_id(v: Option<String>, field: &'static str) -> Result<String, DecodeError> {
    let id = required(v, field)?;
    if id.chars().any(|c| c == '/' || c.is_control()) {
        return Err(DecodeError::InvalidId(field));
    }
    Ok(id)
}

/// Years an event time may have: windows and their RFC 3339 keys need
/// four-digit years with room for a week's window after the event.
const EVENT_YEARS: std::ops::RangeInclusive<i32> = 1970..=8999;

fn parse_ts(s: &str, field: &'static str) -> Result<Timestamp, DecodeError> {
    use chrono::Datelike;
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.to_utc())
        .ok()
        .filter(|t| EVENT_YEARS.contains(&t.year()))
        .ok_or(DecodeError::BadTimestamp { field })
}

fn optional_ts(v: Option<String>, field: &'static str) -> Result<Option<Timestamp>, DecodeError> {
    v.map(|s| parse_ts(&s, field)).transpose()
}

fn validate(raw: RawEvent, strictness: Strictness) -> Result<ContactEvent, DecodeError> {
    let event_id = required(raw.event_id, "event_id")?;
    let contact_id = required(raw.contact_id, "contact_id")?;
    let channel_name = required_value(raw.channel, "channel")?;
    let channel = Channel::parse(&channel_name).ok_or(DecodeError::UnknownValue {
        field: "channel",
        value: channel_name,
    })?;
    let type_name = required_value(raw.kind, "type")?;
    let ts = parse_ts(&required_value(raw.ts, "ts")?, "ts")?;
    let kind = match type_name.as_str() {
        "contact_started" => EventKind::ContactStarted {
            customer_id: required(raw.customer_id, "customer_id")?,
            queue: raw.queue,
            language: raw
                .language
                .map(|l| l.trim().to_ascii_lowercase())
                .filter(|l| !l.is_empty()),
        },
        "agent_joined" => EventKind::AgentJoined {
            agent_id: agent_id(raw.agent_id, "agent_id")?,
        },
        "message" => {
            let party_name = required_value(raw.party, "party")?;
            let party = match party_name.as_str() {
                "customer" => Party::Customer,
                "agent" => Party::Agent,
                _ => {
                    return Err(DecodeError::UnknownValue {
                        field: "party",
                        value: party_name,
                    })
                }
            };
            let agent_id = match party {
                Party::Agent if raw.agent_id.is_none() && strictness == Strictness::Platform => {
                    None
                }
                Party::Agent => Some(agent_id(raw.agent_id, "agent_id")?),
                // Not checked: a customer message's agent id is never used.
                Party::Customer => raw.agent_id,
            };
            EventKind::Message {
                party,
                agent_id,
                // A message without text (e.g. an attachment) is still a turn.
                text: raw.text.unwrap_or_default(),
                end_ts: optional_ts(raw.end_ts, "end_ts")?,
                raised_voice: raw.raised_voice.unwrap_or(false),
            }
        }
        "transfer" => EventKind::Transfer {
            from_agent_id: agent_id(raw.from_agent_id, "from_agent_id")?,
        },
        "contact_ended" => {
            let name = required_value(raw.disposition, "disposition")?;
            let disposition = Disposition::parse(&name).ok_or(DecodeError::UnknownValue {
                field: "disposition",
                value: name,
            })?;
            let callback_due = optional_ts(raw.callback_due, "callback_due")?;
            EventKind::ContactEnded {
                disposition,
                callback_due,
            }
        }
        "callback_completed" => EventKind::CallbackCompleted {
            agent_id: agent_id(raw.agent_id, "agent_id")?,
        },
        "survey" => {
            let csat = raw.csat.ok_or(DecodeError::MissingField("csat"))?;
            if !(1..=5).contains(&csat) {
                return Err(DecodeError::CsatOutOfRange(csat));
            }
            EventKind::Survey { csat: csat as u8 }
        }
        _ => {
            return Err(DecodeError::UnknownValue {
                field: "type",
                value: type_name,
            })
        }
    };
    Ok(ContactEvent {
        event_id,
        contact_id,
        channel,
        ts,
        kind,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: usize = 64 * 1024;

    fn json(s: &str) -> Result<ContactEvent, DecodeError> {
        decode_event(Some(s.as_bytes()), None, PayloadFormat::Auto, LIMIT)
    }

    #[test]
    fn decodes_the_contract_example() {
        let e = json(r#"{"event_id":"e4","contact_id":"c42","channel":"chat","type":"message","ts":"2026-11-22T09:01:10+01:00","party":"agent","agent_id":"a3","text":"Wat vervelend"}"#).unwrap();
        assert_eq!(e.channel, Channel::Chat);
        assert_eq!(e.ts.to_rfc3339(), "2026-11-22T08:01:10+00:00");
        match e.kind {
            EventKind::Message {
                party, agent_id, ..
            } => {
                assert_eq!(party, Party::Agent);
                assert_eq!(agent_id.as_deref(), Some("a3"));
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn protobuf_and_json_decode_to_the_same_event() {
        let e = json(r#"{"event_id":"e1","contact_id":"c1","channel":"voice","type":"contact_ended","ts":"2026-11-22T09:00:00Z","disposition":"callback_scheduled","callback_due":"2026-11-23T09:00:00Z"}"#).unwrap();
        let bytes = e.to_proto().encode_to_vec();
        let p = decode_event(
            Some(&bytes),
            Some("application/x-protobuf"),
            PayloadFormat::Json,
            LIMIT,
        )
        .unwrap();
        assert_eq!(e, p);
        let auto = decode_event(Some(&bytes), None, PayloadFormat::Auto, LIMIT).unwrap();
        assert_eq!(e, auto);
    }

    #[test]
    fn every_bad_input_rule_is_an_error_with_a_reason() {
        let cases = [
            ("not json", "invalid_json", r#"{"event_id":"#),
            (
                "missing ts",
                "missing_field",
                r#"{"event_id":"e","contact_id":"c","channel":"chat","type":"survey","csat":3}"#,
            ),
            (
                "unknown type",
                "unknown_type",
                r#"{"event_id":"e","contact_id":"c","channel":"chat","type":"hold","ts":"2026-11-22T09:00:00Z"}"#,
            ),
            (
                "unknown channel",
                "unknown_channel",
                r#"{"event_id":"e","contact_id":"c","channel":"fax","type":"survey","ts":"2026-11-22T09:00:00Z","csat":3}"#,
            ),
            (
                "unknown party",
                "unknown_party",
                r#"{"event_id":"e","contact_id":"c","channel":"chat","type":"message","ts":"2026-11-22T09:00:00Z","party":"bot","text":"x"}"#,
            ),
            (
                "bad ts",
                "bad_timestamp",
                r#"{"event_id":"e","contact_id":"c","channel":"chat","type":"survey","ts":"yesterday","csat":3}"#,
            ),
            (
                "csat 6",
                "csat_out_of_range",
                r#"{"event_id":"e","contact_id":"c","channel":"chat","type":"survey","ts":"2026-11-22T09:00:00Z","csat":6}"#,
            ),
            (
                "csat 0",
                "csat_out_of_range",
                r#"{"event_id":"e","contact_id":"c","channel":"chat","type":"survey","ts":"2026-11-22T09:00:00Z","csat":0}"#,
            ),
            (
                "agent message without agent",
                "missing_field",
                r#"{"event_id":"e","contact_id":"c","channel":"chat","type":"message","ts":"2026-11-22T09:00:00Z","party":"agent","text":"x"}"#,
            ),
            (
                "started without customer",
                "missing_field",
                r#"{"event_id":"e","contact_id":"c","channel":"chat","type":"contact_started","ts":"2026-11-22T09:00:00Z"}"#,
            ),
            (
                "year 9999",
                "bad_timestamp",
                r#"{"event_id":"e","contact_id":"c","channel":"chat","type":"survey","ts":"9999-12-31T23:00:00Z","csat":3}"#,
            ),
            (
                "before 1970",
                "bad_timestamp",
                r#"{"event_id":"e","contact_id":"c","channel":"chat","type":"survey","ts":"1969-12-31T23:00:00Z","csat":3}"#,
            ),
            (
                "no offset",
                "bad_timestamp",
                r#"{"event_id":"e","contact_id":"c","channel":"chat","type":"survey","ts":"2026-11-22T09:00:00","csat":3}"#,
            ),
            (
                "wrong type of field",
                "invalid_json",
                r#"{"event_id":"e","contact_id":"c","channel":"chat","type":"survey","ts":"2026-11-22T09:00:00Z","csat":"five"}"#,
            ),
            (
                "slash in agent_id",
                "invalid_id",
                r#"{"event_id":"e","contact_id":"c","channel":"chat","type":"agent_joined","ts":"2026-11-22T09:00:00Z","agent_id":"a3/chat"}"#,
            ),
            (
                "slash in an agent message's agent_id",
                "invalid_id",
                r#"{"event_id":"e","contact_id":"c","channel":"chat","type":"message","ts":"2026-11-22T09:00:00Z","party":"agent","agent_id":"a/3","text":"x"}"#,
            ),
            (
                "slash in from_agent_id",
                "invalid_id",
                r#"{"event_id":"e","contact_id":"c","channel":"chat","type":"transfer","ts":"2026-11-22T09:00:00Z","from_agent_id":"/a3"}"#,
            ),
            (
                "control character in a call-back's agent_id",
                "invalid_id",
                r#"{"event_id":"e","contact_id":"c","channel":"voice","type":"callback_completed","ts":"2026-11-22T09:00:00Z","agent_id":"a3\n"}"#,
            ),
            (
                "a contact_id of 257 bytes",
                "invalid_id",
                Box::leak(format!(r#"{{"event_id":"e","contact_id":"{}","channel":"chat","type":"survey","ts":"2026-11-22T09:00:00Z","csat":3}}"#, "c".repeat(257)).into_boxed_str()),
            ),
            (
                "empty agent_id",
                "missing_field",
                r#"{"event_id":"e","contact_id":"c","channel":"chat","type":"agent_joined","ts":"2026-11-22T09:00:00Z","agent_id":""}"#,
            ),
        ];
        for (name, reason, input) in cases {
            let err = json(input).expect_err(name);
            assert_eq!(err.reason(), reason, "{name}: {err}");
            assert!(DecodeError::REASONS.contains(&err.reason()));
        }
    }

    #[test]
    fn an_over_long_value_is_an_unknown_value_not_an_id() {
        let long = "p".repeat(600_000);
        for (field, reason) in [
            ("party", "unknown_party"),
            ("channel", "unknown_channel"),
            ("type", "unknown_type"),
            ("ts", "bad_timestamp"),
        ] {
            let mut v: serde_json::Value = serde_json::from_str(
                r#"{"event_id":"e","contact_id":"c","channel":"chat","type":"message","ts":"2026-11-22T09:00:00Z","party":"agent","agent_id":"a3","text":"x"}"#,
            )
            .unwrap();
            v[field] = serde_json::Value::String(long.clone());
            let bytes = serde_json::to_vec(&v).unwrap();
            let err = decode_event(
                Some(&bytes),
                Some("application/json"),
                PayloadFormat::Auto,
                1 << 20,
            )
            .unwrap_err();
            assert_eq!(err.reason(), reason, "{field}");
            assert!(
                err.to_string().len() < 200,
                "{field}: the message quotes a bounded part"
            );
        }
    }

    #[test]
    fn an_event_is_a_json_object_and_a_byte_order_mark_is_tolerated() {
        let as_json = |b: &[u8]| {
            decode_event(
                Some(b),
                Some("application/json"),
                PayloadFormat::Auto,
                LIMIT,
            )
        };
        // serde would read the struct's fields from an array in order.
        let array = br#"["e","c","chat","survey","2026-11-22T09:00:00Z"]"#;
        assert_eq!(as_json(array).unwrap_err().reason(), "invalid_json");
        let object = r#"{"event_id":"e","contact_id":"c","channel":"chat","type":"survey","ts":"2026-11-22T09:00:00Z","csat":3}"#;
        let mut with_bom = b"\xEF\xBB\xBF".to_vec();
        with_bom.extend_from_slice(object.as_bytes());
        assert_eq!(as_json(&with_bom).unwrap(), json(object).unwrap());
        // Sniffed (no content-type): still JSON, not a protobuf error.
        assert_eq!(
            decode_event(Some(&with_bom), None, PayloadFormat::Auto, LIMIT).unwrap(),
            json(object).unwrap()
        );
    }

    #[test]
    fn protobuf_ids_are_checked_like_json_ones() {
        let event = |agent_id: &str| proto::ContactEvent {
            event_id: "e".into(),
            contact_id: "c".into(),
            channel: "chat".into(),
            r#type: "agent_joined".into(),
            ts: "2026-11-22T09:00:00Z".into(),
            agent_id: Some(agent_id.into()),
            ..Default::default()
        };
        let decode = |p: proto::ContactEvent| {
            decode_event(
                Some(&p.encode_to_vec()),
                Some("application/x-protobuf"),
                PayloadFormat::Auto,
                LIMIT,
            )
        };
        assert!(decode(event("a3")).is_ok());
        for bad in ["a3/chat", "a3\u{7}"] {
            let err = decode(event(bad)).expect_err(bad);
            assert_eq!(err.reason(), "invalid_id", "{bad:?}: {err}");
        }
        // A customer message's agent id is ignored, so it does not reject the record.
        let customer = proto::ContactEvent {
            r#type: "message".into(),
            party: Some("customer".into()),
            text: Some("hallo".into()),
            ..event("a/3")
        };
        assert!(decode(customer).is_ok());
    }

    #[test]
    fn oversized_and_empty_records_are_rejected() {
        let big = vec![b' '; 100];
        assert_eq!(
            decode_event(Some(&big), None, PayloadFormat::Auto, 10)
                .unwrap_err()
                .reason(),
            "too_large"
        );
        assert_eq!(
            decode_event(None, None, PayloadFormat::Auto, 10)
                .unwrap_err()
                .reason(),
            "empty"
        );
        assert_eq!(
            decode_event(Some(b"{}"), Some("text/plain"), PayloadFormat::Auto, 10)
                .unwrap_err()
                .reason(),
            "unsupported_content_type"
        );
    }

    #[test]
    fn garbage_bytes_are_invalid_protobuf_not_a_panic() {
        let err = decode_event(
            Some(&[0xff, 0xff, 0xff, 0x01]),
            None,
            PayloadFormat::Auto,
            LIMIT,
        )
        .unwrap_err();
        assert_eq!(err.reason(), "invalid_protobuf");
        // A protobuf that decodes but lacks the required fields is a validation error.
        let err = decode_event(
            Some(&[]),
            Some("application/x-protobuf"),
            PayloadFormat::Auto,
            LIMIT,
        )
        .unwrap_err();
        assert_eq!(err.reason(), "empty");
    }
}
