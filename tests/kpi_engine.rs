//! The KPI engine against a deliberately naive batch recomputation written
//! separately here from the definitions in kpis.md, over random event
//! streams with duplicates, reordering inside contacts, transfers, abandons,
//! late surveys, call-backs and repeat contacts. Plus the edge cases of each
//! definition.

use chrono::{DateTime, Duration, Utc};
use contact_kpi::config::{Config, EngineSettings};
use contact_kpi::empathy::Analyzer;
use contact_kpi::kpi::{AggKey, Counts, Engine};
use contact_kpi::model::{Channel, ContactEvent, Disposition, EventKind, Party};
use proptest::prelude::*;

mod common;
use common::naive::{from_counts, naive, Key, Naive};
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

fn settings() -> EngineSettings {
    let mut env = vec![(
        "CONTACT_KPI__TIMEZONE".to_string(),
        "Europe/Amsterdam".to_string(),
    )];
    env.push(("CONTACT_KPI__WINDOWS".into(), "1h,1d".into()));
    Config::load_with_env(None, env).unwrap().engine
}

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-10-24T20:00:00Z")
        .unwrap()
        .to_utc()
}

// ---------------------------------------------------------------- generator

#[derive(Debug, Clone)]
struct MsgSpec {
    agent_side: bool,
    offset_ms: i64,
    dur_ms: i64,
}

#[derive(Debug, Clone)]
struct SegSpec {
    agent: usize,
    len_ms: i64,
    transfer: bool,
    msgs: Vec<MsgSpec>,
}

#[derive(Debug, Clone)]
struct ContactSpec {
    channel: usize,
    customer: usize,
    start_ms: i64,
    wait_ms: i64,
    segs: Vec<SegSpec>,
    disposition: usize,
    callback_due_ms: i64,
    callback_after_ms: Option<i64>,
    surveys: Vec<(u8, i64)>,
    pre_msgs: usize,
    send_started: bool,
}

fn msg_spec() -> impl Strategy<Value = MsgSpec> {
    (any::<bool>(), 0i64..240_000, 0i64..20_000).prop_map(|(agent_side, offset_ms, dur_ms)| {
        MsgSpec {
            agent_side,
            offset_ms,
            dur_ms,
        }
    })
}

fn seg_spec() -> impl Strategy<Value = SegSpec> {
    (
        0usize..4,
        1_000i64..600_000,
        any::<bool>(),
        prop::collection::vec(msg_spec(), 0..5),
    )
        .prop_map(|(agent, len_ms, transfer, msgs)| SegSpec {
            agent,
            len_ms,
            transfer,
            msgs,
        })
}

fn contact_spec() -> impl Strategy<Value = ContactSpec> {
    (
        (0usize..3, 0usize..5, 0i64..(3 * 86_400_000), 0i64..200_000),
        prop::collection::vec(seg_spec(), 0..3),
        (
            0usize..4,
            0i64..7_200_000,
            prop::option::of(0i64..14_400_000),
        ),
        prop::collection::vec((1u8..=5, 0i64..(2 * 86_400_000)), 0..2),
        (0usize..2, prop::bool::weighted(0.95)),
    )
        .prop_map(
            |(
                (channel, customer, start_ms, wait_ms),
                segs,
                (disposition, callback_due_ms, callback_after_ms),
                surveys,
                (pre_msgs, send_started),
            )| {
                ContactSpec {
                    channel,
                    customer,
                    start_ms,
                    wait_ms,
                    segs,
                    disposition,
                    callback_due_ms,
                    callback_after_ms,
                    surveys,
                    pre_msgs,
                    send_started,
                }
            },
        )
}

const CHANNELS: [Channel; 3] = [Channel::Voice, Channel::Chat, Channel::Email];
const DISPOSITIONS: [Disposition; 4] = [
    Disposition::Resolved,
    Disposition::Unresolved,
    Disposition::Escalated,
    Disposition::CallbackScheduled,
];

/// Events of one contact in time order: (events before/at the end, corrections after).
fn contact_events(i: usize, c: &ContactSpec) -> (Vec<ContactEvent>, Vec<ContactEvent>) {
    let channel = CHANNELS[c.channel];
    let cid = format!("c{i}");
    let mut n = 0;
    let mut ev = |ts: DateTime<Utc>, kind: EventKind| {
        n += 1;
        ContactEvent {
            event_id: format!("{cid}-e{n}"),
            contact_id: cid.clone(),
            channel,
            ts,
            kind,
        }
    };
    let start = t0() + Duration::milliseconds(c.start_ms);
    let mut main = Vec::new();
    if c.send_started {
        main.push(ev(
            start,
            EventKind::ContactStarted {
                customer_id: format!("k{}", c.customer),
                queue: None,
                language: Some("en".into()),
            },
        ));
    }
    for p in 0..c.pre_msgs {
        main.push(ev(
            start + Duration::milliseconds(p as i64 + 1),
            EventKind::Message {
                party: Party::Customer,
                agent_id: None,
                text: "My order has not arrived.".into(),
                end_ts: None,
                raised_voice: false,
            },
        ));
    }
    let mut t = start + Duration::milliseconds(c.wait_ms);
    for (si, s) in c.segs.iter().enumerate() {
        let agent = format!("a{}", s.agent);
        main.push(ev(
            t,
            EventKind::AgentJoined {
                agent_id: agent.clone(),
            },
        ));
        for m in &s.msgs {
            let ts = t + Duration::milliseconds(m.offset_ms.min(s.len_ms));
            let end_ts = (channel == Channel::Voice).then(|| ts + Duration::milliseconds(m.dur_ms));
            main.push(if m.agent_side {
                ev(
                    ts,
                    EventKind::Message {
                        party: Party::Agent,
                        agent_id: Some(agent.clone()),
                        text: "I will check your order now.".into(),
                        end_ts,
                        raised_voice: false,
                    },
                )
            } else {
                ev(
                    ts,
                    EventKind::Message {
                        party: Party::Customer,
                        agent_id: None,
                        text: "Where is my parcel?".into(),
                        end_ts,
                        raised_voice: false,
                    },
                )
            });
        }
        t += Duration::milliseconds(s.len_ms);
        if s.transfer && si + 1 < c.segs.len() {
            main.push(ev(
                t,
                EventKind::Transfer {
                    from_agent_id: agent,
                },
            ));
            t += Duration::milliseconds(1_000);
        }
    }
    let end = t + Duration::milliseconds(500);
    let disposition = DISPOSITIONS[c.disposition];
    let due = end + Duration::milliseconds(c.callback_due_ms);
    main.push(ev(
        end,
        EventKind::ContactEnded {
            disposition,
            callback_due: (disposition == Disposition::CallbackScheduled).then_some(due),
        },
    ));
    let mut later = Vec::new();
    if let Some(after) = c.callback_after_ms {
        let agent = format!("a{}", c.segs.last().map_or(0, |s| s.agent));
        later.push(ev(
            end + Duration::milliseconds(after),
            EventKind::CallbackCompleted { agent_id: agent },
        ));
    }
    for &(csat, after) in &c.surveys {
        later.push(ev(
            end + Duration::milliseconds(after),
            EventKind::Survey { csat },
        ));
    }
    (main, later)
}

/// A delivery order: contacts interleaved by time, events inside a contact
/// shuffled (contact_ended stays the last of its contact), some duplicated.
fn delivery(contacts: &[ContactSpec], shuffle_seed: u64, dup_every: usize) -> Vec<ContactEvent> {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(shuffle_seed);
    let mut all: Vec<(DateTime<Utc>, u64, ContactEvent)> = Vec::new();
    let mut seq = 0u64;
    for (i, c) in contacts.iter().enumerate() {
        let (mut main, later) = contact_events(i, c);
        let end = main.pop().expect("contact_ended");
        // Shuffle the contact's events, then give them the delivery times of the sorted order.
        let times: Vec<DateTime<Utc>> = main.iter().map(|e| e.ts).collect();
        for k in (1..main.len()).rev() {
            let j = rng.random_range(0..=k);
            main.swap(k, j);
        }
        for (e, at) in main.into_iter().zip(times) {
            seq += 1;
            all.push((at, seq, e));
        }
        seq += 1;
        all.push((end.ts, seq, end));
        for e in later {
            seq += 1;
            all.push((e.ts, seq, e));
        }
    }
    all.sort_by_key(|(at, seq, _)| (*at, *seq));
    let mut out = Vec::new();
    for (k, (_, _, e)) in all.into_iter().enumerate() {
        if dup_every > 0 && k % dup_every == 0 {
            out.push(e.clone());
        }
        out.push(e);
    }
    out
}

fn run_engine(
    settings: &EngineSettings,
    events: &[ContactEvent],
    advance_every: usize,
) -> BTreeMap<Key, Naive> {
    let mut engine = Engine::new(settings.clone(), Arc::new(Analyzer::builtin()));
    for (i, e) in events.iter().enumerate() {
        engine.apply(e.clone());
        if advance_every > 0 && i % advance_every == 0 {
            engine.advance();
            engine.take_updates();
        }
    }
    engine
        .state()
        .aggregator
        .iter()
        .map(|(k, w): (&AggKey, _)| {
            (
                (k.agent.clone(), k.channel, k.window, k.start_ms),
                from_counts(&w.counts),
            )
        })
        .filter(|(_, n)| *n != Naive::default())
        .collect()
}

fn assert_same(engine: &BTreeMap<Key, Naive>, naive: &BTreeMap<Key, Naive>) {
    let keys: HashSet<&Key> = engine.keys().chain(naive.keys()).collect();
    for k in keys {
        let d = Naive::default();
        let (e, n) = (engine.get(k).unwrap_or(&d), naive.get(k).unwrap_or(&d));
        assert_eq!(e, n, "aggregate {k:?} differs (left: engine, right: naive)");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn engine_matches_naive_recomputation(
        contacts in prop::collection::vec(contact_spec(), 1..40),
        shuffle_seed in any::<u64>(),
        dup_every in prop::sample::select(vec![0usize, 3, 7]),
        advance_every in prop::sample::select(vec![0usize, 1, 10]),
    ) {
        let s = settings();
        let events = delivery(&contacts, shuffle_seed, dup_every);
        let expected = naive(&s, &events);
        let got = run_engine(&s, &events, advance_every);
        assert_same(&got, &expected);
    }

    #[test]
    fn snapshot_and_restore_midway_changes_nothing(
        contacts in prop::collection::vec(contact_spec(), 1..20),
        cut in 0usize..200,
    ) {
        let s = settings();
        let events = delivery(&contacts, 7, 0);
        let cut = cut.min(events.len());
        let analyzer = Arc::new(Analyzer::builtin());
        let mut first = Engine::new(s.clone(), analyzer.clone());
        for e in &events[..cut] { first.apply(e.clone()); }
        let mut second = Engine::new(s.clone(), analyzer);
        second.restore(&first.snapshot()).unwrap();
        for e in &events[cut..] { second.apply(e.clone()); }
        let got: BTreeMap<Key, Naive> = second.state().aggregator.iter()
            .map(|(k, w)| ((k.agent.clone(), k.channel, k.window, k.start_ms), from_counts(&w.counts)))
            .filter(|(_, n)| *n != Naive::default()).collect();
        assert_same(&got, &naive(&s, &events));
    }
}

// ------------------------------------------------ partitioned stage tasks

/// The three stages as the Kafka pipeline runs them: per-partition tasks
/// joined by keyed routing, each task committing its changelog, and at
/// `crash_at` every task thrown away and rebuilt from its changelog alone.
fn run_partitioned(
    s: &EngineSettings,
    events: &[ContactEvent],
    advance_every: usize,
    crash_at: usize,
) -> BTreeMap<Key, Naive> {
    use contact_kpi::kpi::tasks::{AggregateTask, AssembleTask, ChangelogRecord, RepeatTask};
    use contact_kpi::kpi::{EngineCounters, Fact, Route};
    use std::hash::{Hash, Hasher};
    fn part<T: Hash>(k: &T, n: usize) -> usize {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        k.hash(&mut h);
        (h.finish() % n as u64) as usize
    }
    type Log = BTreeMap<Vec<u8>, Vec<u8>>;
    fn commit(log: &mut Log, records: Vec<ChangelogRecord>) {
        for (k, v) in records {
            match v {
                Some(v) => {
                    log.insert(k, v);
                }
                None => {
                    log.remove(&k);
                }
            }
        }
    }
    let analyzer = Analyzer::builtin();
    let mut c = EngineCounters::default();
    let mut s1: Vec<AssembleTask> = (0..3).map(|_| AssembleTask::default()).collect();
    let mut s2: Vec<RepeatTask> = (0..2).map(|_| RepeatTask::default()).collect();
    let mut s3: Vec<AggregateTask> = (0..2).map(|_| AggregateTask::default()).collect();
    let (mut l1, mut l2, mut l3) = (
        vec![Log::new(); 3],
        vec![Log::new(); 2],
        vec![Log::new(); 2],
    );
    for (i, e) in events.iter().enumerate() {
        let p1 = part(&e.contact_id, 3);
        let facts = s1[p1].apply(s, &analyzer, e.clone(), &mut c);
        let t1 = s1[p1].stream_time().unwrap();
        for f in facts {
            let p2 = match &f {
                Fact::CustomerContactStarted { customer, .. } => part(customer, 2),
                Fact::ContactFinished(sum) => sum
                    .customer
                    .as_ref()
                    .map_or(part(&sum.contact_id, 2), |c| part(c, 2)),
                _ => part(&e.contact_id, 2),
            };
            for g in s2[p2].apply(s, t1, f) {
                for r in g.routes() {
                    // The queue shares partition 0 with some agents, as it may in Kafka.
                    let p3 = match &r {
                        Route::Agent(a) => part(a, 2),
                        Route::Queue => 0,
                    };
                    s3[p3].apply(s, t1, r, &g, &mut c);
                }
            }
        }
        if advance_every > 0 && i % advance_every == 0 {
            for t in s1.iter_mut() {
                if let Some(n) = t.stream_time() {
                    t.advance(s, n, &mut c);
                }
            }
            for t in s2.iter_mut() {
                if let Some(n) = t.stream_time() {
                    t.advance(s, n);
                }
            }
            for t in s3.iter_mut() {
                if let Some(n) = t.stream_time() {
                    t.advance(s, n);
                }
                t.take_output(s);
            }
        }
        for (t, l) in s1.iter_mut().zip(l1.iter_mut()) {
            commit(l, t.take_changelog());
        }
        for (t, l) in s2.iter_mut().zip(l2.iter_mut()) {
            commit(l, t.take_changelog());
        }
        for (t, l) in s3.iter_mut().zip(l3.iter_mut()) {
            t.take_output(s);
            commit(l, t.take_changelog());
        }
        if i == crash_at {
            for (t, l) in s1.iter_mut().zip(&l1) {
                *t = AssembleTask::default();
                for (k, v) in l {
                    t.restore(k, Some(v)).unwrap();
                }
            }
            for (t, l) in s2.iter_mut().zip(&l2) {
                *t = RepeatTask::default();
                for (k, v) in l {
                    t.restore(k, Some(v)).unwrap();
                }
            }
            for (t, l) in s3.iter_mut().zip(&l3) {
                *t = AggregateTask::default();
                for (k, v) in l {
                    t.restore(k, Some(v)).unwrap();
                }
            }
        }
    }
    let mut out = BTreeMap::new();
    for t in &s3 {
        for (k, w) in t.aggregator().iter() {
            let key = (k.agent.clone(), k.channel, k.window, k.start_ms);
            assert!(
                out.insert(key.clone(), from_counts(&w.counts)).is_none(),
                "{key:?} lives in two partitions"
            );
        }
    }
    out.retain(|_, n| *n != Naive::default());
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn partitioned_tasks_restored_from_changelogs_match_naive(
        contacts in prop::collection::vec(contact_spec(), 1..30),
        shuffle_seed in any::<u64>(),
        dup_every in prop::sample::select(vec![0usize, 5]),
        advance_every in prop::sample::select(vec![0usize, 1, 10]),
        crash_at in 0usize..300,
    ) {
        let s = settings();
        let events = delivery(&contacts, shuffle_seed, dup_every);
        let got = run_partitioned(&s, &events, advance_every, crash_at);
        assert_same(&got, &naive(&s, &events));
    }
}

// ------------------------------------------------------------- edge cases

struct Script {
    events: Vec<ContactEvent>,
    n: usize,
}

impl Script {
    fn new() -> Self {
        Script {
            events: Vec::new(),
            n: 0,
        }
    }
    fn at(&mut self, contact: &str, channel: Channel, ts: &str, kind: EventKind) -> &mut Self {
        self.n += 1;
        self.events.push(ContactEvent {
            event_id: format!("x{}", self.n),
            contact_id: contact.into(),
            channel,
            ts: DateTime::parse_from_rfc3339(ts).unwrap().to_utc(),
            kind,
        });
        self
    }
}

fn started(customer: &str) -> EventKind {
    EventKind::ContactStarted {
        customer_id: customer.into(),
        queue: None,
        language: Some("nl".into()),
    }
}
fn joined(agent: &str) -> EventKind {
    EventKind::AgentJoined {
        agent_id: agent.into(),
    }
}
fn ended(d: Disposition) -> EventKind {
    EventKind::ContactEnded {
        disposition: d,
        callback_due: None,
    }
}
fn say(party: Party, agent: Option<&str>, text: &str, end: Option<&str>) -> EventKind {
    EventKind::Message {
        party,
        agent_id: agent.map(str::to_string),
        text: text.into(),
        end_ts: end.map(|e| DateTime::parse_from_rfc3339(e).unwrap().to_utc()),
        raised_voice: false,
    }
}

fn counts_of(
    engine: &Engine,
    agent: Option<&str>,
    channel: Channel,
    window: usize,
    start: &str,
) -> Counts {
    let key = AggKey {
        agent: agent.map(str::to_string),
        channel,
        window,
        start_ms: DateTime::parse_from_rfc3339(start)
            .unwrap()
            .timestamp_millis(),
    };
    engine
        .state()
        .aggregator
        .get(&key)
        .map(|w| w.counts.clone())
        .unwrap_or_default()
}

fn engine_with(events: &[ContactEvent]) -> Engine {
    let s = Config::default().engine;
    let mut e = Engine::new(s, Arc::new(Analyzer::builtin()));
    for ev in events {
        e.apply(ev.clone());
    }
    e
}

#[test]
fn contract_example_by_hand() {
    // events.md's example: a Dutch chat, answered after 40 s, resolved at 09:06.
    let lines = [
        r#"{"event_id":"e1","contact_id":"c42","channel":"chat","type":"contact_started","ts":"2026-11-22T09:00:00Z","customer_id":"k7","language":"nl"}"#,
        r#"{"event_id":"e2","contact_id":"c42","channel":"chat","type":"agent_joined","ts":"2026-11-22T09:00:40Z","agent_id":"a3"}"#,
        r#"{"event_id":"e3","contact_id":"c42","channel":"chat","type":"message","ts":"2026-11-22T09:00:41Z","party":"customer","text":"Mijn pakket is na vijf weken nog steeds niet binnen."}"#,
        r#"{"event_id":"e4","contact_id":"c42","channel":"chat","type":"message","ts":"2026-11-22T09:01:10Z","party":"agent","agent_id":"a3","text":"Wat vervelend dat u zo lang moet wachten. Mag ik uw ordernummer?"}"#,
        r#"{"event_id":"e5","contact_id":"c42","channel":"chat","type":"contact_ended","ts":"2026-11-22T09:06:00Z","disposition":"resolved"}"#,
    ];
    let events: Vec<ContactEvent> = lines
        .iter()
        .map(|l| {
            contact_kpi::model::decode_event(
                Some(l.as_bytes()),
                None,
                contact_kpi::model::PayloadFormat::Auto,
                1 << 20,
            )
            .unwrap()
        })
        .collect();
    let e = engine_with(&events);
    let ch = counts_of(&e, None, Channel::Chat, 0, "2026-11-22T09:00:00Z");
    assert_eq!((ch.offered, ch.answered, ch.abandoned), (1, 1, 0));
    assert_eq!(
        (ch.wait_ms_sum, ch.wait_ms_count, ch.answered_within_sl),
        (40_000, 1, 1)
    ); // 40 s ≤ 60 s
    assert_eq!(
        (
            ch.first_response_ms_sum,
            ch.first_response_ms_count,
            ch.first_response_within_sla
        ),
        (70_000, 1, 0)
    ); // 70 s > 60 s
    assert_eq!((ch.reply_ms_sum, ch.reply_ms_count), (29_000, 1));
    let a = counts_of(&e, Some("a3"), Channel::Chat, 0, "2026-11-22T09:00:00Z");
    assert_eq!((a.handled, a.handled_final, a.resolved), (1, 1, 1));
    assert_eq!((a.handle_ms_sum, a.handle_ms_count), (320_000, 1)); // 09:00:40 → 09:06:00
    assert_eq!(a.empathy_scored, 1);
    assert_eq!(a.questions_asked, 1);
    assert_eq!(a.empathy_by_ordinal[0].0, 1);
    // The day window holds the same figures.
    let day = counts_of(&e, Some("a3"), Channel::Chat, 1, "2026-11-22T00:00:00Z");
    assert_eq!(day, a);
    // Queue-only figures stay off the agent level.
    assert_eq!((a.offered, a.answered), (0, 0));
}

#[test]
fn abandon_after_the_threshold_counts_only_at_channel_level() {
    let mut s = Script::new();
    s.at("c1", Channel::Voice, "2026-11-22T09:00:00Z", started("k1"))
        .at(
            "c1",
            Channel::Voice,
            "2026-11-22T09:02:00Z",
            ended(Disposition::Resolved),
        );
    let e = engine_with(&s.events);
    let ch = counts_of(&e, None, Channel::Voice, 0, "2026-11-22T09:00:00Z");
    assert_eq!(
        (ch.offered, ch.answered, ch.abandoned, ch.answered_within_sl),
        (1, 0, 1, 0)
    );
    assert_eq!((ch.resolved, ch.handled, ch.wait_ms_count), (0, 0, 0));
    assert_eq!(
        e.state()
            .aggregator
            .iter()
            .filter(|(k, _)| k.agent.is_some())
            .count(),
        0
    );
}

#[test]
fn transfer_then_resolve_credits_the_final_agent() {
    let mut s = Script::new();
    s.at("c1", Channel::Voice, "2026-11-22T09:00:00Z", started("k1"))
        .at("c1", Channel::Voice, "2026-11-22T09:00:10Z", joined("a1"))
        .at(
            "c1",
            Channel::Voice,
            "2026-11-22T09:01:00Z",
            EventKind::Transfer {
                from_agent_id: "a1".into(),
            },
        )
        .at("c1", Channel::Voice, "2026-11-22T09:01:30Z", joined("a2"))
        .at(
            "c1",
            Channel::Voice,
            "2026-11-22T09:05:30Z",
            ended(Disposition::Resolved),
        );
    let e = engine_with(&s.events);
    let a1 = counts_of(&e, Some("a1"), Channel::Voice, 0, "2026-11-22T09:00:00Z");
    let a2 = counts_of(&e, Some("a2"), Channel::Voice, 0, "2026-11-22T09:00:00Z");
    assert_eq!(
        (a1.handled, a1.transfers_out, a1.handled_final, a1.resolved),
        (1, 1, 0, 0)
    );
    assert_eq!(
        (a2.handled, a2.transfers_out, a2.handled_final, a2.resolved),
        (1, 0, 1, 1)
    );
    assert_eq!(a2.handle_ms_sum, 240_000);
    let ch = counts_of(&e, None, Channel::Voice, 0, "2026-11-22T09:00:00Z");
    assert_eq!(
        (ch.handled, ch.transfers_out, ch.resolved, ch.wait_ms_sum),
        (2, 1, 1, 10_000)
    );
}

#[test]
fn callback_exactly_at_due_is_kept_and_a_millisecond_later_is_late() {
    for (done_at, kept, late) in [
        ("2026-11-23T09:00:00Z", 1, 0),
        ("2026-11-23T09:00:00.001Z", 0, 1),
    ] {
        let mut s = Script::new();
        s.at("c1", Channel::Voice, "2026-11-22T09:00:00Z", started("k1"))
            .at("c1", Channel::Voice, "2026-11-22T09:00:05Z", joined("a1"))
            .at(
                "c1",
                Channel::Voice,
                "2026-11-22T09:03:00Z",
                EventKind::ContactEnded {
                    disposition: Disposition::CallbackScheduled,
                    callback_due: Some(
                        DateTime::parse_from_rfc3339("2026-11-23T09:00:00Z")
                            .unwrap()
                            .to_utc(),
                    ),
                },
            )
            .at(
                "c1",
                Channel::Voice,
                done_at,
                EventKind::CallbackCompleted {
                    agent_id: "a1".into(),
                },
            );
        let e = engine_with(&s.events);
        let a = counts_of(&e, Some("a1"), Channel::Voice, 0, "2026-11-22T09:00:00Z");
        assert_eq!(
            (a.callback_scheduled, a.callbacks_kept, a.callbacks_late),
            (1, kept, late),
            "{done_at}"
        );
    }
}

#[test]
fn repeat_contact_seven_days_later_counts_and_one_millisecond_more_does_not() {
    for (next_start, repeats) in [
        ("2026-11-29T09:05:00Z", 1),
        ("2026-11-29T09:05:00.001Z", 0),
        ("2026-11-22T09:05:00Z", 0),
    ] {
        let mut s = Script::new();
        s.at("c1", Channel::Chat, "2026-11-22T09:00:00Z", started("k1"))
            .at("c1", Channel::Chat, "2026-11-22T09:00:05Z", joined("a1"))
            .at(
                "c1",
                Channel::Chat,
                "2026-11-22T09:05:00Z",
                ended(Disposition::Resolved),
            )
            .at("c2", Channel::Voice, next_start, started("k1"));
        let e = engine_with(&s.events);
        let a = counts_of(&e, Some("a1"), Channel::Chat, 0, "2026-11-22T09:00:00Z");
        assert_eq!(a.repeat_contacts, repeats, "next contact at {next_start}");
    }
}

#[test]
fn repeat_is_found_when_the_new_start_is_processed_before_the_old_end() {
    let mut s = Script::new();
    s.at("c1", Channel::Chat, "2026-11-22T09:00:00Z", started("k1"))
        .at("c1", Channel::Chat, "2026-11-22T09:00:05Z", joined("a1"))
        .at("c2", Channel::Voice, "2026-11-23T10:00:00Z", started("k1"))
        .at(
            "c1",
            Channel::Chat,
            "2026-11-22T09:05:00Z",
            ended(Disposition::Resolved),
        );
    let e = engine_with(&s.events);
    assert_eq!(
        counts_of(&e, Some("a1"), Channel::Chat, 0, "2026-11-22T09:00:00Z").repeat_contacts,
        1
    );
    assert_eq!(
        counts_of(&e, None, Channel::Chat, 0, "2026-11-22T09:00:00Z").repeat_contacts,
        1
    );
}

#[test]
fn reordered_voice_utterances_give_the_same_interruptions() {
    let mut s = Script::new();
    s.at("c1", Channel::Voice, "2026-11-22T09:00:00Z", started("k1"))
        .at("c1", Channel::Voice, "2026-11-22T09:00:05Z", joined("a1"))
        // Customer talks 09:00:10 → 09:00:20; the agent starts at 09:00:15 (interrupts).
        .at(
            "c1",
            Channel::Voice,
            "2026-11-22T09:00:15Z",
            say(
                Party::Agent,
                Some("a1"),
                "Ja maar",
                Some("2026-11-22T09:00:16Z"),
            ),
        )
        .at(
            "c1",
            Channel::Voice,
            "2026-11-22T09:00:10Z",
            say(
                Party::Customer,
                None,
                "Mijn internet doet het niet",
                Some("2026-11-22T09:00:20Z"),
            ),
        )
        // Customer 09:00:30 → 09:00:40; agent at 09:00:39.6 is within the 500 ms tolerance.
        .at(
            "c1",
            Channel::Voice,
            "2026-11-22T09:00:30Z",
            say(
                Party::Customer,
                None,
                "Al drie dagen",
                Some("2026-11-22T09:00:40Z"),
            ),
        )
        .at(
            "c1",
            Channel::Voice,
            "2026-11-22T09:00:39.600Z",
            say(Party::Agent, Some("a1"), "Dat is vervelend", None),
        )
        .at(
            "c1",
            Channel::Voice,
            "2026-11-22T09:03:00Z",
            ended(Disposition::Resolved),
        );
    let e = engine_with(&s.events);
    let a = counts_of(&e, Some("a1"), Channel::Voice, 0, "2026-11-22T09:00:00Z");
    assert_eq!(a.interruptions, 1);
    assert_eq!((a.voice_segments_scored, a.listened_fully), (1, 0));
}

#[test]
fn duplicates_and_replays_after_the_end_change_nothing() {
    let mut s = Script::new();
    s.at("c1", Channel::Chat, "2026-11-22T09:00:00Z", started("k1"))
        .at("c1", Channel::Chat, "2026-11-22T09:00:05Z", joined("a1"))
        .at(
            "c1",
            Channel::Chat,
            "2026-11-22T09:05:00Z",
            ended(Disposition::Resolved),
        )
        .at(
            "c1",
            Channel::Chat,
            "2026-11-23T09:05:00Z",
            EventKind::Survey { csat: 4 },
        );
    let mut events = s.events.clone();
    events.extend(s.events.iter().cloned()); // the whole contact replayed
    let e = engine_with(&events);
    let a = counts_of(&e, Some("a1"), Channel::Chat, 0, "2026-11-22T09:00:00Z");
    assert_eq!(
        (a.handled, a.resolved, a.csat_sum, a.csat_count),
        (1, 1, 4, 1)
    );
    assert_eq!(e.counters().duplicates + e.counters().late_events, 4);
}

#[test]
fn a_contact_that_never_ends_times_out_and_is_counted() {
    // Chat's idle timeout is 7 days; memory is freed after the allowed
    // lateness (5 minutes) more.
    let mut s = Script::new();
    s.at("c1", Channel::Chat, "2026-11-22T09:00:00Z", started("k1"))
        .at("c2", Channel::Chat, "2026-11-29T09:04:00Z", started("k2"));
    let mut e = engine_with(&s.events);
    e.advance();
    assert_eq!(e.counters().timed_out_contacts, 0, "within the grace");
    s.at("c3", Channel::Chat, "2026-11-29T09:06:00Z", started("k3"));
    let mut e = engine_with(&s.events);
    e.advance();
    assert_eq!(e.counters().timed_out_contacts, 1);
    assert_eq!(e.state().assembler.open_contacts(), 2);
}

/// A chat on a messaging channel whose customer answers after a pause of
/// days: one answered contact with its first response, not a timed-out one
/// plus an abandoned fragment.
#[test]
fn an_asynchronous_chat_with_a_pause_of_days_is_one_answered_contact() {
    let mut s = Script::new();
    s.at("c1", Channel::Chat, "2026-11-22T09:00:00Z", started("k1"))
        .at("c1", Channel::Chat, "2026-11-22T09:00:30Z", joined("a1"))
        .at(
            "c1",
            Channel::Chat,
            "2026-11-22T09:01:00Z",
            say(Party::Agent, Some("a1"), "Hoe kan ik helpen?", None),
        )
        .at(
            "c1",
            Channel::Chat,
            "2026-11-25T20:00:00Z",
            say(
                Party::Customer,
                None,
                "Mijn pakket is nog niet binnen",
                None,
            ),
        )
        .at("c2", Channel::Chat, "2026-11-25T20:00:00Z", started("k2"))
        .at(
            "c1",
            Channel::Chat,
            "2026-11-25T20:10:00Z",
            ended(Disposition::Resolved),
        );
    // However often event time is advanced in between: the same answer.
    for advance_each in [false, true] {
        let mut e = Engine::new(Config::default().engine, Arc::new(Analyzer::builtin()));
        for ev in &s.events {
            e.apply(ev.clone());
            if advance_each {
                e.advance();
            }
        }
        e.advance();
        let q = counts_of(&e, None, Channel::Chat, 0, "2026-11-25T20:00:00Z");
        assert_eq!(
            (
                q.offered,
                q.answered,
                q.abandoned,
                q.first_response_ms_count
            ),
            (1, 1, 0, 1),
            "advance after each event: {advance_each}"
        );
        assert_eq!(e.counters().timed_out_contacts, 0);
    }
}

/// The timeout is decided by the contact's own events: a gap longer than
/// the idle timeout ends it, and everything after is counted and dropped,
/// whether or not event time was advanced in between (no timing in results).
#[test]
fn a_gap_longer_than_the_idle_timeout_ends_the_contact_whatever_the_advance_points() {
    let mut s = Script::new();
    s.at("v1", Channel::Voice, "2026-11-22T09:00:00Z", started("k1"))
        .at("v1", Channel::Voice, "2026-11-22T09:00:10Z", joined("a1"))
        .at(
            "v1",
            Channel::Voice,
            "2026-11-22T21:00:11Z",
            ended(Disposition::Resolved),
        )
        .at("v2", Channel::Voice, "2026-11-22T21:30:00Z", started("k2"))
        .at(
            "v2",
            Channel::Voice,
            "2026-11-22T21:31:00Z",
            ended(Disposition::Resolved),
        );
    let mut results = Vec::new();
    for advance_each in [false, true] {
        let mut e = Engine::new(Config::default().engine, Arc::new(Analyzer::builtin()));
        for ev in &s.events {
            e.apply(ev.clone());
            if advance_each {
                e.advance();
            }
        }
        e.advance();
        let day = counts_of(&e, None, Channel::Voice, 1, "2026-11-22T00:00:00Z");
        assert_eq!((day.offered, day.abandoned), (1, 1), "only v2, abandoned");
        assert_eq!(e.counters().timed_out_contacts, 1);
        assert_eq!(e.counters().events_after_timeout, 1);
        results.push(e.take_updates());
    }
    let strip = |u: &Vec<contact_kpi::kpi::AggregateUpdate>| {
        u.iter()
            .map(|u| {
                let mut a = u.aggregate.clone();
                a.revision = 0;
                (u.key.clone(), a)
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(strip(&results[0]), strip(&results[1]));
}

/// A survey more than `contacts.finished_retention` (8 days) after its
/// contact ended is too late, even while the contact is still in memory.
#[test]
fn a_survey_after_the_finished_retention_is_dropped_even_if_the_contact_is_remembered() {
    let mut s = Script::new();
    s.at("c1", Channel::Chat, "2026-11-22T09:00:00Z", started("k1"))
        .at("c1", Channel::Chat, "2026-11-22T09:00:05Z", joined("a1"))
        .at(
            "c1",
            Channel::Chat,
            "2026-11-22T09:05:00Z",
            ended(Disposition::Resolved),
        )
        .at(
            "c1",
            Channel::Chat,
            "2026-11-30T09:05:00Z",
            EventKind::Survey { csat: 5 },
        )
        .at(
            "c1",
            Channel::Chat,
            "2026-11-30T09:05:01Z",
            EventKind::Survey { csat: 1 },
        );
    let e = engine_with(&s.events);
    let a = counts_of(&e, Some("a1"), Channel::Chat, 0, "2026-11-22T09:00:00Z");
    assert_eq!((a.csat_sum, a.csat_count), (5, 1));
    assert_eq!(e.counters().orphan_corrections, 1);
}

/// Replaying months of history in one go: every window is published before
/// it leaves memory, none silently dropped.
#[test]
fn a_replay_longer_than_the_window_retention_publishes_every_window() {
    let mut s = Script::new();
    let start = DateTime::parse_from_rfc3339("2026-01-01T10:00:00Z")
        .unwrap()
        .to_utc();
    let days = 60;
    for d in 0..days {
        let at = |m: i64| (start + Duration::days(d) + Duration::minutes(m)).to_rfc3339();
        let c = format!("c{d}");
        s.at(&c, Channel::Voice, &at(0), started(&format!("k{d}")))
            .at(&c, Channel::Voice, &at(1), joined("a1"))
            .at(&c, Channel::Voice, &at(5), ended(Disposition::Resolved));
    }
    let mut e = engine_with(&s.events);
    e.advance();
    let updates = e.take_updates();
    let keys: HashSet<&str> = updates.iter().map(|u| u.key.as_str()).collect();
    // Per day: agent and channel level, 1h and 1d windows.
    assert_eq!(keys.len(), days as usize * 4, "{} updates", updates.len());
    assert!(e.state().aggregator.window_count() < days as usize * 4);
    let evicted = updates
        .iter()
        .filter(|u| u.key.contains("2026-01-01T10:00:00Z"))
        .collect::<Vec<_>>();
    assert_eq!(evicted.len(), 2);
    for u in evicted {
        assert!(u.aggregate.r#final);
        assert_eq!(u.aggregate.handled.max(u.aggregate.offered), 1);
    }
    assert_eq!(e.counters().expired_window_updates, 0);
}

#[test]
fn dst_day_window_is_25_hours_and_keys_are_utc() {
    let mut env = vec![(
        "CONTACT_KPI__TIMEZONE".to_string(),
        "Europe/Amsterdam".to_string(),
    )];
    env.push(("CONTACT_KPI__WINDOWS".into(), "1d".into()));
    let s = Config::load_with_env(None, env).unwrap().engine;
    let mut sc = Script::new();
    // 25 Oct 2026 is the 25-hour day in Amsterdam: local midnight is 22:00Z the day before.
    sc.at("c1", Channel::Chat, "2026-10-25T22:30:00Z", started("k1"))
        .at("c1", Channel::Chat, "2026-10-25T22:30:10Z", joined("a1"))
        .at(
            "c1",
            Channel::Chat,
            "2026-10-25T22:40:00Z",
            ended(Disposition::Resolved),
        );
    let mut e = Engine::new(s, Arc::new(Analyzer::builtin()));
    for ev in &sc.events {
        e.apply(ev.clone());
    }
    e.advance();
    let updates = e.take_updates();
    let agent = updates
        .iter()
        .find(|u| u.key.starts_with("agent/"))
        .unwrap();
    assert_eq!(agent.key, "agent/a1/chat/1d/2026-10-24T22:00:00Z");
    assert_eq!(agent.aggregate.window_end, "2026-10-25T23:00:00Z");
    assert_eq!(agent.aggregate.revision, 1);
    assert_eq!(agent.aggregate.resolution_rate, Some(1.0));
    assert_eq!(
        agent.aggregate.service_level, None,
        "zero denominator is absent, not 0"
    );
}

#[test]
fn revisions_grow_and_windows_become_final() {
    let mut sc = Script::new();
    sc.at("c1", Channel::Chat, "2026-11-22T09:00:00Z", started("k1"))
        .at("c1", Channel::Chat, "2026-11-22T09:00:10Z", joined("a1"))
        .at(
            "c1",
            Channel::Chat,
            "2026-11-22T09:10:00Z",
            ended(Disposition::Resolved),
        );
    let mut e = engine_with(&sc.events);
    e.advance();
    let first = e.take_updates();
    let key = "channel/chat/1h/2026-11-22T09:00:00Z";
    let r1 = first.iter().find(|u| u.key == key).unwrap();
    assert!(!r1.aggregate.r#final);
    assert!(
        e.take_updates().is_empty(),
        "nothing changed, nothing published"
    );
    // Event time moves past the window end plus the allowed lateness.
    e.apply(ContactEvent {
        event_id: "later".into(),
        contact_id: "c9".into(),
        channel: Channel::Chat,
        ts: DateTime::parse_from_rfc3339("2026-11-22T10:06:00Z")
            .unwrap()
            .to_utc(),
        kind: started("k9"),
    });
    e.advance();
    let second = e.take_updates();
    let r2 = second.iter().find(|u| u.key == key).unwrap();
    assert!(r2.aggregate.r#final);
    assert!(r2.aggregate.revision > r1.aggregate.revision);
    // A late survey revises the final window.
    e.apply(ContactEvent {
        event_id: "s1".into(),
        contact_id: "c1".into(),
        channel: Channel::Chat,
        ts: DateTime::parse_from_rfc3339("2026-11-22T11:00:00Z")
            .unwrap()
            .to_utc(),
        kind: EventKind::Survey { csat: 5 },
    });
    e.advance();
    let third = e.take_updates();
    let r3 = third.iter().find(|u| u.key == key).unwrap();
    assert_eq!(
        (
            r3.aggregate.csat_sum,
            r3.aggregate.csat_count,
            r3.aggregate.csat_mean
        ),
        (5, 1, Some(5.0))
    );
    assert!(r3.aggregate.revision > r2.aggregate.revision);
}

#[test]
fn a_closed_window_with_a_significant_drop_raises_one_alert() {
    let mut s = Config::default().engine;
    s.windows.truncate(1); // 1h only
    s.alerts.min_volume = 5;
    s.alerts.min_baseline_volume = 20;
    let mut e = Engine::new(s, Arc::new(Analyzer::builtin()));
    let mut sc = Script::new();
    let base = DateTime::parse_from_rfc3339("2026-11-22T06:00:00Z")
        .unwrap()
        .to_utc();
    for hour in 0..8 {
        for i in 0..6 {
            let c = format!("c{hour}-{i}");
            let t = base + Duration::hours(hour) + Duration::minutes(i * 5);
            let ts = |d: i64| (t + Duration::seconds(d)).to_rfc3339();
            sc.at(&c, Channel::Voice, &ts(0), started(&format!("k{hour}{i}")));
            // Hour 6: every caller gives up in the queue.
            if hour != 6 {
                sc.at(&c, Channel::Voice, &ts(10), joined("a1"));
            }
            sc.at(&c, Channel::Voice, &ts(120), ended(Disposition::Resolved));
        }
    }
    for ev in &sc.events {
        e.apply(ev.clone());
        e.advance();
    }
    let alerts = e.take_alerts();
    let abandon: Vec<_> = alerts.iter().filter(|a| a.kpi == "abandon_rate").collect();
    assert_eq!(abandon.len(), 1, "{alerts:?}");
    let a = abandon[0];
    assert_eq!(
        (
            a.level.as_str(),
            a.channel.as_str(),
            a.window_start.as_str()
        ),
        ("channel", "voice", "2026-11-22T12:00:00Z")
    );
    assert_eq!((a.value, a.baseline, a.volume), (1.0, 0.0, 6));
    assert!(e.take_alerts().is_empty(), "each window is judged once");
}

#[test]
fn a_snapshot_of_another_version_or_garbage_is_refused_not_misread() {
    let e = engine_with(&[]);
    let mut bytes = e.snapshot();
    bytes[0] = bytes[0].wrapping_add(1);
    let mut fresh = engine_with(&[]);
    let err = fresh.restore(&bytes).unwrap_err().to_string();
    assert!(err.contains("another release"), "{err}");
    let mut garbage = e.snapshot();
    garbage.truncate(6);
    assert!(fresh.restore(&garbage).is_err());
}

/// No text at rest: a pattern with a gap ("sorry ... to hear") must not carry
/// the words in the gap into the state the service writes to its changelog.
#[test]
fn message_text_never_reaches_the_changelog() {
    use contact_kpi::kpi::tasks::AssembleTask;
    let canary = "zqxcanary";
    let mut s = Script::new();
    s.at(
        "c1",
        Channel::Chat,
        "2026-11-22T09:00:00Z",
        started("customer-zqx-7"),
    )
    .at("c1", Channel::Chat, "2026-11-22T09:00:05Z", joined("a1"))
    .at(
        "c1",
        Channel::Chat,
        "2026-11-22T09:00:10Z",
        say(
            Party::Agent,
            Some("a1"),
            &format!("I'm so sorry {canary} to hear about that"),
            None,
        ),
    )
    .at(
        "c1",
        Channel::Chat,
        "2026-11-22T09:00:20Z",
        say(
            Party::Customer,
            None,
            &format!("dit is {canary} echt frustrerend"),
            None,
        ),
    );
    let settings = Config::default().engine;
    let analyzer = Analyzer::builtin();
    let mut task = AssembleTask::default();
    let mut counters = Default::default();
    for e in &s.events {
        task.apply(&settings, &analyzer, e.clone(), &mut counters);
    }
    let changelog = task.take_changelog();
    let bytes: Vec<u8> = changelog
        .iter()
        .flat_map(|(k, v)| k.iter().chain(v.iter().flatten()).copied())
        .collect();
    assert!(!bytes.is_empty());
    let contains = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    assert!(!contains(canary.as_bytes()), "text in the changelog");
    assert!(
        !contains(b"customer-zqx-7"),
        "raw customer id in the changelog"
    );
    // The evidence itself still works where it is asked for (`score`): the
    // same judgement names the words.
    let f = analyzer.analyze_turn_with_evidence(
        "en",
        Channel::Chat,
        Party::Agent,
        &format!("I'm so sorry {canary} to hear about that"),
    );
    assert!(f.signals.iter().any(|s| s.words.contains(canary)));
}

/// One chat with 30,000 messages used to rewrite megabytes of state into the
/// changelog at every commit, until the broker refused the record. Its
/// detail past the limit is counted and dropped; its end still counts; its
/// changelog record stays under the producer's limit.
#[test]
fn a_contact_with_thirty_thousand_messages_keeps_bounded_state() {
    use contact_kpi::kpi::contact::MAX_ITEMS_PER_CONTACT;
    use contact_kpi::kpi::tasks::AssembleTask;
    let settings = Config::default().engine;
    let analyzer = Analyzer::builtin();
    let mut task = AssembleTask::default();
    let mut counters = Default::default();
    let mut s = Script::new();
    let start = DateTime::parse_from_rfc3339("2026-11-22T09:00:00Z")
        .unwrap()
        .to_utc();
    s.at("c1", Channel::Chat, &start.to_rfc3339(), started("k1"))
        .at("c1", Channel::Chat, &start.to_rfc3339(), joined("a1"));
    let packed =
        "Het spijt me te horen, wat vervelend, ik begrijp dat het frustrerend is. ".repeat(20);
    for i in 0..30_000 {
        let ts = (start + Duration::milliseconds(100 * i)).to_rfc3339();
        s.at(
            "c1",
            Channel::Chat,
            &ts,
            say(Party::Agent, Some("a1"), &packed, None),
        );
    }
    let mut largest = 0;
    for (i, e) in s.events.iter().enumerate() {
        task.apply(&settings, &analyzer, e.clone(), &mut counters);
        if i % 5_000 == 0 || i + 1 == s.events.len() {
            for (k, v) in task.take_changelog() {
                largest = largest.max(k.len() + v.map_or(0, |v| v.len()));
            }
        }
    }
    assert!(
        largest < 1_000_000,
        "largest changelog record {largest} bytes"
    );
    assert_eq!(
        counters.truncated_events,
        30_002 - 1 - MAX_ITEMS_PER_CONTACT as u64,
        "everything past the limit is counted"
    );
    let end = (start + Duration::hours(1)).to_rfc3339();
    let mut e = Script::new();
    e.at("c1", Channel::Chat, &end, ended(Disposition::Resolved));
    let mut end_event = e.events[0].clone();
    end_event.event_id = "the-end".into();
    let facts = task.apply(&settings, &analyzer, end_event, &mut counters);
    assert!(
        facts.iter().any(
            |f| matches!(f, contact_kpi::kpi::Fact::ContactFinished(s) if s.segments.len() == 1)
        ),
        "the contact still ends and counts"
    );
}

/// One agent id with thousands of contacts a day (a bot, an IVR, a team
/// login): the agent's day keeps only the places that can still change a
/// fatigue bucket, and the buckets stay exact, whatever the arrival order.
#[test]
fn an_agent_with_thousands_of_contacts_a_day_keeps_bounded_exact_ordinals() {
    use rand::seq::SliceRandom;
    use rand::SeedableRng;
    let start = DateTime::parse_from_rfc3339("2026-11-22T06:00:00Z")
        .unwrap()
        .to_utc();
    let mut contacts: Vec<Vec<ContactEvent>> = Vec::new();
    for i in 0..3_000i64 {
        let mut s = Script::new();
        let t = |sec: i64| (start + Duration::seconds(i * 15 + sec)).to_rfc3339();
        let c = format!("bot-{i}");
        s.at(&c, Channel::Chat, &t(0), started(&format!("k{i}")))
            .at(&c, Channel::Chat, &t(1), joined("bot"))
            .at(
                &c,
                Channel::Chat,
                &t(2),
                say(Party::Agent, Some("bot"), "Hoe kan ik helpen?", None),
            )
            .at(
                &c,
                Channel::Chat,
                &t(3 + i % 200),
                ended(Disposition::Resolved),
            );
        for (n, e) in s.events.iter_mut().enumerate() {
            e.event_id = format!("{c}-{n}");
        }
        contacts.push(s.events);
    }
    // Contacts finish in an order unrelated to when they were joined.
    contacts.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(3));
    let events: Vec<ContactEvent> = contacts.into_iter().flatten().collect();
    let settings = settings();
    let got = run_engine(&settings, &events, 0);
    assert_same(&got, &naive(&settings, &events));
    let day = &got[&(
        Some("bot".to_string()),
        Channel::Chat,
        1,
        DateTime::parse_from_rfc3339("2026-11-21T23:00:00Z")
            .unwrap()
            .timestamp_millis(),
    )];
    assert_eq!(day.by_ordinal_scored, [10, 10, 20, 2_960]);
}

/// One customer id with thousands of contacts a day (a shared or test id):
/// its history is bounded, so each fact scans at most that much and its
/// changelog record stays small; the oldest are forgotten and counted.
#[test]
fn a_customer_with_thousands_of_contacts_keeps_bounded_history() {
    use contact_kpi::kpi::facts::{ContactSummary, CustomerHash};
    use contact_kpi::kpi::repeat::MAX_HISTORY_PER_CUSTOMER;
    use contact_kpi::kpi::tasks::RepeatTask;
    let settings = Config::default().engine;
    let mut task = RepeatTask::default();
    let customer = CustomerHash("shared".into());
    let start = DateTime::parse_from_rfc3339("2026-11-22T06:00:00Z")
        .unwrap()
        .to_utc();
    let mut largest = 0;
    for i in 0..12_000i64 {
        let at = start + Duration::seconds(i * 10);
        let started = contact_kpi::kpi::Fact::CustomerContactStarted {
            customer: customer.clone(),
            contact_id: format!("c{i}"),
            started: at,
        };
        task.apply(&settings, at, started);
        let finished = contact_kpi::kpi::Fact::ContactFinished(ContactSummary {
            contact_id: format!("c{i}"),
            channel: Channel::Chat,
            customer: Some(customer.clone()),
            started: Some(at),
            ended: at + Duration::seconds(5),
            disposition: Disposition::Resolved,
            callback_due: None,
            abandoned: false,
            wait_ms: Some(1000),
            within_service_level: Some(true),
            first_response: None,
            segments: Vec::new(),
        });
        let out = task.apply(&settings, at + Duration::seconds(5), finished);
        assert!(out.len() <= 2);
        if i % 1000 == 0 {
            for (k, v) in task.take_changelog() {
                largest = largest.max(k.len() + v.map_or(0, |v| v.len()));
            }
        }
    }
    assert!(
        largest < 200_000,
        "largest changelog record {largest} bytes"
    );
    assert_eq!(
        task.truncated(),
        2 * (12_000 - MAX_HISTORY_PER_CUSTOMER as u64)
    );
}

/// Platforms whose transcripts say only that a turn is the agent's (Amazon
/// Connect's Contact Lens): the turn belongs to whoever holds the contact at
/// that moment, is judged in that agent's segment and is that agent's first
/// response; held by nobody it belongs to no one, and no agent "" appears.
#[test]
fn an_unnamed_agent_turn_belongs_to_the_agent_holding_the_contact() {
    let mut s = Script::new();
    s.at("c1", Channel::Chat, "2026-11-22T09:00:00Z", started("k1"))
        .at(
            "c1",
            Channel::Chat,
            "2026-11-22T09:00:05Z",
            say(Party::Agent, None, "Welkom, een moment geduld.", None),
        )
        .at("c1", Channel::Chat, "2026-11-22T09:00:10Z", joined("a1"))
        .at(
            "c1",
            Channel::Chat,
            "2026-11-22T09:00:20Z",
            say(
                Party::Customer,
                None,
                "Mijn pakket is na vijf weken nog steeds niet binnen.",
                None,
            ),
        )
        .at(
            "c1",
            Channel::Chat,
            "2026-11-22T09:00:50Z",
            say(
                Party::Agent,
                None,
                "Wat vervelend dat u zo lang moet wachten. Mag ik uw ordernummer?",
                None,
            ),
        )
        .at(
            "c1",
            Channel::Chat,
            "2026-11-22T09:04:00Z",
            ended(Disposition::Resolved),
        );
    let e = engine_with(&s.events);
    let a1 = counts_of(&e, Some("a1"), Channel::Chat, 0, "2026-11-22T09:00:00Z");
    assert_eq!(
        (a1.handled, a1.empathy_scored, a1.questions_asked),
        (1, 1, 1)
    );
    let ch = counts_of(&e, None, Channel::Chat, 0, "2026-11-22T09:00:00Z");
    // The turn before anyone answered is nobody's: the first response is a1's, at 50 s.
    assert_eq!(
        (ch.first_response_ms_sum, ch.first_response_ms_count),
        (50_000, 1)
    );
    assert_eq!((ch.reply_ms_sum, ch.reply_ms_count), (30_000, 1));
    assert!(
        e.state()
            .aggregator
            .iter()
            .all(|(k, _)| k.agent.as_deref() != Some("")),
        "no agent without a name"
    );
}
