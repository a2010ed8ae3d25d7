//! One contact's full event sequence, computed up front.
//!
//! A [`ContactPlan`] fixes who talks to whom about what (channel, language,
//! topic, customer mood, agents and their styles, transfer, disposition); the
//! builder turns it into a script of turns and then times the script per
//! channel: voice utterances with `end_ts` and interruptions, chat typing and
//! reply delays, e-mail threads with quoted replies hours apart.

use super::phrases::{self as ph, fill, Lang, Slots, Topic, P};
use super::Personality;
use crate::model::{Channel, Disposition, EventKind, Party};
use chrono::{Datelike, TimeZone, Timelike};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

pub(crate) const SECOND: i64 = 1_000;
pub(crate) const MINUTE: i64 = 60 * SECOND;
pub(crate) const HOUR: i64 = 60 * MINUTE;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mood {
    Calm,
    Upset,
    Hostile,
}

/// How one agent behaves in one segment (personality, already adjusted for
/// how tired the agent is at this point of the day).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Style {
    pub personality: Personality,
    /// Chance to show genuine empathy when the customer voices trouble.
    pub empathy: f64,
    pub interrupt: f64,
    pub defuse: f64,
    pub counter: f64,
    /// Extra reply delay in chat, from fatigue (1.0 = fresh).
    pub slowness: f64,
}

#[derive(Debug, Clone)]
pub(crate) struct SegmentAgent {
    pub id: String,
    pub name: &'static str,
    pub style: Style,
}

pub(crate) struct ContactPlan<'a> {
    pub channel: Channel,
    pub lang: Lang,
    pub topic: &'static Topic,
    pub mood: Mood,
    pub slots: Slots,
    pub start: i64,
    /// Queue wait before the first agent joins; `None` = abandoned after
    /// `patience`.
    pub wait: Option<i64>,
    pub patience: i64,
    /// One agent, or two when the first transfers.
    pub agents: &'a [SegmentAgent],
    pub disposition: Disposition,
    /// Callback promise: hours until due.
    pub callback_hours: i64,
}

/// What the simulator needs to know afterwards (for callbacks, surveys,
/// repeat contacts and the satisfaction score).
#[derive(Debug, Clone, Default)]
pub(crate) struct Truth {
    pub answered: bool,
    pub genuine: u32,
    pub scripted: u32,
    pub pity: u32,
    pub dismissive: u32,
    pub interruptions: u32,
    pub defused: bool,
    pub counter_attack: bool,
    pub end: i64,
    pub wait: i64,
}

pub(crate) struct Built {
    pub events: Vec<(i64, EventKind)>,
    pub disposition: Disposition,
    pub truth: Truth,
}

enum Step {
    /// Agent `seg` joins after `delay` ms.
    Join {
        seg: usize,
        delay: i64,
    },
    Transfer {
        seg: usize,
    },
    Customer {
        text: String,
        raised: bool,
    },
    Agent {
        seg: usize,
        text: String,
        interrupt: bool,
    },
    /// Silence (the agent looks something up, the customer is on hold).
    Pause(i64),
}

pub(crate) fn chance(rng: &mut ChaCha8Rng, p: f64) -> bool {
    rng.random::<f64>() < p
}

pub(crate) fn between(rng: &mut ChaCha8Rng, lo: i64, hi: i64) -> i64 {
    if hi <= lo {
        lo
    } else {
        rng.random_range(lo..hi)
    }
}

pub(crate) fn pick(rng: &mut ChaCha8Rng, p: &P, lang: Lang) -> &'static str {
    let list = p.get(lang);
    list[rng.random_range(0..list.len())]
}

struct Builder<'p, 'r> {
    plan: &'p ContactPlan<'p>,
    rng: &'r mut ChaCha8Rng,
    slots: Slots,
    steps: Vec<Step>,
    truth: Truth,
    disposition: Disposition,
    /// The customer is shouting right now.
    shouting: bool,
    /// Genuine empathy phrases used so far (a warm agent does not repeat
    /// herself).
    used: Vec<&'static str>,
    /// The one stock phrase a scripted agent repeats all contact long.
    stock: Option<&'static str>,
}

pub(crate) fn build(plan: &ContactPlan<'_>, rng: &mut ChaCha8Rng) -> Built {
    let mut b = Builder {
        plan,
        rng,
        slots: plan.slots.clone(),
        steps: Vec::new(),
        truth: Truth::default(),
        disposition: plan.disposition,
        shouting: plan.mood == Mood::Hostile,
        used: Vec::new(),
        stock: None,
    };
    let started = EventKind::ContactStarted {
        customer_id: String::new(),
        queue: None,
        language: None,
    };
    let mut events = vec![(plan.start, started)];
    match plan.channel {
        Channel::Email => b.email(&mut events),
        Channel::Voice | Channel::Chat => {
            b.dialog();
            b.time_dialog(&mut events);
        }
    }
    Built {
        events,
        disposition: b.disposition,
        truth: b.truth,
    }
}

impl Builder<'_, '_> {
    fn lang(&self) -> Lang {
        self.plan.lang
    }

    fn pick(&mut self, p: &P) -> &'static str {
        pick(self.rng, p, self.plan.lang)
    }

    fn say(&mut self, p: &P) -> String {
        let t = self.pick(p);
        fill(t, &self.slots)
    }

    fn style(&self, seg: usize) -> Style {
        self.plan.agents[seg].style
    }

    fn set_agent(&mut self, seg: usize) {
        self.slots.agent = self.plan.agents[seg].name.to_string();
    }

    fn customer(&mut self, text: String) {
        let (text, raised) = if self.shouting {
            (shout(&text), self.plan.channel == Channel::Voice)
        } else if self.plan.channel == Channel::Chat && chance(self.rng, 0.45) {
            (chatify(&text), false)
        } else {
            (text, false)
        };
        self.steps.push(Step::Customer { text, raised });
    }

    fn agent(&mut self, seg: usize, parts: Vec<String>) {
        let text = parts
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        if text.is_empty() {
            return;
        }
        let after_customer = matches!(self.steps.last(), Some(Step::Customer { .. }));
        let interrupt = self.plan.channel == Channel::Voice
            && after_customer
            && chance(self.rng, self.style(seg).interrupt);
        self.steps.push(Step::Agent {
            seg,
            text,
            interrupt,
        });
    }

    fn opportunity(&self) -> bool {
        self.plan.mood != Mood::Calm
    }

    /// The agent's reaction to what the customer just said: genuine empathy,
    /// stock phrases, pity, a decoy or nothing, by personality.
    fn ack(&mut self, seg: usize, trouble: bool) -> String {
        let style = self.style(seg);
        match style.personality {
            Personality::Scripted => {
                if !trouble && !self.plan.topic.trouble {
                    return String::new();
                }
                self.truth.scripted += 1;
                let stock = match self.stock {
                    Some(s) if chance(self.rng, 0.75) => s,
                    _ => {
                        let s = self.pick(&ph::SCRIPTED_ACK);
                        self.stock.get_or_insert(s);
                        s
                    }
                };
                stock.to_string()
            }
            Personality::Curt => {
                if chance(self.rng, 0.08) {
                    self.say(&ph::NOT_UNDERSTANDING)
                } else if trouble && chance(self.rng, style.empathy) {
                    self.truth.genuine += 1;
                    self.say(&ph::ACK_GENUINE)
                } else {
                    String::new()
                }
            }
            Personality::Pitying if trouble && chance(self.rng, 0.7) => {
                self.truth.pity += 1;
                self.say(&ph::PITY)
            }
            _ => {
                if trouble && chance(self.rng, style.empathy) {
                    self.truth.genuine += 1;
                    if self.plan.channel == Channel::Chat && chance(self.rng, 0.25) {
                        return self.say(&ph::ACK_CHAT);
                    }
                    let list = ph::ACK_GENUINE.get(self.lang());
                    let fresh: Vec<&'static str> = list
                        .iter()
                        .copied()
                        .filter(|t| !self.used.contains(t))
                        .collect();
                    let t = if fresh.is_empty() {
                        list[0]
                    } else {
                        fresh[self.rng.random_range(0..fresh.len())]
                    };
                    self.used.push(t);
                    fill(t, &self.slots)
                } else if chance(self.rng, 0.05) {
                    self.say(&ph::NOT_UNDERSTANDING)
                } else if chance(self.rng, 0.5) {
                    self.say(&ph::ACK_NEUTRAL)
                } else {
                    String::new()
                }
            }
        }
    }

    fn question(&mut self, seg: usize) -> String {
        if self.style(seg).personality == Personality::Curt {
            self.say(&self.plan.topic.curt_question)
        } else {
            self.say(&self.plan.topic.question)
        }
    }

    fn ownership(&mut self, seg: usize) -> String {
        let style = self.style(seg);
        let p = match style.personality {
            Personality::Warm => 0.7 * style.empathy,
            Personality::Curt | Personality::Scripted | Personality::Pitying => 0.05,
            _ => 0.4 * style.empathy,
        };
        if chance(self.rng, p) {
            self.truth.genuine += 1;
            self.say(&ph::OWNERSHIP)
        } else {
            String::new()
        }
    }

    /// The opening problem statement of the customer.
    fn problem(&mut self) -> String {
        let topic = self.plan.topic;
        let mut parts = Vec::new();
        if self.plan.mood == Mood::Hostile {
            parts.push(self.say(&ph::HOSTILE_OPENER));
        }
        let body = if self.plan.mood == Mood::Calm {
            self.say(&topic.problem_calm)
        } else {
            self.say(&topic.problem_upset)
        };
        parts.push(body);
        if !self.slots.nth.is_empty() && chance(self.rng, 0.7) {
            parts.push(self.say(&ph::REPEAT_MENTION));
        }
        parts.join(" ")
    }

    /// Voice and chat: the script of turns.
    fn dialog(&mut self) {
        let plan = self.plan;
        let Some(wait) = plan.wait else {
            // Abandoned: a chat customer may have typed the question already.
            if plan.channel == Channel::Chat && chance(self.rng, 0.5) {
                let p = self.problem();
                self.customer(p);
                if chance(self.rng, 0.5) {
                    let t = if self.lang() == Lang::Nl {
                        "hallo??"
                    } else {
                        "hello??"
                    };
                    self.steps.push(Step::Pause(plan.patience / 2));
                    self.customer(t.to_string());
                }
            }
            return;
        };
        self.truth.answered = true;
        self.truth.wait = wait;
        let prechat = plan.channel == Channel::Chat && chance(self.rng, 0.5);
        if prechat {
            let p = self.problem();
            self.customer(p);
        }
        self.steps.push(Step::Join {
            seg: 0,
            delay: wait,
        });
        self.set_agent(0);
        let greet = self.greeting(0);
        self.agent(0, vec![greet]);
        if !prechat {
            let p = self.problem();
            self.customer(p);
        }
        if plan.mood == Mood::Hostile && !self.hostile_exchange(0) {
            return;
        }
        let opportunity = self.opportunity();
        let ack = self.ack(0, opportunity);
        let q = self.question(0);
        self.agent(0, vec![ack, q]);
        let answer = self.say(&plan.topic.answer);
        self.customer(answer);
        let looking = self.say(&ph::LOOKING);
        self.agent(0, vec![looking]);
        self.steps
            .push(Step::Pause(between(self.rng, 5 * SECOND, 60 * SECOND)));
        let finding = self.say(&plan.topic.finding);
        let own = self.ownership(0);
        let stock = if self.style(0).personality == Personality::Scripted {
            self.ack(0, opportunity)
        } else {
            String::new()
        };
        self.agent(0, vec![stock, finding, own]);
        if opportunity && chance(self.rng, 0.5) {
            let feeling = self.say(&ph::CUSTOMER_FEELING);
            self.customer(feeling);
            let ack = self.ack(0, true);
            let chatter =
                if self.style(0).personality == Personality::Scripted && chance(self.rng, 0.6) {
                    self.say(&ph::SCRIPTED_CHATTER)
                } else {
                    String::new()
                };
            self.agent(0, vec![ack, chatter]);
        }
        let mut seg = 0;
        if plan.agents.len() > 1 {
            let t = self.say(&ph::TRANSFER);
            self.agent(0, vec![t]);
            self.steps.push(Step::Transfer { seg: 0 });
            seg = 1;
            let hold = if plan.channel == Channel::Voice {
                between(self.rng, 10 * SECOND, 150 * SECOND)
            } else {
                between(self.rng, 15 * SECOND, 120 * SECOND)
            };
            self.steps.push(Step::Join { seg, delay: hold });
            self.set_agent(seg);
            let g = if self.style(seg).personality == Personality::Curt {
                self.say(&ph::GREET_CURT)
            } else {
                self.say(&ph::GREET_AFTER_TRANSFER)
            };
            self.agent(seg, vec![g]);
            let restate = if self.lang() == Lang::Nl {
                format!("Ja, het gaat dus om {}.", self.slots.situation_cust)
            } else {
                format!("Yes, it's about {}.", self.slots.situation_cust)
            };
            self.customer(restate);
            let ack = self.ack(seg, opportunity);
            let finding = self.say(&plan.topic.finding);
            self.agent(seg, vec![ack, finding]);
        }
        self.conclude(seg);
    }

    fn greeting(&mut self, seg: usize) -> String {
        let p = match (self.style(seg).personality, self.plan.channel) {
            (Personality::Curt, _) => &ph::GREET_CURT,
            (Personality::Scripted, _) => &ph::GREET_SCRIPTED,
            (_, Channel::Chat) => &ph::GREET_CHAT,
            _ => &ph::GREET_WARM,
        };
        self.say(p)
    }

    /// The agent's answer to a shouting customer. Returns whether the
    /// conversation goes on.
    fn hostile_exchange(&mut self, seg: usize) -> bool {
        let style = self.style(seg);
        let written = self.plan.channel != Channel::Voice;
        if chance(self.rng, style.defuse) {
            self.truth.defused = true;
            let t = if written {
                self.say(&ph::NAME_BEHAVIOUR_WRITTEN)
            } else {
                self.say(&ph::NAME_BEHAVIOUR)
            };
            self.agent(seg, vec![t]);
            if chance(self.rng, 0.65) {
                self.shouting = false;
                let a = self.say(&ph::HOSTILE_APOLOGY);
                self.customer(a);
                return true;
            }
            let c = self.say(&ph::HOSTILE_CONTINUE);
            self.customer(c);
            let t = self.say(&ph::END_WITH_CALLBACK);
            self.agent(seg, vec![t]);
            self.shouting = false;
            let ok = self.say(&ph::CUSTOMER_CALLBACK_OK);
            self.customer(ok);
            self.disposition = Disposition::CallbackScheduled;
            return false;
        }
        if chance(self.rng, style.counter) {
            self.truth.counter_attack = true;
            let t = self.say(&ph::COUNTER_ATTACK);
            self.agent(seg, vec![t]);
            let c = self.say(&ph::HOSTILE_CONTINUE);
            self.customer(c);
            if chance(self.rng, 0.55) {
                let bye = self.say(&ph::FAREWELL_CURT);
                self.agent(seg, vec![bye]);
                self.disposition = Disposition::Unresolved;
                return false;
            }
            return true;
        }
        let t = match style.personality {
            Personality::Scripted => {
                self.truth.scripted += 1;
                self.say(&ph::SCRIPTED_ON_HOSTILE)
            }
            Personality::Pitying => {
                self.truth.pity += 1;
                self.say(&ph::PITY)
            }
            _ => self.ack(seg, true),
        };
        self.agent(seg, vec![t]);
        // Not addressed: the customer keeps shouting a little longer.
        if chance(self.rng, 0.5) {
            let c = self.say(&ph::HOSTILE_CONTINUE);
            self.customer(c);
        }
        self.shouting = chance(self.rng, 0.4);
        true
    }

    /// The final agent's outcome, the customer's reaction and the goodbye.
    fn conclude(&mut self, seg: usize) {
        let style = self.style(seg);
        let scripted = style.personality == Personality::Scripted;
        let stock = if scripted {
            self.ack(seg, self.opportunity())
        } else {
            String::new()
        };
        let outcome = self.outcome_text(seg);
        self.agent(seg, vec![stock, outcome]);
        if self.disposition != Disposition::Unresolved {
            self.shouting = false;
        }
        let reaction = match self.disposition {
            Disposition::Resolved => self.say(&ph::CUSTOMER_THANKS),
            Disposition::CallbackScheduled => self.say(&ph::CUSTOMER_CALLBACK_OK),
            _ => self.say(&ph::CUSTOMER_DISAPPOINTED),
        };
        self.customer(reaction);
        self.shouting = false;
        match style.personality {
            Personality::Scripted => {
                let t = self.say(&ph::FAREWELL_SCRIPTED);
                self.truth.scripted += 1;
                self.agent(seg, vec![t]);
                let r = self.say(&ph::CUSTOMER_AFTER_GUSH);
                self.customer(r);
            }
            Personality::Pitying => {
                let t = self.say(&ph::FAREWELL_PITY);
                self.truth.pity += 1;
                self.agent(seg, vec![t]);
            }
            Personality::Curt => {
                let t = self.say(&ph::FAREWELL_CURT);
                self.agent(seg, vec![t]);
            }
            _ => {
                if chance(self.rng, 0.6) {
                    let t = self.say(&ph::ANYTHING_ELSE);
                    self.agent(seg, vec![t]);
                    let r = self.say(&ph::CUSTOMER_NOTHING_ELSE);
                    self.customer(r);
                }
                let t = self.say(&ph::FAREWELL);
                self.agent(seg, vec![t]);
            }
        }
    }

    fn outcome_text(&mut self, seg: usize) -> String {
        let curt = self.style(seg).personality == Personality::Curt;
        match self.disposition {
            Disposition::Resolved => self.say(&self.plan.topic.resolve),
            Disposition::CallbackScheduled => self.say(&ph::CALLBACK_PROMISE),
            Disposition::Escalated => self.say(&ph::ESCALATE),
            Disposition::Unresolved if curt || chance(self.rng, 0.15) => {
                self.truth.dismissive += 1;
                self.say(&ph::DISMISSIVE)
            }
            Disposition::Unresolved => self.say(&ph::UNRESOLVED),
        }
    }

    /// Turns the script into timed events (voice or chat).
    fn time_dialog(&mut self, events: &mut Vec<(i64, EventKind)>) {
        let plan = self.plan;
        let voice = plan.channel == Channel::Voice;
        let mut cursor = plan.start;
        // (start, end) of the last customer utterance.
        let mut last_customer: Option<(i64, i64)> = None;
        let steps = std::mem::take(&mut self.steps);
        for step in steps {
            match step {
                Step::Pause(ms) => cursor += ms,
                Step::Join { seg, delay } => {
                    cursor = cursor.max(plan.start + if seg == 0 { delay } else { 0 });
                    if seg > 0 {
                        cursor += delay;
                    }
                    events.push((
                        cursor,
                        EventKind::AgentJoined {
                            agent_id: plan.agents[seg].id.clone(),
                        },
                    ));
                    last_customer = None;
                }
                Step::Transfer { seg } => {
                    cursor += between(self.rng, 500, 3 * SECOND);
                    events.push((
                        cursor,
                        EventKind::Transfer {
                            from_agent_id: plan.agents[seg].id.clone(),
                        },
                    ));
                    last_customer = None;
                }
                Step::Customer { text, raised } => {
                    let (ts, end) = if voice {
                        let start = cursor + between(self.rng, 250, 1_400);
                        (start, start + utterance_ms(self.rng, &text))
                    } else {
                        let typing = (text.chars().count() as i64 * between(self.rng, 150, 260))
                            .min(90 * SECOND);
                        (
                            cursor + between(self.rng, 3 * SECOND, 20 * SECOND) + typing,
                            0,
                        )
                    };
                    cursor = if voice { end } else { ts };
                    last_customer = Some((ts, end));
                    events.push((
                        ts,
                        EventKind::Message {
                            party: Party::Customer,
                            agent_id: None,
                            text,
                            end_ts: voice.then(|| to_ts(end)).flatten(),
                            raised_voice: raised,
                        },
                    ));
                }
                Step::Agent {
                    seg,
                    text,
                    interrupt,
                } => {
                    let style = plan.agents[seg].style;
                    let (ts, end) = if voice {
                        let dur = utterance_ms(self.rng, &text);
                        let start = match last_customer {
                            Some((cs, ce)) if interrupt && ce - cs > 1_600 => {
                                self.truth.interruptions += 1;
                                let overlap = between(self.rng, 700, (ce - cs - 600).min(2_500));
                                ce - overlap
                            }
                            _ => cursor + between(self.rng, 250, 1_400),
                        };
                        (start, start + dur)
                    } else {
                        let base = match style.personality {
                            Personality::Curt => between(self.rng, 4 * SECOND, 15 * SECOND),
                            Personality::Warm => between(self.rng, 8 * SECOND, 40 * SECOND),
                            _ => between(self.rng, 8 * SECOND, 60 * SECOND),
                        };
                        let typing = text.chars().count() as i64 * between(self.rng, 30, 70);
                        (cursor + ((base + typing) as f64 * style.slowness) as i64, 0)
                    };
                    cursor = cursor.max(if voice { end } else { ts });
                    last_customer = None;
                    events.push((
                        ts,
                        EventKind::Message {
                            party: Party::Agent,
                            agent_id: Some(plan.agents[seg].id.clone()),
                            text,
                            end_ts: voice.then(|| to_ts(end)).flatten(),
                            raised_voice: false,
                        },
                    ));
                }
            }
        }
        let end = match plan.wait {
            None => plan.start + plan.patience.max(cursor - plan.start + SECOND),
            Some(_) if voice => cursor + between(self.rng, 500, 3 * SECOND),
            Some(_) => cursor + between(self.rng, 10 * SECOND, 120 * SECOND),
        };
        self.finish(events, end);
    }

    fn finish(&mut self, events: &mut Vec<(i64, EventKind)>, end: i64) {
        let callback_due = (self.disposition == Disposition::CallbackScheduled
            && self.truth.answered)
            .then(|| to_ts(end + self.plan.callback_hours * HOUR))
            .flatten();
        events.push((
            end,
            EventKind::ContactEnded {
                disposition: self.disposition,
                callback_due,
            },
        ));
        self.truth.end = end;
    }

    // --- e-mail -------------------------------------------------------------

    fn email(&mut self, events: &mut Vec<(i64, EventKind)>) {
        let plan = self.plan;
        let lang = self.lang();
        let t0 = plan.start;
        let customer_mail = self.customer_mail();
        self.customer_message(events, t0, customer_mail.clone());
        let Some(wait) = plan.wait else {
            // The customer withdraws the question before anyone picks it up.
            let t = t0 + plan.patience;
            let body = format!(
                "{}\n\n{}\n\n{}\n{}",
                self.pick(&ph::MAIL_CUSTOMER_GREETING),
                self.pick(&ph::MAIL_CUSTOMER_NEVERMIND),
                self.pick(&ph::MAIL_CUSTOMER_SIGNOFF),
                self.slots.full
            );
            let quoted = quote(
                lang,
                t0,
                &self.slots.full,
                &self.slots.email,
                &customer_mail,
            );
            self.customer_message(events, t, format!("{body}\n\n{quoted}"));
            self.disposition = Disposition::Resolved;
            let end = t + between(self.rng, 5 * MINUTE, 2 * HOUR);
            self.finish(events, end);
            return;
        };
        self.truth.answered = true;
        self.truth.wait = wait;
        let mut cursor = t0 + wait;
        events.push((
            cursor,
            EventKind::AgentJoined {
                agent_id: plan.agents[0].id.clone(),
            },
        ));
        let mut seg = 0;
        if plan.agents.len() > 1 {
            // Routed to the wrong queue: handed on without a reply.
            cursor += between(self.rng, 2 * MINUTE, 30 * MINUTE);
            events.push((
                cursor,
                EventKind::Transfer {
                    from_agent_id: plan.agents[0].id.clone(),
                },
            ));
            cursor += between(self.rng, 30 * MINUTE, 8 * HOUR);
            seg = 1;
            events.push((
                cursor,
                EventKind::AgentJoined {
                    agent_id: plan.agents[1].id.clone(),
                },
            ));
        }
        self.set_agent(seg);
        let style = self.style(seg);
        let mut last_mail = (
            t0,
            self.slots.full.clone(),
            self.slots.email.clone(),
            customer_mail,
        );
        let needs_info = chance(
            self.rng,
            if style.personality == Personality::Curt {
                0.5
            } else {
                0.3
            },
        );
        if needs_info {
            cursor += between(self.rng, 3 * MINUTE, 25 * MINUTE);
            let body = if style.personality == Personality::Curt {
                self.say(&ph::MAIL_CURT_BODY)
            } else {
                let ack = self.mail_ack(seg);
                self.slots.question = self.say(&self.plan.topic.question);
                let ask = self.say(&ph::MAIL_AGENT_ASK);
                join_nonempty(&[ack, ask])
            };
            let mail = self.agent_mail(seg, &body, &last_mail);
            self.agent_message(events, seg, cursor, mail.clone());
            let agent_from = if lang == Lang::Nl {
                "Klantenservice"
            } else {
                "Customer Service"
            };
            last_mail = (
                cursor,
                agent_from.to_string(),
                "klantenservice@voorbeeld.nl".to_string(),
                mail,
            );
            if chance(self.rng, 0.2) {
                // No answer from the customer: the ticket is closed after three days.
                if self.disposition == Disposition::Resolved
                    || self.disposition == Disposition::CallbackScheduled
                {
                    self.disposition = Disposition::Unresolved;
                }
                self.finish(events, cursor + 72 * HOUR);
                return;
            }
            cursor += between(self.rng, 20 * MINUTE, 30 * HOUR);
            self.slots.answer = self.say(&self.plan.topic.answer);
            let reply = self.say(&ph::MAIL_CUSTOMER_REPLY);
            let reply = if self.shouting { shout(&reply) } else { reply };
            let greet = if lang == Lang::Nl {
                format!("Beste {},", self.slots.agent)
            } else {
                format!("Hi {},", self.slots.agent)
            };
            let text = format!(
                "{greet}\n\n{reply}\n\n{}\n{}\n\n{}",
                self.pick(&ph::MAIL_CUSTOMER_SIGNOFF),
                self.slots.first,
                quote(lang, last_mail.0, &last_mail.1, &last_mail.2, &last_mail.3)
            );
            self.customer_message(events, cursor, text.clone());
            last_mail = (
                cursor,
                self.slots.full.clone(),
                self.slots.email.clone(),
                text,
            );
            cursor += between(self.rng, 30 * MINUTE, 10 * HOUR);
        } else {
            cursor += between(self.rng, 3 * MINUTE, 25 * MINUTE);
        }
        let mut parts = Vec::new();
        if !needs_info {
            parts.push(self.mail_ack(seg));
        }
        parts.push(self.say(&self.plan.topic.finding));
        parts.push(self.ownership(seg));
        parts.push(self.outcome_text(seg));
        if style.personality == Personality::Scripted {
            self.truth.scripted += 1;
            parts.push(self.say(&ph::FAREWELL_SCRIPTED));
        } else if style.personality == Personality::Pitying && chance(self.rng, 0.5) {
            self.truth.pity += 1;
            parts.push(self.say(&ph::FAREWELL_PITY));
        }
        let body = join_nonempty(&parts);
        let mail = self.agent_mail(seg, &body, &last_mail);
        self.agent_message(events, seg, cursor, mail);
        let end = cursor + between(self.rng, 5 * SECOND, 3 * MINUTE);
        self.finish(events, end);
    }

    fn mail_ack(&mut self, seg: usize) -> String {
        let style = self.style(seg);
        let mut parts = Vec::new();
        if style.personality != Personality::Curt && chance(self.rng, 0.6) {
            parts.push(self.say(&ph::MAIL_THANKS_FOR_MAIL));
        }
        if self.plan.mood == Mood::Hostile
            && style.personality != Personality::Curt
            && chance(self.rng, style.defuse)
        {
            self.truth.defused = true;
            parts.push(self.say(&ph::NAME_BEHAVIOUR_WRITTEN));
            self.shouting = false;
        }
        let opp = self.opportunity();
        let ack = self.ack(seg, opp);
        // Spoken fillers ("Okay.", "One moment…") do not belong in a letter.
        if !ph::ACK_NEUTRAL.get(self.lang()).contains(&ack.as_str()) {
            parts.push(ack);
        }
        join_nonempty(&parts)
    }

    fn customer_mail(&mut self) -> String {
        let greeting = self.pick(&ph::MAIL_CUSTOMER_GREETING);
        let problem = self.problem();
        let problem = if self.shouting {
            shout(&problem)
        } else {
            problem
        };
        let detail = self.say(&self.plan.topic.answer);
        let feeling = if self.opportunity() && chance(self.rng, 0.5) {
            self.say(&ph::CUSTOMER_FEELING)
        } else {
            String::new()
        };
        let signoff = self.pick(&ph::MAIL_CUSTOMER_SIGNOFF);
        let mut text = format!(
            "{greeting}\n\n{}\n\n{signoff}\n{}",
            join_nonempty(&[problem, detail, feeling]),
            self.slots.full
        );
        if chance(self.rng, 0.2) {
            text.push_str("\n\n");
            text.push_str(self.pick(&ph::MAIL_MOBILE));
        }
        text
    }

    fn agent_mail(
        &mut self,
        seg: usize,
        body: &str,
        quoted: &(i64, String, String, String),
    ) -> String {
        let style = self.style(seg);
        let lang = self.lang();
        if style.personality == Personality::Curt {
            let sal = if lang == Lang::Nl {
                "Geachte heer/mevrouw,"
            } else {
                "Dear customer,"
            };
            return format!("{sal}\n\n{body}\n\n{}", ph::MAIL_FOOTER.get(lang)[0]);
        }
        let sal = if style.personality == Personality::Scripted {
            self.say(&ph::MAIL_AGENT_SALUTATION_SCRIPTED)
        } else {
            self.say(&ph::MAIL_AGENT_SALUTATION)
        };
        let closing = self.say(&ph::MAIL_AGENT_CLOSING);
        let signoff = self.pick(&ph::MAIL_AGENT_SIGNOFF);
        let footer = self.pick(&ph::MAIL_FOOTER);
        let mut text = format!(
            "{sal}\n\n{body}\n\n{closing}\n\n{signoff}\n\n{}\n{footer}",
            self.slots.agent
        );
        if chance(self.rng, 0.7) {
            text.push_str("\n\n");
            text.push_str(&quote(lang, quoted.0, &quoted.1, &quoted.2, &quoted.3));
        }
        text
    }

    fn customer_message(&mut self, events: &mut Vec<(i64, EventKind)>, ts: i64, text: String) {
        events.push((
            ts,
            EventKind::Message {
                party: Party::Customer,
                agent_id: None,
                text,
                end_ts: None,
                raised_voice: false,
            },
        ));
    }

    fn agent_message(
        &mut self,
        events: &mut Vec<(i64, EventKind)>,
        seg: usize,
        ts: i64,
        text: String,
    ) {
        let agent_id = Some(self.plan.agents[seg].id.clone());
        events.push((
            ts,
            EventKind::Message {
                party: Party::Agent,
                agent_id,
                text,
                end_ts: None,
                raised_voice: false,
            },
        ));
    }
}

fn join_nonempty(parts: &[String]) -> String {
    parts
        .iter()
        .filter(|s| !s.is_empty())
        .cloned()
        .collect::<Vec<_>>()
        .join(" ")
}

pub(crate) fn to_ts(ms: i64) -> Option<crate::model::Timestamp> {
    chrono::DateTime::from_timestamp_millis(ms)
}

/// Speaking time: about 2.5 words a second plus a breath.
fn utterance_ms(rng: &mut ChaCha8Rng, text: &str) -> i64 {
    let words = text.split_whitespace().count().max(1) as i64;
    words * between(rng, 330, 450) + 250
}

fn shout(text: &str) -> String {
    let mut s = text.to_uppercase();
    while s.ends_with('.') {
        s.pop();
    }
    if !s.ends_with("!!") {
        s.push_str("!!!");
    }
    s
}

/// Chat spelling: lower case, no final full stop, "t" for "het", "ff" for "even".
fn chatify(text: &str) -> String {
    let mut s = format!(" {} ", text.to_lowercase());
    s = s.replace(" het ", " t ").replace(" even ", " ff ");
    let s = s.trim();
    s.strip_suffix('.').unwrap_or(s).to_string()
}

/// A quoted earlier mail below the reply, as mail clients write it.
fn quote(lang: Lang, ts: i64, from: &str, email: &str, text: &str) -> String {
    let local =
        chrono_tz::Europe::Amsterdam.from_utc_datetime(&to_ts(ts).unwrap_or_default().naive_utc());
    let wd = local.weekday().num_days_from_monday() as usize;
    let mon = local.month0() as usize;
    let header = match lang {
        Lang::Nl => format!(
            "Op {} {} {} {} om {:02}:{:02} schreef {from} <{email}>:",
            ph::WEEKDAYS_SHORT.nl[wd],
            local.day(),
            ph::MONTHS_SHORT.nl[mon],
            local.year(),
            local.hour(),
            local.minute()
        ),
        Lang::En => format!(
            "On {}, {} {} {} at {:02}:{:02}, {from} <{email}> wrote:",
            ph::WEEKDAYS_SHORT.en[wd],
            local.day(),
            ph::MONTHS_SHORT.en[mon],
            local.year(),
            local.hour(),
            local.minute()
        ),
    };
    let body: Vec<String> = text
        .lines()
        .map(|l| {
            if l.is_empty() {
                ">".to_string()
            } else {
                format!("> {l}")
            }
        })
        .collect();
    format!("{header}\n{}", body.join("\n"))
}
