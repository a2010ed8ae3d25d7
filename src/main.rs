//! `contact-kpi`: command line. Parses arguments, loads configuration and
//! wires the components; the work happens in the library.

use anyhow::Context;
use clap::{Parser, Subcommand};
use contact_kpi::config::Config;
use contact_kpi::pipeline::simulate::{self, SimulateOptions};
use contact_kpi::score::{score_input, ScoreOptions};
use std::io::Read;
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "contact-kpi",
    version,
    about = "Streaming, exact, explainable contact-center KPIs"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the service.
    Serve {
        /// Configuration file (overrides the shipped defaults; the environment overrides both).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Run only these stages (comma-separated: assemble, repeats, aggregate);
        /// overrides `pipeline.stages`. Default: all three.
        #[arg(long, value_delimiter = ',')]
        stages: Option<Vec<String>>,
    },
    /// Publish realistic synthetic contact-center traffic, or write it as JSON lines.
    Simulate {
        /// Events per second.
        #[arg(long, default_value_t = 50.0)]
        rate: f64,
        /// Number of agents.
        #[arg(long, default_value_t = 25)]
        agents: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Simulated seconds per wall-clock second.
        #[arg(long, default_value_t = 60.0)]
        speedup: f64,
        /// Stop after this many events (default: run until stopped; 10000 with --to-file).
        #[arg(long)]
        events: Option<u64>,
        /// Write JSON lines to this file instead of publishing.
        #[arg(long)]
        to_file: Option<PathBuf>,
        /// Publish protobuf instead of JSON.
        #[arg(long)]
        protobuf: bool,
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Exit 0 when the running service answers 200 on `path` (the
    /// container health check; needs no curl in the image). The port is
    /// the configured `http.listen`, asked on the loopback address.
    Healthcheck {
        #[arg(long, default_value = "/healthz")]
        path: String,
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Judge one contact from stdin (contract JSON lines or an agent:/customer: transcript).
    Score {
        /// Language of the contact (default: from the events, else detected).
        #[arg(long)]
        language: Option<String>,
        /// Channel of a plain transcript (voice, email, chat).
        #[arg(long, default_value = "chat")]
        channel: String,
        /// Directory with lexicons (default: the built-in ones).
        #[arg(long)]
        lexicons: Option<PathBuf>,
    },
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,rdkafka=warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .init();
}

async fn ctrl_c_or_sigterm() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("can install a SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

/// The status code of `GET path` on `addr` (HTTP/1.1, 3 s timeouts).
fn http_status(addr: std::net::SocketAddr, path: &str) -> anyhow::Result<u16> {
    use std::io::Write;
    let timeout = std::time::Duration::from_secs(3);
    let mut stream = std::net::TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut head = [0u8; 64];
    let n = stream.read(&mut head)?;
    let line = String::from_utf8_lossy(&head[..n]);
    line.split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .with_context(|| {
            format!(
                "not an HTTP answer: {:?}",
                line.lines().next().unwrap_or("")
            )
        })
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    init_tracing();
    match cli.command {
        Command::Serve { config, stages } => {
            let mut config =
                Config::load(config.as_deref()).context("failed to load configuration")?;
            if let Some(stages) = stages {
                config = config.with_stages(stages).context("invalid --stages")?;
            }
            let rt = tokio::runtime::Runtime::new().context("failed to start the runtime")?;
            let result = rt.block_on(contact_kpi::pipeline::run(config, ctrl_c_or_sigterm()));
            // Do not wait for a librdkafka close stuck on an unreachable broker.
            rt.shutdown_timeout(std::time::Duration::from_secs(1));
            result.context("service failed")?;
        }
        Command::Simulate {
            rate,
            agents,
            seed,
            speedup,
            events,
            to_file,
            protobuf,
            config,
        } => {
            anyhow::ensure!(rate > 0.0, "--rate must be positive");
            anyhow::ensure!(agents > 0, "--agents must be positive");
            anyhow::ensure!(speedup > 0.0, "--speedup must be positive");
            let opts = SimulateOptions {
                rate,
                agents,
                seed,
                speedup,
                max_events: events,
                protobuf,
            };
            if let Some(path) = to_file {
                let file = std::fs::File::create(&path)
                    .with_context(|| format!("failed to create {}", path.display()))?;
                let n = simulate::to_file(&opts, &mut std::io::BufWriter::new(file))?;
                eprintln!("wrote {n} events to {}", path.display());
            } else {
                let config =
                    Config::load(config.as_deref()).context("failed to load configuration")?;
                let rt = tokio::runtime::Runtime::new().context("failed to start the runtime")?;
                let n = rt.block_on(simulate::publish(&config, &opts, ctrl_c_or_sigterm()));
                rt.shutdown_timeout(std::time::Duration::from_secs(1));
                let n = n?;
                eprintln!("published {n} events to {}", config.raw.topics.input);
            }
        }
        Command::Healthcheck { path, config } => {
            let config = Config::load(config.as_deref()).context("failed to load configuration")?;
            let mut addr = config.http_listen;
            if addr.ip().is_unspecified() {
                addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
            }
            let status = http_status(addr, &path)
                .with_context(|| format!("no answer from http://{addr}{path}"))?;
            anyhow::ensure!(status == 200, "http://{addr}{path} answered {status}");
        }
        Command::Score {
            language,
            channel,
            lexicons,
        } => {
            let mut input = String::new();
            std::io::stdin()
                .read_to_string(&mut input)
                .context("failed to read stdin")?;
            let analyzer = match lexicons {
                Some(dir) => contact_kpi::empathy::Analyzer::load_dir(&dir)?,
                None => contact_kpi::empathy::Analyzer::builtin(),
            };
            let opts = ScoreOptions { language, channel };
            for line in score_input(&analyzer, &input, &opts)? {
                println!("{}", serde_json::to_string(&line)?);
            }
        }
    }
    Ok(())
}
