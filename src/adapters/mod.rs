//! Input adapters: a contact-center platform's own records turned into events
//! of the input contract (`events.md`), so a center on Amazon Connect, Genesys
//! Cloud, Twilio Flex or Zendesk (or a homegrown platform, through a
//! declarative [`mapping`]) needs no translator of its own.
//!
//! Everything here is pure: bytes (and the Kafka record's timestamp) in,
//! validated [`ContactEvent`]s or an [`AdapterError`] out. The Kafka shell
//! (`pipeline::router`) forwards each platform record, keyed by the contact it
//! belongs to, to the contract topic, and stage 1 translates it again there
//! (translation is cheap and deterministic), so one contact's records from
//! several platform streams meet in one partition.
//!
//! Rules every adapter keeps:
//! - **Idempotent.** Event ids are derived from the platform's own ids
//!   (`<platform>:<platform id>:<what>`), never from arrival, so a record
//!   delivered twice, or delivered again as an update (Amazon Connect
//!   re-delivers contact records on every update), yields the same events,
//!   which stage 1 drops as duplicates.
//! - **One contact per record.** All events of one record share their
//!   `contact_id` (the forwarding key).
//! - **Nothing guessed.** A record missing what the mapping needs is an error
//!   naming the platform and the field; records that carry nothing the
//!   contract has a place for (a heartbeat, an agent's status change) give no
//!   events and are counted as ignored, not dead-lettered.
//! - **Explainable privacy.** Errors name fields, never their content.

pub mod amazon_connect;
pub mod genesys_cloud;
pub mod mapping;
pub mod twilio_flex;
pub mod zendesk;

use crate::model::{
    decode_event, format_ts, validate_platform_event, ContactEvent, DecodeError, Disposition,
    PayloadFormat, Timestamp,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::Arc;
use thiserror::Error;

/// What an input topic carries (`topics.inputs[].format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum InputFormat {
    /// The input contract, JSON (a `content-type` header still wins).
    ContractJson,
    /// The input contract, protobuf (a `content-type` header still wins).
    ContractProtobuf,
    /// Amazon Connect contact records and Contact Lens segment streams.
    AmazonConnect,
    /// Genesys Cloud conversation detail events and message transcripts.
    GenesysCloud,
    /// Twilio Flex: TaskRouter events and Conversations message events.
    TwilioFlex,
    /// Zendesk ticket events and comments.
    Zendesk,
    /// A homegrown platform, read through a declarative mapping file.
    Mapping,
}

impl InputFormat {
    pub const ALL: [InputFormat; 7] = [
        InputFormat::ContractJson,
        InputFormat::ContractProtobuf,
        InputFormat::AmazonConnect,
        InputFormat::GenesysCloud,
        InputFormat::TwilioFlex,
        InputFormat::Zendesk,
        InputFormat::Mapping,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            InputFormat::ContractJson => "contract-json",
            InputFormat::ContractProtobuf => "contract-protobuf",
            InputFormat::AmazonConnect => "amazon-connect",
            InputFormat::GenesysCloud => "genesys-cloud",
            InputFormat::TwilioFlex => "twilio-flex",
            InputFormat::Zendesk => "zendesk",
            InputFormat::Mapping => "mapping",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == s.trim())
    }

    /// Whether records of this format are contract events already.
    pub fn is_contract(self) -> bool {
        matches!(
            self,
            InputFormat::ContractJson | InputFormat::ContractProtobuf
        )
    }

    /// Whether this format can carry what was said (transcripts, chat
    /// messages, e-mail bodies). Where it cannot, or a center does not send
    /// them, no empathy is judged; `contact_kpi_input_events_total` by
    /// `type` shows whether any `message` events arrive.
    pub fn can_carry_words(self) -> bool {
        true
    }
}

/// One platform record as the adapters see it.
#[derive(Debug, Clone, Copy)]
pub struct PlatformRecord<'a> {
    /// The record value.
    pub value: &'a [u8],
    /// The Kafka record's timestamp (ms since the epoch), where the platform
    /// gives no time of its own for something (Contact Lens voice segments
    /// carry offsets only).
    pub timestamp_ms: Option<i64>,
}

/// How a center's wrap-up codes, ticket statuses and dispositions map to the
/// contract's four (`adapters.dispositions`). Codes are matched trimmed and
/// case-insensitively.
#[derive(Debug, Clone, PartialEq)]
pub struct Dispositions {
    codes: HashMap<String, Disposition>,
    /// Codes that say the agent passed the contact on (`"transferred"` in
    /// configuration): such a wrap-up ends that agent's part, not the
    /// contact. Platforms where every agent wraps up (Genesys Cloud's
    /// after-call work per participant) need them to keep a transferred
    /// contact open for the next agent.
    passes_on: std::collections::HashSet<String>,
    unmapped: Disposition,
}

impl Default for Dispositions {
    /// Common names: Zendesk's statuses, the contract's own names, and a few
    /// usual wrap-up code spellings. A center's own codes go in configuration.
    fn default() -> Self {
        let mut d = Dispositions {
            codes: HashMap::new(),
            passes_on: std::collections::HashSet::new(),
            unmapped: Disposition::Unresolved,
        };
        for (code, disposition) in [
            ("resolved", Disposition::Resolved),
            ("solved", Disposition::Resolved),
            ("closed", Disposition::Resolved),
            ("unresolved", Disposition::Unresolved),
            ("pending", Disposition::Unresolved),
            ("hold", Disposition::Unresolved),
            ("on-hold", Disposition::Unresolved),
            ("escalated", Disposition::Escalated),
            ("escalation", Disposition::Escalated),
            ("callback_scheduled", Disposition::CallbackScheduled),
            ("callback", Disposition::CallbackScheduled),
        ] {
            d.codes.insert(code.into(), disposition);
        }
        d
    }
}

impl Dispositions {
    /// The defaults with `codes` added (a configured code replaces a default
    /// one) and `unmapped` for codes not listed.
    pub fn with(codes: &HashMap<String, Disposition>, unmapped: Disposition) -> Self {
        let mut d = Dispositions::default();
        for (code, disposition) in codes {
            d.codes.insert(normal_code(code), *disposition);
        }
        d.unmapped = unmapped;
        d
    }

    /// These codes say the contact was passed on (configured as
    /// `"transferred"`); they replace any disposition the code had.
    pub fn with_transfer_codes<'a>(mut self, codes: impl IntoIterator<Item = &'a String>) -> Self {
        for code in codes {
            let code = normal_code(code);
            self.codes.remove(&code);
            self.passes_on.insert(code);
        }
        self
    }

    /// Whether a wrap-up code says the agent passed the contact on (no end
    /// of the contact).
    pub fn passes_on(&self, code: &str) -> bool {
        self.passes_on.contains(&normal_code(code))
    }

    /// The disposition for a code, and whether the code was listed.
    pub fn map(&self, code: &str) -> (Disposition, bool) {
        match self.codes.get(&normal_code(code)) {
            Some(d) => (*d, true),
            None => {
                UNMAPPED_CODES.with(|n| n.set(n.get() + 1));
                (self.unmapped, false)
            }
        }
    }

    /// The disposition for a code as its contract name.
    pub fn name(&self, code: &str) -> &'static str {
        self.map(code).0.as_str()
    }

    /// The disposition of a contact that ended without any code.
    pub fn unmapped(&self) -> Disposition {
        self.unmapped
    }
}

thread_local! {
    /// Codes [`Dispositions::map`] did not find during the last [`translate`]
    /// on this thread: only for the `contact_kpi_unmapped_dispositions_total`
    /// metric, never for a result.
    static UNMAPPED_CODES: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// How many wrap-up codes or statuses the last [`translate`] on this thread
/// found no disposition for (they count as `adapters.unmapped_disposition`).
pub fn unmapped_codes_in_last_translation() -> u64 {
    UNMAPPED_CODES.with(|n| n.get())
}

fn normal_code(code: &str) -> String {
    code.trim().to_lowercase()
}

/// Everything an adapter may consult besides the record.
#[derive(Debug, Clone, Default)]
pub struct AdapterSettings {
    pub dispositions: Arc<Dispositions>,
    /// The mapping of a `mapping` input.
    pub mapping: Option<Arc<mapping::Mapping>>,
}

/// Why a platform record cannot be used. `reason()` is the fixed label of
/// the dead-letter header and metric; the message names the platform and
/// the field, never the record's content.
#[derive(Debug, Error, PartialEq)]
pub enum AdapterError {
    #[error("{platform}: record is not a JSON object: {detail}")]
    Json {
        platform: &'static str,
        detail: String,
    },
    #[error("{platform}: missing required field `{field}`")]
    MissingField {
        platform: &'static str,
        field: String,
    },
    #[error("{platform}: field `{field}` {problem}")]
    BadValue {
        platform: &'static str,
        field: String,
        problem: String,
    },
    #[error("{platform}: the event built from the record breaks the contract: {source}")]
    Contract {
        platform: &'static str,
        source: DecodeError,
    },
    #[error("{platform}: one record names more than one contact")]
    SeveralContacts { platform: &'static str },
}

impl AdapterError {
    /// Every value `reason()` can return.
    pub const REASONS: [&'static str; 5] = [
        "platform_invalid_json",
        "platform_missing_field",
        "platform_bad_value",
        "platform_contract",
        "platform_several_contacts",
    ];

    pub fn reason(&self) -> &'static str {
        match self {
            AdapterError::Json { .. } => "platform_invalid_json",
            AdapterError::MissingField { .. } => "platform_missing_field",
            AdapterError::BadValue { .. } => "platform_bad_value",
            AdapterError::Contract { .. } => "platform_contract",
            AdapterError::SeveralContacts { .. } => "platform_several_contacts",
        }
    }

    pub fn missing(platform: &'static str, field: impl Into<String>) -> Self {
        AdapterError::MissingField {
            platform,
            field: field.into(),
        }
    }

    pub fn bad(
        platform: &'static str,
        field: impl Into<String>,
        problem: impl Into<String>,
    ) -> Self {
        AdapterError::BadValue {
            platform,
            field: field.into(),
            problem: problem.into(),
        }
    }
}

/// Translates one record of `format` into validated contract events (none
/// for a record that carries nothing the contract has a place for).
///
/// Contract formats decode as the contract says (one event per record).
pub fn translate(
    format: InputFormat,
    record: &PlatformRecord<'_>,
    settings: &AdapterSettings,
) -> Result<Vec<ContactEvent>, AdapterError> {
    UNMAPPED_CODES.with(|n| n.set(0));
    let platform = format.as_str();
    let contract_format = match format {
        InputFormat::ContractJson => Some(PayloadFormat::Json),
        InputFormat::ContractProtobuf => Some(PayloadFormat::Protobuf),
        _ => None,
    };
    if let Some(f) = contract_format {
        return decode_event(Some(record.value), None, f, usize::MAX)
            .map(|e| vec![e])
            .map_err(|source| AdapterError::Contract { platform, source });
    }
    let values = match format {
        InputFormat::AmazonConnect => amazon_connect::translate(record, settings)?,
        InputFormat::GenesysCloud => genesys_cloud::translate(record, settings)?,
        InputFormat::TwilioFlex => twilio_flex::translate(record, settings)?,
        InputFormat::Zendesk => zendesk::translate(record, settings)?,
        InputFormat::Mapping => match &settings.mapping {
            Some(m) => m.translate(record, settings)?,
            None => {
                return Err(AdapterError::bad(
                    platform,
                    "mapping",
                    "is not configured for this input",
                ))
            }
        },
        InputFormat::ContractJson | InputFormat::ContractProtobuf => unreachable!(),
    };
    let mut events = Vec::with_capacity(values.len());
    for v in values {
        let event = validate_platform_event(v)
            .map_err(|source| AdapterError::Contract { platform, source })?;
        if events
            .first()
            .is_some_and(|first: &ContactEvent| first.contact_id != event.contact_id)
        {
            return Err(AdapterError::SeveralContacts { platform });
        }
        events.push(event);
    }
    Ok(events)
}

// ---------------------------------------------------------------------------
// Helpers the adapters share: reading a platform's JSON and writing the
// contract's.

/// The record as a JSON object (a UTF-8 byte-order mark is tolerated).
pub fn parse_object(platform: &'static str, bytes: &[u8]) -> Result<Value, AdapterError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let value: Value = serde_json::from_slice(bytes).map_err(|e| AdapterError::Json {
        platform,
        detail: e.to_string(),
    })?;
    if !value.is_object() {
        return Err(AdapterError::Json {
            platform,
            detail: "the record is JSON but not an object".into(),
        });
    }
    Ok(value)
}

/// The string at a JSON pointer (RFC 6901, e.g. `/AgentInfo/Id`), if present
/// and not blank. Numbers are read as their decimal text (some platforms send
/// ids as numbers).
pub fn opt_str<'a>(v: &'a Value, pointer: &str) -> Option<std::borrow::Cow<'a, str>> {
    match v.pointer(pointer)? {
        Value::String(s) if !s.trim().is_empty() => Some(std::borrow::Cow::Borrowed(s.as_str())),
        Value::Number(n) => Some(std::borrow::Cow::Owned(n.to_string())),
        _ => None,
    }
}

/// The string at a JSON pointer, or a missing-field error naming it.
pub fn req_str<'a>(
    platform: &'static str,
    v: &'a Value,
    pointer: &str,
) -> Result<std::borrow::Cow<'a, str>, AdapterError> {
    opt_str(v, pointer).ok_or_else(|| AdapterError::missing(platform, field_name(pointer)))
}

/// `AgentInfo.ConnectedToAgentTimestamp` for `/AgentInfo/ConnectedToAgentTimestamp`:
/// how the platforms' own documentation names a field.
pub fn field_name(pointer: &str) -> String {
    pointer.trim_start_matches('/').replace('/', ".")
}

/// An ISO 8601 / RFC 3339 time at a JSON pointer, if present. Platforms
/// write `Z` or an offset, with or without fractions; a time without an
/// offset is read as UTC (Zendesk's and Genesys' exports do that).
pub fn opt_time(
    platform: &'static str,
    v: &Value,
    pointer: &str,
) -> Result<Option<Timestamp>, AdapterError> {
    match v.pointer(pointer) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => parse_time(s).map(Some).ok_or_else(|| {
            AdapterError::bad(platform, field_name(pointer), "is not an ISO 8601 time")
        }),
        Some(_) => Err(AdapterError::bad(
            platform,
            field_name(pointer),
            "is not an ISO 8601 time string",
        )),
    }
}

/// A required ISO 8601 time at a JSON pointer.
pub fn req_time(
    platform: &'static str,
    v: &Value,
    pointer: &str,
) -> Result<Timestamp, AdapterError> {
    opt_time(platform, v, pointer)?
        .ok_or_else(|| AdapterError::missing(platform, field_name(pointer)))
}

/// Reads RFC 3339, or ISO 8601 without an offset (as UTC).
pub fn parse_time(s: &str) -> Option<Timestamp> {
    let s = s.trim();
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(t.to_utc());
    }
    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|t| t.and_utc())
}

/// A time from milliseconds since the epoch.
pub fn time_from_millis(ms: i64) -> Option<Timestamp> {
    chrono::DateTime::from_timestamp_millis(ms)
}

/// The language's primary subtag, lower case (`nl-BE` → `nl`, `en_US` → `en`).
pub fn language_tag(code: &str) -> Option<String> {
    let primary = code.trim().split(['-', '_']).next()?.to_ascii_lowercase();
    (!primary.is_empty() && primary.chars().all(|c| c.is_ascii_alphabetic())).then_some(primary)
}

/// The start of a contract event as JSON: common fields of `events.md`.
/// Add the type's own fields with [`Map::insert`].
pub fn contract_event(
    event_id: String,
    contact_id: &str,
    channel: &str,
    kind: &str,
    ts: Timestamp,
) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("event_id".into(), Value::String(event_id));
    m.insert("contact_id".into(), Value::String(contact_id.to_string()));
    m.insert("channel".into(), Value::String(channel.to_string()));
    m.insert("type".into(), Value::String(kind.to_string()));
    m.insert("ts".into(), Value::String(format_ts(ts)));
    m
}

#[cfg(test)]
pub(crate) mod fixtures;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dispositions_are_matched_trimmed_and_case_insensitively_with_configured_codes_first() {
        let mut codes = HashMap::new();
        codes.insert("Klant Tevreden".to_string(), Disposition::Resolved);
        codes.insert("closed".to_string(), Disposition::Unresolved);
        let d = Dispositions::with(&codes, Disposition::Escalated);
        assert_eq!(d.map("  klant tevreden "), (Disposition::Resolved, true));
        assert_eq!(d.map("CLOSED"), (Disposition::Unresolved, true));
        assert_eq!(d.map("solved"), (Disposition::Resolved, true));
        assert_eq!(d.map("Terugbellen morgen"), (Disposition::Escalated, false));
        let d = d.with_transfer_codes(&["Doorverbonden".to_string(), "closed".to_string()]);
        assert!(d.passes_on(" doorverbonden") && d.passes_on("CLOSED"));
        assert!(!d.passes_on("solved"));
    }

    #[test]
    fn times_with_and_without_offsets_and_languages_are_read() {
        let t = parse_time("2026-11-22T09:00:00.120+01:00").unwrap();
        assert_eq!(format_ts(t), "2026-11-22T08:00:00.120Z");
        let t = parse_time("2026-11-22T09:00:00").unwrap();
        assert_eq!(format_ts(t), "2026-11-22T09:00:00.000Z");
        assert!(parse_time("22-11-2026").is_none());
        assert_eq!(language_tag("nl-BE").as_deref(), Some("nl"));
        assert_eq!(language_tag("en_US").as_deref(), Some("en"));
        assert_eq!(language_tag("").as_deref(), None);
    }

    #[test]
    fn contract_formats_decode_one_event_and_report_the_contract_reason() {
        let r = PlatformRecord {
            value: br#"{"event_id":"e1","contact_id":"c1","channel":"chat","type":"survey","ts":"2026-11-22T09:00:00Z","csat":9}"#,
            timestamp_ms: None,
        };
        let e = translate(InputFormat::ContractJson, &r, &AdapterSettings::default()).unwrap_err();
        assert_eq!(e.reason(), "platform_contract");
        assert!(e.to_string().contains("csat 9"), "{e}");
    }

    #[test]
    fn formats_round_trip_their_names() {
        for f in InputFormat::ALL {
            assert_eq!(InputFormat::parse(f.as_str()), Some(f));
        }
        assert_eq!(InputFormat::parse("kinesis"), None);
    }
}
