//! No text and no raw customer id at rest: canaries planted in message text
//! and customer ids of valid traffic must not appear in any topic the service
//! writes (internal topics, changelogs, aggregates, alerts, dead letters),
//! in its state directory or in its log.

mod common;

use common::*;
use contact_kpi::config::Config;
use contact_kpi::model::{Channel, ContactEvent, Disposition, EventKind, Party};
use rdkafka::message::Headers;
use rdkafka::Message;
use std::time::Duration;

const TEXT_CANARY: &str = "zqxtextcanary";
const CUSTOMER_CANARY: &str = "zqxcustomercanary";

fn canary_contacts() -> Vec<ContactEvent> {
    let start = chrono::DateTime::parse_from_rfc3339("2026-11-20T09:00:00Z")
        .unwrap()
        .to_utc();
    let mut out = Vec::new();
    for i in 0..20 {
        let c = format!("canary-{i}");
        let at = |s: i64| start + chrono::Duration::minutes(i * 7) + chrono::Duration::seconds(s);
        let channel = [Channel::Chat, Channel::Voice, Channel::Email][i as usize % 3];
        let ev = |n: usize, ts, kind| ContactEvent {
            event_id: format!("{c}-{n}"),
            contact_id: c.clone(),
            channel,
            ts,
            kind,
        };
        let say = |party, text: String| EventKind::Message {
            party,
            agent_id: (party == Party::Agent).then(|| "a01".to_string()),
            text,
            end_ts: None,
            raised_voice: false,
        };
        out.push(ev(
            0,
            at(0),
            EventKind::ContactStarted {
                customer_id: format!("{CUSTOMER_CANARY}-{i}"),
                queue: None,
                language: None,
            },
        ));
        out.push(ev(
            1,
            at(20),
            EventKind::AgentJoined {
                agent_id: "a01".into(),
            },
        ));
        out.push(ev(
            2,
            at(30),
            say(
                Party::Customer,
                format!("My {TEXT_CANARY} order is late again, this is so annoying"),
            ),
        ));
        out.push(ev(
            3,
            at(60),
            say(
                Party::Agent,
                format!("I'm so sorry {TEXT_CANARY} to hear that, I will fix it for you"),
            ),
        ));
        out.push(ev(
            4,
            at(90),
            say(
                Party::Agent,
                format!("Wat vervelend {TEXT_CANARY} dat het zo lang duurt"),
            ),
        ));
        if i % 2 == 1 {
            // Still open when the service commits: its state is in the
            // changelog as an open contact.
            continue;
        }
        out.push(ev(
            5,
            at(300),
            EventKind::ContactEnded {
                disposition: Disposition::Resolved,
                callback_due: None,
            },
        ));
    }
    out
}

fn contains_canary(bytes: &[u8]) -> bool {
    let text = String::from_utf8_lossy(bytes).to_lowercase();
    text.contains(TEXT_CANARY) || text.contains(CUSTOMER_CANARY)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_message_text_or_customer_id_at_rest() {
    let broker = Broker::start();
    let env = test_env(&broker, "privacy", &[]);
    let config = Config::load_with_env(None, env.clone()).unwrap();
    let mut events = simulated(600);
    events.extend(canary_contacts());
    events.sort_by_key(|e| e.ts);
    let expected = naive_expected(&config, &events);
    create_topic(&broker.brokers(), &config.raw.topics.input, 3).await;
    produce_events(
        &producer(&broker.brokers()),
        &config.raw.topics.input,
        &events,
    )
    .await;
    let log = std::env::temp_dir().join(format!("ckpi-privacy-{}.log", std::process::id()));
    let _ = std::fs::remove_file(&log);
    let service = ServiceProcess::spawn(&env, &[("RUST_LOG", "debug,rdkafka=info")], &log);
    let (got, _) = settled(&config, &broker, &expected, Duration::from_secs(180)).await;
    assert_eq!(got, expected, "the traffic was processed");
    drop(service);

    let prefix = &config.raw.topics.internal_prefix;
    let partitions = config.raw.kafka.topic_partitions;
    let mut topics = vec![
        (format!("{prefix}.contact-facts"), partitions),
        (format!("{prefix}.agent-facts"), partitions),
        (format!("{prefix}.assemble-changelog"), 3),
        (format!("{prefix}.repeats-changelog"), partitions),
        (format!("{prefix}.aggregate-changelog"), partitions),
        (config.raw.topics.aggregates.clone(), partitions),
        (config.raw.topics.alerts.clone(), partitions),
        (config.raw.topics.dlq.clone(), partitions),
    ];
    let mut scanned = 0;
    for (topic, n) in topics.drain(..) {
        let messages = read_topic(broker.brokers(), topic.clone(), n).await;
        for m in &messages {
            scanned += 1;
            let mut bytes = m.key().unwrap_or_default().to_vec();
            bytes.extend_from_slice(m.payload().unwrap_or_default());
            if let Some(h) = m.headers() {
                for h in h.iter() {
                    bytes.extend_from_slice(h.key.as_bytes());
                    bytes.extend_from_slice(h.value.unwrap_or_default());
                }
            }
            assert!(
                !contains_canary(&bytes),
                "a canary in {topic} at partition {} offset {}",
                m.partition(),
                m.offset()
            );
        }
    }
    assert!(scanned > 500, "the topics were read ({scanned} records)");
    for entry in walk(std::path::Path::new(&config.raw.pipeline.state_dir)) {
        let bytes = std::fs::read(&entry).unwrap();
        assert!(!contains_canary(&bytes), "a canary in {}", entry.display());
    }
    let log_text = std::fs::read(&log).unwrap();
    assert!(log_text.len() > 1000, "the debug log was written");
    assert!(!contains_canary(&log_text), "a canary in the log");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}
