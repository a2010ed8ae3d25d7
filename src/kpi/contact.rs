//! Stage 1, contact assembly: per-contact state from the raw events, finalized
//! into one [`ContactSummary`] when `contact_ended` is processed.
//!
//! Rules (kpis.md, and the choices where it is silent):
//! - duplicates (same `event_id`) are ignored, also after the contact ended;
//! - events are sorted by `ts` (arrival order breaks ties) before segments,
//!   first response, reply gaps and interruptions are computed;
//! - an event of a finished contact other than a survey or call-back is late
//!   (or a replay) and is dropped and counted, never re-opening the contact;
//! - surveys and call-backs that arrive before the contact ended are kept and
//!   applied when it ends;
//! - a contact times out when its own events are further apart than the
//!   channel's idle timeout: the next event after such a gap ends it without
//!   a summary (counted), and it stays closed: every later event of it is
//!   counted as after the timeout and dropped, never the start of a new
//!   contact without its `contact_started` (which would count an answered
//!   contact as abandoned and lose its first response). Whether a contact
//!   timed out is thus decided by its own events alone, never by how far
//!   other contacts or partitions have got;
//! - memory is freed by event time with the allowed lateness as grace: an
//!   open contact once its partition's event time is more than the idle
//!   timeout plus the grace past its last event, a finished or timed-out one
//!   after `contacts.finished_retention` plus the grace. Within the grace
//!   the moment of eviction cannot change a result;
//! - a survey or call-back more than `contacts.finished_retention` after its
//!   contact ended is too late to revise it (counted), whether or not the
//!   contact is still in memory.

use super::facts::{ContactRef, ContactSummary, CustomerHash, Fact, SegmentSummary};
use super::EngineCounters;
use crate::config::EngineSettings;
use crate::empathy::{Analyzer, Judgement, SegmentInput, SegmentTurn, TurnFeatures};
use crate::model::{
    millis_between, Channel, ContactEvent, Disposition, EventKind, Party, Timestamp,
};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// Most joins, transfers and messages one open contact keeps: a long chat
/// has a few hundred; with at most 32 signals a message, the contact's state
/// (and its changelog record) stays well under a megabyte.
pub const MAX_ITEMS_PER_CONTACT: usize = 1000;

/// Most surveys and call-backs kept for a contact before it ends.
pub const MAX_CORRECTIONS_PER_CONTACT: usize = 16;

/// Agent talking more than this before the customer's utterance ended is an interruption.
pub const INTERRUPTION_TOLERANCE_MS: i64 = 500;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Turn {
    pub party: Party,
    pub agent_id: Option<String>,
    pub end_ts: Option<Timestamp>,
    pub raised_voice: bool,
    pub features: TurnFeatures,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Item {
    Joined(String),
    Transfer(String),
    Message(Turn),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TimedItem {
    pub ts: Timestamp,
    pub seq: u32,
    pub item: Item,
}

/// A contact that has not ended yet.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OpenContact {
    pub channel: Channel,
    pub customer: Option<CustomerHash>,
    pub started: Option<Timestamp>,
    pub language: Option<String>,
    pub seen_events: HashSet<String>,
    pub items: Vec<TimedItem>,
    pub surveys: Vec<(String, u8)>,
    pub callbacks: Vec<(String, Timestamp)>,
    pub last_event: Timestamp,
}

/// What is kept of a finished contact so late surveys and call-backs can
/// revise its window.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FinishedContact {
    pub contact: ContactRef,
    pub callback_due: Option<Timestamp>,
    pub callback_done: bool,
    pub correction_events: HashSet<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Assembler {
    pub open: HashMap<String, OpenContact>,
    pub finished: HashMap<String, FinishedContact>,
    /// Finished contacts by end time, for eviction.
    finished_by_end: BTreeMap<(Timestamp, String), ()>,
    /// Contacts that timed out, with the time they did: their later events
    /// are dropped (kept for `finished_retention`).
    pub timed_out: HashMap<String, Timestamp>,
    timed_out_by_time: BTreeSet<(Timestamp, String)>,
    next_seq: u32,
    /// Contacts changed since the last [`Assembler::take_changelog`]
    /// (kept only once [`Assembler::track_changes`] was called).
    #[serde(skip)]
    touched: BTreeSet<String>,
    #[serde(skip)]
    tracking: bool,
    /// Keep the matched words of each signal (evidence for `contact-kpi
    /// score`). Off in the service: a pattern with a gap ("sorry ... to
    /// hear") would carry whatever the customer or agent wrote in the gap
    /// into state, changelogs and checkpoints. Only features are kept.
    #[serde(skip)]
    keep_evidence_words: bool,
}

/// One contact's state as written to the changelog.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum ContactEntry {
    Open(OpenContact),
    Finished(FinishedContact),
    /// Timed out at this time; later events are dropped.
    TimedOut(Timestamp),
}

/// The customer as named in facts and state: a keyed hash, never the raw id.
pub fn customer_hash(key: &[u8], customer_id: &str) -> CustomerHash {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key).expect("hmac takes any key length");
    mac.update(customer_id.as_bytes());
    let bytes = mac.finalize().into_bytes();
    let mut out = String::with_capacity(32);
    for b in &bytes[..16] {
        out.push_str(&format!("{b:02x}"));
    }
    CustomerHash(out)
}

impl Assembler {
    pub fn open_contacts(&self) -> usize {
        self.open.len()
    }

    pub fn finished_contacts(&self) -> usize {
        self.finished.len()
    }

    /// Applies one event; returns the facts it produces.
    pub fn apply(
        &mut self,
        settings: &EngineSettings,
        analyzer: &Analyzer,
        event: ContactEvent,
        counters: &mut EngineCounters,
        out: &mut Vec<Fact>,
    ) {
        if self.tracking && !self.touched.contains(&event.contact_id) {
            self.touched.insert(event.contact_id.clone());
        }
        if self.timed_out.contains_key(&event.contact_id) {
            counters.events_after_timeout += 1;
            return;
        }
        let correction_deadline = chrono::Duration::from_std(settings.finished_retention)
            .unwrap_or(chrono::Duration::MAX);
        if let Some(done) = self.finished.get_mut(&event.contact_id) {
            let too_late = event.ts - done.contact.ended > correction_deadline;
            match &event.kind {
                EventKind::Survey { .. } | EventKind::CallbackCompleted { .. } if too_late => {
                    counters.orphan_corrections += 1;
                }
                EventKind::Survey { csat } => {
                    if done.correction_events.insert(event.event_id) {
                        if done.contact.final_agent.is_some() {
                            out.push(Fact::Survey {
                                contact: done.contact.clone(),
                                csat: *csat,
                            });
                        } else {
                            counters.orphan_corrections += 1;
                        }
                    } else {
                        counters.duplicates += 1;
                    }
                }
                EventKind::CallbackCompleted { .. } => {
                    if done.correction_events.insert(event.event_id) {
                        apply_callback(done, event.ts, counters, out);
                    } else {
                        counters.duplicates += 1;
                    }
                }
                _ => counters.late_events += 1,
            }
            return;
        }

        if let Some(open) = self.open.get(&event.contact_id) {
            let idle = chrono::Duration::from_std(settings.idle_timeout.get(open.channel))
                .unwrap_or(chrono::Duration::MAX);
            if event.ts - open.last_event > idle {
                let at = open.last_event + idle;
                self.open.remove(&event.contact_id);
                self.close_timed_out(event.contact_id.clone(), at);
                counters.timed_out_contacts += 1;
                counters.events_after_timeout += 1;
                return;
            }
        }
        let seq = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1);
        let contact_id = event.contact_id.clone();
        let open = self
            .open
            .entry(contact_id.clone())
            .or_insert_with(|| OpenContact {
                channel: event.channel,
                customer: None,
                started: None,
                language: None,
                seen_events: HashSet::new(),
                items: Vec::new(),
                surveys: Vec::new(),
                callbacks: Vec::new(),
                last_event: event.ts,
            });
        let full = match &event.kind {
            EventKind::AgentJoined { .. }
            | EventKind::Transfer { .. }
            | EventKind::Message { .. } => open.items.len() >= MAX_ITEMS_PER_CONTACT,
            EventKind::Survey { .. } | EventKind::CallbackCompleted { .. } => {
                open.surveys.len() + open.callbacks.len() >= MAX_CORRECTIONS_PER_CONTACT
            }
            _ => false,
        };
        if full {
            // Bounded state: the contact keeps going (its end still counts),
            // its detail past the limit is counted and not kept.
            counters.truncated_events += 1;
            open.last_event = open.last_event.max(event.ts);
            return;
        }
        if !open.seen_events.insert(event.event_id.clone()) {
            counters.duplicates += 1;
            return;
        }
        if event.channel != open.channel {
            counters.channel_mismatches += 1;
        }
        open.last_event = open.last_event.max(event.ts);
        match event.kind {
            EventKind::ContactStarted {
                customer_id,
                language,
                ..
            } => {
                if open.started.is_some() {
                    counters.late_events += 1;
                    return;
                }
                let customer = customer_hash(&settings.customer_key, &customer_id);
                open.started = Some(event.ts);
                open.customer = Some(customer.clone());
                if language.is_some() {
                    open.language = language;
                }
                out.push(Fact::CustomerContactStarted {
                    customer,
                    contact_id,
                    started: event.ts,
                });
            }
            EventKind::AgentJoined { agent_id } => open.items.push(TimedItem {
                ts: event.ts,
                seq,
                item: Item::Joined(agent_id),
            }),
            EventKind::Transfer { from_agent_id } => open.items.push(TimedItem {
                ts: event.ts,
                seq,
                item: Item::Transfer(from_agent_id),
            }),
            EventKind::Message {
                party,
                agent_id,
                text,
                end_ts,
                raised_voice,
            } => {
                let language = match &open.language {
                    Some(l) => l.clone(),
                    None => match analyzer.detect_language(&text) {
                        Some(l) => {
                            open.language = Some(l.clone());
                            l
                        }
                        None => "en".to_string(),
                    },
                };
                let lexicon_language = if analyzer.supports(&language) {
                    language.as_str()
                } else {
                    "en"
                };
                // The words behind a signal are message text: only the
                // score command, which shows them to whoever holds the
                // text anyway, keeps them.
                let features = if self.keep_evidence_words {
                    analyzer.analyze_turn_with_evidence(
                        lexicon_language,
                        open.channel,
                        party,
                        &text,
                    )
                } else {
                    analyzer.analyze_turn(lexicon_language, open.channel, party, &text)
                };
                open.items.push(TimedItem {
                    ts: event.ts,
                    seq,
                    item: Item::Message(Turn {
                        party,
                        agent_id,
                        end_ts,
                        raised_voice,
                        features,
                    }),
                });
            }
            EventKind::Survey { csat } => open.surveys.push((event.event_id, csat)),
            EventKind::CallbackCompleted { .. } => open.callbacks.push((event.event_id, event.ts)),
            EventKind::ContactEnded {
                disposition,
                callback_due,
            } => {
                let open = self.open.remove(&contact_id).expect("present");
                let (summary, _judgements) = summarize(
                    settings,
                    analyzer,
                    &contact_id,
                    &open,
                    event.ts,
                    disposition,
                    callback_due,
                );
                if open
                    .language
                    .as_deref()
                    .is_some_and(|l| !analyzer.supports(l))
                {
                    counters.unsupported_language_contacts += 1;
                }
                let contact = summary.contact_ref();
                let mut done = FinishedContact {
                    contact: contact.clone(),
                    callback_due,
                    callback_done: false,
                    correction_events: HashSet::new(),
                };
                out.push(Fact::ContactFinished(summary));
                for (id, csat) in open.surveys {
                    done.correction_events.insert(id);
                    if contact.final_agent.is_some() {
                        out.push(Fact::Survey {
                            contact: contact.clone(),
                            csat,
                        });
                    } else {
                        counters.orphan_corrections += 1;
                    }
                }
                let mut callbacks = open.callbacks;
                callbacks.sort_by_key(|(_, ts)| *ts);
                for (id, ts) in callbacks {
                    done.correction_events.insert(id);
                    apply_callback(&mut done, ts, counters, out);
                }
                self.finished_by_end
                    .insert((event.ts, contact_id.clone()), ());
                self.finished.insert(contact_id, done);
            }
        }
    }

    fn close_timed_out(&mut self, contact_id: String, at: Timestamp) {
        if self.tracking {
            self.touched.insert(contact_id.clone());
        }
        self.timed_out_by_time.insert((at, contact_id.clone()));
        self.timed_out.insert(contact_id, at);
    }

    /// Frees memory by event time `now` (the partition's own): open contacts
    /// past their idle timeout, finished and timed-out ones past retention,
    /// each with the allowed lateness as grace (see the module notes).
    pub fn expire(
        &mut self,
        settings: &EngineSettings,
        now: Timestamp,
        counters: &mut EngineCounters,
    ) {
        let grace = chrono::Duration::from_std(settings.allowed_lateness).unwrap_or_default();
        let mut expired = Vec::new();
        self.open.retain(|id, c| {
            let idle = chrono::Duration::from_std(settings.idle_timeout.get(c.channel))
                .unwrap_or(chrono::Duration::MAX);
            let keep = now - c.last_event <= idle.checked_add(&grace).unwrap_or(idle);
            if !keep {
                expired.push((id.clone(), c.last_event + idle));
            }
            keep
        });
        counters.timed_out_contacts += expired.len() as u64;
        for (id, at) in expired {
            self.close_timed_out(id, at);
        }
        let retention = chrono::Duration::from_std(settings.finished_retention)
            .unwrap_or(chrono::Duration::MAX);
        let retention = retention.checked_add(&grace).unwrap_or(retention);
        while let Some((at, _)) = self.timed_out_by_time.first() {
            if now - *at <= retention {
                break;
            }
            let (_, id) = self.timed_out_by_time.pop_first().expect("present");
            self.timed_out.remove(&id);
            if self.tracking {
                self.touched.insert(id);
            }
        }
        while let Some((key, _)) = self.finished_by_end.first_key_value() {
            if now - key.0 <= retention {
                break;
            }
            let key = key.clone();
            self.finished_by_end.remove(&key);
            self.finished.remove(&key.1);
            if self.tracking {
                self.touched.insert(key.1);
            }
        }
    }

    /// Keeps the words behind each signal, for explaining judgements
    /// interactively (`contact-kpi score`); never in the service.
    pub fn keep_evidence_words(&mut self) {
        self.keep_evidence_words = true;
    }

    /// Starts recording which contacts change, for [`Assembler::take_changelog`].
    pub fn track_changes(&mut self) {
        self.tracking = true;
    }

    /// The contacts changed since the last call, each with its current
    /// state (`None`: forgotten), for the changelog.
    pub fn take_changelog(&mut self) -> Vec<(String, Option<ContactEntry>)> {
        std::mem::take(&mut self.touched)
            .into_iter()
            .map(|id| {
                let entry = if let Some(open) = self.open.get(&id) {
                    Some(ContactEntry::Open(open.clone()))
                } else if let Some(done) = self.finished.get(&id) {
                    Some(ContactEntry::Finished(done.clone()))
                } else {
                    self.timed_out
                        .get(&id)
                        .map(|&at| ContactEntry::TimedOut(at))
                };
                (id, entry)
            })
            .collect()
    }

    /// Puts one contact's state back from the changelog (`None` removes it).
    pub fn restore_contact(&mut self, contact_id: String, entry: Option<ContactEntry>) {
        if let Some(old) = self.finished.remove(&contact_id) {
            self.finished_by_end
                .remove(&(old.contact.ended, contact_id.clone()));
        }
        self.open.remove(&contact_id);
        if let Some(at) = self.timed_out.remove(&contact_id) {
            self.timed_out_by_time.remove(&(at, contact_id.clone()));
        }
        match entry {
            Some(ContactEntry::Open(open)) => {
                // Arrival order inside a contact only needs sequence numbers
                // above the restored ones.
                if let Some(max) = open.items.iter().map(|i| i.seq).max() {
                    self.next_seq = self.next_seq.max(max.wrapping_add(1));
                }
                self.open.insert(contact_id, open);
            }
            Some(ContactEntry::Finished(done)) => {
                self.finished_by_end
                    .insert((done.contact.ended, contact_id.clone()), ());
                self.finished.insert(contact_id, done);
            }
            Some(ContactEntry::TimedOut(at)) => {
                self.timed_out_by_time.insert((at, contact_id.clone()));
                self.timed_out.insert(contact_id, at);
            }
            None => {}
        }
    }
}

fn apply_callback(
    done: &mut FinishedContact,
    ts: Timestamp,
    counters: &mut EngineCounters,
    out: &mut Vec<Fact>,
) {
    let scheduled = done.contact.disposition == Disposition::CallbackScheduled
        && done.contact.final_agent.is_some();
    match (scheduled, done.callback_due) {
        (true, Some(due)) if !done.callback_done => {
            done.callback_done = true;
            out.push(Fact::Callback {
                contact: done.contact.clone(),
                kept: ts <= due,
            });
        }
        (true, None) if !done.callback_done => {
            // Scheduled without a due time: completed counts as kept.
            done.callback_done = true;
            out.push(Fact::Callback {
                contact: done.contact.clone(),
                kept: true,
            });
        }
        _ => counters.orphan_corrections += 1,
    }
}

/// The segment a message at `ts` belongs to: the newest one (of `agent`, if
/// given) that was open at `ts`; for an agent's message outside its segments,
/// that agent's latest segment started before it.
fn segment_at(segments: &[SegmentBuild], ts: Timestamp, agent: Option<&str>) -> Option<usize> {
    let mut containing = None;
    let mut last_started = None;
    for (i, s) in segments.iter().enumerate() {
        if agent.is_some_and(|a| s.agent_id != a) || s.joined > ts {
            continue;
        }
        last_started = Some(i);
        if ts <= s.closed {
            containing = Some(i);
        }
    }
    containing.or(if agent.is_some() { last_started } else { None })
}

/// A segment while it is being built.
struct SegmentBuild {
    agent_id: String,
    joined: Timestamp,
    closed: Timestamp,
    by_transfer: bool,
    turns: Vec<usize>,
    context: Vec<usize>,
    interruptions: u32,
    reply_ms: Vec<i64>,
}

/// Turns a finished contact into its summary; also returns each segment's
/// judgement with evidence (for `contact-kpi score`).
pub fn summarize(
    settings: &EngineSettings,
    analyzer: &Analyzer,
    contact_id: &str,
    open: &OpenContact,
    ended: Timestamp,
    disposition: Disposition,
    callback_due: Option<Timestamp>,
) -> (ContactSummary, Vec<Judgement>) {
    let mut items: Vec<&TimedItem> = open.items.iter().collect();
    items.sort_by_key(|i| (i.ts, i.seq));

    // Segments from joins and transfers: a join opens one (closing a still-open
    // one without a transfer), a transfer closes the open one.
    let mut segments: Vec<SegmentBuild> = Vec::new();
    let mut open_seg: Option<usize> = None;
    for it in &items {
        if it.ts > ended {
            continue;
        }
        match &it.item {
            Item::Joined(agent) => {
                if let Some(i) = open_seg.take() {
                    segments[i].closed = it.ts;
                }
                segments.push(SegmentBuild {
                    agent_id: agent.clone(),
                    joined: it.ts,
                    closed: ended,
                    by_transfer: false,
                    turns: Vec::new(),
                    context: Vec::new(),
                    interruptions: 0,
                    reply_ms: Vec::new(),
                });
                open_seg = Some(segments.len() - 1);
            }
            Item::Transfer(_) => {
                if let Some(i) = open_seg.take() {
                    segments[i].closed = it.ts;
                    segments[i].by_transfer = true;
                }
            }
            Item::Message(_) => {}
        }
    }

    // Messages in time order, attributed to segments.
    let messages: Vec<(&TimedItem, &Turn)> = items
        .iter()
        .filter_map(|it| match &it.item {
            Item::Message(t) => Some((*it, t)),
            _ => None,
        })
        .collect();
    let mut first_response: Option<(String, i64)> = None;
    // Customer utterances so far (start, end), in time order.
    let mut customer_turns: Vec<(Timestamp, Option<Timestamp>)> = Vec::new();
    let mut prev_party: Option<(Party, Timestamp)> = None;
    for (idx, (it, turn)) in messages.iter().enumerate() {
        match turn.party {
            Party::Customer => {
                match segment_at(&segments, it.ts, None) {
                    Some(i) => segments[i].turns.push(idx),
                    None => {
                        // Before any segment or between a transfer and the next join:
                        // context of the next segment.
                        if let Some(next) = segments.iter().position(|s| s.joined > it.ts) {
                            segments[next].context.push(idx);
                        }
                    }
                }
                customer_turns.push((it.ts, turn.end_ts));
            }
            Party::Agent => {
                let (seg, agent) = match turn.agent_id.as_deref() {
                    Some(agent) => (
                        segment_at(&segments, it.ts, Some(agent))
                            .or_else(|| segments.iter().position(|s| s.agent_id == agent)),
                        agent.to_string(),
                    ),
                    // A platform that marks a turn only as the agent's
                    // (Contact Lens): whoever holds the contact then. Held
                    // by nobody (before the answer, between a transfer and
                    // the next join), it belongs to no one and is left out.
                    None => match segment_at(&segments, it.ts, None) {
                        Some(i) => (Some(i), segments[i].agent_id.clone()),
                        None => continue,
                    },
                };
                if let Some(i) = seg {
                    segments[i].turns.push(idx);
                    if open.channel == Channel::Voice {
                        // The customer utterance that started (strictly) before this one.
                        let before = customer_turns.iter().rev().find(|(cts, _)| *cts < it.ts);
                        if let Some((_, Some(cend))) = before {
                            if millis_between(it.ts, *cend) > INTERRUPTION_TOLERANCE_MS {
                                segments[i].interruptions += 1;
                            }
                        }
                    }
                    if open.channel == Channel::Chat {
                        if let Some((Party::Customer, cts)) = prev_party {
                            segments[i].reply_ms.push(millis_between(cts, it.ts).max(0));
                        }
                    }
                }
                if first_response.is_none() && open.channel != Channel::Voice {
                    if let Some(started) = open.started {
                        first_response = Some((agent, millis_between(started, it.ts).max(0)));
                    }
                }
            }
        }
        prev_party = Some((turn.party, it.ts));
    }

    let language = open.language.as_deref().unwrap_or("en");
    let language = if analyzer.supports(language) {
        language
    } else {
        "en"
    };
    let final_index = segments.len().checked_sub(1);
    let mut judgements = Vec::with_capacity(segments.len());
    let mut summaries = Vec::with_capacity(segments.len());
    for (i, s) in segments.iter().enumerate() {
        let as_turn = |&idx: &usize| {
            let (_, t) = messages[idx];
            SegmentTurn {
                message_index: idx,
                party: t.party,
                raised_voice: t.raised_voice,
                features: &t.features,
            }
        };
        let input = SegmentInput {
            language,
            channel: open.channel,
            turns: s.turns.iter().map(as_turn).collect(),
            context_before: s.context.iter().map(as_turn).collect(),
            disposition,
            interruptions: s.interruptions,
        };
        let j = analyzer.judge_segment(&input);
        summaries.push(SegmentSummary::from_judgement(
            &s.agent_id,
            s.joined,
            s.closed,
            s.by_transfer,
            Some(i) == final_index,
            open.channel,
            s.interruptions,
            &s.reply_ms,
            &j,
        ));
        judgements.push(j);
    }
    let first_join = segments.iter().map(|s| s.joined).min();
    let wait_ms = match (open.started, first_join) {
        (Some(st), Some(j)) => Some(millis_between(st, j).max(0)),
        _ => None,
    };
    let summary = ContactSummary {
        contact_id: contact_id.to_string(),
        channel: open.channel,
        customer: open.customer.clone(),
        started: open.started,
        ended,
        disposition,
        callback_due,
        abandoned: segments.is_empty(),
        wait_ms,
        within_service_level: wait_ms
            .map(|w| w <= settings.service_level.get(open.channel).as_millis() as i64),
        first_response: first_response.map(|(agent, ms)| {
            let within = ms <= settings.service_level.get(open.channel).as_millis() as i64;
            (agent, ms, within)
        }),
        segments: summaries,
    };
    (summary, judgements)
}
