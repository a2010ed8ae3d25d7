//! The router: reads the platform topics of `topics.inputs` and forwards each
//! record, keyed by the contact it belongs to, to `topics.input`, where stage 1
//! translates it (see [`super::stages::route_record`]). Platforms key their
//! streams by whatever their connector chose (or not at all), and one contact
//! is spread over several streams (Amazon Connect's contact records and its
//! Contact Lens segments); forwarding by contact is what lets stage 1 hold a
//! contact's state in one partition.
//!
//! Delivery is at least once, on purpose, with no state of its own:
//! translation is deterministic and every event id comes from the platform's
//! own ids, so a record forwarded twice (after a crash, or when a rebalance
//! takes a partition before its offsets were committed) makes the same events
//! again, which stage 1 drops as duplicates, exactly as it drops the
//! platforms' own re-deliveries. Offsets are committed only after every
//! record produced before them was acknowledged, so nothing is lost.
//!
//! Records are forwarded in **timestamp order across all platform
//! partitions** (Kafka Streams' rule for a task with several inputs): one
//! contact's records come from several streams (a Contact Lens segment during
//! the call, its contact record after it), and stage 1 closes a contact at
//! its end, so an order that depended on which partition librdkafka happened
//! to fetch first would make the words of a backlog replay count or not. The
//! router buffers what it polls per partition and forwards the oldest head
//! once every assigned partition has a record buffered or has been read to
//! its end. A partition with nothing buffered that is known to hold records
//! not yet polled (its high watermark, from librdkafka's statistics, lies
//! past its position and no end-of-partition was reached) is waited for
//! however long its fetch takes, as Kafka Streams does for a partition with
//! known lag (KIP-695): a fetch that is slow under load must not decide the
//! order of a backlog. A partition whose state is not known (no fetch
//! answered yet, or only transaction markers left before its end) is waited
//! for at most [`MAX_MERGE_WAIT`], so a silent stream delays the others only
//! that long. Records with equal timestamps go in (topic, partition, offset)
//! order.
//!
//! Errors are handled crash-only, as in the stages: a failed delivery or
//! commit drops the clients and the router starts over from the committed
//! offsets.

use super::kafka::{consumer_config, producer_config};
use super::protocol::{panic_message, InRecord, Out};
use super::stage::{owned, supervise, StageError, StageHandle};
use super::stages::route_record;
use crate::config::Config;
use crate::metrics::Metrics;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::{ClientContext, Message, Offset, TopicPartitionList};
use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Longest the merge waits for a partition that has nothing buffered and
/// whose state is [`Backlog::Unknown`] before forwarding the others' records.
pub const MAX_MERGE_WAIT: Duration = Duration::from_secs(2);

/// How long a wait for a partition known to be behind goes on before it is
/// logged (it goes on after that: the records are known to exist).
const LONG_WAIT: Duration = Duration::from_secs(30);

/// What is known of a partition that has nothing buffered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backlog {
    /// Read to its end: nothing can come from it before new records are
    /// written, so it holds nothing back.
    AtEnd,
    /// It holds records not yet polled: they are on their way and may be
    /// older than every buffered head, so the merge waits for them, however
    /// long the fetch takes.
    Behind,
    /// Not known: waited for at most [`MAX_MERGE_WAIT`].
    Unknown,
}

/// A partition's figures from librdkafka's statistics (its fetch responses).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartitionStats {
    /// The end a read_committed consumer can reach: the last stable offset.
    pub end: i64,
    /// The end at which librdkafka last reached the partition's end (-1 or
    /// less: never).
    pub eof: i64,
    /// The group's committed offset (-1 or less: none).
    pub committed: i64,
}

/// Classifies a partition with nothing buffered from its statistics and the
/// offset after the last record polled from it (`None`: nothing polled since
/// it was assigned, so its position is the committed offset).
pub fn backlog(stats: Option<&PartitionStats>, next: Option<i64>) -> Backlog {
    let Some(s) = stats else {
        return Backlog::Unknown;
    };
    if s.end == 0 {
        return Backlog::AtEnd;
    }
    let position = next.or((s.committed >= 0).then_some(s.committed));
    match position {
        Some(p) if p >= s.end => Backlog::AtEnd,
        // The fetcher reached the end past the position: what lies between
        // is transaction markers (never polled as records) or records still
        // in librdkafka's queue (polled at once). Either way the wait is
        // short or pointless, so it is bounded.
        Some(_) if s.eof >= s.end => Backlog::Unknown,
        Some(_) => Backlog::Behind,
        None => Backlog::Unknown,
    }
}

/// Records buffered per partition before it is paused (resumed at a tenth).
const PAUSE_AT: usize = 2000;

/// A topic partition.
type Partition = (Arc<str>, i32);

/// The merge order of a record: timestamp, then topic, partition, offset.
type MergeOrder<'a> = (i64, &'a Arc<str>, i32, i64);

/// One partition's buffered records.
#[derive(Default)]
struct PartitionBuffer {
    records: VecDeque<InRecord>,
    /// Offset after the last record polled (its position).
    next_offset: Option<i64>,
    /// Since when it has had nothing buffered while others had.
    empty_since: Option<Instant>,
    /// A long wait for it has been logged.
    long_wait_logged: bool,
    paused: bool,
}

/// The timestamp-ordered merge of the assigned partitions (pure: the Kafka
/// loop tells it what was polled, what is assigned and where each
/// partition's end is).
#[derive(Default)]
pub struct Merger {
    partitions: BTreeMap<Partition, PartitionBuffer>,
    /// Since when buffered records have been held back by a partition that
    /// may bring older ones.
    holding_since: Option<Instant>,
}

impl Merger {
    /// Starts over with these partitions, nothing buffered: after a
    /// rebalance every assigned partition is read again from its committed
    /// offset (what was buffered and not forwarded is polled again; what was
    /// forwarded and not committed is forwarded again, which changes
    /// nothing downstream).
    pub fn reset(&mut self, assigned: &[Partition]) {
        self.partitions = assigned
            .iter()
            .map(|k| (k.clone(), PartitionBuffer::default()))
            .collect();
        self.holding_since = None;
    }

    /// How long buffered records have been held back (zero when nothing is).
    pub fn holding_back_for(&self, now: Instant) -> Duration {
        self.holding_since
            .map_or(Duration::ZERO, |since| now.saturating_duration_since(since))
    }

    pub fn push(&mut self, record: InRecord) {
        let b = self
            .partitions
            .entry((record.topic.clone(), record.partition))
            .or_default();
        b.next_offset = Some(record.offset + 1);
        b.empty_since = None;
        b.long_wait_logged = false;
        b.records.push_back(record);
    }

    pub fn buffered(&self) -> usize {
        self.partitions.values().map(|b| b.records.len()).sum()
    }

    /// The next record in timestamp order, if it can be known now. `backlog`
    /// says what is known of a partition with nothing buffered (given the
    /// offset after the last record polled from it).
    pub fn pop(
        &mut self,
        now: Instant,
        backlog: impl Fn(&str, i32, Option<i64>) -> Backlog,
    ) -> Option<InRecord> {
        let mut oldest: Option<(MergeOrder<'_>, Partition)> = None;
        let mut blocked = false;
        for (key, b) in self.partitions.iter_mut() {
            if let Some(r) = b.records.front() {
                let order = (r.timestamp.unwrap_or(i64::MIN), &key.0, key.1, r.offset);
                if oldest.as_ref().is_none_or(|(o, _)| order < *o) {
                    oldest = Some((order, key.clone()));
                }
                continue;
            }
            let state = backlog(&key.0, key.1, b.next_offset);
            if state == Backlog::AtEnd {
                b.empty_since = None;
                continue;
            }
            let waited = now.duration_since(*b.empty_since.get_or_insert(now));
            match state {
                Backlog::Behind => {
                    blocked = true;
                    if waited >= LONG_WAIT && !b.long_wait_logged {
                        b.long_wait_logged = true;
                        tracing::warn!(
                            topic = %key.0,
                            partition = key.1,
                            waited_s = waited.as_secs(),
                            "the router waits for a partition known to hold unread records; the others' records are held back until it is fetched"
                        );
                    }
                }
                _ => blocked |= waited < MAX_MERGE_WAIT,
            }
        }
        let Some((_, key)) = oldest else {
            self.holding_since = None;
            return None;
        };
        if blocked {
            self.holding_since.get_or_insert(now);
            return None;
        }
        self.holding_since = None;
        self.partitions.get_mut(&key)?.records.pop_front()
    }

    /// Partitions to pause (buffer full) and to resume (drained).
    fn flow(&mut self) -> (Vec<Partition>, Vec<Partition>) {
        let (mut pause, mut resume) = (Vec::new(), Vec::new());
        for (key, b) in self.partitions.iter_mut() {
            if !b.paused && b.records.len() >= PAUSE_AT {
                b.paused = true;
                pause.push(key.clone());
            } else if b.paused && b.records.len() <= PAUSE_AT / 10 {
                b.paused = false;
                resume.push(key.clone());
            }
        }
        (pause, resume)
    }
}

/// Longest a flush before a commit may take.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(60);

/// The consumer group of the router: `<kafka.group_id>.router`.
pub fn router_group_id(config: &Config) -> String {
    format!("{}.router", config.raw.kafka.group_id)
}

#[derive(Default)]
struct Deliveries {
    failed: AtomicU64,
}

impl ClientContext for Deliveries {}

impl ProducerContext for Deliveries {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        if let Err((e, m)) = result {
            tracing::warn!(error = %e, topic = m.topic(), "router delivery failed");
            self.failed.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Starts the router on its own thread; it runs until `stop` (graceful:
/// flush, commit) or `crash` (nothing more is committed).
pub fn spawn(
    config: Arc<Config>,
    metrics: Arc<Metrics>,
    stop: Arc<AtomicBool>,
    crash: Arc<AtomicBool>,
) -> StageHandle {
    for spec in &config.inputs {
        metrics.precreate_input(spec.format);
    }
    let ready = Arc::new(AtomicBool::new(false));
    let r = ready.clone();
    let thread = std::thread::Builder::new()
        .name("router".into())
        .spawn(move || {
            supervise("router", &metrics, &stop, &crash, || {
                let result = run_once(&config, &metrics, &stop, &crash, &r);
                r.store(false, Ordering::Relaxed);
                result
            })
        })
        .expect("router thread starts");
    StageHandle { ready, thread }
}

fn send(producer: &BaseProducer<Deliveries>, out: &Out) -> Result<(), KafkaError> {
    let mut headers = OwnedHeaders::new_with_capacity(out.headers.len());
    for (key, value) in &out.headers {
        headers = headers.insert(Header {
            key,
            value: value.as_deref(),
        });
    }
    loop {
        let mut record: BaseRecord<'_, [u8], [u8]> = BaseRecord::to(&out.topic)
            .key(&out.key[..])
            .headers(headers.clone());
        if let Some(v) = &out.value {
            record = record.payload(&v[..]);
        }
        if let Some(ts) = out.timestamp {
            record = record.timestamp(ts);
        }
        match producer.send(record) {
            Ok(()) => return Ok(()),
            // Back-pressure: serve deliveries until the queue has room.
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                producer.poll(Duration::from_millis(100));
            }
            Err((e, _)) => return Err(e),
        }
    }
}

fn run_once(
    config: &Arc<Config>,
    metrics: &Arc<Metrics>,
    stop: &AtomicBool,
    crash: &AtomicBool,
    ready: &AtomicBool,
) -> Result<(), StageError> {
    let mut cc = consumer_config(config);
    cc.set("group.id", router_group_id(config)).set(
        "client.id",
        format!("contact-kpi.router.{}", std::process::id()),
    );
    cc.set("statistics.interval.ms", "500");
    let consumer: BaseConsumer<Watermarks> = cc.create_with_context(Watermarks::default())?;
    let topics: Vec<&str> = config.inputs.iter().map(|s| s.topic.as_str()).collect();
    consumer.subscribe(&topics)?;
    let producer: BaseProducer<Deliveries> =
        producer_config(config).create_with_context(Deliveries::default())?;
    tracing::info!(topics = ?topics, "router started");
    // Next offset to commit per (topic, partition), once what came before is delivered.
    let mut pending: BTreeMap<(String, i32), i64> = BTreeMap::new();
    let mut last_commit = Instant::now();
    let mut merger = Merger::default();
    loop {
        if crash.load(Ordering::Relaxed) {
            return Ok(());
        }
        if stop.load(Ordering::Relaxed) {
            commit(&consumer, &producer, &mut pending)?;
            tracing::info!("router stopped");
            return Ok(());
        }
        ready.store(true, Ordering::Relaxed);
        // Poll without waiting while anything is buffered: the merge needs
        // every partition's head.
        let wait = if merger.buffered() > 0 {
            Duration::ZERO
        } else {
            Duration::from_millis(50)
        };
        let polled = consumer.poll(wait);
        // Rebalances happen inside `poll`: learn the new assignment before
        // the record it returned is merged (a partition the merge does not
        // know of cannot hold the others back).
        if consumer.context().rebalanced.swap(false, Ordering::Relaxed) {
            let assigned: Vec<Partition> = consumer
                .assignment()?
                .elements()
                .iter()
                .map(|e| (Arc::from(e.topic()), e.partition()))
                .collect();
            merger.reset(&assigned);
            // Paused partitions resume at their committed offsets anyway.
            consumer.resume(&consumer.assignment()?)?;
        }
        match polled {
            Some(Ok(m)) => {
                metrics
                    .records_consumed
                    .with_label_values(&[m.topic()])
                    .inc();
                merger.push(owned(&m, &Arc::from(m.topic())));
            }
            Some(Err(e)) => tracing::debug!(error = %e, "router consumer error"),
            None => {}
        }
        let (pause, resume) = merger.flow();
        for (list, pausing) in [(pause, true), (resume, false)] {
            if list.is_empty() {
                continue;
            }
            let mut tpl = TopicPartitionList::new();
            for (t, p) in &list {
                tpl.add_partition(t, *p);
            }
            if pausing {
                consumer.pause(&tpl)?;
            } else {
                consumer.resume(&tpl)?;
            }
        }
        let now = Instant::now();
        let state = |topic: &str, partition: i32, next: Option<i64>| {
            let known = consumer
                .context()
                .partitions
                .lock()
                .expect("statistics not poisoned");
            backlog(known.get(topic).and_then(|t| t.get(&partition)), next)
        };
        while let Some(record) = merger.pop(now, state) {
            forward(config, metrics, &producer, &record)?;
            pending.insert(
                (record.topic.to_string(), record.partition),
                record.offset + 1,
            );
        }
        metrics
            .router_merge_wait
            .set(merger.holding_back_for(now).as_secs_f64());
        producer.poll(Duration::ZERO);
        if !pending.is_empty() && last_commit.elapsed() >= config.commit_interval {
            commit(&consumer, &producer, &mut pending)?;
            last_commit = Instant::now();
        }
    }
}

/// The router's consumer context: keeps each partition's end (the last
/// stable offset under read_committed), where its fetcher last reached the
/// end and its committed offset, from librdkafka's statistics, which come
/// from its fetch responses without a request of their own.
#[derive(Default)]
struct Watermarks {
    /// By topic, then partition: the merge looks a partition up by `&str`
    /// for every empty partition it checks, without building a key.
    partitions: std::sync::Mutex<BTreeMap<String, BTreeMap<i32, PartitionStats>>>,
    /// Set by a rebalance: the merge must learn the new assignment before
    /// it forwards anything (a partition it does not know of cannot hold
    /// it back).
    rebalanced: AtomicBool,
}

impl ClientContext for Watermarks {
    fn stats(&self, statistics: rdkafka::Statistics) {
        let mut known = self.partitions.lock().expect("statistics not poisoned");
        for (name, topic) in &statistics.topics {
            for (p, partition) in &topic.partitions {
                if *p < 0 {
                    continue;
                }
                let end = if partition.ls_offset >= 0 {
                    partition.ls_offset
                } else {
                    partition.hi_offset
                };
                if end >= 0 {
                    known.entry(name.clone()).or_default().insert(
                        *p,
                        PartitionStats {
                            end,
                            eof: partition.eof_offset,
                            committed: partition.committed_offset,
                        },
                    );
                }
            }
        }
    }
}

impl ConsumerContext for Watermarks {
    fn post_rebalance(&self, _: &BaseConsumer<Self>, _: &rdkafka::consumer::Rebalance<'_>) {
        self.rebalanced.store(true, Ordering::Relaxed);
    }
}

/// Routes one record and sends what comes of it. A panic in an adapter is a
/// bug that one record triggers: that record is dead-lettered by reference
/// and the rest flows.
fn forward(
    config: &Config,
    metrics: &Metrics,
    producer: &BaseProducer<Deliveries>,
    record: &InRecord,
) -> Result<(), StageError> {
    let routed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut o = Vec::new();
        route_record(config, metrics, record, &mut o);
        o
    }));
    let out = match routed {
        Ok(o) => o,
        Err(panic) => {
            let error = format!("translating it panicked: {}", panic_message(&*panic));
            metrics.poison_records.with_label_values(&["router"]).inc();
            let mut o = Vec::new();
            super::stages::dead_letter_poison_record(config, metrics, record, &error, &mut o);
            o
        }
    };
    for o in &out {
        send(producer, o)?;
        metrics
            .records_produced
            .with_label_values(&[&o.topic])
            .inc();
    }
    Ok(())
}

/// Flushes, then commits the offsets after what was delivered. A commit the
/// group refuses because the partitions moved on is dropped: their new owner
/// forwards those records again, which changes nothing downstream.
fn commit(
    consumer: &BaseConsumer<Watermarks>,
    producer: &BaseProducer<Deliveries>,
    pending: &mut BTreeMap<(String, i32), i64>,
) -> Result<(), StageError> {
    if pending.is_empty() {
        return Ok(());
    }
    producer.flush(FLUSH_TIMEOUT)?;
    if producer.context().failed.swap(0, Ordering::Relaxed) > 0 {
        return Err(StageError::Kafka(KafkaError::Flush(
            RDKafkaErrorCode::MessageTimedOut,
        )));
    }
    let mut tpl = TopicPartitionList::new();
    for ((topic, partition), offset) in pending.iter() {
        tpl.add_partition_offset(topic, *partition, Offset::Offset(*offset))?;
    }
    pending.clear();
    match consumer.commit(&tpl, CommitMode::Sync) {
        Ok(()) => Ok(()),
        Err(e)
            if matches!(
                e.rdkafka_error_code(),
                Some(
                    RDKafkaErrorCode::RebalanceInProgress
                        | RDKafkaErrorCode::IllegalGeneration
                        | RDKafkaErrorCode::UnknownMemberId
                        | RDKafkaErrorCode::State
                )
            ) =>
        {
            tracing::info!(error = %e, "router commit refused after a rebalance; the new owner forwards those records again");
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn record(topic: &Arc<str>, partition: i32, offset: i64, ts: i64) -> InRecord {
        InRecord {
            topic: topic.clone(),
            partition,
            offset,
            key: None,
            value: None,
            timestamp: Some(ts),
            headers: Vec::new(),
        }
    }

    proptest! {
        /// Whatever order the partitions' records are polled in, and however
        /// long the polls take (the clock jumps by up to ten merge waits
        /// between them), the merge forwards them in timestamp order (ties
        /// by topic, partition, offset), each exactly once: a partition that
        /// still holds unpolled records is behind, and is waited for.
        #[test]
        fn the_merge_order_does_not_depend_on_the_poll_order(
            streams in prop::collection::vec(prop::collection::vec(0i64..50, 0..12), 1..5),
            interleaving in prop::collection::vec((0usize..5, 0u64..20_000), 0..80),
        ) {
            let topics: Vec<Arc<str>> = vec![Arc::from("lens"), Arc::from("ctr")];
            // Each stream: its own partition, its records in offset order with
            // non-decreasing timestamps (as one producer writes them).
            let mut queues: Vec<VecDeque<InRecord>> = streams
                .iter()
                .enumerate()
                .map(|(i, ts)| {
                    let mut ts = ts.clone();
                    ts.sort();
                    let topic = &topics[i % 2];
                    ts.iter().enumerate().map(|(o, t)| record(topic, i as i32, o as i64, *t)).collect()
                })
                .collect();
            let ends: BTreeMap<(Arc<str>, i32), i64> = queues
                .iter()
                .enumerate()
                .map(|(i, q)| ((topics[i % 2].clone(), i as i32), q.len() as i64))
                .collect();
            let mut expected: Vec<(i64, Arc<str>, i32, i64)> = queues
                .iter()
                .flatten()
                .map(|r| (r.timestamp.unwrap(), r.topic.clone(), r.partition, r.offset))
                .collect();
            expected.sort();
            let mut merger = Merger::default();
            let assigned: Vec<(Arc<str>, i32)> = ends.keys().cloned().collect();
            merger.reset(&assigned);
            let mut now = Instant::now();
            let mut polled: BTreeMap<(Arc<str>, i32), i64> = BTreeMap::new();
            let state = |polled: &BTreeMap<(Arc<str>, i32), i64>, t: &str, p: i32| {
                let key = (Arc::from(t), p);
                if polled.get(&key).copied().unwrap_or(0) >= ends[&key] {
                    Backlog::AtEnd
                } else {
                    Backlog::Behind
                }
            };
            let mut out = Vec::new();
            let mut picks = interleaving.into_iter();
            loop {
                let live: Vec<usize> = (0..queues.len()).filter(|&i| !queues[i].is_empty()).collect();
                if live.is_empty() {
                    break;
                }
                let (pick, pause_ms) = picks.next().unwrap_or((0, 0));
                now += Duration::from_millis(pause_ms);
                let i = live[pick % live.len()];
                let r = queues[i].pop_front().unwrap();
                *polled.entry((r.topic.clone(), r.partition)).or_default() += 1;
                merger.push(r);
                while let Some(r) = merger.pop(now, |t, p, _| state(&polled, t, p)) {
                    out.push((r.timestamp.unwrap(), r.topic.clone(), r.partition, r.offset));
                }
            }
            while let Some(r) = merger.pop(now, |t, p, _| state(&polled, t, p)) {
                out.push((r.timestamp.unwrap(), r.topic.clone(), r.partition, r.offset));
            }
            prop_assert_eq!(out, expected);
        }
    }

    #[test]
    fn a_partition_in_an_unknown_state_holds_the_others_back_only_for_the_merge_wait() {
        let (a, b): (Arc<str>, Arc<str>) = (Arc::from("a"), Arc::from("b"));
        let mut m = Merger::default();
        m.reset(&[(a.clone(), 0), (b.clone(), 0)]);
        m.push(record(&a, 0, 0, 10));
        let t0 = Instant::now();
        let unknown = |_: &str, _: i32, _: Option<i64>| Backlog::Unknown;
        assert!(
            m.pop(t0, unknown).is_none(),
            "b might still bring older records"
        );
        let r = m
            .pop(t0 + MAX_MERGE_WAIT, unknown)
            .expect("waited long enough");
        assert_eq!(r.offset, 0);
        // Once b is known to be at its end, nothing waits.
        m.push(record(&a, 0, 1, 11));
        let b_at_end = |t: &str, _: i32, _: Option<i64>| {
            if t == "b" {
                Backlog::AtEnd
            } else {
                Backlog::Unknown
            }
        };
        assert!(m.pop(Instant::now(), b_at_end).is_some());
    }

    /// A slow fetch (a loaded machine, a resumed partition) must not let a
    /// newer record overtake the older ones that are known to exist.
    #[test]
    fn a_partition_known_to_be_behind_holds_the_others_back_however_long_its_fetch_takes() {
        let (a, b): (Arc<str>, Arc<str>) = (Arc::from("a"), Arc::from("b"));
        let mut m = Merger::default();
        m.reset(&[(a.clone(), 0), (b.clone(), 0)]);
        m.push(record(&a, 0, 0, 10));
        let t0 = Instant::now();
        let b_behind = |t: &str, _: i32, _: Option<i64>| {
            if t == "b" {
                Backlog::Behind
            } else {
                Backlog::AtEnd
            }
        };
        for waited in [Duration::ZERO, MAX_MERGE_WAIT, LONG_WAIT * 10] {
            assert!(m.pop(t0 + waited, b_behind).is_none(), "after {waited:?}");
            assert_eq!(m.holding_back_for(t0 + waited), waited, "the wait shows");
        }
        m.push(record(&b, 0, 0, 5));
        let first = m.pop(t0 + LONG_WAIT * 10, b_behind).expect("b's record");
        assert_eq!((&*first.topic, first.timestamp), ("b", Some(5)));
        assert_eq!(m.holding_back_for(t0 + LONG_WAIT * 10), Duration::ZERO);
    }

    #[test]
    fn a_partition_is_behind_only_when_its_unread_records_are_known_to_exist() {
        let stats = |end, eof, committed| PartitionStats {
            end,
            eof,
            committed,
        };
        // No statistics yet.
        assert_eq!(backlog(None, Some(3)), Backlog::Unknown);
        // Empty partition.
        assert_eq!(backlog(Some(&stats(0, -1001, -1001)), None), Backlog::AtEnd);
        // Read to its end, or its committed offset is its end.
        assert_eq!(
            backlog(Some(&stats(10, -1001, -1001)), Some(10)),
            Backlog::AtEnd
        );
        assert_eq!(backlog(Some(&stats(10, 10, 10)), None), Backlog::AtEnd);
        // Records past the position (polled or committed) that the fetcher
        // has not reached the end beyond.
        assert_eq!(
            backlog(Some(&stats(10, -1001, -1001)), Some(4)),
            Backlog::Behind
        );
        assert_eq!(backlog(Some(&stats(10, 6, 4)), None), Backlog::Behind);
        // The fetcher reached the end past the last polled record: only
        // transaction markers (or records already queued) lie between.
        assert_eq!(
            backlog(Some(&stats(10, 10, -1001)), Some(9)),
            Backlog::Unknown
        );
        // Nothing polled and nothing committed: the reset policy decides
        // where reading starts.
        assert_eq!(
            backlog(Some(&stats(10, -1001, -1001)), None),
            Backlog::Unknown
        );
    }
}
