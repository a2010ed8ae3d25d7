//! Typed configuration: defaults in `config/default.toml` (compiled in),
//! overridden by an optional `--config` file and by `CONTACT_KPI__…`
//! environment variables, then validated with errors that name the key.

use crate::adapters::{mapping::Mapping, AdapterSettings, Dispositions, InputFormat};
use crate::kpi::alerts::{AlertSettings, ALERT_KPIS};
use crate::model::{Channel, Disposition, PayloadFormat};
use chrono_tz::Tz;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;
use thiserror::Error;

const DEFAULTS: &str = include_str!("../config/default.toml");

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("cannot load configuration: {0}")]
    Load(#[from] config::ConfigError),
    #[error("invalid `{key}`: {message}")]
    Invalid { key: String, message: String },
}

/// `CONTACT_KPI__…_FILE=/path` sets the setting named without `_FILE` to
/// the file's content (one trailing newline removed): how container
/// platforms hand over secrets such as `kafka.properties."sasl.password"`
/// without putting them in the environment. Errors name the variable and
/// the path, never the content.
fn secrets_from_files(
    env: std::collections::HashMap<String, String>,
) -> Result<std::collections::HashMap<String, String>, ConfigError> {
    let mut out = std::collections::HashMap::new();
    for (key, value) in &env {
        let Some(target) = key.strip_suffix("_FILE") else {
            out.entry(key.clone()).or_insert_with(|| value.clone());
            continue;
        };
        if env.contains_key(target) {
            return Err(invalid(
                key,
                format!("both {target} and {key} are set; set one"),
            ));
        }
        let content = std::fs::read_to_string(value)
            .map_err(|e| invalid(key, format!("cannot read the file `{value}`: {e}")))?;
        let content = content
            .strip_suffix('\n')
            .map(|c| c.strip_suffix('\r').unwrap_or(c))
            .unwrap_or(&content);
        out.insert(target.to_string(), content.to_string());
    }
    Ok(out)
}

fn invalid(key: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: key.into(),
        message: message.into(),
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    pub windows: Vec<String>,
    pub timezone: String,
    pub kafka: KafkaConfig,
    pub topics: TopicsConfig,
    pub input: InputConfig,
    pub adapters: AdaptersConfig,
    pub output: OutputConfig,
    pub http: HttpConfig,
    pub service_level: ChannelDurations,
    pub contacts: ContactsConfig,
    pub resolution: ResolutionConfig,
    pub windows_state: WindowsStateConfig,
    pub empathy: EmpathyConfig,
    pub metrics: MetricsConfig,
    pub pipeline: PipelineConfig,
    pub alerts: AlertsConfig,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaConfig {
    pub brokers: String,
    pub group_id: String,
    pub create_topics: bool,
    pub topic_partitions: i32,
    pub replication_factor: i32,
    #[serde(default)]
    pub properties: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopicsConfig {
    pub input: String,
    pub aggregates: String,
    pub alerts: String,
    pub dlq: String,
    pub internal_prefix: String,
    #[serde(default)]
    pub inputs: Vec<InputEntry>,
}

/// One entry of `topics.inputs`: a table, or `"topic:format[:mapping file]"`
/// (the form an environment variable can carry).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum InputEntry {
    Table {
        topic: String,
        format: String,
        #[serde(default)]
        mapping: Option<String>,
    },
    Short(String),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdaptersConfig {
    pub unmapped_disposition: String,
    #[serde(default)]
    pub dispositions: BTreeMap<String, String>,
}

/// A validated input topic and how to read it.
#[derive(Debug, Clone)]
pub struct InputSpec {
    pub topic: String,
    pub format: InputFormat,
    pub settings: AdapterSettings,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputConfig {
    pub format: PayloadFormat,
    pub max_record_bytes: usize,
    /// How far an event's time may be ahead of its record's timestamp.
    pub max_ahead_of_record_time: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputFormat {
    Protobuf,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputConfig {
    pub format: OutputFormat,
    pub emit_interval: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    pub listen: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelDurations {
    pub voice: String,
    pub chat: String,
    pub email: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContactsConfig {
    pub idle_timeout_voice: String,
    pub idle_timeout_chat: String,
    pub idle_timeout_email: String,
    pub finished_retention: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResolutionConfig {
    pub repeat_period: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowsStateConfig {
    pub allowed_lateness: String,
    pub retention: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmpathyConfig {
    pub lexicon_dir: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig {
    pub per_agent: bool,
    pub max_agents: usize,
    /// An agent without facts for this long gives its label to a new agent
    /// when all `max_agents` labels are taken.
    pub agent_label_idle: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertsConfig {
    pub enabled: bool,
    pub kpis: Vec<String>,
    pub min_volume: u64,
    pub min_baseline_volume: u64,
    pub min_effect: f64,
    pub false_alarm_rate: f64,
    pub baseline: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineConfig {
    pub transactions: bool,
    pub commit_interval: String,
    pub commit_max_records: usize,
    pub transaction_timeout: String,
    pub instance_id: String,
    pub state_dir: String,
    pub stages: Vec<String>,
}

/// The three pipeline stages (`pipeline.stages`, `serve --stages`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StageName {
    Assemble,
    Repeats,
    Aggregate,
}

impl StageName {
    pub const ALL: [StageName; 3] = [
        StageName::Assemble,
        StageName::Repeats,
        StageName::Aggregate,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            StageName::Assemble => "assemble",
            StageName::Repeats => "repeats",
            StageName::Aggregate => "aggregate",
        }
    }

    pub fn parse(s: &str) -> Option<StageName> {
        Self::ALL.into_iter().find(|n| n.as_str() == s.trim())
    }
}

/// Per-channel values (thresholds, timeouts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PerChannel<T> {
    pub voice: T,
    pub chat: T,
    pub email: T,
}

impl<T: Copy> PerChannel<T> {
    pub fn get(&self, channel: Channel) -> T {
        match channel {
            Channel::Voice => self.voice,
            Channel::Chat => self.chat,
            Channel::Email => self.email,
        }
    }
}

/// A tumbling window size: fixed length, or whole local calendar days.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct WindowSpec {
    /// As configured and as it appears in keys: "1h", "1d", "15m".
    pub name: String,
    pub kind: WindowKind,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum WindowKind {
    /// Fixed length in milliseconds, aligned to local midnight of the zone.
    Fixed(i64),
    /// N local calendar days.
    Days(u32),
}

/// Settings of the pure KPI engine.
#[derive(Debug, Clone)]
pub struct EngineSettings {
    pub windows: Vec<WindowSpec>,
    pub timezone: Tz,
    pub service_level: PerChannel<Duration>,
    pub idle_timeout: PerChannel<Duration>,
    pub finished_retention: Duration,
    pub repeat_period: Duration,
    pub allowed_lateness: Duration,
    pub window_retention: Duration,
    /// Key for the keyed hash that names customers across topics and state.
    pub customer_key: Vec<u8>,
    pub alerts: AlertSettings,
}

/// Longest duration any setting takes.
const MAX_DURATION: Duration = Duration::from_secs(3650 * 24 * 3600);

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub raw: RawConfig,
    pub engine: EngineSettings,
    pub http_listen: SocketAddr,
    pub emit_interval: Duration,
    /// Transaction batching of stages 1 and 2 (stage 3 commits every `emit_interval`).
    pub commit_interval: Duration,
    /// `input.max_ahead_of_record_time`.
    pub max_ahead_of_record_time: Duration,
    /// `metrics.agent_label_idle`.
    pub agent_label_idle: Duration,
    pub transaction_timeout: Duration,
    /// The stages this instance runs.
    pub stages: Vec<StageName>,
    /// librdkafka properties from `kafka.properties`, flattened to dotted names.
    pub kafka_properties: BTreeMap<String, String>,
    /// `topics.inputs`: the topics forwarded (keyed by contact) to
    /// `topics.input`, each with its format. Never contains `topics.input`.
    pub inputs: Vec<InputSpec>,
    /// How forwarded records are read (dispositions).
    pub adapter_settings: AdapterSettings,
    /// The default format of `topics.input` records without a `content-type`
    /// header: `input.format`, or what `topics.inputs` says of that topic.
    pub input_format: PayloadFormat,
}

impl Config {
    /// Defaults, then `file`, then the environment.
    pub fn load(file: Option<&Path>) -> Result<Config, ConfigError> {
        Self::load_with_env(file, std::env::vars())
    }

    /// As [`Config::load`], with the environment given (for tests).
    pub fn load_with_env(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let mut builder = config::Config::builder()
            .add_source(config::File::from_str(DEFAULTS, config::FileFormat::Toml));
        if let Some(path) = file {
            builder = builder.add_source(config::File::from(path).required(true));
        }
        let env = secrets_from_files(
            env.into_iter()
                .filter(|(k, _)| k.starts_with("CONTACT_KPI__"))
                .collect(),
        )?;
        builder = builder.add_source(
            config::Environment::with_prefix("CONTACT_KPI")
                .prefix_separator("__")
                .separator("__")
                .list_separator(",")
                .with_list_parse_key("windows")
                .with_list_parse_key("alerts.kpis")
                .with_list_parse_key("pipeline.stages")
                .with_list_parse_key("topics.inputs")
                .try_parsing(true)
                .source(Some(env)),
        );
        let raw: RawConfig = builder.build()?.try_deserialize()?;
        Self::validate(raw)
    }

    /// The same configuration running only `stages` (`serve --stages`).
    pub fn with_stages(mut self, stages: Vec<String>) -> Result<Config, ConfigError> {
        self.raw.pipeline.stages = stages;
        Self::validate(self.raw)
    }

    fn validate(raw: RawConfig) -> Result<Config, ConfigError> {
        let timezone: Tz = raw.timezone.parse().map_err(|_| {
            invalid(
                "timezone",
                format!("`{}` is not an IANA time zone", raw.timezone),
            )
        })?;
        if raw.windows.is_empty() {
            return Err(invalid("windows", "at least one window size is needed"));
        }
        let mut windows = Vec::new();
        for w in &raw.windows {
            let spec = parse_window(w).map_err(|m| invalid("windows", m))?;
            if windows.iter().any(|x: &WindowSpec| x.name == spec.name) {
                return Err(invalid("windows", format!("`{w}` is listed twice")));
            }
            windows.push(spec);
        }
        let bounded = |key: &str, v: &str| -> Result<Duration, ConfigError> {
            let d = parse_duration(v).map_err(|m| invalid(key, m))?;
            // Event-time arithmetic (chrono) overflows long before u64
            // seconds do: no setting needs more than ten years.
            if d > MAX_DURATION {
                return Err(invalid(key, "must be at most 3650d"));
            }
            Ok(d)
        };
        let dur = |key: &str, v: &str| -> Result<Duration, ConfigError> {
            let d = bounded(key, v)?;
            if d.is_zero() {
                return Err(invalid(key, "must be greater than zero"));
            }
            Ok(d)
        };
        let service_level = PerChannel {
            voice: dur("service_level.voice", &raw.service_level.voice)?,
            chat: dur("service_level.chat", &raw.service_level.chat)?,
            email: dur("service_level.email", &raw.service_level.email)?,
        };
        let idle_timeout = PerChannel {
            voice: dur(
                "contacts.idle_timeout_voice",
                &raw.contacts.idle_timeout_voice,
            )?,
            chat: dur(
                "contacts.idle_timeout_chat",
                &raw.contacts.idle_timeout_chat,
            )?,
            email: dur(
                "contacts.idle_timeout_email",
                &raw.contacts.idle_timeout_email,
            )?,
        };
        let finished_retention = dur(
            "contacts.finished_retention",
            &raw.contacts.finished_retention,
        )?;
        let repeat_period = dur("resolution.repeat_period", &raw.resolution.repeat_period)?;
        let allowed_lateness = bounded(
            "windows_state.allowed_lateness",
            &raw.windows_state.allowed_lateness,
        )?;
        let window_retention = dur("windows_state.retention", &raw.windows_state.retention)?;
        if window_retention < repeat_period || window_retention < finished_retention {
            return Err(invalid(
                "windows_state.retention",
                "must be at least resolution.repeat_period and contacts.finished_retention, or repeat contacts, surveys and call-backs could not revise their window",
            ));
        }
        let emit_interval = bounded("output.emit_interval", &raw.output.emit_interval)?;
        let commit_interval = dur("pipeline.commit_interval", &raw.pipeline.commit_interval)?;
        if commit_interval.is_zero() {
            return Err(invalid("pipeline.commit_interval", "must be above zero"));
        }
        if emit_interval.is_zero() {
            return Err(invalid("output.emit_interval", "must be above zero"));
        }
        if raw.pipeline.commit_max_records == 0 {
            return Err(invalid("pipeline.commit_max_records", "must be at least 1"));
        }
        let transaction_timeout = dur(
            "pipeline.transaction_timeout",
            &raw.pipeline.transaction_timeout,
        )?;
        if transaction_timeout < Duration::from_secs(1)
            || transaction_timeout < commit_interval.max(emit_interval) * 2
        {
            return Err(invalid(
                "pipeline.transaction_timeout",
                "must be at least 1s and twice the commit and emit intervals",
            ));
        }
        let mut stages = Vec::new();
        for name in &raw.pipeline.stages {
            let stage = StageName::parse(name).ok_or_else(|| {
                invalid(
                    "pipeline.stages",
                    format!("`{name}` is not a stage (assemble, repeats, aggregate)"),
                )
            })?;
            if !stages.contains(&stage) {
                stages.push(stage);
            }
        }
        if stages.is_empty() {
            return Err(invalid("pipeline.stages", "name at least one stage"));
        }
        stages.sort();
        if raw
            .pipeline
            .instance_id
            .chars()
            .any(|c| !(c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.'))
        {
            return Err(invalid(
                "pipeline.instance_id",
                "use letters, digits, '-', '_' and '.' only",
            ));
        }
        let http_listen: SocketAddr = raw.http.listen.parse().map_err(|_| {
            invalid(
                "http.listen",
                format!("`{}` is not host:port", raw.http.listen),
            )
        })?;
        for (key, v) in [
            ("kafka.brokers", &raw.kafka.brokers),
            ("kafka.group_id", &raw.kafka.group_id),
            ("topics.input", &raw.topics.input),
            ("topics.aggregates", &raw.topics.aggregates),
            ("topics.alerts", &raw.topics.alerts),
            ("topics.dlq", &raw.topics.dlq),
            ("topics.internal_prefix", &raw.topics.internal_prefix),
        ] {
            if v.trim().is_empty() {
                return Err(invalid(key, "must not be empty"));
            }
        }
        if raw.kafka.topic_partitions < 1 {
            return Err(invalid("kafka.topic_partitions", "must be at least 1"));
        }
        if raw.kafka.replication_factor < 1 {
            return Err(invalid("kafka.replication_factor", "must be at least 1"));
        }
        if raw.input.max_record_bytes == 0 {
            return Err(invalid(
                "input.max_record_bytes",
                "must be greater than zero",
            ));
        }
        let mut kafka_properties = BTreeMap::new();
        flatten_properties("", &raw.kafka.properties, &mut kafka_properties);
        // The group id so hashed customer ids stay stable across restarts of one
        // deployment while differing between deployments.
        let customer_key = format!("contact-kpi/{}", raw.kafka.group_id).into_bytes();
        let a = &raw.alerts;
        for k in &a.kpis {
            if !ALERT_KPIS.iter().any(|x| x.name == k) {
                let known: Vec<&str> = ALERT_KPIS.iter().map(|x| x.name).collect();
                return Err(invalid(
                    "alerts.kpis",
                    format!("unknown KPI `{k}` (known: {})", known.join(", ")),
                ));
            }
        }
        if !(a.false_alarm_rate > 0.0 && a.false_alarm_rate < 0.5) {
            return Err(invalid(
                "alerts.false_alarm_rate",
                "must be between 0 and 0.5",
            ));
        }
        if !(0.0..1.0).contains(&a.min_effect) {
            return Err(invalid("alerts.min_effect", "must be between 0 and 1"));
        }
        let alerts = AlertSettings {
            enabled: a.enabled,
            kpis: a.kpis.clone(),
            min_volume: a.min_volume.max(1),
            min_baseline_volume: a.min_baseline_volume.max(1),
            min_effect: a.min_effect,
            false_alarm_rate: a.false_alarm_rate,
            baseline_ms: dur("alerts.baseline", &a.baseline)?.as_millis() as i64,
        };
        let engine = EngineSettings {
            alerts,
            windows,
            timezone,
            service_level,
            idle_timeout,
            finished_retention,
            repeat_period,
            allowed_lateness,
            window_retention,
            customer_key,
        };
        let max_ahead_of_record_time = dur(
            "input.max_ahead_of_record_time",
            &raw.input.max_ahead_of_record_time,
        )?;
        let agent_label_idle = dur("metrics.agent_label_idle", &raw.metrics.agent_label_idle)?;
        let (inputs, adapter_settings, input_format) = validate_inputs(&raw)?;
        Ok(Config {
            inputs,
            adapter_settings,
            input_format,
            raw,
            engine,
            http_listen,
            emit_interval,
            commit_interval,
            max_ahead_of_record_time,
            agent_label_idle,
            transaction_timeout,
            stages,
            kafka_properties,
        })
    }
}

/// `topics.inputs` and `adapters`: formats known, topics distinct, mapping
/// files readable and sound, dispositions named as the contract names them.
type ValidInputs = (Vec<InputSpec>, AdapterSettings, PayloadFormat);

fn validate_inputs(raw: &RawConfig) -> Result<ValidInputs, ConfigError> {
    let unmapped =
        Disposition::parse(raw.adapters.unmapped_disposition.trim()).ok_or_else(|| {
            invalid(
                "adapters.unmapped_disposition",
                format!(
                    "`{}` is not resolved, unresolved, escalated or callback_scheduled",
                    raw.adapters.unmapped_disposition
                ),
            )
        })?;
    let mut codes = std::collections::HashMap::new();
    let mut transfers = Vec::new();
    for (code, name) in &raw.adapters.dispositions {
        if name.trim() == "transferred" {
            transfers.push(code.clone());
            continue;
        }
        let disposition = Disposition::parse(name.trim()).ok_or_else(|| {
            invalid(
                &format!("adapters.dispositions.\"{code}\""),
                format!(
                    "`{name}` is not resolved, unresolved, escalated, callback_scheduled \
                     or transferred"
                ),
            )
        })?;
        codes.insert(code.clone(), disposition);
    }
    let base = AdapterSettings {
        dispositions: std::sync::Arc::new(
            Dispositions::with(&codes, unmapped).with_transfer_codes(&transfers),
        ),
        mapping: None,
    };
    let t = &raw.topics;
    let ours = [&t.aggregates, &t.alerts, &t.dlq];
    let mut inputs: Vec<InputSpec> = Vec::new();
    let mut input_format = raw.input.format;
    let mut input_listed = false;
    for (i, entry) in t.inputs.iter().enumerate() {
        let key = format!("topics.inputs[{i}]");
        let (topic, format, mapping) = match entry {
            InputEntry::Table {
                topic,
                format,
                mapping,
            } => (topic.trim().to_string(), format.clone(), mapping.clone()),
            InputEntry::Short(s) => {
                let mut parts = s.splitn(3, ':');
                let topic = parts.next().unwrap_or("").trim().to_string();
                let format = parts.next().unwrap_or("").to_string();
                (topic, format, parts.next().map(str::to_string))
            }
        };
        if topic.is_empty() {
            return Err(invalid(&key, "names no topic"));
        }
        let format = InputFormat::parse(&format).ok_or_else(|| {
            let known: Vec<&str> = InputFormat::ALL.iter().map(|f| f.as_str()).collect();
            invalid(
                &key,
                format!("`{format}` is not a format ({})", known.join(", ")),
            )
        })?;
        if ours.contains(&&topic) || topic.starts_with(&format!("{}.", t.internal_prefix)) {
            return Err(invalid(
                &key,
                format!("`{topic}` is one of the service's own output or internal topics"),
            ));
        }
        if inputs.iter().any(|s| s.topic == topic) {
            return Err(invalid(&key, format!("`{topic}` is listed twice")));
        }
        let mut settings = base.clone();
        match (format, mapping) {
            (InputFormat::Mapping, Some(path)) => {
                let m = Mapping::load(Path::new(path.trim()))
                    .map_err(|e| invalid(&format!("{key}.mapping"), e.to_string()))?;
                settings.mapping = Some(std::sync::Arc::new(m));
            }
            (InputFormat::Mapping, None) => {
                return Err(invalid(&key, "format `mapping` needs `mapping = \"FILE\"`"))
            }
            (_, Some(_)) => {
                return Err(invalid(&key, "only format `mapping` takes a mapping file"))
            }
            (_, None) => {}
        }
        if topic == t.input {
            // The contract topic itself: read by stage 1 directly.
            if !format.is_contract() {
                return Err(invalid(
                    &key,
                    format!(
                        "`{topic}` is `topics.input`, which carries contract events; \
                         give the platform's records their own topic"
                    ),
                ));
            }
            if input_listed {
                return Err(invalid(&key, format!("`{topic}` is listed twice")));
            }
            input_listed = true;
            input_format = match format {
                InputFormat::ContractProtobuf => PayloadFormat::Protobuf,
                _ => PayloadFormat::Json,
            };
            continue;
        }
        inputs.push(InputSpec {
            topic,
            format,
            settings,
        });
    }
    Ok((inputs, base, input_format))
}

impl Default for Config {
    /// The shipped defaults, without file or environment.
    fn default() -> Self {
        Config::load_with_env(None, std::iter::empty()).expect("shipped defaults are valid")
    }
}

/// `kafka.properties` may arrive nested when keys contain dots (the config
/// crate splits `security.protocol`); librdkafka wants the dotted name back.
fn flatten_properties(
    prefix: &str,
    map: &serde_json::Map<String, serde_json::Value>,
    out: &mut BTreeMap<String, String>,
) {
    for (k, v) in map {
        let name = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            serde_json::Value::Object(inner) => flatten_properties(&name, inner, out),
            serde_json::Value::String(s) => {
                out.insert(name, s.clone());
            }
            other => {
                out.insert(name, other.to_string());
            }
        }
    }
}

/// Parses `500ms`, `20s`, `15m`, `1h`, `7d` (also combined, `1h30m`).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("empty duration".into());
    }
    let mut total_ms: u64 = 0;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(format!("`{s}` is not a duration like 20s, 15m, 1h or 7d"));
        }
        let n: u64 = rest[..digits]
            .parse()
            .map_err(|_| format!("`{s}`: number too large"))?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit_ms = match &rest[..unit_len] {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            _ => return Err(format!("`{s}` is not a duration like 20s, 15m, 1h or 7d")),
        };
        total_ms = n
            .checked_mul(unit_ms)
            .and_then(|v| v.checked_add(total_ms))
            .ok_or_else(|| format!("`{s}`: too large"))?;
        rest = &rest[unit_len..];
    }
    Ok(Duration::from_millis(total_ms))
}

/// A window size: `Nd` is N local days, anything else a fixed length that
/// divides a day (so windows align to local midnight).
pub fn parse_window(s: &str) -> Result<WindowSpec, String> {
    let s = s.trim();
    if let Some(days) = s.strip_suffix('d') {
        if let Ok(n) = days.parse::<u32>() {
            if n == 0 {
                return Err(format!("`{s}`: must be greater than zero"));
            }
            return Ok(WindowSpec {
                name: s.into(),
                kind: WindowKind::Days(n),
            });
        }
    }
    let d = parse_duration(s)?;
    let ms = d.as_millis() as i64;
    if ms < 60_000 {
        return Err(format!(
            "`{s}`: windows shorter than a minute are not supported"
        ));
    }
    if 86_400_000 % ms != 0 {
        return Err(format!(
            "`{s}`: a window size must divide a day (e.g. 15m, 1h, 4h) or be whole days"
        ));
    }
    if ms == 86_400_000 {
        return Ok(WindowSpec {
            name: s.into(),
            kind: WindowKind::Days(1),
        });
    }
    Ok(WindowSpec {
        name: s.into(),
        kind: WindowKind::Fixed(ms),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn platform_inputs_come_from_a_file_or_one_environment_variable() {
        let dir = std::env::temp_dir().join(format!("ckpi-inputs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mapping = dir.join("acme.toml");
        std::fs::write(
            &mapping,
            "[[rules]]\ntype = \"survey\"\n[rules.fields]\nevent_id = { pointer = \"/id\" }\n\
             contact_id = { pointer = \"/c\" }\nchannel = { value = \"chat\" }\nts = { pointer = \"/t\" }\n\
             csat = { pointer = \"/s\" }\n",
        )
        .unwrap();
        let file = dir.join("config.toml");
        std::fs::write(
            &file,
            format!(
                "[topics]\ninputs = [\n  {{ topic = \"connect-ctr\", format = \"amazon-connect\" }},\n  \
                 {{ topic = \"acme\", format = \"mapping\", mapping = \"{}\" }},\n  \
                 {{ topic = \"contact-events\", format = \"contract-protobuf\" }},\n]\n\
                 [adapters]\nunmapped_disposition = \"escalated\"\n\
                 [adapters.dispositions]\n\"Klant Geholpen\" = \"resolved\"\n\"Doorverbonden\" = \"transferred\"\n",
                mapping.display()
            ),
        )
        .unwrap();
        let c = Config::load_with_env(Some(&file), env(&[])).unwrap();
        let topics: Vec<(&str, InputFormat)> = c
            .inputs
            .iter()
            .map(|s| (s.topic.as_str(), s.format))
            .collect();
        assert_eq!(
            topics,
            [
                ("connect-ctr", InputFormat::AmazonConnect),
                ("acme", InputFormat::Mapping)
            ],
            "topics.input itself is read by stage 1, not forwarded"
        );
        assert_eq!(c.input_format, PayloadFormat::Protobuf);
        assert!(c.inputs[1].settings.mapping.is_some());
        let d = &c.inputs[0].settings.dispositions;
        assert_eq!(d.map("klant geholpen"), (Disposition::Resolved, true));
        assert_eq!(d.map("iets anders").0, Disposition::Escalated);
        assert!(d.passes_on("doorverbonden"));

        let c = Config::load_with_env(
            None,
            env(&[(
                "CONTACT_KPI__TOPICS__INPUTS",
                "zendesk-events:zendesk,flex:twilio-flex",
            )]),
        )
        .unwrap();
        assert_eq!(c.inputs.len(), 2);
        assert_eq!(c.inputs[1].format, InputFormat::TwilioFlex);
        assert_eq!(c.input_format, PayloadFormat::Auto);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn wrong_inputs_are_refused_naming_the_entry() {
        let err = |v: &str| {
            Config::load_with_env(None, env(&[("CONTACT_KPI__TOPICS__INPUTS", v)]))
                .expect_err(v)
                .to_string()
        };
        let e = err("a:kinesis");
        assert!(
            e.contains("topics.inputs[0]") && e.contains("genesys-cloud"),
            "{e}"
        );
        let e = err("a:zendesk,a:zendesk");
        assert!(e.contains("topics.inputs[1]") && e.contains("twice"), "{e}");
        let e = err("contact-events:zendesk");
        assert!(e.contains("contract events"), "{e}");
        let e = err("kpi-aggregates:zendesk");
        assert!(e.contains("own output"), "{e}");
        let e = err("acme:mapping");
        assert!(e.contains("needs `mapping"), "{e}");
        let e = err("acme:mapping:/nonexistent/acme.toml");
        assert!(e.contains("topics.inputs[0].mapping"), "{e}");
        let e = Config::load_with_env(
            None,
            env(&[("CONTACT_KPI__ADAPTERS__UNMAPPED_DISPOSITION", "maybe")]),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("adapters.unmapped_disposition"), "{e}");
    }

    #[test]
    fn secrets_come_from_files_and_errors_never_show_them() {
        let dir = std::env::temp_dir().join(format!("ckpi-secret-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("password");
        std::fs::write(&file, "s3cr3t-from-file\n").unwrap();
        let path = file.to_string_lossy().into_owned();
        let c = Config::load_with_env(
            None,
            env(&[("CONTACT_KPI__KAFKA__PROPERTIES__SASL.PASSWORD_FILE", &path)]),
        )
        .unwrap();
        assert_eq!(
            c.kafka_properties.get("sasl.password").map(String::as_str),
            Some("s3cr3t-from-file"),
            "read, with the trailing newline removed"
        );
        let both = Config::load_with_env(
            None,
            env(&[
                ("CONTACT_KPI__KAFKA__PROPERTIES__SASL.PASSWORD_FILE", &path),
                ("CONTACT_KPI__KAFKA__PROPERTIES__SASL.PASSWORD", "x"),
            ]),
        )
        .unwrap_err()
        .to_string();
        assert!(both.contains("set one"), "{both}");
        let missing = Config::load_with_env(
            None,
            env(&[(
                "CONTACT_KPI__KAFKA__PROPERTIES__SASL.PASSWORD_FILE",
                "/nonexistent/secret",
            )]),
        )
        .unwrap_err()
        .to_string();
        assert!(
            missing.contains("CONTACT_KPI__KAFKA__PROPERTIES__SASL.PASSWORD_FILE")
                && missing.contains("/nonexistent/secret"),
            "{missing}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn durations_are_bounded_and_retention_covers_every_late_correction() {
        let err = |pairs: &[(&str, &str)]| {
            Config::load_with_env(None, env(pairs))
                .expect_err("refused")
                .to_string()
        };
        // Used to pass validation and then overflow chrono in the aggregate stage.
        let e = err(&[("CONTACT_KPI__WINDOWS_STATE__RETENTION", "100000000d")]);
        assert!(
            e.contains("windows_state.retention") && e.contains("3650d"),
            "{e}"
        );
        let e = err(&[("CONTACT_KPI__WINDOWS_STATE__ALLOWED_LATENESS", "4000d")]);
        assert!(e.contains("windows_state.allowed_lateness"), "{e}");
        let e = err(&[("CONTACT_KPI__CONTACTS__FINISHED_RETENTION", "9d")]);
        assert!(e.contains("windows_state.retention"), "{e}");
        let ok = Config::load_with_env(
            None,
            env(&[
                ("CONTACT_KPI__CONTACTS__FINISHED_RETENTION", "9d"),
                ("CONTACT_KPI__WINDOWS_STATE__RETENTION", "3650d"),
            ]),
        );
        assert!(ok.is_ok());
    }

    #[test]
    fn defaults_match_the_output_contract() {
        let c = Config::default();
        assert_eq!(c.raw.kafka.brokers, "127.0.0.1:9092");
        assert_eq!(c.raw.kafka.group_id, "contact-kpi");
        assert!(c.raw.kafka.create_topics);
        assert_eq!(c.raw.topics.input, "contact-events");
        assert_eq!(c.raw.topics.aggregates, "kpi-aggregates");
        assert_eq!(c.raw.topics.alerts, "kpi-alerts");
        assert_eq!(c.raw.topics.dlq, "contact-events.dlq");
        assert_eq!(c.raw.output.format, OutputFormat::Protobuf);
        assert_eq!(c.http_listen.to_string(), "127.0.0.1:9464");
        assert_eq!(c.raw.windows, vec!["1h", "1d"]);
        assert_eq!(c.engine.timezone, chrono_tz::UTC);
        assert_eq!(c.engine.service_level.voice, Duration::from_secs(20));
        assert_eq!(c.engine.service_level.chat, Duration::from_secs(60));
        assert_eq!(c.engine.service_level.email, Duration::from_secs(86_400));
        assert_eq!(c.engine.repeat_period, Duration::from_secs(7 * 86_400));
    }

    #[test]
    fn environment_overrides_with_double_underscore_nesting() {
        let c = Config::load_with_env(
            None,
            env(&[
                ("CONTACT_KPI__KAFKA__BROKERS", "b1:9092,b2:9092"),
                ("CONTACT_KPI__TIMEZONE", "Europe/Amsterdam"),
                ("CONTACT_KPI__WINDOWS", "15m,1d"),
                ("CONTACT_KPI__OUTPUT__FORMAT", "json"),
                (
                    "CONTACT_KPI__KAFKA__PROPERTIES__SECURITY.PROTOCOL",
                    "SASL_SSL",
                ),
                ("UNRELATED", "x"),
            ]),
        )
        .unwrap();
        assert_eq!(c.raw.kafka.brokers, "b1:9092,b2:9092");
        assert_eq!(c.engine.timezone, chrono_tz::Europe::Amsterdam);
        assert_eq!(c.raw.windows, vec!["15m", "1d"]);
        assert_eq!(c.raw.output.format, OutputFormat::Json);
        assert_eq!(
            c.kafka_properties
                .get("security.protocol")
                .map(String::as_str),
            Some("SASL_SSL")
        );
    }

    #[test]
    fn a_config_file_overrides_defaults() {
        let dir = std::env::temp_dir().join(format!("ckpi-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("c.toml");
        std::fs::write(
            &path,
            "windows = [\"1h\"]\n[kafka]\nbrokers = \"x:1\"\n[kafka.properties]\n\"sasl.mechanism\" = \"PLAIN\"\n",
        )
        .unwrap();
        let c = Config::load_with_env(Some(&path), std::iter::empty()).unwrap();
        assert_eq!(c.raw.kafka.brokers, "x:1");
        assert_eq!(c.raw.windows, vec!["1h"]);
        assert_eq!(
            c.kafka_properties.get("sasl.mechanism").map(String::as_str),
            Some("PLAIN")
        );
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn validation_errors_name_the_key() {
        let cases = [
            ("CONTACT_KPI__TIMEZONE", "Mars/Olympus", "timezone"),
            ("CONTACT_KPI__WINDOWS", "7m", "windows"),
            ("CONTACT_KPI__HTTP__LISTEN", "nowhere", "http.listen"),
            (
                "CONTACT_KPI__SERVICE_LEVEL__VOICE",
                "fast",
                "service_level.voice",
            ),
            ("CONTACT_KPI__KAFKA__BROKERS", "", "kafka.brokers"),
        ];
        for (k, v, key) in cases {
            let err = Config::load_with_env(None, env(&[(k, v)])).unwrap_err();
            assert!(
                err.to_string().contains(&format!("`{key}`")),
                "{k}={v}: {err}"
            );
        }
        let err = Config::load_with_env(None, env(&[("CONTACT_KPI__KAFKA__NO_SUCH_KEY", "1")]))
            .unwrap_err();
        assert!(err.to_string().contains("no_such_key"), "{err}");
    }

    #[test]
    fn durations_and_windows_parse() {
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert!(parse_duration("1x").is_err());
        assert_eq!(parse_window("1d").unwrap().kind, WindowKind::Days(1));
        assert_eq!(parse_window("24h").unwrap().kind, WindowKind::Days(1));
        assert_eq!(
            parse_window("15m").unwrap().kind,
            WindowKind::Fixed(900_000)
        );
        assert!(parse_window("7m").is_err());
    }
}
