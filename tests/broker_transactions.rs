//! The transaction guarantees the transactional mode relies on, checked
//! against the local broker itself with plain rdkafka clients (no service):
//! a read_committed reader never sees aborted records, and a transaction
//! whose producer went silent is aborted at its `transaction.timeout.ms`,
//! after which its producer is fenced. Apache Kafka gives both (KIP-98);
//! Tansu 0.6.0 gave neither until the fixes in `tools/tansu/`.

mod common;

use common::*;
use rdkafka::config::ClientConfig;
use rdkafka::message::Message;
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use std::time::{Duration, Instant};

fn transactional(
    brokers: &str,
    id: &str,
    timeout: Duration,
) -> ThreadedProducer<DefaultProducerContext> {
    let ms = timeout.as_millis().to_string();
    let p: ThreadedProducer<DefaultProducerContext> = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("transactional.id", id)
        .set("transaction.timeout.ms", &ms)
        .set("message.timeout.ms", &ms)
        .create()
        .unwrap();
    p.init_transactions(Duration::from_secs(30)).unwrap();
    p
}

fn send(p: &ThreadedProducer<DefaultProducerContext>, topic: &str, values: &[&str]) {
    for v in values {
        p.send(BaseRecord::<str, str>::to(topic).key(*v).payload(*v))
            .map_err(|(e, _)| e)
            .unwrap();
    }
    p.flush(Duration::from_secs(30)).unwrap();
}

/// What a read_committed reader sees of `topic` (one partition), waiting up
/// to `patience` for at least `want` records and then for a quiet second.
fn committed_values(brokers: &str, topic: &str, want: usize, patience: Duration) -> Vec<String> {
    let deadline = Instant::now() + patience;
    loop {
        let got: Vec<String> = read_all(brokers, topic, 1, Duration::from_secs(1))
            .iter()
            .map(|m| String::from_utf8(m.payload().unwrap().to_vec()).unwrap())
            .collect();
        if got.len() >= want || Instant::now() > deadline {
            return got;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_committed_readers_skip_aborted_records() {
    let broker = Broker::start();
    let topic = format!("txn-abort-{}", std::process::id());
    create_topic(&broker.brokers(), &topic, 1).await;
    let brokers = broker.brokers();
    let got = tokio::task::spawn_blocking(move || {
        let p = transactional(&brokers, "abort-test", Duration::from_secs(30));
        p.begin_transaction().unwrap();
        send(&p, &topic, &["a1", "a2", "a3"]);
        p.abort_transaction(Duration::from_secs(30)).unwrap();
        p.begin_transaction().unwrap();
        send(&p, &topic, &["c1", "c2"]);
        p.commit_transaction(Duration::from_secs(30)).unwrap();
        p.begin_transaction().unwrap();
        send(&p, &topic, &["a4"]);
        p.abort_transaction(Duration::from_secs(30)).unwrap();
        p.begin_transaction().unwrap();
        send(&p, &topic, &["c3"]);
        p.commit_transaction(Duration::from_secs(30)).unwrap();
        committed_values(&brokers, &topic, 3, Duration::from_secs(30))
    })
    .await
    .unwrap();
    assert_eq!(got, ["c1", "c2", "c3"], "only committed records are read");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_left_open_is_aborted_at_its_timeout_and_its_producer_fenced() {
    // Maintenance (where the broker looks for expired transactions) every second.
    let broker = Broker::start();
    let topic = format!("txn-timeout-{}", std::process::id());
    create_topic(&broker.brokers(), &topic, 1).await;
    let brokers = broker.brokers();
    let (got, zombie_commit) = tokio::task::spawn_blocking(move || {
        // A producer that opens a transaction and then goes silent, as one
        // in a process that was killed would.
        let zombie = transactional(&brokers, "zombie", Duration::from_secs(3));
        zombie.begin_transaction().unwrap();
        send(&zombie, &topic, &["z1", "z2"]);
        // Another producer commits after it: read_committed readers must
        // wait for the zombie's transaction to end, then skip its records.
        let other = transactional(&brokers, "other", Duration::from_secs(30));
        other.begin_transaction().unwrap();
        send(&other, &topic, &["c1", "c2"]);
        other.commit_transaction(Duration::from_secs(30)).unwrap();
        let got = committed_values(&brokers, &topic, 2, Duration::from_secs(60));
        // The broker fenced it: its late commit must not succeed.
        let zombie_commit = zombie.commit_transaction(Duration::from_secs(10));
        (got, zombie_commit)
    })
    .await
    .unwrap();
    assert_eq!(
        got,
        ["c1", "c2"],
        "the open transaction was aborted and its records are skipped"
    );
    assert!(
        zombie_commit.is_err(),
        "a producer whose transaction timed out is fenced, its commit refused"
    );
}
