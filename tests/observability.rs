//! The Prometheus/Grafana side against the real thing: a Tansu broker, the
//! service binary fed by its own simulator, and a real Prometheus scraping it
//! every second with the shipped rule files. Every recording rule, the
//! condition-free part of every alert and every query of every Grafana
//! dashboard (and its template variables) must return data within a bounded
//! time.
//!
//! Alert expressions are written as `signal <op> threshold [and guard <op> minimum]`.
//! Their condition-free part is the expression Prometheus loaded (from
//! `/api/v1/rules`) with every comparison turned into a `bool` comparison
//! (`x < 0.8` becomes `x < bool 0.8`, which keeps every series and yields 0/1)
//! and `absent(x)` replaced by `(x)`. It returns data exactly when every input
//! series of the alert exists, whatever the thresholds. Whether the alerts
//! fire on the right data is what the `promtool test rules` unit tests in
//! deploy/prometheus/tests check.

mod common;

use common::{create_topic, produce_raw, producer, Broker};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long the expressions may take to return data once Prometheus runs
/// (the 1d rule groups evaluate once a minute).
const DATA_DEADLINE: Duration = Duration::from_secs(300);

/// A child process, killed when dropped.
struct Proc {
    child: Child,
}

impl Proc {
    fn spawn(cmd: &mut Command, log: &Path, what: &str) -> Proc {
        let out = std::fs::File::create(log).expect("log file");
        let err = out.try_clone().expect("log file");
        let child = cmd
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
        Proc { child }
    }

    fn assert_running(&mut self, what: &str, log: &Path) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!("{what} exited ({status}):\n{}", tail(log));
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A temporary directory, removed when dropped.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

/// One HTTP/1.0 exchange (the connection closes after the response).
fn http(addr: SocketAddr, method: &str, path: &str, body: &str) -> Result<(u16, String), String> {
    let mut s =
        TcpStream::connect_timeout(&addr, Duration::from_secs(5)).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .map_err(|e| e.to_string())?;
    let req = format!(
        "{method} {path} HTTP/1.0\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).map_err(|e| e.to_string())?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("no HTTP status in {text:?}"))?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((status, body))
}

fn url_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// An instant query; the result vector, or the error Prometheus gave.
fn query(prom: SocketAddr, expr: &str) -> Result<Vec<Value>, String> {
    let (status, body) = http(
        prom,
        "POST",
        "/api/v1/query",
        &format!("query={}", url_encode(expr)),
    )?;
    let v: Value = serde_json::from_str(&body).map_err(|e| format!("{e}: {body}"))?;
    if status != 200 || v["status"] != "success" {
        return Err(format!("HTTP {status}: {}", v["error"]));
    }
    match &v["data"]["result"] {
        Value::Array(a) => Ok(a.clone()),
        // Scalar results ([ts, "value"]) count as one sample.
        other => Ok(vec![serde_json::json!({"metric": {}, "value": other})]),
    }
}

/// Data = at least one sample whose value is a number (not NaN).
fn has_data(result: &[Value]) -> bool {
    result
        .iter()
        .any(|s| s["value"][1].as_str().is_some_and(|v| v != "NaN"))
}

/// The condition-free part of an alert expression: every comparison outside
/// label matchers and strings becomes a `bool` comparison, `absent(x)` becomes `(x)`.
fn relax(expr: &str) -> String {
    let chars: Vec<char> = expr.chars().collect();
    let mut out = String::new();
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if let Some(q) = quote {
            out.push(c);
            if c == '\\' && i + 1 < chars.len() {
                out.push(chars[i + 1]);
                i += 2;
                continue;
            }
            if c == q {
                quote = None;
            }
            i += 1;
            continue;
        }
        match c {
            '"' | '\'' | '`' => quote = Some(c),
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        if depth == 0 {
            let next = chars.get(i + 1).copied();
            let op_len = match (c, next) {
                ('=', Some('=')) | ('!', Some('=')) | ('<', Some('=')) | ('>', Some('=')) => 2,
                ('<', _) | ('>', _) => 1,
                _ => 0,
            };
            if op_len > 0 {
                out.extend(&chars[i..i + op_len]);
                i += op_len;
                let rest: String = chars[i..].iter().collect();
                if !rest.trim_start().starts_with("bool") {
                    out.push_str(" bool");
                }
                continue;
            }
        }
        out.push(c);
        i += 1;
    }
    let mut relaxed = String::new();
    let mut rest = out.as_str();
    while let Some(pos) = rest.find("absent(") {
        let word_start = pos == 0
            || !rest[..pos]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':');
        relaxed.push_str(&rest[..pos]);
        if word_start {
            relaxed.push('(');
        } else {
            relaxed.push_str("absent(");
        }
        rest = &rest[pos + "absent(".len()..];
    }
    relaxed.push_str(rest);
    relaxed
}

/// Replaces Grafana variables (`$name`, `${name}`), longest names first.
fn substitute(expr: &str, vars: &BTreeMap<String, String>) -> String {
    let mut names: Vec<&String> = vars.keys().collect();
    names.sort_by_key(|n| std::cmp::Reverse(n.len()));
    let mut e = expr.to_string();
    for n in names {
        e = e.replace(&format!("${{{n}}}"), &vars[n]);
        e = e.replace(&format!("${n}"), &vars[n]);
    }
    e
}

/// `label_values(<selector>, <label>)` of a Grafana query variable.
fn label_values(def: &str) -> Option<(String, String)> {
    let inner = def
        .trim()
        .strip_prefix("label_values(")?
        .strip_suffix(')')?;
    let (sel, label) = inner.rsplit_once(',')?;
    Some((sel.trim().to_string(), label.trim().to_string()))
}

fn collect_targets(panels: &[Value], out: &mut Vec<(String, String)>) {
    for p in panels {
        let title = p["title"].as_str().unwrap_or("?").to_string();
        if let Some(targets) = p["targets"].as_array() {
            for t in targets {
                if let Some(expr) = t["expr"].as_str() {
                    out.push((title.clone(), expr.to_string()));
                }
            }
        }
        if let Some(inner) = p["panels"].as_array() {
            collect_targets(inner, out);
        }
    }
}

/// What must return data: (what, expression).
fn dashboard_expressions(dir: &Path, agent: &str) -> Vec<(String, String)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("dashboards directory")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 4,
        "expected 4 dashboards in {}",
        dir.display()
    );
    let mut out = Vec::new();
    for f in files {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        let d: Value = serde_json::from_str(&std::fs::read_to_string(&f).unwrap())
            .unwrap_or_else(|e| panic!("{name} is not valid JSON: {e}"));
        assert_eq!(
            d["schemaVersion"].as_i64().map(|v| v >= 36),
            Some(true),
            "{name}: schemaVersion"
        );
        assert!(
            d["uid"].as_str().is_some_and(|u| !u.is_empty()),
            "{name}: uid"
        );
        let mut vars: BTreeMap<String, String> = [
            ("__rate_interval", "1m"),
            ("__interval", "15s"),
            ("__range", "1h"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        for v in d["templating"]["list"]
            .as_array()
            .cloned()
            .unwrap_or_default()
        {
            let vname = v["name"].as_str().unwrap().to_string();
            match v["type"].as_str() {
                Some("query") => {
                    let def = v["definition"].as_str().unwrap_or_default();
                    let (sel, label) = label_values(def).unwrap_or_else(|| {
                        panic!("{name}: variable {vname}: unsupported query {def:?}")
                    });
                    out.push((
                        format!("{name} variable ${vname}"),
                        format!("count by ({label}) ({sel})"),
                    ));
                    let value = if vname == "agent" {
                        agent.to_string()
                    } else {
                        assert_eq!(v["includeAll"], true, "{name}: ${vname} needs an All value");
                        v["allValue"].as_str().unwrap_or(".*").to_string()
                    };
                    vars.insert(vname, value);
                }
                Some("custom") => {
                    let value = v["current"]["value"].as_str().unwrap().to_string();
                    vars.insert(vname, value);
                }
                other => panic!("{name}: variable {vname} of unsupported type {other:?}"),
            }
        }
        let mut targets = Vec::new();
        collect_targets(d["panels"].as_array().unwrap(), &mut targets);
        for (title, expr) in targets {
            let e = substitute(&expr, &vars);
            assert!(
                !e.contains('$'),
                "{name} / {title}: unknown variable in {e}"
            );
            out.push((format!("{name} / {title}"), e));
        }
    }
    out
}

/// Recording rules (their recorded series) and relaxed alert expressions.
fn rule_expressions(rules: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for g in rules["data"]["groups"].as_array().unwrap() {
        for r in g["rules"].as_array().unwrap() {
            let name = r["name"].as_str().unwrap();
            match r["type"].as_str() {
                Some("recording") => out.push((format!("recording rule {name}"), name.to_string())),
                Some("alerting") => out.push((
                    format!("alert {name} (condition-free)"),
                    relax(r["query"].as_str().unwrap()),
                )),
                other => panic!("unknown rule type {other:?}"),
            }
        }
    }
    out
}

#[test]
fn relax_keeps_matchers_and_strings() {
    assert_eq!(
        relax(r#"a{x!="1",y=~"<2"} < 0.8 and b >= 20 and c == bool 1"#),
        r#"a{x!="1",y=~"<2"} < bool 0.8 and b >= bool 20 and c == bool 1"#
    );
    assert_eq!(relax(r#"absent(up{job="x"})"#), r#"(up{job="x"})"#);
    assert_eq!(relax("not_absent(x) > 1"), "not_absent(x) > bool 1");
    assert_eq!(
        label_values("label_values(m{a=\"b\"}, agent)"),
        Some(("m{a=\"b\"}".into(), "agent".into()))
    );
}

#[test]
fn every_dashboard_and_rule_expression_returns_data() {
    let started = Instant::now();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let prometheus_bin =
        std::env::var("PROMETHEUS_BIN").unwrap_or_else(|_| "/usr/bin/prometheus".into());
    assert!(
        Path::new(&prometheus_bin).exists(),
        "prometheus not found at {prometheus_bin} (Debian package `prometheus`, or set PROMETHEUS_BIN)"
    );
    let tmp = TempDir(std::env::temp_dir().join(format!(
        "ckpi-observability-{}-{}",
        std::process::id(),
        free_port()
    )));
    std::fs::create_dir_all(&tmp.0).unwrap();
    let broker = Broker::start();
    let brokers = broker.brokers();
    let unique = format!("obs-{}", std::process::id());
    let input = format!("in-{unique}");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(create_topic(&brokers, &input, 3));

    let env: Vec<(String, String)> = vec![
        ("CONTACT_KPI__KAFKA__BROKERS".into(), brokers.clone()),
        ("CONTACT_KPI__KAFKA__GROUP_ID".into(), format!("g-{unique}")),
        ("CONTACT_KPI__KAFKA__TOPIC_PARTITIONS".into(), "3".into()),
        ("CONTACT_KPI__TOPICS__INPUT".into(), input.clone()),
        (
            "CONTACT_KPI__TOPICS__AGGREGATES".into(),
            format!("agg-{unique}"),
        ),
        (
            "CONTACT_KPI__TOPICS__ALERTS".into(),
            format!("alerts-{unique}"),
        ),
        ("CONTACT_KPI__TOPICS__DLQ".into(), format!("dlq-{unique}")),
        (
            "CONTACT_KPI__TOPICS__INTERNAL_PREFIX".into(),
            format!("ckpi-{unique}"),
        ),
    ];
    let bin = env!("CARGO_BIN_EXE_contact-kpi");

    // The service, HTTP on a free loopback port.
    let service_port = free_port();
    let service_addr: SocketAddr = ([127, 0, 0, 1], service_port).into();
    let service_log = tmp.0.join("service.log");
    let mut service = Proc::spawn(
        Command::new(bin)
            .arg("serve")
            .envs(env.iter().cloned())
            .env("CONTACT_KPI__HTTP__LISTEN", service_addr.to_string())
            .env("CONTACT_KPI__PIPELINE__STATE_DIR", tmp.0.join("state"))
            // The non-transactional mode, which `make run` uses too (the
            // other broker tests run the production default, transactions).
            .env("CONTACT_KPI__PIPELINE__TRANSACTIONS", "false")
            .env(
                "CONTACT_KPI__KAFKA__PROPERTIES__MAX.POLL.INTERVAL.MS",
                "10000",
            )
            .env("CONTACT_KPI__KAFKA__PROPERTIES__SESSION.TIMEOUT.MS", "6000")
            .env(
                "CONTACT_KPI__KAFKA__PROPERTIES__HEARTBEAT.INTERVAL.MS",
                "1000",
            )
            .env("RUST_LOG", "warn"),
        &service_log,
        "the service",
    );

    // Its traffic: ten simulated minutes per second, a 25-agent center.
    let sim_log = tmp.0.join("simulate.log");
    let mut sim = Proc::spawn(
        Command::new(bin)
            .args([
                "simulate",
                "--rate",
                "400",
                "--speedup",
                "600",
                "--agents",
                "25",
            ])
            .envs(env.iter().cloned()),
        &sim_log,
        "the simulator",
    );

    // Bad records for the dead-letter panels and alert.
    rt.block_on(async {
        let p = producer(&brokers);
        produce_raw(&p, &input, "bad-1", b"{not json", Some("application/json")).await;
        produce_raw(&p, &input, "bad-2", b"", None).await;
    });

    // Wait until the service exposes KPI series.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        service.assert_running("the service", &service_log);
        sim.assert_running("the simulator", &sim_log);
        if let Ok((200, body)) = http(service_addr, "GET", "/metrics", "") {
            if body.contains("contact_kpi_handled_total{")
                && body.contains("contact_kpi_dlq_records_total{")
            {
                break;
            }
        }
        assert!(
            Instant::now() < deadline,
            "the service exposed no KPI series within 120 s:\n{}",
            tail(&service_log)
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    eprintln!("service has KPI series after {:?}", started.elapsed());

    // Prometheus: scrape every second, the shipped rule files, evaluation every second.
    let prom_port = free_port();
    let prom_addr: SocketAddr = ([127, 0, 0, 1], prom_port).into();
    let rules_dir = root.join("deploy/prometheus/rules");
    let mut rule_files: Vec<PathBuf> = std::fs::read_dir(&rules_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yml"))
        .collect();
    rule_files.sort();
    assert_eq!(rule_files.len(), 2, "rule files in {}", rules_dir.display());
    let config = format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n{}scrape_configs:\n  - job_name: contact-kpi\n    static_configs:\n      - targets: [\"{service_addr}\"]\n",
        rule_files
            .iter()
            .map(|p| format!("  - \"{}\"\n", p.display()))
            .collect::<String>()
    );
    let config_file = tmp.0.join("prometheus.yml");
    std::fs::write(&config_file, config).unwrap();
    let prom_log = tmp.0.join("prometheus.log");
    let mut prom = Proc::spawn(
        Command::new(&prometheus_bin)
            .arg(format!("--config.file={}", config_file.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                tmp.0.join("tsdb").display()
            ))
            .arg(format!("--web.listen-address={prom_addr}"))
            .arg("--log.level=warn"),
        &prom_log,
        "prometheus",
    );
    let prom_started = Instant::now();
    let deadline = prom_started + Duration::from_secs(30);
    while !matches!(http(prom_addr, "GET", "/-/ready", ""), Ok((200, _))) {
        prom.assert_running("prometheus", &prom_log);
        assert!(
            Instant::now() < deadline,
            "prometheus not ready:\n{}",
            tail(&prom_log)
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    // The dashboards' agent: the busiest real agent.
    let agent = loop {
        let r = query(
            prom_addr,
            r#"sort_desc(sum by (agent) (contact_kpi_handled_total{agent!~"_.*"}))"#,
        )
        .unwrap();
        if let Some(a) = r.first().and_then(|s| s["metric"]["agent"].as_str()) {
            break a.to_string();
        }
        assert!(
            prom_started.elapsed() < Duration::from_secs(30),
            "no agent in Prometheus"
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    eprintln!("dashboards use agent {agent}");

    let dashboards = dashboard_expressions(&root.join("deploy/grafana/dashboards"), &agent);
    let mut pending: BTreeMap<String, String> = BTreeMap::new();
    let mut errors: BTreeMap<String, String> = BTreeMap::new();
    let mut passed: BTreeMap<String, Duration> = BTreeMap::new();
    let mut rules_seen = false;
    let (mut n_rules, mut n_alerts) = (0, 0);
    for (what, expr) in &dashboards {
        pending.insert(what.clone() + " :: " + expr, expr.clone());
    }
    loop {
        prom.assert_running("prometheus", &prom_log);
        service.assert_running("the service", &service_log);
        sim.assert_running("the simulator", &sim_log);
        if !rules_seen {
            if let Ok((200, body)) = http(prom_addr, "GET", "/api/v1/rules", "") {
                let rules: Value = serde_json::from_str(&body).unwrap();
                let exprs = rule_expressions(&rules);
                if !exprs.is_empty() {
                    n_rules = exprs
                        .iter()
                        .filter(|(w, _)| w.starts_with("recording"))
                        .count();
                    n_alerts = exprs.len() - n_rules;
                    for (what, expr) in exprs {
                        pending.insert(what + " :: " + &expr, expr);
                    }
                    rules_seen = true;
                }
            }
        }
        let keys: Vec<String> = pending.keys().cloned().collect();
        for k in keys {
            match query(prom_addr, &pending[&k]) {
                Ok(r) if has_data(&r) => {
                    pending.remove(&k);
                    errors.remove(&k);
                    passed.insert(k, prom_started.elapsed());
                }
                Ok(_) => {}
                Err(e) => {
                    errors.insert(k, e);
                }
            }
        }
        if rules_seen && pending.is_empty() {
            break;
        }
        if prom_started.elapsed() > DATA_DEADLINE {
            break;
        }
        std::thread::sleep(Duration::from_secs(2));
    }
    let last_rules: Value = match http(prom_addr, "GET", "/api/v1/rules", "") {
        Ok((200, body)) => serde_json::from_str(&body).unwrap(),
        _ => Value::Null,
    };
    let mut unhealthy = Vec::new();
    for g in last_rules["data"]["groups"]
        .as_array()
        .cloned()
        .unwrap_or_default()
    {
        for r in g["rules"].as_array().cloned().unwrap_or_default() {
            if r["health"] == "err" {
                unhealthy.push(format!("{}: {}", r["name"], r["lastError"]));
            }
        }
    }
    let n_dash = dashboards.len();
    eprintln!(
        "{} of {} expressions returned data ({n_rules} recording rules, {n_alerts} alerts, {n_dash} dashboard queries and variables) {:?} after Prometheus started; test took {:?}",
        passed.len(),
        passed.len() + pending.len(),
        prom_started.elapsed(),
        started.elapsed()
    );
    let mut slowest: Vec<(&String, &Duration)> = passed.iter().collect();
    slowest.sort_by_key(|(_, t)| std::cmp::Reverse(**t));
    for (k, t) in slowest.iter().take(5) {
        eprintln!("  data after {t:?}: {k}");
    }
    if !pending.is_empty() || !rules_seen || !unhealthy.is_empty() {
        let mut msg = String::new();
        if !rules_seen {
            msg.push_str("Prometheus never listed its rules\n");
        }
        for u in &unhealthy {
            msg.push_str(&format!("rule failing: {u}\n"));
        }
        for k in pending.keys() {
            let err = errors
                .get(k)
                .map(|e| format!("  [error: {e}]"))
                .unwrap_or_default();
            msg.push_str(&format!("no data: {k}{err}\n"));
        }
        panic!(
            "{msg}\n--- service log ---\n{}\n--- prometheus log ---\n{}",
            tail(&service_log),
            tail(&prom_log)
        );
    }
    // Stop in reverse order of start (Drop): Prometheus, simulator, service, broker.
    drop(prom);
    drop(sim);
    drop(service);
    drop(broker);
}
