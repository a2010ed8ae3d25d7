//! Facts: what the stages tell each other. Stage 1 (assembly) emits them per
//! contact, stage 2 (repeat contacts) adds `Repeated`, stage 3 (windows)
//! folds them into aggregates. Facts carry no message text and no raw
//! customer id.

use crate::empathy::Judgement;
use crate::model::{Channel, Disposition, Timestamp};
use serde::{Deserialize, Serialize};

/// Keyed hash (HMAC-SHA256, 128 bits, hex) of a customer id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct CustomerHash(pub String);

/// Enough of a finished contact to find the aggregates it landed in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactRef {
    pub contact_id: String,
    pub channel: Channel,
    pub ended: Timestamp,
    pub disposition: Disposition,
    /// None for an abandoned contact.
    pub final_agent: Option<String>,
}

/// Which aggregates of a fact a stage-3 partition owns: one agent's, or
/// the channel (queue) level, which is one key for all channels because an
/// agent's fatigue ordinal spans channels.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Route {
    Agent(String),
    Queue,
}

impl Fact {
    /// The stage-3 routes this fact updates (none for facts that only
    /// stage 2 needs).
    pub fn routes(&self) -> Vec<Route> {
        let mut routes = Vec::new();
        match self {
            Fact::CustomerContactStarted { .. } => return routes,
            Fact::ContactFinished(s) => {
                for seg in &s.segments {
                    routes.push(Route::Agent(seg.agent_id.clone()));
                }
                if let Some((agent, _, _)) = &s.first_response {
                    routes.push(Route::Agent(agent.clone()));
                }
            }
            Fact::Repeated { contact }
            | Fact::Callback { contact, .. }
            | Fact::Survey { contact, .. } => match &contact.final_agent {
                Some(agent) => routes.push(Route::Agent(agent.clone())),
                None => return routes,
            },
        }
        routes.sort();
        routes.dedup();
        routes.push(Route::Queue);
        routes
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Fact {
    CustomerContactStarted {
        customer: CustomerHash,
        contact_id: String,
        started: Timestamp,
    },
    ContactFinished(ContactSummary),
    /// A resolved contact whose customer came back within the repeat period.
    Repeated {
        contact: ContactRef,
    },
    Callback {
        contact: ContactRef,
        kept: bool,
    },
    Survey {
        contact: ContactRef,
        csat: u8,
    },
}

/// One finished contact with every figure kpis.md derives from it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContactSummary {
    pub contact_id: String,
    pub channel: Channel,
    pub customer: Option<CustomerHash>,
    pub started: Option<Timestamp>,
    pub ended: Timestamp,
    pub disposition: Disposition,
    pub callback_due: Option<Timestamp>,
    pub abandoned: bool,
    /// First `agent_joined` − `contact_started`.
    pub wait_ms: Option<i64>,
    pub within_service_level: Option<bool>,
    /// Chat and e-mail: (agent, ms, within the threshold).
    pub first_response: Option<(String, i64, bool)>,
    pub segments: Vec<SegmentSummary>,
}

impl ContactSummary {
    pub fn final_segment(&self) -> Option<&SegmentSummary> {
        self.segments.last()
    }

    pub fn contact_ref(&self) -> ContactRef {
        ContactRef {
            contact_id: self.contact_id.clone(),
            channel: self.channel,
            ended: self.ended,
            disposition: self.disposition,
            final_agent: self.final_segment().map(|s| s.agent_id.clone()),
        }
    }
}

/// One agent segment: the judgements as flags, no evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SegmentSummary {
    pub agent_id: String,
    pub joined: Timestamp,
    pub closed: Timestamp,
    pub closed_by_transfer: bool,
    pub is_final: bool,
    pub empathy_scored: bool,
    pub empathy_shown: bool,
    pub empathy_score: u8,
    pub empathy_opportunity: bool,
    pub empathy_missed: bool,
    pub empathy_overdone: bool,
    pub pity: bool,
    pub questions_asked: bool,
    pub hostile_customer: bool,
    pub hostile_defused: bool,
    pub voice: bool,
    pub interruptions: u32,
    pub reply_ms_sum: u64,
    pub reply_ms_count: u64,
    /// Each reply gap, for the reply-time histogram.
    pub reply_ms: Vec<u64>,
}

impl SegmentSummary {
    #[allow(clippy::too_many_arguments)]
    pub fn from_judgement(
        agent_id: &str,
        joined: Timestamp,
        closed: Timestamp,
        closed_by_transfer: bool,
        is_final: bool,
        channel: Channel,
        interruptions: u32,
        reply_ms: &[i64],
        j: &Judgement,
    ) -> Self {
        let scored = j.empathy_scored;
        SegmentSummary {
            agent_id: agent_id.to_string(),
            joined,
            closed,
            closed_by_transfer,
            is_final,
            empathy_scored: scored,
            empathy_shown: scored && j.empathy_shown,
            empathy_score: if scored { j.empathy_score.min(100) } else { 0 },
            empathy_opportunity: j.empathy_opportunity,
            empathy_missed: j.empathy_opportunity && !(scored && j.empathy_shown),
            empathy_overdone: scored && j.empathy_overdone,
            pity: scored && j.pity,
            questions_asked: scored && j.questions_asked,
            hostile_customer: j.hostile_customer,
            hostile_defused: j.hostile_customer && j.hostile_defused,
            voice: channel == Channel::Voice,
            interruptions,
            reply_ms_sum: reply_ms.iter().map(|&m| m as u64).sum(),
            reply_ms_count: reply_ms.len() as u64,
            reply_ms: reply_ms.iter().map(|&m| m as u64).collect(),
        }
    }
}
