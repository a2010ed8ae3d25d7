//! Test support: each platform's fixtures in `tests/data/platforms/<format>/`.
//!
//! - `records.jsonl`: the platform's records in publishing order, one per
//!   line: `{"stream": "<which of the platform's streams>", "timestamp_ms":
//!   <Kafka record time>, "value": <the record>}` (or `"raw": "<text>"` for
//!   a value that is not JSON);
//! - `expected.jsonl`: the contract events those records stand for, written
//!   by hand from the platform's documentation (not printed by the adapter),
//!   in the order the adapter gives them, record after record;
//! - `malformed.jsonl`: broken variants, each `{"why": "...", "value"|"raw":
//!   ..., "reason": "<AdapterError::reason>", "field": "<named in the error>"}`;
//! - `mapping.toml` (format `mapping` only): the mapping file;
//! - `dispositions.json` (optional): `{"codes": {"<code>": "<disposition>"},
//!   "unmapped": "<disposition>"}`, the center's configuration the fixtures
//!   assume.

use super::{translate, AdapterSettings, Dispositions, InputFormat, PlatformRecord};
use crate::model::{validate_platform_event, ContactEvent, Disposition};
use serde_json::Value;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

pub struct FixtureRecord {
    pub stream: String,
    pub timestamp_ms: Option<i64>,
    pub value: Vec<u8>,
}

pub fn dir(format: InputFormat) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/platforms")
        .join(format.as_str())
}

fn lines(path: &PathBuf) -> Vec<Value> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, l)| {
            serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("{} line {}: {e}", path.display(), i + 1))
        })
        .collect()
}

fn value_bytes(line: &Value) -> Vec<u8> {
    match (line.get("value"), line.get("raw")) {
        (Some(v), _) => serde_json::to_vec(v).expect("serializes"),
        (None, Some(Value::String(s))) => s.as_bytes().to_vec(),
        _ => panic!("a fixture line needs `value` or `raw`: {line}"),
    }
}

pub fn records(format: InputFormat) -> Vec<FixtureRecord> {
    lines(&dir(format).join("records.jsonl"))
        .iter()
        .map(|l| FixtureRecord {
            stream: l
                .get("stream")
                .and_then(Value::as_str)
                .unwrap_or("events")
                .to_string(),
            timestamp_ms: l.get("timestamp_ms").and_then(Value::as_i64),
            value: value_bytes(l),
        })
        .collect()
}

pub fn expected(format: InputFormat) -> Vec<ContactEvent> {
    lines(&dir(format).join("expected.jsonl"))
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            validate_platform_event(v)
                .unwrap_or_else(|e| panic!("expected.jsonl line {}: {e}", i + 1))
        })
        .collect()
}

pub fn settings(format: InputFormat) -> AdapterSettings {
    let path = dir(format).join("dispositions.json");
    let dispositions = if path.exists() {
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let parse = |s: &Value| {
            Disposition::parse(s.as_str().expect("a disposition name")).expect("a disposition")
        };
        let all = v
            .get("codes")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let transfers: Vec<String> = all
            .iter()
            .filter(|(_, d)| d.as_str() == Some("transferred"))
            .map(|(k, _)| k.clone())
            .collect();
        let codes: HashMap<String, Disposition> = all
            .iter()
            .filter(|(_, d)| d.as_str() != Some("transferred"))
            .map(|(k, d)| (k.clone(), parse(d)))
            .collect();
        let unmapped = v
            .get("unmapped")
            .map(parse)
            .unwrap_or(Disposition::Unresolved);
        Dispositions::with(&codes, unmapped).with_transfer_codes(&transfers)
    } else {
        Dispositions::default()
    };
    let mapping_file = dir(format).join("mapping.toml");
    AdapterSettings {
        dispositions: Arc::new(dispositions),
        mapping: mapping_file.exists().then(|| {
            Arc::new(super::mapping::Mapping::load(&mapping_file).expect("fixture mapping loads"))
        }),
    }
}

/// The whole fixture check of one platform: every record translates, the
/// events are exactly the hand-written ones, translating again gives the
/// same events (idempotent ids), and every malformed variant is refused
/// with its reason and a message naming the platform and field.
pub fn check(format: InputFormat, settings: &AdapterSettings) {
    let mut got = Vec::new();
    for (i, r) in records(format).iter().enumerate() {
        let record = PlatformRecord {
            value: &r.value,
            timestamp_ms: r.timestamp_ms,
        };
        let events = translate(format, &record, settings)
            .unwrap_or_else(|e| panic!("records.jsonl line {} ({}): {e}", i + 1, r.stream));
        let again = translate(format, &record, settings).unwrap();
        assert_eq!(
            events,
            again,
            "records.jsonl line {}: not deterministic",
            i + 1
        );
        got.extend(events);
    }
    let want = expected(format);
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(
            g,
            w,
            "event {} differs from expected.jsonl line {}",
            i + 1,
            i + 1
        );
    }
    assert_eq!(got.len(), want.len(), "number of events");
    let malformed = dir(format).join("malformed.jsonl");
    let cases = lines(&malformed);
    assert!(!cases.is_empty(), "{} has no cases", malformed.display());
    for case in cases {
        let bytes = value_bytes(&case);
        let record = PlatformRecord {
            value: &bytes,
            timestamp_ms: case.get("timestamp_ms").and_then(Value::as_i64),
        };
        let why = case.get("why").and_then(Value::as_str).unwrap_or("?");
        let err = translate(format, &record, settings)
            .expect_err(&format!("malformed case `{why}` was accepted"));
        let reason = case["reason"].as_str().expect("case has a reason");
        assert_eq!(err.reason(), reason, "case `{why}`: {err}");
        let message = err.to_string();
        assert!(
            message.starts_with(format.as_str()),
            "case `{why}`: {message}"
        );
        if let Some(field) = case.get("field").and_then(Value::as_str) {
            assert!(
                message.contains(field),
                "case `{why}`: `{message}` does not name `{field}`"
            );
        }
    }
}
