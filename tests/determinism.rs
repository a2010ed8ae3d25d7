//! One answer whatever the timing, on the real broker: the same multi-day
//! traffic published live (while the service runs) and as a backlog (before
//! it starts), with one and several input partitions, gives identical
//! aggregates, equal to the naive recomputation; and a replay of more
//! history than the window retention publishes every window.
//!
//! `CKPI_BACKLOG_RUNS=N` adds N backlog runs with other partition counts and
//! commit intervals and prints the differing-field count of each (the
//! measurement in the closing notes); `CKPI_BACKLOG_EVENTS` sets the size of
//! the traffic (default 2500 simulated events plus the extra threads).

mod common;

use common::naive::{Key, Naive};
use common::*;
use contact_kpi::config::Config;
use contact_kpi::model::ContactEvent;
use contact_kpi::pipeline::RunningService;
use std::collections::BTreeMap;
use std::time::Duration;

fn differing_fields(want: &BTreeMap<Key, Naive>, got: &BTreeMap<Key, Naive>) -> usize {
    let fields = |n: &Naive| {
        format!("{n:?}")
            .split(',')
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    want.keys()
        .chain(got.keys())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .map(|k| {
            let (w, g) = (
                fields(want.get(k).unwrap_or(&Naive::default())),
                fields(got.get(k).unwrap_or(&Naive::default())),
            );
            w.iter().zip(&g).filter(|(a, b)| a != b).count()
        })
        .sum()
}

/// Every published field but the revision and the final flags (how often
/// and when a window is published depends on timing by design).
fn comparable(m: &BTreeMap<String, serde_json::Value>) -> BTreeMap<String, serde_json::Value> {
    exact(m)
}

struct Run {
    partitions: i32,
    commit_interval: &'static str,
    live: bool,
}

async fn run(
    broker: &Broker,
    events: &[ContactEvent],
    r: &Run,
) -> (usize, BTreeMap<String, serde_json::Value>) {
    let partitions = r.partitions.to_string();
    let config = test_config(
        broker,
        "det",
        &[
            ("CONTACT_KPI__TIMEZONE", "Europe/Amsterdam"),
            ("CONTACT_KPI__KAFKA__TOPIC_PARTITIONS", &partitions),
            ("CONTACT_KPI__PIPELINE__COMMIT_INTERVAL", r.commit_interval),
        ],
    );
    let want = naive_expected(&config, events);
    create_topic(&broker.brokers(), &config.raw.topics.input, r.partitions).await;
    let p = producer(&broker.brokers());
    let service = if r.live {
        let service = RunningService::start(config.clone()).await.unwrap();
        // Live: in chunks while the service runs, with pauses (lulls).
        for chunk in events.chunks(events.len() / 8 + 1) {
            produce_events(&p, &config.raw.topics.input, chunk).await;
            tokio::time::sleep(Duration::from_millis(700)).await;
        }
        service
    } else {
        produce_events(&p, &config.raw.topics.input, events).await;
        RunningService::start(config.clone()).await.unwrap()
    };
    let (got, published) = settled(&config, broker, &want, Duration::from_secs(240)).await;
    service.stop().await.unwrap();
    let differing = differing_fields(&want, &got);
    eprintln!(
        "{} partitions, commit interval {}, {}: {} keys expected, {} published, {differing} differing fields",
        r.partitions,
        r.commit_interval,
        if r.live { "live" } else { "backlog" },
        want.len(),
        got.len()
    );
    (differing, published)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replaying_a_backlog_gives_the_same_aggregates_as_live_traffic() {
    let broker = Broker::start();
    let n = std::env::var("CKPI_BACKLOG_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2500);
    let events = multi_day_traffic(7, n);
    let span =
        events.iter().map(|e| e.ts).max().unwrap() - events.iter().map(|e| e.ts).min().unwrap();
    assert!(
        span > chrono::Duration::days(2),
        "multi-day traffic ({span})"
    );
    let mut runs = vec![
        Run {
            partitions: 1,
            commit_interval: "100ms",
            live: true,
        },
        Run {
            partitions: 1,
            commit_interval: "100ms",
            live: false,
        },
        Run {
            partitions: 3,
            commit_interval: "100ms",
            live: true,
        },
        Run {
            partitions: 3,
            commit_interval: "100ms",
            live: false,
        },
    ];
    let extra: usize = std::env::var("CKPI_BACKLOG_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    for i in 0..extra {
        runs.push(Run {
            partitions: [1, 2, 3, 4, 6][i % 5],
            commit_interval: ["20ms", "100ms", "1s", "250ms"][i % 4],
            live: false,
        });
    }
    let mut first: Option<BTreeMap<String, serde_json::Value>> = None;
    for r in &runs {
        let (differing, published) = run(&broker, &events, r).await;
        assert_eq!(
            differing, 0,
            "{} partitions, live {}: aggregates differ from the naive recomputation",
            r.partitions, r.live
        );
        let published = comparable(&published);
        match &first {
            None => first = Some(published),
            Some(f) => {
                let keys: Vec<&String> = f
                    .keys()
                    .chain(published.keys())
                    .filter(|k| f.get(*k) != published.get(*k))
                    .collect();
                assert!(keys.is_empty(), "{} partitions, live {}: {} aggregates differ from the first run, e.g. {:?}: {:?} vs {:?}", r.partitions, r.live, keys.len(), keys[0], f.get(keys[0]), published.get(keys[0]));
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replaying_more_than_the_window_retention_publishes_every_window() {
    let broker = Broker::start();
    // One resolved call a day for 40 days: five times the 8-day retention,
    // replayed in one go with a long emit interval, so event time passes
    // most windows' retention before their first publication.
    let start = chrono::DateTime::parse_from_rfc3339("2026-01-05T09:00:00Z")
        .unwrap()
        .to_utc();
    let mut events = Vec::new();
    for d in 0..40 {
        for (i, (kind, minutes)) in [
            (r#""type":"contact_started","customer_id":"k1""#, 0),
            (r#""type":"agent_joined","agent_id":"a1""#, 1),
            (r#""type":"contact_ended","disposition":"resolved""#, 6),
        ]
        .into_iter()
        .enumerate()
        {
            let ts = (start + chrono::Duration::days(d) + chrono::Duration::minutes(minutes))
                .to_rfc3339();
            let json = format!(
                r#"{{"event_id":"e{d}-{i}","contact_id":"c{d}","channel":"voice",{kind},"ts":"{ts}"}}"#
            );
            events.push(
                contact_kpi::model::decode_event(
                    Some(json.as_bytes()),
                    None,
                    contact_kpi::model::PayloadFormat::Json,
                    1 << 20,
                )
                .unwrap(),
            );
        }
    }
    let config = test_config(
        &broker,
        "replay",
        &[("CONTACT_KPI__OUTPUT__EMIT_INTERVAL", "3s")],
    );
    let want = naive_expected(&config, &events);
    assert_eq!(
        want.len(),
        40 * 4,
        "agent and channel, hour and day, per day"
    );
    create_topic(&broker.brokers(), &config.raw.topics.input, 3).await;
    produce_events(
        &producer(&broker.brokers()),
        &config.raw.topics.input,
        &events,
    )
    .await;
    let service = RunningService::start(config.clone()).await.unwrap();
    let (got, published) = settled(&config, &broker, &want, Duration::from_secs(120)).await;
    assert_eq!(
        differing_fields(&want, &got),
        0,
        "every window published with its counts"
    );
    assert_eq!(got.len(), want.len());
    let oldest = &published["agent/a1/voice/1d/2026-01-05T00:00:00Z"];
    assert_eq!(
        oldest["final"], true,
        "an evicted window is published final"
    );
    let (_, metrics) = http_get(service.http_addr, "/metrics").await;
    let dropped = metrics
        .lines()
        .find(|l| {
            l.starts_with("contact_kpi_engine_events_total") && l.contains("expired_window_update")
        })
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0);
    assert_eq!(dropped, 0.0, "no update fell on an evicted window");
    service.stop().await.unwrap();
}

/// librdkafka reports every partition end (`enable.partition.eof`, which
/// tells an idle partition from a starved one); an idle service must not log
/// them as errors (it logged about 36 a second).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_service_logs_no_partition_eof_errors() {
    let broker = Broker::start();
    let env = test_env(&broker, "idle", &[]);
    let config = Config::load_with_env(None, env.clone()).unwrap();
    let log = std::env::temp_dir().join(format!("ckpi-idle-{}.log", std::process::id()));
    let _ = std::fs::remove_file(&log);
    create_topic(&broker.brokers(), &config.raw.topics.input, 3).await;
    let service = ServiceProcess::spawn(&env, &[], &log);
    produce_events(
        &producer(&broker.brokers()),
        &config.raw.topics.input,
        &simulated(300),
    )
    .await;
    assert!(
        wait_until(Duration::from_secs(120), || service.ready()).await,
        "the service gets ready"
    );
    // Idle: every partition at its end, polled over and over.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("partitions assigned"), "the log is written");
    let eof_lines = text.lines().filter(|l| l.contains("PartitionEOF")).count();
    assert_eq!(eof_lines, 0, "no partition-end lines in the log");
    drop(service);
}
