//! Synthetic contact-center traffic for demos and tests (`contact-kpi
//! simulate`).
//!
//! A deterministic, infinite stream of contract events ([`ContactEvent`]) in
//! non-decreasing `ts` order. Contacts arrive as a Poisson process; each
//! contact's whole life is computed when it arrives (queue wait or abandon,
//! the conversation, transfer, wrap-up, a call-back hours later, a survey
//! days later, maybe a repeat contact of the same customer within the week)
//! and its events are merged with everyone else's through a heap keyed by
//! event time.
//!
//! The agents have personalities the KPIs should reveal: warm and effective,
//! scripted over-the-top ("wat vervelend" every turn), curt ("Ordernummer?"),
//! an interrupter (voice), pitying ("ach gossie"), and one who tires over the
//! day. Which agent has which personality is fixed by its index (see
//! [`personality_for`]) so demos and tests can name them.

mod conversation;
mod phrases;

#[cfg(test)]
use crate::model::Party;
use crate::model::{Channel, ContactEvent, Disposition, EventKind, Timestamp};
use conversation::{
    between, chance, pick, to_ts, Built, ContactPlan, Mood, SegmentAgent, Style, Truth, HOUR,
    MINUTE, SECOND,
};
use phrases::{fill, Lang, Slots, P};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

/// Average number of events one contact produces (all channels, including
/// call-backs and surveys), measured over long runs of the simulator. A caller
/// that wants `r` events per second of simulated time asks for
/// `r * 3600 / EVENTS_PER_CONTACT_ESTIMATE` contacts per hour.
pub const EVENTS_PER_CONTACT_ESTIMATE: f64 = 11.3;

/// Share of all contacts that are scheduled repeat contacts of an earlier
/// customer (steady state); fresh arrivals are thinned by it so the total
/// stays near `contacts_per_hour`.
const REPEAT_SHARE: f64 = 0.10;

#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Number of agents ("a01".."aNN"); at least 1.
    pub agents: usize,
    pub seed: u64,
    /// Event time of the first arrival.
    pub start: Timestamp,
    /// Contact arrivals per hour of simulated (event) time, repeats included.
    pub contacts_per_hour: f64,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            agents: 25,
            seed: 1,
            start: chrono::DateTime::from_timestamp(1_795_413_600, 0).unwrap_or_default(), // 2026-11-23T06:00:00Z
            contacts_per_hour: 600.0,
        }
    }
}

/// The behaviour an agent shows, visible in the KPIs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Personality {
    /// Genuine, varied empathy, questions, ownership; resolves most contacts.
    Warm,
    /// Average: empathy in about half of the contacts that call for it.
    Standard,
    /// The same stock empathy phrase every turn, gushing, over-familiar.
    Scripted,
    /// No empathy, bare questions, dismissive answers.
    Curt,
    /// Talks over the customer on the phone.
    Interrupter,
    /// Pity and condescension instead of understanding.
    Pitying,
    /// Warm early in the day, empathy fades with every contact.
    Tiring,
}

impl Personality {
    pub fn as_str(self) -> &'static str {
        match self {
            Personality::Warm => "warm",
            Personality::Standard => "standard",
            Personality::Scripted => "scripted",
            Personality::Curt => "curt",
            Personality::Interrupter => "interrupter",
            Personality::Pitying => "pitying",
            Personality::Tiring => "tiring",
        }
    }
}

/// Personalities by agent index: the first seven agents show each kind once
/// (a01 warm, a02 scripted, a03 curt, a04 interrupter, a05 pitying, a06
/// tiring, a07 standard), the rest follow a mix weighted towards warm and
/// standard agents.
pub fn personality_for(index: usize) -> Personality {
    use Personality::*;
    const FIRST: [Personality; 7] = [Warm, Scripted, Curt, Interrupter, Pitying, Tiring, Standard];
    const REST: [Personality; 9] = [
        Standard, Warm, Standard, Warm, Curt, Standard, Scripted, Warm, Standard,
    ];
    match FIRST.get(index) {
        Some(p) => *p,
        None => REST[(index - FIRST.len()) % REST.len()],
    }
}

/// One simulated agent.
#[derive(Debug, Clone)]
pub struct AgentProfile {
    pub id: String,
    pub name: &'static str,
    pub personality: Personality,
}

struct Params {
    empathy: f64,
    resolve: f64,
    interrupt: f64,
    defuse: f64,
    counter: f64,
    callback_on_time: f64,
    callback_never: f64,
}

fn params(p: Personality) -> Params {
    let (empathy, resolve, interrupt, defuse, counter, callback_on_time, callback_never) = match p {
        Personality::Warm => (0.92, 0.80, 0.03, 0.90, 0.0, 0.90, 0.03),
        Personality::Standard => (0.55, 0.72, 0.05, 0.55, 0.05, 0.80, 0.07),
        Personality::Scripted => (0.0, 0.58, 0.04, 0.15, 0.0, 0.75, 0.10),
        Personality::Curt => (0.04, 0.60, 0.08, 0.05, 0.60, 0.55, 0.20),
        Personality::Interrupter => (0.45, 0.68, 0.60, 0.30, 0.15, 0.75, 0.10),
        Personality::Pitying => (0.15, 0.62, 0.04, 0.10, 0.0, 0.75, 0.10),
        Personality::Tiring => (0.92, 0.72, 0.05, 0.70, 0.05, 0.80, 0.07),
    };
    Params {
        empathy,
        resolve,
        interrupt,
        defuse,
        counter,
        callback_on_time,
        callback_never,
    }
}

/// How much of an agent's empathy is left at the `ordinal`-th contact of the
/// day: routine wears everyone down a little, the tiring agent a lot.
fn freshness(p: Personality, ordinal: u32) -> f64 {
    let n = f64::from(ordinal);
    match p {
        Personality::Tiring if n <= 8.0 => 1.0,
        Personality::Tiring => (1.0 - (n - 8.0) / 35.0).max(0.1),
        _ => 1.0 - 0.2 * (n / 60.0).min(1.0),
    }
}

/// A contact held back until its start time (a customer coming back).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Repeat {
    start: i64,
    seq: u64,
    customer: u64,
    topic: usize,
    prior: u32,
    prev_abandoned_voice: bool,
}

/// An event waiting in the merge heap, ordered by time then push order.
struct Pending {
    ts: i64,
    seq: u64,
    event: ContactEvent,
}

impl PartialEq for Pending {
    fn eq(&self, other: &Self) -> bool {
        (self.ts, self.seq) == (other.ts, other.seq)
    }
}
impl Eq for Pending {}
impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Pending {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.ts, self.seq).cmp(&(other.ts, other.seq))
    }
}

/// The traffic generator; an infinite iterator of events in `ts` order.
pub struct Simulator {
    cfg: SimConfig,
    rng: ChaCha8Rng,
    agents: Vec<AgentProfile>,
    /// Until when each agent is busy on a call or chat (a free agent is
    /// preferred when one is picked).
    busy_until: Vec<i64>,
    /// Per agent: handled contacts per UTC day, for fatigue.
    day_counts: Vec<BTreeMap<i64, u32>>,
    per_hour: f64,
    next_fresh: i64,
    repeats: BinaryHeap<Reverse<Repeat>>,
    pending: BinaryHeap<Reverse<Pending>>,
    contacts: u64,
    push_seq: u64,
    customer_pool: u64,
}

impl Simulator {
    pub fn new(cfg: SimConfig) -> Self {
        let n = cfg.agents.max(1);
        let width = n.to_string().len().max(2);
        let agents: Vec<AgentProfile> = (0..n)
            .map(|i| AgentProfile {
                id: format!("a{:0width$}", i + 1),
                name: phrases::AGENT_NAMES[i % phrases::AGENT_NAMES.len()],
                personality: personality_for(i),
            })
            .collect();
        let per_hour = if cfg.contacts_per_hour.is_finite() {
            cfg.contacts_per_hour.max(0.001)
        } else {
            600.0
        };
        // About a year of contacts: random returns within a week stay rare
        // (~2 %), on top of the scheduled repeat contacts.
        let customer_pool = ((per_hour * 24.0 * 365.0) as u64).max(5_000);
        let start = cfg.start.timestamp_millis();
        Simulator {
            rng: ChaCha8Rng::seed_from_u64(cfg.seed),
            busy_until: vec![start; n],
            day_counts: vec![BTreeMap::new(); n],
            per_hour,
            next_fresh: start,
            repeats: BinaryHeap::new(),
            pending: BinaryHeap::new(),
            contacts: 0,
            push_seq: 0,
            customer_pool,
            agents,
            cfg,
        }
    }

    /// The agents and their personalities.
    pub fn agents(&self) -> &[AgentProfile] {
        &self.agents
    }

    pub fn config(&self) -> &SimConfig {
        &self.cfg
    }

    fn next_start(&self) -> i64 {
        match self.repeats.peek() {
            Some(Reverse(r)) => r.start.min(self.next_fresh),
            None => self.next_fresh,
        }
    }

    /// Generates the next contact to arrive (fresh or repeat) and queues all
    /// its events.
    fn generate_next(&mut self) {
        let repeat_due = self
            .repeats
            .peek()
            .is_some_and(|Reverse(r)| r.start <= self.next_fresh);
        if repeat_due {
            if let Some(Reverse(r)) = self.repeats.pop() {
                self.generate_contact(r.start, Some(r));
            }
        } else {
            let start = self.next_fresh;
            // Repeat contacts only build up over the first days; until then
            // fresh arrivals make up the difference.
            let ramp = ((start - self.cfg.start.timestamp_millis()) as f64
                / (5 * 24 * HOUR) as f64)
                .clamp(0.0, 1.0);
            let rate = self.per_hour * (1.0 - REPEAT_SHARE * ramp) / HOUR as f64;
            let u: f64 = self.rng.random();
            let gap = -(1.0 - u).ln() / rate;
            self.next_fresh += (gap.round() as i64).max(0);
            self.generate_contact(start, None);
        }
    }

    fn pick_agent(&mut self, at: i64, exclude: Option<usize>, track_busy: bool) -> usize {
        let n = self.agents.len();
        if n == 1 {
            return 0;
        }
        let first = self.rng.random_range(0..n);
        let candidates = (0..n)
            .map(|k| (first + k) % n)
            .filter(|i| Some(*i) != exclude);
        if !track_busy {
            return candidates.into_iter().next().unwrap_or(0);
        }
        let mut best: Option<usize> = None;
        for i in candidates {
            if self.busy_until[i] <= at {
                return i;
            }
            if best.is_none_or(|b| self.busy_until[i] < self.busy_until[b]) {
                best = Some(i);
            }
        }
        best.unwrap_or(0)
    }

    /// The agent's ordinal of the day (1-based) for a contact joined at `at`.
    fn ordinal(&mut self, agent: usize, at: i64) -> u32 {
        let day = at.div_euclid(24 * HOUR);
        let counts = &mut self.day_counts[agent];
        while counts.first_key_value().is_some_and(|(d, _)| *d < day - 3) {
            counts.pop_first();
        }
        let c = counts.entry(day).or_insert(0);
        *c += 1;
        *c
    }

    fn segment_agent(&mut self, agent: usize, at: i64) -> SegmentAgent {
        let profile = &self.agents[agent];
        let personality = profile.personality;
        let id = profile.id.clone();
        let name = profile.name;
        let ordinal = self.ordinal(agent, at);
        let fresh = freshness(personality, ordinal);
        let p = params(personality);
        SegmentAgent {
            id,
            name,
            style: Style {
                personality,
                empathy: p.empathy * fresh,
                interrupt: p.interrupt,
                defuse: p.defuse * (0.5 + 0.5 * fresh),
                counter: p.counter + (1.0 - fresh) * 0.2,
                slowness: 1.0 + (1.0 - fresh),
            },
        }
    }

    fn generate_contact(&mut self, start: i64, repeat: Option<Repeat>) {
        self.contacts += 1;
        let n = self.contacts;
        let contact_id = format!("c{}-{}", self.cfg.seed, n);
        let rng = &mut self.rng;

        let customer = match &repeat {
            Some(r) => r.customer,
            None => rng.random_range(1..=self.customer_pool),
        };
        let traits = splitmix(customer);
        let lang = if traits % 100 < 75 {
            Lang::Nl
        } else {
            Lang::En
        };
        let female = (traits >> 8) & 1 == 1;

        let channel = {
            let u: f64 = rng.random();
            match &repeat {
                Some(r) if r.prev_abandoned_voice => {
                    if u < 0.85 {
                        Channel::Voice
                    } else if u < 0.93 {
                        Channel::Chat
                    } else {
                        Channel::Email
                    }
                }
                Some(_) if u < 0.64 => Channel::Voice,
                Some(_) if u < 0.87 => Channel::Email,
                None if u < 0.595 => Channel::Voice,
                None if u < 0.87 => Channel::Email,
                _ => Channel::Chat,
            }
        };
        let topic_idx = match &repeat {
            Some(r) if chance(rng, 0.8) => r.topic,
            _ => {
                const WEIGHTS: [f64; 6] = [0.30, 0.18, 0.14, 0.14, 0.12, 0.12];
                let u: f64 = rng.random();
                let mut acc = 0.0;
                WEIGHTS
                    .iter()
                    .position(|w| {
                        acc += w;
                        u < acc
                    })
                    .unwrap_or(0)
            }
        };
        let topic = &phrases::TOPICS[topic_idx];
        let prior = repeat.as_ref().map_or(0, |r| r.prior);
        let mood = {
            let (hostile, upset) = match (topic.trouble, prior) {
                (false, _) => (0.02, 0.15),
                (true, 0) => (0.07, 0.40),
                (true, _) => (0.18, 0.55),
            };
            let u: f64 = rng.random();
            if u < hostile {
                Mood::Hostile
            } else if u < hostile + upset {
                Mood::Upset
            } else {
                Mood::Calm
            }
        };

        // Queue wait, or patience running out first.
        let (wait, patience) = match channel {
            Channel::Voice => {
                let u: f64 = rng.random();
                let wait = if u < 0.6 {
                    between(rng, 2 * SECOND, 20 * SECOND)
                } else if u < 0.9 {
                    between(rng, 20 * SECOND, 120 * SECOND)
                } else {
                    between(rng, 120 * SECOND, 600 * SECOND)
                };
                (wait, exp_ms(rng, 800 * SECOND))
            }
            Channel::Chat => {
                let wait = if chance(rng, 0.7) {
                    between(rng, 3 * SECOND, 45 * SECOND)
                } else {
                    between(rng, 45 * SECOND, 180 * SECOND)
                };
                (wait, exp_ms(rng, 1_500 * SECOND))
            }
            Channel::Email => {
                let u: f64 = rng.random();
                let wait = if u < 0.5 {
                    between(rng, 10 * MINUTE, 4 * HOUR)
                } else if u < 0.9 {
                    between(rng, 4 * HOUR, 20 * HOUR)
                } else {
                    between(rng, 20 * HOUR, 48 * HOUR)
                };
                let patience = if chance(rng, 0.015) {
                    between(rng, MINUTE, wait.max(2 * MINUTE))
                } else {
                    i64::MAX
                };
                (wait, patience)
            }
        };
        let answered = patience >= wait;

        let mut agents = Vec::new();
        if answered {
            let join = start + wait;
            let busy = channel != Channel::Email;
            let a = self.pick_agent(join, None, busy);
            agents.push(a);
            if chance(&mut self.rng, 0.08) {
                let b = self.pick_agent(join + 5 * MINUTE, Some(a), busy);
                if b != a {
                    agents.push(b);
                }
            }
        }
        let segment_agents: Vec<SegmentAgent> = agents
            .iter()
            .map(|&a| self.segment_agent(a, start + wait))
            .collect();
        let final_params = agents.last().map(|&a| params(self.agents[a].personality));

        let rng = &mut self.rng;
        let disposition = match &final_params {
            None => Disposition::Unresolved,
            Some(p) => {
                let resolve = p.resolve * if mood == Mood::Hostile { 0.8 } else { 1.0 };
                let u: f64 = rng.random();
                if u < resolve {
                    Disposition::Resolved
                } else {
                    let v: f64 = rng.random();
                    if v < 0.40 {
                        Disposition::Unresolved
                    } else if v < 0.73 {
                        Disposition::CallbackScheduled
                    } else {
                        Disposition::Escalated
                    }
                }
            }
        };
        let callback = phrases::CALLBACK_WHEN[rng.random_range(0..phrases::CALLBACK_WHEN.len())];
        let mut slots = make_slots(rng, lang, topic, customer, traits, female, prior, callback);
        slots.daypart = daypart(lang, start).to_string();

        let plan = ContactPlan {
            channel,
            lang,
            topic,
            mood,
            slots,
            start,
            wait: answered.then_some(wait),
            patience: if answered { 0 } else { patience },
            agents: &segment_agents,
            disposition,
            callback_hours: callback.0,
        };
        let Built {
            mut events,
            disposition,
            truth,
        } = conversation::build(&plan, rng);

        // Contact start: the customer, the queue, the language (not always sent).
        let language = chance(rng, 0.88).then(|| lang.code().to_string());
        let queue = chance(rng, 0.92).then(|| format!("{}-{}", topic.queue, channel.as_str()));
        events[0].1 = EventKind::ContactStarted {
            customer_id: format!("k{customer}"),
            queue,
            language,
        };

        if let Some(&last) = agents.last() {
            let busy_end = truth.end;
            for &a in &agents {
                if channel != Channel::Email {
                    self.busy_until[a] = self.busy_until[a].max(busy_end);
                }
            }
            self.after_contact(
                &mut events,
                last,
                disposition,
                &truth,
                &segment_agents,
                channel,
            );
        }

        // Does this customer come back?
        let rng = &mut self.rng;
        let p_repeat = if !answered {
            0.45
        } else {
            match disposition {
                Disposition::Resolved => 0.05,
                Disposition::Unresolved => 0.40,
                Disposition::Escalated => 0.28,
                Disposition::CallbackScheduled => 0.12,
            }
        };
        if chance(rng, p_repeat) {
            let delay = if !answered {
                between(rng, 5 * MINUTE, 4 * HOUR)
            } else if chance(rng, 0.9) {
                between(rng, HOUR, 7 * 24 * HOUR)
            } else {
                between(rng, 7 * 24 * HOUR, 14 * 24 * HOUR)
            };
            self.push_seq += 1;
            self.repeats.push(Reverse(Repeat {
                start: truth.end.max(start) + delay,
                seq: self.push_seq,
                customer,
                topic: topic_idx,
                prior: prior + 1,
                prev_abandoned_voice: !answered && channel == Channel::Voice,
            }));
        }

        for (k, (ts, kind)) in events.into_iter().enumerate() {
            let Some(time) = to_ts(ts) else { continue };
            self.push_seq += 1;
            let event = ContactEvent {
                event_id: format!("e{}-{}-{}", self.cfg.seed, n, k + 1),
                contact_id: contact_id.clone(),
                channel,
                ts: time,
                kind,
            };
            self.pending.push(Reverse(Pending {
                ts,
                seq: self.push_seq,
                event,
            }));
        }
    }

    /// Call-back and survey, hours to days after the contact ended.
    fn after_contact(
        &mut self,
        events: &mut Vec<(i64, EventKind)>,
        final_agent: usize,
        disposition: Disposition,
        truth: &Truth,
        segments: &[SegmentAgent],
        channel: Channel,
    ) {
        let rng = &mut self.rng;
        let p = params(self.agents[final_agent].personality);
        let mut callback_late = false;
        let mut callback_missing = false;
        if disposition == Disposition::CallbackScheduled {
            let due = events
                .iter()
                .find_map(|(_, k)| match k {
                    EventKind::ContactEnded {
                        callback_due: Some(d),
                        ..
                    } => Some(d.timestamp_millis()),
                    _ => None,
                })
                .unwrap_or(truth.end + 24 * HOUR);
            let u: f64 = rng.random();
            let done = if u < p.callback_on_time {
                Some(truth.end + ((due - truth.end) as f64 * rng.random_range(0.1..0.97)) as i64)
            } else if u < 1.0 - p.callback_never {
                callback_late = true;
                Some(due + between(rng, 10 * MINUTE, 30 * HOUR))
            } else {
                callback_missing = true;
                None
            };
            if let Some(t) = done {
                events.push((
                    t,
                    EventKind::CallbackCompleted {
                        agent_id: self.agents[final_agent].id.clone(),
                    },
                ));
            }
        }

        // Satisfaction: resolution and genuine empathy drive it (seed 003's
        // top "blij makers"), pity, gushing, interrupting and long waits cost.
        let mut score = 3.0;
        score += match disposition {
            Disposition::Resolved => 1.1,
            Disposition::CallbackScheduled if callback_missing => -1.0,
            Disposition::CallbackScheduled if callback_late => -0.4,
            Disposition::CallbackScheduled => 0.3,
            Disposition::Escalated => -0.3,
            Disposition::Unresolved => -1.2,
        };
        if truth.genuine > 0 {
            score += 0.8;
        } else {
            score -= 0.3;
        }
        if truth.scripted >= 3 {
            score -= 0.4;
        }
        if truth.pity > 0 {
            score -= 0.6;
        }
        if truth.dismissive > 0 || truth.counter_attack {
            score -= 0.8;
        }
        if truth.defused {
            score += 0.3;
        }
        score -= 0.25 * f64::from(truth.interruptions.min(3));
        let long_wait = match channel {
            Channel::Voice => 120 * SECOND,
            Channel::Chat => 120 * SECOND,
            Channel::Email => 24 * HOUR,
        };
        if truth.wait > long_wait {
            score -= 0.5;
        }
        if segments.len() > 1 {
            score -= 0.2;
        }
        score += rng.random_range(-0.9..0.9);
        let csat = score.round().clamp(1.0, 5.0) as u8;
        let respond = if csat <= 2 { 0.26 } else { 0.18 };
        if chance(rng, respond) {
            let delay = if chance(rng, 0.4) {
                between(rng, MINUTE, 15 * MINUTE)
            } else {
                between(rng, HOUR, 72 * HOUR)
            };
            events.push((truth.end + delay, EventKind::Survey { csat }));
        }
    }
}

impl Iterator for Simulator {
    type Item = ContactEvent;

    fn next(&mut self) -> Option<ContactEvent> {
        loop {
            let next_start = self.next_start();
            if self
                .pending
                .peek()
                .is_some_and(|Reverse(p)| p.ts <= next_start)
            {
                return self.pending.pop().map(|Reverse(p)| p.event);
            }
            self.generate_next();
        }
    }
}

/// "Goedemorgen" etc. by the hour in the Netherlands.
fn daypart(lang: Lang, ms: i64) -> &'static str {
    use chrono::{TimeZone, Timelike};
    let hour = to_ts(ms).map_or(9, |t| {
        chrono_tz::Europe::Amsterdam
            .from_utc_datetime(&t.naive_utc())
            .hour()
    });
    match (lang, hour) {
        (Lang::Nl, 0..=11) => "Goedemorgen",
        (Lang::Nl, 12..=17) => "Goedemiddag",
        (Lang::Nl, _) => "Goedenavond",
        (Lang::En, 0..=11) => "Good morning",
        (Lang::En, 12..=17) => "Good afternoon",
        (Lang::En, _) => "Good evening",
    }
}

/// Exponentially distributed duration with the given mean.
fn exp_ms(rng: &mut ChaCha8Rng, mean: i64) -> i64 {
    let u: f64 = rng.random();
    (-(1.0 - u).ln() * mean as f64) as i64
}

/// A fixed scramble of a customer number, so a customer keeps the same
/// language and name across contacts.
fn splitmix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[allow(clippy::too_many_arguments)]
fn make_slots(
    rng: &mut ChaCha8Rng,
    lang: Lang,
    topic: &phrases::Topic,
    customer: u64,
    traits: u64,
    female: bool,
    prior: u32,
    callback: (i64, &str, &str),
) -> Slots {
    let nth_of = |p: &P| -> &'static str {
        let list = p.get(lang);
        list[(prior.saturating_sub(1) as usize).min(list.len() - 1)]
    };
    let pick_fixed = |p: &P, shift: u32| -> &'static str {
        let list = p.get(lang);
        list[((traits >> shift) % list.len() as u64) as usize]
    };
    let first = if female {
        pick_fixed(&phrases::FIRST_NAMES_F, 16)
    } else {
        pick_fixed(&phrases::FIRST_NAMES_M, 16)
    };
    let surname = pick_fixed(&phrases::SURNAMES, 32);
    let name = match (lang, female) {
        (Lang::Nl, true) => format!("mevrouw {surname}"),
        (Lang::Nl, false) => format!("meneer {surname}"),
        (Lang::En, true) => format!("Ms {surname}"),
        (Lang::En, false) => format!("Mr {surname}"),
    };
    let mut s = Slots {
        full: format!("{first} {surname}"),
        email: format!(
            "{}.{}{}@example.com",
            first.to_lowercase(),
            surname.to_lowercase().replace(' ', ""),
            customer % 100
        ),
        first: first.to_string(),
        name,
        order: format!("{}", rng.random_range(10_000_000..99_999_999u64)),
        amount: format!(
            "{},{:02}",
            rng.random_range(9..250),
            rng.random_range(0..100)
        ),
        weeks: pick(rng, &phrases::NUMBERS, lang).to_string(),
        days: pick(rng, &phrases::NUMBERS, lang).to_string(),
        weekday: pick(rng, &phrases::WEEKDAYS, lang).to_string(),
        month: pick(rng, &phrases::MONTHS, lang).to_string(),
        occasion: pick(rng, &phrases::OCCASIONS, lang).to_string(),
        postcode: format!(
            "{} {}{}",
            rng.random_range(1000..9999),
            char::from(b'A' + rng.random_range(0..26u8)),
            char::from(b'A' + rng.random_range(0..26u8))
        ),
        pet: match (lang, female) {
            (Lang::Nl, true) => "meid",
            (Lang::Nl, false) => "schat",
            (Lang::En, true) => "hun",
            (Lang::En, false) => "sweetie",
        }
        .to_string(),
        when: match lang {
            Lang::Nl => callback.1,
            Lang::En => callback.2,
        }
        .to_string(),
        ..Slots::default()
    };
    if prior > 0 {
        s.nth = nth_of(&phrases::NTH).to_string();
        s.nth_caps = s.nth.to_uppercase();
    } else {
        s.nth_caps = phrases::NTH.get(lang)[1].to_uppercase();
    }
    s.item = fill(pick(rng, &topic.items, lang), &s);
    s.dept = pick(rng, &topic.dept, lang).to_string();
    s.issue = pick(rng, &topic.issue, lang).to_string();
    s.situation = fill(pick(rng, &topic.situation, lang), &s);
    s.situation_cust = fill(pick(rng, &topic.situation_cust, lang), &s);
    s
}

#[cfg(test)]
mod tests;
