//! Every Prometheus metric of the service, in one place. The registry is
//! owned by the service (not global), so tests run isolated services side by
//! side. Names follow the Prometheus guide: `contact_kpi_` prefix, base units,
//! `_total` on counters. KPI series carry `agent` and `channel` labels; the
//! number of distinct agents is capped (`metrics.max_agents`), the rest is
//! folded into `agent="_other"`, and per-agent labels can be switched off
//! (`metrics.per_agent = false`, then `agent="_all"`).

use crate::kpi::{EngineCounters, Fact};
use crate::model::proto::KpiAggregate;
use chrono::{DateTime, Utc};
use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Most folded agent ids remembered for `contact_kpi_agents_folded`; beyond
/// it the ones not seen for the idle period are forgotten, then all.
const MAX_FOLDED_TRACKED: usize = 10_000;

/// Labels for agents, with the cardinality cap. Up to `max_agents` agents
/// have their own label; when all places are taken, a new agent takes the
/// place of the agent seen least recently, if that one has had no fact for
/// `idle` (its series are then removed). So a burst of bogus ids (a bot, a
/// test script) that fills the places first gives them back once it stops,
/// instead of folding the real agents into `_other` for good.
#[derive(Debug)]
struct AgentLabels {
    per_agent: bool,
    max_agents: usize,
    idle: Duration,
    /// Labelled agents and when they were last seen.
    labelled: HashMap<String, Instant>,
    /// Agents reported as `_other`, and when they were last seen (bounded).
    folded: HashMap<String, Instant>,
}

/// An agent's label, and the agent whose place it took (whose series must go).
struct Labelled<'a> {
    label: &'a str,
    evicted: Option<String>,
}

impl AgentLabels {
    fn new(per_agent: bool, max_agents: usize) -> Self {
        AgentLabels {
            per_agent,
            max_agents,
            idle: Duration::from_secs(3600),
            labelled: HashMap::new(),
            folded: HashMap::new(),
        }
    }

    fn label<'a>(&mut self, agent: &'a str, now: Instant) -> Labelled<'a> {
        let own = |evicted| Labelled {
            label: agent,
            evicted,
        };
        if !self.per_agent {
            return Labelled {
                label: "_all",
                evicted: None,
            };
        }
        if let Some(seen) = self.labelled.get_mut(agent) {
            *seen = now;
            return own(None);
        }
        if self.labelled.len() < self.max_agents {
            self.folded.remove(agent);
            self.labelled.insert(agent.to_string(), now);
            return own(None);
        }
        let least_recent = self
            .labelled
            .iter()
            .min_by_key(|(_, &seen)| seen)
            .map(|(a, &seen)| (a.clone(), seen));
        if let Some((old, seen)) = least_recent {
            if now.saturating_duration_since(seen) >= self.idle {
                self.labelled.remove(&old);
                self.folded.remove(agent);
                self.labelled.insert(agent.to_string(), now);
                return own(Some(old));
            }
        }
        self.folded.insert(agent.to_string(), now);
        if self.folded.len() > MAX_FOLDED_TRACKED {
            let idle = self.idle;
            self.folded
                .retain(|_, seen| now.saturating_duration_since(*seen) < idle);
            if self.folded.len() > MAX_FOLDED_TRACKED {
                self.folded.clear();
            }
        }
        Labelled {
            label: "_other",
            evicted: None,
        }
    }
}

/// The window behind one (agent label, channel, window size) series of
/// `contact_kpi_window_ratio`.
#[derive(Debug)]
struct RatioWindow {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
}

impl RatioWindow {
    /// Stale once the window after it has ended too: the series would show
    /// an agent who has had no aggregate for a whole window.
    fn stale_at(&self, event_time: DateTime<Utc>) -> bool {
        self.end + (self.end - self.start) < event_time
    }
}

/// Which window each window-ratio series shows, and the newest expiry time.
#[derive(Debug, Default)]
struct WindowRatios {
    latest: HashMap<(String, String, String), RatioWindow>,
    /// Remembered so a late correction of a window that is already stale
    /// does not bring its series back.
    expired_at: Option<DateTime<Utc>>,
}

/// The ratio gauges of an aggregate, by `kpi` label (`None`: no series).
fn window_ratios(a: &KpiAggregate) -> [(&'static str, Option<f64>); 13] {
    [
        ("empathy_rate", a.empathy_rate),
        ("empathy_miss_rate", a.empathy_miss_rate),
        ("empathy_score", a.empathy_score),
        ("listening_rate", a.listening_rate),
        ("hollow_empathy_rate", a.hollow_empathy_rate),
        ("service_level", a.service_level),
        ("abandon_rate", a.abandon_rate),
        ("asa_ms", a.asa_ms),
        ("first_response_sla_rate", a.first_response_sla_rate),
        ("resolution_rate", a.resolution_rate),
        ("fcr_rate", a.fcr_rate),
        ("callback_kept_rate", a.callback_kept_rate),
        ("csat_mean", a.csat_mean),
    ]
}

/// KPI counters of kpis.md that are plain counts of segments or contacts.
const SEGMENT_COUNTERS: [(&str, &str); 13] = [
    ("handled", "Agent segments handled (one per agent_joined)."),
    ("empathy_scored", "Segments with agent text to judge."),
    (
        "empathy_shown",
        "Segments where the agent showed genuine empathy.",
    ),
    (
        "empathy_opportunity",
        "Segments where the customer voiced trouble or a negative feeling.",
    ),
    (
        "empathy_missed",
        "Empathy opportunities without empathy shown.",
    ),
    (
        "empathy_overdone",
        "Segments with overdone (scripted, repeated, gushing) empathy.",
    ),
    (
        "pity",
        "Segments with pity or condescension instead of understanding.",
    ),
    (
        "questions_asked",
        "Segments where the agent asked the customer a question.",
    ),
    ("listened_fully", "Voice segments without interruptions."),
    ("hostile_customer", "Segments with a hostile customer."),
    (
        "hostile_defused",
        "Hostile-customer segments the agent defused.",
    ),
    (
        "transfers_out",
        "Segments closed by a transfer, for the transferring agent.",
    ),
    (
        "voice_segments_scored",
        "Voice segments with agent text to judge.",
    ),
];

pub struct Metrics {
    registry: Registry,
    agents: Mutex<AgentLabels>,
    segment_counters: HashMap<&'static str, IntCounterVec>,
    pub interruptions: IntCounterVec,
    pub empathy_score_sum: IntCounterVec,
    pub contacts_final: IntCounterVec,
    pub repeat_contacts: IntCounterVec,
    pub callbacks: IntCounterVec,
    pub csat_sum: IntCounterVec,
    pub csat_count: IntCounterVec,
    pub offered: IntCounterVec,
    pub answered: IntCounterVec,
    pub abandoned: IntCounterVec,
    pub answered_within_sl: IntCounterVec,
    pub first_response_within_sla: IntCounterVec,
    pub wait_seconds: HistogramVec,
    pub first_response_seconds: HistogramVec,
    pub reply_seconds: HistogramVec,
    pub handle_seconds: HistogramVec,
    pub window_ratio: prometheus::GaugeVec,
    window_latest: Mutex<WindowRatios>,
    // Pipeline health.
    pub records_consumed: IntCounterVec,
    pub records_produced: IntCounterVec,
    pub dlq_records: IntCounterVec,
    /// Platform records by input format and outcome (forwarded, ignored, dead_letter).
    pub input_records: IntCounterVec,
    /// Contract events made from platform records, by format, channel and type.
    pub input_events: IntCounterVec,
    /// Wrap-up codes or statuses no `adapters.dispositions` entry names.
    pub unmapped_dispositions: IntCounterVec,
    /// How long the router has held buffered records back waiting for a
    /// partition that may bring older ones (0 when it is not waiting).
    pub router_merge_wait: prometheus::Gauge,
    pub engine_events: IntCounterVec,
    pub open_contacts: IntGauge,
    pub finished_contacts: IntGauge,
    pub window_aggregates: IntGauge,
    pub customers_tracked: IntGauge,
    // Transactions, changelogs, restores (per stage).
    pub transactions: IntCounterVec,
    pub transaction_seconds: HistogramVec,
    pub changelog_records: IntCounterVec,
    pub changelog_bytes: IntCounterVec,
    pub restore_seconds: prometheus::GaugeVec,
    pub restored_records: IntCounterVec,
    pub restored_bytes: IntGaugeVec,
    pub stage_restarts: IntCounterVec,
    pub poison_records: IntCounterVec,
    pub dead_letter_failures: IntCounterVec,
    pub duplicates_dropped: IntCounterVec,
    pub stage_ready: IntGaugeVec,
    pub partitions_assigned: IntGaugeVec,
    pub event_to_aggregate_seconds: Histogram,
    pub producer_backpressure: IntCounter,
    pub alerts: IntCounterVec,
    pub consumer_lag: IntGaugeVec,
    pub ready: IntGauge,
    pub agents_folded: IntGauge,
    pub build_info: IntGaugeVec,
    last_engine: Mutex<HashMap<&'static str, EngineCounters>>,
    /// (agent label, channel) pairs whose KPI series exist (created at 0).
    agent_series: Mutex<HashSet<(String, &'static str)>>,
}

fn counter(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let c = IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric");
    registry
        .register(Box::new(c.clone()))
        .expect("unique metric");
    c
}

fn histogram(
    registry: &Registry,
    name: &str,
    help: &str,
    labels: &[&str],
    buckets: Vec<f64>,
) -> HistogramVec {
    let h = HistogramVec::new(HistogramOpts::new(name, help).buckets(buckets), labels)
        .expect("valid metric");
    registry
        .register(Box::new(h.clone()))
        .expect("unique metric");
    h
}

fn gauge(registry: &Registry, name: &str, help: &str) -> IntGauge {
    let g = IntGauge::new(name, help).expect("valid metric");
    registry
        .register(Box::new(g.clone()))
        .expect("unique metric");
    g
}

const TIME_BUCKETS: [f64; 16] = [
    1.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0, 14400.0,
    28800.0, 86400.0, 172800.0,
];

impl Metrics {
    /// The metrics of a service with `config`.
    pub fn for_config(config: &crate::config::Config) -> Self {
        let m = Metrics::new(config.raw.metrics.per_agent, config.raw.metrics.max_agents);
        m.set_agent_label_idle(config.agent_label_idle);
        m
    }

    pub fn new(per_agent: bool, max_agents: usize) -> Self {
        let registry = Registry::new();
        let ac = ["agent", "channel"];
        let mut segment_counters = HashMap::new();
        for (name, help) in SEGMENT_COUNTERS {
            segment_counters.insert(
                name,
                counter(&registry, &format!("contact_kpi_{name}_total"), help, &ac),
            );
        }
        let buckets = TIME_BUCKETS.to_vec();
        let build_info = IntGaugeVec::new(
            Opts::new("contact_kpi_build_info", "Build information; always 1."),
            &["version"],
        )
        .expect("valid metric");
        registry
            .register(Box::new(build_info.clone()))
            .expect("unique metric");
        build_info
            .with_label_values(&[env!("CARGO_PKG_VERSION")])
            .set(1);
        let window_ratio = prometheus::GaugeVec::new(
            Opts::new(
                "contact_kpi_window_ratio",
                "Derived KPI ratio of the newest window, from the exact aggregates (agent=\"_all\" is the channel level).",
            ),
            &["kpi", "agent", "channel", "window"],
        )
        .expect("valid metric");
        registry
            .register(Box::new(window_ratio.clone()))
            .expect("unique metric");
        let event_to_aggregate_seconds = Histogram::with_opts(
            HistogramOpts::new(
                "contact_kpi_event_to_aggregate_seconds",
                "Per publish of aggregates, the wall time since the oldest event in it arrived in the input topic (its Kafka timestamp).",
            )
            .buckets(vec![
                0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 2.5, 5.0, 10.0,
                30.0, 60.0,
            ]),
        )
        .expect("valid metric");
        registry
            .register(Box::new(event_to_aggregate_seconds.clone()))
            .expect("unique metric");
        let restore_seconds = prometheus::GaugeVec::new(
            Opts::new(
                "contact_kpi_restore_duration_seconds",
                "Time the last state restore of newly assigned partitions took, per stage.",
            ),
            &["stage"],
        )
        .expect("valid metric");
        registry
            .register(Box::new(restore_seconds.clone()))
            .expect("unique metric");
        let restored_bytes = IntGaugeVec::new(
            Opts::new(
                "contact_kpi_changelog_restored_bytes",
                "Changelog bytes read by the last restore, per stage (the state size it rebuilt).",
            ),
            &["stage"],
        )
        .expect("valid metric");
        registry
            .register(Box::new(restored_bytes.clone()))
            .expect("unique metric");
        let stage_ready = IntGaugeVec::new(
            Opts::new(
                "contact_kpi_stage_ready",
                "1 while the stage is in its consumer group with its partitions' state restored.",
            ),
            &["stage"],
        )
        .expect("valid metric");
        registry
            .register(Box::new(stage_ready.clone()))
            .expect("unique metric");
        let partitions_assigned = IntGaugeVec::new(
            Opts::new(
                "contact_kpi_partitions_assigned",
                "Input partitions the stage owns in this instance.",
            ),
            &["stage"],
        )
        .expect("valid metric");
        registry
            .register(Box::new(partitions_assigned.clone()))
            .expect("unique metric");
        let transaction_seconds = histogram(
            &registry,
            "contact_kpi_transaction_duration_seconds",
            "Time to commit one stage transaction (outputs, changelog, offsets).",
            &["stage"],
            vec![0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0],
        );
        let producer_backpressure = IntCounter::new(
            "contact_kpi_producer_backpressure_total",
            "Times the producer queue was full and consumption waited for deliveries.",
        )
        .expect("valid metric");
        registry
            .register(Box::new(producer_backpressure.clone()))
            .expect("unique metric");
        let consumer_lag = IntGaugeVec::new(
            Opts::new(
                "contact_kpi_consumer_lag",
                "Input records behind the high watermark, per partition.",
            ),
            &["partition"],
        )
        .expect("valid metric");
        registry
            .register(Box::new(consumer_lag.clone()))
            .expect("unique metric");
        let m = Metrics {
            segment_counters,
            interruptions: counter(&registry, "contact_kpi_interruptions_total", "Voice: agent started talking over the customer.", &ac),
            empathy_score_sum: counter(&registry, "contact_kpi_empathy_score_sum_total", "Sum of per-segment empathy scores (0..100).", &ac),
            contacts_final: counter(&registry, "contact_kpi_contacts_final_total", "Contacts by disposition, for their final agent.", &["agent", "channel", "disposition"]),
            repeat_contacts: counter(&registry, "contact_kpi_repeat_contacts_total", "Resolved contacts whose customer came back within the repeat period.", &ac),
            callbacks: counter(&registry, "contact_kpi_callbacks_total", "Completed call-backs, kept (on time) or late.", &["agent", "channel", "outcome"]),
            csat_sum: counter(&registry, "contact_kpi_csat_sum_total", "Sum of survey scores (1..5).", &ac),
            csat_count: counter(&registry, "contact_kpi_csat_count_total", "Surveys received.", &ac),
            offered: counter(&registry, "contact_kpi_offered_total", "Contacts offered (answered + abandoned).", &["channel"]),
            answered: counter(&registry, "contact_kpi_answered_total", "Contacts answered by an agent.", &["channel"]),
            abandoned: counter(&registry, "contact_kpi_abandoned_total", "Contacts ended before any agent joined.", &["channel"]),
            answered_within_sl: counter(&registry, "contact_kpi_answered_within_sl_total", "Contacts answered within the service-level threshold.", &["channel"]),
            first_response_within_sla: counter(&registry, "contact_kpi_first_response_within_sla_total", "First responses within the channel threshold.", &ac),
            wait_seconds: histogram(&registry, "contact_kpi_wait_seconds", "Queue wait until the first agent joined.", &["channel"], buckets.clone()),
            first_response_seconds: histogram(&registry, "contact_kpi_first_response_seconds", "Chat/e-mail: contact start to the first agent message.", &["channel"], buckets.clone()),
            reply_seconds: histogram(&registry, "contact_kpi_reply_seconds", "Chat: customer message to the agent's reply.", &["channel"], buckets.clone()),
            handle_seconds: histogram(&registry, "contact_kpi_handle_seconds", "Final agent's segment: joined to contact end.", &["channel"], buckets),
            window_ratio,
            window_latest: Mutex::new(WindowRatios::default()),
            records_consumed: counter(&registry, "contact_kpi_records_consumed_total", "Records consumed.", &["topic"]),
            records_produced: counter(&registry, "contact_kpi_records_produced_total", "Records produced.", &["topic"]),
            dlq_records: counter(&registry, "contact_kpi_dlq_records_total", "Bad input records sent to the dead-letter topic.", &["reason"]),
            engine_events: counter(&registry, "contact_kpi_engine_events_total", "What the KPI engine did with events that did not simply apply (duplicates, late, timed-out contacts, ...).", &["outcome"]),
            router_merge_wait: {
                let g = prometheus::Gauge::new(
                    "contact_kpi_router_merge_wait_seconds",
                    "How long the router has held its buffered records back, waiting for a partition that may bring older ones (0 when not waiting); a partition known to hold unread records is waited for without limit.",
                )
                .expect("valid metric");
                registry.register(Box::new(g.clone())).expect("unique metric");
                g
            },
            open_contacts: gauge(&registry, "contact_kpi_open_contacts", "Contacts started but not ended."),
            finished_contacts: gauge(&registry, "contact_kpi_finished_contacts_tracked", "Ended contacts kept for late surveys and call-backs."),
            window_aggregates: gauge(&registry, "contact_kpi_window_aggregates", "Window aggregates in memory."),
            customers_tracked: gauge(&registry, "contact_kpi_customers_tracked", "Customers in the repeat-contact history."),
            input_records: counter(&registry, "contact_kpi_input_records_total", "Records of the platform input topics (topics.inputs) by format and outcome: forwarded (to topics.input, keyed by contact), ignored (nothing the contract has a place for), dead_letter.", &["format", "outcome"]),
            input_events: counter(&registry, "contact_kpi_input_events_total", "Contract events made from platform records (re-deliveries included), by format, channel and type. A platform or channel that sends no words shows no `message` events: its contacts get no empathy judgements.", &["format", "channel", "type"]),
            unmapped_dispositions: counter(&registry, "contact_kpi_unmapped_dispositions_total", "Contact ends whose wrap-up code or status adapters.dispositions does not list (counted as adapters.unmapped_disposition), by format.", &["format"]),
            transactions: counter(&registry, "contact_kpi_transactions_total", "Stage transactions by outcome (committed, aborted).", &["stage", "outcome"]),
            transaction_seconds,
            changelog_records: counter(&registry, "contact_kpi_changelog_records_total", "State changelog records written (tombstones included).", &["stage"]),
            changelog_bytes: counter(&registry, "contact_kpi_changelog_bytes_total", "State changelog bytes written (keys and values).", &["stage"]),
            restore_seconds,
            restored_records: counter(&registry, "contact_kpi_changelog_restored_records_total", "Changelog records read to restore state.", &["stage"]),
            restored_bytes,
            stage_restarts: counter(&registry, "contact_kpi_stage_restarts_total", "Times a stage dropped its clients and state after an error and started over from Kafka.", &["stage"]),
            poison_records: counter(&registry, "contact_kpi_poison_records_total", "Input records skipped because processing them failed in a way only they cause (a panic, an output the producer or broker refused); each is dead-lettered by reference with reason `poison`.", &["stage"]),
            dead_letter_failures: counter(&registry, "contact_kpi_dead_letter_failures_total", "Poison records skipped without a dead letter, because the dead-letter topic refused that too.", &["stage"]),
            stage_ready,
            partitions_assigned,
            duplicates_dropped: counter(&registry, "contact_kpi_replayed_records_dropped_total", "Internal records an upstream stage produced again after a crash, recognised by their source position and not applied twice.", &["stage"]),
            event_to_aggregate_seconds,
            producer_backpressure,
            alerts: counter(&registry, "contact_kpi_alerts_total", "Built-in KPI-drop alerts raised (also published to the alerts topic).", &["kpi", "level", "channel"]),
            consumer_lag,
            agents_folded: gauge(&registry, "contact_kpi_agents_folded", "Distinct agents recently reported as agent=\"_other\" because metrics.max_agents agents, each active within metrics.agent_label_idle, hold the labels."),
            ready: gauge(&registry, "contact_kpi_ready", "1 once partitions are assigned and state is restored."),
            build_info,
            last_engine: Mutex::new(HashMap::new()),
            agent_series: Mutex::new(HashSet::new()),
            agents: Mutex::new(AgentLabels::new(per_agent, max_agents)),
            registry,
        };
        m.precreate();
        m
    }

    /// The input series of one configured platform format, at zero.
    pub fn precreate_input(&self, format: crate::adapters::InputFormat) {
        let f = format.as_str();
        for outcome in ["forwarded", "ignored", "dead_letter"] {
            self.input_records
                .with_label_values(&[f, outcome])
                .inc_by(0);
        }
        for ch in crate::model::Channel::ALL {
            for kind in crate::model::EventKind::TYPE_NAMES {
                self.input_events
                    .with_label_values(&[f, ch.as_str(), kind])
                    .inc_by(0);
            }
        }
        self.unmapped_dispositions.with_label_values(&[f]).inc_by(0);
    }

    /// Series that should exist before their first event, so `increase()`
    /// sees the first one and panels show 0 rather than no data.
    fn precreate(&self) {
        for reason in crate::model::DecodeError::REASONS {
            self.dlq_records.with_label_values(&[reason]).inc_by(0);
        }
        self.dlq_records.with_label_values(&["poison"]).inc_by(0);
        for reason in crate::adapters::AdapterError::REASONS {
            self.dlq_records.with_label_values(&[reason]).inc_by(0);
        }
        self.dlq_records
            .with_label_values(&["unknown_input"])
            .inc_by(0);
        for stage in crate::config::StageName::ALL {
            for counter in [
                &self.stage_restarts,
                &self.poison_records,
                &self.dead_letter_failures,
            ] {
                counter.with_label_values(&[stage.as_str()]).inc_by(0);
            }
        }
        for kpi in crate::kpi::alerts::ALERT_KPIS {
            for level in ["agent", "channel"] {
                for ch in crate::model::Channel::ALL {
                    self.alerts
                        .with_label_values(&[kpi.name, level, ch.as_str()])
                        .inc_by(0);
                }
            }
        }
        for ch in crate::model::Channel::ALL {
            for c in [
                &self.offered,
                &self.answered,
                &self.abandoned,
                &self.answered_within_sl,
            ] {
                c.with_label_values(&[ch.as_str()]).inc_by(0);
            }
        }
    }

    /// Creates every per-agent KPI series of (agent, channel) at 0 the first time.
    fn touch_agent(&self, agent: &str, channel: &'static str) {
        let mut seen = self.agent_series.lock().expect("not poisoned");
        if !seen.insert((agent.to_string(), channel)) {
            return;
        }
        let l = [agent, channel];
        for c in self.segment_counters.values() {
            c.with_label_values(&l).inc_by(0);
        }
        for c in [
            &self.interruptions,
            &self.empathy_score_sum,
            &self.repeat_contacts,
            &self.csat_sum,
            &self.csat_count,
            &self.first_response_within_sla,
        ] {
            c.with_label_values(&l).inc_by(0);
        }
        for d in ["resolved", "unresolved", "escalated", "callback_scheduled"] {
            self.contacts_final
                .with_label_values(&[agent, channel, d])
                .inc_by(0);
        }
        for outcome in ["kept", "late"] {
            self.callbacks
                .with_label_values(&[agent, channel, outcome])
                .inc_by(0);
        }
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The text exposition for `/metrics`.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut buf)
            .expect("text encoding cannot fail");
        String::from_utf8(buf).expect("exposition is UTF-8")
    }

    /// The agent's label for `channel`, with its series created.
    fn agent_series(&self, agent: &str, channel: crate::model::Channel) -> String {
        let a = self.agent_label(agent);
        self.touch_agent(&a, channel.as_str());
        a
    }

    fn agent_label(&self, agent: &str) -> String {
        let (label, evicted) = {
            let mut labels = self.agents.lock().expect("not poisoned");
            let l = labels.label(agent, Instant::now());
            self.agents_folded.set(labels.folded.len() as i64);
            (l.label.to_string(), l.evicted)
        };
        if let Some(old) = evicted {
            self.remove_agent_series(&old);
        }
        label
    }

    /// How long an agent keeps its label without facts once another agent
    /// needs the place (`metrics.agent_label_idle`).
    pub fn set_agent_label_idle(&self, idle: Duration) {
        self.agents.lock().expect("not poisoned").idle = idle;
    }

    /// Removes every series of an agent that lost its label.
    fn remove_agent_series(&self, agent: &str) {
        self.agent_series
            .lock()
            .expect("not poisoned")
            .retain(|(a, _)| a != agent);
        for channel in crate::model::Channel::ALL {
            let l = [agent, channel.as_str()];
            for c in self.segment_counters.values() {
                let _ = c.remove_label_values(&l);
            }
            for c in [
                &self.interruptions,
                &self.empathy_score_sum,
                &self.repeat_contacts,
                &self.csat_sum,
                &self.csat_count,
                &self.first_response_within_sla,
            ] {
                let _ = c.remove_label_values(&l);
            }
            for d in ["resolved", "unresolved", "escalated", "callback_scheduled"] {
                let _ = self
                    .contacts_final
                    .remove_label_values(&[agent, channel.as_str(), d]);
            }
            for outcome in ["kept", "late"] {
                let _ = self
                    .callbacks
                    .remove_label_values(&[agent, channel.as_str(), outcome]);
            }
        }
        let kpis = window_ratios(&KpiAggregate::default()).map(|(kpi, _)| kpi);
        let mut ratios = self.window_latest.lock().expect("not poisoned");
        ratios.latest.retain(|(a, channel, window), _| {
            if a != agent {
                return true;
            }
            for kpi in kpis {
                let _ = self
                    .window_ratio
                    .remove_label_values(&[kpi, a, channel, window]);
            }
            false
        });
    }

    /// KPI counters and histograms from the facts of one event.
    pub fn observe_fact(&self, fact: &Fact) {
        match fact {
            Fact::CustomerContactStarted { .. } => {}
            Fact::ContactFinished(s) => {
                let ch = s.channel.as_str();
                self.offered.with_label_values(&[ch]).inc();
                if s.abandoned {
                    self.abandoned.with_label_values(&[ch]).inc();
                } else {
                    self.answered.with_label_values(&[ch]).inc();
                    if let Some(w) = s.wait_ms {
                        self.wait_seconds
                            .with_label_values(&[ch])
                            .observe(w as f64 / 1000.0);
                        if s.within_service_level == Some(true) {
                            self.answered_within_sl.with_label_values(&[ch]).inc();
                        }
                    }
                }
                if let Some((agent, ms, within)) = &s.first_response {
                    self.first_response_seconds
                        .with_label_values(&[ch])
                        .observe(*ms as f64 / 1000.0);
                    let a = self.agent_series(agent, s.channel);
                    if *within {
                        self.first_response_within_sla
                            .with_label_values(&[&a, ch])
                            .inc();
                    }
                }
                for seg in &s.segments {
                    let a = self.agent_series(&seg.agent_id, s.channel);
                    let l = [a.as_str(), ch];
                    let flags = [
                        ("handled", true),
                        ("empathy_scored", seg.empathy_scored),
                        ("empathy_shown", seg.empathy_shown),
                        ("empathy_opportunity", seg.empathy_opportunity),
                        ("empathy_missed", seg.empathy_missed),
                        ("empathy_overdone", seg.empathy_overdone),
                        ("pity", seg.pity),
                        ("questions_asked", seg.questions_asked),
                        (
                            "listened_fully",
                            seg.voice && seg.empathy_scored && seg.interruptions == 0,
                        ),
                        ("hostile_customer", seg.hostile_customer),
                        ("hostile_defused", seg.hostile_defused),
                        ("transfers_out", seg.closed_by_transfer),
                        ("voice_segments_scored", seg.voice && seg.empathy_scored),
                    ];
                    for (name, on) in flags {
                        if on {
                            self.segment_counters[name].with_label_values(&l).inc();
                        }
                    }
                    self.interruptions
                        .with_label_values(&l)
                        .inc_by(u64::from(seg.interruptions));
                    if seg.empathy_scored {
                        self.empathy_score_sum
                            .with_label_values(&l)
                            .inc_by(u64::from(seg.empathy_score));
                    }
                    for &reply in &seg.reply_ms {
                        self.reply_seconds
                            .with_label_values(&[ch])
                            .observe(reply as f64 / 1000.0);
                    }
                    if seg.is_final {
                        self.contacts_final
                            .with_label_values(&[a.as_str(), ch, s.disposition.as_str()])
                            .inc();
                        let handle =
                            (seg.closed - seg.joined).num_milliseconds().max(0) as f64 / 1000.0;
                        self.handle_seconds.with_label_values(&[ch]).observe(handle);
                    }
                }
            }
            Fact::Repeated { contact }
            | Fact::Callback { contact, .. }
            | Fact::Survey { contact, .. } => {
                let Some(agent) = &contact.final_agent else {
                    return;
                };
                let a = self.agent_series(agent, contact.channel);
                let l = [a.as_str(), contact.channel.as_str()];
                match fact {
                    Fact::Repeated { .. } => self.repeat_contacts.with_label_values(&l).inc(),
                    Fact::Callback { kept, .. } => {
                        let outcome = if *kept { "kept" } else { "late" };
                        self.callbacks
                            .with_label_values(&[l[0], l[1], outcome])
                            .inc()
                    }
                    Fact::Survey { csat, .. } => {
                        self.csat_sum.with_label_values(&l).inc_by(u64::from(*csat));
                        self.csat_count.with_label_values(&l).inc();
                    }
                    _ => {}
                }
            }
        }
    }

    /// Engine counters are cumulative per stage; add what is new.
    pub fn observe_engine(&self, stage: &'static str, now: &EngineCounters) {
        let mut all = self.last_engine.lock().expect("not poisoned");
        let last = all.entry(stage).or_default();
        let pairs = [
            ("applied", now.events, last.events),
            ("duplicate", now.duplicates, last.duplicates),
            ("late", now.late_events, last.late_events),
            (
                "contact_timed_out",
                now.timed_out_contacts,
                last.timed_out_contacts,
            ),
            ("truncated", now.truncated_events, last.truncated_events),
            (
                "after_timeout",
                now.events_after_timeout,
                last.events_after_timeout,
            ),
            (
                "orphan_correction",
                now.orphan_corrections,
                last.orphan_corrections,
            ),
            (
                "expired_window_update",
                now.expired_window_updates,
                last.expired_window_updates,
            ),
            (
                "channel_mismatch",
                now.channel_mismatches,
                last.channel_mismatches,
            ),
            (
                "unsupported_language",
                now.unsupported_language_contacts,
                last.unsupported_language_contacts,
            ),
        ];
        for (outcome, n, l) in pairs {
            if n > l {
                self.engine_events
                    .with_label_values(&[outcome])
                    .inc_by(n - l);
            }
        }
        *last = now.clone();
    }

    /// Current-window ratio gauges from a published aggregate: only the newest
    /// window per (agent, channel, window size) is kept, so series stay
    /// bounded; [`Metrics::expire_window_ratios`] removes them once stale.
    pub fn observe_aggregate(&self, a: &KpiAggregate) {
        let agent = match &a.agent_id {
            Some(id) => self.agent_label(id),
            None => "_all".to_string(),
        };
        if agent == "_other" || (a.agent_id.is_some() && agent == "_all") {
            return;
        }
        let parse = |s: &str| DateTime::parse_from_rfc3339(s).map(|t| t.to_utc());
        let (Ok(start), Ok(end)) = (parse(&a.window_start), parse(&a.window_end)) else {
            // The aggregator always writes both; a series without a known
            // end could never expire.
            return;
        };
        let window = RatioWindow { start, end };
        // Held while the gauges change, so an expiry cannot run between the
        // bookkeeping and the series and leave a series nothing removes.
        let mut ratios = self.window_latest.lock().expect("not poisoned");
        if ratios.expired_at.is_some_and(|t| window.stale_at(t)) {
            return;
        }
        let k = (agent.clone(), a.channel.clone(), a.window.clone());
        match ratios.latest.get(&k) {
            Some(current) if current.start > window.start => return,
            _ => {
                ratios.latest.insert(k, window);
            }
        }
        for (kpi, value) in window_ratios(a) {
            let labels = [kpi, agent.as_str(), a.channel.as_str(), a.window.as_str()];
            match value {
                Some(v) => self.window_ratio.with_label_values(&labels).set(v),
                None => {
                    let _ = self.window_ratio.remove_label_values(&labels);
                }
            }
        }
    }

    /// Removes every window-ratio series (agent and channel level) whose
    /// window ended more than one window length before `event_time`, so
    /// dashboards show an agent only while their window is current or just
    /// closed. Call it as event time advances.
    pub fn expire_window_ratios(&self, event_time: DateTime<Utc>) {
        let mut ratios = self.window_latest.lock().expect("not poisoned");
        ratios.expired_at = ratios.expired_at.max(Some(event_time));
        let kpis = window_ratios(&KpiAggregate::default()).map(|(kpi, _)| kpi);
        ratios.latest.retain(|(agent, channel, window), w| {
            if !w.stale_at(event_time) {
                return true;
            }
            for kpi in kpis {
                let _ = self
                    .window_ratio
                    .remove_label_values(&[kpi, agent, channel, window]);
            }
            false
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agent_labels_are_capped_and_folded() {
        let t0 = Instant::now();
        let mut l = AgentLabels::new(true, 2);
        assert_eq!(l.label("a1", t0).label, "a1");
        assert_eq!(l.label("a2", t0).label, "a2");
        assert_eq!(l.label("a3", t0).label, "_other");
        assert_eq!(l.label("a4", t0).label, "_other");
        assert_eq!(l.folded.len(), 2);
        assert_eq!(l.label("a1", t0).label, "a1");
        let mut off = AgentLabels::new(false, 2);
        assert_eq!(off.label("a1", t0).label, "_all");
    }

    /// The outside run: 2,000 bogus ids first, then the real agents. The
    /// bogus ids give their places back once they have been idle.
    #[test]
    fn bogus_agents_first_do_not_fold_the_real_ones_for_good() {
        let t0 = Instant::now();
        let idle = Duration::from_secs(3600);
        let mut l = AgentLabels::new(true, 40);
        for i in 0..2_000 {
            l.label(&format!("bogus-{i}"), t0);
        }
        let real: Vec<String> = (0..40).map(|i| format!("real-{i}")).collect();
        // While the bogus ids are recent, the real agents are folded.
        let soon = t0 + Duration::from_secs(60);
        assert!(real.iter().all(|a| l.label(a, soon).label == "_other"));
        // Once the bogus ids have been idle, each real agent takes a place,
        // and the agent it replaces is named so its series can go.
        let later = t0 + idle + Duration::from_secs(1);
        let mut evicted = Vec::new();
        for a in &real {
            let got = l.label(a, later);
            assert_eq!(got.label, a.as_str());
            evicted.push(got.evicted.expect("a bogus id gave its place"));
        }
        assert!(evicted.iter().all(|e| e.starts_with("bogus-")));
        assert!(real.iter().all(|a| !l.folded.contains_key(a)));
        // A busy real agent is never replaced by a newcomer.
        assert_eq!(l.label("bogus-x", later).label, "_other");
        assert_eq!(l.labelled.len(), 40);
    }

    #[test]
    fn the_folded_set_is_bounded() {
        let t0 = Instant::now();
        let mut l = AgentLabels::new(true, 1);
        l.label("a", t0);
        for i in 0..(MAX_FOLDED_TRACKED + 10) {
            l.label(&format!("b-{i}"), t0);
        }
        assert!(l.folded.len() <= MAX_FOLDED_TRACKED);
    }

    fn aggregate(agent: Option<&str>, start: &str, end: &str) -> KpiAggregate {
        KpiAggregate {
            level: if agent.is_some() { "agent" } else { "channel" }.into(),
            agent_id: agent.map(String::from),
            channel: "chat".into(),
            window: "1h".into(),
            window_start: start.into(),
            window_end: end.into(),
            empathy_rate: Some(0.5),
            service_level: Some(0.8),
            ..Default::default()
        }
    }

    /// (agent label, kpi) of every gathered `contact_kpi_window_ratio` series.
    fn ratio_series(m: &Metrics) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for family in m.registry().gather() {
            if family.name() != "contact_kpi_window_ratio" {
                continue;
            }
            for metric in family.get_metric() {
                let label = |name: &str| {
                    metric
                        .get_label()
                        .iter()
                        .find(|l| l.name() == name)
                        .map(|l| l.value().to_string())
                        .unwrap_or_default()
                };
                out.push((label("agent"), label("kpi")));
            }
        }
        out.sort();
        out
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    #[test]
    fn window_ratios_expire_once_the_next_window_has_ended() {
        let m = Metrics::new(true, 10);
        m.observe_aggregate(&aggregate(
            Some("a1"),
            "2026-11-22T09:00:00Z",
            "2026-11-22T10:00:00Z",
        ));
        m.observe_aggregate(&aggregate(
            None,
            "2026-11-22T09:00:00Z",
            "2026-11-22T10:00:00Z",
        ));
        let all = ratio_series(&m);
        assert!(
            all.contains(&("a1".into(), "empathy_rate".into())),
            "{all:?}"
        );
        assert!(
            all.contains(&("_all".into(), "service_level".into())),
            "{all:?}"
        );

        m.expire_window_ratios(at("2026-11-22T10:30:00Z"));
        assert_eq!(ratio_series(&m), all, "a just-closed window stays");

        m.expire_window_ratios(at("2026-11-22T11:00:01Z"));
        assert_eq!(ratio_series(&m), Vec::new());
        assert!(m.window_latest.lock().unwrap().latest.is_empty());

        // A late correction of the stale window does not bring it back; the
        // current window shows.
        m.observe_aggregate(&aggregate(
            Some("a1"),
            "2026-11-22T09:00:00Z",
            "2026-11-22T10:00:00Z",
        ));
        assert_eq!(ratio_series(&m), Vec::new());
        m.observe_aggregate(&aggregate(
            Some("a1"),
            "2026-11-22T10:00:00Z",
            "2026-11-22T11:00:00Z",
        ));
        assert!(ratio_series(&m).contains(&("a1".into(), "empathy_rate".into())));
    }

    #[test]
    fn exposition_has_help_and_build_info() {
        let m = Metrics::new(true, 10);
        m.offered.with_label_values(&["voice"]).inc();
        let text = m.render();
        assert!(text.contains("# HELP contact_kpi_offered_total"));
        assert!(text.contains("contact_kpi_offered_total{channel=\"voice\"} 1"));
        assert!(text.contains("contact_kpi_build_info{version="));
    }
}
