//! The three stages cut into per-partition tasks, as the Kafka pipeline runs
//! them: each input partition of a stage owns one task, its state, its event
//! time and its changelog. A task is still pure: records in, facts or
//! aggregates out, plus the state it changed as key/value changelog records
//! (a `None` value is a tombstone), so a task restored from its changelog
//! continues exactly where the committed one stopped.

use super::aggregate::{AggKey, AggregatorEntry};
use super::alerts::{self, AlertDetector, ClosedWindow};
use super::contact::ContactEntry;
use super::facts::{CustomerHash, Fact, Route};
use super::{aggregate, Aggregator, Assembler, EngineCounters, RepeatDetector};
use crate::config::EngineSettings;
use crate::empathy::Analyzer;
use crate::model::proto::KpiAlert;
use crate::model::{ContactEvent, Timestamp};
use serde::de::DeserializeOwned;
use serde::Serialize;
use thiserror::Error;

/// First byte of every changelog value: a changelog of another format is
/// refused rather than misread.
pub const CHANGELOG_VERSION: u8 = 1;

/// One changelog record: key and value (`None`: the key is gone).
pub type ChangelogRecord = (Vec<u8>, Option<Vec<u8>>);

#[derive(Debug, Error)]
pub enum ChangelogError {
    #[error("changelog record has format version {0}; this release reads version {CHANGELOG_VERSION} (use a new topics.internal_prefix to rebuild)")]
    Version(u8),
    #[error("changelog record key {0:?} is not one of this stage's")]
    UnknownKey(Vec<u8>),
    #[error("cannot decode changelog record: {0}")]
    Decode(#[from] postcard::Error),
}

fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    let mut out = vec![CHANGELOG_VERSION];
    out.extend(postcard::to_allocvec(value).expect("state serializes"));
    out
}

fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ChangelogError> {
    match bytes.split_first() {
        Some((&CHANGELOG_VERSION, body)) => Ok(postcard::from_bytes(body)?),
        Some((&v, _)) => Err(ChangelogError::Version(v)),
        None => Err(ChangelogError::Version(0)),
    }
}

fn key(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(body.len() + 1);
    k.push(tag);
    k.extend_from_slice(body);
    k
}

fn value_of<T: Serialize>(v: Option<&T>) -> Option<Vec<u8>> {
    v.map(encode)
}

fn optional<T: DeserializeOwned>(value: Option<&[u8]>) -> Result<Option<T>, ChangelogError> {
    value.map(decode).transpose()
}

const TAG_TIME: u8 = b't';

/// Event time of one partition: the newest event (or fact) time it delivered.
#[derive(Debug, Clone, Default)]
struct StreamTime {
    newest: Option<Timestamp>,
    changed: bool,
}

impl StreamTime {
    fn observe(&mut self, ts: Timestamp) {
        if self.newest.is_none_or(|n| ts > n) {
            self.newest = Some(ts);
            self.changed = true;
        }
    }

    fn take_changelog(&mut self, out: &mut Vec<ChangelogRecord>) {
        if std::mem::take(&mut self.changed) {
            out.push((vec![TAG_TIME], value_of(self.newest.as_ref())));
        }
    }

    fn restore(&mut self, value: Option<&[u8]>) -> Result<(), ChangelogError> {
        self.newest = optional(value)?;
        Ok(())
    }
}

/// How long customer history is kept: the repeat period plus the allowed lateness.
pub fn repeat_history_keep(settings: &EngineSettings) -> chrono::Duration {
    let lateness = chrono::Duration::from_std(settings.allowed_lateness).unwrap_or_default();
    chrono::Duration::from_std(settings.repeat_period).unwrap_or(chrono::Duration::MAX) + lateness
}

pub fn repeat_period(settings: &EngineSettings) -> chrono::Duration {
    chrono::Duration::from_std(settings.repeat_period).unwrap_or(chrono::Duration::MAX)
}

/// Closes the windows event time `now` passed (minus the allowed lateness)
/// and judges each closed one for KPI drops.
pub fn close_windows(
    settings: &EngineSettings,
    aggregator: &mut Aggregator,
    detector: &mut AlertDetector,
    now: Timestamp,
) -> Vec<KpiAlert> {
    let lateness = chrono::Duration::from_std(settings.allowed_lateness).unwrap_or_default();
    let closed: Vec<AggKey> = aggregator.advance(settings, now - lateness);
    let mut alerts = Vec::new();
    for key in closed {
        let Some(agg) = aggregator.get(&key) else {
            continue;
        };
        let window = ClosedWindow {
            key: &key,
            window_name: &settings.windows[key.window].name,
            window_start: aggregate::rfc3339_seconds(key.start_ms),
            counts: &agg.counts,
        };
        alerts.extend(detector.observe(&settings.alerts, &window));
    }
    alerts
}

/// Stage 1 for one partition of the input topic (keyed by contact).
#[derive(Debug)]
pub struct AssembleTask {
    assembler: Assembler,
    time: StreamTime,
}

impl Default for AssembleTask {
    fn default() -> Self {
        let mut assembler = Assembler::default();
        assembler.track_changes();
        AssembleTask {
            assembler,
            time: StreamTime::default(),
        }
    }
}

const TAG_CONTACT: u8 = b'c';

impl AssembleTask {
    pub fn apply(
        &mut self,
        settings: &EngineSettings,
        analyzer: &Analyzer,
        event: ContactEvent,
        counters: &mut EngineCounters,
    ) -> Vec<Fact> {
        counters.events += 1;
        self.time.observe(event.ts);
        let mut facts = Vec::new();
        self.assembler
            .apply(settings, analyzer, event, counters, &mut facts);
        counters.contacts_finished += facts
            .iter()
            .filter(|f| matches!(f, Fact::ContactFinished(_)))
            .count() as u64;
        facts
    }

    pub fn stream_time(&self) -> Option<Timestamp> {
        self.time.newest
    }

    /// Times out idle contacts and forgets finished ones past retention.
    pub fn advance(
        &mut self,
        settings: &EngineSettings,
        now: Timestamp,
        counters: &mut EngineCounters,
    ) {
        self.assembler.expire(settings, now, counters);
    }

    pub fn assembler(&self) -> &Assembler {
        &self.assembler
    }

    pub fn take_changelog(&mut self) -> Vec<ChangelogRecord> {
        let mut out = Vec::new();
        self.time.take_changelog(&mut out);
        for (id, entry) in self.assembler.take_changelog() {
            out.push((key(TAG_CONTACT, id.as_bytes()), value_of(entry.as_ref())));
        }
        out
    }

    pub fn restore(&mut self, k: &[u8], value: Option<&[u8]>) -> Result<(), ChangelogError> {
        match k.split_first() {
            Some((&TAG_TIME, [])) => self.time.restore(value),
            Some((&TAG_CONTACT, id)) => {
                let entry: Option<ContactEntry> = optional(value)?;
                let id = String::from_utf8_lossy(id).into_owned();
                self.assembler.restore_contact(id, entry);
                Ok(())
            }
            _ => Err(ChangelogError::UnknownKey(k.to_vec())),
        }
    }
}

/// Stage 2 for one partition of the contact facts (keyed by customer hash).
#[derive(Debug)]
pub struct RepeatTask {
    repeats: RepeatDetector,
    time: StreamTime,
}

impl Default for RepeatTask {
    fn default() -> Self {
        let mut repeats = RepeatDetector::default();
        repeats.track_changes();
        RepeatTask {
            repeats,
            time: StreamTime::default(),
        }
    }
}

const TAG_CUSTOMER: u8 = b'u';

impl RepeatTask {
    /// Observes a fact delivered at event time `ts`; returns it with the
    /// `Repeated` facts it implies.
    pub fn apply(&mut self, settings: &EngineSettings, ts: Timestamp, fact: Fact) -> Vec<Fact> {
        self.time.observe(ts);
        let mut out = Vec::new();
        self.repeats.apply(repeat_period(settings), &fact, &mut out);
        out.insert(0, fact);
        out
    }

    pub fn stream_time(&self) -> Option<Timestamp> {
        self.time.newest
    }

    pub fn advance(&mut self, settings: &EngineSettings, now: Timestamp) {
        self.repeats.expire(now, repeat_history_keep(settings));
    }

    pub fn customers(&self) -> usize {
        self.repeats.customers()
    }

    /// History entries forgotten because a customer had too many.
    pub fn truncated(&self) -> u64 {
        self.repeats.truncated
    }

    pub fn take_changelog(&mut self) -> Vec<ChangelogRecord> {
        let mut out = Vec::new();
        self.time.take_changelog(&mut out);
        for (customer, history) in self.repeats.take_changelog() {
            out.push((
                key(TAG_CUSTOMER, customer.0.as_bytes()),
                value_of(history.as_ref()),
            ));
        }
        out
    }

    pub fn restore(&mut self, k: &[u8], value: Option<&[u8]>) -> Result<(), ChangelogError> {
        match k.split_first() {
            Some((&TAG_TIME, [])) => self.time.restore(value),
            Some((&TAG_CUSTOMER, customer)) => {
                let customer = CustomerHash(String::from_utf8_lossy(customer).into_owned());
                self.repeats.restore_customer(customer, optional(value)?);
                Ok(())
            }
            _ => Err(ChangelogError::UnknownKey(k.to_vec())),
        }
    }
}

/// Stage 3 for one partition of the routed facts (keyed by agent, or the
/// one queue key).
#[derive(Debug)]
pub struct AggregateTask {
    aggregator: Aggregator,
    detector: AlertDetector,
    time: StreamTime,
    alerts: Vec<KpiAlert>,
}

impl Default for AggregateTask {
    fn default() -> Self {
        let (mut aggregator, mut detector) = (Aggregator::default(), AlertDetector::default());
        aggregator.track_changes();
        detector.track_changes();
        AggregateTask {
            aggregator,
            detector,
            time: StreamTime::default(),
            alerts: Vec::new(),
        }
    }
}

const TAG_WATERMARK: u8 = b'm';
const TAG_WINDOW: u8 = b'w';
const TAG_DAY: u8 = b'd';
const TAG_SERIES: u8 = b's';

impl AggregateTask {
    pub fn apply(
        &mut self,
        settings: &EngineSettings,
        ts: Timestamp,
        route: Route,
        fact: &Fact,
        counters: &mut EngineCounters,
    ) {
        self.time.observe(ts);
        self.aggregator
            .apply_routed(settings, route, fact, counters);
    }

    pub fn stream_time(&self) -> Option<Timestamp> {
        self.time.newest
    }

    /// Closes windows up to event time `now` (minus the allowed lateness).
    pub fn advance(&mut self, settings: &EngineSettings, now: Timestamp) {
        let alerts = close_windows(settings, &mut self.aggregator, &mut self.detector, now);
        self.alerts.extend(alerts);
    }

    /// Changed aggregates (coalesced, revisions bumped) and raised alerts.
    pub fn take_output(
        &mut self,
        settings: &EngineSettings,
    ) -> (Vec<aggregate::AggregateUpdate>, Vec<KpiAlert>) {
        (
            self.aggregator.take_updates(settings),
            std::mem::take(&mut self.alerts),
        )
    }

    pub fn aggregator(&self) -> &Aggregator {
        &self.aggregator
    }

    pub fn take_changelog(&mut self) -> Vec<ChangelogRecord> {
        let mut out = Vec::new();
        self.time.take_changelog(&mut out);
        for entry in self.aggregator.take_changelog() {
            out.push(match entry {
                AggregatorEntry::Watermark(w) => (vec![TAG_WATERMARK], value_of(w.as_ref())),
                AggregatorEntry::Window(k, v) => (
                    key(
                        TAG_WINDOW,
                        &postcard::to_allocvec(&k).expect("key serializes"),
                    ),
                    value_of(v.as_ref()),
                ),
                AggregatorEntry::AgentDay(k, v) => (
                    key(TAG_DAY, &postcard::to_allocvec(&k).expect("key serializes")),
                    value_of(v.as_ref()),
                ),
            });
        }
        for (k, v) in self.detector.take_changelog() {
            out.push((
                key(
                    TAG_SERIES,
                    &postcard::to_allocvec(&k).expect("key serializes"),
                ),
                value_of(v.as_ref()),
            ));
        }
        out
    }

    pub fn restore(&mut self, k: &[u8], value: Option<&[u8]>) -> Result<(), ChangelogError> {
        match k.split_first() {
            Some((&TAG_TIME, [])) => self.time.restore(value),
            Some((&TAG_WATERMARK, [])) => {
                let w: Option<i64> = optional(value)?;
                self.aggregator.restore_entry(AggregatorEntry::Watermark(w));
                Ok(())
            }
            Some((&TAG_WINDOW, body)) => {
                let k = postcard::from_bytes(body)?;
                self.aggregator
                    .restore_entry(AggregatorEntry::Window(k, optional(value)?));
                Ok(())
            }
            Some((&TAG_DAY, body)) => {
                let k = postcard::from_bytes(body)?;
                self.aggregator
                    .restore_entry(AggregatorEntry::AgentDay(k, optional(value)?));
                Ok(())
            }
            Some((&TAG_SERIES, body)) => {
                let k: alerts::SeriesKey = postcard::from_bytes(body)?;
                self.detector.restore_series(k, optional(value)?);
                Ok(())
            }
            _ => Err(ChangelogError::UnknownKey(k.to_vec())),
        }
    }
}
