//! Each platform adapter end to end through the broker. A platform's records
//! (the fixtures in `tests/data/platforms/<format>/`, written from the
//! vendor's public documentation) sit on the platform's own topics as its
//! connectors would leave them after downtime: without keys, spread over
//! three partitions, each stream published whole before the next (later
//! streams first, so a topic's log order is the opposite of the contacts'
//! order). The service routes and translates them, and the aggregates must
//! equal the naive recomputation of the equivalent contract events
//! (`expected.jsonl`, written by hand). The malformed variants go to the
//! dead-letter topic with their reason and change nothing.

mod common;

use common::*;
use contact_kpi::adapters::InputFormat;
use contact_kpi::config::Config;
use contact_kpi::model::{validate_platform_event, ContactEvent, EventKind, Party};
use contact_kpi::pipeline::RunningService;
use rdkafka::message::Headers;
use rdkafka::producer::FutureRecord;
use rdkafka::Message;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

struct Record {
    stream: String,
    timestamp_ms: Option<i64>,
    value: Vec<u8>,
}

fn dir(format: InputFormat) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/platforms")
        .join(format.as_str())
}

fn lines(path: PathBuf) -> Vec<Value> {
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn bytes(line: &Value) -> Vec<u8> {
    match (line.get("value"), line.get("raw")) {
        (Some(v), _) => serde_json::to_vec(v).unwrap(),
        (None, Some(Value::String(s))) => s.as_bytes().to_vec(),
        _ => panic!("fixture line without value: {line}"),
    }
}

fn records(format: InputFormat) -> Vec<Record> {
    lines(dir(format).join("records.jsonl"))
        .iter()
        .map(|l| Record {
            stream: l["stream"].as_str().unwrap_or("events").to_string(),
            timestamp_ms: l.get("timestamp_ms").and_then(Value::as_i64),
            value: bytes(l),
        })
        .collect()
}

/// The hand-written contract events, with each agent turn its platform
/// left unnamed given to the agent who held the contact at that moment: the
/// rule stage 1 applies (`adapters`), which the naive recomputation, needing
/// named agents, cannot know.
fn expected(format: InputFormat) -> Vec<ContactEvent> {
    let mut events: Vec<ContactEvent> = lines(dir(format).join("expected.jsonl"))
        .into_iter()
        .map(|v| validate_platform_event(v).unwrap())
        .collect();
    let holders: Vec<(String, chrono::DateTime<chrono::Utc>, Option<String>)> = {
        let mut by_time: Vec<&ContactEvent> = events.iter().collect();
        by_time.sort_by_key(|e| e.ts);
        by_time
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::AgentJoined { agent_id } => {
                    Some((e.contact_id.clone(), e.ts, Some(agent_id.clone())))
                }
                EventKind::Transfer { .. } | EventKind::ContactEnded { .. } => {
                    Some((e.contact_id.clone(), e.ts, None))
                }
                _ => None,
            })
            .collect()
    };
    for e in &mut events {
        if let EventKind::Message {
            party: Party::Agent,
            agent_id: agent @ None,
            ..
        } = &mut e.kind
        {
            *agent = holders
                .iter()
                .rfind(|(c, ts, _)| *c == e.contact_id && *ts <= e.ts)
                .and_then(|(_, _, a)| a.clone());
        }
    }
    // An agent turn nobody held the contact for cannot be attributed: the
    // service leaves it out, and so does the recomputation.
    events.retain(|e| {
        !matches!(
            &e.kind,
            EventKind::Message {
                party: Party::Agent,
                agent_id: None,
                ..
            }
        )
    });
    events
}

fn toml_string(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

async fn end_to_end(format: InputFormat) {
    let broker = Broker::start();
    let env = test_env(&broker, format.as_str(), &[]);
    let input = env
        .iter()
        .find(|(k, _)| k == "CONTACT_KPI__TOPICS__INPUT")
        .map(|(_, v)| v.clone())
        .unwrap();
    let records = records(format);
    let mut streams: Vec<String> = Vec::new();
    for r in &records {
        if !streams.contains(&r.stream) {
            streams.push(r.stream.clone());
        }
    }
    let topic = |stream: &str| format!("{input}-{stream}");
    let mut file = String::from("[topics]\ninputs = [\n");
    for s in &streams {
        let mapping = dir(format).join("mapping.toml");
        let extra = if format == InputFormat::Mapping {
            format!(
                ", mapping = {}",
                toml_string(&mapping.display().to_string())
            )
        } else {
            String::new()
        };
        file.push_str(&format!(
            "  {{ topic = {}, format = {}{extra} }},\n",
            toml_string(&topic(s)),
            toml_string(format.as_str())
        ));
    }
    file.push_str("]\n[adapters.dispositions]\n");
    let dispositions = dir(format).join("dispositions.json");
    if dispositions.exists() {
        let v: Value =
            serde_json::from_str(&std::fs::read_to_string(&dispositions).unwrap()).unwrap();
        for (code, d) in v["codes"].as_object().into_iter().flatten() {
            file.push_str(&format!("{} = {}\n", toml_string(code), d));
        }
        if let Some(u) = v.get("unmapped") {
            file.push_str(&format!("[adapters]\nunmapped_disposition = {u}\n"));
        }
    }
    let path = broker.dir.join(format!("{}.toml", format.as_str()));
    std::fs::write(&path, &file).unwrap();
    let config = Config::load_with_env(Some(&path), env).expect("platform config is valid");
    assert_eq!(config.inputs.len(), streams.len());

    let brokers = broker.brokers();
    for s in &streams {
        create_topic(&brokers, &topic(s), 3).await;
    }
    let producer = producer(&brokers);
    let publish = |stream: &str, value: &[u8], ts: Option<i64>| {
        let name = topic(stream);
        let mut rec: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(&name).payload(value);
        if let Some(ts) = ts {
            rec = rec.timestamp(ts);
        }
        let sent = producer
            .send_result(rec)
            .map_err(|(e, _)| e)
            .expect("enqueued");
        async move {
            sent.await.unwrap().expect("delivered");
        }
    };
    for s in streams.iter().rev() {
        for r in records.iter().filter(|r| &r.stream == s) {
            publish(s, &r.value, r.timestamp_ms).await;
        }
    }
    // A record without a timestamp cannot be published to Kafka (the
    // producer stamps one): that case is for the pure adapter only.
    let malformed: Vec<Value> = lines(dir(format).join("malformed.jsonl"))
        .into_iter()
        .filter(|m| m.get("field").and_then(Value::as_str) != Some("record timestamp"))
        .collect();
    let last_ts = records.iter().filter_map(|r| r.timestamp_ms).max();
    for m in &malformed {
        publish(&streams[0], &bytes(m), last_ts).await;
    }

    let events = expected(format);
    let want = naive_expected(&config, &events);
    assert!(!want.is_empty(), "the fixtures make aggregates");
    let service = RunningService::start(config.clone()).await.unwrap();
    let (got, _) = settled(&config, &broker, &want, Duration::from_secs(120)).await;
    let wrong: Vec<_> = want
        .iter()
        .filter(|(k, n)| got.get(*k) != Some(*n))
        .collect();
    for (k, n) in &wrong {
        eprintln!("{k:?}\n expected {n:?}\n      got {:?}", got.get(*k));
    }
    for k in got.keys().filter(|k| !want.contains_key(*k)) {
        eprintln!("extra aggregate {k:?}: {:?}", got[k]);
    }
    assert!(
        wrong.is_empty(),
        "{} of {} aggregates differ",
        wrong.len(),
        want.len()
    );
    assert_eq!(got.len(), want.len(), "no extra aggregates");

    // Every malformed record is dead-lettered from its platform topic with
    // its reason; nothing else is.
    let header = |m: &rdkafka::message::OwnedMessage, name: &str| {
        m.headers()
            .and_then(|h| h.iter().find(|h| h.key == name))
            .and_then(|h| h.value)
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .unwrap_or_default()
    };
    // The aggregates can settle before the router reaches the last records.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let dlq = loop {
        let dlq = read_topic(brokers.clone(), config.raw.topics.dlq.clone(), 1).await;
        if dlq.len() >= malformed.len() || std::time::Instant::now() > deadline {
            break dlq;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let mut reasons: Vec<String> = dlq.iter().map(|m| header(m, "error_reason")).collect();
    reasons.sort();
    let mut want_reasons: Vec<String> = malformed
        .iter()
        .map(|m| m["reason"].as_str().unwrap().to_string())
        .collect();
    want_reasons.sort();
    assert_eq!(reasons, want_reasons, "dead letters");
    for m in &dlq {
        assert_eq!(header(m, "source_topic"), topic(&streams[0]));
    }
    let counted: BTreeMap<String, u64> = ["forwarded", "ignored", "dead_letter"]
        .iter()
        .map(|o| {
            (
                o.to_string(),
                service
                    .metrics
                    .input_records
                    .with_label_values(&[format.as_str(), o])
                    .get(),
            )
        })
        .collect();
    assert_eq!(
        counted["dead_letter"],
        malformed.len() as u64,
        "{counted:?}"
    );
    assert_eq!(
        counted["forwarded"] + counted["ignored"],
        records.len() as u64,
        "{counted:?}"
    );
    service.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_homegrown_platform_through_a_mapping_file_matches_the_recomputation() {
    end_to_end(InputFormat::Mapping).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amazon_connect_contact_records_and_contact_lens_match_the_recomputation() {
    end_to_end(InputFormat::AmazonConnect).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn genesys_cloud_conversation_events_match_the_recomputation() {
    end_to_end(InputFormat::GenesysCloud).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twilio_flex_taskrouter_and_conversations_match_the_recomputation() {
    end_to_end(InputFormat::TwilioFlex).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zendesk_ticket_events_match_the_recomputation() {
    end_to_end(InputFormat::Zendesk).await;
}

/// One contract event as the homegrown platform of the mapping fixtures
/// (`tests/data/platforms/mapping/`) would send it.
fn as_acme_record(e: &ContactEvent) -> Value {
    use serde_json::json;
    let medium = match e.channel {
        contact_kpi::model::Channel::Voice => "phone",
        contact_kpi::model::Channel::Chat => "webchat",
        contact_kpi::model::Channel::Email => "mail",
    };
    let at = e.ts.timestamp_millis();
    let contact = json!({ "id": e.contact_id, "medium": medium });
    let mut r = match &e.kind {
        EventKind::ContactStarted {
            customer_id,
            queue,
            language,
        } => {
            let mut r = json!({ "kind": "contact.queued", "customer": { "number": customer_id } });
            if let Some(q) = queue {
                r["queue"] = json!(q);
            }
            if let Some(l) = language {
                r["customer"]["locale"] = json!(l);
            }
            r
        }
        EventKind::AgentJoined { agent_id } => {
            json!({ "kind": "contact.answered", "agent": { "login": agent_id } })
        }
        EventKind::Transfer { from_agent_id } => {
            json!({ "kind": "contact.transferred_out", "agent": { "login": from_agent_id } })
        }
        EventKind::Message {
            party,
            agent_id,
            text,
            end_ts,
            raised_voice,
        } => {
            let mut r = json!({ "kind": "utterance", "words": text, "loud": raised_voice,
                "speaker": if *party == Party::Agent { "agent" } else { "customer" } });
            if let Some(a) = agent_id {
                r["agent"] = json!({ "login": a });
            }
            if let Some(t) = end_ts {
                r["until"] = json!(t.timestamp_millis());
            }
            r
        }
        EventKind::ContactEnded {
            disposition,
            callback_due,
        } => {
            let mut r = json!({ "kind": "contact.closed", "wrapup": disposition.as_str() });
            if let Some(d) = callback_due {
                r["callback_at"] = json!(d.timestamp_millis());
            }
            r
        }
        EventKind::CallbackCompleted { agent_id } => {
            json!({ "kind": "callback.done", "agent": { "login": agent_id } })
        }
        EventKind::Survey { csat } => json!({ "kind": "survey.answered", "score": csat }),
    };
    r["id"] = json!(e.event_id);
    r["at"] = json!(at);
    r["contact"] = contact;
    r
}

/// Days of a homegrown platform's traffic waiting on its topic (unkeyed,
/// three partitions) when the service starts; the service is killed while
/// it catches up and started again. The aggregates equal the naive
/// recomputation of the simulated contract events the platform records
/// stand for: nothing forwarded twice after the crash counts twice, and
/// nothing is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_platform_backlog_through_the_router_survives_a_crash_during_catch_up() {
    let broker = Broker::start();
    // Commits a second apart: the crash leaves records forwarded but not
    // committed, which the next run forwards again.
    let env = test_env(
        &broker,
        "acme-backlog",
        &[("CONTACT_KPI__PIPELINE__COMMIT_INTERVAL", "1s")],
    );
    let input = env
        .iter()
        .find(|(k, _)| k == "CONTACT_KPI__TOPICS__INPUT")
        .map(|(_, v)| v.clone())
        .unwrap();
    let topic = format!("{input}-acme");
    let mapping = dir(InputFormat::Mapping).join("mapping.toml");
    let path = broker.dir.join("acme.toml");
    std::fs::write(
        &path,
        format!(
            "[topics]\ninputs = [{{ topic = {}, format = \"mapping\", mapping = {} }}]\n",
            toml_string(&topic),
            toml_string(&mapping.display().to_string())
        ),
    )
    .unwrap();
    let config = Config::load_with_env(Some(&path), env).unwrap();
    let events = multi_day_traffic(7, 6000);
    let want = naive_expected(&config, &events);
    let brokers = broker.brokers();
    create_topic(&brokers, &topic, 3).await;
    let producer = producer(&brokers);
    let mut pending = Vec::new();
    for e in &events {
        let value = serde_json::to_vec(&as_acme_record(e)).unwrap();
        let rec: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(&topic)
            .payload(&value[..])
            .timestamp(e.ts.timestamp_millis());
        pending.push(
            producer
                .send_result(rec)
                .map_err(|(e, _)| e)
                .expect("enqueued"),
        );
        if pending.len() >= 1000 {
            for f in pending.drain(..) {
                f.await.unwrap().expect("delivered");
            }
        }
    }
    for f in pending {
        f.await.unwrap().expect("delivered");
    }

    let service = RunningService::start(config.clone()).await.unwrap();
    let forwarded = |s: &RunningService| {
        s.metrics
            .input_records
            .with_label_values(&["mapping", "forwarded"])
            .get()
    };
    let third = events.len() as u64 / 3;
    assert!(
        wait_until(Duration::from_secs(120), || forwarded(&service) > third).await,
        "the router forwards"
    );
    let before_crash = forwarded(&service);
    service.crash().await;
    let service = RunningService::start(config.clone()).await.unwrap();
    let (got, _) = settled(&config, &broker, &want, Duration::from_secs(240)).await;
    eprintln!(
        "{} records; forwarded {before_crash} before the crash, {} after it",
        events.len(),
        forwarded(&service)
    );
    assert!(
        before_crash < events.len() as u64,
        "the crash came during the catch-up"
    );
    assert!(forwarded(&service) > 0, "the second run forwarded the rest");
    assert_eq!(
        service.metrics.router_merge_wait.get(),
        0.0,
        "read to the end, the router holds nothing back"
    );
    let wrong: Vec<_> = want
        .iter()
        .filter(|(k, n)| got.get(*k) != Some(*n))
        .collect();
    for (k, n) in wrong.iter().take(3) {
        eprintln!("{k:?}\n expected {n:?}\n      got {:?}", got.get(*k));
    }
    assert!(
        wrong.is_empty(),
        "{} of {} aggregates differ",
        wrong.len(),
        want.len()
    );
    assert_eq!(got.len(), want.len(), "no extra aggregates");
    service.stop().await.unwrap();
}
