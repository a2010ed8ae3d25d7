//! A deliberately naive batch recomputation of every countable figure of
//! kpis.md, written separately from the engine: group the distinct events by
//! contact, sort, count. Shared by the property tests and the broker tests.
#![allow(dead_code)]
// Deliberately plain tuples: the recomputation should read like the definitions.
#![allow(clippy::type_complexity)]

use chrono::{DateTime, Duration, Utc};
use contact_kpi::config::EngineSettings;
use contact_kpi::kpi::window::window_bounds;
use contact_kpi::kpi::Counts;
use contact_kpi::model::{Channel, ContactEvent, Disposition, EventKind, Party};
use std::collections::{BTreeMap, HashMap, HashSet};

#[derive(Debug, Default, Clone, PartialEq)]
pub struct Naive {
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
    pub interruptions: u64,
    pub empathy_scored: u64,
    pub listened_fully: u64,
    pub by_ordinal_scored: [u64; 4],
}

pub fn from_counts(c: &Counts) -> Naive {
    Naive {
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
        interruptions: c.interruptions,
        empathy_scored: c.empathy_scored,
        listened_fully: c.listened_fully,
        by_ordinal_scored: c.empathy_by_ordinal.map(|(s, _)| s),
    }
}

pub type Key = (Option<String>, Channel, usize, i64);

/// Straight from kpis.md, over the distinct events of each contact (those
/// that arrived before its `contact_ended`, plus surveys and call-backs),
/// with no state machine: sort, group, count.
pub fn naive(settings: &EngineSettings, events: &[ContactEvent]) -> BTreeMap<Key, Naive> {
    let mut seen = HashSet::new();
    let mut by_contact: BTreeMap<String, Vec<ContactEvent>> = BTreeMap::new();
    for e in events {
        if seen.insert(e.event_id.clone()) {
            by_contact
                .entry(e.contact_id.clone())
                .or_default()
                .push(e.clone());
        }
    }
    struct Done {
        cid: String,
        channel: Channel,
        customer: Option<String>,
        end: DateTime<Utc>,
        disposition: Disposition,
        final_agent: Option<String>,
        due: Option<DateTime<Utc>>,
        events: Vec<ContactEvent>,
    }
    let mut done = Vec::new();
    let mut starts: Vec<(String, String, DateTime<Utc>)> = Vec::new();
    let mut out: BTreeMap<Key, Naive> = BTreeMap::new();
    let mut segs_for_ordinal: Vec<(
        String,
        DateTime<Utc>,
        String,
        usize,
        bool,
        Channel,
        DateTime<Utc>,
    )> = Vec::new();
    for (cid, evs) in &by_contact {
        // kpis.md: a contact is finalized when its `contact_ended` is
        // processed, so what arrives after it (other than surveys and
        // call-backs) is late, whatever its timestamp.
        let mut ended = false;
        let mut evs: Vec<ContactEvent> = evs
            .iter()
            .filter(|e| {
                let keep = !ended
                    || matches!(
                        e.kind,
                        EventKind::Survey { .. } | EventKind::CallbackCompleted { .. }
                    );
                ended |= matches!(e.kind, EventKind::ContactEnded { .. });
                keep
            })
            .cloned()
            .collect();
        evs.sort_by_key(|e| e.ts);
        if let Some(s) = evs.iter().find_map(|e| match &e.kind {
            EventKind::ContactStarted { customer_id, .. } => Some((customer_id.clone(), e.ts)),
            _ => None,
        }) {
            starts.push((s.0, cid.clone(), s.1));
        }
        let Some(end_ev) = evs
            .iter()
            .find(|e| matches!(e.kind, EventKind::ContactEnded { .. }))
        else {
            continue;
        };
        let (disposition, due) = match end_ev.kind {
            EventKind::ContactEnded {
                disposition,
                callback_due,
            } => (disposition, callback_due),
            _ => unreachable!(),
        };
        let end = end_ev.ts;
        let channel = end_ev.channel;
        let started = evs
            .iter()
            .find_map(|e| matches!(e.kind, EventKind::ContactStarted { .. }).then_some(e.ts));
        let customer = evs.iter().find_map(|e| match &e.kind {
            EventKind::ContactStarted { customer_id, .. } => Some(customer_id.clone()),
            _ => None,
        });
        let body: Vec<&ContactEvent> = evs
            .iter()
            .filter(|e| {
                e.ts <= end
                    && !matches!(
                        e.kind,
                        EventKind::Survey { .. }
                            | EventKind::CallbackCompleted { .. }
                            | EventKind::ContactEnded { .. }
                    )
            })
            .collect();
        // Segments: (agent, joined, closed, by_transfer).
        let mut segs: Vec<(String, DateTime<Utc>, DateTime<Utc>, bool)> = Vec::new();
        for e in &body {
            match &e.kind {
                EventKind::AgentJoined { agent_id } => {
                    if let Some(last) = segs.last_mut() {
                        if last.2 == end && !last.3 {
                            last.2 = e.ts;
                        }
                    }
                    segs.push((agent_id.clone(), e.ts, end, false));
                }
                EventKind::Transfer { .. } => {
                    if let Some(last) = segs.last_mut() {
                        if last.2 == end && !last.3 {
                            last.2 = e.ts;
                            last.3 = true;
                        }
                    }
                }
                _ => {}
            }
        }
        let msgs: Vec<(DateTime<Utc>, Party, Option<String>, Option<DateTime<Utc>>)> = body
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::Message {
                    party,
                    agent_id,
                    end_ts,
                    ..
                } => Some((e.ts, *party, agent_id.clone(), *end_ts)),
                _ => None,
            })
            .collect();
        let sl = settings.service_level.get(channel).as_millis() as i64;
        for (wi, spec) in settings.windows.iter().enumerate() {
            let (ws, _) = window_bounds(spec, settings.timezone, end);
            let ck: Key = (None, channel, wi, ws.timestamp_millis());
            let mut add = |agent: Option<&str>, f: &dyn Fn(&mut Naive)| {
                f(out.entry(ck.clone()).or_default());
                if let Some(a) = agent {
                    f(out
                        .entry((Some(a.to_string()), channel, wi, ws.timestamp_millis()))
                        .or_default());
                }
            };
            add(None, &|n| n.offered += 1);
            if segs.is_empty() {
                add(None, &|n| n.abandoned += 1);
            } else {
                add(None, &|n| n.answered += 1);
                if let Some(st) = started {
                    let wait = (segs.iter().map(|s| s.1).min().unwrap() - st)
                        .num_milliseconds()
                        .max(0);
                    add(None, &|n| {
                        n.wait_ms_sum += wait as u64;
                        n.wait_ms_count += 1;
                        n.answered_within_sl += u64::from(wait <= sl);
                    });
                }
            }
            if channel != Channel::Voice {
                if let (Some(st), Some(first)) =
                    (started, msgs.iter().find(|m| m.1 == Party::Agent))
                {
                    let fr = (first.0 - st).num_milliseconds().max(0);
                    let agent = first.2.clone().unwrap();
                    add(Some(&agent), &|n| {
                        n.first_response_ms_sum += fr as u64;
                        n.first_response_ms_count += 1;
                        n.first_response_within_sla += u64::from(fr <= sl);
                    });
                }
            }
            for (si, (agent, joined, closed, by_transfer)) in segs.iter().enumerate() {
                let is_final = si + 1 == segs.len();
                // A message belongs to the newest segment of its agent that was open at its time.
                let owner = |k: usize| {
                    (0..segs.len()).rev().find(|&o| {
                        segs[o].0.as_str() == msgs[k].2.as_deref().unwrap_or("")
                            && segs[o].1 <= msgs[k].0
                            && msgs[k].0 <= segs[o].2
                    })
                };
                let mine: Vec<usize> = (0..msgs.len())
                    .filter(|&k| msgs[k].1 == Party::Agent && owner(k) == Some(si))
                    .collect();
                let scored = !mine.is_empty();
                let mut interruptions = 0u64;
                let mut reply = (0u64, 0u64);
                for &k in &mine {
                    if channel == Channel::Voice {
                        if let Some(c) = msgs[..k]
                            .iter()
                            .rev()
                            .find(|m| m.1 == Party::Customer && m.0 < msgs[k].0)
                        {
                            if let Some(ce) = c.3 {
                                if (ce - msgs[k].0).num_milliseconds() > 500 {
                                    interruptions += 1;
                                }
                            }
                        }
                    }
                    if channel == Channel::Chat && k > 0 && msgs[k - 1].1 == Party::Customer {
                        reply.0 += (msgs[k].0 - msgs[k - 1].0).num_milliseconds().max(0) as u64;
                        reply.1 += 1;
                    }
                }
                add(Some(agent), &|n| {
                    n.handled += 1;
                    n.transfers_out += u64::from(*by_transfer);
                    n.interruptions += interruptions;
                    n.reply_ms_sum += reply.0;
                    n.reply_ms_count += reply.1;
                    if scored {
                        n.empathy_scored += 1;
                        if channel == Channel::Voice && interruptions == 0 {
                            n.listened_fully += 1;
                        }
                    }
                    if is_final {
                        n.handled_final += 1;
                        match disposition {
                            Disposition::Resolved => n.resolved += 1,
                            Disposition::Unresolved => n.unresolved += 1,
                            Disposition::Escalated => n.escalated += 1,
                            Disposition::CallbackScheduled => n.callback_scheduled += 1,
                        }
                        n.handle_ms_sum += (*closed - *joined).num_milliseconds().max(0) as u64;
                        n.handle_ms_count += 1;
                    }
                });
                // Segments longer than the window retention are left out of
                // the fatigue ordinals (their day may be gone by then).
                let ordinal_kept =
                    end - *joined <= Duration::from_std(settings.window_retention).unwrap();
                if wi == 0 && ordinal_kept {
                    segs_for_ordinal.push((
                        agent.clone(),
                        *joined,
                        cid.clone(),
                        si,
                        scored,
                        channel,
                        end,
                    ));
                }
            }
        }
        done.push(Done {
            cid: cid.clone(),
            channel,
            customer,
            end,
            disposition,
            final_agent: segs.last().map(|s| s.0.clone()),
            due,
            events: evs.clone(),
        });
    }
    let period = Duration::from_std(settings.repeat_period).unwrap();
    for d in &done {
        let Some(agent) = &d.final_agent else {
            continue;
        };
        let mut corrections: Vec<&dyn Fn(&mut Naive)> = Vec::new();
        let repeated = d.disposition == Disposition::Resolved
            && d.customer.as_ref().is_some_and(|k| {
                starts
                    .iter()
                    .any(|(c, id, s)| c == k && *id != d.cid && *s > d.end && *s - d.end <= period)
            });
        let rep = |n: &mut Naive| n.repeat_contacts += 1;
        if repeated {
            corrections.push(&rep);
        }
        let cb = d
            .events
            .iter()
            .filter(|e| matches!(e.kind, EventKind::CallbackCompleted { .. }))
            .map(|e| e.ts)
            .min();
        let kept = |n: &mut Naive| n.callbacks_kept += 1;
        let late = |n: &mut Naive| n.callbacks_late += 1;
        if d.disposition == Disposition::CallbackScheduled {
            if let Some(ts) = cb {
                if ts <= d.due.unwrap() {
                    corrections.push(&kept)
                } else {
                    corrections.push(&late)
                }
            }
        }
        let surveys: Vec<u8> = d
            .events
            .iter()
            .filter_map(|e| match e.kind {
                EventKind::Survey { csat } => Some(csat),
                _ => None,
            })
            .collect();
        let survey = |n: &mut Naive| {
            n.csat_sum += surveys.iter().map(|&c| u64::from(c)).sum::<u64>();
            n.csat_count += surveys.len() as u64;
        };
        if !surveys.is_empty() {
            corrections.push(&survey);
        }
        for (wi, spec) in settings.windows.iter().enumerate() {
            let (ws, _) = window_bounds(spec, settings.timezone, d.end);
            for f in &corrections {
                f(out
                    .entry((None, d.channel, wi, ws.timestamp_millis()))
                    .or_default());
                f(out
                    .entry((Some(agent.clone()), d.channel, wi, ws.timestamp_millis()))
                    .or_default());
            }
        }
    }
    // Fatigue: ordinal in the agent's local day by joined time.
    let mut days: HashMap<
        (String, chrono::NaiveDate),
        Vec<(DateTime<Utc>, String, usize, bool, Channel, DateTime<Utc>)>,
    > = HashMap::new();
    for (agent, joined, cid, si, scored, ch, end) in segs_for_ordinal {
        let day = joined.with_timezone(&settings.timezone).date_naive();
        days.entry((agent, day))
            .or_default()
            .push((joined, cid, si, scored, ch, end));
    }
    for ((agent, _), mut list) in days {
        list.sort_by(|a, b| (a.0, &a.1, a.2).cmp(&(b.0, &b.1, b.2)));
        for (k, (_, _, _, scored, ch, end)) in list.into_iter().enumerate() {
            if !scored {
                continue;
            }
            let ordinal = k + 1;
            let bucket = if ordinal <= 10 {
                0
            } else if ordinal <= 20 {
                1
            } else if ordinal <= 40 {
                2
            } else {
                3
            };
            for (wi, spec) in settings.windows.iter().enumerate() {
                let (ws, _) = window_bounds(spec, settings.timezone, end);
                out.entry((None, ch, wi, ws.timestamp_millis()))
                    .or_default()
                    .by_ordinal_scored[bucket] += 1;
                out.entry((Some(agent.clone()), ch, wi, ws.timestamp_millis()))
                    .or_default()
                    .by_ordinal_scored[bucket] += 1;
            }
        }
    }
    out
}

/// The naive figures of one published aggregate (JSON), with its key.
pub fn published_counts(
    config: &contact_kpi::config::Config,
    v: &serde_json::Value,
) -> (Key, Naive) {
    let u = |f: &str| {
        v[f].as_u64()
            .unwrap_or_else(|| panic!("field {f} missing in {v}"))
    };
    let window = config
        .engine
        .windows
        .iter()
        .position(|w| w.name == v["window"].as_str().unwrap())
        .unwrap();
    let start = chrono::DateTime::parse_from_rfc3339(v["window_start"].as_str().unwrap())
        .unwrap()
        .timestamp_millis();
    let channel = contact_kpi::model::Channel::parse(v["channel"].as_str().unwrap()).unwrap();
    let agent = v["agent_id"].as_str().map(str::to_string);
    let by = |b: &str| v["empathy_by_ordinal"][b]["scored"].as_u64().unwrap_or(0);
    let n = Naive {
        offered: u("offered"),
        answered: u("answered"),
        abandoned: u("abandoned"),
        answered_within_sl: u("answered_within_sl"),
        wait_ms_sum: u("wait_ms_sum"),
        wait_ms_count: u("wait_ms_count"),
        first_response_ms_sum: u("first_response_ms_sum"),
        first_response_ms_count: u("first_response_ms_count"),
        first_response_within_sla: u("first_response_within_sla"),
        reply_ms_sum: u("reply_ms_sum"),
        reply_ms_count: u("reply_ms_count"),
        handled: u("handled"),
        handled_final: u("handled_final"),
        resolved: u("resolved"),
        unresolved: u("unresolved"),
        escalated: u("escalated"),
        callback_scheduled: u("callback_scheduled"),
        transfers_out: u("transfers_out"),
        handle_ms_sum: u("handle_ms_sum"),
        handle_ms_count: u("handle_ms_count"),
        repeat_contacts: u("repeat_contacts"),
        callbacks_kept: u("callbacks_kept"),
        callbacks_late: u("callbacks_late"),
        csat_sum: u("csat_sum"),
        csat_count: u("csat_count"),
        interruptions: u("interruptions"),
        empathy_scored: u("empathy_scored"),
        listened_fully: u("listened_fully"),
        by_ordinal_scored: [by("1-10"), by("11-20"), by("21-40"), by("41+")],
    };
    ((agent, channel, window, start), n)
}
