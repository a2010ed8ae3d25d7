//! Test harness: a real Tansu broker process on a free loopback port (memory
//! storage), unique topic names per test, and helpers to produce and read.
#![allow(dead_code)]

pub mod naive;

use contact_kpi::config::Config;
use contact_kpi::model::ContactEvent;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Header, OwnedHeaders, OwnedMessage};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn tansu_bin() -> PathBuf {
    if let Ok(p) = std::env::var("TANSU_BIN") {
        return p.into();
    }
    let home = std::env::var("HOME").expect("HOME is set");
    PathBuf::from(home).join(".cache/contact-kpi/tools/bin/tansu")
}

fn free_port() -> u16 {
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

impl Broker {
    pub fn start() -> Broker {
        Self::start_with("memory://tansu/")
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
        let url = format!("tcp://127.0.0.1:{port}");
        let log = std::fs::File::create(dir.join("tansu.log")).unwrap();
        let child = Command::new(bin)
            .args([
                "broker",
                "--listener-url",
                &url,
                "--advertised-listener-url",
                &url,
                "--storage-engine",
                storage,
            ])
            .current_dir(&dir)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("tansu starts");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "tansu did not open port {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
        Broker { port, child, dir }
    }

    pub fn brokers(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A service configuration for one test: its own topics, group, state dir,
/// fast timings, JSON output, HTTP on a free port.
pub fn test_config(broker: &Broker, name: &str, extra: &[(&str, &str)]) -> Config {
    let unique = format!("{name}-{}-{}", std::process::id(), rand_suffix());
    let state = std::env::temp_dir().join(format!("ckpi-state-{unique}"));
    let mut env: Vec<(String, String)> = vec![
        ("CONTACT_KPI__KAFKA__BROKERS".into(), broker.brokers()),
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
            "CONTACT_KPI__PIPELINE__CHECKPOINT_INTERVAL".into(),
            "300ms".into(),
        ),
        (
            "CONTACT_KPI__PIPELINE__STATE_DIR".into(),
            state.to_string_lossy().into_owned(),
        ),
        ("CONTACT_KPI__HTTP__LISTEN".into(), "127.0.0.1:0".into()),
        // Tansu joins a group after the rebalance timeout (= max.poll.interval.ms).
        (
            "CONTACT_KPI__KAFKA__PROPERTIES__MAX.POLL.INTERVAL.MS".into(),
            "10000".into(),
        ),
        (
            "CONTACT_KPI__KAFKA__PROPERTIES__SESSION.TIMEOUT.MS".into(),
            "6000".into(),
        ),
        (
            "CONTACT_KPI__KAFKA__PROPERTIES__FETCH.WAIT.MAX.MS".into(),
            "20".into(),
        ),
    ];
    for (k, v) in extra {
        env.push((k.to_string(), v.to_string()));
    }
    Config::load_with_env(None, env).expect("test config is valid")
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
    let c: BaseConsumer = ClientConfig::new()
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
    while last.elapsed() < quiet {
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
