//! Amazon Connect: two streams share this format, told apart by shape.
//!
//! **Contact records** (the contact record data model, exported by Amazon
//! Connect to Kinesis Data Streams or Firehose): one record per *leg* of a
//! contact, delivered at least once, and again whenever it is updated (a later
//! `LastUpdateTimestamp`; the ids below leave it out, so an update gives the
//! same event ids and is dropped as a duplicate). A transfer creates a new
//! Connect contact whose `InitialContactId` / `PreviousContactId` point back;
//! all legs are one contract contact, `InitialContactId` (else `ContactId`).
//!
//! - the first leg (no `PreviousContactId`, `InitiationMethod` not `TRANSFER`
//!   or `QUEUE_TRANSFER`) gives `contact_started` at `Queue.EnqueueTimestamp`,
//!   else `InitiationTimestamp`;
//! - every leg with `Agent.ConnectedToAgentTimestamp` gives `agent_joined`; the
//!   agent id is the user id at the end of `Agent.ARN` (`…/agent/<id>`), the
//!   id Connect's APIs call the user's `Id`;
//! - a leg with an agent and `TransferCompletedTimestamp` gives `transfer`;
//! - the last leg (no `NextContactId`) with `DisconnectTimestamp` gives
//!   `contact_ended`, disposition from the contact attribute `disposition`
//!   (or `Disposition`) through `adapters.dispositions`, `callback_due` from
//!   the attribute `callback_due` when the disposition is a call-back;
//! - a record without `DisconnectTimestamp` is a contact still in progress: it
//!   gives what it has;
//! - `TASK` contacts and supervisor `MONITOR` legs give nothing.
//!
//! **Contact Lens conversational-analytics segment streams** (real time, to
//! Kinesis): `STARTED` / `COMPLETED` / `FAILED` events give nothing; each
//! `Transcript` segment of a `SEGMENTS` event gives one `message` (partial
//! `Utterance`s and `Categories`, `Issues`, `PostContactSummary`, … give
//! nothing). Voice events name the event type `EventType`, chat events (schema
//! 2.0.0) `StreamingEventType`; both are read. A Lens event names only its own
//! leg's `ContactId`, so words said after a transfer land on the new leg's id
//! (a documented limitation), and it names the agent only as `AGENT`, so agent
//! turns carry no `agent_id`.
//!
//! Times: contact records and chat transcripts (`Time.AbsoluteTime`) carry
//! the platform's own times. Voice transcripts carry only offsets into the
//! call, so their times are **approximated** from the Kafka record time: a
//! segments event is published when its newest segment ends, so a transcript
//! starts `timestamp_ms − (newest EndOffsetMillis in the record −
//! BeginOffsetMillis)` and ends `EndOffsetMillis − BeginOffsetMillis` later.

use super::{
    contract_event, field_name, language_tag, opt_str, opt_time, parse_object, req_str, req_time,
    time_from_millis, AdapterError, AdapterSettings, PlatformRecord,
};
use crate::model::{format_ts, Timestamp};
use serde_json::{Map, Value};

const PLATFORM: &str = "amazon-connect";

/// Longest platform id (contact, transcript or agent id) taken into an event
/// id, so that ids stay under 200 bytes. Connect's own ids are UUIDs.
const MAX_PLATFORM_ID_BYTES: usize = 80;

pub fn translate(
    record: &PlatformRecord<'_>,
    settings: &AdapterSettings,
) -> Result<Vec<Value>, AdapterError> {
    let v = parse_object(PLATFORM, record.value)?;
    let is_lens = ["EventType", "StreamingEventType", "Segments"]
        .iter()
        .any(|k| v.get(k).is_some());
    let events = if is_lens {
        lens_event(&v, record.timestamp_ms)?
    } else {
        contact_record(&v, settings)?
    };
    Ok(events.into_iter().map(Value::Object).collect())
}

// ---------------------------------------------------------------------------
// Contact records.

fn contact_record(
    v: &Value,
    settings: &AdapterSettings,
) -> Result<Vec<Map<String, Value>>, AdapterError> {
    let leg = platform_id(v, "/ContactId")?;
    let channel = match req_str(PLATFORM, v, "/Channel")?.as_ref() {
        "VOICE" => "voice",
        "CHAT" => "chat",
        "EMAIL" => "email",
        // Back-office work items: not a customer contact.
        "TASK" => return Ok(Vec::new()),
        _ => {
            return Err(AdapterError::bad(
                PLATFORM,
                "Channel",
                "is not VOICE, CHAT, EMAIL or TASK",
            ))
        }
    };
    let method = opt_str(v, "/InitiationMethod");
    let method = method.as_deref();
    if method == Some("MONITOR") {
        // A supervisor listening in: no customer contact of its own.
        return Ok(Vec::new());
    }
    let contact = match opt_str(v, "/InitialContactId") {
        Some(_) => platform_id(v, "/InitialContactId")?,
        None => leg.clone(),
    };
    let id = |what: &str| format!("{PLATFORM}:{leg}:{what}");
    let mut events = Vec::new();

    let first_leg = opt_str(v, "/PreviousContactId").is_none()
        && !matches!(method, Some("TRANSFER") | Some("QUEUE_TRANSFER"));
    if first_leg {
        let ts = match opt_time(PLATFORM, v, "/Queue/EnqueueTimestamp")? {
            Some(t) => t,
            None => req_time(PLATFORM, v, "/InitiationTimestamp")?,
        };
        // A web chat may come without any customer identity: the contact
        // still counts, as its own customer (no repeat-contact link), rather
        // than losing its start, answer and end to the dead-letter topic.
        let customer = opt_str(v, "/CustomerEndpoint/Address")
            .or_else(|| opt_str(v, "/CustomerId"))
            .map(|c| c.into_owned())
            .unwrap_or_else(|| format!("{PLATFORM}:anonymous:{contact}"));
        let mut e = contract_event(id("started"), &contact, channel, "contact_started", ts);
        e.insert("customer_id".into(), Value::String(customer));
        if let Some(queue) = opt_str(v, "/Queue/Name") {
            e.insert("queue".into(), Value::String(queue.into_owned()));
        }
        if let Some(language) = attribute(v, &["language"]).and_then(|l| language_tag(&l)) {
            e.insert("language".into(), Value::String(language));
        }
        events.push(e);
    }

    let agent = match opt_time(PLATFORM, v, "/Agent/ConnectedToAgentTimestamp")? {
        Some(ts) => {
            let agent_id = agent_id(v)?;
            let mut e = contract_event(id("joined"), &contact, channel, "agent_joined", ts);
            e.insert("agent_id".into(), Value::String(agent_id.clone()));
            events.push(e);
            Some(agent_id)
        }
        None => None,
    };

    let transferred = opt_time(PLATFORM, v, "/TransferCompletedTimestamp")?;
    if let (Some(agent_id), Some(ts)) = (&agent, transferred) {
        let mut e = contract_event(id("transfer"), &contact, channel, "transfer", ts);
        e.insert("from_agent_id".into(), Value::String(agent_id.clone()));
        events.push(e);
    }

    // Only the last leg ends the contact: a leg with a `NextContactId` was
    // handed on inside Connect (a transfer out of Connect has none).
    let disconnected = opt_time(PLATFORM, v, "/DisconnectTimestamp")?;
    let code = attribute(v, &["disposition", "Disposition"]);
    let passed_on = code
        .as_deref()
        .is_some_and(|c| settings.dispositions.passes_on(c));
    if let (None, Some(ts), false) = (opt_str(v, "/NextContactId"), disconnected, passed_on) {
        let disposition = match code {
            Some(code) => settings.dispositions.name(&code),
            None => settings.dispositions.unmapped().as_str(),
        };
        let mut e = contract_event(id("ended"), &contact, channel, "contact_ended", ts);
        e.insert("disposition".into(), Value::String(disposition.into()));
        if disposition == "callback_scheduled" {
            if let Some(due) = opt_time(PLATFORM, v, "/Attributes/callback_due")? {
                e.insert("callback_due".into(), Value::String(format_ts(due)));
            }
        }
        events.push(e);
    }
    Ok(events)
}

/// The agent's user id: the last part of `Agent.ARN`
/// (`arn:aws:connect:<region>:<account>:instance/<instance>/agent/<id>`).
fn agent_id(v: &Value) -> Result<String, AdapterError> {
    let arn = req_str(PLATFORM, v, "/Agent/ARN")?;
    match arn.rsplit_once("/agent/") {
        Some((_, id))
            if !id.trim().is_empty() && !id.contains('/') && id.len() <= MAX_PLATFORM_ID_BYTES =>
        {
            Ok(id.to_string())
        }
        _ => Err(AdapterError::bad(
            PLATFORM,
            "Agent.ARN",
            "is not an agent ARN ending in /agent/<id>",
        )),
    }
}

/// A user-defined contact attribute, the first of `names` that is set.
fn attribute(v: &Value, names: &[&str]) -> Option<String> {
    names
        .iter()
        .find_map(|name| opt_str(v, &format!("/Attributes/{name}")))
        .map(|s| s.trim().to_string())
}

// ---------------------------------------------------------------------------
// Contact Lens segment streams.

fn lens_event(
    v: &Value,
    timestamp_ms: Option<i64>,
) -> Result<Vec<Map<String, Value>>, AdapterError> {
    // Voice events call it `EventType`, chat events `StreamingEventType`.
    let kind = match opt_str(v, "/EventType") {
        Some(k) => k,
        None => opt_str(v, "/StreamingEventType")
            .ok_or_else(|| AdapterError::missing(PLATFORM, "EventType"))?,
    };
    match kind.as_ref() {
        "SEGMENTS" => {}
        "STARTED" | "COMPLETED" | "FAILED" => return Ok(Vec::new()),
        _ => {
            return Err(AdapterError::bad(
                PLATFORM,
                "EventType",
                "is not STARTED, SEGMENTS, COMPLETED or FAILED",
            ))
        }
    }
    let contact = platform_id(v, "/ContactId")?;
    let channel = match req_str(PLATFORM, v, "/Channel")?.as_ref() {
        "VOICE" => "voice",
        "CHAT" => "chat",
        "TASK" | "EMAIL" => return Ok(Vec::new()),
        _ => {
            return Err(AdapterError::bad(
                PLATFORM,
                "Channel",
                "is not VOICE, CHAT, EMAIL or TASK",
            ))
        }
    };
    let segments = match v.get("Segments") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(a)) => a,
        Some(_) => return Err(AdapterError::bad(PLATFORM, "Segments", "is not a list")),
    };

    // The newest audio offset in the record: when it was published.
    let mut newest_end: Option<i64> = None;
    for (i, segment) in segments.iter().enumerate() {
        for kind in ["Transcript", "Utterance"] {
            let pointer = format!("/Segments/{i}/{kind}/EndOffsetMillis");
            if let Some(end) = opt_millis(v, &pointer)? {
                newest_end = Some(newest_end.map_or(end, |n| n.max(end)));
            }
        }
        if !segment.is_object() {
            return Err(AdapterError::bad(
                PLATFORM,
                format!("Segments.{i}"),
                "is not an object",
            ));
        }
    }

    let mut events = Vec::new();
    for (i, segment) in segments.iter().enumerate() {
        // Utterance (partial), Categories, Issues, Attachments, … : nothing.
        let Some(transcript) = segment.get("Transcript") else {
            continue;
        };
        let at = format!("/Segments/{i}/Transcript");
        if !transcript.is_object() {
            return Err(AdapterError::bad(
                PLATFORM,
                field_name(&at),
                "is not an object",
            ));
        }
        let transcript_id = platform_id(v, &format!("{at}/Id"))?;
        let party = match req_str(PLATFORM, v, &format!("{at}/ParticipantRole"))?.as_ref() {
            "CUSTOMER" => "customer",
            "AGENT" => "agent",
            // IVR prompts, bots, a supervisor: not a turn of the conversation.
            "SYSTEM" | "CUSTOM_BOT" | "SUPERVISOR" => continue,
            _ => {
                return Err(AdapterError::bad(
                    PLATFORM,
                    field_name(&format!("{at}/ParticipantRole")),
                    "is not AGENT, CUSTOMER, SYSTEM, CUSTOM_BOT or SUPERVISOR",
                ))
            }
        };
        let text = req_str(PLATFORM, v, &format!("{at}/Content"))?;
        let (ts, end_ts) = match opt_time(PLATFORM, v, &format!("{at}/Time/AbsoluteTime"))? {
            // Chat transcripts carry their own time.
            Some(t) => (t, None),
            None => {
                let (start, end) = voice_times(v, &at, newest_end, timestamp_ms)?;
                (start, Some(end))
            }
        };
        let mut e = contract_event(
            format!("{PLATFORM}:{contact}:lens:{transcript_id}"),
            &contact,
            channel,
            "message",
            ts,
        );
        e.insert("party".into(), Value::String(party.into()));
        e.insert("text".into(), Value::String(text.into_owned()));
        if let Some(end) = end_ts {
            e.insert("end_ts".into(), Value::String(format_ts(end)));
        }
        events.push(e);
    }
    Ok(events)
}

/// Approximated start and end of a voice transcript that has only offsets
/// into the call: the record is published when its newest segment ends, at
/// (about) the Kafka record time.
fn voice_times(
    v: &Value,
    at: &str,
    newest_end: Option<i64>,
    timestamp_ms: Option<i64>,
) -> Result<(Timestamp, Timestamp), AdapterError> {
    let begin_pointer = format!("{at}/BeginOffsetMillis");
    let end_pointer = format!("{at}/EndOffsetMillis");
    let begin = opt_millis(v, &begin_pointer)?
        .ok_or_else(|| AdapterError::missing(PLATFORM, field_name(&begin_pointer)))?;
    let end = opt_millis(v, &end_pointer)?
        .ok_or_else(|| AdapterError::missing(PLATFORM, field_name(&end_pointer)))?;
    if end < begin {
        return Err(AdapterError::bad(
            PLATFORM,
            field_name(&end_pointer),
            "is before BeginOffsetMillis",
        ));
    }
    let published =
        timestamp_ms.ok_or_else(|| AdapterError::missing(PLATFORM, "record timestamp"))?;
    let newest = newest_end.unwrap_or(end).max(end);
    let start_ms = published.saturating_sub(newest - begin);
    let out_of_range = || AdapterError::bad(PLATFORM, "record timestamp", "is out of range");
    let start = time_from_millis(start_ms).ok_or_else(out_of_range)?;
    let stop = time_from_millis(start_ms.saturating_add(end - begin)).ok_or_else(out_of_range)?;
    Ok((start, stop))
}

// ---------------------------------------------------------------------------
// Small readers.

/// A required platform id, short enough to go into an event id.
fn platform_id(v: &Value, pointer: &str) -> Result<String, AdapterError> {
    let id = req_str(PLATFORM, v, pointer)?;
    if id.len() > MAX_PLATFORM_ID_BYTES {
        return Err(AdapterError::bad(
            PLATFORM,
            field_name(pointer),
            format!("is longer than {MAX_PLATFORM_ID_BYTES} bytes"),
        ));
    }
    Ok(id.into_owned())
}

/// Whole milliseconds (a non-negative integer) at a JSON pointer, if present.
fn opt_millis(v: &Value, pointer: &str) -> Result<Option<i64>, AdapterError> {
    match v.pointer(pointer) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => match n.as_i64() {
            Some(ms) if ms >= 0 => Ok(Some(ms)),
            _ => Err(AdapterError::bad(
                PLATFORM,
                field_name(pointer),
                "is not a whole number of milliseconds",
            )),
        },
        Some(_) => Err(AdapterError::bad(
            PLATFORM,
            field_name(pointer),
            "is not a number",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures;
    use super::super::{translate as adapt, InputFormat};
    use super::*;
    use crate::model::{ContactEvent, EventKind};
    use serde_json::json;

    fn settings() -> AdapterSettings {
        fixtures::settings(InputFormat::AmazonConnect)
    }

    fn run(value: &Value, timestamp_ms: Option<i64>) -> Result<Vec<ContactEvent>, AdapterError> {
        let bytes = serde_json::to_vec(value).unwrap();
        let record = PlatformRecord {
            value: &bytes,
            timestamp_ms,
        };
        adapt(InputFormat::AmazonConnect, &record, &settings())
    }

    fn ids(events: &[ContactEvent]) -> Vec<&str> {
        events.iter().map(|e| e.event_id.as_str()).collect()
    }

    const ARN_A: &str = "arn:aws:connect:eu-central-1:210987654321:instance/7e3f1a52-9c4d-4b8e-a0d6-52c1e9b7f304/agent/a-1";

    fn answered_call() -> Value {
        json!({
            "AWSContactTraceRecordFormatVersion": "2017-03-10",
            "ContactId": "c-1",
            "InitialContactId": null,
            "PreviousContactId": null,
            "NextContactId": null,
            "Channel": "VOICE",
            "InitiationMethod": "INBOUND",
            "InitiationTimestamp": "2026-11-23T08:00:00Z",
            "Queue": {"Name": "Klantenservice", "EnqueueTimestamp": "2026-11-23T08:00:10Z"},
            "Agent": {"ARN": ARN_A, "Username": "geheim.naam", "ConnectedToAgentTimestamp": "2026-11-23T08:00:30Z"},
            "CustomerEndpoint": {"Address": "+31600000001", "Type": "TELEPHONE_NUMBER"},
            "DisconnectTimestamp": "2026-11-23T08:05:00Z",
            "LastUpdateTimestamp": "2026-11-23T08:05:40Z",
            "Attributes": {"disposition": "Opgelost", "language": "nl-NL"}
        })
    }

    #[test]
    fn fixtures_translate_to_the_hand_written_events() {
        fixtures::check(
            InputFormat::AmazonConnect,
            &fixtures::settings(InputFormat::AmazonConnect),
        );
    }

    #[test]
    fn an_updated_redelivery_gives_the_same_ids() {
        let first = run(&answered_call(), None).unwrap();
        let mut update = answered_call();
        update["LastUpdateTimestamp"] = json!("2026-11-23T09:30:00Z");
        update["Attributes"]["disposition"] = json!("Terugbellen");
        update["Attributes"]["callback_due"] = json!("2026-11-24T09:00:00Z");
        let again = run(&update, None).unwrap();
        assert_eq!(ids(&first), ids(&again));
        assert_eq!(
            ids(&first),
            [
                "amazon-connect:c-1:started",
                "amazon-connect:c-1:joined",
                "amazon-connect:c-1:ended"
            ]
        );
        match &again[2].kind {
            EventKind::ContactEnded { callback_due, .. } => assert!(callback_due.is_some()),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn agent_id_is_the_user_id_from_the_arn_and_language_comes_from_the_attribute() {
        let events = run(&answered_call(), None).unwrap();
        match &events[0].kind {
            EventKind::ContactStarted {
                customer_id,
                queue,
                language,
            } => {
                assert_eq!(customer_id, "+31600000001");
                assert_eq!(queue.as_deref(), Some("Klantenservice"));
                assert_eq!(language.as_deref(), Some("nl"));
            }
            other => panic!("unexpected {other:?}"),
        }
        match &events[1].kind {
            EventKind::AgentJoined { agent_id } => assert_eq!(agent_id, "a-1"),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn channels_map_and_tasks_and_monitors_and_lens_session_events_are_ignored() {
        for (channel, want) in [("VOICE", "voice"), ("CHAT", "chat"), ("EMAIL", "email")] {
            let mut r = answered_call();
            r["Channel"] = json!(channel);
            let events = run(&r, None).unwrap();
            assert!(
                events.iter().all(|e| e.channel.as_str() == want),
                "{channel}"
            );
        }
        let mut task = answered_call();
        task["Channel"] = json!("TASK");
        assert!(run(&task, None).unwrap().is_empty());
        let mut monitor = answered_call();
        monitor["InitiationMethod"] = json!("MONITOR");
        assert!(run(&monitor, None).unwrap().is_empty());
        for kind in ["STARTED", "COMPLETED", "FAILED"] {
            let voice = json!({"Version": "1.0.0", "Channel": "VOICE", "ContactId": "c-1", "LanguageCode": "nl-NL", "EventType": kind});
            assert!(run(&voice, None).unwrap().is_empty());
            let chat = json!({"Version": "2.0.0", "Channel": "CHAT", "ContactId": "c-1", "StreamingEventType": kind});
            assert!(run(&chat, None).unwrap().is_empty());
        }
        let partial_only = json!({"Channel": "VOICE", "ContactId": "c-1", "EventType": "SEGMENTS",
            "Segments": [{"Utterance": {"Id": "u1", "ParticipantRole": "CUSTOMER", "PartialContent": "Ik", "BeginOffsetMillis": 0, "EndOffsetMillis": 300}}]});
        assert!(run(&partial_only, Some(1_795_424_400_000))
            .unwrap()
            .is_empty());
    }

    #[test]
    fn a_contact_in_progress_and_a_transferred_leg_do_not_end() {
        let mut open = answered_call();
        open["DisconnectTimestamp"] = Value::Null;
        let events = run(&open, None).unwrap();
        assert_eq!(
            ids(&events),
            ["amazon-connect:c-1:started", "amazon-connect:c-1:joined"]
        );
        let mut handed_on = answered_call();
        handed_on["TransferCompletedTimestamp"] = json!("2026-11-23T08:04:00Z");
        handed_on["NextContactId"] = json!("c-2");
        let events = run(&handed_on, None).unwrap();
        assert_eq!(
            ids(&events),
            [
                "amazon-connect:c-1:started",
                "amazon-connect:c-1:joined",
                "amazon-connect:c-1:transfer"
            ]
        );
        // Transferred out of Connect (no next leg): the contact ends here too.
        handed_on["NextContactId"] = Value::Null;
        let events = run(&handed_on, None).unwrap();
        assert_eq!(events.len(), 4);
    }

    #[test]
    fn a_later_leg_is_keyed_by_the_initial_contact() {
        let mut leg = answered_call();
        leg["ContactId"] = json!("c-2");
        leg["InitialContactId"] = json!("c-1");
        leg["PreviousContactId"] = json!("c-1");
        leg["InitiationMethod"] = json!("TRANSFER");
        let events = run(&leg, None).unwrap();
        assert_eq!(
            ids(&events),
            ["amazon-connect:c-2:joined", "amazon-connect:c-2:ended"]
        );
        assert!(events.iter().all(|e| e.contact_id == "c-1"));
    }

    #[test]
    fn voice_transcript_times_are_approximated_from_the_record_time() {
        let segments = json!({"Version": "1.0.0", "Channel": "VOICE", "ContactId": "c-1", "EventType": "SEGMENTS",
        "Segments": [
            {"Transcript": {"Id": "t1", "ParticipantId": "AGENT", "ParticipantRole": "AGENT", "Content": "Goedemorgen", "BeginOffsetMillis": 1000, "EndOffsetMillis": 2500, "Sentiment": "NEUTRAL"}},
            {"Utterance": {"Id": "u2", "ParticipantRole": "CUSTOMER", "PartialContent": "Ja", "BeginOffsetMillis": 2600, "EndOffsetMillis": 3000}}
        ]});
        // 2026-11-23T08:00:10Z
        let events = run(&segments, Some(1_795_420_810_000)).unwrap();
        assert_eq!(events.len(), 1);
        let e = &events[0];
        assert_eq!(e.event_id, "amazon-connect:c-1:lens:t1");
        assert_eq!(format_ts(e.ts), "2026-11-23T08:00:08.000Z");
        match &e.kind {
            EventKind::Message {
                agent_id, end_ts, ..
            } => {
                assert!(agent_id.is_none());
                assert_eq!(
                    end_ts.map(format_ts).as_deref(),
                    Some("2026-11-23T08:00:09.500Z")
                );
            }
            other => panic!("unexpected {other:?}"),
        }
        let err = run(&segments, None).unwrap_err();
        assert_eq!(err.reason(), "platform_missing_field");
        assert!(err.to_string().contains("record timestamp"), "{err}");
    }

    #[test]
    fn chat_transcripts_use_their_absolute_time_and_skip_system_turns() {
        let segments = json!({"Version": "2.0.0", "Channel": "CHAT", "ContactId": "c-9", "StreamingEventType": "SEGMENTS",
        "Segments": [
            {"Transcript": {"Id": "m1", "ParticipantId": "p1", "ParticipantRole": "CUSTOMER", "Content": "Hello?", "ContentType": "text/plain", "Time": {"AbsoluteTime": "2026-11-23T08:01:02.345Z"}}},
            {"Transcript": {"Id": "m2", "ParticipantId": "p0", "ParticipantRole": "SYSTEM", "Content": "Agent joined", "ContentType": "text/plain", "Time": {"AbsoluteTime": "2026-11-23T08:01:03.000Z"}}}
        ]});
        let events = run(&segments, None).unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(format_ts(events[0].ts), "2026-11-23T08:01:02.345Z");
        assert_eq!(events[0].channel.as_str(), "chat");
    }

    #[test]
    fn errors_name_the_field_and_never_the_content() {
        let secret = "+31699999999";
        let mut r = answered_call();
        r["Agent"]["ARN"] = json!(secret);
        let err = run(&r, None).unwrap_err();
        let message = err.to_string();
        assert!(message.contains("Agent.ARN"), "{message}");
        assert!(!message.contains(secret), "{message}");

        // Without any customer identity (a web chat) the contact still
        // counts, as a customer of its own.
        let mut r = answered_call();
        r["CustomerEndpoint"] = Value::Null;
        let events = run(&r, None).unwrap();
        match &events[0].kind {
            crate::model::EventKind::ContactStarted { customer_id, .. } => {
                assert_eq!(
                    customer_id,
                    &format!("amazon-connect:anonymous:{}", events[0].contact_id)
                )
            }
            other => panic!("{other:?}"),
        }

        let mut r = answered_call();
        r["DisconnectTimestamp"] = json!("gisteren om 9 uur, +31699999999");
        let message = run(&r, None).unwrap_err().to_string();
        assert!(message.contains("DisconnectTimestamp"), "{message}");
        assert!(
            !message.contains(secret) && !message.contains("gisteren"),
            "{message}"
        );

        let lens = json!({"Channel": "VOICE", "ContactId": "c-1", "EventType": "SEGMENTS",
            "Segments": [{"Transcript": {"Id": "t1", "ParticipantRole": "AGENT", "Content": "Mijn nummer is +31699999999", "BeginOffsetMillis": "later", "EndOffsetMillis": 10}}]});
        let message = run(&lens, Some(1_795_420_810_000)).unwrap_err().to_string();
        assert!(message.contains("BeginOffsetMillis"), "{message}");
        assert!(
            !message.contains(secret) && !message.contains("later"),
            "{message}"
        );
    }
}
