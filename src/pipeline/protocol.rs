//! The stage protocol without Kafka: what one stage does with the records of
//! the partitions it owns, apart from how they are fetched and produced.
//! `stage.rs` feeds it owned records from librdkafka and sends what it
//! returns; the tests feed it from an in-memory log in any interleaving.
//!
//! What lives here, and the rules that keep results a function of the input
//! records alone (never of batching, poll sizes, commit points, partition
//! read speeds, restarts or rebalances):
//!
//! - **Event time per task.** Each input partition owns one task with its own
//!   event time. A stage fed by the platform (assemble) takes the newest
//!   event time of its own partition; a stage fed by an internal topic takes
//!   the lowest watermark of *every* upstream partition, because facts from
//!   all upstream partitions meet in each partition here and a fast one must
//!   not close windows that a slow one still fills. An upstream partition
//!   that has not reported holds event time back: it is never skipped for
//!   being slow or silent (a stopped upstream stalls closing, it does not
//!   change results).
//! - **Idleness only at the source.** An assemble partition that reached its
//!   end and has had no record for [`PARTITION_IDLE_AFTER`] *broadcasts* the
//!   stage's newest event time downstream, so a quiet partition does not keep
//!   everyone's windows open. Its own task keeps its own time: a lull never
//!   times out a contact, and the broadcast only moves closing and eviction,
//!   which the engine's rules make result-neutral (see `kpi/`).
//! - **Watermarks** travel in-band: after its facts, each task writes its
//!   event time to every partition of the topic it feeds (key `~w` +
//!   partition), at commits when it moved and at least every
//!   [`WATERMARK_KEEPALIVE`].
//! - **Commit markers.** Every commit ends, per partition, with a marker in
//!   the changelog (the next input offset) written by this incarnation.
//!   Restore applies only changelog records that a marker of the same writer
//!   followed, and resumes at the marker.
//! - **Source de-duplication.** Internal records carry their source
//!   (`partition:offset:index`); a downstream task drops a source position it
//!   already applied, so a crash between producing and committing (without
//!   transactions) replays nothing twice.

use crate::config::StageName;
use crate::kpi::tasks::{ChangelogError, ChangelogRecord};
use crate::metrics::Metrics;
use crate::model::Timestamp;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A caught-up assemble partition without records for this long broadcasts
/// the stage's newest event time, so an idle partition cannot keep windows
/// open downstream forever.
pub const PARTITION_IDLE_AFTER: Duration = Duration::from_secs(5);

/// An upstream task re-sends an unchanged watermark this often, so a
/// downstream task that restarted learns every upstream's progress again.
pub const WATERMARK_KEEPALIVE: Duration = Duration::from_secs(1);

/// Header naming the input position an internal record was produced from.
pub const SOURCE_HEADER: &str = "ckpi-src";
/// Header naming the incarnation that wrote a changelog record.
pub const WRITER_HEADER: &str = "ckpi-writer";
/// Changelog keys of the runner itself (task keys never start with `~`).
const MARKER_KEY: &[u8] = b"~m";
const DEDUPE_TAG: &[u8] = b"~s";
/// Key prefix of watermark records on internal topics: `~w` + the upstream
/// partition (4 bytes, big-endian); the value is its event time in epoch
/// milliseconds (8 bytes, big-endian).
const WATERMARK_TAG: &[u8] = b"~w";
const MARKER_VERSION: u8 = 1;

/// One consumed record, owned: the Kafka shell copies it out of librdkafka.
#[derive(Debug, Clone)]
pub struct InRecord {
    pub topic: Arc<str>,
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    /// Record timestamp, epoch milliseconds.
    pub timestamp: Option<i64>,
    pub headers: Vec<(String, Option<Vec<u8>>)>,
}

impl InRecord {
    /// The first header named `name` (ASCII case-insensitive).
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .and_then(|(_, v)| v.as_deref())
    }
}

/// One output record of a stage.
#[derive(Debug, Clone, PartialEq)]
pub struct Out {
    pub topic: String,
    pub key: Vec<u8>,
    /// `None`: a tombstone (changelog deletes).
    pub value: Option<Vec<u8>>,
    pub headers: Vec<(String, Option<Vec<u8>>)>,
    pub timestamp: Option<i64>,
    pub partition: Option<i32>,
}

/// What a stage does with a record; the runner does the protocol and the
/// shell the Kafka part.
pub trait StageLogic: Send + 'static {
    type Task: Default + Send;

    fn name(&self) -> StageName;
    /// Transaction batching period.
    fn commit_interval(&self) -> Duration;
    /// Handles one input record of `task`'s partition.
    fn process(&mut self, task: &mut Self::Task, record: &InRecord, out: &mut Vec<Out>);
    /// Dead-letters, by reference, a record in [`Quarantine`] instead of
    /// processing it; `error` is why it was quarantined.
    fn dead_letter_poison(&mut self, record: &InRecord, error: &str, out: &mut Vec<Out>);
    fn stream_time(task: &Self::Task) -> Option<Timestamp>;
    /// Moves `task`'s event time to `now`; the aggregate stage also
    /// publishes what changed here (once per commit, coalesced).
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

/// Where a stage broadcasts its watermarks and how many upstream partitions
/// feed it (`None`: fed by the platform, event time from its own records).
#[derive(Debug, Clone, Default)]
pub struct Topology {
    /// The internal topic this stage feeds and its partition count.
    pub watermark_out: Option<(String, i32)>,
    pub upstream_partitions: Option<i32>,
}

/// Most quarantined records a stage remembers; more than this many poison
/// records means something is wrong beyond single records, and the oldest
/// (lowest offsets, long committed) are forgotten first.
pub const MAX_QUARANTINED: usize = 10_000;

/// Input records that made a stage fail in a way only they cause: the logic
/// panicked on them, or an output produced from them was refused by the
/// producer or the broker for what it is (too large, invalid). Crash-only
/// recovery would replay such a record and fail again forever, holding its
/// whole partition; instead the stage starts over once, and on the replay
/// the record is dead-lettered by reference (reason `poison`) and skipped.
/// If even that dead letter is refused, the record is skipped and counted
/// (`contact_kpi_dead_letter_failures_total`), so nothing can stop a
/// partition. Errors of the broker or the network never quarantine a record:
/// they are waited out.
///
/// Shared by a stage's incarnations (it outlives the restart it causes);
/// keyed by input partition and offset.
#[derive(Debug, Default)]
pub struct Quarantine {
    entries: Mutex<BTreeMap<(i32, i64), Poison>>,
}

/// Why a record is in [`Quarantine`].
#[derive(Debug, Clone, PartialEq)]
pub struct Poison {
    pub error: String,
    /// Its dead letter was refused too: skip it without one.
    pub dead_letter_failed: bool,
}

impl Quarantine {
    /// Quarantines the record at `partition`/`offset`. A record already
    /// there failed again, which can only be its dead letter: it is then
    /// skipped without one.
    pub fn add(&self, partition: i32, offset: i64, error: &str) {
        let mut entries = self.entries.lock().expect("quarantine not poisoned");
        entries
            .entry((partition, offset))
            .and_modify(|p| p.dead_letter_failed = true)
            .or_insert_with(|| Poison {
                error: error.to_string(),
                dead_letter_failed: false,
            });
        while entries.len() > MAX_QUARANTINED {
            entries.pop_first();
        }
    }

    pub fn get(&self, partition: i32, offset: i64) -> Option<Poison> {
        let entries = self.entries.lock().expect("quarantine not poisoned");
        entries.get(&(partition, offset)).cloned()
    }

    pub fn len(&self) -> usize {
        self.entries.lock().expect("quarantine not poisoned").len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Quarantines the input record an output came from, if it names one
    /// (outputs of commits, such as windows and changelogs, have none).
    pub fn add_source_of(&self, headers: &[(String, Option<Vec<u8>>)], error: &str) -> bool {
        let source = headers
            .iter()
            .find(|(k, _)| k == SOURCE_HEADER)
            .and_then(|(_, v)| v.as_deref())
            .and_then(parse_source);
        match source {
            Some((partition, offset, _)) => {
                self.add(partition, offset, error);
                true
            }
            None => false,
        }
    }
}

/// The logic panicked on a record; it is quarantined and the stage must
/// start over from its last commit (the task may be half changed).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("processing partition {partition} offset {offset} panicked: {message}")]
pub struct Poisoned {
    pub partition: i32,
    pub offset: i64,
    pub message: String,
}

/// The message of a caught panic.
pub fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
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
    applied_changed: BTreeSet<i32>,
    /// Per upstream partition, its newest watermark (epoch ms).
    upstream_watermarks: BTreeMap<i32, i64>,
    /// The watermark this task last broadcast downstream, and when.
    broadcast: Option<(i64, Instant)>,
}

impl<T: Default> Slot<T> {
    fn new(now: Instant) -> Self {
        Slot {
            task: T::default(),
            next_offset: None,
            committed_offset: None,
            last_record: now,
            at_end: false,
            applied: BTreeMap::new(),
            applied_changed: BTreeSet::new(),
            upstream_watermarks: BTreeMap::new(),
            broadcast: None,
        }
    }

    /// Event time from the upstream watermarks: the lowest of all upstream
    /// partitions, none until every one of them has reported.
    fn upstream_time(&self, upstream_partitions: i32) -> Option<Timestamp> {
        if self.upstream_watermarks.len() < upstream_partitions as usize {
            return None;
        }
        self.upstream_watermarks
            .values()
            .min()
            .and_then(|&ms| chrono::DateTime::from_timestamp_millis(ms))
    }
}

fn dedupe_key(upstream: i32) -> Vec<u8> {
    let mut k = DEDUPE_TAG.to_vec();
    k.extend_from_slice(&upstream.to_be_bytes());
    k
}

/// `partition:offset:index` of the input record an output came from.
fn parse_source(v: &[u8]) -> Option<(i32, i64, u32)> {
    let s = std::str::from_utf8(v).ok()?;
    let mut it = s.split(':');
    let source = (
        it.next()?.parse().ok()?,
        it.next()?.parse().ok()?,
        it.next()?.parse().ok()?,
    );
    it.next().is_none().then_some(source)
}

/// What one commit must make durable: the outputs first, then the
/// changelog (with its markers), then the consumed offsets.
#[derive(Debug, Default)]
pub struct CommitPlan {
    pub changelog: Vec<Out>,
    /// Per partition, the next offset to consume.
    pub offsets: Vec<(i32, i64)>,
}

/// One stage's tasks and the protocol around them.
pub struct StageRunner<L: StageLogic> {
    pub logic: L,
    metrics: Arc<Metrics>,
    stage: &'static str,
    changelog_topic: String,
    /// This incarnation, written on changelog records.
    writer: String,
    topology: Topology,
    tasks: BTreeMap<i32, Slot<L::Task>>,
    since_commit: usize,
    quarantine: Arc<Quarantine>,
}

impl<L: StageLogic> StageRunner<L> {
    pub fn new(
        logic: L,
        metrics: Arc<Metrics>,
        changelog_topic: String,
        writer: String,
        topology: Topology,
    ) -> Self {
        let stage = logic.name().as_str();
        StageRunner {
            logic,
            metrics,
            stage,
            changelog_topic,
            writer,
            topology,
            tasks: BTreeMap::new(),
            since_commit: 0,
            quarantine: Arc::default(),
        }
    }

    /// Uses `quarantine`, shared with the stage's other incarnations.
    pub fn with_quarantine(mut self, quarantine: Arc<Quarantine>) -> Self {
        self.quarantine = quarantine;
        self
    }

    pub fn stage(&self) -> &'static str {
        self.stage
    }

    pub fn owns(&self, partition: i32) -> bool {
        self.tasks.contains_key(&partition)
    }

    pub fn partitions(&self) -> Vec<i32> {
        self.tasks.keys().copied().collect()
    }

    /// Where a restored partition resumes (`None`: at the beginning).
    pub fn start_offset(&self, partition: i32) -> Option<i64> {
        self.tasks.get(&partition).and_then(|s| s.next_offset)
    }

    /// Records handled since the last commit.
    pub fn uncommitted(&self) -> usize {
        self.since_commit
    }

    /// Forgets a partition (revoked): its uncommitted work is the next
    /// owner's to redo.
    pub fn remove(&mut self, partition: i32) {
        self.tasks.remove(&partition);
    }

    /// The consumer reached the end of `partition`.
    pub fn reached_end(&mut self, partition: i32) {
        if let Some(slot) = self.tasks.get_mut(&partition) {
            slot.at_end = true;
        }
    }

    /// Handles one input record; outputs go to `out` (each tagged with its
    /// source position). A quarantined record is dead-lettered instead; a
    /// record the logic panics on is quarantined and returned as an error,
    /// after which the caller must start over from the last commit.
    pub fn handle(
        &mut self,
        m: &InRecord,
        now: Instant,
        out: &mut Vec<Out>,
    ) -> Result<(), Poisoned> {
        let (partition, offset) = (m.partition, m.offset);
        let Some(slot) = self.tasks.get_mut(&partition) else {
            // Not (or not yet) ours: a rebalance or restore settles it.
            return Ok(());
        };
        if slot.next_offset.is_some_and(|next| offset < next) {
            return Ok(());
        }
        slot.next_offset = Some(offset + 1);
        slot.last_record = now;
        slot.at_end = false;
        self.since_commit += 1;
        self.metrics
            .records_consumed
            .with_label_values(&[&m.topic])
            .inc();
        if self.topology.upstream_partitions.is_some() {
            // Only internal topics carry watermarks and source positions: an
            // input record that happens to look like one is ordinary input.
            if let Some(rest) = m.key.as_deref().and_then(|k| k.strip_prefix(WATERMARK_TAG)) {
                if let (Ok(up), Some(Ok(ms))) = (
                    <[u8; 4]>::try_from(rest),
                    m.value.as_deref().map(<[u8; 8]>::try_from),
                ) {
                    let (up, ms) = (i32::from_be_bytes(up), i64::from_be_bytes(ms));
                    let entry = slot.upstream_watermarks.entry(up).or_insert(ms);
                    *entry = (*entry).max(ms);
                }
                return Ok(());
            }
            if let Some((up, up_offset, index)) = m.header(SOURCE_HEADER).and_then(parse_source) {
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
                    return Ok(());
                }
                slot.applied.insert(up, (up_offset, index));
                slot.applied_changed.insert(up);
            }
        }
        let first = out.len();
        if let Some(poison) = self.quarantine.get(partition, offset) {
            self.metrics
                .poison_records
                .with_label_values(&[self.stage])
                .inc();
            if poison.dead_letter_failed {
                self.metrics
                    .dead_letter_failures
                    .with_label_values(&[self.stage])
                    .inc();
                tracing::error!(
                    stage = self.stage,
                    topic = &*m.topic,
                    partition,
                    offset,
                    error = %poison.error,
                    "poison record skipped: even its dead letter was refused"
                );
            } else {
                self.logic.dead_letter_poison(m, &poison.error, out);
            }
        } else {
            let logic = &mut self.logic;
            let task = &mut slot.task;
            let processed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                logic.process(task, m, out)
            }));
            if let Err(panic) = processed {
                out.truncate(first);
                let message = panic_message(&*panic);
                self.quarantine
                    .add(partition, offset, &format!("the stage panicked: {message}"));
                return Err(Poisoned {
                    partition,
                    offset,
                    message,
                });
            }
        }
        for (i, o) in out[first..].iter_mut().enumerate() {
            let source = format!("{partition}:{offset}:{i}");
            o.headers
                .push((SOURCE_HEADER.to_string(), Some(source.into_bytes())));
        }
        Ok(())
    }

    /// Advances every task's event time (outputs and watermarks to `out`)
    /// and collects the changelog, markers and offsets of this commit. Call
    /// [`StageRunner::committed`] once they are durable.
    pub fn prepare_commit(&mut self, now: Instant, out: &mut Vec<Out>) -> CommitPlan {
        self.since_commit = 0;
        let newest = self
            .tasks
            .values()
            .filter_map(|s| L::stream_time(&s.task))
            .max();
        let mut plan = CommitPlan::default();
        for (&partition, slot) in self.tasks.iter_mut() {
            let (own, broadcast) = match self.topology.upstream_partitions {
                Some(n) => {
                    let t = slot.upstream_time(n);
                    (t, t)
                }
                None => {
                    let own = L::stream_time(&slot.task);
                    // Only a caught-up partition reports the others' time:
                    // one starved during a backlog must hold windows open
                    // downstream until its own records arrive.
                    let idle = slot.at_end
                        && now.saturating_duration_since(slot.last_record) >= PARTITION_IDLE_AFTER;
                    (own, if idle { own.max(newest) } else { own })
                }
            };
            self.logic.advance(&mut slot.task, own, out);
            if let (Some((topic, partitions)), Some(at)) = (&self.topology.watermark_out, broadcast)
            {
                let ms = at.timestamp_millis();
                let due = slot.broadcast.is_none_or(|(last, sent)| {
                    ms > last || now.saturating_duration_since(sent) >= WATERMARK_KEEPALIVE
                });
                if due {
                    slot.broadcast = Some((ms, now));
                    let mut key = WATERMARK_TAG.to_vec();
                    key.extend_from_slice(&partition.to_be_bytes());
                    // After this task's facts in each partition (order holds
                    // per partition), so a downstream task has every fact of
                    // this upstream up to `at` before it learns `at`.
                    for d in 0..*partitions {
                        out.push(Out {
                            topic: topic.clone(),
                            key: key.clone(),
                            value: Some(ms.to_be_bytes().to_vec()),
                            headers: Vec::new(),
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
                plan.changelog.push(Out {
                    topic: self.changelog_topic.clone(),
                    key,
                    value,
                    headers: vec![(
                        WRITER_HEADER.to_string(),
                        Some(self.writer.as_bytes().to_vec()),
                    )],
                    timestamp: None,
                    partition: Some(partition),
                });
            }
        }
        for (&p, slot) in &self.tasks {
            if let Some(next) = slot.next_offset {
                if slot.committed_offset != Some(next) {
                    plan.offsets.push((p, next));
                }
            }
        }
        plan
    }

    /// The last prepared commit is durable.
    pub fn committed(&mut self) {
        for slot in self.tasks.values_mut() {
            slot.committed_offset = slot.next_offset;
        }
    }

    /// Exports gauges and counters.
    pub fn report(&mut self) {
        let mut tasks = self.tasks.values().map(|s| &s.task);
        self.logic.report(&mut tasks, &self.metrics);
    }

    /// Installs partitions rebuilt by a [`Restorer`].
    pub fn install(&mut self, restored: Restored<L::Task>) {
        for (p, slot) in restored.slots {
            self.tasks.insert(p, slot);
        }
    }
}

/// Records of one partition's changelog since its last marker: writer, key, value.
type BufferedRecord = (Vec<u8>, Vec<u8>, Option<Vec<u8>>);

/// Rebuilds tasks from their changelog partitions, record by record: only
/// what a marker of the same writer confirmed, up to the last marker, whose
/// offset is where processing resumes.
pub struct Restorer<L: StageLogic> {
    pending: BTreeMap<i32, (Slot<L::Task>, Vec<BufferedRecord>)>,
    pub records: u64,
    pub bytes: u64,
}

/// Tasks a [`Restorer`] finished, ready for [`StageRunner::install`].
pub struct Restored<T> {
    slots: Vec<(i32, Slot<T>)>,
}

impl<T> Restored<T> {
    pub fn partitions(&self) -> Vec<i32> {
        self.slots.iter().map(|(p, _)| *p).collect()
    }
}

impl<L: StageLogic> Restorer<L> {
    pub fn new(partitions: &[i32], now: Instant) -> Self {
        Restorer {
            pending: partitions
                .iter()
                .map(|&p| (p, (Slot::new(now), Vec::new())))
                .collect(),
            records: 0,
            bytes: 0,
        }
    }

    pub fn partitions(&self) -> Vec<i32> {
        self.pending.keys().copied().collect()
    }

    /// Stops restoring `partition` (revoked meanwhile).
    pub fn forget(&mut self, partition: i32) {
        self.pending.remove(&partition);
    }

    /// One changelog record of `partition`, in log order.
    pub fn push(
        &mut self,
        partition: i32,
        key: &[u8],
        value: Option<&[u8]>,
        writer: &[u8],
    ) -> Result<(), ChangelogError> {
        let Some((slot, buffer)) = self.pending.get_mut(&partition) else {
            return Ok(());
        };
        self.records += 1;
        self.bytes += (key.len() + value.map_or(0, <[u8]>::len)) as u64;
        if key != MARKER_KEY {
            buffer.push((writer.to_vec(), key.to_vec(), value.map(<[u8]>::to_vec)));
            return Ok(());
        }
        let next_offset: Option<i64> = match value.and_then(<[u8]>::split_first) {
            Some((&MARKER_VERSION, body)) => postcard::from_bytes(body)?,
            other => return Err(ChangelogError::Version(other.map_or(0, |(v, _)| *v))),
        };
        // Records another incarnation left without a marker belong to a
        // commit that never finished: its input is processed again.
        for (w, k, v) in std::mem::take(buffer) {
            if w != writer {
                continue;
            }
            if let Some(up) = k.strip_prefix(DEDUPE_TAG) {
                let up = i32::from_be_bytes(up.try_into().unwrap_or_default());
                let pos = postcard::from_bytes(v.as_deref().unwrap_or_default())?;
                slot.applied.insert(up, pos);
            } else {
                L::restore(&mut slot.task, &k, v.as_deref())?;
            }
        }
        slot.next_offset = next_offset;
        slot.committed_offset = next_offset;
        Ok(())
    }

    /// Every partition read to its end: the tasks as committed.
    pub fn finish(self, now: Instant) -> Restored<L::Task> {
        let slots = self
            .pending
            .into_iter()
            .map(|(p, (mut slot, _))| {
                // The restore calls are not changes: nothing is written back.
                let _ = L::take_changelog(&mut slot.task);
                slot.last_record = now;
                (p, slot)
            })
            .collect();
        Restored { slots }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counts records; panics on a record whose value is `boom`.
    struct Fragile;

    impl StageLogic for Fragile {
        type Task = u64;
        fn name(&self) -> StageName {
            StageName::Assemble
        }
        fn commit_interval(&self) -> Duration {
            Duration::from_secs(1)
        }
        fn process(&mut self, task: &mut u64, record: &InRecord, out: &mut Vec<Out>) {
            out.push(Out {
                topic: "facts".into(),
                key: Vec::new(),
                value: record.value.clone(),
                headers: Vec::new(),
                timestamp: None,
                partition: None,
            });
            assert_ne!(record.value.as_deref(), Some(b"boom".as_slice()), "boom");
            *task += 1;
        }
        fn dead_letter_poison(&mut self, record: &InRecord, error: &str, out: &mut Vec<Out>) {
            out.push(Out {
                topic: "dlq".into(),
                key: record.offset.to_be_bytes().to_vec(),
                value: None,
                headers: vec![("error".into(), Some(error.as_bytes().to_vec()))],
                timestamp: None,
                partition: None,
            });
        }
        fn stream_time(_: &u64) -> Option<Timestamp> {
            None
        }
        fn advance(&mut self, _: &mut u64, _: Option<Timestamp>, _: &mut Vec<Out>) {}
        fn take_changelog(_: &mut u64) -> Vec<ChangelogRecord> {
            Vec::new()
        }
        fn restore(_: &mut u64, _: &[u8], _: Option<&[u8]>) -> Result<(), ChangelogError> {
            Ok(())
        }
        fn report(&mut self, _: &mut dyn Iterator<Item = &u64>, _: &Metrics) {}
    }

    fn record(offset: i64, value: &[u8]) -> InRecord {
        InRecord {
            topic: Arc::from("in"),
            partition: 0,
            offset,
            key: None,
            value: Some(value.to_vec()),
            timestamp: None,
            headers: Vec::new(),
        }
    }

    fn runner(quarantine: &Arc<Quarantine>) -> StageRunner<Fragile> {
        let mut runner = StageRunner::new(
            Fragile,
            Arc::new(Metrics::new(false, 0)),
            "changelog".into(),
            "w".into(),
            Topology::default(),
        )
        .with_quarantine(quarantine.clone());
        let now = Instant::now();
        runner.install(Restorer::<Fragile>::new(&[0], now).finish(now));
        runner
    }

    #[test]
    fn a_record_that_panics_is_quarantined_and_dead_lettered_on_the_replay() {
        let quarantine = Arc::new(Quarantine::default());
        let input = [record(0, b"a"), record(1, b"boom"), record(2, b"b")];
        let now = Instant::now();
        let mut first = runner(&quarantine);
        let mut out = Vec::new();
        first.handle(&input[0], now, &mut out).unwrap();
        let err = first.handle(&input[1], now, &mut out).unwrap_err();
        assert_eq!((err.partition, err.offset), (0, 1));
        assert!(err.message.contains("boom"), "{}", err.message);
        assert_eq!(
            out.len(),
            1,
            "the failed record's partial output is dropped"
        );
        assert_eq!(quarantine.len(), 1);

        // The stage starts over from its last commit (nothing committed).
        let mut replay = runner(&quarantine);
        let mut out = Vec::new();
        for r in &input {
            replay.handle(r, now, &mut out).unwrap();
        }
        let topics: Vec<&str> = out.iter().map(|o| o.topic.as_str()).collect();
        assert_eq!(topics, ["facts", "dlq", "facts"]);
        assert_eq!(out[1].key, 1i64.to_be_bytes());
        let error = out[1].headers[0].1.as_deref().unwrap();
        let error = String::from_utf8_lossy(error);
        assert!(
            error.starts_with("the stage panicked") && error.contains("boom"),
            "{error}"
        );
        assert_eq!(replay.tasks[&0].task, 2, "both good records counted once");
        assert_eq!(replay.uncommitted(), 3, "the poison record is consumed");
    }

    #[test]
    fn a_refused_dead_letter_leaves_the_record_skipped_without_one() {
        let quarantine = Arc::new(Quarantine::default());
        let source = vec![(SOURCE_HEADER.to_string(), Some(b"0:1:0".to_vec()))];
        assert!(quarantine.add_source_of(&source, "too large"));
        assert!(!quarantine.add_source_of(&[], "a window has no source"));
        assert!(!quarantine.get(0, 1).unwrap().dead_letter_failed);
        // Its dead letter (which carries the same source) was refused too.
        assert!(quarantine.add_source_of(&source, "dead letter too large"));
        let poison = quarantine.get(0, 1).unwrap();
        assert!(poison.dead_letter_failed);
        assert_eq!(poison.error, "too large");

        let mut replay = runner(&quarantine);
        let mut out = Vec::new();
        let now = Instant::now();
        for r in [record(0, b"a"), record(1, b"big"), record(2, b"b")] {
            replay.handle(&r, now, &mut out).unwrap();
        }
        assert_eq!(out.len(), 2, "no output at all for the skipped record");
        assert!(out.iter().all(|o| o.topic == "facts"));
        assert_eq!(replay.uncommitted(), 3);
    }

    #[test]
    fn the_quarantine_is_bounded() {
        let quarantine = Quarantine::default();
        for offset in 0..(MAX_QUARANTINED as i64 + 5) {
            quarantine.add(0, offset, "x");
        }
        assert_eq!(quarantine.len(), MAX_QUARANTINED);
        assert!(quarantine.get(0, 0).is_none(), "lowest offsets go first");
        assert!(quarantine.get(0, MAX_QUARANTINED as i64 + 4).is_some());
    }

    #[test]
    fn source_positions_parse_strictly() {
        assert_eq!(parse_source(b"3:17:2"), Some((3, 17, 2)));
        assert_eq!(parse_source(b"3:17"), None);
        assert_eq!(parse_source(b"3:17:2:9"), None);
        assert_eq!(parse_source(b"x:1:2"), None);
    }
}
