//! The KPI engine: pure, synchronous, deterministic. Events in, facts and
//! aggregate updates out; no Kafka, no tokio, no wall clock (event time only).
//!
//! The three stages of the architecture are separate types ([`Assembler`],
//! [`RepeatDetector`], [`Aggregator`]) that talk only through [`Fact`]s, so a
//! pipeline can run them in one process (as [`Engine`] does) or split them
//! over Kafka topics keyed by contact, customer hash and agent.

pub mod aggregate;
pub mod alerts;
pub mod contact;
pub mod facts;
pub mod repeat;
pub mod tasks;
pub mod window;

pub use aggregate::{AggKey, AggregateUpdate, Aggregator, Counts};
pub use contact::{customer_hash, Assembler};
pub use facts::{ContactRef, ContactSummary, CustomerHash, Fact, Route, SegmentSummary};
pub use repeat::RepeatDetector;

use crate::config::EngineSettings;
use crate::empathy::Analyzer;
use crate::model::proto::KpiAlert;
use crate::model::{ContactEvent, Timestamp};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use thiserror::Error;

/// Things the engine saw that did not (or could not) change a KPI; exported
/// as metrics by the shell.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineCounters {
    pub events: u64,
    pub duplicates: u64,
    /// Events of a contact that already ended (other than surveys and call-backs).
    pub late_events: u64,
    /// Contacts that timed out (a gap in their events longer than the
    /// channel's idle timeout, or no event for that long) without `contact_ended`.
    pub timed_out_contacts: u64,
    /// Events of a contact that had timed out: dropped.
    pub events_after_timeout: u64,
    /// Detail events (joins, transfers, messages; surveys and call-backs)
    /// past a contact's limits: counted, not kept.
    pub truncated_events: u64,
    /// Surveys/call-backs that have no contact to revise (abandoned, not
    /// scheduled, a second one, or later than `contacts.finished_retention`).
    pub orphan_corrections: u64,
    /// Updates that fell on windows already past retention.
    pub expired_window_updates: u64,
    pub channel_mismatches: u64,
    /// Finished contacts whose language has no lexicon (scored with English).
    pub unsupported_language_contacts: u64,
    pub contacts_finished: u64,
}

#[derive(Debug, Error)]
pub enum SnapshotError {
    #[error("cannot decode engine snapshot: {0}")]
    Decode(#[from] postcard::Error),
    #[error("snapshot version {0} was written by another release (this one reads version {SNAPSHOT_VERSION})")]
    Version(u32),
}

/// Bumped whenever the serialized state changes shape: a checkpoint of
/// another version is refused rather than misread.
const SNAPSHOT_VERSION: u32 = 3;

/// Everything the engine remembers, as one serializable value.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct EngineState {
    pub assembler: Assembler,
    pub repeats: RepeatDetector,
    pub aggregator: Aggregator,
    pub alerts: alerts::AlertDetector,
    pub max_event_ts: Option<Timestamp>,
    pub counters: EngineCounters,
}

/// The three stages in one process.
pub struct Engine {
    settings: EngineSettings,
    analyzer: Arc<Analyzer>,
    state: EngineState,
    pending_alerts: Vec<KpiAlert>,
}

impl Engine {
    pub fn new(settings: EngineSettings, analyzer: Arc<Analyzer>) -> Self {
        Engine {
            settings,
            analyzer,
            state: EngineState::default(),
            pending_alerts: Vec::new(),
        }
    }

    pub fn settings(&self) -> &EngineSettings {
        &self.settings
    }

    pub fn state(&self) -> &EngineState {
        &self.state
    }

    pub fn counters(&self) -> &EngineCounters {
        &self.state.counters
    }

    /// Applies one validated event through all three stages; returns every
    /// fact it produced (the shell turns them into metrics).
    pub fn apply(&mut self, event: ContactEvent) -> Vec<Fact> {
        let st = &mut self.state;
        st.counters.events += 1;
        st.max_event_ts = Some(st.max_event_ts.map_or(event.ts, |m| m.max(event.ts)));
        let mut facts = Vec::new();
        st.assembler.apply(
            &self.settings,
            &self.analyzer,
            event,
            &mut st.counters,
            &mut facts,
        );
        let period = tasks::repeat_period(&self.settings);
        let mut repeats = Vec::new();
        for f in &facts {
            if matches!(f, Fact::ContactFinished(_)) {
                st.counters.contacts_finished += 1;
            }
            st.repeats.apply(period, f, &mut repeats);
        }
        facts.extend(repeats);
        for f in &facts {
            st.aggregator.apply(&self.settings, f, &mut st.counters);
        }
        facts
    }

    /// Moves event time forward to the newest event seen: closes windows,
    /// times out idle contacts, forgets expired history. Right for one
    /// ordered stream; a shell reading several partitions uses
    /// [`Engine::advance_to`] with the slowest active partition's time.
    pub fn advance(&mut self) {
        if let Some(now) = self.state.max_event_ts {
            self.advance_to(now);
        }
    }

    /// Moves event time to `watermark` (never beyond the newest event seen):
    /// no event older than it is expected any more, except late ones.
    pub fn advance_to(&mut self, watermark: Timestamp) {
        let Some(max) = self.state.max_event_ts else {
            return;
        };
        let now = watermark.min(max);
        let st = &mut self.state;
        st.assembler.expire(&self.settings, now, &mut st.counters);
        st.repeats
            .expire(now, tasks::repeat_history_keep(&self.settings));
        let alerts = tasks::close_windows(&self.settings, &mut st.aggregator, &mut st.alerts, now);
        self.pending_alerts.extend(alerts);
    }

    /// KPI-drop alerts raised since the last call.
    pub fn take_alerts(&mut self) -> Vec<KpiAlert> {
        std::mem::take(&mut self.pending_alerts)
    }

    /// Changed aggregates since the last call (coalesced).
    pub fn take_updates(&mut self) -> Vec<AggregateUpdate> {
        self.state.aggregator.take_updates(&self.settings)
    }

    /// Marks every aggregate changed, so the next updates republish all of
    /// them (after a failed delivery).
    pub fn mark_all_dirty(&mut self) {
        self.state.aggregator.mark_all_dirty();
    }

    pub fn snapshot(&self) -> Vec<u8> {
        let mut out = SNAPSHOT_VERSION.to_le_bytes().to_vec();
        out.extend(postcard::to_allocvec(&self.state).expect("engine state serializes"));
        out
    }

    pub fn restore(&mut self, bytes: &[u8]) -> Result<(), SnapshotError> {
        let (version, body) = bytes.split_at(bytes.len().min(4));
        let version =
            u32::from_le_bytes(version.try_into().map_err(|_| SnapshotError::Version(0))?);
        if version != SNAPSHOT_VERSION {
            return Err(SnapshotError::Version(version));
        }
        self.state = postcard::from_bytes(body)?;
        Ok(())
    }
}
