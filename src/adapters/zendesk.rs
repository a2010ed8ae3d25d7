//! Zendesk: ticket events as Zendesk's event-subscribed webhooks deliver them
//! (`"type": "zen:event-type:ticket.*"`), one event per record, relayed
//! unchanged into Kafka. The shape (webhooks reference, "Ticket events"):
//!
//! ```text
//! { "type": "zen:event-type:ticket.comment_added", "account_id": 123,
//!   "id": "<event uuid>", "time": "<ISO 8601>", "zendesk_event_version": "...",
//!   "subject": "zen:ticket:<id>",
//!   "detail": { "id", "created_at", "requester_id", "assignee_id", "group_id",
//!               "brand_id", "status", "tags", "via": { "channel" }, ... },
//!   "event":  { ...the change: "current"/"previous", or "comment": { "id",
//!               "body", "is_public", "author": { "id", "is_staff", "name" } } } }
//! ```
//!
//! The contact is the ticket (`ticket/<detail.id>`), its channel the ticket's
//! `via.channel`. What each event type becomes:
//!
//! - `ticket.created`: `contact_started` at `detail.created_at` (customer =
//!   `requester_id`, queue = `group/<group_id>` or else `brand/<brand_id>`);
//!   a ticket created already assigned (an agent logs a call, Talk creates
//!   the ticket when the agent answers) also gets `agent_joined` then, and
//!   one created already solved gets its `contact_ended`.
//! - `ticket.agent_assignment_changed`: `agent_joined` for a new assignee;
//!   from one assignee to another `transfer` + `agent_joined`; to nobody a
//!   `transfer` (the agent handed the ticket back to the group).
//! - `ticket.comment_added`: a public comment is a `message` (party agent
//!   when `author.is_staff`); private comments (internal notes) are not said
//!   to the customer and give nothing.
//! - `ticket.status_changed` to solved (or to closed, when not from solved,
//!   as a merge does) and `ticket.merged`: `contact_ended`. The disposition is
//!   the status through `adapters.dispositions`, unless the ticket carries a
//!   `disposition_<code>` tag (the tag a drop-down custom field's option
//!   sets), whose `<code>` then goes through the same table.
//!
//! Every other event type (priority, tags, group, pending/hold/open, ...)
//! and every non-ticket event gives no events. Event ids come from Zendesk's
//! own ids: the ticket id with `started` / `ended` for the lifecycle (one
//! start and one end per ticket whatever is re-delivered), the comment id
//! for messages, the event's own `id` for assignment changes.

use super::{
    contract_event, field_name, parse_object, req_time, AdapterError, AdapterSettings,
    PlatformRecord,
};
use crate::model::Timestamp;
use serde_json::Value;

const PLATFORM: &str = "zendesk";

/// The ticket event types; others (`zen:event-type:user.*`, ...) are not ours.
const TICKET_EVENT: &str = "zen:event-type:ticket.";

/// A ticket tag naming a disposition code: the tag value of a drop-down
/// custom field ("Afhandeling") whose options are tagged `disposition_<code>`.
const DISPOSITION_TAG: &str = "disposition_";

/// Longest Zendesk id (ticket, comment, user, event uuid) we accept, so event
/// ids stay well under 200 bytes. Zendesk's are 20 digits or a 36-char uuid.
const MAX_ZENDESK_ID: usize = 64;

pub fn translate(
    record: &PlatformRecord<'_>,
    settings: &AdapterSettings,
) -> Result<Vec<Value>, AdapterError> {
    let v = parse_object(PLATFORM, record.value)?;
    let kind = match v.get("type") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim(),
        None | Some(Value::Null) | Some(Value::String(_)) => {
            return Err(AdapterError::missing(PLATFORM, "type"))
        }
        Some(_) => return Err(AdapterError::bad(PLATFORM, "type", "is not a string")),
    };
    let Some(kind) = kind.strip_prefix(TICKET_EVENT) else {
        return Ok(vec![]);
    };
    if !matches!(
        kind,
        "created" | "agent_assignment_changed" | "comment_added" | "status_changed" | "merged"
    ) {
        return Ok(vec![]);
    }
    let ticket = Ticket::read(&v)?;
    match kind {
        "created" => created(&v, &ticket, settings),
        "agent_assignment_changed" => assignment_changed(&v, &ticket),
        "comment_added" => comment_added(&v, &ticket),
        "status_changed" => status_changed(&v, &ticket, settings),
        _ => merged(&v, &ticket, settings),
    }
}

/// What every event of one ticket shares.
struct Ticket {
    id: String,
    contact_id: String,
    channel: &'static str,
}

impl Ticket {
    fn read(v: &Value) -> Result<Self, AdapterError> {
        let id = req_id(v, "/detail/id")?;
        let via = match v.pointer("/detail/via/channel") {
            Some(Value::String(s)) if !s.trim().is_empty() => s.as_str(),
            None | Some(Value::Null) | Some(Value::String(_)) => {
                return Err(AdapterError::missing(PLATFORM, "detail.via.channel"))
            }
            Some(_) => {
                return Err(AdapterError::bad(
                    PLATFORM,
                    "detail.via.channel",
                    "is not a string",
                ))
            }
        };
        Ok(Ticket {
            contact_id: format!("ticket/{id}"),
            channel: channel(via),
            id,
        })
    }

    fn event_id(&self, what: &str) -> String {
        format!("{PLATFORM}:ticket/{}:{what}", self.id)
    }

    fn event(&self, what: &str, kind: &str, ts: Timestamp) -> serde_json::Map<String, Value> {
        contract_event(
            self.event_id(what),
            &self.contact_id,
            self.channel,
            kind,
            ts,
        )
    }
}

/// The contract channel of a ticket's `via.channel`. Both the webhook
/// spellings (`mail`, `web_form`, `native_messaging`, `phone_call_inbound`,
/// ...) and the REST API's (`email`, `web`, `api`, `voice`, ...) are read.
/// Anything not named here (web forms, the API, help center, social posts,
/// side conversations, channels Zendesk adds later) counts as e-mail: an
/// asynchronous ticket.
fn channel(via: &str) -> &'static str {
    match via.trim().to_ascii_lowercase().as_str() {
        "voice"
        | "phone"
        | "phone_call_inbound"
        | "phone_call_outbound"
        | "voicemail"
        | "api_phone_call_inbound"
        | "api_phone_call_outbound"
        | "api_voicemail" => "voice",
        "native_messaging"
        | "messaging"
        | "chat"
        | "chat_transcript"
        | "sms"
        | "text_message"
        | "twilio_sms"
        | "messagebird_sms"
        | "connect_sms"
        | "whatsapp"
        | "facebook"
        | "facebook_message"
        | "instagram"
        | "instagram_dm"
        | "twitter_dm"
        | "line"
        | "wechat"
        | "viber"
        | "telegram"
        | "kakaotalk"
        | "apple_business_chat"
        | "google_business_messages"
        | "google_rcs"
        | "business_messaging_slack_connect"
        | "sunshine_conversations_api"
        | "sunshine_conversations_facebook_messenger"
        | "sunshine_conversations_twitter_dm" => "chat",
        _ => "email",
    }
}

/// `ticket.created`: the customer reached the center when the ticket was made.
fn created(
    v: &Value,
    ticket: &Ticket,
    settings: &AdapterSettings,
) -> Result<Vec<Value>, AdapterError> {
    let ts = req_time(PLATFORM, v, "/detail/created_at")?;
    let customer = req_id(v, "/detail/requester_id")?;
    let queue = match opt_id(v, "/detail/group_id")? {
        Some(group) => Some(format!("group/{group}")),
        None => opt_id(v, "/detail/brand_id")?.map(|brand| format!("brand/{brand}")),
    };
    let mut started = ticket.event("started", "contact_started", ts);
    started.insert("customer_id".into(), Value::String(customer));
    if let Some(q) = queue {
        started.insert("queue".into(), Value::String(q));
    }
    // Zendesk's ticket events carry no locale: the service detects the
    // language from the messages.
    let mut out = vec![Value::Object(started)];
    // Created already assigned: assignment changes report changes, so this
    // assignee is named only here.
    if let Some(agent) = opt_id(v, "/detail/assignee_id")? {
        let mut joined = ticket.event("started-agent", "agent_joined", ts);
        joined.insert("agent_id".into(), Value::String(agent));
        out.push(Value::Object(joined));
    }
    // Created already solved (a logged call): the end is named only here.
    if let Some(status) = opt_string(v, "/detail/status")? {
        if is_status(&status, "solved") || is_status(&status, "closed") {
            out.push(ended(v, ticket, settings, &status, ts)?);
        }
    }
    Ok(out)
}

/// `ticket.agent_assignment_changed`: `event.previous` → `event.current`.
fn assignment_changed(v: &Value, ticket: &Ticket) -> Result<Vec<Value>, AdapterError> {
    let previous = opt_id(v, "/event/previous")?;
    let current = opt_id(v, "/event/current")?;
    if previous == current {
        return Ok(vec![]);
    }
    let ts = req_time(PLATFORM, v, "/time")?;
    let event = req_id(v, "/id")?;
    let mut out = Vec::new();
    if let Some(from) = previous {
        let mut transfer = ticket.event(&format!("{event}:transfer"), "transfer", ts);
        transfer.insert("from_agent_id".into(), Value::String(from));
        out.push(Value::Object(transfer));
    }
    if let Some(agent) = current {
        let mut joined = ticket.event(&format!("{event}:joined"), "agent_joined", ts);
        joined.insert("agent_id".into(), Value::String(agent));
        out.push(Value::Object(joined));
    }
    Ok(out)
}

/// `ticket.comment_added`: one e-mail, one chat message, one reply.
fn comment_added(v: &Value, ticket: &Ticket) -> Result<Vec<Value>, AdapterError> {
    if !req_bool(v, "/event/comment/is_public")? {
        // An internal note: never said to the customer.
        return Ok(vec![]);
    }
    let comment = req_id(v, "/event/comment/id")?;
    let staff = req_bool(v, "/event/comment/author/is_staff")?;
    // The comment has no time of its own in the event: the event's is when
    // it was added.
    let ts = req_time(PLATFORM, v, "/time")?;
    // An attachment without words is still a turn.
    let text = opt_string(v, "/event/comment/body")?.unwrap_or_default();
    let mut message = ticket.event(&comment, "message", ts);
    if staff {
        message.insert("party".into(), Value::String("agent".into()));
        let agent = req_id(v, "/event/comment/author/id")?;
        message.insert("agent_id".into(), Value::String(agent));
    } else {
        message.insert("party".into(), Value::String("customer".into()));
    }
    message.insert("text".into(), Value::String(text));
    Ok(vec![Value::Object(message)])
}

/// `ticket.status_changed`: the ticket is over when it is solved, or closed
/// without being solved first (a merge). Closing a solved ticket, and
/// new/open/pending/hold, change nothing for the contract.
fn status_changed(
    v: &Value,
    ticket: &Ticket,
    settings: &AdapterSettings,
) -> Result<Vec<Value>, AdapterError> {
    let current = opt_string(v, "/event/current")?
        .ok_or_else(|| AdapterError::missing(PLATFORM, "event.current"))?;
    let previous = opt_string(v, "/event/previous")?.unwrap_or_default();
    let ends = is_status(&current, "solved")
        || (is_status(&current, "closed") && !is_status(&previous, "solved"));
    if !ends {
        return Ok(vec![]);
    }
    let ts = req_time(PLATFORM, v, "/time")?;
    Ok(vec![ended(v, ticket, settings, &current, ts)?])
}

/// `ticket.merged`: the ticket is closed into another one. Zendesk also
/// reports the status change; both give the same `ended` event.
fn merged(
    v: &Value,
    ticket: &Ticket,
    settings: &AdapterSettings,
) -> Result<Vec<Value>, AdapterError> {
    let ts = req_time(PLATFORM, v, "/time")?;
    let status = opt_string(v, "/detail/status")?.unwrap_or_else(|| "closed".into());
    Ok(vec![ended(v, ticket, settings, &status, ts)?])
}

/// The ticket's one `contact_ended`: the disposition from a
/// `disposition_<code>` tag if the ticket has one, else from its status.
fn ended(
    v: &Value,
    ticket: &Ticket,
    settings: &AdapterSettings,
    status: &str,
    ts: Timestamp,
) -> Result<Value, AdapterError> {
    let code = disposition_tag(v)?.unwrap_or_else(|| status.trim().to_string());
    let mut end = ticket.event("ended", "contact_ended", ts);
    end.insert(
        "disposition".into(),
        Value::String(settings.dispositions.name(&code).into()),
    );
    Ok(Value::Object(end))
}

/// The first `disposition_<code>` tag of `detail.tags` (an array, or the
/// space-separated string Zendesk sometimes sends).
fn disposition_tag(v: &Value) -> Result<Option<String>, AdapterError> {
    let tags: Vec<&str> = match v.pointer("/detail/tags") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) => s.split_whitespace().collect(),
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        Some(_) => {
            return Err(AdapterError::bad(
                PLATFORM,
                "detail.tags",
                "is not a list of tags",
            ))
        }
    };
    Ok(tags.into_iter().find_map(|t| {
        let t = t.trim();
        let prefix = t.get(..DISPOSITION_TAG.len())?;
        let code = &t[DISPOSITION_TAG.len()..];
        (prefix.eq_ignore_ascii_case(DISPOSITION_TAG) && !code.is_empty()).then(|| code.to_string())
    }))
}

fn is_status(status: &str, name: &str) -> bool {
    status.trim().eq_ignore_ascii_case(name)
}

/// A Zendesk id (ticket, user, comment, event) at a JSON pointer: a string
/// or an integer. Absent, null, blank and `0` (Zendesk's "none") are `None`.
fn opt_id(v: &Value, pointer: &str) -> Result<Option<String>, AdapterError> {
    let bad = |problem: &str| AdapterError::bad(PLATFORM, field_name(pointer), problem);
    match v.pointer(pointer) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => {
            let s = s.trim();
            if s.is_empty() || s == "0" {
                Ok(None)
            } else if s.len() > MAX_ZENDESK_ID || s.chars().any(char::is_control) {
                Err(bad("is not a Zendesk id"))
            } else {
                Ok(Some(s.to_string()))
            }
        }
        Some(Value::Number(n)) => match n.as_u64() {
            Some(0) => Ok(None),
            Some(id) => Ok(Some(id.to_string())),
            None => Err(bad("is not a Zendesk id")),
        },
        Some(_) => Err(bad("is not an id (a string or an integer)")),
    }
}

fn req_id(v: &Value, pointer: &str) -> Result<String, AdapterError> {
    opt_id(v, pointer)?.ok_or_else(|| AdapterError::missing(PLATFORM, field_name(pointer)))
}

/// A string at a JSON pointer; absent or null is `None`, another type an error.
fn opt_string(v: &Value, pointer: &str) -> Result<Option<String>, AdapterError> {
    match v.pointer(pointer) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(AdapterError::bad(
            PLATFORM,
            field_name(pointer),
            "is not a string",
        )),
    }
}

fn req_bool(v: &Value, pointer: &str) -> Result<bool, AdapterError> {
    match v.pointer(pointer) {
        Some(Value::Bool(b)) => Ok(*b),
        None | Some(Value::Null) => Err(AdapterError::missing(PLATFORM, field_name(pointer))),
        Some(_) => Err(AdapterError::bad(
            PLATFORM,
            field_name(pointer),
            "is not true or false",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures;
    use super::super::{InputFormat, PlatformRecord};
    use super::*;
    use serde_json::json;

    fn run(value: &Value) -> Result<Vec<Value>, AdapterError> {
        let bytes = serde_json::to_vec(value).unwrap();
        let record = PlatformRecord {
            value: &bytes,
            timestamp_ms: Some(1_795_424_400_000),
        };
        translate(&record, &AdapterSettings::default())
    }

    /// A ticket event around `detail` and `event`.
    fn ticket_event(kind: &str, via: &str, event: Value) -> Value {
        json!({
            "type": format!("zen:event-type:ticket.{kind}"),
            "account_id": 31415926,
            "id": "6f1c0b7e-2d4a-4c1e-9b1f-0a7d3e5c9b21",
            "time": "2026-11-23T09:00:05.250000000Z",
            "zendesk_event_version": "2022-11-06",
            "subject": "zen:ticket:90001",
            "detail": {
                "id": "90001",
                "created_at": "2026-11-23T09:00:00Z",
                "requester_id": "39001009999",
                "assignee_id": null,
                "group_id": "360001234501",
                "status": "OPEN",
                "tags": [],
                "via": { "channel": via }
            },
            "event": event
        })
    }

    fn comment(staff: bool, public: bool, body: &str) -> Value {
        json!({ "comment": {
            "id": "71009999001", "body": body, "is_public": public,
            "author": { "id": "39000000299", "is_staff": staff, "name": "Test Agent" }
        }})
    }

    #[test]
    fn fixtures_translate_to_the_hand_written_events() {
        fixtures::check(
            InputFormat::Zendesk,
            &fixtures::settings(InputFormat::Zendesk),
        );
    }

    #[test]
    fn redelivery_gives_identical_ids() {
        let e = ticket_event("comment_added", "mail", comment(true, true, "Hello"));
        let first = run(&e).unwrap();
        let again = run(&e).unwrap();
        assert_eq!(first, again);
        assert_eq!(first[0]["event_id"], "zendesk:ticket/90001:71009999001");
        // The same comment in a later event (another event uuid and time)
        // is still the same message.
        let mut later = e.clone();
        later["id"] = json!("00000000-0000-4000-8000-000000000001");
        later["time"] = json!("2026-11-23T09:30:00Z");
        assert_eq!(run(&later).unwrap()[0]["event_id"], first[0]["event_id"]);
        // Solving twice (reopened, solved again) names the one end.
        let solved = ticket_event(
            "status_changed",
            "mail",
            json!({ "current": "SOLVED", "previous": "OPEN" }),
        );
        let mut again = solved.clone();
        again["time"] = json!("2026-11-24T10:00:00Z");
        again["event"]["previous"] = json!("PENDING");
        assert_eq!(
            run(&solved).unwrap()[0]["event_id"],
            run(&again).unwrap()[0]["event_id"]
        );
    }

    #[test]
    fn records_without_contract_meaning_are_ignored() {
        for (kind, event) in [
            (
                "priority_changed",
                json!({ "current": "HIGH", "previous": "NORMAL" }),
            ),
            (
                "status_changed",
                json!({ "current": "PENDING", "previous": "OPEN" }),
            ),
            (
                "status_changed",
                json!({ "current": "HOLD", "previous": "OPEN" }),
            ),
            (
                "status_changed",
                json!({ "current": "OPEN", "previous": "NEW" }),
            ),
            (
                "status_changed",
                json!({ "current": "CLOSED", "previous": "SOLVED" }),
            ),
            (
                "agent_assignment_changed",
                json!({ "current": null, "previous": null }),
            ),
            (
                "agent_assignment_changed",
                json!({ "current": "5", "previous": 5 }),
            ),
            ("comment_added", comment(true, false, "interne notitie")),
            (
                "tags_changed",
                json!({ "tags_added": ["x"], "tags_removed": [] }),
            ),
        ] {
            assert_eq!(
                run(&ticket_event(kind, "mail", event)).unwrap(),
                Vec::<Value>::new(),
                "{kind}"
            );
        }
        let user = json!({ "type": "zen:event-type:user.active_changed", "detail": { "id": "1" } });
        assert_eq!(run(&user).unwrap(), Vec::<Value>::new());
    }

    #[test]
    fn via_channels_map_to_the_contract_channels() {
        for (via, want) in [
            ("mail", "email"),
            ("email", "email"),
            ("web", "email"),
            ("web_form", "email"),
            ("api", "email"),
            ("web_service", "email"),
            ("native_messaging", "chat"),
            ("chat", "chat"),
            ("sms", "chat"),
            ("WhatsApp", "chat"),
            ("facebook_message", "chat"),
            ("instagram_dm", "chat"),
            ("voice", "voice"),
            ("phone_call_inbound", "voice"),
            ("voicemail", "voice"),
            ("something_new", "email"),
        ] {
            let events = run(&ticket_event(
                "comment_added",
                via,
                comment(false, true, "hi"),
            ))
            .unwrap();
            assert_eq!(events[0]["channel"], want, "{via}");
        }
    }

    #[test]
    fn reassignment_is_a_transfer_then_a_join_and_unassignment_a_transfer() {
        let e = ticket_event(
            "agent_assignment_changed",
            "mail",
            json!({ "previous": 39000000201u64, "current": "39000000202" }),
        );
        let out = run(&e).unwrap();
        assert_eq!(out.len(), 2);
        assert_eq!(out[0]["type"], "transfer");
        assert_eq!(out[0]["from_agent_id"], "39000000201");
        assert_eq!(out[1]["type"], "agent_joined");
        assert_eq!(out[1]["agent_id"], "39000000202");
        assert_ne!(out[0]["event_id"], out[1]["event_id"]);
        assert_eq!(out[0]["ts"], out[1]["ts"]);
        let e = ticket_event(
            "agent_assignment_changed",
            "mail",
            json!({ "previous": "39000000201", "current": null }),
        );
        let out = run(&e).unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0]["type"], "transfer");
    }

    #[test]
    fn a_ticket_created_assigned_and_solved_starts_joins_and_ends_at_once() {
        let mut e = ticket_event("created", "voice", json!({}));
        e["detail"]["assignee_id"] = json!(39000000205u64);
        e["detail"]["status"] = json!("SOLVED");
        e["detail"]["group_id"] = json!("0");
        e["detail"]["brand_id"] = json!("360000098701");
        let out = run(&e).unwrap();
        let kinds: Vec<&str> = out.iter().map(|e| e["type"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["contact_started", "agent_joined", "contact_ended"]);
        assert_eq!(out[0]["queue"], "brand/360000098701");
        assert_eq!(out[0]["ts"], "2026-11-23T09:00:00.000Z");
        assert_eq!(out[1]["agent_id"], "39000000205");
        // The same end as a later status change to solved would name.
        assert_eq!(out[2]["event_id"], "zendesk:ticket/90001:ended");
        assert!(out.iter().all(|e| e["channel"] == "voice"));
    }

    #[test]
    fn a_disposition_tag_overrides_the_status() {
        let mut e = ticket_event(
            "status_changed",
            "mail",
            json!({ "current": "SOLVED", "previous": "OPEN" }),
        );
        assert_eq!(run(&e).unwrap()[0]["disposition"], "resolved");
        e["detail"]["tags"] = json!(["vip", "disposition_escalated"]);
        assert_eq!(run(&e).unwrap()[0]["disposition"], "escalated");
        e["detail"]["tags"] = json!("vip disposition_callback");
        assert_eq!(run(&e).unwrap()[0]["disposition"], "callback_scheduled");
    }

    #[test]
    fn errors_name_the_field_and_never_the_content() {
        let secret = "Mijn rekeningnummer is NL91ABNA0417164300";
        let mut e = ticket_event("comment_added", "mail", comment(true, true, secret));
        e["event"]["comment"]["author"]["id"] = Value::Null;
        e["detail"]["requester_id"] = json!("cust-secret-777");
        let err = run(&e).unwrap_err();
        let msg = err.to_string();
        assert_eq!(err.reason(), "platform_missing_field");
        assert!(msg.starts_with("zendesk"), "{msg}");
        assert!(msg.contains("event.comment.author.id"), "{msg}");
        assert!(
            !msg.contains("NL91") && !msg.contains("cust-secret"),
            "{msg}"
        );

        let mut e = ticket_event("comment_added", "mail", comment(false, true, secret));
        e["time"] = json!(secret);
        let msg = run(&e).unwrap_err().to_string();
        assert!(msg.contains("time") && !msg.contains("NL91"), "{msg}");

        let mut e = ticket_event("created", "mail", json!({}));
        e["detail"]["via"]["channel"] = json!({ "name": secret });
        let msg = run(&e).unwrap_err().to_string();
        assert!(
            msg.contains("detail.via.channel") && !msg.contains("NL91"),
            "{msg}"
        );
    }
}
