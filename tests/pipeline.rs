//! The service end to end on a real broker (Tansu): events in, aggregates
//! out, bad records to the dead-letter topic, restarts without loss.

mod common;

use common::*;
use contact_kpi::config::Config;
use contact_kpi::model::{decode_event, ContactEvent, PayloadFormat};
use contact_kpi::pipeline::RunningService;
use rdkafka::message::Headers;
use rdkafka::Message;
use std::time::Duration;

const EXAMPLE: [&str; 5] = [
    r#"{"event_id":"e1","contact_id":"c42","channel":"chat","type":"contact_started","ts":"2026-11-22T09:00:00Z","customer_id":"k7","language":"nl"}"#,
    r#"{"event_id":"e2","contact_id":"c42","channel":"chat","type":"agent_joined","ts":"2026-11-22T09:00:40Z","agent_id":"a3"}"#,
    r#"{"event_id":"e3","contact_id":"c42","channel":"chat","type":"message","ts":"2026-11-22T09:00:41Z","party":"customer","text":"Mijn pakket is na vijf weken nog steeds niet binnen."}"#,
    r#"{"event_id":"e4","contact_id":"c42","channel":"chat","type":"message","ts":"2026-11-22T09:01:10Z","party":"agent","agent_id":"a3","text":"Wat vervelend dat u zo lang moet wachten. Mag ik uw ordernummer?"}"#,
    r#"{"event_id":"e5","contact_id":"c42","channel":"chat","type":"contact_ended","ts":"2026-11-22T09:06:00Z","disposition":"resolved"}"#,
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contract_example_yields_the_hand_computed_aggregates() {
    let broker = Broker::start();
    let config = test_config(&broker, "example", &[]);
    let service = RunningService::start(config.clone()).await.unwrap();
    let p = producer(&broker.brokers());
    for line in EXAMPLE {
        let key = "c42";
        produce_raw(
            &p,
            &config.raw.topics.input,
            key,
            line.as_bytes(),
            Some("application/json"),
        )
        .await;
    }
    let key = "agent/a3/chat/1h/2026-11-22T09:00:00Z";
    let mut agg = None;
    for _ in 0..120 {
        let (b, t) = (broker.brokers(), config.raw.topics.aggregates.clone());
        let got = tokio::task::spawn_blocking(move || {
            last_per_key(&read_all(&b, &t, 3, Duration::from_millis(1000)))
        })
        .await
        .unwrap();
        if let Some(v) = got.get(key) {
            agg = Some((v.clone(), got));
            break;
        }
    }
    let (a, all) = agg.expect("the agent aggregate was published");
    // By hand: one chat handled and resolved by a3; 40 s wait; first response
    // 70 s after the start (over the 60 s threshold); reply 29 s; handled 5 min 20 s.
    assert_eq!(a["level"], "agent");
    assert_eq!(a["agent_id"], "a3");
    assert_eq!(a["window_start"], "2026-11-22T09:00:00Z");
    assert_eq!(a["window_end"], "2026-11-22T10:00:00Z");
    assert_eq!(a["handled"], 1);
    assert_eq!(a["resolved"], 1);
    assert_eq!(a["resolution_rate"], 1.0);
    assert_eq!(a["first_response_ms_sum"], 70_000);
    assert_eq!(a["first_response_within_sla"], 0);
    assert_eq!(a["reply_ms_sum"], 29_000);
    assert_eq!(a["handle_ms_sum"], 320_000);
    assert_eq!(a["empathy_scored"], 1);
    assert_eq!(a["questions_asked"], 1);
    assert!(
        a["service_level"].is_null(),
        "queue figures are absent at agent level"
    );
    let c = &all["channel/chat/1h/2026-11-22T09:00:00Z"];
    assert_eq!(
        (
            c["offered"].as_u64(),
            c["answered"].as_u64(),
            c["abandoned"].as_u64()
        ),
        (Some(1), Some(1), Some(0))
    );
    assert_eq!(c["wait_ms_sum"], 40_000);
    assert_eq!(c["answered_within_sl"], 1);
    assert_eq!(c["service_level"], 1.0);
    assert_eq!(c["asa_ms"], 40_000.0);
    assert!(all.contains_key("agent/a3/chat/1d/2026-11-22T00:00:00Z"));
    assert!(all.contains_key("channel/chat/1d/2026-11-22T00:00:00Z"));
    // No personal data in what is published.
    let text = serde_json::to_string(&all).unwrap();
    assert!(
        !text.contains("k7") && !text.contains("pakket"),
        "no customer id or text in aggregates"
    );
    // Metrics.
    let (status, body) = http_get(service.http_addr, "/metrics").await;
    assert_eq!(status, 200);
    assert!(
        body.contains(r#"contact_kpi_handled_total{agent="a3",channel="chat"} 1"#),
        "{body}"
    );
    assert!(body.contains(r#"contact_kpi_offered_total{channel="chat"} 1"#));
    assert_eq!(http_get(service.http_addr, "/healthz").await.0, 200);
    assert_eq!(http_get(service.http_addr, "/readyz").await.0, 200);
    service.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poison_records_go_to_dlq_and_processing_advances() {
    let broker = Broker::start();
    let config = test_config(&broker, "dlq", &[]);
    let input = config.raw.topics.input.clone();
    create_topic(&broker.brokers(), &input, 3).await;
    let p = producer(&broker.brokers());
    let bad: [(&str, &[u8], Option<&str>); 5] = [
        ("c42", b"{not json", None),
        ("c42", br#"{"event_id":"b2","contact_id":"c42","channel":"chat","type":"survey","ts":"2026-11-22T09:10:00Z","csat":9}"#, None),
        ("c42", br#"{"event_id":"b3","contact_id":"c42","channel":"fax","type":"agent_joined","ts":"2026-11-22T09:00:50Z","agent_id":"a9"}"#, None),
        ("c42", &[0x0a, 0xff, 0xff, 0xff, 0xff], Some("application/x-protobuf")),
        ("c42", br#"{"event_id":"b5","contact_id":"c42","channel":"chat","type":"message","ts":"yesterday","party":"agent","agent_id":"a3","text":"x"}"#, None),
    ];
    // Bad records interleaved with the good contact.
    for (i, line) in EXAMPLE.iter().enumerate() {
        produce_raw(&p, &input, "c42", line.as_bytes(), None).await;
        if i < bad.len() {
            let (k, v, ct) = bad[i];
            produce_raw(&p, &input, k, v, ct).await;
        }
    }
    let service = RunningService::start(config.clone()).await.unwrap();
    let good: Vec<ContactEvent> = EXAMPLE
        .iter()
        .map(|l| decode_event(Some(l.as_bytes()), None, PayloadFormat::Auto, 1 << 20).unwrap())
        .collect();
    let expected = offline(&config, &good);
    let got = wait_for_aggregates(&config, &expected, Duration::from_secs(120)).await;
    assert_eq!(exact(&got), exact(&expected), "bad records changed no KPI");
    let dlq = tokio::task::spawn_blocking({
        let (b, t) = (broker.brokers(), config.raw.topics.dlq.clone());
        move || read_all(&b, &t, 1, Duration::from_secs(2))
    })
    .await
    .unwrap();
    assert_eq!(
        dlq.len(),
        bad.len(),
        "every bad record is dead-lettered once"
    );
    let mut reasons = Vec::new();
    for m in &dlq {
        let headers = m.headers().expect("dlq records carry headers");
        let get = |name: &str| {
            headers
                .iter()
                .find(|h| h.key == name)
                .and_then(|h| h.value)
                .map(|v| String::from_utf8_lossy(v).into_owned())
        };
        assert_eq!(get("source_topic").as_deref(), Some(input.as_str()));
        let partition: i32 = get("source_partition").unwrap().parse().unwrap();
        let offset: i64 = get("source_offset").unwrap().parse().unwrap();
        assert!(partition >= 0 && offset >= 0);
        assert!(!get("error").unwrap().is_empty());
        reasons.push(get("error_reason").unwrap());
        let payload = m.payload().unwrap();
        assert!(
            bad.iter().any(|(_, v, _)| *v == payload),
            "payload unchanged"
        );
    }
    reasons.sort();
    assert_eq!(
        reasons,
        [
            "bad_timestamp",
            "csat_out_of_range",
            "invalid_json",
            "invalid_protobuf",
            "unknown_channel"
        ]
    );
    let (_, body) = http_get(service.http_addr, "/metrics").await;
    assert!(
        body.contains(r#"contact_kpi_dlq_records_total{reason="invalid_json"} 1"#),
        "{body}"
    );
    service.stop().await.unwrap();
}

async fn graceful_restart_loses_and_duplicates_nothing_impl() {
    let broker = Broker::start();
    let config = test_config(&broker, "restart", &[]);
    let events = simulated(3000);
    let expected = offline(&config, &events);
    create_topic(&broker.brokers(), &config.raw.topics.input, 3).await;
    let p = producer(&broker.brokers());
    let (first, second) = events.split_at(events.len() / 2);
    produce_events(&p, &config.raw.topics.input, first).await;
    let service = RunningService::start(config.clone()).await.unwrap();
    // Let it consume a while, then stop it while more traffic arrives.
    let consumed = |s: &RunningService| {
        s.metrics
            .records_consumed
            .with_label_values(&[&config.raw.topics.input])
            .get()
    };
    // The last stage has facts to remember too (so the restart has state to
    // restore in every stage, which the end of this test checks).
    let agent_facts = format!("{}.agent-facts", config.raw.topics.internal_prefix);
    let aggregated = |s: &RunningService| {
        s.metrics
            .records_consumed
            .with_label_values(&[&agent_facts])
            .get()
    };
    assert!(
        wait_until(Duration::from_secs(120), || consumed(&service) > 500
            && aggregated(&service) > 0)
        .await,
        "service consumes"
    );
    produce_events(&p, &config.raw.topics.input, &second[..second.len() / 2]).await;
    service.stop().await.unwrap();
    produce_events(&p, &config.raw.topics.input, &second[second.len() / 2..]).await;
    let service = RunningService::start(config.clone()).await.unwrap();
    let got = wait_for_aggregates(&config, &expected, Duration::from_secs(120)).await;
    assert_exactly(&expected, &got, "after a graceful restart");
    let restored = service
        .metrics
        .restored_records
        .with_label_values(&["aggregate"])
        .get();
    assert!(
        restored > 0,
        "the second run restored its state from the changelog"
    );
    service.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_restart_loses_and_duplicates_nothing() {
    graceful_restart_loses_and_duplicates_nothing_impl().await;
}

/// A published aggregate's counts in the naive recomputation's shape.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_simulated_contacts_match_the_naive_recomputation() {
    let broker = Broker::start();
    let config = test_config(
        &broker,
        "naive",
        &[("CONTACT_KPI__TIMEZONE", "Europe/Amsterdam")],
    );
    let events = simulated(25_000);
    let contacts: std::collections::HashSet<&str> =
        events.iter().map(|e| e.contact_id.as_str()).collect();
    assert!(
        contacts.len() >= 2000,
        "a few thousand contacts ({})",
        contacts.len()
    );
    let expected = naive_expected(&config, &events);
    create_topic(&broker.brokers(), &config.raw.topics.input, 3).await;
    produce_events(
        &producer(&broker.brokers()),
        &config.raw.topics.input,
        &events,
    )
    .await;
    let service = RunningService::start(config.clone()).await.unwrap();
    let (got, _) = settled(&config, &broker, &expected, Duration::from_secs(180)).await;
    let wrong: Vec<_> = expected
        .iter()
        .filter(|(k, n)| got.get(*k) != Some(*n))
        .take(3)
        .collect();
    for (k, n) in &wrong {
        eprintln!("{k:?}\n expected {n:?}\n      got {:?}", got.get(*k));
    }
    assert!(
        wrong.is_empty(),
        "{} of {} aggregates differ",
        wrong.len(),
        expected.len()
    );
    assert_eq!(got.len(), expected.len(), "no extra aggregates");
    service.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kpi_drop_is_published_to_the_alerts_topic() {
    let broker = Broker::start();
    let config = test_config(
        &broker,
        "alerts",
        &[
            ("CONTACT_KPI__WINDOWS", "1h"),
            ("CONTACT_KPI__ALERTS__MIN_VOLUME", "5"),
            ("CONTACT_KPI__ALERTS__MIN_BASELINE_VOLUME", "20"),
            ("CONTACT_KPI__ALERTS__KPIS", "abandon_rate"),
        ],
    );
    // Eight hours of voice calls, six an hour, all answered except in hour 6.
    let base = chrono::DateTime::parse_from_rfc3339("2026-11-22T06:00:00Z")
        .unwrap()
        .to_utc();
    let mut events = Vec::new();
    for hour in 0..8i64 {
        for i in 0..6i64 {
            let contact = format!("c{hour}-{i}");
            let t = base + chrono::Duration::hours(hour) + chrono::Duration::minutes(i * 5);
            let mut push = |secs: i64, kind: contact_kpi::model::EventKind| {
                events.push(ContactEvent {
                    event_id: format!("{contact}-{secs}"),
                    contact_id: contact.clone(),
                    channel: contact_kpi::model::Channel::Voice,
                    ts: t + chrono::Duration::seconds(secs),
                    kind,
                })
            };
            push(
                0,
                contact_kpi::model::EventKind::ContactStarted {
                    customer_id: format!("k{hour}{i}"),
                    queue: None,
                    language: None,
                },
            );
            if hour != 6 {
                push(
                    10,
                    contact_kpi::model::EventKind::AgentJoined {
                        agent_id: "a1".into(),
                    },
                );
            }
            push(
                120,
                contact_kpi::model::EventKind::ContactEnded {
                    disposition: contact_kpi::model::Disposition::Resolved,
                    callback_due: None,
                },
            );
        }
    }
    create_topic(&broker.brokers(), &config.raw.topics.input, 3).await;
    produce_events(
        &producer(&broker.brokers()),
        &config.raw.topics.input,
        &events,
    )
    .await;
    let service = RunningService::start(config.clone()).await.unwrap();
    let mut alerts = Vec::new();
    // Generous: the group join and the partitions' idle detection take seconds, more under load.
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while alerts.is_empty() && std::time::Instant::now() < deadline {
        let (b, t) = (broker.brokers(), config.raw.topics.alerts.clone());
        alerts =
            tokio::task::spawn_blocking(move || read_all(&b, &t, 1, Duration::from_millis(1000)))
                .await
                .unwrap();
    }
    // A second alert, if one were (wrongly) raised, would show up within a few more seconds.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (b, t) = (broker.brokers(), config.raw.topics.alerts.clone());
    alerts = tokio::task::spawn_blocking(move || read_all(&b, &t, 1, Duration::from_millis(1500)))
        .await
        .unwrap();
    assert_eq!(alerts.len(), 1, "one alert for the one bad hour");
    let m = &alerts[0];
    let key = String::from_utf8(m.key().unwrap().to_vec()).unwrap();
    assert_eq!(key, "channel/voice/abandon_rate/1h/2026-11-22T12:00:00Z");
    let a: serde_json::Value = serde_json::from_slice(m.payload().unwrap()).unwrap();
    assert_eq!(a["level"], "channel");
    assert_eq!(a["channel"], "voice");
    assert_eq!(a["kpi"], "abandon_rate");
    assert_eq!(a["window"], "1h");
    assert_eq!(a["window_start"], "2026-11-22T12:00:00Z");
    assert_eq!(
        (
            a["value"].as_f64(),
            a["baseline"].as_f64(),
            a["volume"].as_u64()
        ),
        (Some(1.0), Some(0.0), Some(6))
    );
    assert!(a["p_value"].as_f64().unwrap() <= 0.01);
    assert!(
        a["summary"]
            .as_str()
            .unwrap()
            .starts_with("Abandonment of voice (all agents) rose to 100%"),
        "{a}"
    );
    let (_, body) = http_get(service.http_addr, "/metrics").await;
    assert!(
        body.contains(
            r#"contact_kpi_alerts_total{channel="voice",kpi="abandon_rate",level="channel"} 1"#
        ),
        "{body}"
    );
    service.stop().await.unwrap();
}

/// Runs half the events through `config`'s service with Kafka transactions,
/// stops it gracefully, runs the rest through a new incarnation (which fences
/// the first), and checks read_committed readers see exact aggregates, that
/// every stage committed transactions and that none aborted.
async fn transactional_restart_is_exact(config: &Config, brokers: &str, what: &str) {
    let events = simulated(3000);
    let expected = offline(config, &events);
    let p = producer(brokers);
    let service = RunningService::start(config.clone()).await.unwrap();
    let (first, second) = events.split_at(events.len() / 2);
    produce_events(&p, &config.raw.topics.input, first).await;
    let committed = |s: &RunningService, stage: &str| {
        s.metrics
            .transactions
            .with_label_values(&[stage, "committed"])
            .get()
    };
    assert!(
        wait_until(Duration::from_secs(120), || committed(
            &service,
            "aggregate"
        ) > 0)
        .await,
        "the aggregate stage commits transactions"
    );
    service.stop().await.unwrap();
    produce_events(&p, &config.raw.topics.input, second).await;
    let service = RunningService::start(config.clone()).await.unwrap();
    let got = wait_for_aggregates(config, &expected, Duration::from_secs(120)).await;
    assert_exactly(&expected, &got, what);
    for stage in ["assemble", "repeats", "aggregate"] {
        assert!(
            committed(&service, stage) > 0,
            "{stage} committed transactions"
        );
        let aborted = service
            .metrics
            .transactions
            .with_label_values(&[stage, "aborted"])
            .get();
        assert_eq!(aborted, 0, "{stage} aborted nothing");
    }
    service.stop().await.unwrap();
}

/// The transactional mode (`pipeline.transactions = true`, KIP-447) against
/// librdkafka's mock cluster, a second, independent transaction coordinator
/// next to the broker test below. It cannot prove crash atomicity: the mock
/// writes no abort markers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactional_mode_commits_exact_aggregates_on_the_mock_cluster() {
    let mock = rdkafka::mocking::MockCluster::new(1).unwrap();
    let brokers = mock.bootstrap_servers();
    let env = test_env_for(
        &brokers,
        "txn",
        &[
            ("CONTACT_KPI__PIPELINE__TRANSACTIONS", "true"),
            // The mock cluster does not answer CreateTopics: made here.
            ("CONTACT_KPI__KAFKA__CREATE_TOPICS", "false"),
        ],
    );
    let config = Config::load_with_env(None, env).unwrap();
    let t = &config.raw.topics;
    let mut topics = vec![
        (t.input.clone(), 3),
        (t.aggregates.clone(), 3),
        (t.alerts.clone(), 1),
        (t.dlq.clone(), 1),
    ];
    for internal in ["contact-facts", "agent-facts"] {
        topics.push((format!("{}.{internal}", t.internal_prefix), 3));
    }
    for stage in ["assemble", "repeats", "aggregate"] {
        topics.push((format!("{}.{stage}-changelog", t.internal_prefix), 3));
    }
    for (topic, partitions) in &topics {
        mock.create_topic(topic, *partitions, 1).unwrap();
    }
    transactional_restart_is_exact(&config, &brokers, "in transactional mode").await;
    drop(mock);
}

/// The transactional mode against the real broker (Tansu with EndTxn; see
/// tools/tansu): outputs, changelog and offsets commit in Kafka
/// transactions, read_committed readers see exact aggregates, and a graceful
/// restart (the new incarnation fences the old one) loses and duplicates
/// nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactional_mode_commits_exact_aggregates_on_the_broker() {
    let broker = Broker::start();
    let config = test_config(
        &broker,
        "txnbroker",
        &[("CONTACT_KPI__PIPELINE__TRANSACTIONS", "true")],
    );
    create_topic(&broker.brokers(), &config.raw.topics.input, 3).await;
    transactional_restart_is_exact(
        &config,
        &broker.brokers(),
        "in transactional mode on the broker",
    )
    .await;
}

/// One record of megabytes (invalid JSON, or a valid event over
/// `input.max_record_bytes`) used to halt the line: its copy to the
/// dead-letter topic was refused by the producer and the stage retried it
/// forever. It is dead-lettered by reference and everything else goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_of_megabytes_is_dead_lettered_by_reference_and_the_line_moves_on() {
    let broker = Broker::start();
    let config = test_config(&broker, "huge", &[]);
    let input = config.raw.topics.input.clone();
    create_topic(&broker.brokers(), &input, 3).await;
    let events = simulated(1_500);
    let expected = naive_expected(&config, &events);
    let big: rdkafka::producer::FutureProducer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", broker.brokers())
        .set("message.max.bytes", "8000000")
        .create()
        .unwrap();
    let (head, tail) = events.split_at(events.len() / 2);
    let p = producer(&broker.brokers());
    produce_events(&p, &input, head).await;
    let junk = vec![b'{'; 2 << 20];
    produce_raw(&big, &input, "c-huge-1", &junk, None).await;
    let huge_text = format!(
        r#"{{"event_id":"h2","contact_id":"c-huge-2","channel":"chat","type":"message","ts":"2026-11-20T08:00:00Z","party":"customer","text":"{}"}}"#,
        "a".repeat(3 << 20)
    );
    produce_raw(
        &big,
        &input,
        "c-huge-2",
        huge_text.as_bytes(),
        Some("application/json"),
    )
    .await;
    produce_events(&p, &input, tail).await;
    let service = RunningService::start(config.clone()).await.unwrap();
    let (got, _) = settled(&config, &broker, &expected, Duration::from_secs(180)).await;
    assert_eq!(
        got, expected,
        "the valid traffic's aggregates are unchanged"
    );
    let dead = read_topic(broker.brokers(), config.raw.topics.dlq.clone(), 3).await;
    assert_eq!(dead.len(), 2, "both records dead-lettered once");
    for m in &dead {
        let h = |name: &str| {
            m.headers().and_then(|hs| {
                hs.iter()
                    .find(|x| x.key == name)
                    .and_then(|x| x.value)
                    .map(|v| String::from_utf8_lossy(v).into_owned())
            })
        };
        assert_eq!(h("dead_letter").as_deref(), Some("by_reference"));
        assert!(h("source_size").unwrap().parse::<usize>().unwrap() > 2 << 20);
        assert!(m.payload().is_none(), "the value is not copied");
        assert!(h("error_reason").is_some());
    }
    let restarts: u64 = ["assemble", "repeats", "aggregate"]
        .iter()
        .map(|s| service.metrics.stage_restarts.with_label_values(&[s]).get())
        .sum();
    assert_eq!(restarts, 0, "no stage started over");
    service.stop().await.unwrap();
}

/// One producer with a clock in the year 2100 used to move event time for
/// everyone and close (and evict) the valid traffic's windows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_producer_clock_in_the_year_2100_moves_nobodys_event_time() {
    let broker = Broker::start();
    let config = test_config(&broker, "clock", &[]);
    let input = config.raw.topics.input.clone();
    create_topic(&broker.brokers(), &input, 3).await;
    let events = simulated(2_000);
    let expected = naive_expected(&config, &events);
    let p = producer(&broker.brokers());
    let (head, tail) = events.split_at(events.len() / 3);
    produce_events(&p, &input, head).await;
    let mut future = Vec::new();
    for (i, e) in events.iter().take(60).enumerate() {
        let mut e = e.clone();
        e.event_id = format!("future-{i}");
        e.contact_id = format!("future-{}", i / 6);
        e.ts += chrono::Duration::days(365 * 74);
        future.push(e);
    }
    produce_events(&p, &input, &future).await;
    produce_events(&p, &input, tail).await;
    let service = RunningService::start(config.clone()).await.unwrap();
    let (got, _) = settled(&config, &broker, &expected, Duration::from_secs(180)).await;
    assert_eq!(
        got, expected,
        "the valid traffic's aggregates are unchanged"
    );
    let dead = read_topic(broker.brokers(), config.raw.topics.dlq.clone(), 3).await;
    assert_eq!(dead.len(), future.len(), "every future event dead-lettered");
    assert!(dead.iter().all(|m| m.headers().is_some_and(|h| h
        .iter()
        .any(|x| x.key == "error_reason" && x.value == Some(b"clock_ahead".as_slice())))));
    service.stop().await.unwrap();
}
