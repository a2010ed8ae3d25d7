//! One stage of the pipeline as a consumer-group member with a transactional
//! producer: consume, update the per-partition tasks, produce outputs and
//! changelog records, and commit the consumed offsets with
//! `send_offsets_to_transaction`, all in one Kafka transaction.
//!
//! Each stage runs on its own thread with librdkafka's blocking calls, so the
//! rebalance callbacks (which librdkafka runs inside `poll` on that thread)
//! can commit the open transaction before partitions are revoked and restore
//! a partition's state from its changelog before its first record is
//! processed.
//!
//! Every commit also ends, per partition, with a marker record in the
//! changelog (the next input offset, written by this incarnation), and every
//! internal output carries its source (input partition, offset, index).
//! Restore applies only changelog records whose incarnation's marker
//! followed them and resumes at the marker's offset; downstream tasks drop a
//! source position they already applied. With transactions these are
//! redundant; without them (a broker lacking EndTxn) they make a crash
//! mid-commit replay deterministically and count nothing twice.
//!
//! Errors are handled crash-only: any failed transaction, lost assignment or
//! broker outage drops the stage's clients and state, and the stage starts
//! over from what Kafka committed (offsets and changelogs), with backoff.
//! That is the same path a restart after `kill -9` takes, so it is the path
//! the tests exercise.

use super::kafka::{
    changelog_topic, consumer_config, restore_consumer_config, stage_group_id, stage_input_topic,
    transactional_id, transactional_producer_config,
};
use crate::config::{Config, StageName};
use crate::kpi::tasks::{ChangelogError, ChangelogRecord};
use crate::metrics::Metrics;
use crate::model::Timestamp;
use rdkafka::admin::AdminClient;
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::KafkaError;
use rdkafka::message::{BorrowedMessage, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{ClientContext, Message, Offset, TopicPartitionList};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use thiserror::Error;

/// A caught-up partition without records for this long follows the newest
/// partition of the stage, so an idle partition cannot keep its windows open
/// (or its contacts alive) forever.
pub const PARTITION_IDLE_AFTER: Duration = Duration::from_secs(5);

/// An upstream partition whose watermark has not arrived for this long is
/// idle (or stopped) and no longer holds the stage's event time back. Live
/// upstream partitions broadcast at least every [`WATERMARK_KEEPALIVE`].
pub const UPSTREAM_SILENT_AFTER: Duration = Duration::from_secs(10);

/// An upstream task re-sends an unchanged watermark this often, so a
/// downstream task that restarted learns every upstream's progress again.
const WATERMARK_KEEPALIVE: Duration = Duration::from_secs(1);

/// Deadline for transaction calls (init, offsets, commit, abort).
const TXN_TIMEOUT: Duration = Duration::from_secs(30);

/// Longest a restore may take before the stage gives up and starts over.
const RESTORE_TIMEOUT: Duration = Duration::from_secs(300);

/// Header naming the input position an internal record was produced from.
const SOURCE_HEADER: &str = "ckpi-src";
/// Header naming the incarnation that wrote a changelog record.
const WRITER_HEADER: &str = "ckpi-writer";
/// Changelog keys of the runner itself (task keys never start with `~`).
const MARKER_KEY: &[u8] = b"~m";
const DEDUPE_TAG: &[u8] = b"~s";
/// Key prefix of watermark records on internal topics: `~w` + the upstream
/// partition (4 bytes, big-endian); the value is its event time in epoch
/// milliseconds (8 bytes, big-endian).
const WATERMARK_TAG: &[u8] = b"~w";
const MARKER_VERSION: u8 = 1;

/// A changelog record read during restore: writer, key, value.
type BufferedRecord = (Vec<u8>, Vec<u8>, Option<Vec<u8>>);

/// Counts failed deliveries, so a commit without transactions can tell
/// whether everything it sent arrived.
#[derive(Default)]
pub struct DeliveryContext {
    failed: AtomicU64,
}

impl ClientContext for DeliveryContext {}

impl ProducerContext for DeliveryContext {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        if let Err((e, _)) = result {
            tracing::warn!(error = %e, "delivery failed");
            self.failed.fetch_add(1, Ordering::Relaxed);
        }
    }
}

fn header<'a>(m: &'a BorrowedMessage<'_>, name: &str) -> Option<&'a [u8]> {
    use rdkafka::message::Headers;
    m.headers()
        .and_then(|h| h.iter().find(|h| h.key == name).and_then(|h| h.value))
}

/// `partition:offset:index` of the input record an output came from.
fn parse_source(v: &[u8]) -> Option<(i32, i64, u32)> {
    let s = std::str::from_utf8(v).ok()?;
    let mut it = s.split(':');
    Some((
        it.next()?.parse().ok()?,
        it.next()?.parse().ok()?,
        it.next()?.parse().ok()?,
    ))
}

fn dedupe_key(upstream: i32) -> Vec<u8> {
    let mut k = DEDUPE_TAG.to_vec();
    k.extend_from_slice(&upstream.to_be_bytes());
    k
}

#[derive(Debug, Error)]
pub enum StageError {
    #[error("kafka: {0}")]
    Kafka(#[from] KafkaError),
    #[error("restoring partition {partition} of {topic}: {source}")]
    Changelog {
        topic: String,
        partition: i32,
        source: ChangelogError,
    },
    #[error("restoring {topic} did not reach the end within {RESTORE_TIMEOUT:?}")]
    RestoreTimeout { topic: String },
    #[error("reading the topology: {0}")]
    Topology(Box<super::PipelineError>),
    /// Set while the stage closes, so revoke callbacks commit nothing more.
    #[error("the stage is stopping")]
    Stopping,
}

/// One output record of a stage.
pub struct Out {
    pub topic: String,
    pub key: Vec<u8>,
    /// `None`: a tombstone (changelog deletes).
    pub value: Option<Vec<u8>>,
    pub headers: Option<OwnedHeaders>,
    pub timestamp: Option<i64>,
    pub partition: Option<i32>,
}

/// What a stage does; the runner does the Kafka part.
pub trait StageLogic: Send + 'static {
    type Task: Default + Send;

    fn name(&self) -> StageName;
    /// Transaction batching period.
    fn commit_interval(&self) -> Duration;
    /// Handles one input record of `task`'s partition.
    fn process(&mut self, task: &mut Self::Task, m: &BorrowedMessage<'_>, out: &mut Vec<Out>);
    fn stream_time(task: &Self::Task) -> Option<Timestamp>;
    /// Moves `task`'s event time to `now`; the aggregate stage also
    /// publishes what changed here (once per transaction, coalesced).
    fn advance(&mut self, task: &mut Self::Task, now: Option<Timestamp>, out: &mut Vec<Out>);
    fn take_changelog(task: &mut Self::Task) -> Vec<ChangelogRecord>;
    fn restore(
        task: &mut Self::Task,
        key: &[u8],
        value: Option<&[u8]>,
    ) -> Result<(), ChangelogError>;
    /// Exports gauges and engine counters after a commit.
    fn report(&mut self, tasks: &mut dyn Iterator<Item = &Self::Task>, metrics: &Metrics);
}

struct Slot<T> {
    task: T,
    /// Next offset to process (from the last marker, then consumption).
    next_offset: Option<i64>,
    /// The offset the last written marker holds.
    committed_offset: Option<i64>,
    last_record: Instant,
    /// The consumer reached the partition's end after its last record: it is
    /// caught up, not merely starved by fetch scheduling during a backlog.
    at_end: bool,
    /// Per upstream partition, the newest source position applied.
    applied: BTreeMap<i32, (i64, u32)>,
    applied_changed: std::collections::BTreeSet<i32>,
    /// Per upstream partition, its newest watermark (epoch ms) and when it came.
    upstream_watermarks: BTreeMap<i32, (i64, Instant)>,
    assigned_at: Instant,
    /// The watermark this task last broadcast downstream, and when.
    broadcast: Option<(i64, Instant)>,
}

impl<T: Default> Slot<T> {
    fn new(task: T) -> Self {
        Slot {
            task,
            next_offset: None,
            committed_offset: None,
            last_record: Instant::now(),
            at_end: false,
            applied: BTreeMap::new(),
            applied_changed: Default::default(),
            upstream_watermarks: BTreeMap::new(),
            assigned_at: Instant::now(),
            broadcast: None,
        }
    }
}

/// What the stage thread and its rebalance callbacks share.
struct Core<L: StageLogic> {
    logic: L,
    config: Arc<Config>,
    metrics: Arc<Metrics>,
    stage: &'static str,
    input_topic: String,
    changelog_topic: String,
    producer: BaseProducer<DeliveryContext>,
    transactional: bool,
    /// This incarnation (one per clients' lifetime), written on changelog records.
    writer: String,
    tasks: BTreeMap<i32, Slot<L::Task>>,
    in_transaction: bool,
    since_commit: usize,
    last_commit: Instant,
    /// Set when the stage must start over (its state may be ahead of Kafka).
    failed: Option<StageError>,
    joined: bool,
    out: Vec<Out>,
    /// The internal topic this stage feeds and its partition count: every
    /// task broadcasts its event time to each of them at commits.
    watermark_out: Option<(String, i32)>,
    /// Partitions of the upstream stage (stages fed by an internal topic):
    /// event time is the lowest of their watermarks, not the newest record,
    /// because facts from all upstream partitions meet in one partition here
    /// and a fast one must not close windows a slow one still fills.
    upstream_partitions: Option<i32>,
}

impl<L: StageLogic> Core<L> {
    fn begin_if_needed(&mut self) -> Result<(), KafkaError> {
        if self.transactional && !self.in_transaction {
            self.producer.begin_transaction()?;
            self.in_transaction = true;
        }
        Ok(())
    }

    /// Sends the buffered outputs; waits (polling deliveries) while the
    /// producer queue is full instead of growing memory.
    fn send_out(&mut self) -> Result<(), KafkaError> {
        if self.out.is_empty() {
            return Ok(());
        }
        self.begin_if_needed()?;
        for o in std::mem::take(&mut self.out) {
            let mut record: BaseRecord<'_, [u8], [u8]> =
                BaseRecord::to(&o.topic).key(o.key.as_slice());
            if let Some(v) = &o.value {
                record = record.payload(v.as_slice());
            }
            if let Some(h) = o.headers {
                record = record.headers(h);
            }
            if let Some(ts) = o.timestamp {
                record = record.timestamp(ts);
            }
            if let Some(p) = o.partition {
                record = record.partition(p);
            }
            loop {
                match self.producer.send(record) {
                    Ok(()) => break,
                    Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                        self.metrics.producer_backpressure.inc();
                        record = r;
                        self.producer.poll(Duration::from_millis(20));
                    }
                    Err((e, _)) => return Err(e),
                }
            }
            self.metrics
                .records_produced
                .with_label_values(&[&o.topic])
                .inc();
        }
        self.producer.poll(Duration::ZERO);
        Ok(())
    }

    fn handle(&mut self, m: &BorrowedMessage<'_>) -> Result<(), KafkaError> {
        let (partition, offset) = (m.partition(), m.offset());
        let Some(slot) = self.tasks.get_mut(&partition) else {
            // Not (or no longer) ours: the next rebalance settles it.
            return Ok(());
        };
        if slot.next_offset.is_some_and(|next| offset < next) {
            return Ok(());
        }
        slot.next_offset = Some(offset + 1);
        slot.last_record = Instant::now();
        slot.at_end = false;
        self.since_commit += 1;
        self.metrics
            .records_consumed
            .with_label_values(&[m.topic()])
            .inc();
        // Only internal topics carry watermarks: an input key that happens
        // to start with the tag is an ordinary record.
        let watermark = self
            .upstream_partitions
            .and(m.key())
            .and_then(|k| k.strip_prefix(WATERMARK_TAG));
        if let Some(rest) = watermark {
            if let (Ok(up), Some(Ok(ms))) = (
                <[u8; 4]>::try_from(rest),
                m.payload().map(<[u8; 8]>::try_from),
            ) {
                let (up, ms) = (i32::from_be_bytes(up), i64::from_be_bytes(ms));
                let entry = slot
                    .upstream_watermarks
                    .entry(up)
                    .or_insert((ms, Instant::now()));
                *entry = (entry.0.max(ms), Instant::now());
            }
            return Ok(());
        }
        if let Some((up, up_offset, index)) = header(m, SOURCE_HEADER).and_then(parse_source) {
            // A replay of an upstream partition after its crash: applied already.
            if slot
                .applied
                .get(&up)
                .is_some_and(|&last| (up_offset, index) <= last)
            {
                self.metrics
                    .duplicates_dropped
                    .with_label_values(&[self.stage])
                    .inc();
                tracing::debug!(stage = self.stage, partition, offset, up, up_offset, index, last = ?slot.applied.get(&up), "dropped a replayed record");
                return Ok(());
            }
            slot.applied.insert(up, (up_offset, index));
            slot.applied_changed.insert(up);
        }
        let first = self.out.len();
        self.logic.process(&mut slot.task, m, &mut self.out);
        for (i, o) in self.out[first..].iter_mut().enumerate() {
            let source = format!("{partition}:{offset}:{i}");
            let headers = o.headers.take().unwrap_or_default();
            o.headers = Some(headers.insert(rdkafka::message::Header {
                key: SOURCE_HEADER,
                value: Some(source.as_bytes()),
            }));
        }
        self.send_out()
    }

    fn commit_due(&self) -> bool {
        self.since_commit >= self.config.raw.pipeline.commit_max_records
            || self.last_commit.elapsed() >= self.logic.commit_interval()
    }

    /// Advances event time, writes the changelog and the markers, and
    /// commits outputs, changelog and consumed offsets: in one transaction,
    /// or (without transactions) by waiting for every delivery.
    fn commit(&mut self, consumer: &BaseConsumer<StageContext<L>>) -> Result<(), KafkaError> {
        let started = Instant::now();
        self.since_commit = 0;
        let newest = self
            .tasks
            .values()
            .filter_map(|s| L::stream_time(&s.task))
            .max();
        let writer = self.writer.clone();
        let mut changelog = Vec::new();
        for (&partition, slot) in self.tasks.iter_mut() {
            let now = match self.upstream_partitions {
                Some(n) => upstream_watermark(slot, n),
                None => {
                    let own = L::stream_time(&slot.task);
                    // Only a caught-up partition follows the others: one
                    // starved during a backlog keeps its own time, or it
                    // would time out its contacts before their events arrive.
                    if slot.at_end && slot.last_record.elapsed() >= PARTITION_IDLE_AFTER {
                        own.max(newest)
                    } else {
                        own
                    }
                }
            };
            self.logic.advance(&mut slot.task, now, &mut self.out);
            if let (Some((topic, partitions)), Some(now)) = (&self.watermark_out, now) {
                let ms = now.timestamp_millis();
                let due = slot
                    .broadcast
                    .is_none_or(|(last, at)| ms > last || at.elapsed() >= WATERMARK_KEEPALIVE);
                if due {
                    slot.broadcast = Some((ms, Instant::now()));
                    let mut key = WATERMARK_TAG.to_vec();
                    key.extend_from_slice(&partition.to_be_bytes());
                    // After this task's facts in each partition (the producer
                    // keeps order per partition), so a downstream task has
                    // every fact of this upstream up to `now` before `now`.
                    for d in 0..*partitions {
                        self.out.push(Out {
                            topic: topic.clone(),
                            key: key.clone(),
                            value: Some(ms.to_be_bytes().to_vec()),
                            headers: None,
                            timestamp: Some(ms),
                            partition: Some(d),
                        });
                    }
                }
            }
            let mut records = L::take_changelog(&mut slot.task);
            for up in std::mem::take(&mut slot.applied_changed) {
                let value = postcard::to_allocvec(&slot.applied[&up]).expect("serializes");
                records.push((dedupe_key(up), Some(value)));
            }
            if records.is_empty() && slot.next_offset == slot.committed_offset {
                continue;
            }
            let mut marker = vec![MARKER_VERSION];
            marker.extend(postcard::to_allocvec(&slot.next_offset).expect("serializes"));
            records.push((MARKER_KEY.to_vec(), Some(marker)));
            for (key, value) in records {
                self.metrics
                    .changelog_records
                    .with_label_values(&[self.stage])
                    .inc();
                self.metrics
                    .changelog_bytes
                    .with_label_values(&[self.stage])
                    .inc_by((key.len() + value.as_ref().map_or(0, Vec::len)) as u64);
                changelog.push(Out {
                    topic: self.changelog_topic.clone(),
                    key,
                    value,
                    headers: Some(OwnedHeaders::new().insert(rdkafka::message::Header {
                        key: WRITER_HEADER,
                        value: Some(writer.as_bytes()),
                    })),
                    timestamp: None,
                    partition: Some(partition),
                });
            }
        }
        self.send_out()?;
        if !self.transactional {
            // Ordering holds per partition only: every output must be stored
            // before a marker says its input is done, or a crash in between
            // would lose it.
            self.flush_all()?;
        }
        self.out = changelog;
        self.send_out()?;
        let mut offsets = TopicPartitionList::new();
        for (&p, slot) in self.tasks.iter() {
            if let Some(next) = slot.next_offset {
                if slot.committed_offset != Some(next) {
                    offsets.add_partition_offset(&self.input_topic, p, Offset::Offset(next))?;
                }
            }
        }
        let mut committed = false;
        if self.transactional {
            if offsets.count() > 0 {
                // Without group metadata (not in a group) offsets cannot be committed.
                let group = consumer
                    .group_metadata()
                    .ok_or(KafkaError::Global(RDKafkaErrorCode::State))?;
                self.begin_if_needed()?;
                self.producer
                    .send_offsets_to_transaction(&offsets, &group, TXN_TIMEOUT)?;
            }
            if self.in_transaction {
                self.producer.commit_transaction(TXN_TIMEOUT)?;
                self.in_transaction = false;
                committed = true;
            }
        } else {
            self.flush_all()?;
            if offsets.count() > 0 {
                // The markers hold the offsets; the group's copy is for lag
                // monitoring and for readers of the group.
                if let Err(e) = consumer.commit(&offsets, rdkafka::consumer::CommitMode::Async) {
                    tracing::debug!(stage = self.stage, error = %e, "group offset commit failed");
                }
            }
            committed = true;
        }
        if committed {
            self.metrics
                .transactions
                .with_label_values(&[self.stage, "committed"])
                .inc();
            self.metrics
                .transaction_seconds
                .with_label_values(&[self.stage])
                .observe(started.elapsed().as_secs_f64());
            for slot in self.tasks.values_mut() {
                slot.committed_offset = slot.next_offset;
            }
        }
        let mut tasks = self.tasks.values().map(|s| &s.task);
        self.logic.report(&mut tasks, &self.metrics);
        // The interval runs from the end of a commit, so a slow broker gets
        // bigger batches rather than back-to-back commits.
        self.last_commit = Instant::now();
        Ok(())
    }

    /// Waits until everything sent is stored; a failed delivery fails the commit.
    fn flush_all(&mut self) -> Result<(), KafkaError> {
        self.producer.flush(TXN_TIMEOUT)?;
        if self.producer.context().failed.swap(0, Ordering::Relaxed) > 0 {
            return Err(KafkaError::Global(RDKafkaErrorCode::InvalidRecord));
        }
        Ok(())
    }

    /// Aborts what is open, after a failure (the stage then starts over).
    fn abort(&mut self) {
        if self.in_transaction {
            self.in_transaction = false;
            self.metrics
                .transactions
                .with_label_values(&[self.stage, "aborted"])
                .inc();
            if let Err(e) = self.producer.abort_transaction(TXN_TIMEOUT) {
                tracing::warn!(stage = self.stage, error = %e, "abort failed; the broker aborts it at the transaction timeout or when this instance restarts");
            }
        }
    }

    fn fail(&mut self, e: StageError) {
        if self.failed.is_none() {
            tracing::warn!(stage = self.stage, error = %e, "stage starts over from the committed state");
            self.failed = Some(e);
        }
    }

    /// Reads the changelog partitions of newly assigned input partitions to
    /// their end and rebuilds their tasks: only what a marker confirmed, up
    /// to the last marker, whose offset is where processing resumes.
    fn restore(&mut self, partitions: &[i32]) -> Result<(), StageError> {
        let started = Instant::now();
        let consumer: BaseConsumer<RestoreContext> =
            restore_consumer_config(&self.config).create_with_context(RestoreContext)?;
        let mut tpl = TopicPartitionList::new();
        for &p in partitions {
            tpl.add_partition_offset(&self.changelog_topic, p, Offset::Beginning)?;
        }
        consumer.assign(&tpl)?;
        struct Pending<T> {
            slot: Slot<T>,
            /// Records since the last marker, with their writer.
            buffer: Vec<BufferedRecord>,
        }
        let mut pending: BTreeMap<i32, Pending<L::Task>> = partitions
            .iter()
            .map(|&p| {
                (
                    p,
                    Pending {
                        slot: Slot::new(L::Task::default()),
                        buffer: Vec::new(),
                    },
                )
            })
            .collect();
        let mut open: std::collections::BTreeSet<i32> = partitions.iter().copied().collect();
        let (mut records, mut bytes) = (0u64, 0u64);
        let topic = self.changelog_topic.clone();
        let corrupt = |partition: i32, source: ChangelogError| StageError::Changelog {
            topic: topic.clone(),
            partition,
            source,
        };
        while !open.is_empty() {
            if started.elapsed() > RESTORE_TIMEOUT {
                return Err(StageError::RestoreTimeout {
                    topic: self.changelog_topic.clone(),
                });
            }
            let m = match consumer.poll(Duration::from_millis(100)) {
                None => continue,
                Some(Err(KafkaError::PartitionEOF(p))) => {
                    open.remove(&p);
                    continue;
                }
                Some(Err(e)) => return Err(e.into()),
                Some(Ok(m)) => m,
            };
            let p = m.partition();
            let entry = pending.get_mut(&p).expect("assigned partition");
            let key = m.key().unwrap_or_default().to_vec();
            let writer = header(&m, WRITER_HEADER).unwrap_or_default().to_vec();
            records += 1;
            bytes += (key.len() + m.payload().map_or(0, <[u8]>::len)) as u64;
            if key != MARKER_KEY {
                entry
                    .buffer
                    .push((writer, key, m.payload().map(<[u8]>::to_vec)));
                continue;
            }
            let next_offset: Option<i64> = match m.payload().and_then(<[u8]>::split_first) {
                Some((&MARKER_VERSION, body)) => {
                    postcard::from_bytes(body).map_err(|e| corrupt(p, ChangelogError::Decode(e)))?
                }
                other => {
                    return Err(corrupt(
                        p,
                        ChangelogError::Version(other.map_or(0, |(v, _)| *v)),
                    ))
                }
            };
            // Records another incarnation left without a marker belong to a
            // commit that never finished: its input is processed again.
            for (w, k, v) in std::mem::take(&mut entry.buffer) {
                if w != writer {
                    continue;
                }
                if let Some(up) = k.strip_prefix(DEDUPE_TAG) {
                    let up = i32::from_be_bytes(up.try_into().unwrap_or_default());
                    let pos = postcard::from_bytes(v.as_deref().unwrap_or_default())
                        .map_err(|e| corrupt(p, ChangelogError::Decode(e)))?;
                    entry.slot.applied.insert(up, pos);
                } else {
                    L::restore(&mut entry.slot.task, &k, v.as_deref())
                        .map_err(|e| corrupt(p, e))?;
                }
            }
            entry.slot.next_offset = next_offset;
            entry.slot.committed_offset = next_offset;
        }
        for (p, mut entry) in pending {
            // The restore calls are not changes: nothing is written back.
            let _ = L::take_changelog(&mut entry.slot.task);
            entry.slot.last_record = Instant::now();
            self.tasks.insert(p, entry.slot);
        }
        let m = &self.metrics;
        m.restore_seconds
            .with_label_values(&[self.stage])
            .set(started.elapsed().as_secs_f64());
        m.restored_records
            .with_label_values(&[self.stage])
            .inc_by(records);
        m.restored_bytes
            .with_label_values(&[self.stage])
            .set(bytes as i64);
        tracing::info!(
            stage = self.stage,
            partitions = ?partitions,
            records,
            bytes,
            seconds = started.elapsed().as_secs_f64(),
            "restored state"
        );
        Ok(())
    }
}

/// A task's event time from its upstream's watermarks: the lowest watermark
/// of the live upstream partitions. Until every upstream partition has been
/// heard from, nothing advances, unless the task has waited
/// [`UPSTREAM_SILENT_AFTER`]: then the silent ones count as idle.
fn upstream_watermark<T>(slot: &Slot<T>, upstream_partitions: i32) -> Option<Timestamp> {
    let complete = slot.upstream_watermarks.len() >= upstream_partitions as usize
        || slot.assigned_at.elapsed() >= UPSTREAM_SILENT_AFTER;
    if !complete {
        return None;
    }
    slot.upstream_watermarks
        .values()
        .filter(|(_, at)| at.elapsed() < UPSTREAM_SILENT_AFTER)
        .map(|&(ms, _)| ms)
        .min()
        .and_then(chrono::DateTime::from_timestamp_millis)
}

/// The restore consumer's context: reaching a partition's end is the goal,
/// not an error worth logging.
struct RestoreContext;

impl ClientContext for RestoreContext {
    fn error(&self, error: KafkaError, reason: &str) {
        if !matches!(
            error,
            KafkaError::PartitionEOF(_) | KafkaError::Global(RDKafkaErrorCode::PartitionEOF)
        ) {
            tracing::warn!(error = %error, reason, "changelog restore client error");
        }
    }
}

impl ConsumerContext for RestoreContext {}

/// The consumer context: rebalance callbacks commit before partitions go and
/// restore before they are processed.
struct StageContext<L: StageLogic> {
    core: Arc<Mutex<Core<L>>>,
    lag_metrics: Option<Arc<Metrics>>,
}

impl<L: StageLogic> ClientContext for StageContext<L> {
    fn stats(&self, statistics: rdkafka::Statistics) {
        let Some(metrics) = &self.lag_metrics else {
            return;
        };
        for topic in statistics.topics.values() {
            for (id, p) in &topic.partitions {
                if *id >= 0 && p.consumer_lag >= 0 {
                    metrics
                        .consumer_lag
                        .with_label_values(&[&id.to_string()])
                        .set(p.consumer_lag);
                }
            }
        }
    }
}

impl<L: StageLogic> ConsumerContext for StageContext<L> {
    /// Runs on the stage thread inside `poll`: commits before partitions go,
    /// restores before they come, and starts them at their markers' offsets.
    fn rebalance(
        &self,
        consumer: &BaseConsumer<Self>,
        err: rdkafka::types::RDKafkaRespErr,
        tpl: &mut TopicPartitionList,
    ) {
        use rdkafka::consumer::RebalanceProtocol;
        use rdkafka::types::RDKafkaRespErr;
        let cooperative = matches!(
            consumer.rebalance_protocol(),
            RebalanceProtocol::Cooperative
        );
        let mut core = self.core.lock().expect("stage core not poisoned");
        let stage = core.stage;
        match err {
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS => {
                let new: Vec<i32> = tpl
                    .elements()
                    .iter()
                    .map(|e| e.partition())
                    .filter(|p| !core.tasks.contains_key(p))
                    .collect();
                if core.failed.is_none() && !new.is_empty() {
                    if let Err(e) = core.restore(&new) {
                        core.fail(e);
                    }
                }
                let topic = core.input_topic.clone();
                // The markers are the only position that matches the
                // restored state: a partition without one starts at the
                // beginning, never at a group offset or the reset policy.
                for (&p, slot) in &core.tasks {
                    if new.contains(&p) {
                        let start = slot.next_offset.map_or(Offset::Beginning, Offset::Offset);
                        let _ = tpl.set_partition_offset(&topic, p, start);
                    }
                }
                tracing::info!(
                    stage,
                    assignment = ?tpl
                        .elements()
                        .iter()
                        .map(|e| (e.partition(), e.offset()))
                        .collect::<Vec<_>>(),
                    "partitions assigned"
                );
                let assigned = if cooperative {
                    consumer.incremental_assign(tpl)
                } else {
                    consumer.assign(tpl)
                };
                if let Err(e) = assigned {
                    core.fail(StageError::Kafka(e));
                }
                if core.failed.is_none() {
                    core.joined = true;
                }
            }
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS => {
                if core.failed.is_none() {
                    if consumer.assignment_lost() {
                        // The group moved on without us (session or member
                        // lost): what was not committed is the new owner's
                        // to redo, so nothing is committed; the consumer
                        // rejoins by itself.
                        tracing::warn!(
                            stage,
                            "assignment lost; dropping the uncommitted work of its partitions"
                        );
                        core.abort();
                    } else if let Err(e) = core.commit(consumer) {
                        core.abort();
                        core.fail(e.into());
                    }
                }
                for e in tpl.elements() {
                    core.tasks.remove(&e.partition());
                }
                let _ = if cooperative {
                    consumer.incremental_unassign(tpl)
                } else {
                    consumer.unassign()
                };
            }
            other => {
                core.abort();
                core.fail(StageError::Kafka(KafkaError::Rebalance(other.into())));
                let _ = consumer.unassign();
            }
        }
        let n = core.tasks.len() as i64;
        core.metrics
            .partitions_assigned
            .with_label_values(&[stage])
            .set(n);
    }
}

/// Shared between a stage thread and the service.
pub struct StageHandle {
    pub ready: Arc<AtomicBool>,
    pub thread: std::thread::JoinHandle<()>,
}

/// Starts a stage on its own thread; it runs until `stop` is set (graceful:
/// commit, leave the group) or `crash` is set (as `kill -9` would: nothing
/// more is committed).
pub fn spawn<L: StageLogic>(
    make_logic: impl Fn() -> L + Send + 'static,
    config: Arc<Config>,
    metrics: Arc<Metrics>,
    instance_id: String,
    stop: Arc<AtomicBool>,
    crash: Arc<AtomicBool>,
) -> StageHandle {
    let ready = Arc::new(AtomicBool::new(false));
    let r = ready.clone();
    let stage = make_logic().name();
    let thread = std::thread::Builder::new()
        .name(format!("stage-{}", stage.as_str()))
        .spawn(move || {
            let mut backoff = Duration::from_millis(200);
            loop {
                let started = Instant::now();
                let result = run_once(
                    make_logic(),
                    &config,
                    &metrics,
                    &instance_id,
                    &stop,
                    &crash,
                    &r,
                );
                r.store(false, Ordering::Relaxed);
                metrics
                    .stage_ready
                    .with_label_values(&[stage.as_str()])
                    .set(0);
                match result {
                    Ok(()) => break,
                    Err(e) => {
                        metrics
                            .stage_restarts
                            .with_label_values(&[stage.as_str()])
                            .inc();
                        tracing::warn!(stage = stage.as_str(), error = %e, retry_in = ?backoff, "stage stopped; starting over from Kafka");
                        if started.elapsed() > Duration::from_secs(60) {
                            backoff = Duration::from_millis(200);
                        }
                        let until = Instant::now() + backoff;
                        while Instant::now() < until {
                            if stop.load(Ordering::Relaxed) || crash.load(Ordering::Relaxed) {
                                return;
                            }
                            std::thread::sleep(Duration::from_millis(50));
                        }
                        backoff = (backoff * 2).min(Duration::from_secs(10));
                    }
                }
            }
        })
        .expect("stage thread starts");
    StageHandle { ready, thread }
}

/// Where a stage broadcasts its watermarks (the internal topic it feeds, with
/// its partition count) and how many upstream partitions feed it.
struct WatermarkTopology {
    out: Option<(String, i32)>,
    upstream_partitions: Option<i32>,
}

fn watermark_topology(config: &Config, stage: StageName) -> Result<WatermarkTopology, StageError> {
    let admin: AdminClient<DefaultClientContext> = super::kafka::base_config(config).create()?;
    let count = |topic: &str| {
        super::kafka::partition_count(&admin, topic).map_err(|e| StageError::Topology(Box::new(e)))
    };
    // Stage n's upstream tasks are the partitions of stage n-1's input; it
    // feeds stage n+1's input.
    let upstream = |stage: StageName| count(&stage_input_topic(config, stage));
    let output = |stage: StageName| -> Result<Option<(String, i32)>, StageError> {
        let topic = stage_input_topic(config, stage);
        let n = count(&topic)?;
        Ok(Some((topic, n)))
    };
    let (out, upstream_partitions) = match stage {
        StageName::Assemble => (output(StageName::Repeats)?, None),
        StageName::Repeats => (
            output(StageName::Aggregate)?,
            Some(upstream(StageName::Assemble)?),
        ),
        StageName::Aggregate => (None, Some(upstream(StageName::Repeats)?)),
    };
    Ok(WatermarkTopology {
        out,
        upstream_partitions,
    })
}

fn run_once<L: StageLogic>(
    logic: L,
    config: &Arc<Config>,
    metrics: &Arc<Metrics>,
    instance_id: &str,
    stop: &AtomicBool,
    crash: &AtomicBool,
    ready: &AtomicBool,
) -> Result<(), StageError> {
    let name = logic.name();
    let stage = name.as_str();
    let input_topic = stage_input_topic(config, name);
    let txn_id = transactional_id(config, name, instance_id);
    let transactional = config.raw.pipeline.transactions;
    let producer: BaseProducer<DeliveryContext> = if transactional {
        let p: BaseProducer<DeliveryContext> = transactional_producer_config(config, &txn_id)
            .create_with_context(DeliveryContext::default())?;
        // Fences an earlier incarnation of this instance and aborts its open
        // transaction, so nothing it left half-done blocks read_committed readers.
        p.init_transactions(TXN_TIMEOUT)?;
        p
    } else {
        super::kafka::producer_config(config).create_with_context(DeliveryContext::default())?
    };
    let writer = {
        use rand::{Rng, SeedableRng};
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        let seed = nanos ^ (u64::from(std::process::id()) << 32) ^ (name as u64);
        format!(
            "{instance_id}/{:016x}",
            rand_chacha::ChaCha8Rng::seed_from_u64(seed).random::<u64>()
        )
    };
    let topology = watermark_topology(config, name)?;
    let core = Arc::new(Mutex::new(Core {
        logic,
        config: config.clone(),
        metrics: metrics.clone(),
        stage,
        input_topic: input_topic.clone(),
        changelog_topic: changelog_topic(config, name),
        producer,
        transactional,
        writer,
        tasks: BTreeMap::new(),
        in_transaction: false,
        since_commit: 0,
        last_commit: Instant::now(),
        failed: None,
        joined: false,
        out: Vec::new(),
        watermark_out: topology.out,
        upstream_partitions: topology.upstream_partitions,
    }));
    let mut cc = consumer_config(config);
    cc.set("group.id", stage_group_id(config, name))
        .set("enable.partition.eof", "true")
        .set("client.id", format!("contact-kpi.{stage}.{instance_id}"));
    let consumer: BaseConsumer<StageContext<L>> = cc.create_with_context(StageContext {
        core: core.clone(),
        lag_metrics: (name == StageName::Assemble).then(|| metrics.clone()),
    })?;
    consumer.subscribe(&[input_topic.as_str()])?;
    tracing::info!(stage, transactional, transactional_id = %txn_id, "stage started");
    let result = loop {
        if crash.load(Ordering::Relaxed) {
            // As a crash: nothing more is committed and the open transaction
            // is left open (the next incarnation's init aborts it).
            {
                let mut c = core.lock().expect("stage core not poisoned");
                c.in_transaction = false;
                c.failed = Some(StageError::Stopping);
            }
            drop(consumer);
            return Ok(());
        }
        if stop.load(Ordering::Relaxed) {
            break Ok(());
        }
        let polled = consumer.poll(Duration::from_millis(50));
        let mut c = core.lock().expect("stage core not poisoned");
        if let Some(e) = c.failed.take() {
            break Err(e);
        }
        let ok = c.joined;
        ready.store(ok, Ordering::Relaxed);
        metrics
            .stage_ready
            .with_label_values(&[stage])
            .set(i64::from(ok));
        let step = match polled {
            Some(Ok(m)) => c.handle(&m),
            Some(Err(KafkaError::PartitionEOF(p))) => {
                if let Some(slot) = c.tasks.get_mut(&p) {
                    slot.at_end = true;
                }
                Ok(())
            }
            Some(Err(e)) => {
                tracing::debug!(stage, error = %e, "consumer error");
                Ok(())
            }
            None => Ok(()),
        };
        let step = step.and_then(|()| {
            if c.commit_due() {
                c.commit(&consumer)
            } else {
                Ok(())
            }
        });
        if let Err(e) = step {
            c.abort();
            break Err(e.into());
        }
    };
    ready.store(false, Ordering::Relaxed);
    match result {
        Ok(()) => {
            // Graceful: commit, then leave the group (the revoke callback
            // finds nothing left to commit).
            {
                let mut c = core.lock().expect("stage core not poisoned");
                if let Err(e) = c.commit(&consumer) {
                    c.abort();
                    tracing::warn!(stage, error = %e, "final commit failed; the next owner resumes from the previous one");
                }
                // Revoke callbacks during close must not commit again.
                c.failed = Some(StageError::Stopping);
            }
            consumer.unsubscribe();
            drop(consumer);
            tracing::info!(stage, "stage stopped");
            Ok(())
        }
        Err(e) => {
            {
                let mut c = core.lock().expect("stage core not poisoned");
                c.abort();
                c.failed = Some(StageError::Stopping);
            }
            drop(consumer);
            Err(e)
        }
    }
}
