//! `contact-kpi serve`: one consumer-group member that runs the three engine
//! stages in process. Kafka is kept at the edge: records become owned
//! [`ContactEvent`]s (or dead letters) here, and everything else is the pure
//! engine.
//!
//! Delivery: aggregates are full-state upserts on a compacted topic, and the
//! engine state is checkpointed together with the offsets it reflects, so a
//! restart (also after a crash) resumes from the checkpoint and the last
//! record per key converges to what an uninterrupted run publishes.

use super::checkpoint::{self, Checkpoint};
use super::kafka::{consumer_config, create_topics, producer_config};
use super::PipelineError;
use crate::config::{Config, OutputFormat};
use crate::empathy::Analyzer;
use crate::http::{self, HttpState};
use crate::kpi::{AggregateUpdate, Engine};
use crate::metrics::Metrics;
use crate::model::{decode_event, DecodeError, Timestamp};
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{BorrowedMessage, Header, Headers, OwnedHeaders};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord, Producer};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{Message, Offset, TopicPartitionList};
use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// Outstanding deliveries above which consumption waits (back-pressure).
const MAX_IN_FLIGHT: usize = 20_000;

/// Time allowed for the final publish and checkpoint at shutdown.
const SHUTDOWN_BUDGET: Duration = Duration::from_secs(5);

/// A partition without records for this long no longer holds event time back.
const PARTITION_IDLE_AFTER: Duration = Duration::from_secs(5);

/// Exports consumer lag per partition from librdkafka's statistics, which
/// use the high watermark of fetch responses (right on every broker).
pub struct LagContext {
    metrics: Arc<Metrics>,
}

impl rdkafka::ClientContext for LagContext {
    fn stats(&self, statistics: rdkafka::Statistics) {
        for topic in statistics.topics.values() {
            for (id, p) in &topic.partitions {
                if *id >= 0 && p.consumer_lag >= 0 {
                    self.metrics
                        .consumer_lag
                        .with_label_values(&[&id.to_string()])
                        .set(p.consumer_lag);
                }
            }
        }
    }
}

impl rdkafka::consumer::ConsumerContext for LagContext {}

/// A service started in the background (tests, embedding).
pub struct RunningService {
    pub http_addr: SocketAddr,
    pub metrics: Arc<Metrics>,
    stop: Option<oneshot::Sender<()>>,
    handle: tokio::task::JoinHandle<Result<(), PipelineError>>,
}

impl RunningService {
    pub async fn start(config: Config) -> Result<RunningService, PipelineError> {
        let (stop, stop_rx) = oneshot::channel::<()>();
        let (addr_tx, addr_rx) = oneshot::channel();
        let metrics = Arc::new(Metrics::new(
            config.raw.metrics.per_agent,
            config.raw.metrics.max_agents,
        ));
        let m = metrics.clone();
        let handle = tokio::spawn(async move {
            run_with(
                config,
                m,
                async move {
                    let _ = stop_rx.await;
                },
                Some(addr_tx),
            )
            .await
        });
        match addr_rx.await {
            Ok(http_addr) => Ok(RunningService {
                http_addr,
                metrics,
                stop: Some(stop),
                handle,
            }),
            Err(_) => Err(handle
                .await
                .unwrap_or_else(|e| panic!("service task panicked: {e}"))
                .err()
                .unwrap_or(PipelineError::Topic {
                    topic: String::new(),
                    message: "service stopped before serving".into(),
                })),
        }
    }

    /// Graceful stop: publish, checkpoint, commit, leave the group.
    pub async fn stop(mut self) -> Result<(), PipelineError> {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        self.handle.await.expect("service task does not panic")
    }

    /// Abrupt stop, as a crash: nothing more is published or checkpointed.
    pub fn abort(self) {
        self.handle.abort();
    }
}

/// Runs the service until `shutdown` resolves.
pub async fn run(
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), PipelineError> {
    let metrics = Arc::new(Metrics::new(
        config.raw.metrics.per_agent,
        config.raw.metrics.max_agents,
    ));
    run_with(config, metrics, shutdown, None).await
}

struct Shell {
    config: Config,
    metrics: Arc<Metrics>,
    engine: Engine,
    producer: FutureProducer,
    in_flight: VecDeque<DeliveryFuture>,
    delivery_failed: bool,
    offsets: BTreeMap<i32, i64>,
    /// Per partition: newest event time and when a record last arrived.
    partition_time: BTreeMap<i32, (Option<Timestamp>, Instant)>,
    checkpoint_path: PathBuf,
    oldest_unpublished: Option<Instant>,
}

async fn run_with(
    config: Config,
    metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()> + Send + 'static,
    addr_tx: Option<oneshot::Sender<SocketAddr>>,
) -> Result<(), PipelineError> {
    let ready = Arc::new(AtomicBool::new(false));
    let (http_stop, http_stop_rx) = oneshot::channel::<()>();
    let (http_addr, http_handle) = http::serve(
        config.http_listen,
        Arc::new(HttpState {
            metrics: metrics.clone(),
            ready: ready.clone(),
        }),
        async move {
            let _ = http_stop_rx.await;
        },
    )
    .await?;
    tracing::info!(%http_addr, "serving /metrics, /healthz, /readyz");
    if let Some(tx) = addr_tx {
        let _ = tx.send(http_addr);
    }
    let result = consume_loop(config, metrics, ready, shutdown).await;
    let _ = http_stop.send(());
    let _ = http_handle.await;
    result
}

async fn consume_loop(
    config: Config,
    metrics: Arc<Metrics>,
    ready: Arc<AtomicBool>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), PipelineError> {
    let analyzer = Arc::new(match config.raw.empathy.lexicon_dir.trim() {
        "" => Analyzer::builtin(),
        dir => Analyzer::load_dir(std::path::Path::new(dir))?,
    });
    if config.raw.kafka.create_topics {
        create_topics_with_retry(&config).await?;
    }
    let checkpoint_path = checkpoint::path_for(
        std::path::Path::new(&config.raw.pipeline.state_dir),
        &config.raw.kafka.group_id,
    );
    let mut engine = Engine::new(config.engine.clone(), analyzer);
    let restore_started = Instant::now();
    let mut offsets = BTreeMap::new();
    if let Some(cp) = checkpoint::load(&checkpoint_path)? {
        if cp.topic == config.raw.topics.input {
            if let Err(e) = engine.restore(&cp.engine) {
                return Err(PipelineError::Checkpoint(
                    checkpoint::CheckpointError::Corrupt {
                        path: checkpoint_path.clone(),
                        message: format!(
                            "{e}; its state cannot be used. To rebuild from the start of the input topic, point \
                             pipeline.state_dir at an empty directory and use a new kafka.group_id (for `make run`: \
                             remove data/)"
                        ),
                    },
                ));
            }
            offsets = cp.offsets;
            tracing::info!(partitions = offsets.len(), "restored state checkpoint");
        } else {
            tracing::warn!("checkpoint belongs to another input topic; starting empty");
        }
    }
    metrics
        .restore_seconds
        .set(restore_started.elapsed().as_secs_f64());

    let consumer: StreamConsumer<LagContext> =
        consumer_config(&config).create_with_context(LagContext {
            metrics: metrics.clone(),
        })?;
    consumer.subscribe(&[config.raw.topics.input.as_str()])?;
    let producer: FutureProducer = producer_config(&config).create()?;
    let mut shell = Shell {
        config,
        metrics,
        engine,
        producer,
        in_flight: VecDeque::new(),
        delivery_failed: false,
        offsets,
        partition_time: BTreeMap::new(),
        checkpoint_path,
        oldest_unpublished: None,
    };
    let mut emit_tick =
        tokio::time::interval(shell.config.emit_interval.max(Duration::from_millis(10)));
    let first_checkpoint = tokio::time::Instant::now() + shell.config.checkpoint_interval;
    let mut checkpoint_tick =
        tokio::time::interval_at(first_checkpoint, shell.config.checkpoint_interval);
    emit_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    checkpoint_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            biased;
            _ = &mut shutdown => break,
            _ = emit_tick.tick() => {
                let partitions: Vec<i32> = consumer
                    .assignment()
                    .map(|a| a.elements().iter().map(|e| e.partition()).collect())
                    .unwrap_or_default();
                shell.note_assignment(&partitions);
                shell.emit().await;
                let assigned = !partitions.is_empty();
                ready.store(assigned, Ordering::Relaxed);
                shell.metrics.ready.set(i64::from(assigned));
            }
            _ = checkpoint_tick.tick() => {
                if let Err(e) = shell.checkpoint(&consumer, CommitMode::Async).await {
                    tracing::error!(error = %e, "checkpoint failed; will retry");
                }
            }
            msg = consumer.recv() => match msg {
                Ok(m) => shell.handle(&m).await,
                Err(e) => {
                    tracing::warn!(error = %e, "consumer error");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
        }
    }
    tracing::info!("shutting down: publishing, checkpointing, committing");
    ready.store(false, Ordering::Relaxed);
    // Bounded, so SIGTERM exits in time even with the broker gone: without a
    // final checkpoint a restart resumes from the previous one, which is safe.
    let final_work = async {
        shell.emit().await;
        shell.checkpoint(&consumer, CommitMode::Async).await
    };
    match tokio::time::timeout(SHUTDOWN_BUDGET, final_work).await {
        Ok(result) => result?,
        Err(_) => tracing::warn!("final publish/checkpoint did not finish in time; a restart resumes from the last checkpoint"),
    }
    let _ = shell.producer.flush(Duration::from_secs(1));
    consumer.unsubscribe();
    // Closing the consumer leaves the group; librdkafka may block on an
    // unreachable broker, so it gets a bounded wait as well.
    let close = tokio::task::spawn_blocking(move || drop(consumer));
    let _ = tokio::time::timeout(Duration::from_secs(2), close).await;
    tracing::info!("stopped");
    Ok(())
}

async fn create_topics_with_retry(config: &Config) -> Result<(), PipelineError> {
    let mut delay = Duration::from_millis(200);
    for attempt in 1..=8 {
        match create_topics(config).await {
            Ok(()) => return Ok(()),
            Err(e) if attempt < 8 => {
                tracing::warn!(error = %e, attempt, "cannot create topics yet; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
            Err(e) => return Err(e),
        }
    }
    unreachable!("the last attempt returns")
}

impl Shell {
    async fn handle(&mut self, m: &BorrowedMessage<'_>) {
        let (partition, offset) = (m.partition(), m.offset());
        // Any record, even one already reflected or a bad one, shows the partition is active.
        self.partition_time
            .entry(partition)
            .or_insert((None, Instant::now()))
            .1 = Instant::now();
        if self
            .offsets
            .get(&partition)
            .is_some_and(|&next| offset < next)
        {
            return; // Already reflected in the restored checkpoint.
        }
        self.metrics
            .records_consumed
            .with_label_values(&[m.topic()])
            .inc();
        let content_type = m.headers().and_then(|h| {
            h.iter()
                .find(|h| h.key.eq_ignore_ascii_case("content-type"))
                .and_then(|h| h.value)
                .map(|v| String::from_utf8_lossy(v).into_owned())
        });
        let decoded = decode_event(
            m.payload(),
            content_type.as_deref(),
            self.config.raw.input.format,
            self.config.raw.input.max_record_bytes,
        );
        match decoded {
            Ok(event) => {
                if let Some(entry) = self.partition_time.get_mut(&partition) {
                    entry.0 = Some(entry.0.map_or(event.ts, |t| t.max(event.ts)));
                }
                for fact in self.engine.apply(event) {
                    self.metrics.observe_fact(&fact);
                }
                self.oldest_unpublished.get_or_insert_with(Instant::now);
            }
            Err(err) => self.dead_letter(m, &err).await,
        }
        self.offsets.insert(partition, offset + 1);
    }

    /// The bad record, unchanged, with headers saying why and where from.
    async fn dead_letter(&mut self, m: &BorrowedMessage<'_>, err: &DecodeError) {
        tracing::warn!(
            reason = err.reason(),
            partition = m.partition(),
            offset = m.offset(),
            "bad input record sent to the dead-letter topic"
        );
        self.metrics
            .dlq_records
            .with_label_values(&[err.reason()])
            .inc();
        let mut headers = OwnedHeaders::new();
        if let Some(original) = m.headers() {
            for h in original.iter() {
                headers = headers.insert(Header {
                    key: h.key,
                    value: h.value,
                });
            }
        }
        let error = err.to_string();
        let partition = m.partition().to_string();
        let offset = m.offset().to_string();
        headers = headers
            .insert(Header {
                key: "error",
                value: Some(error.as_bytes()),
            })
            .insert(Header {
                key: "error_reason",
                value: Some(err.reason().as_bytes()),
            })
            .insert(Header {
                key: "source_topic",
                value: Some(m.topic().as_bytes()),
            })
            .insert(Header {
                key: "source_partition",
                value: Some(partition.as_bytes()),
            })
            .insert(Header {
                key: "source_offset",
                value: Some(offset.as_bytes()),
            });
        let topic = self.config.raw.topics.dlq.clone();
        let mut record: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(&topic).headers(headers);
        if let Some(k) = m.key() {
            record = record.key(k);
        }
        if let Some(p) = m.payload() {
            record = record.payload(p);
        }
        self.send(record).await;
    }

    /// Enqueues a record; waits for deliveries while the producer queue is full.
    async fn send(&mut self, mut record: FutureRecord<'_, [u8], [u8]>) {
        let topic = record.topic.to_string();
        loop {
            if self.in_flight.len() >= MAX_IN_FLIGHT {
                self.metrics.producer_backpressure.inc();
                self.drain(self.in_flight.len() / 2).await;
            }
            match self.producer.send_result(record) {
                Ok(f) => {
                    self.in_flight.push_back(f);
                    self.metrics
                        .records_produced
                        .with_label_values(&[&topic])
                        .inc();
                    return;
                }
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                    self.metrics.producer_backpressure.inc();
                    record = r;
                    if self.in_flight.is_empty() {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    } else {
                        self.drain(self.in_flight.len().div_ceil(2)).await;
                    }
                }
                Err((e, _)) => {
                    tracing::error!(error = %e, %topic, "cannot enqueue record");
                    self.delivery_failed = true;
                    return;
                }
            }
        }
    }

    /// Publishes an output record in the configured format (protobuf or
    /// JSON with the same field names), labelled by a `content-type` header.
    async fn publish<M: prost::Message + serde::Serialize>(
        &mut self,
        topic: &str,
        key: &str,
        message: &M,
    ) {
        let (value, content_type): (Vec<u8>, &[u8]) = match self.config.raw.output.format {
            OutputFormat::Protobuf => (message.encode_to_vec(), b"application/x-protobuf"),
            OutputFormat::Json => (
                serde_json::to_vec(message).expect("output serializes"),
                b"application/json",
            ),
        };
        let headers = OwnedHeaders::new().insert(Header {
            key: "content-type",
            value: Some(content_type),
        });
        let record = FutureRecord::to(topic)
            .key(key.as_bytes())
            .payload(value.as_slice())
            .headers(headers);
        self.send(record).await;
    }

    /// Waits for the `n` oldest deliveries.
    async fn drain(&mut self, n: usize) {
        for _ in 0..n {
            let Some(f) = self.in_flight.pop_front() else {
                break;
            };
            match f.await {
                Ok(Ok(_)) => {}
                Ok(Err((e, _))) => {
                    tracing::error!(error = %e, "delivery failed");
                    self.delivery_failed = true;
                }
                Err(_) => {
                    tracing::error!("delivery cancelled");
                    self.delivery_failed = true;
                }
            }
        }
    }

    /// Event time of the input as a whole: the slowest partition that is
    /// still delivering. A partition with nothing new for
    /// `PARTITION_IDLE_AFTER` has caught up and no longer holds time back, so
    /// an idle partition cannot keep every window open; while a backlog is
    /// read, a partition read ahead cannot time out another's contacts.
    fn watermark(&self) -> Option<Timestamp> {
        let active: Vec<Option<Timestamp>> = self
            .partition_time
            .values()
            .filter(|(_, seen)| seen.elapsed() < PARTITION_IDLE_AFTER)
            .map(|(ts, _)| *ts)
            .collect();
        if active.iter().any(Option::is_none) {
            // An assigned partition has not delivered an event yet: its
            // events may be older than everything seen so far.
            return None;
        }
        active
            .into_iter()
            .flatten()
            .min()
            .or_else(|| self.partition_time.values().filter_map(|(ts, _)| *ts).max())
    }

    /// Tracks the assigned partitions: a newly assigned one holds event time
    /// back until it delivers or goes idle; a revoked one no longer counts.
    fn note_assignment(&mut self, assigned: &[i32]) {
        self.partition_time.retain(|p, _| assigned.contains(p));
        for &p in assigned {
            self.partition_time
                .entry(p)
                .or_insert((None, Instant::now()));
        }
    }

    /// Advances event time and publishes the aggregates that changed.
    async fn emit(&mut self) {
        if let Some(w) = self.watermark() {
            self.engine.advance_to(w);
        }
        let updates = self.engine.take_updates();
        if !updates.is_empty() {
            let topic = self.config.raw.topics.aggregates.clone();
            for AggregateUpdate { key, aggregate } in updates {
                self.metrics.observe_aggregate(&aggregate);
                self.publish(&topic, &key, &aggregate).await;
            }
        }
        let alerts = self.engine.take_alerts();
        if !alerts.is_empty() {
            let topic = self.config.raw.topics.alerts.clone();
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
                self.publish(&topic, &key, &alert).await;
            }
        }
        if let Some(t) = self.oldest_unpublished.take() {
            self.metrics
                .event_to_aggregate_seconds
                .observe(t.elapsed().as_secs_f64());
        }
        let st = self.engine.state();
        self.metrics.observe_engine(&st.counters);
        self.metrics
            .open_contacts
            .set(st.assembler.open_contacts() as i64);
        self.metrics
            .finished_contacts
            .set(st.assembler.finished_contacts() as i64);
        self.metrics
            .window_aggregates
            .set(st.aggregator.window_count() as i64);
        self.metrics
            .customers_tracked
            .set(st.repeats.customers() as i64);
    }

    /// Waits for every delivery, then writes the state with its offsets and
    /// commits those offsets. Skipped (and retried next time) if any delivery
    /// since the last checkpoint failed: everything is republished instead.
    async fn checkpoint(
        &mut self,
        consumer: &StreamConsumer<LagContext>,
        mode: CommitMode,
    ) -> Result<(), PipelineError> {
        let started = Instant::now();
        self.drain(self.in_flight.len()).await;
        if std::mem::take(&mut self.delivery_failed) {
            tracing::warn!(
                "a delivery failed since the last checkpoint; republishing every aggregate"
            );
            self.engine.mark_all_dirty();
            return Ok(());
        }
        let cp = Checkpoint {
            topic: self.config.raw.topics.input.clone(),
            offsets: self.offsets.clone(),
            engine: self.engine.snapshot(),
        };
        let path = self.checkpoint_path.clone();
        let size = tokio::task::spawn_blocking(move || checkpoint::save(&path, &cp))
            .await
            .expect("checkpoint task does not panic")?;
        self.metrics.checkpoint_bytes.set(size as i64);
        if !self.offsets.is_empty() {
            let mut tpl = TopicPartitionList::new();
            for (&p, &next) in &self.offsets {
                tpl.add_partition_offset(&self.config.raw.topics.input, p, Offset::Offset(next))?;
            }
            if let Err(e) = consumer.commit(&tpl, mode) {
                // The checkpoint holds the offsets too; a failed commit only means
                // more records are skipped after a restart.
                tracing::warn!(error = %e, "offset commit failed");
            }
        }
        self.metrics
            .checkpoint_seconds
            .observe(started.elapsed().as_secs_f64());
        Ok(())
    }
}
