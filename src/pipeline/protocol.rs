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
use std::sync::Arc;
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
        }
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
    /// source position).
    pub fn handle(&mut self, m: &InRecord, now: Instant, out: &mut Vec<Out>) {
        let (partition, offset) = (m.partition, m.offset);
        let Some(slot) = self.tasks.get_mut(&partition) else {
            // Not (or not yet) ours: a rebalance or restore settles it.
            return;
        };
        if slot.next_offset.is_some_and(|next| offset < next) {
            return;
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
                return;
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
                    return;
                }
                slot.applied.insert(up, (up_offset, index));
                slot.applied_changed.insert(up);
            }
        }
        let first = out.len();
        self.logic.process(&mut slot.task, m, out);
        for (i, o) in out[first..].iter_mut().enumerate() {
            let source = format!("{partition}:{offset}:{i}");
            o.headers
                .push((SOURCE_HEADER.to_string(), Some(source.into_bytes())));
        }
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

    #[test]
    fn source_positions_parse_strictly() {
        assert_eq!(parse_source(b"3:17:2"), Some((3, 17, 2)));
        assert_eq!(parse_source(b"3:17"), None);
        assert_eq!(parse_source(b"3:17:2:9"), None);
        assert_eq!(parse_source(b"x:1:2"), None);
    }
}
