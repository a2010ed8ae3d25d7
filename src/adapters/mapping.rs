//! A declarative mapping: a homegrown platform's JSON records into contract
//! events without code. A mapping file (TOML) lists rules; each rule that
//! matches a record (`when`) makes one event of its `type`, each contract
//! field taken from a JSON Pointer (RFC 6901, as implemented by
//! `serde_json::Value::pointer`) or a constant, with a few conversions.
//!
//! ```toml
//! [[rules]]
//! when = [{ pointer = "/kind", equals = "call.queued" }]
//! type = "contact_started"
//! [rules.fields]
//! event_id = { pointer = "/id", prefix = "acme:" }
//! contact_id = { pointer = "/call/id" }
//! channel = { value = "voice" }
//! ts = { pointer = "/at", convert = "epoch_millis" }
//! customer_id = { pointer = "/caller/number" }
//! queue = { pointer = "/queue", optional = true }
//! ```
//!
//! A record no rule matches is ignored (counted); a matched rule whose
//! required field is absent is a dead letter naming the pointer.

use super::{
    field_name, language_tag, parse_object, parse_time, time_from_millis, AdapterError,
    AdapterSettings, PlatformRecord,
};
use crate::model::format_ts;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::Path;
use thiserror::Error;

const PLATFORM: &str = "mapping";

/// What a field's source gives for one record.
enum Read {
    Value(Value),
    /// Absent and optional: the field is left out.
    Absent,
    /// A wrap-up code configured as `transferred`: this agent's part of the
    /// contact ended, not the contact, so the rule makes no event.
    PassedOn,
}

/// The contract fields a rule may fill (`type` comes from the rule).
const FIELDS: [&str; 16] = [
    "event_id",
    "contact_id",
    "channel",
    "ts",
    "customer_id",
    "queue",
    "language",
    "agent_id",
    "party",
    "text",
    "end_ts",
    "raised_voice",
    "from_agent_id",
    "disposition",
    "callback_due",
    "csat",
];

const TYPES: [&str; 7] = crate::model::EventKind::TYPE_NAMES;

#[derive(Debug, Error)]
pub enum MappingError {
    #[error("cannot read mapping file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("mapping file {path}: {message}")]
    Invalid { path: String, message: String },
}

/// A loaded, checked mapping.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    #[serde(default)]
    pub rules: Vec<Rule>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// All conditions must hold (none: the rule matches every record).
    #[serde(default)]
    pub when: Vec<Condition>,
    #[serde(rename = "type")]
    pub kind: String,
    pub fields: BTreeMap<String, Source>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    pub pointer: String,
    /// The value there equals this (strings, numbers, booleans).
    pub equals: Option<Value>,
    /// The value there is one of these.
    pub one_of: Option<Vec<Value>>,
    /// Something (not null) is there, or (false) nothing is.
    pub exists: Option<bool>,
}

/// Where a field's value comes from.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    pub pointer: Option<String>,
    /// A constant (instead of a pointer), or the value when the pointer finds nothing.
    pub value: Option<Value>,
    #[serde(default)]
    pub convert: Convert,
    /// A lookup table applied after `convert` (e.g. `{ phone = "voice" }`);
    /// a value not in it is a dead letter.
    pub map: Option<BTreeMap<String, Value>>,
    #[serde(default)]
    pub prefix: String,
    #[serde(default)]
    pub suffix: String,
    /// Leave the field out when the pointer finds nothing.
    #[serde(default)]
    pub optional: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Convert {
    /// As it is (numbers used as ids become their decimal text).
    #[default]
    None,
    /// Milliseconds since the epoch → RFC 3339.
    EpochMillis,
    /// Seconds since the epoch (may have a fraction) → RFC 3339.
    EpochSeconds,
    /// ISO 8601, with or without offset (without: UTC) → RFC 3339.
    Iso8601,
    Lowercase,
    /// A language tag → its primary subtag (`nl-BE` → `nl`).
    Language,
    /// A wrap-up code or status → the contract's disposition, through
    /// `adapters.dispositions`.
    Disposition,
}

impl Mapping {
    pub fn load(path: &Path) -> Result<Mapping, MappingError> {
        let text = std::fs::read_to_string(path).map_err(|source| MappingError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text).map_err(|message| MappingError::Invalid {
            path: path.display().to_string(),
            message,
        })
    }

    /// Reads and checks a mapping: known types and fields, pointers that are
    /// pointers, every rule able to fill its type's required fields.
    pub fn parse(text: &str) -> Result<Mapping, String> {
        let m: Mapping = toml::from_str(text).map_err(|e| e.to_string())?;
        if m.rules.is_empty() {
            return Err("has no [[rules]]".into());
        }
        for (i, rule) in m.rules.iter().enumerate() {
            let at = format!("rules[{i}]");
            if !TYPES.contains(&rule.kind.as_str()) {
                return Err(format!(
                    "{at}: `{}` is not an event type ({})",
                    rule.kind,
                    TYPES.join(", ")
                ));
            }
            for c in &rule.when {
                check_pointer(&c.pointer, &at)?;
                let tests = [c.equals.is_some(), c.one_of.is_some(), c.exists.is_some()];
                if tests.iter().filter(|t| **t).count() != 1 {
                    return Err(format!(
                        "{at}: a condition on `{}` needs exactly one of equals, one_of, exists",
                        c.pointer
                    ));
                }
            }
            for (name, source) in &rule.fields {
                if !FIELDS.contains(&name.as_str()) {
                    return Err(format!("{at}: `{name}` is not a contract field"));
                }
                match (&source.pointer, &source.value) {
                    (Some(p), _) => check_pointer(p, &at)?,
                    (None, Some(_)) => {}
                    (None, None) => return Err(format!("{at}.{name}: needs a pointer or a value")),
                }
            }
            let mut required = vec!["event_id", "contact_id", "channel", "ts"];
            required.extend(match rule.kind.as_str() {
                "contact_started" => &["customer_id"][..],
                "agent_joined" | "callback_completed" => &["agent_id"],
                "message" => &["party"],
                "transfer" => &["from_agent_id"],
                "contact_ended" => &["disposition"],
                "survey" => &["csat"],
                _ => &[],
            });
            for f in required {
                match rule.fields.get(f) {
                    None => return Err(format!("{at} ({}): needs the field `{f}`", rule.kind)),
                    Some(s) if s.optional && s.value.is_none() => {
                        return Err(format!("{at}.{f}: a required field cannot be optional"))
                    }
                    _ => {}
                }
            }
        }
        Ok(m)
    }

    /// The events of one record: one per matching rule, in rule order.
    pub fn translate(
        &self,
        record: &PlatformRecord<'_>,
        settings: &AdapterSettings,
    ) -> Result<Vec<Value>, AdapterError> {
        let doc = parse_object(PLATFORM, record.value)?;
        let mut events = Vec::new();
        for rule in &self.rules {
            if !rule.when.iter().all(|c| c.holds(&doc)) {
                continue;
            }
            let mut event = Map::new();
            event.insert("type".into(), Value::String(rule.kind.clone()));
            let mut passed_on = false;
            for (name, source) in &rule.fields {
                match source.read(&doc, name, settings)? {
                    Read::Value(v) => {
                        event.insert(name.clone(), v);
                    }
                    Read::Absent => {}
                    Read::PassedOn => passed_on = true,
                }
            }
            if !passed_on {
                events.push(Value::Object(event));
            }
        }
        Ok(events)
    }
}

fn check_pointer(p: &str, at: &str) -> Result<(), String> {
    if p.is_empty() || p.starts_with('/') {
        Ok(())
    } else {
        Err(format!(
            "{at}: `{p}` is not a JSON Pointer (RFC 6901: it starts with `/`, e.g. `/call/id`)"
        ))
    }
}

impl Condition {
    fn holds(&self, doc: &Value) -> bool {
        let found = doc.pointer(&self.pointer).filter(|v| !v.is_null());
        if let Some(e) = self.exists {
            return found.is_some() == e;
        }
        let Some(found) = found else { return false };
        if let Some(want) = &self.equals {
            return loosely_equal(found, want);
        }
        self.one_of
            .as_ref()
            .is_some_and(|set| set.iter().any(|w| loosely_equal(found, w)))
    }
}

/// Equal, with a number and its decimal text counted as equal (platforms
/// change between the two).
fn loosely_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(n), Value::String(s)) | (Value::String(s), Value::Number(n)) => {
            n.to_string() == *s
        }
        _ => a == b,
    }
}

impl Source {
    fn read(
        &self,
        doc: &Value,
        field: &str,
        settings: &AdapterSettings,
    ) -> Result<Read, AdapterError> {
        let name = || {
            self.pointer
                .as_deref()
                .map_or_else(|| field.to_string(), field_name)
        };
        let found = self
            .pointer
            .as_deref()
            .and_then(|p| doc.pointer(p))
            .filter(|v| !v.is_null() && v.as_str().is_none_or(|s| !s.trim().is_empty()))
            .or(self.value.as_ref());
        let Some(raw) = found else {
            if self.optional {
                return Ok(Read::Absent);
            }
            return Err(AdapterError::missing(PLATFORM, name()));
        };
        let bad = |problem: &str| AdapterError::bad(PLATFORM, name(), problem.to_string());
        let converted = match self.convert {
            Convert::None => match raw {
                Value::Number(n) if is_text_field(field) => Value::String(n.to_string()),
                other => other.clone(),
            },
            Convert::EpochMillis | Convert::EpochSeconds => {
                let ms = match raw {
                    Value::Number(n) => n.as_f64(),
                    Value::String(s) => s.trim().parse::<f64>().ok(),
                    _ => None,
                }
                .map(|x| {
                    if self.convert == Convert::EpochSeconds {
                        x * 1000.0
                    } else {
                        x
                    }
                })
                .filter(|x| x.is_finite() && x.abs() < 1e15)
                .ok_or_else(|| bad("is not a number of epoch time"))?;
                let t =
                    time_from_millis(ms.round() as i64).ok_or_else(|| bad("is out of range"))?;
                Value::String(format_ts(t))
            }
            Convert::Iso8601 => {
                let s = raw.as_str().ok_or_else(|| bad("is not a time string"))?;
                let t = parse_time(s).ok_or_else(|| bad("is not an ISO 8601 time"))?;
                Value::String(format_ts(t))
            }
            Convert::Lowercase => {
                let s = raw.as_str().ok_or_else(|| bad("is not a string"))?;
                Value::String(s.to_lowercase())
            }
            Convert::Language => match raw.as_str().and_then(language_tag) {
                Some(l) => Value::String(l),
                None if self.optional => return Ok(Read::Absent),
                None => return Err(bad("is not a language tag")),
            },
            Convert::Disposition => {
                let code = match raw {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    _ => return Err(bad("is not a code")),
                };
                if settings.dispositions.passes_on(&code) {
                    return Ok(Read::PassedOn);
                }
                Value::String(settings.dispositions.name(&code).to_string())
            }
        };
        let looked_up = match &self.map {
            None => converted,
            Some(table) => {
                let key = match &converted {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                table
                    .get(&key)
                    .cloned()
                    .ok_or_else(|| bad("has a value the mapping's table does not list"))?
            }
        };
        Ok(Read::Value(match looked_up {
            Value::String(s) if !self.prefix.is_empty() || !self.suffix.is_empty() => {
                Value::String(format!("{}{s}{}", self.prefix, self.suffix))
            }
            other => other,
        }))
    }
}

/// Fields whose value is text (ids, names): a number there is its decimal text.
fn is_text_field(field: &str) -> bool {
    !matches!(field, "csat" | "raised_voice")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::{translate, Dispositions, InputFormat};
    use crate::model::{Disposition, EventKind};
    use std::collections::HashMap;
    use std::sync::Arc;

    const ACME: &str = r#"
[[rules]]
when = [{ pointer = "/kind", equals = "call.queued" }]
type = "contact_started"
[rules.fields]
event_id = { pointer = "/id", prefix = "acme:" }
contact_id = { pointer = "/call/id" }
channel = { pointer = "/call/medium", map = { phone = "voice", webchat = "chat" } }
ts = { pointer = "/at", convert = "epoch_millis" }
customer_id = { pointer = "/caller/number" }
queue = { pointer = "/queue", optional = true }
language = { pointer = "/caller/locale", convert = "language", optional = true }

[[rules]]
when = [{ pointer = "/kind", equals = "call.closed" }, { pointer = "/agent", exists = true }]
type = "contact_ended"
[rules.fields]
event_id = { pointer = "/id", prefix = "acme:" }
contact_id = { pointer = "/call/id" }
channel = { value = "voice" }
ts = { pointer = "/at", convert = "epoch_seconds" }
disposition = { pointer = "/wrapup", convert = "disposition" }
"#;

    fn settings(mapping: &str) -> AdapterSettings {
        let mut codes = HashMap::new();
        codes.insert("KLAAR".to_string(), Disposition::Resolved);
        AdapterSettings {
            dispositions: Arc::new(Dispositions::with(&codes, Disposition::Unresolved)),
            mapping: Some(Arc::new(Mapping::parse(mapping).unwrap())),
        }
    }

    fn run(mapping: &str, record: &str) -> Result<Vec<crate::model::ContactEvent>, AdapterError> {
        let r = PlatformRecord {
            value: record.as_bytes(),
            timestamp_ms: None,
        };
        translate(InputFormat::Mapping, &r, &settings(mapping))
    }

    #[test]
    fn a_matching_rule_makes_its_event_with_conversions_and_lookups() {
        let events = run(
            ACME,
            r#"{"kind":"call.queued","id":17,"at":1795424400120,"call":{"id":"c-9","medium":"phone"},"caller":{"number":"+31612345678","locale":"nl-BE"}}"#,
        )
        .unwrap();
        assert_eq!(events.len(), 1);
        let e = &events[0];
        assert_eq!(e.event_id, "acme:17");
        assert_eq!(e.contact_id, "c-9");
        assert_eq!(format_ts(e.ts), "2026-11-23T09:00:00.120Z");
        match &e.kind {
            EventKind::ContactStarted {
                customer_id,
                queue,
                language,
            } => {
                assert_eq!(customer_id, "+31612345678");
                assert_eq!(queue, &None);
                assert_eq!(language.as_deref(), Some("nl"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn conditions_choose_rules_and_unmatched_records_give_nothing() {
        let ended = run(
            ACME,
            r#"{"kind":"call.closed","id":"x1","at":"1795424500.5","call":{"id":"c-9"},"agent":"a1","wrapup":"klaar"}"#,
        )
        .unwrap();
        assert_eq!(format_ts(ended[0].ts), "2026-11-23T09:01:40.500Z");
        assert!(matches!(
            ended[0].kind,
            EventKind::ContactEnded {
                disposition: Disposition::Resolved,
                ..
            }
        ));
        // Without an agent the second rule's `exists` fails.
        let none = run(
            ACME,
            r#"{"kind":"call.closed","id":"x1","at":1,"call":{"id":"c-9"}}"#,
        );
        assert_eq!(none.unwrap(), vec![]);
        assert_eq!(run(ACME, r#"{"kind":"heartbeat"}"#).unwrap(), vec![]);
    }

    #[test]
    fn missing_and_unlisted_values_are_dead_letters_naming_the_pointer_not_the_value() {
        let e = run(
            ACME,
            r#"{"kind":"call.queued","id":1,"at":1795424400120,"call":{"id":"c-9","medium":"phone"}}"#,
        )
        .unwrap_err();
        assert_eq!(e.reason(), "platform_missing_field");
        assert!(e.to_string().contains("caller.number"), "{e}");
        let e = run(
            ACME,
            r#"{"kind":"call.queued","id":1,"at":1795424400120,"call":{"id":"c-9","medium":"carrier-pigeon"},"caller":{"number":"+31"}}"#,
        )
        .unwrap_err();
        assert_eq!(e.reason(), "platform_bad_value");
        assert!(!e.to_string().contains("pigeon"), "{e}");
        let e = run(
            ACME,
            r#"{"kind":"call.queued","id":1,"at":"gisteren","call":{"id":"c-9","medium":"phone"},"caller":{"number":"+31"}}"#,
        )
        .unwrap_err();
        assert!(e.to_string().contains("`at`"), "{e}");
        assert!(!e.to_string().contains("gisteren"), "{e}");
    }

    #[test]
    fn a_mapping_that_cannot_make_valid_events_is_refused_when_loaded() {
        let cases = [
            ("", "no [[rules]]"),
            ("[[rules]]\ntype = \"hold\"\n[rules.fields]\n", "not an event type"),
            (
                "[[rules]]\ntype = \"survey\"\n[rules.fields]\nevent_id = { pointer = \"/id\" }\ncontact_id = { pointer = \"/c\" }\nchannel = { value = \"chat\" }\nts = { pointer = \"/t\" }\n",
                "needs the field `csat`",
            ),
            (
                "[[rules]]\ntype = \"survey\"\n[rules.fields]\ncsat = { pointer = \"score\" }\n",
                "not a JSON Pointer",
            ),
            (
                "[[rules]]\ntype = \"survey\"\n[rules.fields]\nscore = { pointer = \"/s\" }\n",
                "not a contract field",
            ),
        ];
        for (text, why) in cases {
            let e = Mapping::parse(text).unwrap_err();
            assert!(e.contains(why), "`{why}` not in `{e}`");
        }
    }
}

#[cfg(test)]
mod fixture_tests {
    use crate::adapters::{fixtures, InputFormat};

    #[test]
    fn the_homegrown_platform_fixtures_translate_to_the_hand_written_events() {
        fixtures::check(
            InputFormat::Mapping,
            &fixtures::settings(InputFormat::Mapping),
        );
    }
}
