//! Test harness: a real Tansu broker process on a free loopback port (memory
//! storage), unique topic names per test, and helpers to produce and read.
#![allow(dead_code)]

pub mod naive;

use contact_kpi::config::Config;
use contact_kpi::model::{Channel, ContactEvent, Disposition, EventKind, Party};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Header, OwnedHeaders, OwnedMessage};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

pub fn tansu_bin() -> PathBuf {
    if let Ok(p) = std::env::var("TANSU_BIN") {
        return p.into();
    }
    let home = std::env::var("HOME").expect("HOME is set");
    PathBuf::from(home).join(".cache/contact-kpi/tools/bin/tansu")
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A Tansu broker process, stopped on drop.
pub struct Broker {
    pub port: u16,
    child: Child,
    pub dir: PathBuf,
}

/// Starts Tansu on `127.0.0.1:port` in `dir` (its log appended to
/// `dir/tansu.log`) and waits until the port accepts connections.
fn spawn_tansu(dir: &std::path::Path, port: u16, storage: &str) -> Child {
    spawn_tansu_with(dir, port, port, storage, &[])
}

/// [`spawn_tansu`] advertising `advertised_port` to clients (a TLS
/// terminator in front of it), with `extra` broker arguments.
pub fn spawn_tansu_with(
    dir: &std::path::Path,
    port: u16,
    advertised_port: u16,
    storage: &str,
    extra: &[&str],
) -> Child {
    let url = format!("tcp://127.0.0.1:{port}");
    let advertised = format!("tcp://127.0.0.1:{advertised_port}");
    let log = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(dir.join("tansu.log"))
        .unwrap();
    let mut cmd = Command::new(tansu_bin());
    // CKPI_BROKER_LOG=tansu_broker=debug turns on the broker's own log.
    if let Ok(filter) = std::env::var("CKPI_BROKER_LOG") {
        cmd.env("RUST_LOG", filter);
    }
    let child = cmd
        .args([
            "broker",
            "--listener-url",
            &url,
            "--advertised-listener-url",
            &advertised,
            "--storage-engine",
            storage,
        ])
        .args(extra)
        .current_dir(dir)
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("tansu starts");
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "tansu did not open port {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

/// The in-memory storage engine, maintained every second.
pub const MEMORY_STORAGE: &str = "memory://tansu/?maintenance_interval=1s";

impl Broker {
    /// A broker started by the caller, reached by clients on `port`.
    pub fn from_parts(port: u16, child: Child, dir: PathBuf) -> Broker {
        Broker { port, child, dir }
    }

    /// In memory, with the broker's maintenance (where it aborts
    /// transactions older than their timeout) every second instead of
    /// every ten minutes.
    pub fn start() -> Broker {
        Self::start_with(MEMORY_STORAGE)
    }

    pub fn start_with(storage: &str) -> Broker {
        let bin = tansu_bin();
        assert!(
            bin.exists(),
            "tansu not installed at {} (run `make tansu`)",
            bin.display()
        );
        let port = free_port();
        let dir = std::env::temp_dir().join(format!("ckpi-broker-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let child = spawn_tansu(&dir, port, storage);
        Broker { port, child, dir }
    }

    pub fn brokers(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Stops the broker process (its storage stays in `dir`).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts the broker again on the same port and directory.
    pub fn restart(&mut self, storage: &str) {
        self.stop();
        self.child = spawn_tansu(&self.dir, self.port, storage);
    }
}

/// `contact-kpi serve` as a child process (so it can be killed for real),
/// killed on drop.
pub struct ServiceProcess {
    pub child: Option<Child>,
    pub http: std::net::SocketAddr,
}

impl ServiceProcess {
    /// Starts a service with `env` (from [`test_env`]) plus `extra`.
    pub fn spawn(env: &[(String, String)], extra: &[(&str, &str)], log: &std::path::Path) -> Self {
        let port = free_port();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_contact-kpi"));
        cmd.arg("serve")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env(
                "RUST_LOG",
                std::env::var("CKPI_TEST_LOG").unwrap_or_else(|_| "info,rdkafka=warn".into()),
            )
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("CONTACT_KPI__HTTP__LISTEN", format!("127.0.0.1:{port}"));
        for (k, v) in extra {
            cmd.env(k, v);
        }
        let log = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(log)
            .unwrap();
        let child = cmd
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("service starts");
        ServiceProcess {
            child: Some(child),
            http: format!("127.0.0.1:{port}").parse().unwrap(),
        }
    }

    /// One metric's value on /metrics (summed over label sets matching `filter`).
    pub fn metric(&self, name: &str, filter: &str) -> Option<f64> {
        let body = http_get_blocking(self.http, "/metrics")?;
        let mut found = None;
        for line in body.lines() {
            if line.starts_with(name) && line.contains(filter) && !line.starts_with('#') {
                let rest = &line[name.len()..];
                if !(rest.starts_with('{') || rest.starts_with(' ')) {
                    continue;
                }
                let v: f64 = line.rsplit(' ').next()?.parse().ok()?;
                found = Some(found.unwrap_or(0.0) + v);
            }
        }
        found
    }

    pub fn ready(&self) -> bool {
        http_status_blocking(self.http, "/readyz") == Some(200)
    }

    /// SIGKILL: no shutdown code runs.
    pub fn kill_dash_nine(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM, then the exit status and how long it took.
    pub fn sigterm(&mut self) -> (std::process::ExitStatus, Duration) {
        let mut c = self.child.take().expect("running");
        let started = Instant::now();
        Command::new("kill")
            .args(["-TERM", &c.id().to_string()])
            .status()
            .unwrap();
        loop {
            if let Some(s) = c.try_wait().unwrap() {
                return (s, started.elapsed());
            }
            if started.elapsed() > Duration::from_secs(30) {
                let _ = c.kill();
                let s = c.wait().unwrap();
                return (s, started.elapsed());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for ServiceProcess {
    fn drop(&mut self) {
        self.kill_dash_nine();
    }
}

fn http_get_blocking(addr: std::net::SocketAddr, path: &str) -> Option<String> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").as_bytes())
        .ok()?;
    let mut buf = String::new();
    s.read_to_string(&mut buf).ok()?;
    Some(buf)
}

fn http_status_blocking(addr: std::net::SocketAddr, path: &str) -> Option<u16> {
    http_get_blocking(addr, path)?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::env::var_os("CKPI_BROKER_LOG").is_some() {
            let keep = std::env::temp_dir().join("ckpi-fault-logs");
            let _ = std::fs::create_dir_all(&keep);
            let _ = std::fs::copy(
                self.dir.join("tansu.log"),
                keep.join(format!("tansu-{}-{}.log", std::process::id(), self.port)),
            );
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A service configuration for one test: its own topics, group, state dir,
/// fast timings, JSON output, HTTP on a free port.
pub fn test_config(broker: &Broker, name: &str, extra: &[(&str, &str)]) -> Config {
    Config::load_with_env(None, test_env(broker, name, extra)).expect("test config is valid")
}

/// The environment behind [`test_config`] (also handed to service processes).
pub fn test_env(broker: &Broker, name: &str, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    test_env_for(&broker.brokers(), name, extra)
}

/// [`test_env`] for any bootstrap servers (e.g. librdkafka's mock cluster).
pub fn test_env_for(brokers: &str, name: &str, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let unique = format!("{name}-{}-{}", std::process::id(), rand_suffix());
    let state = std::env::temp_dir().join(format!("ckpi-state-{unique}"));
    let mut env: Vec<(String, String)> = vec![
        ("CONTACT_KPI__KAFKA__BROKERS".into(), brokers.to_string()),
        ("CONTACT_KPI__KAFKA__GROUP_ID".into(), format!("g-{unique}")),
        ("CONTACT_KPI__KAFKA__TOPIC_PARTITIONS".into(), "3".into()),
        ("CONTACT_KPI__TOPICS__INPUT".into(), format!("in-{unique}")),
        (
            "CONTACT_KPI__TOPICS__AGGREGATES".into(),
            format!("agg-{unique}"),
        ),
        (
            "CONTACT_KPI__TOPICS__ALERTS".into(),
            format!("alerts-{unique}"),
        ),
        ("CONTACT_KPI__TOPICS__DLQ".into(), format!("dlq-{unique}")),
        (
            "CONTACT_KPI__TOPICS__INTERNAL_PREFIX".into(),
            format!("ckpi-{unique}"),
        ),
        ("CONTACT_KPI__OUTPUT__FORMAT".into(), "json".into()),
        ("CONTACT_KPI__OUTPUT__EMIT_INTERVAL".into(), "100ms".into()),
        (
            "CONTACT_KPI__PIPELINE__COMMIT_INTERVAL".into(),
            "100ms".into(),
        ),
        (
            "CONTACT_KPI__PIPELINE__STATE_DIR".into(),
            state.to_string_lossy().into_owned(),
        ),
        ("CONTACT_KPI__HTTP__LISTEN".into(), "127.0.0.1:0".into()),
        // Kafka transactions on, the production default (the local broker
        // aborts a dead producer's transaction at its timeout and read
        // committed fetches skip aborted records; see tools/tansu/).
        // CKPI_TEST_TRANSACTIONS=false runs the suite without them; some
        // tests also run the non-transactional mode explicitly.
        (
            "CONTACT_KPI__PIPELINE__TRANSACTIONS".into(),
            std::env::var("CKPI_TEST_TRANSACTIONS").unwrap_or_else(|_| "true".into()),
        ),
        // Tansu joins a group after the rebalance timeout (= max.poll.interval.ms).
        (
            "CONTACT_KPI__KAFKA__PROPERTIES__MAX.POLL.INTERVAL.MS".into(),
            "10000".into(),
        ),
        (
            "CONTACT_KPI__KAFKA__PROPERTIES__SESSION.TIMEOUT.MS".into(),
            "6000".into(),
        ),
        // Tansu lets a follower's join wait 3 s: a leader that heartbeats
        // sooner re-forms the group before the follower syncs, instead of
        // rebalancing again and again.
        (
            "CONTACT_KPI__KAFKA__PROPERTIES__HEARTBEAT.INTERVAL.MS".into(),
            "1000".into(),
        ),
        (
            "CONTACT_KPI__KAFKA__PROPERTIES__FETCH.WAIT.MAX.MS".into(),
            "20".into(),
        ),
    ];
    for (k, v) in extra {
        env.retain(|(key, _)| key != k);
        env.push((k.to_string(), v.to_string()));
    }
    env
}

fn rand_suffix() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(Instant::now().elapsed().as_nanos());
    h.finish() % 1_000_000_007
}

pub fn producer(brokers: &str) -> FutureProducer {
    ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("partitioner", "murmur2_random")
        .set("linger.ms", "5")
        .create()
        .expect("producer")
}

/// Creates a topic (the service would, but tests produce before it starts).
pub async fn create_topic(brokers: &str, topic: &str, partitions: i32) {
    use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
    let admin: AdminClient<rdkafka::client::DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create()
        .unwrap();
    let _ = admin
        .create_topics(
            &[NewTopic::new(topic, partitions, TopicReplication::Fixed(1))],
            &AdminOptions::new(),
        )
        .await
        .unwrap();
}

pub async fn produce_raw(
    p: &FutureProducer,
    topic: &str,
    key: &str,
    value: &[u8],
    content_type: Option<&str>,
) {
    let mut rec = FutureRecord::to(topic).key(key.as_bytes()).payload(value);
    if let Some(ct) = content_type {
        rec = rec.headers(OwnedHeaders::new().insert(Header {
            key: "content-type",
            value: Some(ct.as_bytes()),
        }));
    }
    p.send(rec, Duration::from_secs(10))
        .await
        .expect("delivered");
}

pub async fn produce_events(p: &FutureProducer, topic: &str, events: &[ContactEvent]) {
    let mut pending = Vec::new();
    for e in events {
        let value = serde_json::to_vec(&e.to_json()).unwrap();
        let rec = FutureRecord::to(topic)
            .key(e.contact_id.as_bytes())
            .payload(&value);
        pending.push(p.send_result(rec).map_err(|(e, _)| e).expect("enqueued"));
        if pending.len() >= 1000 {
            for f in pending.drain(..) {
                f.await.unwrap().expect("delivered");
            }
        }
    }
    for f in pending {
        f.await.unwrap().expect("delivered");
    }
}

/// Everything in `topic` (all partitions, from the beginning) that arrives
/// before `quiet` passes without a new record.
pub fn read_all(brokers: &str, topic: &str, partitions: i32, quiet: Duration) -> Vec<OwnedMessage> {
    read_all_with(brokers, &[], topic, partitions, quiet)
}

/// [`read_all`] with extra client properties (TLS, SASL).
pub fn read_all_with(
    brokers: &str,
    properties: &[(String, String)],
    topic: &str,
    partitions: i32,
    quiet: Duration,
) -> Vec<OwnedMessage> {
    let mut cc = ClientConfig::new();
    for (k, v) in properties {
        cc.set(k, v);
    }
    let c: BaseConsumer = cc
        .set("bootstrap.servers", brokers)
        .set("group.id", format!("reader-{}", rand_suffix()))
        .set("enable.auto.commit", "false")
        .set("isolation.level", "read_committed")
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition_offset(topic, p, Offset::Beginning)
            .unwrap();
    }
    c.assign(&tpl).unwrap();
    let mut out = Vec::new();
    let mut last = Instant::now();
    // A reader that never sees a quiet moment (a broker serving the same
    // records again, a publisher that never stops) must not hang the test.
    let deadline = Instant::now() + Duration::from_secs(120);
    while last.elapsed() < quiet && Instant::now() < deadline {
        if let Some(Ok(m)) = c.poll(Duration::from_millis(100)) {
            out.push(m.detach());
            last = Instant::now();
        }
    }
    out
}

/// Last JSON value per key of an aggregates topic.
pub fn last_per_key(
    messages: &[OwnedMessage],
) -> std::collections::BTreeMap<String, serde_json::Value> {
    let mut out = std::collections::BTreeMap::new();
    for m in messages {
        let key = String::from_utf8(m.key().unwrap().to_vec()).unwrap();
        let v: serde_json::Value = serde_json::from_slice(m.payload().unwrap()).unwrap();
        out.insert(key, v);
    }
    out
}

/// The parts of an aggregate that must match a recomputation exactly: every
/// count and sum (not revision, final flags or timing-dependent fields).
pub fn exact_part(v: &serde_json::Value) -> serde_json::Value {
    let mut m = v.as_object().unwrap().clone();
    for k in ["revision", "final", "fcr_final"] {
        m.remove(k);
    }
    serde_json::Value::Object(m)
}

pub async fn http_get(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
    let path = path.to_string();
    tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.write_all(format!("GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").as_bytes())
            .unwrap();
        let mut buf = String::new();
        s.read_to_string(&mut buf).unwrap();
        let status = buf.split_whitespace().nth(1).unwrap().parse().unwrap();
        let body = buf
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default();
        (status, body)
    })
    .await
    .unwrap()
}

pub async fn wait_until<F: FnMut() -> bool>(timeout: Duration, mut f: F) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    f()
}

/// What an uninterrupted offline run of the pure engine publishes, last per key.
pub fn offline(
    config: &Config,
    events: &[ContactEvent],
) -> std::collections::BTreeMap<String, serde_json::Value> {
    use contact_kpi::empathy::Analyzer;
    use contact_kpi::kpi::Engine;
    let mut engine = Engine::new(
        config.engine.clone(),
        std::sync::Arc::new(Analyzer::builtin()),
    );
    let mut out = std::collections::BTreeMap::new();
    for e in events {
        engine.apply(e.clone());
    }
    engine.advance();
    for u in engine.take_updates() {
        out.insert(u.key, serde_json::to_value(&u.aggregate).unwrap());
    }
    out
}

pub fn exact(
    m: &std::collections::BTreeMap<String, serde_json::Value>,
) -> std::collections::BTreeMap<String, serde_json::Value> {
    m.iter().map(|(k, v)| (k.clone(), exact_part(v))).collect()
}

/// Reads the aggregates topic (read_committed, last per key) until it equals
/// `expected` on every exact field or `timeout` passes; returns the last read.
pub async fn wait_for_aggregates(
    config: &Config,
    expected: &std::collections::BTreeMap<String, serde_json::Value>,
    timeout: Duration,
) -> std::collections::BTreeMap<String, serde_json::Value> {
    let brokers = config.raw.kafka.brokers.clone();
    let topic = config.raw.topics.aggregates.clone();
    let partitions = config.raw.kafka.topic_partitions;
    let want = exact(expected);
    let deadline = Instant::now() + timeout;
    loop {
        let (b, t) = (brokers.clone(), topic.clone());
        let got = tokio::task::spawn_blocking(move || {
            last_per_key(&read_all(&b, &t, partitions, Duration::from_millis(1500)))
        })
        .await
        .unwrap();
        if exact(&got) == want || Instant::now() > deadline {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Prints the first differing fields and fails unless `got` equals `want`
/// on every exact field and has the same keys.
pub fn assert_exactly(
    want: &std::collections::BTreeMap<String, serde_json::Value>,
    got: &std::collections::BTreeMap<String, serde_json::Value>,
    what: &str,
) {
    let (want, have) = (exact(want), exact(got));
    let differing: Vec<&String> = want
        .keys()
        .chain(have.keys())
        .filter(|k| want.get(*k) != have.get(*k))
        .collect();
    for k in &differing {
        let field = |m: &std::collections::BTreeMap<String, serde_json::Value>, f: &str| {
            m.get(*k).and_then(|v| v.get(f)).cloned()
        };
        eprintln!(
            "differs: {k}: handled {:?} vs {:?}, offered {:?} vs {:?}",
            field(&want, "handled"),
            field(&have, "handled"),
            field(&want, "offered"),
            field(&have, "offered")
        );
    }
    if let Some(k) = differing.first() {
        let empty = serde_json::Map::new();
        let w = want.get(*k).and_then(|v| v.as_object()).unwrap_or(&empty);
        let h = have.get(*k).and_then(|v| v.as_object()).unwrap_or(&empty);
        for (f, v) in w {
            if h.get(f) != Some(v) {
                eprintln!("{k}: field {f}: expected {v}, got {:?}", h.get(f));
            }
        }
    }
    assert!(
        differing.is_empty(),
        "{what}: aggregates differ from an uninterrupted run: {differing:?} ({} expected, {} got)",
        want.len(),
        have.len()
    );
}

/// `n` simulated events (12 agents, Dutch and English, every channel).
pub fn simulated(n: usize) -> Vec<ContactEvent> {
    let start = chrono::DateTime::parse_from_rfc3339("2026-11-20T07:00:00Z")
        .unwrap()
        .to_utc();
    contact_kpi::sim::Simulator::new(contact_kpi::sim::SimConfig {
        agents: 12,
        seed: 42,
        start,
        contacts_per_hour: 400.0,
    })
    .take(n)
    .collect()
}

fn at(base: chrono::DateTime<chrono::Utc>, minutes: i64) -> chrono::DateTime<chrono::Utc> {
    base + chrono::Duration::minutes(minutes)
}

/// Simulated traffic plus what the simulator never makes: e-mail threads
/// answered hours later and ended days later, surveys days after, chats
/// with pauses of hours, duplicates and neighbours swapped.
pub fn multi_day_traffic(seed: u64, n: usize) -> Vec<ContactEvent> {
    let start = chrono::DateTime::parse_from_rfc3339("2026-11-20T07:00:00Z")
        .unwrap()
        .to_utc();
    let mut events: Vec<ContactEvent> =
        contact_kpi::sim::Simulator::new(contact_kpi::sim::SimConfig {
            agents: 6,
            seed,
            start,
            contacts_per_hour: 30.0,
        })
        .take(n)
        .collect();
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed);
    let mut id = 0;
    let mut ev =
        |contact: &str, channel: Channel, ts: chrono::DateTime<chrono::Utc>, kind: EventKind| {
            id += 1;
            ContactEvent {
                event_id: format!("extra-{seed}-{id}"),
                contact_id: contact.to_string(),
                channel,
                ts,
                kind,
            }
        };
    for i in 0..12 {
        let c = format!("thread-{seed}-{i}");
        let begin = at(start, rng.random_range(0..600));
        let channel = if i % 2 == 0 {
            Channel::Email
        } else {
            Channel::Chat
        };
        let agent = format!("a{:02}", rng.random_range(1..=6));
        let reply = rng.random_range(60..600);
        let end = reply + rng.random_range(600..4000);
        events.push(ev(
            &c,
            channel,
            begin,
            EventKind::ContactStarted {
                customer_id: format!("k-thread-{}", i % 5),
                queue: None,
                language: Some("nl".into()),
            },
        ));
        events.push(ev(
            &c,
            channel,
            at(begin, reply - 5),
            EventKind::AgentJoined {
                agent_id: agent.clone(),
            },
        ));
        events.push(ev(
            &c,
            channel,
            at(begin, reply),
            EventKind::Message {
                party: Party::Agent,
                agent_id: Some(agent.clone()),
                text: "Wat vervelend dat het zo lang duurt. Ik zoek het voor u uit.".into(),
                end_ts: None,
                raised_voice: false,
            },
        ));
        events.push(ev(
            &c,
            channel,
            at(begin, reply + 400),
            EventKind::Message {
                party: Party::Customer,
                agent_id: None,
                text: "Het werkt nog steeds niet, heel frustrerend".into(),
                end_ts: None,
                raised_voice: false,
            },
        ));
        events.push(ev(
            &c,
            channel,
            at(begin, end),
            EventKind::ContactEnded {
                disposition: if i % 3 == 0 {
                    Disposition::Unresolved
                } else {
                    Disposition::Resolved
                },
                callback_due: None,
            },
        ));
        events.push(ev(
            &c,
            channel,
            at(begin, end + rng.random_range(60..4000)),
            EventKind::Survey {
                csat: 1 + (i % 5) as u8,
            },
        ));
    }
    events.sort_by_key(|e| e.ts);
    // Duplicates and swapped neighbours, as platforms deliver them.
    let mut out = Vec::with_capacity(events.len() + events.len() / 40);
    for e in events {
        if rng.random_range(0..40) == 0 {
            out.push(e.clone());
        }
        out.push(e);
    }
    for i in 1..out.len() {
        if rng.random_range(0..30) == 0 {
            out.swap(i - 1, i);
        }
    }
    out
}

/// The naive recomputation, without keys that hold nothing.
pub fn naive_expected(
    config: &Config,
    events: &[ContactEvent],
) -> std::collections::BTreeMap<naive::Key, naive::Naive> {
    naive::naive(&config.engine, events)
        .into_iter()
        .filter(|(_, n)| *n != naive::Naive::default())
        .collect()
}

/// Reads the aggregates (last per key) until they equal `want` or `timeout`.
pub async fn settled(
    config: &Config,
    broker: &Broker,
    want: &std::collections::BTreeMap<naive::Key, naive::Naive>,
    timeout: Duration,
) -> (
    std::collections::BTreeMap<naive::Key, naive::Naive>,
    std::collections::BTreeMap<String, serde_json::Value>,
) {
    settled_on(config, broker, want, |_| true, timeout).await
}

/// [`settled`] over the keys `keep` selects (in both `want` and what is
/// published).
pub async fn settled_on(
    config: &Config,
    broker: &Broker,
    want: &std::collections::BTreeMap<naive::Key, naive::Naive>,
    keep: impl Fn(&naive::Key) -> bool,
    timeout: Duration,
) -> (
    std::collections::BTreeMap<naive::Key, naive::Naive>,
    std::collections::BTreeMap<String, serde_json::Value>,
) {
    let want: std::collections::BTreeMap<naive::Key, naive::Naive> = want
        .iter()
        .filter(|(k, _)| keep(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let want = &want;
    let deadline = Instant::now() + timeout;
    loop {
        let (b, t) = (broker.brokers(), config.raw.topics.aggregates.clone());
        let partitions = config.raw.kafka.topic_partitions;
        let properties: Vec<(String, String)> = config
            .kafka_properties
            .iter()
            .filter(|(k, _)| {
                k.starts_with("ssl.") || k.starts_with("sasl.") || *k == "security.protocol"
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let published = tokio::task::spawn_blocking(move || {
            last_per_key(&read_all_with(
                &b,
                &properties,
                &t,
                partitions,
                Duration::from_millis(1500),
            ))
        })
        .await
        .unwrap();
        let got: std::collections::BTreeMap<naive::Key, naive::Naive> = published
            .values()
            .map(|v| naive::published_counts(config, v))
            .filter(|(k, _)| keep(k))
            .collect();
        if &got == want || Instant::now() > deadline {
            return (got, published);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// [`read_all`] from async code (on a blocking thread).
pub async fn read_topic(brokers: String, topic: String, partitions: i32) -> Vec<OwnedMessage> {
    tokio::task::spawn_blocking(move || {
        read_all(&brokers, &topic, partitions, Duration::from_millis(1500))
    })
    .await
    .unwrap()
}

/// Per partition of the input topic, the offset the assemble stage's group
/// committed (the next to read). Compared with the number of records
/// produced, not with the broker's high watermark, which the local broker
/// does not always report exactly after large batches.
pub fn input_committed(config: &Config, brokers: &str) -> Vec<i64> {
    use contact_kpi::config::StageName;
    let topic = &config.raw.topics.input;
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set(
            "group.id",
            contact_kpi::pipeline::kafka::stage_group_id(config, StageName::Assemble),
        )
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    for p in 0..config.raw.kafka.topic_partitions {
        tpl.add_partition(topic, p);
    }
    let committed = c.committed_offsets(tpl, Duration::from_secs(10)).unwrap();
    (0..config.raw.kafka.topic_partitions)
        .map(
            |p| match committed.find_partition(topic, p).map(|e| e.offset()) {
                Some(Offset::Offset(o)) => o,
                _ => 0,
            },
        )
        .collect()
}
