//! The three stages' Kafka-facing logic: decode a record, feed the pure task
//! of its partition, encode what comes out.
//!
//! Internal topics carry facts as a version byte plus postcard; they are
//! private to the service (no message text, no raw customer id). Each
//! internal record's timestamp is the event time of the partition that
//! produced it, so downstream stages derive their event time from it, and a
//! `ingest_ms` header carries the wall time the platform produced the
//! original event, for the event-to-aggregate latency.

use super::kafka::{agent_facts_topic, contact_facts_topic};
use super::protocol::{InRecord, Out, StageLogic};
use crate::config::{Config, OutputFormat, StageName};
use crate::empathy::Analyzer;
use crate::kpi::tasks::{AggregateTask, AssembleTask, ChangelogError, ChangelogRecord, RepeatTask};
use crate::kpi::{EngineCounters, Fact, Route};
use crate::metrics::Metrics;
use crate::model::{decode_event, Timestamp};
use std::sync::Arc;
use std::time::Duration;

/// Format version of internal fact records.
const WIRE_VERSION: u8 = 1;
const INGEST_HEADER: &str = "ingest_ms";

fn encode_wire<T: serde::Serialize>(value: &T) -> Vec<u8> {
    let mut out = vec![WIRE_VERSION];
    out.extend(postcard::to_allocvec(value).expect("facts serialize"));
    out
}

fn decode_wire<T: serde::de::DeserializeOwned>(bytes: Option<&[u8]>) -> Result<T, String> {
    match bytes.and_then(<[u8]>::split_first) {
        Some((&WIRE_VERSION, body)) => {
            postcard::from_bytes(body).map_err(|e| format!("cannot decode internal fact: {e}"))
        }
        Some((v, _)) => Err(format!(
            "internal fact has format version {v}, this release reads {WIRE_VERSION}"
        )),
        None => Err("empty internal record".into()),
    }
}

fn ingest_ms(m: &InRecord) -> i64 {
    m.header(INGEST_HEADER)
        .and_then(|v| std::str::from_utf8(v).ok()?.parse().ok())
        .or(m.timestamp)
        .unwrap_or_else(|| chrono::Utc::now().timestamp_millis())
}

fn ingest_headers(ms: i64) -> Vec<(String, Option<Vec<u8>>)> {
    vec![(INGEST_HEADER.to_string(), Some(ms.to_string().into_bytes()))]
}

fn record_time(m: &InRecord) -> Option<Timestamp> {
    m.timestamp
        .and_then(chrono::DateTime::from_timestamp_millis)
}

/// The bad record, unchanged, with headers saying why and where from.
fn dead_letter(
    config: &Config,
    metrics: &Metrics,
    m: &InRecord,
    reason: &str,
    error: &str,
    out: &mut Vec<Out>,
) {
    tracing::warn!(
        reason,
        topic = &*m.topic,
        partition = m.partition,
        offset = m.offset,
        "bad record sent to the dead-letter topic"
    );
    metrics.dlq_records.with_label_values(&[reason]).inc();
    let mut headers = m.headers.clone();
    let partition = m.partition.to_string();
    let offset = m.offset.to_string();
    for (key, value) in [
        ("error", error),
        ("error_reason", reason),
        ("source_topic", &*m.topic),
        ("source_partition", partition.as_str()),
        ("source_offset", offset.as_str()),
    ] {
        headers.push((key.to_string(), Some(value.as_bytes().to_vec())));
    }
    out.push(Out {
        topic: config.raw.topics.dlq.clone(),
        key: m.key.clone().unwrap_or_default(),
        value: m.value.clone(),
        headers,
        timestamp: None,
        partition: None,
    });
}

/// Stage 1: events → contact facts, keyed by customer hash.
pub struct AssembleLogic {
    pub config: Arc<Config>,
    pub analyzer: Arc<Analyzer>,
    pub metrics: Arc<Metrics>,
    pub counters: EngineCounters,
    pub facts_topic: String,
}

impl AssembleLogic {
    pub fn new(config: Arc<Config>, analyzer: Arc<Analyzer>, metrics: Arc<Metrics>) -> Self {
        let facts_topic = contact_facts_topic(&config);
        AssembleLogic {
            config,
            analyzer,
            metrics,
            counters: EngineCounters::default(),
            facts_topic,
        }
    }
}

/// Stage 2 key: the customer's keyed hash, so one partition sees a
/// customer's whole history; facts without a customer are keyed by contact.
fn contact_fact_key(fact: &Fact) -> &str {
    match fact {
        Fact::CustomerContactStarted { customer, .. } => &customer.0,
        Fact::ContactFinished(s) => s.customer.as_ref().map_or(&s.contact_id, |c| &c.0),
        Fact::Repeated { contact }
        | Fact::Callback { contact, .. }
        | Fact::Survey { contact, .. } => &contact.contact_id,
    }
}

impl StageLogic for AssembleLogic {
    type Task = AssembleTask;

    fn name(&self) -> StageName {
        StageName::Assemble
    }

    fn commit_interval(&self) -> Duration {
        self.config.commit_interval
    }

    fn process(&mut self, task: &mut AssembleTask, m: &InRecord, out: &mut Vec<Out>) {
        let content_type = m.header("content-type").map(String::from_utf8_lossy);
        let decoded = decode_event(
            m.value.as_deref(),
            content_type.as_deref(),
            self.config.raw.input.format,
            self.config.raw.input.max_record_bytes,
        );
        match decoded {
            Ok(event) => {
                let facts = task.apply(
                    &self.config.engine,
                    &self.analyzer,
                    event,
                    &mut self.counters,
                );
                let ts = task.stream_time().map(|t| t.timestamp_millis());
                let ingest = ingest_ms(m);
                for fact in facts {
                    out.push(Out {
                        topic: self.facts_topic.clone(),
                        key: contact_fact_key(&fact).as_bytes().to_vec(),
                        value: Some(encode_wire(&fact)),
                        headers: ingest_headers(ingest),
                        timestamp: ts,
                        partition: None,
                    });
                }
            }
            Err(err) => dead_letter(
                &self.config,
                &self.metrics,
                m,
                err.reason(),
                &err.to_string(),
                out,
            ),
        }
    }

    fn stream_time(task: &AssembleTask) -> Option<Timestamp> {
        task.stream_time()
    }

    fn advance(&mut self, task: &mut AssembleTask, now: Option<Timestamp>, _out: &mut Vec<Out>) {
        if let Some(now) = now {
            task.advance(&self.config.engine, now, &mut self.counters);
        }
    }

    fn take_changelog(task: &mut AssembleTask) -> Vec<ChangelogRecord> {
        task.take_changelog()
    }

    fn restore(
        task: &mut AssembleTask,
        key: &[u8],
        value: Option<&[u8]>,
    ) -> Result<(), ChangelogError> {
        task.restore(key, value)
    }

    fn report(&mut self, tasks: &mut dyn Iterator<Item = &AssembleTask>, metrics: &Metrics) {
        let (mut open, mut finished) = (0, 0);
        for t in tasks {
            open += t.assembler().open_contacts();
            finished += t.assembler().finished_contacts();
        }
        metrics.open_contacts.set(open as i64);
        metrics.finished_contacts.set(finished as i64);
        metrics.observe_engine("assemble", &self.counters);
    }
}

/// Stage 2: contact facts → routed facts, keyed by agent (or `queue`).
pub struct RepeatsLogic {
    pub config: Arc<Config>,
    pub metrics: Arc<Metrics>,
    pub facts_topic: String,
}

impl RepeatsLogic {
    pub fn new(config: Arc<Config>, metrics: Arc<Metrics>) -> Self {
        let facts_topic = agent_facts_topic(&config);
        RepeatsLogic {
            config,
            metrics,
            facts_topic,
        }
    }
}

/// Stage 3 key of a route.
fn route_key(route: &Route) -> String {
    match route {
        Route::Agent(a) => format!("agent/{a}"),
        Route::Queue => "queue".to_string(),
    }
}

impl StageLogic for RepeatsLogic {
    type Task = RepeatTask;

    fn name(&self) -> StageName {
        StageName::Repeats
    }

    fn commit_interval(&self) -> Duration {
        self.config.commit_interval
    }

    fn process(&mut self, task: &mut RepeatTask, m: &InRecord, out: &mut Vec<Out>) {
        let fact: Fact = match decode_wire(m.value.as_deref()) {
            Ok(f) => f,
            Err(e) => {
                return dead_letter(&self.config, &self.metrics, m, "internal_format", &e, out)
            }
        };
        let Some(ts) = record_time(m).or(task.stream_time()) else {
            return dead_letter(
                &self.config,
                &self.metrics,
                m,
                "internal_format",
                "internal record without timestamp",
                out,
            );
        };
        let ingest = ingest_ms(m);
        for f in task.apply(&self.config.engine, ts, fact) {
            for route in f.routes() {
                out.push(Out {
                    topic: self.facts_topic.clone(),
                    key: route_key(&route).into_bytes(),
                    value: Some(encode_wire(&(&route, &f))),
                    headers: ingest_headers(ingest),
                    timestamp: Some(ts.timestamp_millis()),
                    partition: None,
                });
            }
        }
    }

    fn stream_time(task: &RepeatTask) -> Option<Timestamp> {
        task.stream_time()
    }

    fn advance(&mut self, task: &mut RepeatTask, now: Option<Timestamp>, _out: &mut Vec<Out>) {
        if let Some(now) = now {
            task.advance(&self.config.engine, now);
        }
    }

    fn take_changelog(task: &mut RepeatTask) -> Vec<ChangelogRecord> {
        task.take_changelog()
    }

    fn restore(
        task: &mut RepeatTask,
        key: &[u8],
        value: Option<&[u8]>,
    ) -> Result<(), ChangelogError> {
        task.restore(key, value)
    }

    fn report(&mut self, tasks: &mut dyn Iterator<Item = &RepeatTask>, metrics: &Metrics) {
        metrics
            .customers_tracked
            .set(tasks.map(RepeatTask::customers).sum::<usize>() as i64);
    }
}

/// Stage 3: routed facts → window aggregates and alerts.
pub struct AggregateLogic {
    pub config: Arc<Config>,
    pub metrics: Arc<Metrics>,
    pub counters: EngineCounters,
    /// Oldest ingest time of the facts not yet in a published aggregate.
    oldest_ingest_ms: Option<i64>,
}

impl AggregateLogic {
    pub fn new(config: Arc<Config>, metrics: Arc<Metrics>) -> Self {
        AggregateLogic {
            config,
            metrics,
            counters: EngineCounters::default(),
            oldest_ingest_ms: None,
        }
    }

    /// An output record in the configured format (protobuf or JSON with the
    /// same field names), labelled by a `content-type` header.
    fn publish<M: prost::Message + serde::Serialize>(
        &self,
        topic: &str,
        key: String,
        message: &M,
    ) -> Out {
        let (value, content_type): (Vec<u8>, &[u8]) = match self.config.raw.output.format {
            OutputFormat::Protobuf => (message.encode_to_vec(), b"application/x-protobuf"),
            OutputFormat::Json => (
                serde_json::to_vec(message).expect("output serializes"),
                b"application/json",
            ),
        };
        Out {
            topic: topic.to_string(),
            key: key.into_bytes(),
            value: Some(value),
            headers: vec![("content-type".to_string(), Some(content_type.to_vec()))],
            timestamp: None,
            partition: None,
        }
    }
}

impl StageLogic for AggregateLogic {
    type Task = AggregateTask;

    fn name(&self) -> StageName {
        StageName::Aggregate
    }

    /// Aggregates are published once per transaction, so the emit interval
    /// is this stage's transaction period (coalescing).
    #[allow(clippy::misnamed_getters)]
    fn commit_interval(&self) -> Duration {
        self.config.emit_interval
    }

    fn process(&mut self, task: &mut AggregateTask, m: &InRecord, out: &mut Vec<Out>) {
        let (route, fact): (Route, Fact) = match decode_wire(m.value.as_deref()) {
            Ok(f) => f,
            Err(e) => {
                return dead_letter(&self.config, &self.metrics, m, "internal_format", &e, out)
            }
        };
        let Some(ts) = record_time(m).or(task.stream_time()) else {
            return dead_letter(
                &self.config,
                &self.metrics,
                m,
                "internal_format",
                "internal record without timestamp",
                out,
            );
        };
        if route == Route::Queue {
            // Each fact has exactly one queue route: count it once.
            self.metrics.observe_fact(&fact);
        }
        task.apply(&self.config.engine, ts, route, &fact, &mut self.counters);
        let ingest = ingest_ms(m);
        self.oldest_ingest_ms = Some(self.oldest_ingest_ms.map_or(ingest, |o| o.min(ingest)));
    }

    fn stream_time(task: &AggregateTask) -> Option<Timestamp> {
        task.stream_time()
    }

    fn advance(&mut self, task: &mut AggregateTask, now: Option<Timestamp>, out: &mut Vec<Out>) {
        if let Some(now) = now {
            task.advance(&self.config.engine, now);
        }
        let (updates, alerts) = task.take_output(&self.config.engine);
        let topics = &self.config.raw.topics;
        for u in updates {
            self.metrics.observe_aggregate(&u.aggregate);
            out.push(self.publish(&topics.aggregates, u.key, &u.aggregate));
        }
        for alert in alerts {
            self.metrics
                .alerts
                .with_label_values(&[&alert.kpi, &alert.level, &alert.channel])
                .inc();
            tracing::warn!(kpi = %alert.kpi, level = %alert.level, channel = %alert.channel, summary = %alert.summary, "kpi drop");
            let who = match &alert.agent_id {
                Some(a) => format!("agent/{a}/{}", alert.channel),
                None => format!("channel/{}", alert.channel),
            };
            let key = format!(
                "{who}/{}/{}/{}",
                alert.kpi, alert.window, alert.window_start
            );
            out.push(self.publish(&topics.alerts, key, &alert));
        }
    }

    fn take_changelog(task: &mut AggregateTask) -> Vec<ChangelogRecord> {
        task.take_changelog()
    }

    fn restore(
        task: &mut AggregateTask,
        key: &[u8],
        value: Option<&[u8]>,
    ) -> Result<(), ChangelogError> {
        task.restore(key, value)
    }

    fn report(&mut self, tasks: &mut dyn Iterator<Item = &AggregateTask>, metrics: &Metrics) {
        let (mut windows, mut event_time) = (0, None::<i64>);
        for t in tasks {
            windows += t.aggregator().window_count();
            event_time = event_time.max(t.aggregator().watermark_ms());
        }
        metrics.window_aggregates.set(windows as i64);
        // Ratio gauges show an agent's current or just-closed windows, not
        // the last one it ever had.
        if let Some(now) = event_time.and_then(chrono::DateTime::from_timestamp_millis) {
            metrics.expire_window_ratios(now);
        }
        metrics.observe_engine("aggregate", &self.counters);
        if let Some(oldest) = self.oldest_ingest_ms.take() {
            let age_ms = chrono::Utc::now().timestamp_millis() - oldest;
            metrics
                .event_to_aggregate_seconds
                .observe(age_ms.max(0) as f64 / 1000.0);
        }
    }
}
