use super::*;
use crate::model::{decode_event, PayloadFormat};
use std::collections::{BTreeMap, HashMap, HashSet};

fn cfg(seed: u64, contacts_per_hour: f64) -> SimConfig {
    SimConfig {
        agents: 25,
        seed,
        start: SimConfig::default().start,
        contacts_per_hour,
    }
}

/// Every event whose `ts` is before `start + hours`.
fn run_for(cfg: SimConfig, hours: i64) -> Vec<ContactEvent> {
    let until = cfg.start + chrono::Duration::hours(hours);
    Simulator::new(cfg).take_while(|e| e.ts < until).collect()
}

/// The first `n` contacts that start, with every event they ever produce.
fn first_contacts(cfg: SimConfig, n: usize) -> Vec<ContactEvent> {
    let mut started = HashSet::new();
    let mut out = Vec::new();
    let mut last_start = None;
    for e in Simulator::new(cfg) {
        if let EventKind::ContactStarted { .. } = e.kind {
            if started.len() < n {
                started.insert(e.contact_id.clone());
                last_start = Some(e.ts);
            }
        }
        // Surveys come up to 3 days, late call-backs 2.5 days after the end.
        if last_start.is_some_and(|t| started.len() >= n && e.ts > t + chrono::Duration::days(6)) {
            break;
        }
        if started.contains(&e.contact_id) {
            out.push(e);
        }
    }
    out
}

fn by_contact(events: &[ContactEvent]) -> HashMap<&str, Vec<&ContactEvent>> {
    let mut m: HashMap<&str, Vec<&ContactEvent>> = HashMap::new();
    for e in events {
        m.entry(e.contact_id.as_str()).or_default().push(e);
    }
    m
}

const EMPATHY_MARKERS: &[&str] = &[
    "wat vervelend",
    "balen",
    "ik begrijp heel goed",
    "ik snap dat",
    "excuses",
    "begrijp ik goed",
    "kan me voorstellen",
    "snap t",
    "ik ga dit nu voor u uitzoeken",
    "ik zorg ervoor",
    "sorry to hear",
    "must be frustrating",
    "completely understand",
    "i understand you",
    "apologise",
    "i can imagine",
    "sorry",
    "i'll make sure",
];

fn agent_texts<'a>(events: &'a [ContactEvent], agent: &str) -> Vec<&'a str> {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Message {
                party: Party::Agent,
                agent_id: Some(a),
                text,
                ..
            } if a == agent => Some(text.as_str()),
            _ => None,
        })
        .collect()
}

/// All an agent said in each contact, one string per contact.
fn agent_segments(events: &[ContactEvent], agent: &str) -> Vec<String> {
    let mut by: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for e in events {
        if let EventKind::Message {
            party: Party::Agent,
            agent_id: Some(a),
            text,
            ..
        } = &e.kind
        {
            if a == agent {
                by.entry(e.contact_id.as_str())
                    .or_default()
                    .push(own_words(text));
            }
        }
    }
    by.into_values().map(|v| v.join("\n")).collect()
}

/// The agent's own words of a message (an e-mail's quoted history cut off).
fn own_words(text: &str) -> String {
    let cut = text
        .find("\nOp ")
        .or_else(|| text.find("\nOn "))
        .unwrap_or(text.len());
    text[..cut].to_lowercase()
}

fn share_with(texts: &[&str], markers: &[&str]) -> f64 {
    let hits = texts
        .iter()
        .filter(|t| markers.iter().any(|m| own_words(t).contains(m)))
        .count();
    hits as f64 / texts.len().max(1) as f64
}

#[test]
fn same_seed_same_stream_other_seed_other_stream() {
    let a: Vec<_> = Simulator::new(cfg(7, 600.0)).take(3_000).collect();
    let b: Vec<_> = Simulator::new(cfg(7, 600.0)).take(3_000).collect();
    assert_eq!(a, b);
    let c: Vec<_> = Simulator::new(cfg(8, 600.0)).take(3_000).collect();
    assert_ne!(a, c);
}

#[test]
fn events_come_in_non_decreasing_time_order() {
    let events: Vec<_> = Simulator::new(cfg(3, 2_000.0)).take(60_000).collect();
    for w in events.windows(2) {
        assert!(
            w[0].ts <= w[1].ts,
            "{} after {}",
            w[1].event_id,
            w[0].event_id
        );
    }
}

#[test]
fn every_event_is_valid_per_the_contract() {
    let events = first_contacts(cfg(11, 300.0), 1_500);
    let mut ids = HashSet::new();
    for e in &events {
        let bytes = serde_json::to_vec(&e.to_json()).unwrap();
        let back = decode_event(Some(&bytes), None, PayloadFormat::Auto, 1 << 20)
            .unwrap_or_else(|err| panic!("{err}: {}", e.to_json()));
        assert_eq!(&back, e);
        assert!(
            ids.insert(e.event_id.clone()),
            "duplicate event id {}",
            e.event_id
        );
    }
    // The life of each contact follows the contract.
    for (id, evs) in by_contact(&events) {
        let mut current: Option<&str> = None;
        let mut ended = false;
        let mut started = false;
        for e in evs {
            match &e.kind {
                EventKind::ContactStarted { customer_id, .. } => {
                    assert!(!started, "{id}: started twice");
                    assert!(customer_id.starts_with('k'));
                    started = true;
                }
                EventKind::AgentJoined { agent_id } => {
                    assert!(
                        started && !ended && current.is_none(),
                        "{id}: join without transfer"
                    );
                    current = Some(agent_id);
                }
                EventKind::Transfer { from_agent_id } => {
                    assert_eq!(
                        current,
                        Some(from_agent_id.as_str()),
                        "{id}: transfer by someone else"
                    );
                    current = None;
                }
                EventKind::Message {
                    party,
                    agent_id,
                    end_ts,
                    raised_voice,
                    ..
                } => {
                    assert!(started && !ended, "{id}: message outside the contact");
                    if *party == Party::Agent {
                        assert_eq!(
                            agent_id.as_deref(),
                            current,
                            "{id}: agent not in the segment talks"
                        );
                    }
                    if e.channel == Channel::Voice {
                        assert!(
                            end_ts.is_some_and(|t| t > e.ts),
                            "{id}: voice message without end_ts"
                        );
                    } else {
                        assert!(
                            end_ts.is_none() && !raised_voice,
                            "{id}: voice fields on {}",
                            e.channel
                        );
                    }
                }
                EventKind::ContactEnded {
                    disposition,
                    callback_due,
                } => {
                    assert!(started && !ended);
                    assert_eq!(
                        *disposition == Disposition::CallbackScheduled && current.is_some(),
                        callback_due.is_some(),
                        "{id}"
                    );
                    ended = true;
                }
                EventKind::CallbackCompleted { .. } | EventKind::Survey { .. } => {
                    assert!(ended, "{id}: {:?} before end", e.kind)
                }
            }
        }
        assert!(ended, "{id} never ended");
    }
}

#[test]
fn channel_mix_is_the_dutch_mix() {
    let events = run_for(cfg(5, 600.0), 5);
    let mut counts: HashMap<Channel, usize> = HashMap::new();
    for e in &events {
        if let EventKind::ContactStarted { .. } = e.kind {
            *counts.entry(e.channel).or_default() += 1;
        }
    }
    let total: usize = counts.values().sum();
    assert!(
        (2_700..=3_300).contains(&total),
        "{total} contacts in 5 hours at 600/h"
    );
    let share = |c| counts.get(&c).copied().unwrap_or(0) as f64 / total as f64;
    assert!(
        (share(Channel::Voice) - 0.60).abs() < 0.04,
        "voice {}",
        share(Channel::Voice)
    );
    assert!(
        (share(Channel::Email) - 0.27).abs() < 0.04,
        "email {}",
        share(Channel::Email)
    );
    assert!(
        (share(Channel::Chat) - 0.13).abs() < 0.03,
        "chat {}",
        share(Channel::Chat)
    );
}

#[test]
fn personalities_show_in_the_words() {
    let events = run_for(cfg(21, 600.0), 8);
    let segs = |a| agent_segments(&events, a);
    let (warm, scripted, curt, pitying) = (segs("a01"), segs("a02"), segs("a03"), segs("a05"));
    let (warm, scripted, curt, pitying): (Vec<&str>, Vec<&str>, Vec<&str>, Vec<&str>) = (
        warm.iter().map(String::as_str).collect(),
        scripted.iter().map(String::as_str).collect(),
        curt.iter().map(String::as_str).collect(),
        pitying.iter().map(String::as_str).collect(),
    );
    assert!(
        warm.len() > 100 && curt.len() > 100,
        "{} {}",
        warm.len(),
        curt.len()
    );
    let (w, c) = (
        share_with(&warm, EMPATHY_MARKERS),
        share_with(&curt, EMPATHY_MARKERS),
    );
    assert!(w > 4.0 * c && w > 0.3, "warm {w:.2} vs curt {c:.2}");
    let stock = ["wat vervelend", "so awful", "how awful", "terrible for you"];
    assert!(
        share_with(&scripted, &stock) > 0.5,
        "scripted {:.2}",
        share_with(&scripted, &stock)
    );
    assert!(share_with(&scripted, &["meid", "schat", "hun!", "sweetie"]) > 0.05);
    let pity = [
        "gossie",
        "arme ziel",
        "zielig",
        "poor thing",
        "poor you",
        "poor soul",
        "bless you",
    ];
    assert!(share_with(&pitying, &pity) > 5.0 * share_with(&warm, &pity).max(0.005));
    let curt_questions = agent_texts(&events, "a03")
        .iter()
        .filter(|t| t.len() < 30 && t.ends_with('?'))
        .count();
    assert!(curt_questions > 10, "curt questions {curt_questions}");
}

#[test]
fn the_interrupter_talks_over_customers() {
    let events = run_for(cfg(4, 600.0), 6);
    let mut interruptions: HashMap<&str, (usize, usize)> = HashMap::new();
    for evs in by_contact(&events).values() {
        let mut last_customer: Option<(Timestamp, Timestamp)> = None;
        for e in evs {
            if let EventKind::Message {
                party,
                agent_id,
                end_ts: Some(end),
                ..
            } = &e.kind
            {
                match party {
                    Party::Customer => last_customer = Some((e.ts, *end)),
                    Party::Agent => {
                        let entry = interruptions
                            .entry(agent_id.as_deref().unwrap_or(""))
                            .or_default();
                        entry.1 += 1;
                        if last_customer
                            .is_some_and(|(s, ce)| s < e.ts && (ce - e.ts).num_milliseconds() > 500)
                        {
                            entry.0 += 1;
                        }
                        last_customer = None;
                    }
                }
            }
        }
    }
    let rate = |a: &str| {
        interruptions
            .get(a)
            .map_or(0.0, |(i, n)| *i as f64 / (*n).max(1) as f64)
    };
    assert!(rate("a04") > 0.15, "interrupter {:.2}", rate("a04"));
    assert!(
        rate("a01") < 0.05 && rate("a01") < rate("a04") / 4.0,
        "warm {:.2}",
        rate("a01")
    );
}

#[test]
fn the_tiring_agent_loses_empathy_over_the_day() {
    let events = run_for(cfg(9, 120.0), 72);
    let mut per_day: HashMap<(String, i64), u32> = HashMap::new();
    let mut early = Vec::new();
    let mut late = Vec::new();
    let mut ordinal_of: HashMap<&str, u32> = HashMap::new();
    for e in &events {
        if let EventKind::AgentJoined { agent_id } = &e.kind {
            if agent_id == "a06" {
                let c = per_day
                    .entry((agent_id.clone(), e.ts.timestamp().div_euclid(86_400)))
                    .or_default();
                *c += 1;
                ordinal_of.insert(e.contact_id.as_str(), *c);
            }
        }
        if let EventKind::Message {
            party: Party::Agent,
            agent_id: Some(a),
            text,
            ..
        } = &e.kind
        {
            if a == "a06" {
                match ordinal_of.get(e.contact_id.as_str()) {
                    Some(&o) if o <= 10 => early.push(text.as_str()),
                    Some(&o) if o > 30 => late.push(text.as_str()),
                    _ => {}
                }
            }
        }
    }
    let (e, l) = (
        share_with(&early, EMPATHY_MARKERS),
        share_with(&late, EMPATHY_MARKERS),
    );
    assert!(
        early.len() > 50 && late.len() > 50,
        "{} {}",
        early.len(),
        late.len()
    );
    assert!(e > 1.8 * l, "early {e:.2} late {l:.2}");
}

#[test]
fn customers_come_back() {
    let events = run_for(cfg(2, 60.0), 24 * 14);
    let mut starts: HashMap<&str, Vec<Timestamp>> = HashMap::new();
    let mut total = 0;
    for e in &events {
        if let EventKind::ContactStarted { customer_id, .. } = &e.kind {
            starts.entry(customer_id.as_str()).or_default().push(e.ts);
            total += 1;
        }
    }
    let week = chrono::Duration::days(7);
    let within_week: usize = starts
        .values()
        .map(|ts| ts.windows(2).filter(|w| w[1] - w[0] <= week).count())
        .sum();
    let share = within_week as f64 / total as f64;
    assert!(
        (0.07..0.2).contains(&share),
        "repeat share {share:.3} of {total}"
    );
}

#[test]
fn surveys_and_callbacks_come_after_the_end() {
    let events = first_contacts(cfg(6, 300.0), 2_000);
    let mut ended: HashMap<&str, (Timestamp, Option<Timestamp>)> = HashMap::new();
    let (mut surveys, mut answered, mut kept, mut late, mut scheduled) = (0, 0, 0, 0, 0);
    let mut csat_by_disposition: HashMap<Disposition, (u32, u32)> = HashMap::new();
    let mut disposition_of: HashMap<&str, Disposition> = HashMap::new();
    for e in &events {
        match &e.kind {
            EventKind::AgentJoined { .. } => {
                disposition_of
                    .entry(e.contact_id.as_str())
                    .or_insert(Disposition::Unresolved);
            }
            EventKind::ContactEnded {
                disposition,
                callback_due,
            } => {
                ended.insert(e.contact_id.as_str(), (e.ts, *callback_due));
                if disposition_of.contains_key(e.contact_id.as_str()) {
                    answered += 1;
                    disposition_of.insert(e.contact_id.as_str(), *disposition);
                    if callback_due.is_some() {
                        scheduled += 1;
                    }
                }
            }
            EventKind::Survey { csat } => {
                let (end, _) = ended
                    .get(e.contact_id.as_str())
                    .expect("survey before contact_ended");
                assert!(e.ts > *end);
                surveys += 1;
                let d = disposition_of[e.contact_id.as_str()];
                let entry = csat_by_disposition.entry(d).or_default();
                entry.0 += u32::from(*csat);
                entry.1 += 1;
            }
            EventKind::CallbackCompleted { .. } => {
                let (end, due) = ended
                    .get(e.contact_id.as_str())
                    .expect("callback before contact_ended");
                assert!(e.ts > *end);
                if e.ts <= due.expect("callback without due") {
                    kept += 1;
                } else {
                    late += 1;
                }
            }
            _ => {}
        }
    }
    let share = surveys as f64 / answered as f64;
    assert!((0.14..0.28).contains(&share), "survey share {share:.2}");
    assert!(
        kept > late && late > 0 && kept + late < scheduled,
        "kept {kept} late {late} of {scheduled}"
    );
    let mean = |d| {
        csat_by_disposition
            .get(&d)
            .map_or(0.0, |(s, n)| f64::from(*s) / f64::from(*n))
    };
    assert!(mean(Disposition::Resolved) > mean(Disposition::Unresolved) + 1.0);
}

#[test]
fn an_hour_of_traffic_looks_like_a_contact_center() {
    let events = first_contacts(cfg(13, 600.0), 3_000);
    let contacts = by_contact(&events);
    let mut offered: HashMap<Channel, usize> = HashMap::new();
    let mut abandoned: HashMap<Channel, usize> = HashMap::new();
    let mut dispositions: HashMap<Disposition, usize> = HashMap::new();
    let (mut transfers, mut answered, mut no_language, mut hostile) = (0, 0, 0, 0);
    for evs in contacts.values() {
        let ch = evs[0].channel;
        *offered.entry(ch).or_default() += 1;
        let joined = evs
            .iter()
            .any(|e| matches!(e.kind, EventKind::AgentJoined { .. }));
        for e in evs {
            match &e.kind {
                EventKind::ContactStarted { language: None, .. } => no_language += 1,
                EventKind::Transfer { .. } => transfers += 1,
                EventKind::Message {
                    raised_voice: true, ..
                } => hostile += 1,
                EventKind::ContactEnded { disposition, .. } if joined => {
                    answered += 1;
                    *dispositions.entry(*disposition).or_default() += 1;
                }
                EventKind::ContactEnded { .. } => *abandoned.entry(ch).or_default() += 1,
                _ => {}
            }
        }
    }
    let rate = |c| abandoned.get(&c).copied().unwrap_or(0) as f64 / offered[&c] as f64;
    assert!(
        (0.04..0.09).contains(&rate(Channel::Voice)),
        "voice abandon {:.3}",
        rate(Channel::Voice)
    );
    assert!(rate(Channel::Email) < 0.04);
    assert!(
        rate(Channel::Chat) < 0.07,
        "chat abandon {:.3}",
        rate(Channel::Chat)
    );
    let resolved = dispositions[&Disposition::Resolved] as f64 / answered as f64;
    assert!((0.62..0.76).contains(&resolved), "resolved {resolved:.2}");
    let transfer_share = transfers as f64 / answered as f64;
    assert!(
        (0.05..0.11).contains(&transfer_share),
        "transfers {transfer_share:.3}"
    );
    assert!(
        no_language > 100 && no_language < 600,
        "no language on {no_language}"
    );
    assert!(hostile > 30, "raised voices {hostile}");
    let per_contact = events.len() as f64 / contacts.len() as f64;
    assert!(
        (per_contact / EVENTS_PER_CONTACT_ESTIMATE - 1.0).abs() < 0.08,
        "{per_contact:.2} events per contact vs estimate {EVENTS_PER_CONTACT_ESTIMATE}"
    );
    eprintln!(
        "offered {offered:?} abandoned {abandoned:?} dispositions {dispositions:?} transfers {transfers} \
         events/contact {per_contact:.2}"
    );
}
