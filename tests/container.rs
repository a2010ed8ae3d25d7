//! The container contract, without a container engine (none on these
//! machines): the binary runs as `deploy/Dockerfile`'s final stage would
//! run it — as its non-root user id, from a read-only working directory,
//! with only the environment the image sets plus what an operator passes
//! (the brokers, topic names, a secret as a `_FILE`) — and must serve,
//! answer its own health check, publish aggregates, write only to the
//! declared volume, keep the secret out of its log and `/metrics`, and stop
//! cleanly on SIGTERM. The settings the test reads from the Dockerfile are
//! the Dockerfile's own, so changing one there changes what is tested.

mod common;

use common::*;
use rdkafka::Message;
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// What the final stage of a Dockerfile sets.
#[derive(Debug, Default)]
struct Image {
    env: BTreeMap<String, String>,
    user: String,
    volumes: Vec<String>,
    workdir: String,
    healthcheck: Vec<String>,
    entrypoint: Vec<String>,
    cmd: Vec<String>,
}

fn json_array(s: &str) -> Vec<String> {
    serde_json::from_str(s.trim()).expect("exec form (a JSON array)")
}

fn final_stage(dockerfile: &str) -> Image {
    // Join continuation lines, drop comments.
    let mut lines = Vec::new();
    let mut current = String::new();
    for line in dockerfile.lines() {
        let t = line.trim();
        if t.starts_with('#') || t.is_empty() {
            continue;
        }
        if let Some(head) = t.strip_suffix('\\') {
            current.push_str(head);
            current.push(' ');
        } else {
            current.push_str(t);
            lines.push(std::mem::take(&mut current));
        }
    }
    let mut image = Image::default();
    for line in lines {
        let (instruction, rest) = line.split_once(' ').unwrap_or((&line, ""));
        match instruction {
            "FROM" => image = Image::default(),
            "ENV" => {
                let (k, v) = rest.split_once('=').expect("ENV key=value");
                image.env.insert(k.trim().into(), v.trim().into());
            }
            "USER" => image.user = rest.trim().into(),
            "VOLUME" => image.volumes = json_array(rest),
            "WORKDIR" => image.workdir = rest.trim().into(),
            "ENTRYPOINT" => image.entrypoint = json_array(rest),
            "CMD" => image.cmd = json_array(rest),
            "HEALTHCHECK" => {
                let (_, cmd) = rest.split_once("CMD").expect("HEALTHCHECK CMD");
                image.healthcheck = json_array(cmd);
            }
            _ => {}
        }
    }
    image
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
}

/// `program args` as the image's user (when this test runs as root, which
/// the CI machines do; otherwise as the current user).
fn as_image_user(uid: &str, program: &Path, args: &[String]) -> Command {
    if is_root() {
        let mut c = Command::new("setpriv");
        c.args([
            format!("--reuid={uid}"),
            format!("--regid={uid}"),
            "--clear-groups".into(),
        ])
        .arg(program)
        .args(args);
        c
    } else {
        let mut c = Command::new(program);
        c.args(args);
        c
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_runs_as_the_image_runs_it() {
    let dockerfile = std::fs::read_to_string("deploy/Dockerfile").unwrap();
    let image = final_stage(&dockerfile);
    let (uid, gid) = image.user.split_once(':').expect("USER uid:gid");
    assert!(uid.parse::<u32>().unwrap() > 0, "a non-root user id");
    assert_eq!(uid, gid);
    let state_dir = image.env["CONTACT_KPI__PIPELINE__STATE_DIR"].clone();
    assert_eq!(image.volumes, [state_dir], "the state dir is the volume");
    assert_eq!(image.workdir, "/");
    assert_eq!(image.cmd, ["serve"]);
    let binary_path = image.entrypoint[0].clone();
    assert_eq!(
        image.healthcheck,
        [binary_path.clone(), "healthcheck".into()]
    );

    // The image's filesystem, stood in for by temporary directories: the
    // binary (as installed by the image), a read-only working directory,
    // the volume owned by the image's user, a mounted secret.
    let root = std::env::temp_dir().join(format!("ckpi-image-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let (bin, workdir, volume) = (root.join("bin"), root.join("ro"), root.join("volume"));
    for d in [&bin, &workdir, &volume] {
        std::fs::create_dir_all(d).unwrap();
    }
    std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o755)).unwrap();
    let binary = bin.join("contact-kpi");
    std::fs::copy(env!("CARGO_BIN_EXE_contact-kpi"), &binary).unwrap();
    std::fs::set_permissions(&binary, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&workdir, std::fs::Permissions::from_mode(0o555)).unwrap();
    let secret = format!("sasl-canary-{}", std::process::id());
    let secret_file = root.join("sasl-password");
    std::fs::write(&secret_file, format!("{secret}\n")).unwrap();
    if is_root() {
        let owner = format!("{uid}:{gid}");
        for p in [&volume, &secret_file] {
            assert!(Command::new("chown")
                .args([&owner, p.to_str().unwrap()])
                .status()
                .unwrap()
                .success());
        }
        std::fs::set_permissions(&secret_file, std::fs::Permissions::from_mode(0o400)).unwrap();
    }

    // Only the image's environment, with the volume and the port mapped
    // here, plus what an operator passes: the brokers, this test's topics
    // and group, the test settings (transactions as in production, group
    // timings), JSON output to read the aggregates, a secret as a file.
    let broker = Broker::start();
    let config = test_config(&broker, "image", &[]);
    let port = free_port();
    let mut env: BTreeMap<String, String> = image.env.clone();
    env.insert(
        "CONTACT_KPI__PIPELINE__STATE_DIR".into(),
        volume.to_string_lossy().into_owned(),
    );
    // Loopback here (tests bind nothing wider); the image listens on all.
    env.insert(
        "CONTACT_KPI__HTTP__LISTEN".into(),
        format!("127.0.0.1:{port}"),
    );
    for (k, v) in test_env(&broker, "image", &[]) {
        let operator = k.starts_with("CONTACT_KPI__KAFKA__")
            || k.starts_with("CONTACT_KPI__TOPICS__")
            || k == "CONTACT_KPI__PIPELINE__TRANSACTIONS"
            || k == "CONTACT_KPI__OUTPUT__FORMAT";
        if operator {
            env.insert(k, v);
        }
    }
    // The same topics and group as `config` (test_env made new names).
    env.insert(
        "CONTACT_KPI__KAFKA__GROUP_ID".into(),
        config.raw.kafka.group_id.clone(),
    );
    for (k, v) in [
        ("INPUT", &config.raw.topics.input),
        ("AGGREGATES", &config.raw.topics.aggregates),
        ("ALERTS", &config.raw.topics.alerts),
        ("DLQ", &config.raw.topics.dlq),
        ("INTERNAL_PREFIX", &config.raw.topics.internal_prefix),
    ] {
        env.insert(format!("CONTACT_KPI__TOPICS__{k}"), v.clone());
    }
    env.insert(
        "CONTACT_KPI__KAFKA__PROPERTIES__SASL.PASSWORD_FILE".into(),
        secret_file.to_string_lossy().into_owned(),
    );

    let log_path = root.join("service.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let run = |args: &[String]| {
        let mut c = as_image_user(uid, &binary, args);
        c.current_dir(&workdir).env_clear().envs(&env);
        c
    };
    let mut service = run(&image.cmd)
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("the service starts");

    let input = config.raw.topics.input.clone();
    create_topic(&broker.brokers(), &input, 3).await;
    let events: Vec<_> = simulated(400);
    produce_events(&producer(&broker.brokers()), &input, &events).await;

    let healthy = |path: &str| {
        run(&["healthcheck".into(), "--path".into(), path.into()])
            .output()
            .unwrap()
            .status
            .success()
    };
    assert!(
        wait_until(Duration::from_secs(30), || healthy("/healthz")).await,
        "the image's health check passes"
    );
    assert!(
        wait_until(Duration::from_secs(120), || healthy("/readyz")).await,
        "ready"
    );
    assert!(!healthy("/no-such-path"), "the health check can fail");
    if is_root() {
        let status = std::fs::read_to_string(format!("/proc/{}/status", service.id())).unwrap();
        let real_uid = status
            .lines()
            .find(|l| l.starts_with("Uid:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .unwrap()
            .to_string();
        assert_eq!(real_uid, uid, "the service runs as the image's user");
    }

    let expected = naive_expected(&config, &events);
    let (got, _) = settled(&config, &broker, &expected, Duration::from_secs(120)).await;
    assert_eq!(got, expected, "aggregates published as usual");

    let metrics = http_get(format!("127.0.0.1:{port}").parse().unwrap(), "/metrics").await;
    assert_eq!(metrics.0, 200);
    assert!(
        !metrics.1.contains(&secret),
        "the secret is not on /metrics"
    );

    Command::new("kill")
        .args(["-TERM", &service.id().to_string()])
        .status()
        .unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(s) = service.try_wait().unwrap() {
            break s;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "stops on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "clean exit on SIGTERM: {status}");

    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(
        log.contains("stage started"),
        "the log is the service's: {log}"
    );
    assert!(!log.contains(&secret), "the secret is not in the log");
    assert!(
        volume.join("instance-id").exists(),
        "the instance id is on the volume"
    );
    assert_eq!(
        std::fs::read_dir(&workdir).unwrap().count(),
        0,
        "nothing written to the working directory"
    );
    // The aggregates topic is read by `settled`; one record suffices here
    // to show the output is the operator's topic.
    let published = read_topic(broker.brokers(), config.raw.topics.aggregates.clone(), 3).await;
    assert!(published.iter().all(|m| m.payload().is_some()));
    let _ = std::fs::remove_dir_all(&root);
}
