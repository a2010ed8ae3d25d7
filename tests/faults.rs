//! Fault tests on a real broker (Tansu): the service is killed, joined by a
//! second instance, loses its broker, or is asked to stop, and every time
//! the published aggregates (read_committed, last record per key) must be
//! exactly what one uninterrupted run over the same events publishes.

mod common;

use common::*;
use contact_kpi::config::Config;
use contact_kpi::pipeline::RunningService;
use rand::{Rng, SeedableRng};
use std::time::{Duration, Instant};

fn log_path(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join("ckpi-fault-logs");
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(format!("{name}-{}.log", std::process::id()));
    let _ = std::fs::remove_file(&p);
    p
}

/// Polls `f` on a blocking thread until it holds or `timeout` passes.
async fn eventually(timeout: Duration, what: &str, f: impl Fn() -> bool + Send + Sync + 'static) {
    let f = std::sync::Arc::new(f);
    let deadline = Instant::now() + timeout;
    loop {
        let g = f.clone();
        if tokio::task::spawn_blocking(move || g()).await.unwrap() {
            return;
        }
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn consumed(s: &ServiceProcess, config: &Config) -> f64 {
    s.metric(
        "contact_kpi_records_consumed_total",
        &format!("topic=\"{}\"", config.raw.topics.input),
    )
    .unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_dash_nine_mid_stream_loses_and_duplicates_nothing() {
    kill_dash_nine_mid_stream("kill9", &[]).await;
}

/// The same without Kafka transactions (`pipeline.transactions = false`):
/// exactness then rests on the changelog markers and source de-duplication
/// alone. The other broker tests run the production default.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_dash_nine_without_transactions_loses_and_duplicates_nothing() {
    kill_dash_nine_mid_stream(
        "kill9-plain",
        &[("CONTACT_KPI__PIPELINE__TRANSACTIONS", "false")],
    )
    .await;
}

async fn kill_dash_nine_mid_stream(name: &str, extra: &[(&str, &str)]) {
    let broker = Broker::start();
    let env = test_env(&broker, name, extra);
    let config = Config::load_with_env(None, env.clone()).unwrap();
    // About 2,100 contacts.
    let events = simulated(24_000);
    let expected = offline(&config, &events);
    create_topic(&broker.brokers(), &config.raw.topics.input, 3).await;
    let p = producer(&broker.brokers());
    let log = log_path(name);
    let seed: u64 = std::env::var("KILL9_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    // Kill somewhere between 10% and 70% of the input, while all three
    // stages are busy producing.
    let kill_at = rng.random_range(0.1..0.7) * events.len() as f64;
    eprintln!("{name} seed {seed}: SIGKILL after {kill_at:.0} input records");
    let mut first = ServiceProcess::spawn(&env, &[], &log);
    let (head, tail) = events.split_at(events.len() * 3 / 4);
    produce_events(&p, &config.raw.topics.input, head).await;
    let c = config.clone();
    let probe = ServiceProcess {
        child: None,
        http: first.http,
    };
    eventually(
        Duration::from_secs(240),
        "the first run consumed enough",
        move || consumed(&probe, &c) >= kill_at,
    )
    .await;
    let produced_before = first
        .metric("contact_kpi_records_produced_total", "agent-facts")
        .unwrap_or(0.0);
    first.kill_dash_nine();
    assert!(produced_before > 0.0, "it was killed while producing facts");
    produce_events(&p, &config.raw.topics.input, tail).await;
    // The same state dir: the same instance, as a restarted pod would be.
    let second = ServiceProcess::spawn(&env, &[], &log);
    let got = wait_for_aggregates(&config, &expected, Duration::from_secs(300)).await;
    assert_exactly(
        &expected,
        &got,
        &format!("{name}: after kill -9 (seed {seed})"),
    );
    let restored = second
        .metric("contact_kpi_changelog_restored_records_total", "")
        .unwrap_or(0.0);
    assert!(
        restored > 0.0,
        "the restarted run rebuilt its state from the changelogs"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_instance_joining_and_leaving_keeps_aggregates_exact() {
    let broker = Broker::start();
    // Instance A is killed for good: its open transactions end only when the
    // broker aborts them at the transaction timeout (short here, 60 s by
    // default); until then read_committed readers wait at them.
    let env = test_env(
        &broker,
        "scale",
        &[("CONTACT_KPI__PIPELINE__TRANSACTION_TIMEOUT", "10s")],
    );
    let config = Config::load_with_env(None, env.clone()).unwrap();
    let events = simulated(15_000);
    let expected = offline(&config, &events);
    create_topic(&broker.brokers(), &config.raw.topics.input, 3).await;
    let p = producer(&broker.brokers());
    let log = log_path("scale");
    let thirds: Vec<&[contact_kpi::model::ContactEvent]> =
        events.chunks(events.len() / 3 + 1).collect();
    let mut a = ServiceProcess::spawn(&env, &[], &log);
    produce_events(&p, &config.raw.topics.input, thirds[0]).await;
    let (c, probe) = (
        config.clone(),
        ServiceProcess {
            child: None,
            http: a.http,
        },
    );
    eventually(
        Duration::from_secs(120),
        "the first instance consumes",
        move || consumed(&probe, &c) > 1000.0,
    )
    .await;
    // A second instance (its own state dir, so its own instance id) joins.
    let b_state = std::env::temp_dir().join(format!("ckpi-state-scale-b-{}", std::process::id()));
    let b_state = b_state.to_string_lossy().into_owned();
    let b = ServiceProcess::spawn(
        &env,
        &[("CONTACT_KPI__PIPELINE__STATE_DIR", b_state.as_str())],
        &log,
    );
    let probe = ServiceProcess {
        child: None,
        http: b.http,
    };
    eventually(
        Duration::from_secs(120),
        "the second instance owns partitions of every stage",
        move || {
            ["assemble", "repeats", "aggregate"].iter().all(|s| {
                probe
                    .metric("contact_kpi_partitions_assigned", &format!("stage=\"{s}\""))
                    .unwrap_or(0.0)
                    > 0.0
            })
        },
    )
    .await;
    produce_events(&p, &config.raw.topics.input, thirds[1]).await;
    let (c, probe) = (
        config.clone(),
        ServiceProcess {
            child: None,
            http: b.http,
        },
    );
    eventually(
        Duration::from_secs(120),
        "the second instance consumes",
        move || consumed(&probe, &c) > 0.0,
    )
    .await;
    // The first instance dies mid-stream; the second takes over everything.
    a.kill_dash_nine();
    produce_events(&p, &config.raw.topics.input, thirds[2]).await;
    let got = wait_for_aggregates(&config, &expected, Duration::from_secs(300)).await;
    assert_exactly(
        &expected,
        &got,
        "after one instance joined and the other was killed",
    );
    let assemble = b
        .metric("contact_kpi_partitions_assigned", "stage=\"assemble\"")
        .unwrap_or(0.0);
    assert_eq!(assemble, 3.0, "the survivor owns every input partition");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_hands_over_cleanly() {
    let broker = Broker::start();
    let env = test_env(&broker, "handover", &[]);
    let config = Config::load_with_env(None, env.clone()).unwrap();
    let events = simulated(9_000);
    let expected = offline(&config, &events);
    create_topic(&broker.brokers(), &config.raw.topics.input, 3).await;
    let p = producer(&broker.brokers());
    let (log_a, log_b) = (log_path("handover-a"), log_path("handover-b"));
    let (head, tail) = events.split_at(events.len() / 2);
    let mut a = ServiceProcess::spawn(&env, &[], &log_a);
    let b_state =
        std::env::temp_dir().join(format!("ckpi-state-handover-b-{}", std::process::id()));
    let b_state = b_state.to_string_lossy().into_owned();
    let b = ServiceProcess::spawn(
        &env,
        &[("CONTACT_KPI__PIPELINE__STATE_DIR", b_state.as_str())],
        &log_b,
    );
    let (pa, pb) = (
        ServiceProcess {
            child: None,
            http: a.http,
        },
        ServiceProcess {
            child: None,
            http: b.http,
        },
    );
    eventually(
        Duration::from_secs(180),
        "both instances share the work and are ready",
        move || {
            pa.ready()
                && pb.ready()
                && pa
                    .metric("contact_kpi_partitions_assigned", "stage=\"assemble\"")
                    .unwrap_or(0.0)
                    > 0.0
                && pb
                    .metric("contact_kpi_partitions_assigned", "stage=\"assemble\"")
                    .unwrap_or(0.0)
                    > 0.0
        },
    )
    .await;
    produce_events(&p, &config.raw.topics.input, head).await;
    let c = config.clone();
    let pa = ServiceProcess {
        child: None,
        http: a.http,
    };
    eventually(
        Duration::from_secs(120),
        "the first instance consumes",
        move || consumed(&pa, &c) > 0.0,
    )
    .await;
    let (status, took) = a.sigterm();
    assert!(status.success(), "exit status {status}");
    assert!(
        took < Duration::from_secs(10),
        "stopped in {took:?}, within 10 s of SIGTERM"
    );
    produce_events(&p, &config.raw.topics.input, tail).await;
    let got = wait_for_aggregates(&config, &expected, Duration::from_secs(240)).await;
    assert_exactly(&expected, &got, "after a SIGTERM hand-over");
    let assemble = b
        .metric("contact_kpi_partitions_assigned", "stage=\"assemble\"")
        .unwrap_or(0.0);
    assert_eq!(
        assemble, 3.0,
        "the other instance took every partition over"
    );
    // A clean hand-over commits everything first: nothing is produced twice.
    let replayed = b
        .metric("contact_kpi_replayed_records_dropped_total", "")
        .unwrap_or(0.0);
    assert_eq!(
        replayed, 0.0,
        "nothing was replayed after a clean hand-over"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_restart_is_survived() {
    // The memory engine forgets everything on restart; sqlite keeps it.
    let storage = "sqlite://tansu.db";
    let mut broker = Broker::start_with(storage);
    let config = test_config(&broker, "brokerrestart", &[]);
    // Tansu's sqlite engine is slow: a modest volume.
    let events = simulated(1_500);
    let expected = offline(&config, &events);
    create_topic(&broker.brokers(), &config.raw.topics.input, 3).await;
    let p = producer(&broker.brokers());
    let (head, tail) = events.split_at(events.len() / 2);
    produce_events(&p, &config.raw.topics.input, head).await;
    let service = RunningService::start(config.clone()).await.unwrap();
    let consumed = |s: &RunningService| {
        s.metrics
            .records_consumed
            .with_label_values(&[&config.raw.topics.input])
            .get()
    };
    assert!(
        wait_until(Duration::from_secs(180), || consumed(&service) > 200).await,
        "service consumes"
    );
    broker.stop();
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        http_get(service.http_addr, "/healthz").await.0,
        200,
        "the process keeps running while the broker is gone"
    );
    broker.restart(storage);
    produce_events(&p, &config.raw.topics.input, tail).await;
    let got = wait_for_aggregates(&config, &expected, Duration::from_secs(400)).await;
    assert_exactly(&expected, &got, "after a broker restart");
    assert!(
        wait_until(Duration::from_secs(60), || service.metrics.ready.get() == 1).await,
        "ready again"
    );
    service.stop().await.unwrap();
}

/// A restore that takes longer than `max.poll.interval.ms` must not cost the
/// group membership (it did while the restore ran inside the rebalance
/// callback: the member was expelled, rejoined, restored again, and the
/// group churned). The restore is made slow with tiny fetches.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_longer_than_the_poll_interval_keeps_the_group() {
    let broker = Broker::start();
    let slow = [
        (
            "CONTACT_KPI__KAFKA__PROPERTIES__MAX.POLL.INTERVAL.MS",
            "6000",
        ),
        ("CONTACT_KPI__KAFKA__PROPERTIES__SESSION.TIMEOUT.MS", "6000"),
        // Every fetch returns at most one small batch and waits for more.
        (
            "CONTACT_KPI__KAFKA__PROPERTIES__MAX.PARTITION.FETCH.BYTES",
            "1024",
        ),
        ("CONTACT_KPI__KAFKA__PROPERTIES__FETCH.MIN.BYTES", "1000000"),
        ("CONTACT_KPI__KAFKA__PROPERTIES__FETCH.WAIT.MAX.MS", "300"),
    ];
    let config = test_config(&broker, "slowrestore", &[]);
    let events = simulated(3_000);
    let expected = offline(&config, &events);
    create_topic(&broker.brokers(), &config.raw.topics.input, 3).await;
    let p = producer(&broker.brokers());
    let (head, tail) = events.split_at(events.len() / 2);
    produce_events(&p, &config.raw.topics.input, head).await;
    // Build up state with normal fetches, then restart with slow ones.
    let first = RunningService::start(config.clone()).await.unwrap();
    let input = config.raw.topics.input.clone();
    assert!(
        wait_until(Duration::from_secs(180), || first
            .metrics
            .records_consumed
            .with_label_values(&[&input])
            .get()
            >= head.len() as u64)
        .await,
        "the first run consumes the head"
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    first.stop().await.unwrap();
    let mut env = test_env(&broker, "slowrestore", &[]);
    env.retain(|(k, _)| {
        !k.starts_with("CONTACT_KPI__TOPICS")
            && !k.starts_with("CONTACT_KPI__KAFKA__GROUP_ID")
            && !k.contains("STATE_DIR")
    });
    let same: Vec<(String, String)> = [
        (
            "CONTACT_KPI__TOPICS__INPUT",
            config.raw.topics.input.clone(),
        ),
        (
            "CONTACT_KPI__TOPICS__AGGREGATES",
            config.raw.topics.aggregates.clone(),
        ),
        (
            "CONTACT_KPI__TOPICS__ALERTS",
            config.raw.topics.alerts.clone(),
        ),
        ("CONTACT_KPI__TOPICS__DLQ", config.raw.topics.dlq.clone()),
        (
            "CONTACT_KPI__TOPICS__INTERNAL_PREFIX",
            config.raw.topics.internal_prefix.clone(),
        ),
        (
            "CONTACT_KPI__KAFKA__GROUP_ID",
            config.raw.kafka.group_id.clone(),
        ),
        (
            "CONTACT_KPI__PIPELINE__STATE_DIR",
            config.raw.pipeline.state_dir.clone(),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .chain(slow.iter().map(|(k, v)| (k.to_string(), v.to_string())))
    .collect();
    env.retain(|(k, _)| !same.iter().any(|(s, _)| s == k));
    env.extend(same);
    let second_config = Config::load_with_env(None, env).unwrap();
    produce_events(&p, &config.raw.topics.input, tail).await;
    let second = RunningService::start(second_config).await.unwrap();
    let got = wait_for_aggregates(&config, &expected, Duration::from_secs(300)).await;
    assert_exactly(&expected, &got, "after a slow restore");
    let m = &second.metrics;
    let slowest = ["assemble", "repeats", "aggregate"]
        .iter()
        .map(|s| m.restore_seconds.with_label_values(&[s]).get())
        .fold(0.0, f64::max);
    eprintln!("slowest restore: {slowest:.1} s");
    assert!(
        slowest > 1.0,
        "the restore outlasted max.poll.interval.ms ({slowest:.1} s), or this test proves nothing"
    );
    let restarts: u64 = ["assemble", "repeats", "aggregate"]
        .iter()
        .map(|s| m.stage_restarts.with_label_values(&[s]).get())
        .sum();
    assert_eq!(restarts, 0, "no stage started over");
    let restored: u64 = ["assemble", "repeats", "aggregate"]
        .iter()
        .map(|s| m.restored_records.with_label_values(&[s]).get())
        .sum();
    let assignments = m.partitions_assigned.with_label_values(&["assemble"]).get();
    assert_eq!(assignments, 3, "the member kept its partitions");
    eprintln!("restored {restored} changelog records");
    second.stop().await.unwrap();
}
