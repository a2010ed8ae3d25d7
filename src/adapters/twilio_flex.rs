//! Twilio Flex: TaskRouter events and Conversations message events, as Twilio
//! Event Streams delivers them (CloudEvents: `specversion`, `type`, `id`,
//! `time`, `data`), or as the classic callbacks post them (TaskRouter's
//! workspace `EventCallbackUrl`, Conversations' `onMessageAdded` webhook)
//! once a bridge has turned their form fields into a JSON object.
//!
//! Mapping (README "Twilio Flex" says the same for engineers):
//! - `task.created` → `contact_started` (customer: task attribute
//!   `customerAddress`, else `from` / `caller` — `to` / `outbound_to` for
//!   outbound tasks — else `name`; queue: `task_queue_name`; language:
//!   attribute `conversations.language`, else `language`). A task created for
//!   a transfer (attribute `transferTargetType`, which Flex transfer tooling
//!   adds to the copy of the original task) is no new contact: ignored.
//! - `reservation.accepted` → `agent_joined`.
//! - `task.transfer-initiated` (TaskRouter transfers: a second reservation on
//!   the same task) → `transfer` from `transfer_initiating_worker_sid`; the
//!   next `reservation.accepted` is the new agent.
//! - `task.completed` → `contact_ended`, disposition from attribute
//!   `conversations.outcome` (Flex Insights' Outcome), else
//!   `task_completed_reason`, through `adapters.dispositions`.
//! - `task.canceled` (TaskRouter cancels only tasks no worker holds) →
//!   `contact_ended`: abandoned.
//! - Conversations `message.added` → `message`: the customer when the author
//!   is a messaging address (`+31…`, `whatsapp:+31…`, `messenger:…`, an
//!   e-mail address), the agent otherwise (Flex writes the agent's identity,
//!   which is the TaskRouter worker's `friendly_name`), nobody for `system`.
//! - Everything else (reservation offers, wrap-up, worker activity, message
//!   edits, other Twilio products) carries nothing the contract has a place
//!   for: ignored.
//!
//! The contact: the Flex Conversations conversation (`conversationSid` in
//! the task attributes, `ConversationSid` of a message) so a chat's task and
//! its messages meet on one contact; a task without one (voice) is its own
//! contact, keyed by its task sid. Agents are named by their Flex identity
//! (the worker's `worker_name`, the messages' `Author`), so an agent's joins
//! and turns carry one id; only where TaskRouter gives no name (the worker
//! who initiated a transfer) is the worker sid used.

use super::{
    contract_event, language_tag, opt_str, opt_time, parse_object, parse_time, time_from_millis,
    AdapterError, AdapterSettings, PlatformRecord,
};
use crate::model::Timestamp;
use serde_json::{Map, Value};

const PLATFORM: &str = "twilio-flex";

/// Longest platform id (a Twilio sid is 34 characters) put into an event id,
/// so event ids stay well under 200 bytes.
const MAX_SID_LEN: usize = 64;

pub fn translate(
    record: &PlatformRecord<'_>,
    settings: &AdapterSettings,
) -> Result<Vec<Value>, AdapterError> {
    let v = parse_object(PLATFORM, record.value)?;
    if let Some(kind) = v.get("type") {
        // Event Streams: a CloudEvent.
        let kind = match kind {
            Value::String(s) if !s.trim().is_empty() => s.trim(),
            _ => return Err(AdapterError::missing(PLATFORM, "type")),
        };
        if let Some(event) = kind.strip_prefix("com.twilio.taskrouter.") {
            if !handled_task_event(event) {
                return Ok(vec![]);
            }
            let data = match v.get("data") {
                Some(Value::Object(_)) => &v["data"],
                _ => return Err(AdapterError::missing(PLATFORM, "data")),
            };
            // Schema versions wrap the TaskRouter event in `data.payload`
            // (an object, or its JSON text); a flat `data` is read as well.
            let (fields, prefix) = match data.get("payload") {
                Some(Value::Object(_)) => (data["payload"].clone(), "data.payload"),
                Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
                    Ok(p @ Value::Object(_)) => (p, "data.payload"),
                    _ => {
                        return Err(AdapterError::bad(
                            PLATFORM,
                            "data.payload",
                            "is not a JSON object",
                        ))
                    }
                },
                _ => (data.clone(), "data"),
            };
            let task = TaskEvent {
                kind: event,
                fields: &fields,
                style: Style::Streams(prefix),
                envelope: &v,
            };
            return task.translate(settings);
        }
        if let Some(event) = kind.strip_prefix("com.twilio.conversations.") {
            if event != "message.added" {
                return Ok(vec![]);
            }
            let data = match v.get("data") {
                Some(Value::Object(_)) => &v["data"],
                _ => return Err(AdapterError::missing(PLATFORM, "data")),
            };
            return message_added(data, "data.");
        }
        // Another Twilio product's event (Studio, Voice Insights, ...).
        return Ok(vec![]);
    }
    match opt_str(&v, "/EventType") {
        // Conversations webhooks name their events `onMessageAdded`, ...
        Some(kind) if kind.starts_with("on") => {
            if kind.trim() == "onMessageAdded" {
                message_added(&v, "")
            } else {
                Ok(vec![])
            }
        }
        // ... TaskRouter's workspace callbacks `task.created`, ...
        Some(kind) => {
            let kind = kind.trim().to_string();
            if !handled_task_event(&kind) {
                return Ok(vec![]);
            }
            let task = TaskEvent {
                kind: &kind,
                fields: &v,
                style: Style::Webhook,
                envelope: &v,
            };
            task.translate(settings)
        }
        None => Err(AdapterError::missing(PLATFORM, "type")),
    }
}

fn handled_task_event(kind: &str) -> bool {
    matches!(
        kind,
        "task.created"
            | "reservation.accepted"
            | "task.transfer-initiated"
            | "task.completed"
            | "task.canceled"
    )
}

/// How a TaskRouter event names its fields: Event Streams in snake case
/// under `data.payload`, the workspace callback in Pascal case at the top.
#[derive(Clone, Copy)]
enum Style {
    Streams(&'static str),
    Webhook,
}

struct TaskEvent<'a> {
    /// `task.created`, `reservation.accepted`, ...
    kind: &'a str,
    fields: &'a Value,
    style: Style,
    /// The whole record (the CloudEvent's `time` and `id`).
    envelope: &'a Value,
}

impl TaskEvent<'_> {
    /// The field's name in this record, as the vendor spells it.
    fn key(&self, snake: &str) -> String {
        match self.style {
            Style::Streams(_) => snake.to_string(),
            Style::Webhook => pascal(snake),
        }
    }

    /// The field's path for error messages (`data.payload.task_sid`, `TaskSid`).
    fn name(&self, snake: &str) -> String {
        match self.style {
            Style::Streams(prefix) => format!("{prefix}.{snake}"),
            Style::Webhook => pascal(snake),
        }
    }

    fn opt(&self, snake: &str) -> Option<String> {
        opt_str(self.fields, &format!("/{}", self.key(snake))).map(|s| s.trim().to_string())
    }

    fn req(&self, snake: &str) -> Result<String, AdapterError> {
        self.opt(snake)
            .ok_or_else(|| AdapterError::missing(PLATFORM, self.name(snake)))
    }

    /// A Twilio sid that goes into an event id.
    fn sid(&self, snake: &str) -> Result<String, AdapterError> {
        let sid = self.req(snake)?;
        check_sid(sid, || self.name(snake))
    }

    fn opt_sid(&self, snake: &str) -> Result<Option<String>, AdapterError> {
        self.opt(snake)
            .map(|s| check_sid(s, || self.name(snake)))
            .transpose()
    }

    /// When the event happened at TaskRouter: Event Streams' ISO 8601
    /// `timestamp` (else the CloudEvent's `time`), the callback's
    /// `Timestamp` in seconds since the epoch.
    fn time(&self) -> Result<Timestamp, AdapterError> {
        match self.style {
            Style::Streams(_) => {
                let own = opt_time(PLATFORM, self.fields, "/timestamp")
                    .map_err(|_| bad_time(self.name("timestamp")))?;
                match own {
                    Some(t) => Ok(t),
                    None => opt_time(PLATFORM, self.envelope, "/time")?
                        .ok_or_else(|| AdapterError::missing(PLATFORM, self.name("timestamp"))),
                }
            }
            Style::Webhook => epoch_time(self.fields, "Timestamp")?
                .ok_or_else(|| AdapterError::missing(PLATFORM, "Timestamp")),
        }
    }

    /// The task attributes: a JSON object, usually sent as its JSON text.
    fn attributes(&self) -> Result<Value, AdapterError> {
        let name = self.name("task_attributes");
        match self.fields.get(self.key("task_attributes")) {
            None | Some(Value::Null) => Err(AdapterError::missing(PLATFORM, name)),
            Some(Value::Object(m)) => Ok(Value::Object(m.clone())),
            Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
                Ok(a @ Value::Object(_)) => Ok(a),
                _ => Err(AdapterError::bad(PLATFORM, name, "is not a JSON object")),
            },
            Some(_) => Err(AdapterError::bad(
                PLATFORM,
                name,
                "is neither a JSON object nor its text",
            )),
        }
    }

    fn translate(&self, settings: &AdapterSettings) -> Result<Vec<Value>, AdapterError> {
        let task = self.sid("task_sid")?;
        let attributes = self.attributes()?;
        if self.kind == "task.created" && attributes.get("transferTargetType").is_some() {
            // The copy of a task made for a transfer: the contact goes on.
            return Ok(vec![]);
        }
        let channel_name = self.req("task_channel_unique_name")?;
        let Some(channel) = channel(&channel_name) else {
            // `default`, `video` and custom task channels: no contract channel.
            return Ok(vec![]);
        };
        let contact = match opt_str(&attributes, "/conversationSid") {
            Some(c) => check_sid(c.trim().to_string(), || {
                format!("{}.conversationSid", self.name("task_attributes"))
            })?,
            None => task.clone(),
        };
        let ts = self.time()?;
        let event = match self.kind {
            "task.created" => {
                let customer = customer(&attributes)
                    .ok_or_else(|| {
                        AdapterError::missing(
                            PLATFORM,
                            format!("{}.from", self.name("task_attributes")),
                        )
                    })?
                    .to_string();
                let mut e = contract_event(
                    format!("{PLATFORM}:{task}:created"),
                    &contact,
                    channel,
                    "contact_started",
                    ts,
                );
                e.insert("customer_id".into(), Value::String(customer));
                if let Some(queue) = self.opt("task_queue_name") {
                    e.insert("queue".into(), Value::String(queue));
                }
                let language = opt_str(&attributes, "/conversations/language")
                    .or_else(|| opt_str(&attributes, "/language"))
                    .and_then(|l| language_tag(&l));
                if let Some(language) = language {
                    e.insert("language".into(), Value::String(language));
                }
                e
            }
            "reservation.accepted" => {
                let reservation = self.sid("reservation_sid")?;
                let agent = match self.opt("worker_name") {
                    Some(name) => name,
                    None => self.req("worker_sid")?,
                };
                let mut e = contract_event(
                    format!("{PLATFORM}:{task}:{reservation}:joined"),
                    &contact,
                    channel,
                    "agent_joined",
                    ts,
                );
                e.insert("agent_id".into(), Value::String(agent));
                e
            }
            "task.transfer-initiated" => {
                let from = self.req("transfer_initiating_worker_sid")?;
                let transfer = match self.opt_sid("task_transfer_sid")? {
                    Some(t) => t,
                    None => self.sid("sid")?,
                };
                let mut e = contract_event(
                    format!("{PLATFORM}:{task}:{transfer}:transfer"),
                    &contact,
                    channel,
                    "transfer",
                    ts,
                );
                e.insert("from_agent_id".into(), Value::String(from));
                e
            }
            "task.completed" | "task.canceled" => {
                let disposition = if self.kind == "task.canceled" {
                    // Nobody held the task: abandoned, whatever the code.
                    settings.dispositions.unmapped().as_str()
                } else {
                    match opt_str(&attributes, "/conversations/outcome")
                        .map(|c| c.into_owned())
                        .or_else(|| self.opt("task_completed_reason"))
                    {
                        // A task completed because it was handed to a new
                        // task (a plugin's transfer): the contact goes on.
                        Some(code) if settings.dispositions.passes_on(&code) => return Ok(vec![]),
                        Some(code) => settings.dispositions.name(&code),
                        None => settings.dispositions.unmapped().as_str(),
                    }
                };
                let mut e = contract_event(
                    format!("{PLATFORM}:{task}:ended"),
                    &contact,
                    channel,
                    "contact_ended",
                    ts,
                );
                e.insert("disposition".into(), Value::String(disposition.into()));
                e
            }
            _ => return Ok(vec![]),
        };
        Ok(vec![Value::Object(event)])
    }
}

/// A Conversations `message.added` (Event Streams' `data`, or the
/// `onMessageAdded` webhook's fields): one chat or e-mail message.
fn message_added(data: &Value, prefix: &str) -> Result<Vec<Value>, AdapterError> {
    let name = |field: &str| format!("{prefix}{field}");
    let req = |field: &str| {
        opt_str(data, &format!("/{field}"))
            .map(|s| s.trim().to_string())
            .ok_or_else(|| AdapterError::missing(PLATFORM, name(field)))
    };
    let conversation = check_sid(req("ConversationSid")?, || name("ConversationSid"))?;
    let message = check_sid(req("MessageSid")?, || name("MessageSid"))?;
    let author = req("Author")?;
    let Some(party) = party(&author) else {
        // Messages the system (a Studio flow, a bot, Flex itself) writes.
        return Ok(vec![]);
    };
    let ts = opt_time(PLATFORM, data, "/DateCreated")
        .map_err(|_| bad_time(name("DateCreated")))?
        .ok_or_else(|| AdapterError::missing(PLATFORM, name("DateCreated")))?;
    let text = match data.get("MessageBody").or_else(|| data.get("Body")) {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(_) => {
            let field = if data.get("MessageBody").is_some() {
                "MessageBody"
            } else {
                "Body"
            };
            return Err(AdapterError::bad(PLATFORM, name(field), "is not a string"));
        }
    };
    // A message event does not say its conversation's channel: an e-mail
    // address as author, or a subject, is e-mail; everything else is chat.
    let subject = opt_str(data, "/MessageSubject").is_some() || opt_str(data, "/Subject").is_some();
    let channel = if author.contains('@') || subject {
        "email"
    } else {
        "chat"
    };
    let mut e: Map<String, Value> = contract_event(
        format!("{PLATFORM}:{conversation}:{message}:message"),
        &conversation,
        channel,
        "message",
        ts,
    );
    e.insert("party".into(), Value::String(party.into()));
    if party == "agent" {
        e.insert("agent_id".into(), Value::String(author));
    }
    e.insert("text".into(), Value::String(text));
    Ok(vec![Value::Object(e)])
}

/// Who wrote a message, from its author: customers write from a messaging
/// address (an E.164 number for SMS, `whatsapp:` / `messenger:` / ... for
/// the other channels, an e-mail address for e-mail); Flex agents write as
/// their Flex identity, in which Flex encodes the characters an address
/// needs (`someone@example.com` becomes `someone_40example_2Ecom`), so it
/// does not look like an address. `system` is the platform's own voice
/// (bots, Studio flows, notices): no party. A web-chat customer writes as an
/// SDK identity, which this rule cannot tell from an agent's (README).
fn party(author: &str) -> Option<&'static str> {
    let author = author.trim();
    if author.eq_ignore_ascii_case("system") {
        return None;
    }
    let phone = author.strip_prefix('+').is_some_and(|rest| {
        !rest.is_empty() && rest.chars().all(|c| c.is_ascii_digit() || c == ' ')
    });
    if phone || author.contains(':') || author.contains('@') {
        Some("customer")
    } else {
        Some("agent")
    }
}

/// The contract channel of a TaskRouter task channel (`task_channel_unique_name`).
fn channel(unique_name: &str) -> Option<&'static str> {
    match unique_name.trim().to_ascii_lowercase().as_str() {
        "voice" => Some("voice"),
        "chat" | "sms" | "whatsapp" | "messenger" => Some("chat"),
        "email" => Some("email"),
        _ => None,
    }
}

/// The customer's identity from the task attributes: the address Flex
/// Conversations records (`customerAddress`), else the caller's number
/// (`from`, `caller`; for outbound tasks the dialled `outbound_to` / `to`),
/// else the name Flex shows (`name`).
fn customer(attributes: &Value) -> Option<std::borrow::Cow<'_, str>> {
    let outbound = opt_str(attributes, "/direction")
        .is_some_and(|d| d.trim().eq_ignore_ascii_case("outbound"));
    let keys: &[&str] = if outbound {
        &["/customerAddress", "/outbound_to", "/to", "/name"]
    } else {
        &["/customerAddress", "/from", "/caller", "/name"]
    };
    keys.iter().find_map(|k| opt_str(attributes, k))
}

/// A Twilio sid that goes into an event id: short, and no `:` or `/` that
/// would blur the id's parts.
fn check_sid(sid: String, name: impl Fn() -> String) -> Result<String, AdapterError> {
    if sid.len() > MAX_SID_LEN || sid.contains(['/', ':']) || sid.chars().any(char::is_control) {
        return Err(AdapterError::bad(PLATFORM, name(), "is not a Twilio sid"));
    }
    Ok(sid)
}

fn bad_time(field: String) -> AdapterError {
    AdapterError::bad(PLATFORM, field, "is not an ISO 8601 time")
}

/// Seconds since the epoch (a number or its text, fractions allowed), as
/// TaskRouter's workspace callback sends `Timestamp`; an ISO 8601 text is
/// read too.
fn epoch_time(v: &Value, key: &str) -> Result<Option<Timestamp>, AdapterError> {
    let bad = || AdapterError::bad(PLATFORM, key, "is not a time in seconds since the epoch");
    let seconds = match v.get(key) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => return Ok(None),
        Some(Value::Number(n)) => n.as_f64().ok_or_else(bad)?,
        Some(Value::String(s)) => match s.trim().parse::<f64>() {
            Ok(x) => x,
            Err(_) => return parse_time(s).map(Some).ok_or_else(bad),
        },
        Some(_) => return Err(bad()),
    };
    if !seconds.is_finite() || !(0.0..1.0e11).contains(&seconds) {
        return Err(bad());
    }
    time_from_millis((seconds * 1000.0).round() as i64)
        .map(Some)
        .ok_or_else(bad)
}

/// `task_channel_unique_name` → `TaskChannelUniqueName`: TaskRouter's
/// callback spells the Event Streams fields in Pascal case.
fn pascal(snake: &str) -> String {
    snake
        .split('_')
        .map(|part| {
            let mut chars = part.chars();
            match chars.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{check, settings};
    use super::super::InputFormat;
    use super::*;
    use serde_json::json;

    fn run(v: &Value) -> Result<Vec<Value>, AdapterError> {
        let bytes = serde_json::to_vec(v).unwrap();
        translate(
            &PlatformRecord {
                value: &bytes,
                timestamp_ms: Some(1_795_420_800_000),
            },
            &settings(InputFormat::TwilioFlex),
        )
    }

    fn task_event(kind: &str, channel: &str, attributes: Value) -> Value {
        json!({
            "specversion": "1.0",
            "type": format!("com.twilio.taskrouter.{kind}"),
            "source": "/v1/Workspaces/WS0f1e2d3c4b5a69788796a5b4c3d2e1f0/Tasks/WT77aa66bb55cc44dd33ee22ff11aa0099",
            "id": "EZ7c0de5a1b2c3d4e5f60718293a4b5c6d",
            "time": "2026-11-23T09:00:00.500Z",
            "data": {
                "payload": {
                    "sid": "EV1122334455667788990011aabbccddee",
                    "eventtype": kind,
                    "timestamp": "2026-11-23T09:00:00.250Z",
                    "task_sid": "WT77aa66bb55cc44dd33ee22ff11aa0099",
                    "task_attributes": attributes.to_string(),
                    "task_channel_unique_name": channel,
                    "task_queue_name": "Algemeen",
                    "reservation_sid": "WR0a1b2c3d4e5f60718293a4b5c6d7e8f9",
                    "worker_sid": "WK99887766554433221100ffeeddccbbaa",
                    "worker_name": "sanne_2Evisser_40voorbeeld_2Enl",
                    "task_completed_reason": "All reservations were completed",
                    "transfer_initiating_worker_sid": "WK99887766554433221100ffeeddccbbaa",
                    "task_transfer_sid": "TT00112233445566778899aabbccddeeff"
                }
            }
        })
    }

    fn message(author: &str) -> Value {
        json!({
            "specversion": "1.0",
            "type": "com.twilio.conversations.message.added",
            "id": "EZ5566778899aabbccddeeff0011223344",
            "data": {
                "ConversationSid": "CH44556677889900aabbccddeeff001122",
                "MessageSid": "IM44556677889900aabbccddeeff001122",
                "Index": 3,
                "Author": author,
                "MessageBody": "Mijn adres is Dorpsstraat 12",
                "DateCreated": "2026-11-23T09:01:00Z"
            }
        })
    }

    #[test]
    fn fixtures_translate_to_the_hand_written_events() {
        check(InputFormat::TwilioFlex, &settings(InputFormat::TwilioFlex));
    }

    #[test]
    fn redelivery_gives_identical_event_ids() {
        let attrs = json!({"from": "+31201112233", "call_sid": "CAaa"});
        for kind in [
            "task.created",
            "reservation.accepted",
            "task.transfer-initiated",
            "task.completed",
            "task.canceled",
        ] {
            let record = task_event(kind, "voice", attrs.clone());
            let first = run(&record).unwrap();
            // Event Streams delivers at least once, with a new CloudEvent id
            // and delivery time: the events stay the same.
            let mut again = record.clone();
            again["id"] = json!("EZffffffffffffffffffffffffffffffff");
            again["time"] = json!("2026-11-23T09:05:00Z");
            assert_eq!(first, run(&again).unwrap(), "{kind}");
            assert_eq!(first.len(), 1, "{kind}");
            let id = first[0]["event_id"].as_str().unwrap();
            assert!(id.starts_with("twilio-flex:WT77aa"), "{id}");
            assert!(id.len() < 200);
        }
        // Completed and canceled are one end of one task: one id.
        let completed = run(&task_event("task.completed", "voice", attrs.clone())).unwrap();
        let canceled = run(&task_event("task.canceled", "voice", attrs)).unwrap();
        assert_eq!(completed[0]["event_id"], canceled[0]["event_id"]);
        let m = run(&message("+31687654321")).unwrap();
        assert_eq!(
            m[0]["event_id"],
            "twilio-flex:CH44556677889900aabbccddeeff001122:IM44556677889900aabbccddeeff001122:message"
        );
    }

    #[test]
    fn records_without_a_contract_place_are_ignored() {
        let attrs = json!({"from": "+31201112233"});
        for kind in [
            "reservation.created",
            "reservation.rejected",
            "reservation.wrapup",
            "reservation.completed",
            "task.wrapup",
            "task.updated",
            "task-queue.entered",
            "worker.activity.update",
        ] {
            assert_eq!(
                run(&task_event(kind, "voice", attrs.clone())).unwrap(),
                Vec::<Value>::new(),
                "{kind}"
            );
        }
        // A worker event has no task fields at all.
        let activity = json!({"specversion": "1.0", "type": "com.twilio.taskrouter.worker.activity.update",
            "data": {"payload": {"worker_sid": "WK1", "worker_activity_name": "Pauze"}}});
        assert!(run(&activity).unwrap().is_empty());
        // The copy of a task made for a transfer starts no contact.
        let transfer_copy = json!({"from": "+31201112233", "transferTargetType": "worker"});
        assert!(run(&task_event("task.created", "voice", transfer_copy))
            .unwrap()
            .is_empty());
        // Unknown task channels, system messages, edits, other products.
        assert!(run(&task_event("task.created", "default", attrs.clone()))
            .unwrap()
            .is_empty());
        assert!(run(&task_event("task.created", "video", attrs))
            .unwrap()
            .is_empty());
        assert!(run(&message("system")).unwrap().is_empty());
        let mut edit = message("+31687654321");
        edit["type"] = json!("com.twilio.conversations.message.updated");
        assert!(run(&edit).unwrap().is_empty());
        let studio = json!({"specversion": "1.0", "type": "com.twilio.studio.flow.execution.started", "data": {}});
        assert!(run(&studio).unwrap().is_empty());
        let webhook = json!({"EventType": "onConversationAdded", "ConversationSid": "CH1"});
        assert!(run(&webhook).unwrap().is_empty());
    }

    #[test]
    fn task_channels_map_to_contract_channels() {
        let attrs = json!({"customerAddress": "whatsapp:+31612345678"});
        for (unique_name, want) in [
            ("voice", Some("voice")),
            ("chat", Some("chat")),
            ("sms", Some("chat")),
            ("whatsapp", Some("chat")),
            ("messenger", Some("chat")),
            ("email", Some("email")),
            ("default", None),
            ("video", None),
        ] {
            let got = run(&task_event("task.created", unique_name, attrs.clone())).unwrap();
            assert_eq!(
                got.first().map(|e| e["channel"].as_str().unwrap()),
                want,
                "{unique_name}"
            );
        }
        assert_eq!(channel(" Voice "), Some("voice"));
    }

    #[test]
    fn a_conversation_task_meets_its_messages_and_a_voice_task_is_its_own_contact() {
        let chat = run(&task_event(
            "task.created",
            "chat",
            json!({"conversationSid": "CH44556677889900aabbccddeeff001122", "customerAddress": "+31687654321",
                   "conversations": {"language": "nl-BE"}}),
        ))
        .unwrap();
        let msg = run(&message("+31687654321")).unwrap();
        assert_eq!(chat[0]["contact_id"], msg[0]["contact_id"]);
        assert_eq!(chat[0]["language"], "nl");
        assert_eq!(chat[0]["customer_id"], "+31687654321");
        assert_eq!(chat[0]["queue"], "Algemeen");
        let voice = run(&task_event(
            "task.created",
            "voice",
            json!({"from": "+31201112233"}),
        ))
        .unwrap();
        assert_eq!(voice[0]["contact_id"], "WT77aa66bb55cc44dd33ee22ff11aa0099");
        let outbound = run(&task_event(
            "task.created",
            "voice",
            json!({"direction": "outbound", "from": "+31850001111", "to": "+31201112233"}),
        ))
        .unwrap();
        assert_eq!(outbound[0]["customer_id"], "+31201112233");
    }

    #[test]
    fn authors_decide_the_party() {
        assert_eq!(party("+31612345678"), Some("customer"));
        assert_eq!(party("whatsapp:+31612345678"), Some("customer"));
        assert_eq!(party("messenger:1234567890"), Some("customer"));
        assert_eq!(party("klant@voorbeeld.nl"), Some("customer"));
        assert_eq!(party("sanne_2Evisser_40voorbeeld_2Enl"), Some("agent"));
        assert_eq!(party("System"), None);
        let agent = run(&message("sanne_2Evisser_40voorbeeld_2Enl")).unwrap();
        assert_eq!(agent[0]["party"], "agent");
        assert_eq!(agent[0]["agent_id"], "sanne_2Evisser_40voorbeeld_2Enl");
        assert_eq!(agent[0]["channel"], "chat");
        let customer = run(&message("klant@voorbeeld.nl")).unwrap();
        assert_eq!(customer[0]["party"], "customer");
        assert_eq!(customer[0]["channel"], "email");
        assert!(customer[0].get("agent_id").is_none());
    }

    #[test]
    fn dispositions_come_from_the_outcome_then_the_completed_reason() {
        let s = settings(InputFormat::TwilioFlex);
        let outcome = run(&task_event(
            "task.completed",
            "voice",
            json!({"from": "+31201112233", "conversations": {"outcome": "Escalatie"}}),
        ))
        .unwrap();
        assert_eq!(outcome[0]["disposition"], s.dispositions.name("Escalatie"));
        assert_eq!(outcome[0]["disposition"], "escalated");
        // Without an outcome, TaskRouter's own reason is the code (unmapped here).
        let reason = run(&task_event(
            "task.completed",
            "voice",
            json!({"from": "+31201112233"}),
        ))
        .unwrap();
        assert_eq!(reason[0]["disposition"], s.dispositions.unmapped().as_str());
        let canceled = run(&task_event(
            "task.canceled",
            "voice",
            json!({"from": "+31201112233", "conversations": {"outcome": "Opgelost"}}),
        ))
        .unwrap();
        assert_eq!(
            canceled[0]["disposition"],
            s.dispositions.unmapped().as_str()
        );
    }

    #[test]
    fn the_workspace_callback_shape_is_read_with_epoch_seconds() {
        let callback = json!({
            "EventType": "reservation.accepted",
            "TaskSid": "WT77aa66bb55cc44dd33ee22ff11aa0099",
            "TaskAttributes": "{\"from\":\"+31201112233\"}",
            "TaskChannelUniqueName": "voice",
            "ReservationSid": "WR0a1b2c3d4e5f60718293a4b5c6d7e8f9",
            "WorkerSid": "WK99887766554433221100ffeeddccbbaa",
            "WorkerName": "sanne_2Evisser_40voorbeeld_2Enl",
            "Timestamp": "1795424400"
        });
        let e = run(&callback).unwrap();
        assert_eq!(e[0]["type"], "agent_joined");
        assert_eq!(e[0]["ts"], "2026-11-23T09:00:00.000Z");
        assert_eq!(e[0]["agent_id"], "sanne_2Evisser_40voorbeeld_2Enl");
        let mut streams = task_event(
            "reservation.accepted",
            "voice",
            json!({"from": "+31201112233"}),
        );
        streams["data"]["payload"]["timestamp"] = json!("2026-11-23T09:00:00Z");
        assert_eq!(run(&streams).unwrap(), e, "both shapes give one event");
        assert_eq!(
            pascal("transfer_initiating_worker_sid"),
            "TransferInitiatingWorkerSid"
        );
    }

    #[test]
    fn errors_name_the_field_and_never_the_content() {
        let secret_attrs = json!({"from": "+31699999999", "name": "Jan Geheim"});
        let mut bad_time = task_event("task.created", "voice", secret_attrs.clone());
        bad_time["data"]["payload"]["timestamp"] = json!("gisteren om negen uur");
        let mut no_task = task_event("task.created", "voice", secret_attrs.clone());
        no_task["data"]["payload"]
            .as_object_mut()
            .unwrap()
            .remove("task_sid");
        let mut bad_attrs = task_event("task.completed", "voice", secret_attrs.clone());
        bad_attrs["data"]["payload"]["task_attributes"] =
            json!("{\"from\": \"+31699999999\", Jan Geheim");
        let no_customer = task_event("task.created", "voice", json!({"account": "Jan Geheim"}));
        let mut no_author = message("+31699999999");
        no_author["data"].as_object_mut().unwrap().remove("Author");
        let mut long_sid = message("+31699999999");
        long_sid["data"]["ConversationSid"] = json!("CH".to_string() + &"9".repeat(80));
        for (record, field) in [
            (bad_time, "data.payload.timestamp"),
            (no_task, "data.payload.task_sid"),
            (bad_attrs, "data.payload.task_attributes"),
            (no_customer, "data.payload.task_attributes.from"),
            (no_author, "data.Author"),
            (long_sid, "data.ConversationSid"),
        ] {
            let err = run(&record).unwrap_err();
            let text = err.to_string();
            assert!(text.starts_with("twilio-flex:"), "{text}");
            assert!(text.contains(field), "{text} should name {field}");
            for secret in [
                "+31699999999",
                "Jan Geheim",
                "gisteren",
                "Dorpsstraat",
                "99999999999",
            ] {
                assert!(!text.contains(secret), "{text} leaks {secret}");
            }
        }
    }
}
