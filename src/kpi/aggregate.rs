//! Stage 3, windows: folds facts into tumbling-window aggregates per
//! (agent, channel, window) and (channel, window), tracks each segment's
//! ordinal in its agent's local day (fatigue buckets), closes windows by the
//! event-time watermark and hands out changed aggregates for publishing.
//!
//! Every count is additive, so the result does not depend on the order facts
//! arrive in. The fatigue ordinal is defined by the segments' `agent_joined`
//! time (ties by contact id), so a segment finishing late still gets the
//! ordinal it had in the day, and the few segments it pushes over a bucket
//! boundary (ordinal 10, 20, 40) are moved in their windows.

use super::facts::{ContactRef, ContactSummary, Fact, Route, SegmentSummary};
use super::window::{local_date, window_bounds};
use super::EngineCounters;
use crate::config::EngineSettings;
use crate::model::proto::{KpiAggregate, OrdinalCounts};
use crate::model::{Channel, Disposition, Timestamp};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sketches_ddsketch::{Config as SketchConfig, DDSketch};
use std::collections::{BTreeMap, BTreeSet};

/// Fatigue buckets of the agent's n-th contact of the day.
pub const ORDINAL_BUCKETS: [&str; 4] = ["1-10", "11-20", "21-40", "41+"];

/// Segments of an agent's day whose place is kept: one past the last
/// bucket boundary (40).
const ORDINALS_KEPT: usize = 41;

pub fn ordinal_bucket(ordinal: usize) -> usize {
    match ordinal {
        0..=10 => 0,
        11..=20 => 1,
        21..=40 => 2,
        _ => 3,
    }
}

/// Which aggregate: level, channel, window size (index into the configured
/// sizes) and window start (UTC millis).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AggKey {
    /// `None` for the channel (queue) level.
    pub agent: Option<String>,
    pub channel: Channel,
    pub window: usize,
    pub start_ms: i64,
}

/// A quantile sketch with 1% relative error, created on first use.
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Quantiles(Option<Box<DDSketch>>);

impl std::fmt::Debug for Quantiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Quantiles")
            .field("count", &self.0.as_ref().map_or(0, |s| s.count()))
            .finish()
    }
}

impl Quantiles {
    fn add(&mut self, v: f64) {
        self.0
            .get_or_insert_with(|| Box::new(DDSketch::new(SketchConfig::defaults())))
            .add(v);
    }

    /// The nearest-rank quantile: the smallest value with at least `q` of the
    /// values at or below it (1-based rank ceil(q·n)), within the sketch's 1%.
    ///
    /// The sketch itself picks the 0-based rank floor(q·(n−1)), lower than
    /// the nearest rank (its p99 of two values is the smaller one), so the
    /// wanted rank is computed here and handed to the sketch as a `q` it
    /// maps back to exactly that rank.
    fn quantile(&self, q: f64) -> Option<f64> {
        let sketch = self.0.as_ref()?;
        let n = sketch.count();
        if n == 0 {
            return None;
        }
        let x = q * n as f64;
        // q·n integral on paper may come out just above it in floats
        // (0.7 · 10 = 7.000000000000001); rounding that up would skip a rank.
        let nearest = x.round();
        let rank = if (x - nearest).abs() <= x * 1e-12 {
            nearest
        } else {
            x.ceil()
        };
        let rank = (rank as usize).clamp(1, n) - 1;
        // Mid-way between rank and rank + 1 in the sketch's floor(q'·(n−1)),
        // so float error cannot land on a neighbour; the top rank is q' = 1
        // (the exact maximum), and with one value any q' gives it.
        let sketch_q = if n == 1 {
            0.0
        } else {
            ((rank as f64 + 0.5) / (n - 1) as f64).min(1.0)
        };
        sketch.quantile(sketch_q).ok().flatten()
    }
}

#[cfg(test)]
mod quantile_tests {
    use super::Quantiles;

    /// The sketch's guaranteed relative accuracy.
    const ALPHA: f64 = 0.01;

    fn sketch(values: &[f64]) -> Quantiles {
        let mut q = Quantiles::default();
        for &v in values {
            q.add(v);
        }
        q
    }

    /// Nearest rank in exact integer arithmetic (`percent` of `sorted.len()`,
    /// rounded up, 1-based), independent of the float handling under test.
    fn nearest_rank(sorted: &[f64], percent: usize) -> f64 {
        let rank = (percent * sorted.len()).div_ceil(100).max(1);
        sorted[rank - 1]
    }

    fn assert_close(got: Option<f64>, want: f64, what: &str) {
        let got = got.unwrap_or_else(|| panic!("{what}: no value"));
        assert!(
            (got - want).abs() <= ALPHA * want,
            "{what}: got {got}, want {want} within {ALPHA}"
        );
    }

    #[test]
    fn high_quantiles_of_two_values_are_the_larger() {
        let q = sketch(&[100.0, 200.0]);
        assert_close(q.quantile(0.99), 200.0, "p99");
        assert_close(q.quantile(0.9), 200.0, "p90");
        assert_close(q.quantile(0.5), 100.0, "p50");
    }

    #[test]
    fn median_of_ten_is_the_fifth() {
        let values: Vec<f64> = (1..=10).map(|i| f64::from(i) * 100.0).collect();
        let q = sketch(&values);
        assert_close(q.quantile(0.5), nearest_rank(&values, 50), "p50");
        assert_close(q.quantile(0.5), 500.0, "p50");
    }

    #[test]
    fn every_rank_is_the_nearest_rank_including_float_edges() {
        // 0.7 * 10 is 7.000000000000001 in floats: rounding up blindly would
        // skip to the 8th value. n = 1 and q·n integral are the other edges.
        for n in 1..=40 {
            let values: Vec<f64> = (1..=n).map(|i| f64::from(i) * 100.0).collect();
            let q = sketch(&values);
            for percent in [1, 10, 25, 50, 70, 90, 95, 99, 100] {
                assert_close(
                    q.quantile(percent as f64 / 100.0),
                    nearest_rank(&values, percent),
                    &format!("p{percent} of {n} values"),
                );
            }
        }
        assert_eq!(Quantiles::default().quantile(0.5), None);
    }
}

/// The re-addable counts and sums of one aggregate (names as in kpis.md).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Counts {
    pub empathy_scored: u64,
    pub empathy_shown: u64,
    pub empathy_score_sum: u64,
    pub empathy_opportunity: u64,
    pub empathy_missed: u64,
    pub empathy_overdone: u64,
    pub pity: u64,
    pub questions_asked: u64,
    pub interruptions: u64,
    pub listened_fully: u64,
    pub voice_segments_scored: u64,
    pub hostile_customer: u64,
    pub hostile_defused: u64,
    pub empathy_shown_final: u64,
    pub empathy_shown_unresolved: u64,
    pub empathy_by_ordinal: [(u64, u64); 4],
    pub offered: u64,
    pub answered: u64,
    pub abandoned: u64,
    pub answered_within_sl: u64,
    pub wait_ms_sum: u64,
    pub wait_ms_count: u64,
    pub first_response_ms_sum: u64,
    pub first_response_ms_count: u64,
    pub first_response_within_sla: u64,
    pub reply_ms_sum: u64,
    pub reply_ms_count: u64,
    pub handled: u64,
    pub handled_final: u64,
    pub resolved: u64,
    pub unresolved: u64,
    pub escalated: u64,
    pub callback_scheduled: u64,
    pub transfers_out: u64,
    pub handle_ms_sum: u64,
    pub handle_ms_count: u64,
    pub repeat_contacts: u64,
    pub callbacks_kept: u64,
    pub callbacks_late: u64,
    pub csat_sum: u64,
    pub csat_count: u64,
}

impl Counts {
    /// Adds one segment's figures (agent-level counts; also summed at channel level).
    pub fn add_segment(&mut self, s: &SegmentSummary, disposition: Disposition) {
        self.handled += 1;
        if s.empathy_scored {
            self.empathy_scored += 1;
            self.empathy_score_sum += u64::from(s.empathy_score);
            if s.voice {
                self.voice_segments_scored += 1;
                if s.interruptions == 0 {
                    self.listened_fully += 1;
                }
            }
        }
        self.empathy_shown += u64::from(s.empathy_shown);
        self.empathy_opportunity += u64::from(s.empathy_opportunity);
        self.empathy_missed += u64::from(s.empathy_missed);
        self.empathy_overdone += u64::from(s.empathy_overdone);
        self.pity += u64::from(s.pity);
        self.questions_asked += u64::from(s.questions_asked);
        self.interruptions += u64::from(s.interruptions);
        self.hostile_customer += u64::from(s.hostile_customer);
        self.hostile_defused += u64::from(s.hostile_defused);
        self.reply_ms_sum += s.reply_ms_sum;
        self.reply_ms_count += s.reply_ms_count;
        self.transfers_out += u64::from(s.closed_by_transfer);
        if s.is_final {
            self.handled_final += 1;
            match disposition {
                Disposition::Resolved => self.resolved += 1,
                Disposition::Unresolved => self.unresolved += 1,
                Disposition::Escalated => self.escalated += 1,
                Disposition::CallbackScheduled => self.callback_scheduled += 1,
            }
            self.handle_ms_sum += (s.closed - s.joined).num_milliseconds().max(0) as u64;
            self.handle_ms_count += 1;
            if s.empathy_shown {
                self.empathy_shown_final += 1;
                if disposition != Disposition::Resolved {
                    self.empathy_shown_unresolved += 1;
                }
            }
        }
    }
}

/// One window aggregate with its sketches and publication state.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct WindowAggregate {
    pub counts: Counts,
    pub wait_ms: Quantiles,
    pub first_response_ms: Quantiles,
    pub handle_ms: Quantiles,
    pub end_ms: i64,
    pub revision: u64,
    pub is_final: bool,
}

/// One segment's place in its agent's day (fatigue ordinal).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OrdinalEntry {
    joined: Timestamp,
    contact_id: String,
    segment: usize,
    channel: Channel,
    ended: Timestamp,
    scored: bool,
    shown: bool,
}

/// One aggregate ready to publish.
#[derive(Debug, Clone, PartialEq)]
pub struct AggregateUpdate {
    pub key: String,
    pub aggregate: KpiAggregate,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Aggregator {
    windows: BTreeMap<AggKey, WindowAggregate>,
    agent_days: BTreeMap<DayKey, Vec<OrdinalEntry>>,
    dirty: BTreeSet<AggKey>,
    watermark_ms: Option<i64>,
    /// Updates of windows evicted before they were published: a window is
    /// always published before it leaves memory (a replay can move event
    /// time past a window's retention within one emit interval).
    #[serde(skip)]
    evicted_updates: Vec<AggregateUpdate>,
    /// Which facts this aggregator owns when the stage is partitioned
    /// (`None`: all of them, as in one process).
    #[serde(skip)]
    route: Option<Route>,
    /// State changed since the last [`Aggregator::take_changelog`].
    #[serde(skip)]
    changed_windows: BTreeSet<AggKey>,
    #[serde(skip)]
    changed_days: BTreeSet<DayKey>,
    #[serde(skip)]
    changed_watermark: bool,
    #[serde(skip)]
    tracking: bool,
}

/// An agent's day for fatigue ordinals: (kept for the queue route, agent,
/// local date). A partition that owns both an agent and the queue keeps that
/// agent's day twice, once per level, so neither route counts a segment twice.
pub type DayKey = (bool, String, NaiveDate);

/// One piece of aggregator state as written to the changelog (`None`: removed).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum AggregatorEntry {
    Window(AggKey, Option<Box<WindowAggregate>>),
    AgentDay(DayKey, Option<Vec<OrdinalEntry>>),
    Watermark(Option<i64>),
}

fn ms(ts: Timestamp) -> i64 {
    ts.timestamp_millis()
}

impl Aggregator {
    pub fn window_count(&self) -> usize {
        self.windows.len()
    }

    pub fn get(&self, key: &AggKey) -> Option<&WindowAggregate> {
        self.windows.get(key)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&AggKey, &WindowAggregate)> {
        self.windows.iter()
    }

    /// Calls `f` on the aggregate of `agent` (or the channel level) in every
    /// window size that contains `ts`; returns false when the windows are
    /// already past retention (the change is then dropped and counted).
    fn with_windows(
        &mut self,
        settings: &EngineSettings,
        agent: Option<&str>,
        channel: Channel,
        ts: Timestamp,
        mut f: impl FnMut(&mut WindowAggregate),
    ) -> bool {
        let owned = match &self.route {
            None => true,
            Some(Route::Queue) => agent.is_none(),
            Some(Route::Agent(a)) => agent == Some(a.as_str()),
        };
        if !owned {
            return true;
        }
        let retention = settings.window_retention.as_millis() as i64;
        let mut applied = true;
        for (wi, spec) in settings.windows.iter().enumerate() {
            let (start, end) = window_bounds(spec, settings.timezone, ts);
            if self.watermark_ms.is_some_and(|w| ms(end) + retention <= w) {
                applied = false;
                continue;
            }
            let key = AggKey {
                agent: agent.map(str::to_string),
                channel,
                window: wi,
                start_ms: ms(start),
            };
            let agg = self
                .windows
                .entry(key.clone())
                .or_insert_with(|| WindowAggregate {
                    end_ms: ms(end),
                    ..WindowAggregate::default()
                });
            f(agg);
            if self.tracking {
                self.changed_windows.insert(key.clone());
            }
            self.dirty.insert(key);
        }
        applied
    }

    /// Both levels: the agent's aggregate and the channel's.
    fn with_both(
        &mut self,
        settings: &EngineSettings,
        agent: &str,
        channel: Channel,
        ts: Timestamp,
        mut f: impl FnMut(&mut WindowAggregate),
    ) -> bool {
        let a = self.with_windows(settings, Some(agent), channel, ts, &mut f);
        let c = self.with_windows(settings, None, channel, ts, &mut f);
        a && c
    }

    /// Applies the part of `fact` that `route` owns: one agent's aggregates
    /// (and that agent's fatigue ordinals), or the channel level.
    pub fn apply_routed(
        &mut self,
        settings: &EngineSettings,
        route: Route,
        fact: &Fact,
        counters: &mut EngineCounters,
    ) {
        self.route = Some(route);
        self.apply(settings, fact, counters);
        self.route = None;
    }

    pub fn apply(&mut self, settings: &EngineSettings, fact: &Fact, counters: &mut EngineCounters) {
        let applied = match fact {
            Fact::CustomerContactStarted { .. } => true,
            Fact::ContactFinished(summary) => self.apply_contact(settings, summary, counters),
            Fact::Repeated { contact } => {
                self.correct(settings, contact, |c| c.repeat_contacts += 1)
            }
            Fact::Callback { contact, kept } => self.correct(settings, contact, |c| {
                if *kept {
                    c.callbacks_kept += 1
                } else {
                    c.callbacks_late += 1
                }
            }),
            Fact::Survey { contact, csat } => self.correct(settings, contact, |c| {
                c.csat_sum += u64::from(*csat);
                c.csat_count += 1;
            }),
        };
        if !applied {
            counters.expired_window_updates += 1;
        }
    }

    fn correct(
        &mut self,
        settings: &EngineSettings,
        contact: &ContactRef,
        f: impl Fn(&mut Counts),
    ) -> bool {
        let Some(agent) = &contact.final_agent else {
            return true;
        };
        self.with_both(settings, agent, contact.channel, contact.ended, |w| {
            f(&mut w.counts)
        })
    }

    fn apply_contact(
        &mut self,
        settings: &EngineSettings,
        s: &ContactSummary,
        counters: &mut EngineCounters,
    ) -> bool {
        let mut ok = self.with_windows(settings, None, s.channel, s.ended, |w| {
            let c = &mut w.counts;
            c.offered += 1;
            if s.abandoned {
                c.abandoned += 1;
            } else {
                c.answered += 1;
                if let Some(wait) = s.wait_ms {
                    c.wait_ms_sum += wait as u64;
                    c.wait_ms_count += 1;
                    c.answered_within_sl += u64::from(s.within_service_level == Some(true));
                    w.wait_ms.add(wait as f64);
                }
            }
        });
        for seg in &s.segments {
            ok &= self.with_both(settings, &seg.agent_id, s.channel, s.ended, |w| {
                w.counts.add_segment(seg, s.disposition);
                if seg.is_final {
                    w.handle_ms
                        .add((seg.closed - seg.joined).num_milliseconds().max(0) as f64);
                }
            });
        }
        if let Some((agent, fr, within)) = &s.first_response {
            ok &= self.with_both(settings, agent, s.channel, s.ended, |w| {
                w.counts.first_response_ms_sum += *fr as u64;
                w.counts.first_response_ms_count += 1;
                w.counts.first_response_within_sla += u64::from(*within);
                w.first_response_ms.add(*fr as f64);
            });
        }
        for (i, seg) in s.segments.iter().enumerate() {
            self.place_ordinal(settings, s, i, seg, counters);
        }
        ok
    }

    /// Inserts a segment into its agent's day and keeps the fatigue buckets right.
    fn place_ordinal(
        &mut self,
        settings: &EngineSettings,
        s: &ContactSummary,
        index: usize,
        seg: &SegmentSummary,
        counters: &mut EngineCounters,
    ) {
        if let Some(Route::Agent(a)) = &self.route {
            if *a != seg.agent_id {
                return; // That agent's day lives with that agent's aggregates.
            }
        }
        // A segment that ended more than the window retention after it began
        // would find its day already evicted, or not, depending on how far
        // event time had got: such segments are left out of the fatigue
        // ordinals, so the ordinals never depend on timing.
        if s.ended - seg.joined
            > chrono::Duration::from_std(settings.window_retention).unwrap_or(chrono::Duration::MAX)
        {
            return;
        }
        let day = local_date(settings.timezone, seg.joined);
        let day_key = (self.route == Some(Route::Queue), seg.agent_id.clone(), day);
        if self.tracking {
            self.changed_days.insert(day_key.clone());
        }
        let entry = OrdinalEntry {
            joined: seg.joined,
            contact_id: s.contact_id.clone(),
            segment: index,
            channel: s.channel,
            ended: s.ended,
            scored: seg.empathy_scored,
            shown: seg.empathy_shown,
        };
        let list = self.agent_days.entry(day_key).or_default();
        let pos = list.partition_point(|e| {
            (e.joined, &e.contact_id, e.segment) < (entry.joined, &entry.contact_id, entry.segment)
        });
        // Segments after `pos` moved up by one; only those crossing a bucket boundary change.
        let mut moves: Vec<(OrdinalEntry, Option<usize>, usize)> = Vec::new();
        if pos >= ORDINALS_KEPT {
            // Past the last boundary: "41+" now and forever, nothing moves.
            moves.push((entry, None, ordinal_bucket(pos + 1)));
        } else {
            list.insert(pos, entry);
            moves.push((list[pos].clone(), None, ordinal_bucket(pos + 1)));
            for (i, e) in list.iter().enumerate().skip(pos + 1) {
                let (old, new) = (ordinal_bucket(i), ordinal_bucket(i + 1));
                if old != new {
                    moves.push((e.clone(), Some(old), new));
                }
            }
            // A segment at ordinal 41 or later can only move further up,
            // staying in "41+": the day keeps only the first 41, so an
            // agent id with thousands of contacts a day (a bot, an IVR, a
            // team login) keeps bounded state, and the ordinals stay exact.
            list.truncate(ORDINALS_KEPT);
        }
        let agent = seg.agent_id.clone();
        for (e, old, new) in moves {
            if !e.scored {
                continue;
            }
            let ok = self.with_both(settings, &agent, e.channel, e.ended, |w| {
                let b = &mut w.counts.empathy_by_ordinal;
                if let Some(old) = old {
                    b[old].0 -= 1;
                    b[old].1 -= u64::from(e.shown);
                }
                b[new].0 += 1;
                b[new].1 += u64::from(e.shown);
            });
            if !ok {
                counters.expired_window_updates += 1;
            }
        }
    }

    /// Moves the watermark: windows whose end it passed become final (and
    /// are returned, oldest first), windows past retention and agent days past
    /// it are dropped.
    pub fn advance(&mut self, settings: &EngineSettings, watermark: Timestamp) -> Vec<AggKey> {
        let w = ms(watermark);
        if self.watermark_ms.is_some_and(|old| old >= w) {
            return Vec::new();
        }
        let mut closed = Vec::new();
        self.watermark_ms = Some(w);
        self.changed_watermark = self.tracking;
        let retention = settings.window_retention.as_millis() as i64;
        let dirty = &mut self.dirty;
        let (changed, tracking) = (&mut self.changed_windows, self.tracking);
        let evicted = &mut self.evicted_updates;
        self.windows.retain(|key, agg| {
            if agg.end_ms + retention <= w {
                if dirty.remove(key) {
                    agg.is_final = true;
                    agg.revision += 1;
                    evicted.push(AggregateUpdate {
                        key: aggregate_key(settings, key),
                        aggregate: to_proto(settings, key, agg, Some(w)),
                    });
                }
                if tracking {
                    changed.insert(key.clone());
                }
                return false;
            }
            if !agg.is_final && agg.end_ms <= w {
                agg.is_final = true;
                dirty.insert(key.clone());
                if tracking {
                    changed.insert(key.clone());
                }
                closed.push(key.clone());
            }
            true
        });
        let oldest_day = local_date(
            settings.timezone,
            watermark - chrono::Duration::milliseconds(retention),
        )
        .pred_opt()
        .unwrap_or(NaiveDate::MIN);
        let changed_days = &mut self.changed_days;
        self.agent_days.retain(|key, _| {
            let keep = key.2 >= oldest_day;
            if !keep && tracking {
                changed_days.insert(key.clone());
            }
            keep
        });
        closed.sort_by_key(|k| k.start_ms);
        closed
    }

    /// The aggregates that changed since the last call, each with its
    /// revision bumped (coalescing: call this once per emit interval).
    pub fn take_updates(&mut self, settings: &EngineSettings) -> Vec<AggregateUpdate> {
        let dirty = std::mem::take(&mut self.dirty);
        let mut out = std::mem::take(&mut self.evicted_updates);
        out.reserve(dirty.len());
        for key in dirty {
            if let Some(agg) = self.windows.get_mut(&key) {
                agg.revision += 1;
                if self.tracking {
                    self.changed_windows.insert(key.clone());
                }
                out.push(AggregateUpdate {
                    key: aggregate_key(settings, &key),
                    aggregate: to_proto(settings, &key, agg, self.watermark_ms),
                });
            }
        }
        out
    }

    pub fn mark_all_dirty(&mut self) {
        self.dirty.extend(self.windows.keys().cloned());
    }

    pub fn dirty_count(&self) -> usize {
        self.dirty.len()
    }

    /// Starts recording what changes, for [`Aggregator::take_changelog`].
    pub fn track_changes(&mut self) {
        self.tracking = true;
    }

    /// The state changed since the last call, for the changelog.
    pub fn take_changelog(&mut self) -> Vec<AggregatorEntry> {
        let mut out = Vec::new();
        if std::mem::take(&mut self.changed_watermark) {
            out.push(AggregatorEntry::Watermark(self.watermark_ms));
        }
        for key in std::mem::take(&mut self.changed_windows) {
            let value = self.windows.get(&key).cloned().map(Box::new);
            out.push(AggregatorEntry::Window(key, value));
        }
        for key in std::mem::take(&mut self.changed_days) {
            let value = self.agent_days.get(&key).cloned();
            out.push(AggregatorEntry::AgentDay(key, value));
        }
        out
    }

    /// Puts one piece of state back from the changelog.
    pub fn restore_entry(&mut self, entry: AggregatorEntry) {
        match entry {
            AggregatorEntry::Watermark(w) => self.watermark_ms = w,
            AggregatorEntry::Window(key, Some(agg)) => {
                self.windows.insert(key, *agg);
            }
            AggregatorEntry::Window(key, None) => {
                self.windows.remove(&key);
            }
            AggregatorEntry::AgentDay(key, Some(list)) => {
                self.agent_days.insert(key, list);
            }
            AggregatorEntry::AgentDay(key, None) => {
                self.agent_days.remove(&key);
            }
        }
    }

    pub fn watermark_ms(&self) -> Option<i64> {
        self.watermark_ms
    }
}

pub fn rfc3339_seconds(ms_since_epoch: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms_since_epoch)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The record key of `outputs.md`.
pub fn aggregate_key(settings: &EngineSettings, key: &AggKey) -> String {
    let window = &settings.windows[key.window].name;
    let start = rfc3339_seconds(key.start_ms);
    match &key.agent {
        Some(agent) => format!("agent/{agent}/{}/{window}/{start}", key.channel),
        None => format!("channel/{}/{window}/{start}", key.channel),
    }
}

/// The 95% Wilson score interval of `successes` in `trials` (Wilson, 1927).
/// Unlike p ± 1.96·SE it stays within [0, 1] and is honest for a handful of
/// trials, so an agent's rate over five segments shows how little it says
/// (2 of 5: 0.12–0.77) and rankings can leave out what is still noise.
pub fn wilson_interval(successes: u64, trials: u64) -> Option<(f64, f64)> {
    if trials == 0 {
        return None;
    }
    const Z: f64 = 1.959_963_984_540_054; // the 97.5% normal quantile
    let n = trials as f64;
    let p = successes.min(trials) as f64 / n;
    let z2 = Z * Z;
    let centre = p + z2 / (2.0 * n);
    let half = Z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    let denominator = 1.0 + z2 / n;
    Some((
        ((centre - half) / denominator).max(0.0),
        ((centre + half) / denominator).min(1.0),
    ))
}

fn ratio(num: u64, den: u64) -> Option<f64> {
    (den > 0).then(|| num as f64 / den as f64)
}

fn signed_ratio(num: i64, den: u64) -> Option<f64> {
    (den > 0).then(|| num as f64 / den as f64)
}

pub fn to_proto(
    settings: &EngineSettings,
    key: &AggKey,
    agg: &WindowAggregate,
    watermark_ms: Option<i64>,
) -> KpiAggregate {
    let c = &agg.counts;
    let fcr_final =
        watermark_ms.is_some_and(|w| agg.end_ms + settings.repeat_period.as_millis() as i64 <= w);
    let empathy_ci = wilson_interval(c.empathy_shown, c.empathy_scored);
    KpiAggregate {
        level: if key.agent.is_some() {
            "agent"
        } else {
            "channel"
        }
        .into(),
        agent_id: key.agent.clone(),
        channel: key.channel.as_str().into(),
        window: settings.windows[key.window].name.clone(),
        window_start: rfc3339_seconds(key.start_ms),
        window_end: rfc3339_seconds(agg.end_ms),
        revision: agg.revision,
        r#final: agg.is_final,
        empathy_scored: c.empathy_scored,
        empathy_shown: c.empathy_shown,
        empathy_score_sum: c.empathy_score_sum,
        empathy_opportunity: c.empathy_opportunity,
        empathy_missed: c.empathy_missed,
        empathy_overdone: c.empathy_overdone,
        pity: c.pity,
        questions_asked: c.questions_asked,
        interruptions: c.interruptions,
        listened_fully: c.listened_fully,
        voice_segments_scored: c.voice_segments_scored,
        hostile_customer: c.hostile_customer,
        hostile_defused: c.hostile_defused,
        empathy_shown_final: c.empathy_shown_final,
        empathy_shown_unresolved: c.empathy_shown_unresolved,
        empathy_by_ordinal: ORDINAL_BUCKETS
            .iter()
            .zip(c.empathy_by_ordinal.iter())
            .map(|(name, &(scored, shown))| (name.to_string(), OrdinalCounts { scored, shown }))
            .collect(),
        offered: c.offered,
        answered: c.answered,
        abandoned: c.abandoned,
        answered_within_sl: c.answered_within_sl,
        wait_ms_sum: c.wait_ms_sum,
        wait_ms_count: c.wait_ms_count,
        first_response_ms_sum: c.first_response_ms_sum,
        first_response_ms_count: c.first_response_ms_count,
        first_response_within_sla: c.first_response_within_sla,
        reply_ms_sum: c.reply_ms_sum,
        reply_ms_count: c.reply_ms_count,
        handled: c.handled,
        handled_final: c.handled_final,
        resolved: c.resolved,
        unresolved: c.unresolved,
        escalated: c.escalated,
        callback_scheduled: c.callback_scheduled,
        transfers_out: c.transfers_out,
        handle_ms_sum: c.handle_ms_sum,
        handle_ms_count: c.handle_ms_count,
        repeat_contacts: c.repeat_contacts,
        callbacks_kept: c.callbacks_kept,
        callbacks_late: c.callbacks_late,
        csat_sum: c.csat_sum,
        csat_count: c.csat_count,
        wait_ms_p50: agg.wait_ms.quantile(0.5),
        wait_ms_p90: agg.wait_ms.quantile(0.9),
        wait_ms_p99: agg.wait_ms.quantile(0.99),
        first_response_ms_p50: agg.first_response_ms.quantile(0.5),
        first_response_ms_p90: agg.first_response_ms.quantile(0.9),
        first_response_ms_p99: agg.first_response_ms.quantile(0.99),
        handle_ms_p50: agg.handle_ms.quantile(0.5),
        handle_ms_p90: agg.handle_ms.quantile(0.9),
        handle_ms_p99: agg.handle_ms.quantile(0.99),
        empathy_rate: ratio(c.empathy_shown, c.empathy_scored),
        empathy_miss_rate: ratio(c.empathy_missed, c.empathy_opportunity),
        empathy_score: ratio(c.empathy_score_sum, c.empathy_scored),
        listening_rate: ratio(c.listened_fully, c.voice_segments_scored),
        hollow_empathy_rate: ratio(c.empathy_shown_unresolved, c.empathy_shown_final),
        service_level: ratio(c.answered_within_sl, c.offered),
        abandon_rate: ratio(c.abandoned, c.offered),
        asa_ms: ratio(c.wait_ms_sum, c.answered),
        first_response_sla_rate: ratio(c.first_response_within_sla, c.first_response_ms_count),
        resolution_rate: ratio(c.resolved, c.handled_final),
        fcr_rate: signed_ratio(
            c.resolved as i64 - c.repeat_contacts as i64,
            c.handled_final,
        ),
        fcr_final,
        callback_kept_rate: ratio(c.callbacks_kept, c.callback_scheduled),
        csat_mean: ratio(c.csat_sum, c.csat_count),
        reply_ms_mean: ratio(c.reply_ms_sum, c.reply_ms_count),
        handle_ms_mean: ratio(c.handle_ms_sum, c.handle_ms_count),
        first_response_ms_mean: ratio(c.first_response_ms_sum, c.first_response_ms_count),
        empathy_rate_ci_low: empathy_ci.map(|ci| ci.0),
        empathy_rate_ci_high: empathy_ci.map(|ci| ci.1),
    }
}

#[cfg(test)]
mod wilson_tests {
    use super::wilson_interval;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 5e-5
    }

    #[test]
    fn wilson_intervals_match_the_textbook_values() {
        // Values from the closed form (Newcombe 1998, method 3).
        let (lo, hi) = wilson_interval(16, 20).unwrap();
        assert!(close(lo, 0.5840) && close(hi, 0.9193), "{lo} {hi}");
        let (lo, hi) = wilson_interval(0, 10).unwrap();
        assert!(close(lo, 0.0) && close(hi, 0.2775), "{lo} {hi}");
        let (lo, hi) = wilson_interval(10, 10).unwrap();
        assert!(close(lo, 0.7225) && close(hi, 1.0), "{lo} {hi}");
        assert_eq!(wilson_interval(0, 0), None);
    }

    #[test]
    fn the_interval_narrows_with_volume_and_holds_the_rate() {
        let mut last_width = f64::INFINITY;
        for n in [5u64, 20, 80, 320, 1280] {
            let (lo, hi) = wilson_interval(n * 3 / 5, n).unwrap();
            assert!(lo <= 0.6 && 0.6 <= hi, "{n}: {lo} {hi}");
            assert!(hi - lo < last_width, "{n}: narrower with more segments");
            last_width = hi - lo;
        }
        assert!(last_width < 0.06, "1280 segments pin the rate to ±3 points");
    }
}
