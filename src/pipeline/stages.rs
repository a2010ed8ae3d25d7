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

/// Longest the latency histogram believes an event waited: older ingest
/// times (and any time in the future) are a producer's clock or a forged
/// header, not latency.
const MAX_INGEST_AGE_MS: i64 = 7 * 24 * 3600 * 1000;

/// When the platform produced the original event: the `ingest_ms` header,
/// else the record timestamp, each only when plausible (not in the future,
/// at most a week old), else now.
fn ingest_ms(m: &InRecord) -> i64 {
    let now = chrono::Utc::now().timestamp_millis();
    let plausible = |ms: i64| ms <= now && now - ms <= MAX_INGEST_AGE_MS;
    m.header(INGEST_HEADER)
        .and_then(|v| std::str::from_utf8(v).ok()?.parse().ok())
        .filter(|&ms| plausible(ms))
        .or(m.timestamp.filter(|&ms| plausible(ms)))
        .unwrap_or(now)
}

fn ingest_headers(ms: i64) -> Vec<(String, Option<Vec<u8>>)> {
    vec![(INGEST_HEADER.to_string(), Some(ms.to_string().into_bytes()))]
}

fn record_time(m: &InRecord) -> Option<Timestamp> {
    m.timestamp
        .and_then(chrono::DateTime::from_timestamp_millis)
}

/// Longest `error` header: decode errors may quote the bad value.
const MAX_ERROR_HEADER_BYTES: usize = 512;

/// Largest key plus value copied to the dead-letter topic; larger records
/// are dead-lettered by reference. Well under the producer's default
/// `message.max.bytes` (1,000,000) with the headers added.
pub const MAX_DEAD_LETTER_BYTES: usize = 512 * 1024;

/// Largest total of the producer's own headers copied to a dead letter.
pub const MAX_DEAD_LETTER_HEADER_BYTES: usize = 64 * 1024;

/// `s` cut to at most `max` bytes at a character boundary, marked when cut.
fn bounded(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max.saturating_sub(3);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
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
    dead_letter_with(config, metrics, m, reason, error, false, out);
}

/// A record that made the router panic, dead-lettered by reference.
pub fn dead_letter_poison_record(
    config: &Config,
    metrics: &Metrics,
    m: &InRecord,
    error: &str,
    out: &mut Vec<Out>,
) {
    dead_letter_poison(config, metrics, m, error, out);
}

/// A quarantined record (see `protocol::Quarantine`): always by reference,
/// because copying it may be what failed.
fn dead_letter_poison(
    config: &Config,
    metrics: &Metrics,
    m: &InRecord,
    error: &str,
    out: &mut Vec<Out>,
) {
    dead_letter_with(config, metrics, m, "poison", error, true, out);
}

fn dead_letter_with(
    config: &Config,
    metrics: &Metrics,
    m: &InRecord,
    reason: &str,
    error: &str,
    force_reference: bool,
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
    let partition = m.partition.to_string();
    let offset = m.offset.to_string();
    let ours = [
        "error",
        "error_reason",
        "source_topic",
        "source_partition",
        "source_offset",
    ];
    // The producer's own headers stay, except those named like ours: a
    // record must not choose the reason it is dead-lettered with.
    let mut headers: Vec<(String, Option<Vec<u8>>)> = m
        .headers
        .iter()
        .filter(|(k, _)| !ours.iter().any(|o| k.eq_ignore_ascii_case(o)))
        .cloned()
        .collect();
    let error = bounded(error, MAX_ERROR_HEADER_BYTES);
    // A record too large to copy (the producer would refuse it, and the
    // stage would retry it forever) is dead-lettered by reference: where it
    // is, how big, its hash; the header says so.
    let size = m.key.as_ref().map_or(0, Vec::len) + m.value.as_ref().map_or(0, Vec::len);
    let header_bytes: usize = headers
        .iter()
        .map(|(k, v)| k.len() + v.as_ref().map_or(0, Vec::len))
        .sum();
    let mut omitted = Vec::new();
    if header_bytes > MAX_DEAD_LETTER_HEADER_BYTES {
        omitted.push(("source_headers_omitted", headers.len().to_string()));
        headers.clear();
    }
    let by_reference = force_reference || size > MAX_DEAD_LETTER_BYTES;
    if by_reference {
        use sha2::Digest;
        let mut hash = sha2::Sha256::new();
        hash.update(m.key.as_deref().unwrap_or_default());
        hash.update(m.value.as_deref().unwrap_or_default());
        let hex: String = hash.finalize().iter().map(|b| format!("{b:02x}")).collect();
        omitted.push(("dead_letter", "by_reference".to_string()));
        omitted.push(("source_size", size.to_string()));
        omitted.push(("source_sha256", hex));
    }
    for (key, value) in omitted {
        headers.push((key.to_string(), Some(value.into_bytes())));
    }
    for (key, value) in [
        ("error", error.as_str()),
        ("error_reason", reason),
        ("source_topic", &*m.topic),
        ("source_partition", partition.as_str()),
        ("source_offset", offset.as_str()),
    ] {
        headers.push((key.to_string(), Some(value.as_bytes().to_vec())));
    }
    let (key, value) = if by_reference {
        (Vec::new(), None)
    } else {
        (m.key.clone().unwrap_or_default(), m.value.clone())
    };
    out.push(Out {
        topic: config.raw.topics.dlq.clone(),
        key,
        value,
        headers,
        timestamp: None,
        partition: None,
    });
}

/// The header naming the `topics.inputs` topic a forwarded platform record
/// came from; stage 1 translates the record with that input's format.
pub const INPUT_HEADER: &str = "contact-kpi-input";

/// Where a forwarded record was on its platform topic (`partition/offset`),
/// for the dead-letter headers.
pub const INPUT_POSITION_HEADER: &str = "contact-kpi-input-position";

/// The events of one record of `topics.input`: a contract event, or the
/// events of a platform record the router forwarded (several, in order).
fn decode_input(
    config: &Config,
    m: &InRecord,
) -> Result<Vec<crate::model::ContactEvent>, (&'static str, String)> {
    let Some(input) = m.header(INPUT_HEADER) else {
        let content_type = m.header("content-type").map(String::from_utf8_lossy);
        return decode_event(
            m.value.as_deref(),
            content_type.as_deref(),
            config.input_format,
            config.raw.input.max_record_bytes,
        )
        .map(|e| vec![e])
        .map_err(|e| (e.reason(), e.to_string()));
    };
    let spec = config
        .inputs
        .iter()
        .find(|s| s.topic.as_bytes() == input)
        .ok_or_else(|| {
            (
                "unknown_input",
                "forwarded from a topic that topics.inputs does not list".to_string(),
            )
        })?;
    let value = m.value.as_deref().unwrap_or_default();
    if value.len() > config.raw.input.max_record_bytes {
        return Err((
            "too_large",
            format!("record value is {} bytes, over the limit", value.len()),
        ));
    }
    let record = crate::adapters::PlatformRecord {
        value,
        timestamp_ms: m.timestamp,
    };
    crate::adapters::translate(spec.format, &record, &spec.settings)
        .map_err(|e| (e.reason(), e.to_string()))
}

/// The router: one record of a `topics.inputs` topic. A record that makes
/// contract events is forwarded unchanged to `topics.input`, keyed by its
/// contact (so all of a contact's records, from every platform stream, meet
/// in one partition), with the input's name in a header; one that makes
/// none is counted as ignored; one that cannot be translated is
/// dead-lettered here, where its position on the platform topic is known.
pub fn route_record(config: &Config, metrics: &Metrics, m: &InRecord, out: &mut Vec<Out>) {
    let Some(spec) = config.inputs.iter().find(|s| *s.topic == *m.topic) else {
        dead_letter(
            config,
            metrics,
            m,
            "unknown_input",
            "the router read a topic that topics.inputs does not list",
            out,
        );
        return;
    };
    let format = spec.format.as_str();
    let value = m.value.as_deref().unwrap_or_default();
    let translated = if m.value.is_none() || value.is_empty() {
        Err(("empty", "record has no value".to_string()))
    } else if value.len() > config.raw.input.max_record_bytes {
        Err((
            "too_large",
            format!(
                "record value is {} bytes, over the limit of {}",
                value.len(),
                config.raw.input.max_record_bytes
            ),
        ))
    } else {
        let record = crate::adapters::PlatformRecord {
            value,
            timestamp_ms: m.timestamp,
        };
        crate::adapters::translate(spec.format, &record, &spec.settings)
            .map_err(|e| (e.reason(), e.to_string()))
    };
    let events = match translated {
        Ok(events) => events,
        Err((reason, error)) => {
            metrics
                .input_records
                .with_label_values(&[format, "dead_letter"])
                .inc();
            dead_letter(config, metrics, m, reason, &error, out);
            return;
        }
    };
    let Some(first) = events.first() else {
        metrics
            .input_records
            .with_label_values(&[format, "ignored"])
            .inc();
        return;
    };
    metrics
        .input_records
        .with_label_values(&[format, "forwarded"])
        .inc();
    let unmapped = crate::adapters::unmapped_codes_in_last_translation();
    if unmapped > 0 {
        metrics
            .unmapped_dispositions
            .with_label_values(&[format])
            .inc_by(unmapped);
    }
    for e in &events {
        metrics
            .input_events
            .with_label_values(&[format, e.channel.as_str(), e.kind.type_name()])
            .inc();
    }
    // A record must not name its own input: only the router sets these.
    let mut headers: Vec<(String, Option<Vec<u8>>)> = m
        .headers
        .iter()
        .filter(|(k, _)| {
            !k.eq_ignore_ascii_case(INPUT_HEADER) && !k.eq_ignore_ascii_case(INPUT_POSITION_HEADER)
        })
        .cloned()
        .collect();
    headers.push((INPUT_HEADER.into(), Some(spec.topic.as_bytes().to_vec())));
    headers.push((
        INPUT_POSITION_HEADER.into(),
        Some(format!("{}/{}", m.partition, m.offset).into_bytes()),
    ));
    out.push(Out {
        topic: config.raw.topics.input.clone(),
        key: first.contact_id.as_bytes().to_vec(),
        value: m.value.clone(),
        headers,
        timestamp: m.timestamp,
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
        // An event far ahead of its record's own timestamp comes from a
        // wrong clock: it must not move event time for everyone else.
        let decoded = decode_input(&self.config, m).and_then(|events| {
            let record_ms = m.timestamp.filter(|&ms| ms > 0);
            let limit = self.config.max_ahead_of_record_time.as_millis() as i64;
            match (record_ms, events.iter().find(|e| record_ms.is_some_and(|ms| e.ts.timestamp_millis() - ms > limit))) {
                (Some(_), Some(event)) => Err((
                    "clock_ahead",
                    format!(
                        "event time {} is more than input.max_ahead_of_record_time ahead of the record timestamp",
                        crate::model::format_ts(event.ts)
                    ),
                )),
                _ => Ok(events),
            }
        });
        match decoded {
            Ok(events) => {
                let ingest = ingest_ms(m);
                for event in events {
                    let facts = task.apply(
                        &self.config.engine,
                        &self.analyzer,
                        event,
                        &mut self.counters,
                    );
                    let ts = task.stream_time().map(|t| t.timestamp_millis());
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
            }
            Err((reason, error)) => {
                dead_letter(&self.config, &self.metrics, m, reason, &error, out)
            }
        }
    }

    fn dead_letter_poison(&mut self, m: &InRecord, error: &str, out: &mut Vec<Out>) {
        dead_letter_poison(&self.config, &self.metrics, m, error, out);
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

    fn dead_letter_poison(&mut self, m: &InRecord, error: &str, out: &mut Vec<Out>) {
        dead_letter_poison(&self.config, &self.metrics, m, error, out);
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
        let (mut customers, mut truncated) = (0, 0);
        for t in tasks {
            customers += t.customers();
            truncated += t.truncated();
        }
        metrics.customers_tracked.set(customers as i64);
        let counters = EngineCounters {
            truncated_events: truncated,
            ..EngineCounters::default()
        };
        metrics.observe_engine("repeats", &counters);
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

    fn dead_letter_poison(&mut self, m: &InRecord, error: &str, out: &mut Vec<Out>) {
        dead_letter_poison(&self.config, &self.metrics, m, error, out);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn record(headers: Vec<(&str, &[u8])>, timestamp: Option<i64>) -> InRecord {
        InRecord {
            topic: Arc::from("contact-events"),
            partition: 2,
            offset: 41,
            key: Some(b"c1".to_vec()),
            value: Some(b"{bad".to_vec()),
            timestamp,
            headers: headers
                .into_iter()
                .map(|(k, v)| (k.to_string(), Some(v.to_vec())))
                .collect(),
        }
    }

    fn header<'a>(o: &'a Out, name: &str) -> Vec<&'a [u8]> {
        o.headers
            .iter()
            .filter(|(k, _)| k == name)
            .filter_map(|(_, v)| v.as_deref())
            .collect()
    }

    #[test]
    fn a_record_cannot_choose_its_dead_letter_reason_and_errors_are_bounded() {
        let config = Config::default();
        let metrics = Metrics::new(false, 10);
        let m = record(
            vec![
                ("error_reason", b"csat_out_of_range"),
                ("Error", b"forged"),
                ("trace", b"kept"),
            ],
            None,
        );
        let mut out = Vec::new();
        let long = format!("unknown party `{}`", "é".repeat(300_000));
        dead_letter(&config, &metrics, &m, "unknown_party", &long, &mut out);
        let o = &out[0];
        assert_eq!(header(o, "error_reason"), vec![b"unknown_party".as_slice()]);
        assert_eq!(header(o, "Error"), Vec::<&[u8]>::new());
        assert_eq!(header(o, "trace"), vec![b"kept".as_slice()]);
        let error = header(o, "error");
        assert_eq!(error.len(), 1);
        assert!(
            error[0].len() <= MAX_ERROR_HEADER_BYTES,
            "{}",
            error[0].len()
        );
        assert!(std::str::from_utf8(error[0]).unwrap().ends_with('…'));
        assert_eq!(header(o, "source_offset"), vec![b"41".as_slice()]);
        assert_eq!(
            o.value.as_deref(),
            Some(b"{bad".as_slice()),
            "value unchanged"
        );
    }

    #[test]
    fn a_record_too_large_to_copy_is_dead_lettered_by_reference() {
        let config = Config::default();
        let metrics = Metrics::new(false, 10);
        let big_header = vec![b'h'; 1 << 20];
        let mut m = record(vec![("junk", big_header.as_slice())], None);
        m.value = Some(vec![b'x'; 2 << 20]);
        m.key = Some(vec![b'k'; 1 << 20]);
        let mut out = Vec::new();
        dead_letter(&config, &metrics, &m, "too_large", "too large", &mut out);
        let o = &out[0];
        let total = o.key.len()
            + o.value.as_ref().map_or(0, Vec::len)
            + o.headers
                .iter()
                .map(|(k, v)| k.len() + v.as_ref().map_or(0, Vec::len))
                .sum::<usize>();
        assert!(total < 4096, "{total} bytes");
        assert_eq!(header(o, "dead_letter"), vec![b"by_reference".as_slice()]);
        assert_eq!(
            header(o, "source_size"),
            vec![((3 << 20) as usize).to_string().as_bytes()]
        );
        assert_eq!(header(o, "source_sha256")[0].len(), 64);
        assert_eq!(header(o, "source_headers_omitted"), vec![b"1".as_slice()]);
        assert_eq!(header(o, "source_offset"), vec![b"41".as_slice()]);
        // A record that fits is copied unchanged.
        let small = record(vec![], None);
        let mut out = Vec::new();
        dead_letter(&config, &metrics, &small, "invalid_json", "x", &mut out);
        assert_eq!(out[0].value.as_deref(), Some(b"{bad".as_slice()));
        assert!(header(&out[0], "dead_letter").is_empty());
    }

    #[test]
    fn an_event_far_ahead_of_its_record_time_is_a_dead_letter() {
        let config = Arc::new(Config::default());
        let metrics = Arc::new(Metrics::new(false, 10));
        let mut logic = AssembleLogic::new(config.clone(), Arc::new(Analyzer::builtin()), metrics);
        let mut task = AssembleTask::default();
        let event = |ts: &str| {
            format!(
                r#"{{"event_id":"e-{ts}","contact_id":"c1","channel":"chat","type":"contact_started","ts":"{ts}","customer_id":"k1"}}"#
            )
        };
        let record_time = chrono::DateTime::parse_from_rfc3339("2026-11-22T09:00:00Z")
            .unwrap()
            .timestamp_millis();
        let mut m = record(vec![], Some(record_time));
        m.value = Some(event("2100-01-01T00:00:00Z").into_bytes());
        let mut out = Vec::new();
        logic.process(&mut task, &m, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].topic, config.raw.topics.dlq);
        assert_eq!(
            header(&out[0], "error_reason"),
            vec![b"clock_ahead".as_slice()]
        );
        assert_eq!(task.stream_time(), None, "event time did not move");
        // Within a day ahead (clock skew, a platform's own lag): accepted.
        m.value = Some(event("2026-11-22T20:00:00Z").into_bytes());
        let mut out = Vec::new();
        logic.process(&mut task, &m, &mut out);
        assert!(out.iter().all(|o| o.topic != config.raw.topics.dlq));
        assert!(task.stream_time().is_some());
    }

    #[test]
    fn implausible_ingest_times_are_not_latency() {
        let now = chrono::Utc::now().timestamp_millis();
        for forged in ["-100000000000000", "99999999999999", "not a number"] {
            let m = record(vec![(INGEST_HEADER, forged.as_bytes())], Some(now - 1500));
            assert_eq!(ingest_ms(&m), now - 1500, "{forged}: the record timestamp");
        }
        let m = record(vec![(INGEST_HEADER, b"-100000000000000")], Some(-5));
        assert!(ingest_ms(&m) >= now, "neither plausible: now");
        let m = record(
            vec![(INGEST_HEADER, (now - 900).to_string().as_bytes())],
            None,
        );
        assert_eq!(ingest_ms(&m), now - 900, "a plausible header is used");
    }
}
