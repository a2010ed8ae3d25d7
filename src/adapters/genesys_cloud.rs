//! Genesys Cloud: conversation detail events and message records.
//!
//! Two kinds of record arrive:
//!
//! - **Conversation detail events**, the notification topics
//!   `v2.detail.events.conversation.{id}.<event>`, either as Genesys' Amazon
//!   EventBridge integration delivers them (`{"version", "id",
//!   "detail-type", "source", "time", "detail": {"topicName", "version",
//!   "eventBody", "metadata"}}`) or as the bare notification payload
//!   (`{"topicName", "version", "eventBody", "metadata"}`). The event bodies
//!   (`CustomerStartEvent`, `UserStartEvent`, `UserEndEvent`,
//!   `AfterCallWorkEvent`, `AcdEndEvent`, …) carry `eventTime` (ms since the
//!   epoch), `conversationId`, `participantId`, `sessionId`, `mediaType`
//!   and the event's own fields.
//! - **Messages** of messaging conversations (web messaging, open
//!   messaging, SMS, WhatsApp, …) as the Conversations API's `MessageData`
//!   object (`GET /api/v2/conversations/messages/{conversationId}/messages/
//!   {messageId}`, or one entry of the bulk call): `id`, `conversationId`,
//!   `timestamp`, `direction` (`inbound`/`outbound`), `createdBy` (the user
//!   who sent it), `textBody` and `normalizedMessage` (`text`, `type`,
//!   `direction`, `originatingEntity` `Human`/`Bot`).
//!
//! Mapping (one contact = one Genesys conversation, `contact_id` =
//! `conversationId`):
//!
//! | topic / record | contract |
//! |---|---|
//! | `customer.start` | `contact_started` (customer = `ani`, `addressFrom`, …) |
//! | `user.start` | `agent_joined` (`userId`) |
//! | `user.end` with a `*TRANSFER` `disconnectType` | `transfer` (`userId`) |
//! | `acw` | `contact_ended`, disposition from `wrapupCode` |
//! | `acd.end` with `acdOutcome` `ABANDON` | `contact_ended` (abandoned) |
//! | `MessageData` inbound / outbound by a person | `message` customer / agent |
//! | everything else (`acd.start`, `customer.end`, `attributes`, bots, receipts, heartbeats, co-browse, …) | nothing |
//!
//! Event ids: `genesys-cloud:<conversationId>:<participantId>:<sessionId,
//! or eventTime without one>:<event type>` and
//! `genesys-cloud:<conversationId>:<message id>:message`, so the same event
//! through EventBridge or as a bare notification, delivered once or twice,
//! has the same id.

use super::{
    contract_event, opt_str, opt_time, parse_object, time_from_millis, AdapterError,
    AdapterSettings, PlatformRecord,
};
use crate::model::Timestamp;
use serde_json::Value;
use std::borrow::Cow;

const PLATFORM: &str = "genesys-cloud";

/// Every conversation detail event topic starts so; the conversation id and
/// the event's name follow (`…conversation.{id}.customer.start`).
const DETAIL_TOPIC: &str = "v2.detail.events.conversation.";

/// Longest id taken into an event id. Genesys ids are UUIDs (36 bytes) and
/// message ids 32 hex digits; three of these keep event ids under 200 bytes.
const MAX_ID_BYTES: usize = 48;

/// Which detail events carry something the contract has a place for.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Topic {
    CustomerStart,
    UserStart,
    UserEnd,
    AfterCallWork,
    AcdEnd,
}

pub fn translate(
    record: &PlatformRecord<'_>,
    settings: &AdapterSettings,
) -> Result<Vec<Value>, AdapterError> {
    let root = parse_object(PLATFORM, record.value)?;
    let is_notification = ["detail", "topicName", "detail-type", "eventBody"]
        .iter()
        .any(|k| root.get(k).is_some());
    let is_message = [
        "conversationId",
        "normalizedMessage",
        "textBody",
        "direction",
    ]
    .iter()
    .any(|k| root.get(k).is_some());
    if is_notification {
        detail_event(&root, settings)
    } else if is_message {
        message(&root)
    } else {
        Err(AdapterError::missing(PLATFORM, "topicName"))
    }
}

fn detail_event(root: &Value, settings: &AdapterSettings) -> Result<Vec<Value>, AdapterError> {
    // The EventBridge envelope holds the notification in `detail`.
    let (inner, prefix) = match root.get("detail") {
        Some(d @ Value::Object(_)) => (d, "detail."),
        None | Some(Value::Null) => (root, ""),
        Some(_) => return Err(AdapterError::bad(PLATFORM, "detail", "is not an object")),
    };
    let topic = opt_str(inner, "/topicName")
        .or_else(|| opt_str(root, "/detail-type"))
        .ok_or_else(|| AdapterError::missing(PLATFORM, format!("{prefix}topicName")))?;
    // Other topics (user presence, heartbeats, …) are nothing for the contract.
    let Some((topic_conversation, event)) = topic
        .strip_prefix(DETAIL_TOPIC)
        .and_then(|rest| rest.split_once('.'))
    else {
        return Ok(vec![]);
    };
    let kind = match event {
        "customer.start" => Topic::CustomerStart,
        "user.start" => Topic::UserStart,
        "user.end" => Topic::UserEnd,
        "acw" => Topic::AfterCallWork,
        "acd.end" => Topic::AcdEnd,
        // acd.start (the queue has no place once the contact started),
        // customer.end (an answered contact ends with its wrap-up),
        // attributes, contact, flow.*, outbound, …
        _ => return Ok(vec![]),
    };
    let body = match inner.get("eventBody") {
        Some(b @ Value::Object(_)) => b,
        None | Some(Value::Null) => {
            return Err(AdapterError::missing(
                PLATFORM,
                format!("{prefix}eventBody"),
            ))
        }
        Some(_) => {
            return Err(AdapterError::bad(
                PLATFORM,
                format!("{prefix}eventBody"),
                "is not an object",
            ))
        }
    };
    let field = |name: &str| format!("{prefix}eventBody.{name}");

    // Only some endings are events of the contract; the rest are ignored
    // before anything else is required of them.
    match kind {
        Topic::UserEnd if !opt_str(body, "/disconnectType").is_some_and(|d| is_transfer(&d)) => {
            return Ok(vec![]);
        }
        Topic::AcdEnd
            if !opt_str(body, "/acdOutcome").is_some_and(|o| o.eq_ignore_ascii_case("ABANDON")) =>
        {
            return Ok(vec![]);
        }
        _ => {}
    }

    let Some((channel, media)) = channel(body, &field("mediaType"))? else {
        return Ok(vec![]);
    };
    let conversation_id = id_at(body, "/conversationId", field("conversationId"))?;
    if topic_conversation != "{id}" && topic_conversation != conversation_id {
        return Err(AdapterError::bad(
            PLATFORM,
            format!("{prefix}topicName"),
            "names another conversation than eventBody.conversationId",
        ));
    }
    let participant_id = id_at(body, "/participantId", field("participantId"))?;
    let (ts, event_ms) = event_time(body, field("eventTime"))?;
    let session = match body.get("sessionId") {
        None | Some(Value::Null) => Cow::Owned(event_ms.to_string()),
        Some(_) => id_at(body, "/sessionId", field("sessionId"))?,
    };
    let event_id =
        |what: &str| format!("{PLATFORM}:{conversation_id}:{participant_id}:{session}:{what}");

    let event = match kind {
        Topic::CustomerStart => {
            let customer = customer_id(body, media).ok_or_else(|| {
                let name = if channel == "voice" {
                    "ani"
                } else {
                    "addressFrom"
                };
                AdapterError::missing(PLATFORM, field(name))
            })?;
            let mut e = contract_event(
                event_id("contact_started"),
                &conversation_id,
                channel,
                "contact_started",
                ts,
            );
            e.insert("customer_id".into(), Value::String(customer.into_owned()));
            e
        }
        Topic::UserStart => {
            let user = id_at(body, "/userId", field("userId"))?;
            let mut e = contract_event(
                event_id("agent_joined"),
                &conversation_id,
                channel,
                "agent_joined",
                ts,
            );
            e.insert("agent_id".into(), Value::String(user.into_owned()));
            e
        }
        Topic::UserEnd => {
            let user = id_at(body, "/userId", field("userId"))?;
            let mut e = contract_event(
                event_id("transfer"),
                &conversation_id,
                channel,
                "transfer",
                ts,
            );
            e.insert("from_agent_id".into(), Value::String(user.into_owned()));
            e
        }
        Topic::AfterCallWork => {
            // The wrap-up ends the contact: handle time includes after-call
            // work, as the industry's average handle time does. Every agent
            // wraps up, also one who transferred: a code configured as
            // `transferred` ends that agent's part only.
            let code = opt_str(body, "/wrapupCode");
            if code
                .as_deref()
                .is_some_and(|c| settings.dispositions.passes_on(c))
            {
                return Ok(vec![]);
            }
            let disposition = match code {
                Some(code) => settings.dispositions.name(&code),
                None => settings.dispositions.unmapped().as_str(),
            };
            let mut e = contract_event(
                event_id("contact_ended"),
                &conversation_id,
                channel,
                "contact_ended",
                ts,
            );
            e.insert("disposition".into(), Value::String(disposition.into()));
            e
        }
        Topic::AcdEnd => {
            // The customer gave up in the queue: abandoned if no agent had
            // joined, whatever the disposition.
            let mut e = contract_event(
                event_id("contact_ended"),
                &conversation_id,
                channel,
                "contact_ended",
                ts,
            );
            e.insert(
                "disposition".into(),
                Value::String(settings.dispositions.unmapped().as_str().into()),
            );
            e
        }
    };
    Ok(vec![Value::Object(event)])
}

/// `disconnectType` values that hand the contact on to someone else.
fn is_transfer(disconnect_type: &str) -> bool {
    [
        "TRANSFER",
        "CONSULT_TRANSFER",
        "FORWARD_TRANSFER",
        "CONFERENCE_TRANSFER",
        "NO_ANSWER_TRANSFER",
        "NOT_AVAILABLE_TRANSFER",
        "DND_TRANSFER",
    ]
    .iter()
    .any(|t| t.eq_ignore_ascii_case(disconnect_type.trim()))
}

/// The contract channel of `mediaType` (and the media type, upper case), or
/// `None` for Genesys media types the contract has no channel for.
fn channel(body: &Value, field: &str) -> Result<Option<(&'static str, String)>, AdapterError> {
    let media = match body.get("mediaType") {
        None | Some(Value::Null) => return Err(AdapterError::missing(PLATFORM, field)),
        Some(Value::String(s)) if s.trim().is_empty() => {
            return Err(AdapterError::missing(PLATFORM, field))
        }
        Some(Value::String(s)) => s.trim().to_ascii_uppercase(),
        Some(_) => return Err(AdapterError::bad(PLATFORM, field, "is not a string")),
    };
    let channel = match media.as_str() {
        "VOICE" | "CALLBACK" => "voice",
        "EMAIL" => "email",
        "CHAT" | "MESSAGE" => "chat",
        // Documented media types without a contract channel.
        "COBROWSE" | "VIDEO" | "SCREENSHARE" | "INTERNALMESSAGE" | "UNKNOWN" => return Ok(None),
        _ => {
            return Err(AdapterError::bad(
                PLATFORM,
                field,
                "is not a Genesys Cloud media type",
            ))
        }
    };
    Ok(Some((channel, media)))
}

/// The customer's address: the caller's number for calls, the sender's
/// address (e-mail address, messaging id) otherwise, then the external
/// contact Genesys matched.
fn customer_id<'a>(body: &'a Value, media: String) -> Option<Cow<'a, str>> {
    let pointers: &[&str] = match media.as_str() {
        "VOICE" => &["/ani", "/addressFrom"],
        "CALLBACK" => &["/ani", "/addressFrom", "/callbackNumbers/0"],
        _ => &["/addressFrom", "/ani"],
    };
    pointers
        .iter()
        .chain(&["/externalContactId", "/conversationExternalContactIds/0"])
        .find_map(|p| opt_str(body, p))
}

/// An id at a JSON pointer: a string (or number) of at most
/// [`MAX_ID_BYTES`] bytes.
fn id_at<'a>(v: &'a Value, pointer: &str, field: String) -> Result<Cow<'a, str>, AdapterError> {
    let id = match v.pointer(pointer) {
        None | Some(Value::Null) => return Err(AdapterError::missing(PLATFORM, field)),
        Some(Value::String(s)) if s.trim().is_empty() => {
            return Err(AdapterError::missing(PLATFORM, field))
        }
        Some(Value::String(s)) => Cow::Borrowed(s.trim()),
        Some(Value::Number(n)) => Cow::Owned(n.to_string()),
        Some(_) => return Err(AdapterError::bad(PLATFORM, field, "is not a string")),
    };
    if id.len() > MAX_ID_BYTES {
        return Err(AdapterError::bad(
            PLATFORM,
            field,
            format!("is longer than {MAX_ID_BYTES} bytes (Genesys ids are UUIDs)"),
        ));
    }
    Ok(id)
}

/// `eventTime`: milliseconds since the epoch, as a time and as the number.
fn event_time(body: &Value, field: String) -> Result<(Timestamp, i64), AdapterError> {
    use chrono::Datelike;
    match body.get("eventTime") {
        None | Some(Value::Null) => Err(AdapterError::missing(PLATFORM, field)),
        Some(Value::Number(n)) => n
            .as_i64()
            .filter(|ms| *ms >= 0)
            .and_then(|ms| time_from_millis(ms).map(|t| (t, ms)))
            .filter(|(t, _)| t.year() <= 8999)
            .ok_or_else(|| {
                AdapterError::bad(
                    PLATFORM,
                    field,
                    "is not a time in whole milliseconds since 1970",
                )
            }),
        Some(_) => Err(AdapterError::bad(
            PLATFORM,
            field,
            "is not a number (milliseconds since the epoch)",
        )),
    }
}

/// One `MessageData` record: a customer's message, or a person's reply.
/// Bots, flows' automatic messages, receipts and typing or presence events
/// are no turns of the conversation.
fn message(root: &Value) -> Result<Vec<Value>, AdapterError> {
    if opt_str(root, "/normalizedMessage/type")
        .is_some_and(|t| t.eq_ignore_ascii_case("Receipt") || t.eq_ignore_ascii_case("Event"))
    {
        return Ok(vec![]);
    }
    let conversation_id = id_at(root, "/conversationId", "conversationId".into())?;
    let message_id = id_at(root, "/id", "id".into())?;
    let direction = opt_str(root, "/direction")
        .or_else(|| opt_str(root, "/normalizedMessage/direction"))
        .ok_or_else(|| AdapterError::missing(PLATFORM, "direction"))?;
    let inbound = if direction.eq_ignore_ascii_case("inbound") {
        true
    } else if direction.eq_ignore_ascii_case("outbound") {
        false
    } else {
        return Err(AdapterError::bad(
            PLATFORM,
            "direction",
            "is neither inbound nor outbound",
        ));
    };
    let mut agent_id = None;
    if !inbound {
        let entity = opt_str(root, "/normalizedMessage/originatingEntity");
        if entity
            .as_deref()
            .is_some_and(|e| e.eq_ignore_ascii_case("Bot"))
        {
            return Ok(vec![]);
        }
        agent_id = match root.get("createdBy") {
            None | Some(Value::Null) => None,
            Some(Value::Object(_)) => Some(id_at(root, "/createdBy/id", "createdBy.id".into())?),
            Some(_) => return Err(AdapterError::bad(PLATFORM, "createdBy", "is not an object")),
        };
        // Sent by no user and not marked as a person's: an automatic
        // message (a flow's, an agentless notification).
        if agent_id.is_none()
            && !entity
                .as_deref()
                .is_some_and(|e| e.eq_ignore_ascii_case("Human"))
        {
            return Ok(vec![]);
        }
    }
    let ts = match opt_time(PLATFORM, root, "/timestamp")? {
        Some(t) => t,
        None => opt_time(PLATFORM, root, "/normalizedMessage/channel/time")?
            .ok_or_else(|| AdapterError::missing(PLATFORM, "timestamp"))?,
    };
    // `textBody` is deprecated in favour of `normalizedMessage.text`. A
    // message with neither is a turn when it carries an attachment or a
    // sticker; otherwise it is a presence or disconnect event.
    let text = [
        root.pointer("/normalizedMessage/text"),
        root.pointer("/textBody"),
    ]
    .into_iter()
    .flatten()
    .filter_map(Value::as_str)
    .find(|t| !t.trim().is_empty());
    let text = match text {
        Some(t) => t,
        None if carries_media(root) => "",
        None => return Ok(vec![]),
    };
    let mut e = contract_event(
        format!("{PLATFORM}:{conversation_id}:{message_id}:message"),
        &conversation_id,
        "chat",
        "message",
        ts,
    );
    let party = if inbound { "customer" } else { "agent" };
    e.insert("party".into(), Value::String(party.into()));
    if let Some(agent) = agent_id {
        e.insert("agent_id".into(), Value::String(agent.into_owned()));
    }
    e.insert("text".into(), Value::String(text.into()));
    Ok(vec![Value::Object(e)])
}

/// Whether a message carries an attachment or a sticker (in its normalized
/// `content`, or the deprecated `media` and `stickers`).
fn carries_media(root: &Value) -> bool {
    let non_empty = |p: &str| {
        root.pointer(p)
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty())
    };
    let content = root
        .pointer("/normalizedMessage/content")
        .and_then(Value::as_array)
        .is_some_and(|items| {
            items.iter().any(|c| {
                c.get("attachment").is_some()
                    || c.get("contentType")
                        .and_then(Value::as_str)
                        .is_some_and(|t| {
                            t.eq_ignore_ascii_case("Attachment")
                                || t.eq_ignore_ascii_case("Sticker")
                        })
            })
        });
    content || non_empty("/media") || non_empty("/stickers")
}

#[cfg(test)]
mod tests {
    use super::super::InputFormat;
    use super::*;
    use serde_json::json;

    const CONV: &str = "3f6a1c2e-8b7d-4e21-9a55-1c0d2e3f4a99";

    fn settings() -> AdapterSettings {
        super::super::fixtures::settings(InputFormat::GenesysCloud)
    }

    fn run(v: &Value) -> Result<Vec<Value>, AdapterError> {
        let bytes = serde_json::to_vec(v).unwrap();
        translate(
            &PlatformRecord {
                value: &bytes,
                timestamp_ms: Some(1_795_420_900_000),
            },
            &settings(),
        )
    }

    fn body(extra: Value) -> Value {
        let mut b = json!({
            "eventTime": 1_795_420_805_120_i64,
            "conversationId": CONV,
            "participantId": "9b2e4d10-6c1a-4f3e-8d7b-0000000c0199",
            "sessionId": "e5a7c3b1-2d4f-4a6b-9c8e-000000005199",
            "mediaType": "VOICE",
            "direction": "INBOUND",
            "ani": "tel:+31612349876",
            "userId": "7c1e9f20-3b4a-4d5e-8f60-71a2b3c4d599",
        });
        for (k, v) in extra.as_object().unwrap() {
            b[k] = v.clone();
        }
        b
    }

    fn eventbridge(event: &str, body: Value) -> Value {
        json!({
            "version": "0",
            "id": "0b9e2c71-4a5d-4e8f-b1a2-c3d4e5f60799",
            "detail-type": format!("v2.detail.events.conversation.{{id}}.{event}"),
            "source": "aws.partner/genesys.com/cloud/0e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b/kpi",
            "time": "2026-11-23T08:00:05Z",
            "detail": {
                "topicName": format!("v2.detail.events.conversation.{CONV}.{event}"),
                "version": "2",
                "eventBody": body,
                "metadata": {"CorrelationId": "4d6f8a10-2b3c-4d5e-8f70-81a2b3c4d599"}
            }
        })
    }

    fn notification(event: &str, body: Value) -> Value {
        json!({
            "topicName": format!("v2.detail.events.conversation.{CONV}.{event}"),
            "version": "2",
            "eventBody": body,
            "metadata": {"CorrelationId": "4d6f8a10-2b3c-4d5e-8f70-81a2b3c4d599"}
        })
    }

    fn ids(events: &[Value]) -> Vec<String> {
        events
            .iter()
            .map(|e| e["event_id"].as_str().unwrap().to_string())
            .collect()
    }

    #[test]
    fn the_fixtures_translate_to_the_hand_written_events() {
        super::super::fixtures::check(
            InputFormat::GenesysCloud,
            &super::super::fixtures::settings(InputFormat::GenesysCloud),
        );
    }

    #[test]
    fn re_delivery_and_either_envelope_give_the_same_ids() {
        for event in ["customer.start", "user.start", "acw"] {
            let eb = run(&eventbridge(event, body(json!({})))).unwrap();
            let again = run(&eventbridge(event, body(json!({})))).unwrap();
            let bare = run(&notification(event, body(json!({})))).unwrap();
            assert_eq!(eb.len(), 1, "{event}");
            assert_eq!(eb, again, "{event}");
            assert_eq!(eb, bare, "{event}");
        }
        let started = run(&notification("customer.start", body(json!({})))).unwrap();
        assert_eq!(
            ids(&started),
            [format!(
                "genesys-cloud:{CONV}:9b2e4d10-6c1a-4f3e-8d7b-0000000c0199:e5a7c3b1-2d4f-4a6b-9c8e-000000005199:contact_started"
            )]
        );
        // Without a session the event time stands in for it.
        let mut b = body(json!({}));
        b.as_object_mut().unwrap().remove("sessionId");
        let joined = run(&notification("user.start", b)).unwrap();
        assert!(ids(&joined)[0].ends_with(":1795420805120:agent_joined"));
        assert!(ids(&joined)[0].len() < 200);
    }

    #[test]
    fn records_without_a_contract_event_are_ignored() {
        let ignored = [
            eventbridge("acd.start", body(json!({"queueId": "q"}))),
            eventbridge("acd.end", body(json!({"acdOutcome": "ANSWERED"}))),
            eventbridge("acd.end", body(json!({"acdOutcome": "FLOW_OUT"}))),
            eventbridge("customer.end", body(json!({"disconnectType": "PEER"}))),
            eventbridge("user.end", body(json!({"disconnectType": "CLIENT"}))),
            eventbridge("user.end", body(json!({}))),
            eventbridge("attributes", json!({"conversationId": CONV})),
            eventbridge("flow.outcome", json!({})),
            eventbridge("customer.start", body(json!({"mediaType": "COBROWSE"}))),
            eventbridge("user.start", body(json!({"mediaType": "SCREENSHARE"}))),
            json!({"topicName": "channel.metadata", "eventBody": {"message": "WebSocket Heartbeat"}}),
            json!({"topicName": "v2.users.7c1e9f20-3b4a-4d5e-8f60-71a2b3c4d599.activity", "eventBody": {}}),
            // a bot's message, an automatic one, a receipt, a typing event
            json!({"id": "m1", "conversationId": CONV, "timestamp": "2026-11-23T08:10:01Z", "direction": "outbound",
                   "normalizedMessage": {"type": "Text", "text": "Even geduld", "originatingEntity": "Bot"}}),
            json!({"id": "m2", "conversationId": CONV, "timestamp": "2026-11-23T08:10:01Z", "direction": "outbound",
                   "textBody": "U staat in de wachtrij"}),
            json!({"id": "m3", "conversationId": CONV, "timestamp": "2026-11-23T08:10:01Z", "direction": "outbound",
                   "normalizedMessage": {"type": "Receipt", "status": "Delivered"}}),
            json!({"id": "m4", "conversationId": CONV, "timestamp": "2026-11-23T08:10:01Z", "direction": "inbound",
                   "normalizedMessage": {"type": "Event", "events": [{"eventType": "Typing"}]}}),
            // a presence or disconnect event fetched without normalizedMessage
            json!({"id": "m10", "conversationId": CONV, "timestamp": "2026-11-23T08:10:01Z", "direction": "inbound",
                   "textBody": null, "status": "received"}),
        ];
        for record in ignored {
            assert_eq!(run(&record).unwrap(), Vec::<Value>::new(), "{record}");
        }
    }

    #[test]
    fn media_types_map_to_channels() {
        for (media, channel) in [
            ("VOICE", "voice"),
            ("CALLBACK", "voice"),
            ("EMAIL", "email"),
            ("CHAT", "chat"),
            ("MESSAGE", "chat"),
            ("message", "chat"),
        ] {
            let e = run(&notification(
                "customer.start",
                body(json!({"mediaType": media, "addressFrom": "klant@example.nl"})),
            ))
            .unwrap();
            assert_eq!(e[0]["channel"], channel, "{media}");
        }
        // The customer is the caller for calls, the sender otherwise.
        let call = run(&notification(
            "customer.start",
            body(json!({"addressFrom": "sip:trunk"})),
        ))
        .unwrap();
        assert_eq!(call[0]["customer_id"], "tel:+31612349876");
        let mail = run(&notification(
            "customer.start",
            body(json!({"mediaType": "EMAIL", "addressFrom": "klant@example.nl"})),
        ))
        .unwrap();
        assert_eq!(mail[0]["customer_id"], "klant@example.nl");
        let mut known = body(json!({"mediaType": "MESSAGE", "externalContactId": "ext-7"}));
        known.as_object_mut().unwrap().remove("ani");
        let known = run(&notification("customer.start", known)).unwrap();
        assert_eq!(known[0]["customer_id"], "ext-7");
        // Messages are chat turns.
        let m = run(&json!({"id": "m5", "conversationId": CONV, "timestamp": "2026-11-23T08:10:01Z",
                            "direction": "inbound", "messengerType": "whatsapp", "textBody": "Hallo"}))
        .unwrap();
        assert_eq!(m[0]["channel"], "chat");
        assert_eq!(m[0]["party"], "customer");
        assert_eq!(m[0]["text"], "Hallo");
        // A photo without words is still the customer's turn.
        let photo = run(&json!({"id": "m11", "conversationId": CONV, "timestamp": "2026-11-23T08:10:02Z",
                                "direction": "inbound", "textBody": "",
                                "media": [{"url": "https://example.invalid/p.jpg", "mediaType": "image/jpeg"}]}))
        .unwrap();
        assert_eq!(photo[0]["party"], "customer");
        assert_eq!(photo[0]["text"], "");
    }

    #[test]
    fn transfers_wrap_ups_and_abandons() {
        for d in [
            "TRANSFER",
            "consult_transfer",
            "NO_ANSWER_TRANSFER",
            "FORWARD_TRANSFER",
        ] {
            let e = run(&eventbridge("user.end", body(json!({"disconnectType": d})))).unwrap();
            assert_eq!(e[0]["type"], "transfer", "{d}");
            assert_eq!(
                e[0]["from_agent_id"],
                "7c1e9f20-3b4a-4d5e-8f60-71a2b3c4d599"
            );
        }
        // Codes as configured; without a code, or with an unknown one, the
        // center's "unmapped" disposition.
        let coded = run(&eventbridge(
            "acw",
            body(json!({"wrapupCode": "5F0C8A52-1D7E-4B8A-A0C3-2E9D61B7C004"})),
        ))
        .unwrap();
        assert_eq!(coded[0]["disposition"], "callback_scheduled");
        let uncoded = run(&eventbridge("acw", body(json!({})))).unwrap();
        assert_eq!(uncoded[0]["disposition"], "unresolved");
        let abandoned = run(&eventbridge(
            "acd.end",
            body(json!({"acdOutcome": "ABANDON"})),
        ))
        .unwrap();
        assert_eq!(abandoned[0]["type"], "contact_ended");
        assert_eq!(abandoned[0]["ts"], "2026-11-23T08:00:05.120Z");
    }

    #[test]
    fn agent_messages_name_the_user_or_leave_the_agent_out() {
        let named = run(&json!({"id": "m6", "conversationId": CONV, "timestamp": "2026-11-23T08:11:48Z",
                                "direction": "outbound", "createdBy": {"id": "7c1e9f20-3b4a-4d5e-8f60-71a2b3c4d599"},
                                "normalizedMessage": {"type": "Text", "text": "Wat vervelend!", "originatingEntity": "Human"}}))
        .unwrap();
        assert_eq!(named[0]["agent_id"], "7c1e9f20-3b4a-4d5e-8f60-71a2b3c4d599");
        let unnamed = run(&json!({"id": "m7", "conversationId": CONV, "timestamp": "2026-11-23T08:11:48Z",
                                  "normalizedMessage": {"type": "Text", "text": "Ik kijk het na.", "direction": "Outbound",
                                                        "originatingEntity": "Human"}}))
        .unwrap();
        assert_eq!(unnamed[0]["party"], "agent");
        assert!(unnamed[0].get("agent_id").is_none());
    }

    #[test]
    fn errors_name_the_field_and_never_the_content() {
        let secret_number = "tel:+31699887766";
        let secret_text = "Mijn IBAN is NL91ABNA0417164300";
        let cases = [
            (
                eventbridge(
                    "customer.start",
                    body(json!({"ani": secret_number, "eventTime": "gisteren"})),
                ),
                "detail.eventBody.eventTime",
            ),
            (
                notification(
                    "customer.start",
                    body(json!({"ani": secret_number, "mediaType": "HOLOGRAM"})),
                ),
                "eventBody.mediaType",
            ),
            (
                notification(
                    "user.start",
                    body(json!({"ani": secret_number, "userId": null})),
                ),
                "eventBody.userId",
            ),
            (
                json!({"id": "m8", "conversationId": CONV, "timestamp": "gisteren", "direction": "inbound",
                       "textBody": secret_text}),
                "timestamp",
            ),
            (
                json!({"id": "m9", "conversationId": CONV, "timestamp": "2026-11-23T08:11:48Z",
                       "direction": "outbound", "createdBy": {"name": "Sanne"}, "textBody": secret_text}),
                "createdBy.id",
            ),
        ];
        for (record, field) in cases {
            let err = run(&record).unwrap_err();
            let message = err.to_string();
            assert!(message.starts_with("genesys-cloud"), "{message}");
            assert!(message.contains(field), "{message} does not name {field}");
            for secret in [secret_number, secret_text, "gisteren", "HOLOGRAM", "Sanne"] {
                assert!(!message.contains(secret), "{message} shows record content");
            }
        }
    }
}
