//! `contact-kpi serve`: the HTTP endpoints plus the selected stages, each on
//! its own thread as its own consumer-group member (see `stage.rs`).
//!
//! Delivery: every stage commits its outputs, its state changelog and the
//! offsets it consumed in one Kafka transaction, and restores a partition's
//! state from the changelog when the partition is assigned, so after any
//! crash, restart or rebalance the published aggregates are what one
//! uninterrupted run publishes.

use super::kafka::{create_topics, validate_client_configs};
use super::stage::{self, StageHandle};
use super::stages::{AggregateLogic, AssembleLogic, RepeatsLogic};
use super::PipelineError;
use crate::config::{Config, StageName};
use crate::empathy::Analyzer;
use crate::http::{self, HttpState};
use crate::metrics::Metrics;
use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;

/// Time allowed for the final commits and leaving the groups at shutdown.
const SHUTDOWN_BUDGET: Duration = Duration::from_secs(8);

/// A service started in the background (tests, embedding).
pub struct RunningService {
    pub http_addr: SocketAddr,
    pub metrics: Arc<Metrics>,
    stop: Option<oneshot::Sender<bool>>,
    handle: tokio::task::JoinHandle<Result<(), PipelineError>>,
}

impl RunningService {
    pub async fn start(config: Config) -> Result<RunningService, PipelineError> {
        let (stop, stop_rx) = oneshot::channel::<bool>();
        let (addr_tx, addr_rx) = oneshot::channel();
        let metrics = Arc::new(Metrics::for_config(&config));
        let m = metrics.clone();
        let handle = tokio::spawn(async move {
            run_with(
                config,
                m,
                async move { stop_rx.await.unwrap_or(false) },
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

    /// Graceful stop: commit, leave the groups.
    pub async fn stop(mut self) -> Result<(), PipelineError> {
        if let Some(s) = self.stop.take() {
            let _ = s.send(false);
        }
        self.handle.await.expect("service task does not panic")
    }

    /// Abrupt stop, as a crash: nothing more is committed and open
    /// transactions are left for the next incarnation to abort.
    pub async fn crash(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(true);
        }
        let _ = self.handle.await;
    }
}

/// Runs the service until `shutdown` resolves.
pub async fn run(
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), PipelineError> {
    let metrics = Arc::new(Metrics::for_config(&config));
    run_with(
        config,
        metrics,
        async move {
            shutdown.await;
            false
        },
        None,
    )
    .await
}

/// `shutdown` resolves to true for a crash-like stop.
async fn run_with(
    config: Config,
    metrics: Arc<Metrics>,
    shutdown: impl Future<Output = bool> + Send + 'static,
    addr_tx: Option<oneshot::Sender<SocketAddr>>,
) -> Result<(), PipelineError> {
    // Before serving: a configuration librdkafka refuses would otherwise only
    // fail the retried topic creation and stage starts, with `/healthz` 200.
    validate_client_configs(&config)?;
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
    let result = run_stages(config, metrics, ready, shutdown).await;
    let _ = http_stop.send(());
    let _ = http_handle.await;
    result
}

/// This instance's stable name: configured, or generated once and kept in
/// `pipeline.state_dir` (so a restart reuses it and fences its predecessor).
pub fn instance_id(config: &Config) -> Result<String, PipelineError> {
    let configured = config.raw.pipeline.instance_id.trim();
    if !configured.is_empty() {
        return Ok(configured.to_string());
    }
    let dir = Path::new(&config.raw.pipeline.state_dir);
    let path = dir.join("instance-id");
    let io = |source| PipelineError::InstanceId {
        path: path.clone(),
        source,
    };
    if let Ok(id) = std::fs::read_to_string(&path) {
        let id = id.trim();
        if !id.is_empty() {
            return Ok(id.to_string());
        }
    }
    std::fs::create_dir_all(dir).map_err(io)?;
    let id = {
        use rand::{Rng, SeedableRng};
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        let mut rng =
            rand_chacha::ChaCha8Rng::seed_from_u64(nanos ^ (u64::from(std::process::id()) << 32));
        format!("i{:016x}", rng.random::<u64>())
    };
    std::fs::write(&path, format!("{id}\n")).map_err(io)?;
    Ok(id)
}

async fn run_stages(
    config: Config,
    metrics: Arc<Metrics>,
    ready: Arc<AtomicBool>,
    shutdown: impl Future<Output = bool> + Send + 'static,
) -> Result<(), PipelineError> {
    let analyzer = Arc::new(match config.raw.empathy.lexicon_dir.trim() {
        "" => Analyzer::builtin(),
        dir => Analyzer::load_dir(Path::new(dir))?,
    });
    let instance = instance_id(&config)?;
    let config = Arc::new(config);
    tokio::pin!(shutdown);
    // Misconfigured TLS or credentials stop the service with a message
    // naming the settings; brokers that are not up yet are waited for.
    let mut delay = Duration::from_millis(200);
    loop {
        let c = config.clone();
        match tokio::task::spawn_blocking(move || super::kafka::check_brokers(&c))
            .await
            .expect("the broker check does not panic")
        {
            Ok(()) => break,
            Err(e @ PipelineError::Connection(_)) => {
                tracing::error!(error = %e, "cannot connect to the brokers");
                return Err(e);
            }
            Err(e) => {
                tracing::warn!(error = %e, retry_in = ?delay, "brokers not reachable yet; retrying");
                tokio::select! {
                    _ = &mut shutdown => return Ok(()),
                    _ = tokio::time::sleep(delay) => {}
                }
                delay = (delay * 2).min(Duration::from_secs(10));
            }
        }
    }
    if config.raw.kafka.create_topics {
        let mut delay = Duration::from_millis(200);
        loop {
            match create_topics(&config).await {
                Ok(()) => break,
                Err(e) => {
                    tracing::warn!(error = %e, retry_in = ?delay, "cannot create topics yet; retrying");
                    tokio::select! {
                        _ = &mut shutdown => return Ok(()),
                        _ = tokio::time::sleep(delay) => {}
                    }
                    delay = (delay * 2).min(Duration::from_secs(10));
                }
            }
        }
    }
    let stop = Arc::new(AtomicBool::new(false));
    let crash = Arc::new(AtomicBool::new(false));
    let mut handles: Vec<StageHandle> = Vec::new();
    for &name in &config.stages {
        let (c, m, s, k, i) = (
            config.clone(),
            metrics.clone(),
            stop.clone(),
            crash.clone(),
            instance.clone(),
        );
        handles.push(match name {
            StageName::Assemble => {
                let a = analyzer.clone();
                let (c2, m2) = (c.clone(), m.clone());
                stage::spawn(
                    move || AssembleLogic::new(c2.clone(), a.clone(), m2.clone()),
                    c,
                    m,
                    i,
                    s,
                    k,
                )
            }
            StageName::Repeats => {
                let (c2, m2) = (c.clone(), m.clone());
                stage::spawn(
                    move || RepeatsLogic::new(c2.clone(), m2.clone()),
                    c,
                    m,
                    i,
                    s,
                    k,
                )
            }
            StageName::Aggregate => {
                let (c2, m2) = (c.clone(), m.clone());
                stage::spawn(
                    move || AggregateLogic::new(c2.clone(), m2.clone()),
                    c,
                    m,
                    i,
                    s,
                    k,
                )
            }
        });
    }
    // Platform topics are translated where contacts are assembled.
    if !config.inputs.is_empty() && config.stages.contains(&StageName::Assemble) {
        handles.push(super::router::spawn(
            config.clone(),
            metrics.clone(),
            stop.clone(),
            crash.clone(),
        ));
    }
    tracing::info!(instance = %instance, stages = ?config.stages, "started");
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let crashed = loop {
        tokio::select! {
            crashed = &mut shutdown => break crashed,
            _ = tick.tick() => {
                let all = handles.iter().all(|h| h.ready.load(Ordering::Relaxed));
                ready.store(all, Ordering::Relaxed);
                metrics.ready.set(i64::from(all));
            }
        }
    };
    ready.store(false, Ordering::Relaxed);
    metrics.ready.set(0);
    if crashed {
        crash.store(true, Ordering::Relaxed);
    } else {
        tracing::info!("shutting down: committing and leaving the consumer groups");
        stop.store(true, Ordering::Relaxed);
    }
    // Bounded, so SIGTERM exits in time even with the broker gone: whatever
    // was not committed is redone by the next owner of the partitions.
    let join = tokio::task::spawn_blocking(move || {
        for h in handles {
            let _ = h.thread.join();
        }
    });
    if tokio::time::timeout(SHUTDOWN_BUDGET, join).await.is_err() {
        tracing::warn!("stages did not stop in time; the next owners resume from the last commit");
    }
    tracing::info!("stopped");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn refused_kafka_properties_stop_the_service_before_it_serves() {
        let config = Config::load_with_env(
            None,
            [
                ("CONTACT_KPI__HTTP__LISTEN", "127.0.0.1:0"),
                ("CONTACT_KPI__KAFKA__PROPERTIES__NO.SUCH.PROPERTY", "1"),
            ]
            .map(|(k, v)| (k.to_string(), v.to_string())),
        )
        .unwrap();
        let err = match RunningService::start(config).await {
            Ok(service) => {
                service.crash().await;
                panic!("the service started with a refused kafka property");
            }
            Err(e) => e.to_string(),
        };
        assert!(err.contains("no.such.property"), "{err}");
    }
}
