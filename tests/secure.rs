//! Connections as production clusters require them, on the local broker:
//! TLS (behind stunnel, with a CA and server certificate made at test
//! time), SASL/SCRAM (Tansu's own authentication), and input compressed
//! with each codec producers use. A wrong CA or password must stop the
//! service with a message naming the settings to check, and the secret
//! must appear in neither the log nor `/metrics`.

mod common;

use common::*;
use contact_kpi::config::Config;
use contact_kpi::pipeline::RunningService;
use rdkafka::producer::FutureProducer;
use rdkafka::ClientConfig;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn run(cmd: &mut Command) {
    let out = cmd.output().expect("runs");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA and a server certificate for 127.0.0.1 signed by it, plus an
/// unrelated CA, made with the openssl command.
struct Certs {
    ca: PathBuf,
    other_ca: PathBuf,
    server_cert: PathBuf,
    server_key: PathBuf,
}

fn make_ca(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let (key, pem) = (
        dir.join(format!("{name}.key")),
        dir.join(format!("{name}.pem")),
    );
    run(Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&pem)
        .args(["-subj", &format!("/CN={name}")]));
    (key, pem)
}

impl Certs {
    fn make(dir: &Path) -> Certs {
        let (ca_key, ca) = make_ca(dir, "ckpi-test-ca");
        let (_, other_ca) = make_ca(dir, "ckpi-other-ca");
        let (server_key, csr, server_cert) = (
            dir.join("server.key"),
            dir.join("server.csr"),
            dir.join("server.pem"),
        );
        run(Command::new("openssl")
            .args([
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-subj",
                "/CN=127.0.0.1",
            ])
            .arg("-keyout")
            .arg(&server_key)
            .arg("-out")
            .arg(&csr));
        let ext = dir.join("ext.cnf");
        std::fs::write(&ext, "subjectAltName=IP:127.0.0.1,DNS:localhost\n").unwrap();
        run(Command::new("openssl")
            .args(["x509", "-req", "-days", "2", "-CAcreateserial"])
            .arg("-in")
            .arg(&csr)
            .arg("-CA")
            .arg(&ca)
            .arg("-CAkey")
            .arg(&ca_key)
            .arg("-out")
            .arg(&server_cert)
            .arg("-extfile")
            .arg(&ext));
        Certs {
            ca,
            other_ca,
            server_cert,
            server_key,
        }
    }
}

/// stunnel accepting TLS on a port and forwarding to the broker's plain
/// port; stopped on drop.
struct Stunnel(Child);

impl Drop for Stunnel {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn stunnel(dir: &Path, certs: &Certs, accept: u16, connect: u16) -> Stunnel {
    let conf = dir.join("stunnel.conf");
    std::fs::write(
        &conf,
        format!(
            "foreground = yes\npid =\noutput = {}\n[kafka]\naccept = 127.0.0.1:{accept}\nconnect = 127.0.0.1:{connect}\ncert = {}\nkey = {}\n",
            dir.join("stunnel.log").display(),
            certs.server_cert.display(),
            certs.server_key.display()
        ),
    )
    .unwrap();
    let bin = ["stunnel4", "stunnel"]
        .into_iter()
        .find(|b| {
            Command::new("which")
                .arg(b)
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .expect("stunnel installed (make setup installs the Debian package stunnel4)");
    let child = Command::new(bin)
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("stunnel starts");
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", accept)).is_err() {
        assert!(Instant::now() < deadline, "stunnel did not open {accept}");
        std::thread::sleep(Duration::from_millis(50));
    }
    Stunnel(child)
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "ckpi-{name}-{}-{}",
        std::process::id(),
        free_port()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn env_with(broker: &Broker, name: &str, properties: &[(&str, String)]) -> Vec<(String, String)> {
    let mut env = test_env(broker, name, &[]);
    for (k, v) in properties {
        env.push((
            format!("CONTACT_KPI__KAFKA__PROPERTIES__{}", k.to_uppercase()),
            v.clone(),
        ));
    }
    env
}

fn client(broker: &Broker, properties: &[(&str, String)]) -> FutureProducer {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", broker.brokers())
        .set("linger.ms", "5");
    for (k, v) in properties {
        c.set(*k, v);
    }
    c.create().expect("producer")
}

/// The service's traffic over the secured connection is exact.
async fn exact_over(broker: &Broker, name: &str, properties: &[(&str, String)]) {
    let config = Config::load_with_env(None, env_with(broker, name, properties)).unwrap();
    let events = simulated(600);
    let expected = naive_expected(&config, &events);
    // The service creates the topics; the records wait for them.
    let service = RunningService::start(config.clone()).await.unwrap();
    let p = client(broker, properties);
    produce_events(&p, &config.raw.topics.input, &events).await;
    let (got, _) = settled(&config, broker, &expected, Duration::from_secs(120)).await;
    assert!(
        got == expected,
        "{name}: exact over the secured connection ({} of {} keys published)",
        got.len(),
        expected.len()
    );
    service.stop().await.unwrap();
}

/// The service with a wrong setting exits non-zero, naming the settings to
/// check, and never prints `secret`.
fn refused(
    broker: &Broker,
    name: &str,
    properties: &[(&str, String)],
    names: &[&str],
    secret: &str,
) {
    let dir = temp_dir(name);
    let log = dir.join("service.log");
    let mut service = ServiceProcess::spawn(&env_with(broker, name, properties), &[], &log);
    let started = Instant::now();
    let status = loop {
        if let Some(s) = service.child.as_mut().unwrap().try_wait().unwrap() {
            break s;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{name}: the service must stop, not retry forever"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    service.child = None;
    assert!(!status.success(), "{name}: exits with an error");
    let text = std::fs::read_to_string(&log).unwrap();
    for n in names {
        assert!(text.contains(n), "{name}: the error names {n}: {text}");
    }
    assert!(
        !text.contains(secret),
        "{name}: the secret is not in the log"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_with_the_right_ca_is_exact_and_a_wrong_ca_is_a_clear_error() {
    let dir = temp_dir("tls");
    let certs = Certs::make(&dir);
    let (plain, tls) = (free_port(), free_port());
    let child = spawn_tansu_with(&dir, plain, tls, MEMORY_STORAGE, &[]);
    let broker = Broker::from_parts(tls, child, dir.clone());
    let _terminator = stunnel(&dir, &certs, tls, plain);

    let ca = certs.ca.to_string_lossy().into_owned();
    let good = [
        ("security.protocol", "ssl".to_string()),
        ("ssl.ca.location", ca),
    ];
    exact_over(&broker, "tls", &good).await;

    let wrong = [
        ("security.protocol", "ssl".to_string()),
        (
            "ssl.ca.location",
            certs.other_ca.to_string_lossy().into_owned(),
        ),
    ];
    refused(
        &broker,
        "tls-wrong-ca",
        &wrong,
        &["ssl.ca.location", "TLS with the brokers failed"],
        "no secret here",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sasl_scram_with_the_right_password_connects_and_a_wrong_one_is_a_clear_error() {
    let dir = temp_dir("sasl");
    let port = free_port();
    // Relative to the broker's working directory, `dir`.
    let storage = "sqlite://broker.db".to_string();
    let password = format!("scram-secret-{}", std::process::id());
    {
        // Users are kept by the broker; created before authentication is on.
        let mut open = spawn_tansu_with(&dir, port, port, &storage, &[]);
        run(Command::new(tansu_bin()).args([
            "user",
            "create",
            "--broker",
            &format!("tcp://127.0.0.1:{port}"),
            "ckpi",
            &password,
        ]));
        let _ = open.kill();
        let _ = open.wait();
    }
    let child = spawn_tansu_with(&dir, port, port, &storage, &["--authentication"]);
    let broker = Broker::from_parts(port, child, dir.clone());

    let with = |secret: &str| {
        vec![
            ("security.protocol", "sasl_plaintext".to_string()),
            ("sasl.mechanism", "SCRAM-SHA-512".to_string()),
            ("sasl.username", "ckpi".to_string()),
            ("sasl.password", secret.to_string()),
        ]
    };
    // One connection authenticates with the right password. (A whole
    // service cannot run on this broker: Tansu 0.6.0 answers `invalid-proof`
    // when several connections authenticate at once; see the README.)
    let config = Config::load_with_env(None, env_with(&broker, "sasl", &with(&password))).unwrap();
    let checked =
        tokio::task::spawn_blocking(move || contact_kpi::pipeline::kafka::check_brokers(&config))
            .await
            .unwrap();
    assert!(
        checked.is_ok(),
        "the right password is accepted: {checked:?}"
    );

    let wrong = format!("wrong-{password}");
    refused(
        &broker,
        "sasl-wrong",
        &with(&wrong),
        &["sasl.password", "refused the credentials"],
        &wrong,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn input_compressed_with_every_codec_is_consumed() {
    let broker = Broker::start();
    let config = test_config(&broker, "codecs", &[]);
    let input = config.raw.topics.input.clone();
    create_topic(&broker.brokers(), &input, 3).await;
    let events = simulated(1_200);
    let expected = naive_expected(&config, &events);
    let codecs = ["gzip", "snappy", "lz4", "zstd"];
    for (codec, chunk) in codecs
        .iter()
        .zip(events.chunks(events.len() / codecs.len()))
    {
        let p = client(&broker, &[("compression.type", codec.to_string())]);
        produce_events(&p, &input, chunk).await;
    }
    let service = RunningService::start(config.clone()).await.unwrap();
    let (got, _) = settled(&config, &broker, &expected, Duration::from_secs(120)).await;
    assert_eq!(got, expected, "every codec's records consumed exactly");
    let dead = read_topic(broker.brokers(), config.raw.topics.dlq.clone(), 1).await;
    assert!(dead.is_empty(), "nothing dead-lettered");
    service.stop().await.unwrap();
}
