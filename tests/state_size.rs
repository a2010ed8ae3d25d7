//! What state costs: heap bytes and changelog bytes per open contact, per
//! timed-out contact, and the largest changelog records a contact or a
//! customer at every limit can make. Measured over the real engine tasks
//! (no Kafka): memory as the growth of resident memory, in one test so
//! nothing else allocates meanwhile; changelog bytes exactly. The numbers are printed (`--nocapture`) for the
//! README's sizing guide; the assertions are the bounds it promises.

use contact_kpi::config::Config;
use contact_kpi::empathy::Analyzer;
use contact_kpi::kpi::tasks::{AssembleTask, RepeatTask};
use contact_kpi::kpi::EngineCounters;
use contact_kpi::model::{Channel, ContactEvent, Disposition, EventKind, Party};
/// Resident memory of this process, in bytes (Linux).
fn rss() -> isize {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("Linux /proc");
    let pages: isize = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

/// The producer's default `message.max.bytes`: no record may be larger.
const PRODUCER_LIMIT: usize = 1_000_000;

fn ts(ms: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339("2026-11-20T07:00:00Z")
        .unwrap()
        .to_utc()
        + chrono::Duration::milliseconds(ms)
}

fn ev(id: String, contact: &str, channel: Channel, at: i64, kind: EventKind) -> ContactEvent {
    ContactEvent {
        event_id: id,
        contact_id: contact.to_string(),
        channel,
        ts: ts(at),
        kind,
    }
}

fn says(party: Party, agent: Option<&str>, text: &str) -> EventKind {
    EventKind::Message {
        party,
        agent_id: agent.map(String::from),
        text: text.to_string(),
        end_ts: None,
        raised_voice: false,
    }
}

fn largest(records: &[(Vec<u8>, Option<Vec<u8>>)]) -> (usize, usize) {
    let sizes = records
        .iter()
        .map(|(k, v)| k.len() + v.as_ref().map_or(0, Vec::len));
    let total = sizes.clone().sum();
    (sizes.max().unwrap_or(0), total)
}

#[test]
fn state_per_contact_and_the_largest_changelog_records_are_bounded() {
    let settings = Config::default().engine;
    let analyzer = Analyzer::builtin();
    let mut counters = EngineCounters::default();

    // 100,000 chats that never end, each with a customer and an agent line.
    let n = 100_000usize;
    let mut task = AssembleTask::default();
    let before = rss();
    let mut changelog_bytes = 0usize;
    for i in 0..n {
        let c = format!("contact-{i:08}");
        let at = i as i64 * 100;
        let events = [
            EventKind::ContactStarted {
                customer_id: format!("customer-{:06}", i % 50_000),
                queue: Some("sales".into()),
                language: Some("nl".into()),
            },
            EventKind::AgentJoined {
                agent_id: format!("agent-{:03}", i % 300),
            },
            says(
                Party::Customer,
                None,
                "Mijn pakket is na vijf weken nog steeds niet binnen.",
            ),
            says(
                Party::Agent,
                Some(&format!("agent-{:03}", i % 300)),
                "Wat vervelend dat u zo lang moet wachten. Mag ik uw ordernummer?",
            ),
        ];
        for (j, kind) in events.into_iter().enumerate() {
            let facts = task.apply(
                &settings,
                &analyzer,
                ev(
                    format!("{c}-{j}"),
                    &c,
                    Channel::Chat,
                    at + j as i64 * 10,
                    kind,
                ),
                &mut counters,
            );
            drop(facts);
        }
        if i % 1_000 == 999 {
            // As a commit would: the changelog of what changed.
            changelog_bytes += largest(&task.take_changelog()).1;
        }
    }
    changelog_bytes += largest(&task.take_changelog()).1;
    let open_heap = (rss() - before) as f64 / n as f64;
    let open_changelog = changelog_bytes as f64 / n as f64;
    assert_eq!(task.assembler().open_contacts(), n);
    eprintln!(
        "open chat contact: {open_heap:.0} bytes of memory, {open_changelog:.0} changelog bytes"
    );
    assert!(
        open_heap < 4096.0,
        "{open_heap} heap bytes per open contact"
    );
    assert!(
        open_changelog < 2048.0,
        "{open_changelog} changelog bytes per open contact"
    );

    // Past the chat idle timeout, every contact is timed out: a tombstone.
    let idle = chrono::Duration::from_std(settings.idle_timeout.get(Channel::Chat)).unwrap();
    task.advance(
        &settings,
        ts(n as i64 * 100) + idle + chrono::Duration::hours(1),
        &mut counters,
    );
    // A new event past the timeout makes the timeouts happen at event time.
    let _ = task.apply(
        &settings,
        &analyzer,
        ev(
            "late-start".into(),
            "late",
            Channel::Chat,
            n as i64 * 100 + idle.num_milliseconds() + 7_200_000,
            EventKind::ContactStarted {
                customer_id: "k".into(),
                queue: None,
                language: None,
            },
        ),
        &mut counters,
    );
    task.advance(
        &settings,
        ts(n as i64 * 100) + idle + chrono::Duration::hours(2),
        &mut counters,
    );
    let (_, tombstone_changelog) = largest(&task.take_changelog());
    let per_tombstone = tombstone_changelog as f64 / n as f64;
    eprintln!(
        "timed-out contact: {per_tombstone:.0} changelog bytes ({} timed out)",
        counters.timed_out_contacts
    );
    assert!(counters.timed_out_contacts >= n as u64);
    assert!(
        per_tombstone < open_changelog,
        "a tombstone's record is smaller than an open contact's"
    );
    drop(task);

    // One contact at every limit: 256-byte ids, far more messages than are
    // kept, surveys before its end.
    let long = |prefix: &str| format!("{prefix}{}", "x".repeat(256 - prefix.len()));
    let (c, agent) = (long("c"), long("a"));
    let mut task = AssembleTask::default();
    let mut kinds = vec![
        EventKind::ContactStarted {
            customer_id: long("k"),
            queue: Some(long("q")),
            language: Some("nl".into()),
        },
        EventKind::AgentJoined {
            agent_id: agent.clone(),
        },
    ];
    for i in 0..5_000 {
        kinds.push(if i % 2 == 0 {
            says(
                Party::Customer,
                None,
                "Dit is echt belachelijk, ik wacht al weken!",
            )
        } else {
            says(
                Party::Agent,
                Some(&agent),
                "Wat vervelend, dat begrijp ik. Ik zoek het voor u uit.",
            )
        });
    }
    for _ in 0..100 {
        kinds.push(EventKind::Survey { csat: 3 });
    }
    let mut biggest_contact = 0;
    for (i, kind) in kinds.into_iter().enumerate() {
        let _ = task.apply(
            &settings,
            &analyzer,
            ev(
                long(&format!("e{i}-")),
                &c,
                Channel::Chat,
                i as i64 * 1_000,
                kind,
            ),
            &mut counters,
        );
        if i % 250 == 0 {
            biggest_contact = biggest_contact.max(largest(&task.take_changelog()).0);
        }
    }
    biggest_contact = biggest_contact.max(largest(&task.take_changelog()).0);
    eprintln!("largest changelog record of one contact at every limit: {biggest_contact} bytes");
    assert!(biggest_contact < PRODUCER_LIMIT, "{biggest_contact}");

    // One customer at every limit: thousands of resolved contacts with
    // 256-byte ids inside the repeat period.
    let mut assemble = AssembleTask::default();
    let mut repeats = RepeatTask::default();
    let customer = long("k");
    let mut biggest_customer = 0;
    for i in 0..3_000i64 {
        let c = long(&format!("c{i}-"));
        let at = i * 60_000;
        let kinds = [
            EventKind::ContactStarted {
                customer_id: customer.clone(),
                queue: None,
                language: Some("en".into()),
            },
            EventKind::AgentJoined {
                agent_id: agent.clone(),
            },
            EventKind::ContactEnded {
                disposition: Disposition::Resolved,
                callback_due: None,
            },
        ];
        for (j, kind) in kinds.into_iter().enumerate() {
            let e = ev(
                long(&format!("e{i}-{j}-")),
                &c,
                Channel::Voice,
                at + j as i64 * 1_000,
                kind,
            );
            let when = e.ts;
            for fact in assemble.apply(&settings, &analyzer, e, &mut counters) {
                let _ = repeats.apply(&settings, when, fact);
            }
        }
        if i % 100 == 99 {
            biggest_customer = biggest_customer.max(largest(&repeats.take_changelog()).0);
        }
    }
    eprintln!(
        "largest changelog record of one customer at every limit: {biggest_customer} bytes ({} truncated)",
        repeats.truncated()
    );
    assert!(
        repeats.truncated() > 0,
        "the customer's history hit its limit"
    );
    assert!(biggest_customer < PRODUCER_LIMIT, "{biggest_customer}");
}
