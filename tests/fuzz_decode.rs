//! Property tests over the decoders and the first stage, as a fuzzer would
//! drive them: arbitrary bytes never panic and every rejection has a reason
//! from the documented list; whatever decodes, the state the first stage
//! writes for it stays under the producer's record limit.

use contact_kpi::config::Config;
use contact_kpi::empathy::Analyzer;
use contact_kpi::kpi::tasks::AssembleTask;
use contact_kpi::model::{decode_event, DecodeError, PayloadFormat};
use proptest::prelude::*;

const LIMIT: usize = 1 << 20;

fn formats() -> impl Strategy<Value = (PayloadFormat, Option<&'static str>)> {
    prop_oneof![
        Just((PayloadFormat::Auto, None)),
        Just((PayloadFormat::Json, None)),
        Just((PayloadFormat::Protobuf, None)),
        Just((PayloadFormat::Auto, Some("application/json"))),
        Just((PayloadFormat::Auto, Some("application/x-protobuf"))),
        Just((PayloadFormat::Auto, Some("text/csv"))),
    ]
}

/// JSON events with every field drawn from odd values: long, empty, control
/// characters, slashes, wrong types, odd times.
fn json_event() -> impl Strategy<Value = String> {
    let text = prop_oneof![
        Just(String::new()),
        "[a-z /\\\\\"\\u{0}-\\u{1f}\\u{feff}é]{0,40}".prop_map(|s| s),
        (1usize..3000).prop_map(|n| "sorry to hear ".repeat(n)),
    ];
    let id = prop_oneof![
        "[a-z0-9/]{0,12}".prop_map(|s| s),
        (200usize..400).prop_map(|n| "i".repeat(n)),
    ];
    let ts = prop_oneof![
        Just("2026-11-22T09:00:00Z".to_string()),
        Just("9999-12-31T23:59:59Z".to_string()),
        Just("0001-01-01T00:00:00Z".to_string()),
        Just("2026-11-22T09:00:00".to_string()),
        "[0-9:TZ+-]{0,30}".prop_map(|s| s),
    ];
    let kind = prop_oneof![
        Just("contact_started"),
        Just("agent_joined"),
        Just("message"),
        Just("transfer"),
        Just("contact_ended"),
        Just("callback_completed"),
        Just("survey"),
        Just("bogus"),
    ];
    let channel = prop_oneof![Just("voice"), Just("chat"), Just("email"), Just("fax")];
    (
        id.clone(),
        id.clone(),
        id,
        text,
        ts,
        kind,
        channel,
        -3i64..9,
    )
        .prop_map(|(event, contact, agent, text, ts, kind, channel, n)| {
            serde_json::json!({
                "event_id": event, "contact_id": contact, "channel": channel, "type": kind,
                "ts": ts, "customer_id": agent, "agent_id": agent, "from_agent_id": agent,
                "party": if n % 2 == 0 { "agent" } else { "customer" }, "text": text,
                "csat": n, "disposition": "resolved", "end_ts": ts,
            })
            .to_string()
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, .. ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic_and_every_error_has_a_documented_reason(
        bytes in proptest::collection::vec(any::<u8>(), 0..512),
        (format, content_type) in formats(),
    ) {
        if let Err(e) = decode_event(Some(&bytes), content_type, format, LIMIT) {
            prop_assert!(DecodeError::REASONS.contains(&e.reason()), "{e}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, .. ProptestConfig::default() })]

    #[test]
    fn odd_events_decode_or_are_rejected_with_a_reason_and_state_stays_small(
        events in proptest::collection::vec(json_event(), 1..40),
    ) {
        let settings = Config::default().engine;
        let analyzer = Analyzer::builtin();
        let mut task = AssembleTask::default();
        let mut counters = Default::default();
        for json in &events {
            match decode_event(Some(json.as_bytes()), None, PayloadFormat::Auto, LIMIT) {
                Ok(event) => {
                    prop_assert!(event.event_id.len() <= 256 && event.contact_id.len() <= 256);
                    task.apply(&settings, &analyzer, event, &mut counters);
                }
                Err(e) => prop_assert!(DecodeError::REASONS.contains(&e.reason()), "{e}"),
            }
            for (k, v) in task.take_changelog() {
                let size = k.len() + v.map_or(0, |v| v.len());
                prop_assert!(size < 1_000_000, "a changelog record of {size} bytes");
            }
        }
    }
}
