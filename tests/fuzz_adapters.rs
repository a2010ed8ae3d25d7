//! The platform adapters as a fuzzer would drive them: each platform's own
//! fixture records with fields removed, replaced by values of other types,
//! odd strings and odd numbers. Whatever comes in, an adapter never panics,
//! every rejection has a documented reason and names its platform, the
//! events of one record share one contact, and translating twice gives the
//! same answer.

use contact_kpi::adapters::{
    mapping::Mapping, translate, AdapterError, AdapterSettings, Dispositions, InputFormat,
    PlatformRecord,
};
use proptest::prelude::*;
use serde_json::Value;
use std::path::PathBuf;
use std::sync::Arc;

fn fixture_values(format: InputFormat) -> Vec<Value> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/platforms")
        .join(format.as_str())
        .join("records.jsonl");
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["value"].clone())
        .collect()
}

fn settings(format: InputFormat) -> AdapterSettings {
    let mapping = (format == InputFormat::Mapping).then(|| {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/platforms/mapping/mapping.toml");
        Arc::new(Mapping::load(&path).unwrap())
    });
    AdapterSettings {
        dispositions: Arc::new(Dispositions::default()),
        mapping,
    }
}

/// A value of any JSON type, including the odd ones platforms never send.
fn odd_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        "[a-zA-Z0-9:/+._ -]{0,30}".prop_map(Value::String),
        Just(Value::String("2026-13-45T99:99:99Z".into())),
        Just(Value::String("9999-12-31T23:59:59Z".into())),
        (200usize..600).prop_map(|n| Value::String("x".repeat(n))),
        Just(Value::Array(vec![])),
        Just(serde_json::json!({})),
    ]
}

/// Every path (as JSON Pointer parts) of a value's objects and arrays.
fn paths(v: &Value, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    match v {
        Value::Object(m) => {
            for (k, c) in m {
                prefix.push(k.clone());
                out.push(prefix.clone());
                paths(c, prefix, out);
                prefix.pop();
            }
        }
        Value::Array(a) => {
            for (i, c) in a.iter().enumerate() {
                prefix.push(i.to_string());
                out.push(prefix.clone());
                paths(c, prefix, out);
                prefix.pop();
            }
        }
        _ => {}
    }
}

/// Replaces (or, with `None`, removes) the value at `path`.
fn mutate(v: &mut Value, path: &[String], new: Option<Value>) {
    let (last, parents) = path.split_last().expect("a path has a last part");
    let mut at = v;
    for p in parents {
        at = match at {
            Value::Object(m) => m.get_mut(p).expect("path exists"),
            Value::Array(a) => &mut a[p.parse::<usize>().unwrap()],
            _ => return,
        };
    }
    match (at, new) {
        (Value::Object(m), None) => {
            m.remove(last);
        }
        (Value::Object(m), Some(n)) => {
            m.insert(last.clone(), n);
        }
        (Value::Array(a), n) => {
            let i: usize = last.parse().unwrap();
            a[i] = n.unwrap_or(Value::Null);
        }
        _ => {}
    }
}

const FORMATS: [InputFormat; 5] = [
    InputFormat::AmazonConnect,
    InputFormat::GenesysCloud,
    InputFormat::TwilioFlex,
    InputFormat::Zendesk,
    InputFormat::Mapping,
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn mutated_platform_records_never_panic_and_errors_name_their_platform(
        which in 0usize..5,
        record in any::<prop::sample::Index>(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), prop::option::of(odd_value())), 1..4),
        timestamp in prop::option::of(0i64..4_000_000_000_000),
    ) {
        let format = FORMATS[which];
        let values = fixture_values(format);
        let mut v = values[record.index(values.len())].clone();
        for (at, new) in edits {
            let mut all = Vec::new();
            paths(&v, &mut Vec::new(), &mut all);
            if all.is_empty() {
                break;
            }
            mutate(&mut v, &all[at.index(all.len())], new);
        }
        let bytes = serde_json::to_vec(&v).unwrap();
        let r = PlatformRecord { value: &bytes, timestamp_ms: timestamp };
        let s = settings(format);
        let first = translate(format, &r, &s);
        let again = translate(format, &r, &s);
        prop_assert_eq!(&first, &again);
        match first {
            Ok(events) => {
                if let Some(e) = events.first() {
                    prop_assert!(events.iter().all(|x| x.contact_id == e.contact_id));
                }
            }
            Err(e) => {
                prop_assert!(AdapterError::REASONS.contains(&e.reason()), "{}", e);
                prop_assert!(e.to_string().starts_with(format.as_str()), "{}", e);
            }
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(
        which in 0usize..5,
        bytes in prop::collection::vec(any::<u8>(), 0..300),
    ) {
        let format = FORMATS[which];
        let r = PlatformRecord { value: &bytes, timestamp_ms: Some(1_795_424_400_000) };
        if let Err(e) = translate(format, &r, &settings(format)) {
            prop_assert!(AdapterError::REASONS.contains(&e.reason()), "{}", e);
        }
    }
}
