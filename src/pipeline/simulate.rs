//! `contact-kpi simulate`: publishes the simulator's traffic to the input
//! topic, paced by event time (`speedup` simulated seconds per wall second)
//! at about `rate` events per second, or writes it as JSON lines.

use super::kafka::producer_config;
use super::PipelineError;
use crate::config::Config;
use crate::model::format_ts;
use crate::sim::{SimConfig, Simulator, EVENTS_PER_CONTACT_ESTIMATE};
use prost::Message as _;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use std::io::Write;
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct SimulateOptions {
    /// Target events per wall-clock second.
    pub rate: f64,
    pub agents: usize,
    pub seed: u64,
    /// Simulated seconds per wall second.
    pub speedup: f64,
    /// Stop after this many contacts have started (None: run until stopped).
    pub max_events: Option<u64>,
    pub protobuf: bool,
}

impl SimulateOptions {
    fn sim_config(&self) -> SimConfig {
        SimConfig {
            agents: self.agents,
            seed: self.seed,
            start: chrono::Utc::now(),
            contacts_per_hour: (self.rate / self.speedup.max(0.001)) * 3600.0
                / EVENTS_PER_CONTACT_ESTIMATE,
        }
    }
}

/// Writes `max_events` (default 10 000) events as JSON lines, without pacing.
pub fn to_file(opts: &SimulateOptions, out: &mut dyn Write) -> std::io::Result<u64> {
    let mut n = 0;
    for event in Simulator::new(opts.sim_config()).take(opts.max_events.unwrap_or(10_000) as usize)
    {
        serde_json::to_writer(&mut *out, &event.to_json())?;
        out.write_all(b"\n")?;
        n += 1;
    }
    out.flush()?;
    Ok(n)
}

/// Publishes until `max_events` or until `stop` resolves.
pub async fn publish(
    config: &Config,
    opts: &SimulateOptions,
    stop: impl std::future::Future<Output = ()>,
) -> Result<u64, PipelineError> {
    let producer: FutureProducer = producer_config(config).create()?;
    let topic = config.raw.topics.input.clone();
    let sim_cfg = opts.sim_config();
    let sim_start = sim_cfg.start;
    let wall_start = Instant::now();
    let mut published = 0u64;
    let mut last_log = Instant::now();
    tokio::pin!(stop);
    for event in Simulator::new(sim_cfg) {
        if opts.max_events.is_some_and(|m| published >= m) {
            break;
        }
        let sim_elapsed = (event.ts - sim_start).to_std().unwrap_or_default();
        let due = wall_start + sim_elapsed.div_f64(opts.speedup.max(0.001));
        tokio::select! {
            _ = &mut stop => break,
            _ = tokio::time::sleep_until(due.into()) => {}
        }
        let (value, content_type): (Vec<u8>, &[u8]) = if opts.protobuf {
            (event.to_proto().encode_to_vec(), b"application/x-protobuf")
        } else {
            (
                serde_json::to_vec(&event.to_json()).expect("json"),
                b"application/json",
            )
        };
        let headers = OwnedHeaders::new().insert(Header {
            key: "content-type",
            value: Some(content_type),
        });
        let mut record = FutureRecord::to(&topic)
            .key(event.contact_id.as_bytes())
            .payload(&value)
            .headers(headers);
        loop {
            match producer.send_result(record) {
                Ok(_delivery) => break,
                Err((_, r)) => {
                    record = r;
                    producer.poll(Duration::from_millis(50));
                }
            }
        }
        published += 1;
        if last_log.elapsed() > Duration::from_secs(10) {
            tracing::info!(published, event_time = %format_ts(event.ts), "simulating");
            last_log = Instant::now();
        }
    }
    producer.flush(Duration::from_secs(10))?;
    Ok(published)
}
