//! Hostile input next to normal traffic, on the real broker: one test per
//! row of the outside run that found single records, contacts, agents and
//! customers holding the whole line hostage. Each asserts that the valid
//! traffic's aggregates equal the naive recomputation, that the input is
//! committed to its end, and that the hostile part is counted or
//! dead-lettered with a reason.
//!
//! Rows covered elsewhere: a record of megabytes and a producer clock in
//! the year 2100 (`pipeline.rs`), lulls (`determinism.rs`, live traffic with
//! pauses), canaries in text and customer ids (`privacy.rs`).

mod common;

use common::*;
use contact_kpi::config::Config;
use contact_kpi::model::{Channel, ContactEvent, Disposition, EventKind, Party};
use contact_kpi::pipeline::RunningService;
use rdkafka::message::{Header, Headers, OwnedHeaders, OwnedMessage};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::Message;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// A record the valid traffic does not contain.
enum Hostile {
    /// Valid per the contract (an extreme contact, agent or customer).
    Event(ContactEvent),
    Raw {
        value: Vec<u8>,
        headers: Vec<(String, Vec<u8>)>,
    },
}

struct Run {
    broker: Broker,
    config: Config,
    service: RunningService,
    valid: Vec<ContactEvent>,
    hostile_events: Vec<ContactEvent>,
    /// Records produced to the input topic.
    produced: i64,
    /// Held until the run is dropped (after the service and broker).
    _turn: tokio::sync::MutexGuard<'static, ()>,
}

fn t(minute: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339("2026-11-20T07:00:00Z")
        .unwrap()
        .to_utc()
        + chrono::Duration::milliseconds(minute * 60_000)
}

fn at_ms(ms: i64) -> chrono::DateTime<chrono::Utc> {
    t(0) + chrono::Duration::milliseconds(ms)
}

fn event(id: String, contact: &str, channel: Channel, ts_ms: i64, kind: EventKind) -> ContactEvent {
    ContactEvent {
        event_id: id,
        contact_id: contact.to_string(),
        channel,
        ts: at_ms(ts_ms),
        kind,
    }
}

fn started(customer: &str) -> EventKind {
    EventKind::ContactStarted {
        customer_id: customer.to_string(),
        queue: None,
        language: Some("nl".into()),
    }
}

fn ended(disposition: Disposition) -> EventKind {
    EventKind::ContactEnded {
        disposition,
        callback_due: None,
    }
}

fn agent_says(agent: &str, text: String) -> EventKind {
    EventKind::Message {
        party: Party::Agent,
        agent_id: Some(agent.to_string()),
        text,
        end_ts: None,
        raised_voice: false,
    }
}

fn customer_says(text: &str) -> EventKind {
    EventKind::Message {
        party: Party::Customer,
        agent_id: None,
        text: text.to_string(),
        end_ts: None,
        raised_voice: false,
    }
}

/// The heavy runs one at a time: two brokers with 100,000-record loads on
/// a 2-core machine starve each other (a run in CI stalled that way).
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Valid traffic (first half), the hostile records, the rest of the valid
/// traffic; then the service.
async fn run(name: &str, extra: &[(&str, &str)], valid: usize, hostile: Vec<Hostile>) -> Run {
    let turn = ONE_AT_A_TIME.lock().await;
    let broker = Broker::start();
    let config = test_config(&broker, name, extra);
    let input = config.raw.topics.input.clone();
    create_topic(&broker.brokers(), &input, 3).await;
    let events = simulated(valid);
    let p = producer(&broker.brokers());
    let big: FutureProducer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", broker.brokers())
        .set("message.max.bytes", "8000000")
        .set("linger.ms", "5")
        .create()
        .unwrap();
    let (head, tail) = events.split_at(events.len() / 2);
    produce_events(&p, &input, head).await;
    let mut hostile_events = Vec::new();
    let mut produced = events.len() as i64;
    for h in hostile {
        produced += 1;
        match h {
            Hostile::Event(e) => hostile_events.push(e),
            Hostile::Raw { value, headers } => {
                if !hostile_events.is_empty() {
                    produce_events(&big, &input, &std::mem::take(&mut hostile_events)).await;
                }
                let mut record = FutureRecord::to(&input).key("hostile").payload(&value);
                let mut hs = OwnedHeaders::new();
                for (k, v) in &headers {
                    hs = hs.insert(Header {
                        key: k,
                        value: Some(v),
                    });
                }
                record = record.headers(hs);
                big.send(record, Duration::from_secs(30))
                    .await
                    .expect("delivered");
            }
        }
    }
    produce_events(&big, &input, &hostile_events).await;
    produce_events(&p, &input, tail).await;
    let service = RunningService::start(config.clone()).await.unwrap();
    Run {
        broker,
        config,
        service,
        valid: events,
        hostile_events,
        produced,
        _turn: turn,
    }
}

impl Run {
    fn valid_agents(&self) -> BTreeSet<String> {
        self.valid
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::AgentJoined { agent_id } => Some(agent_id.clone()),
                _ => None,
            })
            .collect()
    }

    /// Waits until the valid agents' aggregates equal the naive
    /// recomputation of the valid traffic alone (the hostile part cannot
    /// touch another agent's figures), and returns what was published.
    async fn valid_agents_unchanged(&self) -> BTreeMap<String, serde_json::Value> {
        let agents = self.valid_agents();
        let keep = |k: &naive::Key| k.0.as_ref().is_some_and(|a| agents.contains(a));
        let want = naive_expected(&self.config, &self.valid);
        let (got, published) = settled_on(
            &self.config,
            &self.broker,
            &want,
            keep,
            Duration::from_secs(240),
        )
        .await;
        let want: BTreeMap<_, _> = want.into_iter().filter(|(k, _)| keep(k)).collect();
        assert!(!want.is_empty());
        assert_eq!(got, want, "the valid agents' aggregates are unchanged");
        published
    }

    /// Waits until everything (valid and hostile events) equals the naive
    /// recomputation: the hostile part is valid input and counts exactly.
    async fn everything_exact(&self) {
        let mut all = self.valid.clone();
        all.extend(self.hostile_events.iter().cloned());
        let want = naive_expected(&self.config, &all);
        let (got, _) = settled(&self.config, &self.broker, &want, Duration::from_secs(300)).await;
        assert_eq!(got, want, "every aggregate equals the naive recomputation");
    }

    /// The assemble stage commits the whole input (the topic's offsets
    /// start at 0 and every record produced is one offset).
    async fn input_committed_to_the_end(&self) {
        let (config, brokers) = (self.config.clone(), self.broker.brokers());
        let done = wait_until(Duration::from_secs(60), || {
            input_committed(&config, &brokers).iter().sum::<i64>() == self.produced
        })
        .await;
        assert!(
            done,
            "input committed to its end ({} records): {:?}",
            self.produced,
            input_committed(&config, &brokers)
        );
    }

    fn restarts(&self) -> u64 {
        ["assemble", "repeats", "aggregate"]
            .iter()
            .map(|s| {
                self.service
                    .metrics
                    .stage_restarts
                    .with_label_values(&[s])
                    .get()
            })
            .sum()
    }

    /// Items the engine did not keep (per contact, agent day or customer).
    fn truncated(&self) -> u64 {
        self.service
            .metrics
            .engine_events
            .with_label_values(&["truncated"])
            .get()
    }

    async fn dead_letters(&self) -> Vec<OwnedMessage> {
        read_topic(self.broker.brokers(), self.config.raw.topics.dlq.clone(), 3).await
    }

    /// Largest changelog record (key and value) of `stage`.
    async fn largest_changelog_record(&self, stage: &str) -> (usize, usize, usize) {
        let topic = format!(
            "{}.{stage}-changelog",
            self.config.raw.topics.internal_prefix
        );
        let records = read_topic(self.broker.brokers(), topic, 3).await;
        let size =
            |m: &OwnedMessage| m.key().map_or(0, <[u8]>::len) + m.payload().map_or(0, <[u8]>::len);
        let largest = records.iter().map(size).max().unwrap_or(0);
        let total = records.iter().map(size).sum();
        (largest, total, records.len())
    }

    async fn stop(self) {
        self.service.stop().await.unwrap();
    }
}

fn header(m: &OwnedMessage, name: &str) -> Option<String> {
    m.headers().and_then(|hs| {
        hs.iter()
            .find(|x| x.key == name)
            .and_then(|x| x.value)
            .map(|v| String::from_utf8_lossy(v).into_owned())
    })
}

fn reasons(dead: &[OwnedMessage]) -> Vec<String> {
    let mut r: Vec<String> = dead
        .iter()
        .map(|m| header(m, "error_reason").unwrap_or_default())
        .collect();
    r.sort();
    r
}

/// Root cause of most rows: an output the producer refuses (here a dead
/// letter larger than the producer's `message.max.bytes`) used to restart
/// the stage and replay the same record forever. Now the record is
/// quarantined: one restart, then it is dead-lettered by reference
/// (`poison`) and the line moves on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_output_the_producer_refuses_quarantines_its_record_and_the_line_moves_on() {
    let junk = vec![b'['; 300_000];
    let r = run(
        "refused",
        &[(
            "CONTACT_KPI__KAFKA__PROPERTIES__MESSAGE.MAX.BYTES",
            "100000",
        )],
        1_500,
        vec![Hostile::Raw {
            value: junk,
            headers: Vec::new(),
        }],
    )
    .await;
    r.everything_exact().await;
    r.input_committed_to_the_end().await;
    let dead = r.dead_letters().await;
    assert_eq!(reasons(&dead), ["poison"], "dead-lettered once, as poison");
    let m = &dead[0];
    assert_eq!(header(m, "dead_letter").as_deref(), Some("by_reference"));
    assert_eq!(header(m, "source_size").as_deref(), Some("300007"));
    assert!(header(m, "error").unwrap().contains("refused"));
    assert!(m.payload().is_none());
    let metrics = &r.service.metrics;
    assert_eq!(
        metrics
            .poison_records
            .with_label_values(&["assemble"])
            .get(),
        1
    );
    assert_eq!(r.restarts(), 1, "one restart finds the record, not a loop");
    r.stop().await;
}

/// A megabyte of headers on an invalid record, and a valid-looking event
/// whose `contact_id` is a mebibyte.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn megabyte_headers_and_a_mebibyte_contact_id_are_dead_letters() {
    let long_id = event(
        "huge-id".into(),
        // Under `input.max_record_bytes` (1 MiB), so the id itself is judged.
        &"c".repeat((1 << 20) - 1024),
        Channel::Chat,
        60_000,
        started("k-huge"),
    );
    let r = run(
        "headers",
        &[],
        1_500,
        vec![
            Hostile::Raw {
                value: b"{not json".to_vec(),
                headers: vec![
                    ("content-type".into(), b"application/json".to_vec()),
                    ("x-big".into(), vec![b'h'; 1 << 20]),
                ],
            },
            Hostile::Raw {
                value: serde_json::to_vec(&long_id.to_json()).unwrap(),
                headers: Vec::new(),
            },
        ],
    )
    .await;
    r.everything_exact().await;
    r.input_committed_to_the_end().await;
    let dead = r.dead_letters().await;
    assert_eq!(reasons(&dead), ["invalid_id", "invalid_json"]);
    for m in &dead {
        let headers: usize = m.headers().map_or(0, |h| {
            h.iter()
                .map(|x| x.key.len() + x.value.map_or(0, <[u8]>::len))
                .sum()
        });
        assert!(
            headers < 4096,
            "bounded headers on the dead letter: {headers}"
        );
    }
    let with_headers = dead
        .iter()
        .find(|m| header(m, "error_reason").as_deref() == Some("invalid_json"))
        .unwrap();
    assert_eq!(
        header(with_headers, "source_headers_omitted").as_deref(),
        Some("2"),
        "the content-type and the megabyte header"
    );
    let long = dead
        .iter()
        .find(|m| header(m, "error_reason").as_deref() == Some("invalid_id"))
        .unwrap();
    assert_eq!(header(long, "dead_letter").as_deref(), Some("by_reference"));
    assert_eq!(r.restarts(), 0);
    r.stop().await;
}

/// One agent message of 200 kB packed with empathy phrases: judged within
/// the per-message bounds, no stall.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_packed_with_empathy_phrases_is_judged_within_bounds() {
    let phrases = "Wat vervelend voor u, dat begrijp ik heel goed. I am so sorry to hear that. ";
    let text = phrases.repeat(200_000 / phrases.len());
    let c = "c-packed";
    let hostile = vec![
        event("p1".into(), c, Channel::Chat, 60_000, started("k-packed")),
        event(
            "p2".into(),
            c,
            Channel::Chat,
            61_000,
            EventKind::AgentJoined {
                agent_id: "a-packed".into(),
            },
        ),
        event(
            "p3".into(),
            c,
            Channel::Chat,
            62_000,
            customer_says("Mijn pakket is weer niet gekomen, dit is de derde keer!"),
        ),
        event(
            "p4".into(),
            c,
            Channel::Chat,
            70_000,
            agent_says("a-packed", text),
        ),
        event(
            "p5".into(),
            c,
            Channel::Chat,
            90_000,
            ended(Disposition::Resolved),
        ),
    ];
    let r = run(
        "packed",
        &[],
        1_500,
        hostile.into_iter().map(Hostile::Event).collect(),
    )
    .await;
    let published = r.valid_agents_unchanged().await;
    r.input_committed_to_the_end().await;
    let packed = published
        .values()
        .find(|v| v["agent_id"] == "a-packed" && v["window"] == "1h")
        .expect("the packed agent's window is published");
    assert_eq!(packed["empathy_scored"], 1, "{packed}");
    assert!(r.dead_letters().await.is_empty());
    assert_eq!(r.restarts(), 0);
    r.stop().await;
}

/// A 600 kB `agent_id` and a 600 kB invalid `party` (once echoed into the
/// dead letter's error header).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_600_kb_agent_id_and_party_are_dead_letters_with_bounded_headers() {
    let long_agent = event(
        "long-agent".into(),
        "c-long-agent",
        Channel::Voice,
        60_000,
        EventKind::AgentJoined {
            agent_id: "a".repeat(600_000),
        },
    );
    let party = format!(
        r#"{{"event_id":"long-party","contact_id":"c-long-party","channel":"chat","type":"message","ts":"2026-11-20T07:01:00Z","party":"{}","text":"hallo"}}"#,
        "p".repeat(600_000)
    );
    let r = run(
        "ids",
        &[],
        1_500,
        vec![
            Hostile::Raw {
                value: serde_json::to_vec(&long_agent.to_json()).unwrap(),
                headers: Vec::new(),
            },
            Hostile::Raw {
                value: party.into_bytes(),
                headers: Vec::new(),
            },
        ],
    )
    .await;
    r.everything_exact().await;
    r.input_committed_to_the_end().await;
    let dead = r.dead_letters().await;
    assert_eq!(reasons(&dead), ["invalid_id", "unknown_party"]);
    for m in &dead {
        assert!(header(m, "error").unwrap().len() <= 512);
        assert_eq!(header(m, "dead_letter").as_deref(), Some("by_reference"));
    }
    assert_eq!(r.restarts(), 0);
    r.stop().await;
}

/// One chat contact with 30,000 messages: the contact keeps its first 1,000
/// items, the rest are counted as truncated; changelog records stay small.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chat_of_30000_messages_is_truncated_not_a_stall() {
    let c = "c-chatty";
    let mut hostile = vec![
        event(
            "m-start".into(),
            c,
            Channel::Chat,
            60_000,
            started("k-chatty"),
        ),
        event(
            "m-join".into(),
            c,
            Channel::Chat,
            60_500,
            EventKind::AgentJoined {
                agent_id: "a-chatty".into(),
            },
        ),
    ];
    for i in 0..30_000i64 {
        let kind = if i % 2 == 0 {
            customer_says("en nu?")
        } else {
            agent_says("a-chatty", "ik kijk het na".into())
        };
        hostile.push(event(
            format!("m-{i}"),
            c,
            Channel::Chat,
            61_000 + i * 50,
            kind,
        ));
    }
    hostile.push(event(
        "m-end".into(),
        c,
        Channel::Chat,
        61_000 + 30_000 * 50,
        ended(Disposition::Unresolved),
    ));
    let r = run(
        "chatty",
        &[],
        1_500,
        hostile.into_iter().map(Hostile::Event).collect(),
    )
    .await;
    r.valid_agents_unchanged().await;
    r.input_committed_to_the_end().await;
    assert!(r.truncated() >= 29_000, "truncated: {}", r.truncated());
    let (largest, total, records) = r.largest_changelog_record("assemble").await;
    eprintln!("assemble changelog: {records} records, {total} bytes, largest {largest} bytes");
    assert!(
        largest < 256 * 1024,
        "largest changelog record {largest} bytes"
    );
    assert!(r.dead_letters().await.is_empty());
    assert_eq!(r.restarts(), 0);
    r.stop().await;
}

/// One agent id with 20,000 short contacts in one day (a bot, an IVR or a
/// shared login): exact, and no stage restarts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_with_20000_contacts_in_a_day_counts_exactly() {
    let mut hostile = Vec::new();
    for i in 0..20_000i64 {
        let c = format!("c-bot-{i}");
        let base = i * 2_000;
        hostile.push(event(
            format!("b-{i}-s"),
            &c,
            Channel::Voice,
            base,
            started(&format!("k-bot-{}", i % 500)),
        ));
        hostile.push(event(
            format!("b-{i}-j"),
            &c,
            Channel::Voice,
            base + 500,
            EventKind::AgentJoined {
                agent_id: "a-bot".into(),
            },
        ));
        hostile.push(event(
            format!("b-{i}-e"),
            &c,
            Channel::Voice,
            base + 1_500,
            ended(Disposition::Resolved),
        ));
    }
    let r = run(
        "bot",
        &[],
        1_500,
        hostile.into_iter().map(Hostile::Event).collect(),
    )
    .await;
    r.everything_exact().await;
    r.input_committed_to_the_end().await;
    assert_eq!(r.restarts(), 0);
    r.stop().await;
}

/// One customer id with 40,000 contacts (a shared or test id): exact, the
/// customer's history bounded, and no stage restarts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_with_40000_contacts_counts_exactly() {
    let mut hostile = Vec::new();
    for i in 0..40_000i64 {
        let c = format!("c-shared-{i}");
        let base = i * 1_000;
        hostile.push(event(
            format!("s-{i}-s"),
            &c,
            Channel::Chat,
            base,
            started("k-shared"),
        ));
        hostile.push(event(
            format!("s-{i}-e"),
            &c,
            Channel::Chat,
            base + 400,
            ended(Disposition::Unresolved),
        ));
    }
    let r = run(
        "shared",
        &[],
        1_500,
        hostile.into_iter().map(Hostile::Event).collect(),
    )
    .await;
    r.everything_exact().await;
    r.input_committed_to_the_end().await;
    assert!(r.truncated() > 0, "the customer's history is bounded");
    assert_eq!(r.restarts(), 0);
    let (largest, _, _) = r.largest_changelog_record("repeats").await;
    assert!(
        largest < 256 * 1024,
        "largest changelog record {largest} bytes"
    );
    r.stop().await;
}

/// 100,000 contacts that start and never end: held open (bounded by the
/// idle timeout, see `state_size.rs` for the bytes each costs), the valid
/// traffic unchanged, the input committed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_thousand_contacts_that_never_end_leave_the_rest_alone() {
    let hostile = (0..100_000i64)
        .map(|i| {
            Hostile::Event(event(
                format!("n-{i}"),
                &format!("c-never-{i}"),
                Channel::Chat,
                i * 20,
                started(&format!("k-never-{}", i % 10_000)),
            ))
        })
        .collect();
    let r = run("never", &[], 1_500, hostile).await;
    r.valid_agents_unchanged().await;
    r.input_committed_to_the_end().await;
    let open = r.service.metrics.open_contacts.get();
    assert!(
        open >= 100_000,
        "the never-ending contacts are open: {open}"
    );
    assert!(r.dead_letters().await.is_empty());
    assert_eq!(r.restarts(), 0);
    r.stop().await;
}
