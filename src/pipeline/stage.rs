//! One stage of the pipeline as a consumer-group member with a transactional
//! producer: the Kafka shell around a [`StageRunner`] (`protocol.rs`), which
//! holds the per-partition tasks and every rule about event time,
//! watermarks, markers and de-duplication. This file only moves records:
//! owned copies in, produced records out, transactions, rebalances and
//! changelog reads.
//!
//! Each stage runs on its own thread with librdkafka's blocking calls, so the
//! rebalance callbacks (which librdkafka runs inside `poll` on that thread)
//! can commit the open transaction before partitions are revoked.
//!
//! A newly assigned partition is restored **outside** the rebalance
//! callback: the callback assigns and pauses it, and the poll loop reads its
//! changelog in small steps between polls of the group consumer (so a long
//! restore never exceeds `max.poll.interval.ms`), then seeks the partition
//! to the offset its last commit marker holds and resumes it.
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
use super::protocol::{
    panic_message, InRecord, Out, Poisoned, Quarantine, Restorer, StageLogic, StageRunner,
    Topology, SOURCE_HEADER, WRITER_HEADER,
};
use crate::config::{Config, StageName};
use crate::kpi::tasks::ChangelogError;
use crate::metrics::Metrics;
use rdkafka::admin::AdminClient;
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::KafkaError;
use rdkafka::message::{BorrowedMessage, Header, Headers, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{ClientContext, Message, Offset, TopicPartitionList};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use thiserror::Error;

/// Deadline for transaction calls (init, offsets, commit, abort).
const TXN_TIMEOUT: Duration = Duration::from_secs(30);

/// Longest a restore may take before the stage gives up and starts over.
/// The group membership is kept alive meanwhile (restore runs between polls).
const RESTORE_TIMEOUT: Duration = Duration::from_secs(1800);

/// Changelog records read per restore step before the group consumer is
/// polled again.
const RESTORE_STEP_RECORDS: usize = 2000;

/// Counts failed deliveries, so a commit without transactions can tell
/// whether everything it sent arrived, and remembers which input records
/// the refused ones came from.
#[derive(Default)]
pub struct DeliveryContext {
    failed: AtomicU64,
    /// Source headers of outputs the broker refused for what they are,
    /// with the error: their input records go to quarantine.
    refused: Mutex<Vec<(Vec<u8>, String)>>,
}

/// Errors that a record causes by what it is (size, content), as opposed to
/// the broker or the network failing: retrying the same record cannot help.
fn is_record_refusal(e: &KafkaError) -> bool {
    use RDKafkaErrorCode::*;
    matches!(
        e.rdkafka_error_code(),
        Some(
            MessageSizeTooLarge
                | InvalidMessageSize
                | InvalidMessage
                | MessageBatchTooLarge
                | InvalidRecord
                | InvalidTimestamp
                | BadMessage
        )
    )
}

impl ClientContext for DeliveryContext {}

impl ProducerContext for DeliveryContext {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        if let Err((e, m)) = result {
            tracing::warn!(error = %e, topic = m.topic(), "delivery failed");
            self.failed.fetch_add(1, Ordering::Relaxed);
            if is_record_refusal(e) {
                if let Some(source) = header(m, SOURCE_HEADER) {
                    let error = format!("the broker refused an output to {}: {e}", m.topic());
                    self.refused
                        .lock()
                        .expect("delivery context not poisoned")
                        .push((source.to_vec(), error));
                }
            }
        }
    }
}

fn header<'a, M: Message>(m: &'a M, name: &str) -> Option<&'a [u8]> {
    m.headers()
        .and_then(|h| h.iter().find(|h| h.key == name).and_then(|h| h.value))
}

/// The owned copy of a consumed record that the protocol works on.
pub(super) fn owned(m: &BorrowedMessage<'_>, topic: &Arc<str>) -> InRecord {
    InRecord {
        topic: topic.clone(),
        partition: m.partition(),
        offset: m.offset(),
        key: m.key().map(<[u8]>::to_vec),
        value: m.payload().map(<[u8]>::to_vec),
        timestamp: m.timestamp().to_millis(),
        headers: m
            .headers()
            .map(|h| {
                h.iter()
                    .map(|h| (h.key.to_string(), h.value.map(<[u8]>::to_vec)))
                    .collect()
            })
            .unwrap_or_default(),
    }
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
    #[error("the stage panicked: {0}")]
    Panicked(String),
    #[error("poison record quarantined: {0}")]
    Poisoned(#[from] Poisoned),
    /// Set while the stage closes, so revoke callbacks commit nothing more.
    #[error("the stage is stopping")]
    Stopping,
}

/// A changelog read in progress for partitions that are assigned and paused.
struct RestoreJob<L: StageLogic> {
    consumer: BaseConsumer<RestoreContext>,
    restorer: Restorer<L>,
    /// Partitions not yet read to their end.
    open: BTreeSet<i32>,
    started: Instant,
}

/// What the stage thread and its rebalance callbacks share.
struct Core<L: StageLogic> {
    runner: StageRunner<L>,
    config: Arc<Config>,
    metrics: Arc<Metrics>,
    stage: &'static str,
    input_topic: Arc<str>,
    changelog_topic: String,
    producer: BaseProducer<DeliveryContext>,
    transactional: bool,
    in_transaction: bool,
    last_commit: Instant,
    /// Set when the stage must start over (its state may be ahead of Kafka).
    failed: Option<StageError>,
    joined: bool,
    out: Vec<Out>,
    /// Assigned partitions whose state is not restored yet (paused).
    restoring: Option<RestoreJob<L>>,
    quarantine: Arc<Quarantine>,
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
            if !o.headers.is_empty() {
                let mut headers = OwnedHeaders::new_with_capacity(o.headers.len());
                for (key, value) in &o.headers {
                    headers = headers.insert(Header {
                        key,
                        value: value.as_deref(),
                    });
                }
                record = record.headers(headers);
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
                    Err((e, _)) => {
                        if is_record_refusal(&e) {
                            let error =
                                format!("the producer refused an output to {}: {e}", o.topic);
                            self.quarantine.add_source_of(&o.headers, &error);
                        }
                        return Err(e);
                    }
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

    fn handle(&mut self, m: &BorrowedMessage<'_>) -> Result<(), StageError> {
        if !self.runner.owns(m.partition()) {
            // Not ours, or still restoring: the seek after the restore
            // fetches it again.
            return Ok(());
        }
        let record = owned(m, &self.input_topic);
        self.runner.handle(&record, Instant::now(), &mut self.out)?;
        Ok(self.send_out()?)
    }

    /// Moves the input records of outputs the broker refused into
    /// quarantine, so the replay after this failure skips them.
    fn quarantine_refused(&self) {
        let refused = std::mem::take(
            &mut *self
                .producer
                .context()
                .refused
                .lock()
                .expect("delivery context not poisoned"),
        );
        for (source, error) in refused {
            let headers = [(SOURCE_HEADER.to_string(), Some(source))];
            self.quarantine.add_source_of(&headers, &error);
        }
    }

    fn commit_due(&self) -> bool {
        self.runner.uncommitted() >= self.config.raw.pipeline.commit_max_records
            || self.last_commit.elapsed() >= self.runner.logic.commit_interval()
    }

    /// Advances event time, writes the changelog and the markers, and
    /// commits outputs, changelog and consumed offsets: in one transaction,
    /// or (without transactions) by waiting for every delivery.
    fn commit(&mut self, consumer: &BaseConsumer<StageContext<L>>) -> Result<(), KafkaError> {
        let started = Instant::now();
        let plan = self.runner.prepare_commit(started, &mut self.out);
        self.send_out()?;
        if !self.transactional {
            // Ordering holds per partition only: every output must be stored
            // before a marker says its input is done, or a crash in between
            // would lose it.
            self.flush_all()?;
        }
        self.out = plan.changelog;
        self.send_out()?;
        let mut offsets = TopicPartitionList::new();
        for (p, next) in plan.offsets {
            offsets.add_partition_offset(&self.input_topic, p, Offset::Offset(next))?;
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
            self.runner.committed();
        }
        self.runner.report();
        // The interval runs from the end of a commit, so a slow broker gets
        // bigger batches rather than back-to-back commits.
        self.last_commit = Instant::now();
        Ok(())
    }

    /// Waits until everything sent is stored; a failed delivery fails the commit.
    fn flush_all(&mut self) -> Result<(), KafkaError> {
        self.producer.flush(TXN_TIMEOUT)?;
        if self.producer.context().failed.swap(0, Ordering::Relaxed) > 0 {
            self.quarantine_refused();
            return Err(KafkaError::Global(RDKafkaErrorCode::InvalidRecord));
        }
        Ok(())
    }

    /// Aborts what is open, after a failure (the stage then starts over).
    fn abort(&mut self) {
        self.quarantine_refused();
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

    /// Starts reading the changelogs of `partitions` (assigned, paused),
    /// together with any restore still in progress.
    fn start_restore(&mut self, partitions: &[i32]) -> Result<(), StageError> {
        let mut all: BTreeSet<i32> = partitions.iter().copied().collect();
        if let Some(job) = self.restoring.take() {
            // Simplest correct merge: read the unfinished ones again too.
            all.extend(job.restorer.partitions());
        }
        let all: Vec<i32> = all.into_iter().collect();
        let consumer: BaseConsumer<RestoreContext> =
            restore_consumer_config(&self.config).create_with_context(RestoreContext)?;
        let mut tpl = TopicPartitionList::new();
        for &p in &all {
            tpl.add_partition_offset(&self.changelog_topic, p, Offset::Beginning)?;
        }
        consumer.assign(&tpl)?;
        let now = Instant::now();
        self.restoring = Some(RestoreJob {
            consumer,
            restorer: Restorer::new(&all, now),
            open: all.iter().copied().collect(),
            started: now,
        });
        Ok(())
    }

    /// Reads a bounded step of the running restore; when every partition is
    /// read to its end, installs the tasks and seeks and resumes their input
    /// partitions at the markers' offsets.
    fn step_restore(&mut self, consumer: &BaseConsumer<StageContext<L>>) -> Result<(), StageError> {
        let Some(job) = self.restoring.as_mut() else {
            return Ok(());
        };
        if job.started.elapsed() > RESTORE_TIMEOUT {
            return Err(StageError::RestoreTimeout {
                topic: self.changelog_topic.clone(),
            });
        }
        let topic = &self.changelog_topic;
        for _ in 0..RESTORE_STEP_RECORDS {
            if job.open.is_empty() {
                break;
            }
            let m = match job.consumer.poll(Duration::from_millis(20)) {
                None => break,
                Some(Err(KafkaError::PartitionEOF(p))) => {
                    job.open.remove(&p);
                    continue;
                }
                Some(Err(e)) => return Err(e.into()),
                Some(Ok(m)) => m,
            };
            let p = m.partition();
            let writer = header(&m, WRITER_HEADER).unwrap_or_default();
            job.restorer
                .push(p, m.key().unwrap_or_default(), m.payload(), writer)
                .map_err(|source| StageError::Changelog {
                    topic: topic.clone(),
                    partition: p,
                    source,
                })?;
        }
        if !job.open.is_empty() {
            return Ok(());
        }
        let job = self.restoring.take().expect("present");
        let (records, bytes) = (job.restorer.records, job.restorer.bytes);
        let restored = job.restorer.finish(Instant::now());
        let partitions = restored.partitions();
        self.runner.install(restored);
        let mut tpl = TopicPartitionList::new();
        for &p in &partitions {
            let start = self
                .runner
                .start_offset(p)
                .map_or(Offset::Beginning, Offset::Offset);
            tpl.add_partition_offset(&self.input_topic, p, start)?;
        }
        // The markers are the only position that matches the restored
        // state: a partition without one starts at the beginning, never at
        // a group offset or the reset policy.
        consumer.seek_partitions(tpl.clone(), Duration::from_secs(10))?;
        consumer.resume(&tpl)?;
        let m = &self.metrics;
        let seconds = job.started.elapsed().as_secs_f64();
        m.restore_seconds
            .with_label_values(&[self.stage])
            .set(seconds);
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
            seconds,
            "restored state; partitions resumed"
        );
        Ok(())
    }

    fn ready(&self) -> bool {
        self.joined && self.restoring.is_none()
    }

    /// Partitions this member owns, restored or still restoring.
    fn report_assigned(&self) {
        let restoring = self
            .restoring
            .as_ref()
            .map_or(0, |j| j.restorer.partitions().len());
        let n = (self.runner.partitions().len() + restoring) as i64;
        self.metrics
            .partitions_assigned
            .with_label_values(&[self.stage])
            .set(n);
    }
}

/// The restore consumer's context: reaching a partition's end is the goal,
/// not an error worth logging.
struct RestoreContext;

fn is_partition_eof(error: &KafkaError) -> bool {
    matches!(
        error,
        KafkaError::PartitionEOF(_) | KafkaError::Global(RDKafkaErrorCode::PartitionEOF)
    )
}

impl ClientContext for RestoreContext {
    fn error(&self, error: KafkaError, reason: &str) {
        if !is_partition_eof(&error) {
            tracing::warn!(error = %error, reason, "changelog restore client error");
        }
    }
}

impl ConsumerContext for RestoreContext {}

/// The consumer context: rebalance callbacks commit before partitions go and
/// assign (paused, for restoring) when they come.
struct StageContext<L: StageLogic> {
    core: Arc<Mutex<Core<L>>>,
    stage: &'static str,
    lag_metrics: Option<Arc<Metrics>>,
}

impl<L: StageLogic> ClientContext for StageContext<L> {
    /// Partition ends are expected (`enable.partition.eof` tells an idle
    /// partition from a starved one) and come through `poll` too: they are
    /// not errors to log.
    fn error(&self, error: KafkaError, reason: &str) {
        if !is_partition_eof(&error) {
            tracing::warn!(stage = self.stage, error = %error, reason, "kafka client error");
        }
    }

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
    /// Runs on the stage thread inside `poll`: commits before partitions go;
    /// assigns new ones paused and leaves their restore to the poll loop.
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
                let topic = core.input_topic.clone();
                let mut new = Vec::new();
                for e in tpl.elements() {
                    let p = e.partition();
                    let restoring = core
                        .restoring
                        .as_ref()
                        .is_some_and(|j| j.restorer.partitions().contains(&p));
                    if !core.runner.owns(p) && !restoring {
                        new.push(p);
                    }
                }
                for &p in &new {
                    // Fetching starts only after the restore, at the marker.
                    let _ = tpl.set_partition_offset(&topic, p, Offset::Beginning);
                }
                tracing::info!(stage, assignment = ?tpl.elements().iter().map(|e| e.partition()).collect::<Vec<_>>(), restoring = ?new, "partitions assigned");
                let assigned = if cooperative {
                    consumer.incremental_assign(tpl)
                } else {
                    consumer.assign(tpl)
                };
                let mut paused = TopicPartitionList::new();
                for &p in &new {
                    paused.add_partition(&topic, p);
                }
                let result = assigned
                    .and_then(|()| {
                        if new.is_empty() {
                            Ok(())
                        } else {
                            consumer.pause(&paused)
                        }
                    })
                    .map_err(StageError::Kafka);
                let result = result.and_then(|()| {
                    if core.failed.is_none() && !new.is_empty() {
                        core.start_restore(&new)
                    } else {
                        Ok(())
                    }
                });
                match result {
                    Ok(()) => {
                        if core.failed.is_none() {
                            core.joined = true;
                        }
                    }
                    Err(e) => core.fail(e),
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
                    core.runner.remove(e.partition());
                    if let Some(job) = core.restoring.as_mut() {
                        job.restorer.forget(e.partition());
                        job.open.remove(&e.partition());
                    }
                }
                if core
                    .restoring
                    .as_ref()
                    .is_some_and(|j| j.restorer.partitions().is_empty())
                {
                    core.restoring = None;
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
        core.report_assigned();
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
    // Outlives the incarnations: a record that made one fail is skipped by the next.
    let quarantine = Arc::new(Quarantine::default());
    let thread = std::thread::Builder::new()
        .name(format!("stage-{}", stage.as_str()))
        .spawn(move || {
            supervise(stage.as_str(), &metrics, &stop, &crash, || {
                let result = run_once(
                    make_logic(),
                    &config,
                    &metrics,
                    &instance_id,
                    Supervision {
                        stop: &stop,
                        crash: &crash,
                        ready: &r,
                        quarantine: &quarantine,
                    },
                );
                r.store(false, Ordering::Relaxed);
                metrics
                    .stage_ready
                    .with_label_values(&[stage.as_str()])
                    .set(0);
                result
            })
        })
        .expect("stage thread starts");
    StageHandle { ready, thread }
}

/// Runs `incarnation` until it ends without error, or `stop` or `crash` is
/// set; after an error (or a panic: a bug, or input the logic did not
/// expect, must not leave a dead thread that still reports ready) it starts
/// over with exponential backoff, from what Kafka committed. Shared by the
/// stages and the router (`name` labels the restarts).
pub(super) fn supervise(
    name: &str,
    metrics: &Metrics,
    stop: &AtomicBool,
    crash: &AtomicBool,
    mut incarnation: impl FnMut() -> Result<(), StageError>,
) {
    let mut backoff = Duration::from_millis(200);
    loop {
        let started = Instant::now();
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(&mut incarnation))
            .unwrap_or_else(|panic| Err(StageError::Panicked(panic_message(&*panic))));
        let Err(e) = result else { return };
        metrics.stage_restarts.with_label_values(&[name]).inc();
        tracing::warn!(stage = name, error = %e, retry_in = ?backoff, "stopped; starting over from Kafka");
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

/// Where a stage broadcasts its watermarks (the internal topic it feeds, with
/// its partition count) and how many upstream partitions feed it.
fn watermark_topology(config: &Config, stage: StageName) -> Result<Topology, StageError> {
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
    let (watermark_out, upstream_partitions) = match stage {
        StageName::Assemble => (output(StageName::Repeats)?, None),
        StageName::Repeats => (
            output(StageName::Aggregate)?,
            Some(upstream(StageName::Assemble)?),
        ),
        StageName::Aggregate => (None, Some(upstream(StageName::Repeats)?)),
    };
    Ok(Topology {
        watermark_out,
        upstream_partitions,
    })
}

/// What one incarnation of a stage shares with the thread that restarts it.
struct Supervision<'a> {
    stop: &'a AtomicBool,
    crash: &'a AtomicBool,
    ready: &'a AtomicBool,
    quarantine: &'a Arc<Quarantine>,
}

fn run_once<L: StageLogic>(
    logic: L,
    config: &Arc<Config>,
    metrics: &Arc<Metrics>,
    instance_id: &str,
    supervision: Supervision<'_>,
) -> Result<(), StageError> {
    let Supervision {
        stop,
        crash,
        ready,
        quarantine,
    } = supervision;
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
    let changelog = changelog_topic(config, name);
    let core = Arc::new(Mutex::new(Core {
        runner: StageRunner::new(logic, metrics.clone(), changelog.clone(), writer, topology)
            .with_quarantine(quarantine.clone()),
        config: config.clone(),
        metrics: metrics.clone(),
        stage,
        input_topic: Arc::from(input_topic.as_str()),
        changelog_topic: changelog,
        producer,
        transactional,
        in_transaction: false,
        last_commit: Instant::now(),
        failed: None,
        joined: false,
        out: Vec::new(),
        restoring: None,
        quarantine: quarantine.clone(),
    }));
    let mut cc = consumer_config(config);
    cc.set("group.id", stage_group_id(config, name))
        .set("enable.partition.eof", "true")
        .set("client.id", format!("contact-kpi.{stage}.{instance_id}"));
    let consumer: BaseConsumer<StageContext<L>> = cc.create_with_context(StageContext {
        core: core.clone(),
        stage,
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
        let restoring = core
            .lock()
            .expect("stage core not poisoned")
            .restoring
            .is_some();
        // While restoring, the group consumer is only polled to stay in the
        // group; the restore reads between polls.
        let polled = consumer.poll(if restoring {
            Duration::ZERO
        } else {
            Duration::from_millis(50)
        });
        let mut c = core.lock().expect("stage core not poisoned");
        if let Some(e) = c.failed.take() {
            break Err(e);
        }
        let step = match polled {
            Some(Ok(m)) => c.handle(&m),
            Some(Err(KafkaError::PartitionEOF(p))) => {
                c.runner.reached_end(p);
                Ok(())
            }
            Some(Err(e)) => {
                tracing::debug!(stage, error = %e, "consumer error");
                Ok(())
            }
            None => Ok(()),
        };
        let step = step
            .and_then(|()| c.step_restore(&consumer))
            .and_then(|()| {
                if c.commit_due() {
                    c.commit(&consumer).map_err(StageError::from)
                } else {
                    Ok(())
                }
            });
        let ok = c.ready();
        ready.store(ok, Ordering::Relaxed);
        metrics
            .stage_ready
            .with_label_values(&[stage])
            .set(i64::from(ok));
        if let Err(e) = step {
            c.abort();
            break Err(e);
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
