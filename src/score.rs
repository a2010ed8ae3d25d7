//! `contact-kpi score`: the quality coach's view of one contact. Reads
//! contract JSON lines (or a plain `agent:`/`customer:` transcript), runs the
//! same assembly and analyzer as the service, and returns one JSON object per
//! agent segment with the judgements and the evidence behind them.

use crate::config::Config;
use crate::empathy::Analyzer;
use crate::kpi::contact::{summarize, Assembler};
use crate::kpi::EngineCounters;
use crate::model::{
    decode_event, Channel, ContactEvent, Disposition, EventKind, Party, PayloadFormat,
};
use serde_json::{json, Value};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ScoreError {
    #[error("line {line}: {message}")]
    BadLine { line: usize, message: String },
    #[error("unknown channel `{0}` (voice, email or chat)")]
    Channel(String),
    #[error("no contact in the input")]
    Empty,
}

pub struct ScoreOptions {
    pub language: Option<String>,
    pub channel: String,
}

/// Scores every contact in `input`; one JSON object per agent segment.
pub fn score_input(
    analyzer: &Analyzer,
    input: &str,
    opts: &ScoreOptions,
) -> Result<Vec<Value>, ScoreError> {
    let first = input
        .lines()
        .find(|l| !l.trim().is_empty())
        .ok_or(ScoreError::Empty)?;
    let events = if first.trim_start().starts_with('{') {
        parse_events(input)?
    } else {
        let channel = Channel::parse(&opts.channel)
            .ok_or_else(|| ScoreError::Channel(opts.channel.clone()))?;
        parse_transcript(input, channel, opts.language.as_deref())?
    };
    Ok(score_events(analyzer, events, opts.language.as_deref()))
}

fn parse_events(input: &str) -> Result<Vec<ContactEvent>, ScoreError> {
    let mut out = Vec::new();
    for (i, line) in input.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let e = decode_event(Some(line.as_bytes()), None, PayloadFormat::Json, usize::MAX)
            .map_err(|e| ScoreError::BadLine {
                line: i + 1,
                message: e.to_string(),
            })?;
        out.push(e);
    }
    Ok(out)
}

/// A transcript becomes contract events, one second apart, for one agent.
fn parse_transcript(
    input: &str,
    channel: Channel,
    language: Option<&str>,
) -> Result<Vec<ContactEvent>, ScoreError> {
    let t0 = chrono::DateTime::parse_from_rfc3339("2026-01-01T09:00:00Z")
        .expect("valid")
        .to_utc();
    let mut n = 0i64;
    let mut next = |kind: EventKind| {
        n += 1;
        ContactEvent {
            event_id: format!("t{n}"),
            contact_id: "transcript".into(),
            channel,
            ts: t0 + chrono::Duration::seconds(n),
            kind,
        }
    };
    let mut events = vec![
        next(EventKind::ContactStarted {
            customer_id: "customer".into(),
            queue: None,
            language: language.map(str::to_string),
        }),
        next(EventKind::AgentJoined {
            agent_id: "agent".into(),
        }),
    ];
    for (i, line) in input.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let (who, text) = line.split_once(':').ok_or_else(|| ScoreError::BadLine {
            line: i + 1,
            message: "expected `agent: …` or `customer: …`".into(),
        })?;
        let party = match who.trim().to_ascii_lowercase().as_str() {
            "agent" | "medewerker" => Party::Agent,
            "customer" | "klant" => Party::Customer,
            other => {
                return Err(ScoreError::BadLine {
                    line: i + 1,
                    message: format!("unknown speaker `{other}`"),
                })
            }
        };
        events.push(next(EventKind::Message {
            party,
            agent_id: (party == Party::Agent).then(|| "agent".to_string()),
            text: text.trim().to_string(),
            end_ts: None,
            raised_voice: false,
        }));
    }
    Ok(events)
}

fn score_events(
    analyzer: &Analyzer,
    events: Vec<ContactEvent>,
    language: Option<&str>,
) -> Vec<Value> {
    let settings = Config::default().engine;
    let mut assembler = Assembler::default();
    assembler.keep_evidence_words();
    let mut counters = EngineCounters::default();
    let mut endings = Vec::new();
    let mut order = Vec::new();
    for e in events {
        if !order.contains(&e.contact_id) {
            order.push(e.contact_id.clone());
        }
        match e.kind {
            EventKind::ContactEnded {
                disposition,
                callback_due,
            } => endings.push((e.contact_id.clone(), e.ts, disposition, callback_due)),
            _ => assembler.apply(&settings, analyzer, e, &mut counters, &mut Vec::new()),
        }
    }
    let mut out = Vec::new();
    for contact_id in order {
        let Some(open) = assembler.open.get_mut(&contact_id) else {
            continue;
        };
        if let Some(l) = language {
            open.language = Some(l.to_string());
        }
        let open = open.clone();
        let (ended, disposition, due) = endings
            .iter()
            .find(|(c, ..)| *c == contact_id)
            .map(|(_, ts, d, due)| (*ts, *d, *due))
            .unwrap_or_else(|| {
                let last = open
                    .items
                    .iter()
                    .map(|i| i.ts)
                    .max()
                    .unwrap_or(open.last_event);
                (last, Disposition::Resolved, None)
            });
        let (summary, judgements) = summarize(
            &settings,
            analyzer,
            &contact_id,
            &open,
            ended,
            disposition,
            due,
        );
        let lang = open.language.clone().unwrap_or_else(|| "en".into());
        for (i, (seg, j)) in summary.segments.iter().zip(judgements).enumerate() {
            out.push(json!({
                "contact_id": contact_id,
                "segment": i + 1,
                "agent_id": seg.agent_id,
                "channel": summary.channel.as_str(),
                "language": lang,
                "final": seg.is_final,
                "closed_by_transfer": seg.closed_by_transfer,
                "empathy_scored": seg.empathy_scored,
                "empathy_shown": seg.empathy_shown,
                "empathy_score": seg.empathy_score,
                "empathy_opportunity": seg.empathy_opportunity,
                "empathy_missed": seg.empathy_missed,
                "empathy_overdone": seg.empathy_overdone,
                "pity": seg.pity,
                "questions_asked": seg.questions_asked,
                "hostile_customer": seg.hostile_customer,
                "hostile_defused": seg.hostile_defused,
                "interruptions": seg.interruptions,
                "evidence": j.evidence,
            }));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transcript_lines_become_one_segment() {
        let a = Analyzer::builtin();
        let out = score_input(
            &a,
            "customer: Mijn pakket is er nog steeds niet.\nagent: Mag ik uw ordernummer?\n",
            &ScoreOptions {
                language: Some("nl".into()),
                channel: "chat".into(),
            },
        )
        .unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0]["agent_id"], "agent");
        assert_eq!(out[0]["empathy_scored"], true);
        assert_eq!(out[0]["questions_asked"], true);
        assert_eq!(out[0]["language"], "nl");
    }

    #[test]
    fn bad_transcript_line_names_the_line() {
        let a = Analyzer::builtin();
        let err = score_input(
            &a,
            "customer: hi\nnobody said this\n",
            &ScoreOptions {
                language: None,
                channel: "chat".into(),
            },
        )
        .unwrap_err();
        assert!(err.to_string().starts_with("line 2:"), "{err}");
    }

    #[test]
    fn contract_events_with_a_transfer_give_two_segments() {
        let input = [
            r#"{"event_id":"e1","contact_id":"c1","channel":"voice","type":"contact_started","ts":"2026-11-22T09:00:00Z","customer_id":"k1","language":"en"}"#,
            r#"{"event_id":"e2","contact_id":"c1","channel":"voice","type":"agent_joined","ts":"2026-11-22T09:00:10Z","agent_id":"a1"}"#,
            r#"{"event_id":"e3","contact_id":"c1","channel":"voice","type":"message","ts":"2026-11-22T09:00:11Z","party":"agent","agent_id":"a1","text":"Let me transfer you."}"#,
            r#"{"event_id":"e4","contact_id":"c1","channel":"voice","type":"transfer","ts":"2026-11-22T09:00:20Z","from_agent_id":"a1"}"#,
            r#"{"event_id":"e5","contact_id":"c1","channel":"voice","type":"agent_joined","ts":"2026-11-22T09:00:30Z","agent_id":"a2"}"#,
            r#"{"event_id":"e6","contact_id":"c1","channel":"voice","type":"message","ts":"2026-11-22T09:00:31Z","party":"agent","agent_id":"a2","text":"How can I help?"}"#,
            r#"{"event_id":"e7","contact_id":"c1","channel":"voice","type":"contact_ended","ts":"2026-11-22T09:02:00Z","disposition":"resolved"}"#,
        ]
        .join("\n");
        let out = score_input(
            &Analyzer::builtin(),
            &input,
            &ScoreOptions {
                language: None,
                channel: "chat".into(),
            },
        )
        .unwrap();
        assert_eq!(out.len(), 2);
        assert_eq!(out[0]["agent_id"], "a1");
        assert_eq!(out[0]["closed_by_transfer"], true);
        assert_eq!(out[1]["agent_id"], "a2");
        assert_eq!(out[1]["final"], true);
    }
}
