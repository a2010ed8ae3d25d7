//! Unit tests: normalization, negation, quotes, boilerplate, lexicon
//! validation and the examples table of `empathy.md`.

use super::*;

fn analyzer() -> Analyzer {
    Analyzer::builtin()
}

fn turn(a: &Analyzer, lang: &str, party: Party, text: &str) -> TurnFeatures {
    a.analyze_turn_with_evidence(lang, Channel::Chat, party, text)
}

/// Judge a conversation given as (party, text, raised_voice) turns.
fn judge(lang: &str, turns: &[(Party, &str, bool)], disposition: Disposition) -> Judgement {
    let a = analyzer();
    let features: Vec<TurnFeatures> = turns
        .iter()
        .map(|(p, t, _)| turn(&a, lang, *p, t))
        .collect();
    let seg_turns = turns
        .iter()
        .zip(&features)
        .enumerate()
        .map(|(i, ((p, _, rv), f))| SegmentTurn {
            message_index: i,
            party: *p,
            raised_voice: *rv,
            features: f,
        })
        .collect();
    a.judge_segment(&SegmentInput {
        language: lang,
        channel: Channel::Chat,
        turns: seg_turns,
        context_before: vec![],
        disposition,
        interruptions: 0,
    })
}

fn agent_only(lang: &str, text: &str) -> Judgement {
    judge(lang, &[(Party::Agent, text, false)], Disposition::Resolved)
}

fn cats(f: &TurnFeatures) -> Vec<Category> {
    f.signals.iter().map(|s| s.category).collect()
}

const A: Party = Party::Agent;
const C: Party = Party::Customer;

#[test]
fn builtin_lexicons_load() {
    let a = analyzer();
    assert!(a.supports("nl") && a.supports("en") && !a.supports("de"));
}

#[test]
fn folds_case_diacritics_and_punctuation() {
    let a = analyzer();
    for text in [
        "Ik begríjp het.",
        "IK BEGRIJP HET",
        "ik   begrijp het!!",
        "Ik begrĳp het",
    ] {
        assert!(
            cats(&turn(&a, "nl", A, text)).contains(&Category::Understanding),
            "{text}"
        );
    }
}

#[test]
fn chat_spelling_is_rewritten() {
    let a = analyzer();
    assert!(
        cats(&turn(&a, "nl", A, "snap t helemaal")).is_empty()
            || cats(&turn(&a, "nl", A, "ik snap t helemaal")).contains(&Category::Understanding)
    );
    assert!(
        cats(&turn(&a, "nl", A, "k snap t, ik zoek t ff voor je uit"))
            .contains(&Category::Ownership)
    );
    let sorry = turn(&a, "en", A, "sooo sorry!!");
    assert!(sorry
        .signals
        .iter()
        .any(|s| s.category == Category::Acknowledgement && s.intensified));
    assert!(cats(&turn(&a, "en", A, "im sorry to hear that")).contains(&Category::Acknowledgement));
    assert!(cats(&turn(&a, "en", A, "dont worry, ill sort it")).contains(&Category::Reassurance));
}

#[test]
fn negation_cancels_understanding() {
    let a = analyzer();
    assert!(!cats(&turn(&a, "nl", A, "Ik begrijp niet wat u bedoelt."))
        .contains(&Category::Understanding));
    assert!(!cats(&turn(&a, "nl", A, "Ik begrijp het niet.")).contains(&Category::Understanding));
    assert!(
        !cats(&turn(&a, "en", A, "I don't understand what you mean."))
            .contains(&Category::Understanding)
    );
    assert!(
        !cats(&turn(&a, "en", A, "I do not understand why you called."))
            .contains(&Category::Understanding)
    );
    assert!(cats(&turn(
        &a,
        "nl",
        A,
        "Ik begrijp heel goed dat dit vervelend is."
    ))
    .contains(&Category::Understanding));
    assert!(cats(&turn(
        &a,
        "en",
        A,
        "I completely understand, that is not what you expected."
    ))
    .contains(&Category::Understanding));
    // A negator that belongs to the phrase does not cancel it.
    assert!(
        cats(&turn(&a, "en", A, "Don't worry, we'll get this sorted."))
            .contains(&Category::Reassurance)
    );
}

#[test]
fn questions_are_not_statements() {
    let a = analyzer();
    let f = turn(
        &a,
        "nl",
        A,
        "Begrijp ik goed dat u al twee keer gebeld heeft?",
    );
    assert!(!cats(&f).contains(&Category::Understanding));
    assert!(f.is_question);
    let f = turn(&a, "en", A, "Order number?");
    assert!(f.is_question && f.signals.is_empty());
    let f = turn(&a, "en", A, "Is there anything else I can help you with?");
    assert!(
        !f.is_question,
        "stock closing questions are not genuine questions"
    );
    // Voice transcripts without punctuation.
    let f = a.analyze_turn("nl", Channel::Voice, A, "kunt u mij uw postcode geven");
    assert!(f.is_question);
    let f = a.analyze_turn("nl", Channel::Voice, A, "wat vervelend voor u");
    assert!(!f.is_question);
}

#[test]
fn quoted_customer_words_do_not_count() {
    let a = analyzer();
    let f = turn(
        &a,
        "nl",
        A,
        "U schreef: \"wat vervelend dat niemand reageert\". Uw pakket is verzonden.",
    );
    assert!(!cats(&f).contains(&Category::Acknowledgement), "{f:?}");
    let f = turn(
        &a,
        "en",
        A,
        "You said 'I'm sorry to hear that' was all we ever say. Your refund is processed.",
    );
    assert!(!cats(&f).contains(&Category::Acknowledgement), "{f:?}");
    // Apostrophes are not quotes.
    let f = turn(
        &a,
        "en",
        A,
        "I'm sorry, that's not what you expected, it's frustrating.",
    );
    assert!(cats(&f).contains(&Category::Acknowledgement));
}

#[test]
fn email_boilerplate_and_quoted_mails_are_dropped() {
    let a = analyzer();
    let mail = "Beste meneer Jansen,\n\nUw nieuwe pas is vandaag verstuurd.\n\nMet vriendelijke groet,\nSanne de Vries\nKlantenservice\n\nOp 3 mei 2024 om 10:12 schreef J. Jansen <j@example.nl>:\n> Wat vervelend dat ik steeds geen antwoord krijg. Ik begrijp er niks van.\n";
    let f = a.analyze_turn("nl", Channel::Email, A, mail);
    assert!(f.has_text);
    assert!(f.signals.is_empty(), "{f:?}");
    let mail = "Hi Sarah,\n\nYour order has shipped.\n\nKind regards,\nTom\n\nOn Mon, 3 Jun 2024 at 10:12, Sarah <s@example.com> wrote:\n> I'm so sorry to bother you but I'm really worried.\n";
    let f = a.analyze_turn("en", Channel::Email, A, mail);
    assert!(f.signals.is_empty(), "{f:?}");
    let mail = "Thanks for waiting.\n\n-----Original Message-----\nFrom: Sarah\nSent: Monday\nI understand completely.";
    assert!(a
        .analyze_turn("en", Channel::Email, A, mail)
        .signals
        .is_empty());
    // Only a signature: nothing to judge.
    let f = a.analyze_turn("nl", Channel::Email, A, "Met vriendelijke groet,\nSanne");
    assert!(!f.has_text);
}

#[test]
fn caps_and_exclamations_are_counted() {
    let a = analyzer();
    let f = turn(&a, "nl", C, "DIT IS DE DERDE KEER DAT IK BEL!!!");
    assert!(f.all_caps && f.max_exclamation_run == 3);
    let f = turn(&a, "nl", C, "Mijn pakket is er nog niet, via PostNL.");
    assert!(!f.all_caps);
}

/// The engine's features are the evidence features without the words:
/// leaving the words out changes no judgement.
#[test]
fn the_engine_features_are_the_evidence_features_without_the_words() {
    let a = analyzer();
    let texts = [
        (
            "nl",
            A,
            "Wat vervelend! Ik ga het voor u uitzoeken, meneer Jansen.",
        ),
        (
            "nl",
            C,
            "Dit is de DERDE keer dat ik bel!!! Belachelijk, jullie zijn oplichters.",
        ),
        (
            "en",
            A,
            "I'm so sorry to hear that, Mr Evans. Could you send me your order number?",
        ),
        (
            "en",
            C,
            "i dont understand why nobody replied, its not rocket science",
        ),
        (
            "nl",
            A,
            "ik begrijp uw probleem niet, maar het is niet mijn schuld",
        ),
    ];
    for (lang, party, text) in texts {
        let lean = a.analyze_turn(lang, Channel::Chat, party, text);
        let mut full = a.analyze_turn_with_evidence(lang, Channel::Chat, party, text);
        assert!(full.signals.iter().any(|s| !s.words.is_empty()), "{text}");
        assert!(lean.signals.iter().all(|s| s.words.is_empty()), "{text}");
        for s in &mut full.signals {
            s.words.clear();
        }
        assert_eq!(lean, full, "{text}");
    }
}

#[test]
fn turn_features_survive_postcard() {
    let a = analyzer();
    let f = turn(
        &a,
        "nl",
        A,
        "Wat vervelend! Ik ga het voor u uitzoeken, meneer Jansen.",
    );
    let bytes = postcard::to_allocvec(&f).expect("serialize");
    let back: TurnFeatures = postcard::from_bytes(&bytes).expect("deserialize");
    assert_eq!(f, back);
    assert!(
        !f.signals.iter().any(|s| s.words.contains("jansen")),
        "no names in state"
    );
}

#[test]
fn lexicon_errors_name_file_and_line() {
    let good = BUILTIN[0].1;
    let bad_category = good.replacen(
        "category = \"acknowledgement\"",
        "category = \"acknowledgment\"",
        1,
    );
    let err = Analyzer::validate_lexicon("nl.toml", &bad_category)
        .unwrap_err()
        .to_string();
    let line = good
        .lines()
        .position(|l| l.contains("category = \"acknowledgement\""))
        .unwrap()
        + 1;
    assert!(
        err.starts_with("nl.toml: ")
            && err.contains(&format!("line {line}"))
            && err.contains("unknown category"),
        "{err}"
    );

    let syntax = good.replacen("weight = 1.0", "weight = ", 1);
    let err = Analyzer::validate_lexicon("nl.toml", &syntax)
        .unwrap_err()
        .to_string();
    assert!(err.contains("nl.toml: line "), "{err}");

    let dup = good.replacen(
        "\"wat vervelend\", ",
        "\"wat vervelend\", \"Wat vervélend\", ",
        1,
    );
    let err = Analyzer::validate_lexicon("nl.toml", &dup)
        .unwrap_err()
        .to_string();
    assert!(err.contains("appears twice"), "{err}");

    let wrong_lang = Analyzer::validate_lexicon("en.toml", good)
        .unwrap_err()
        .to_string();
    assert!(wrong_lang.contains("does not match"), "{wrong_lang}");

    let dir = std::env::temp_dir().join(format!("empathy-lex-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("nl.toml"), &bad_category).unwrap();
    let err = Analyzer::load_dir(&dir).unwrap_err().to_string();
    assert!(err.contains("nl.toml: line "), "{err}");
    std::fs::write(dir.join("nl.toml"), good).unwrap();
    assert!(Analyzer::load_dir(&dir).unwrap().supports("nl"));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn detects_language() {
    let a = analyzer();
    assert_eq!(a.detect_language("Wat vervelend dat uw pakket nog steeds niet is aangekomen, ik ga het voor u uitzoeken.").as_deref(), Some("nl"));
    assert_eq!(a.detect_language("I'm so sorry your parcel still hasn't arrived, I will look into it for you right away.").as_deref(), Some("en"));
}

// ------------------------------------------------------------ empathy.md examples

#[test]
fn example_acknowledgement_and_ownership() {
    let j = agent_only("nl", "Wat vervelend dat uw pakket na vijf weken nog niet binnen is. Ik ga het nu voor u navragen bij de vervoerder.");
    assert!(j.empathy_shown && !j.empathy_overdone && !j.pity);
    assert!(j
        .evidence
        .iter()
        .any(|e| e.category == "acknowledgement" && e.words.contains("wat vervelend")));
    assert!(j.evidence.iter().any(|e| e.category == "ownership"));
}

#[test]
fn example_negation() {
    assert!(!agent_only("nl", "Ik begrijp niet wat u bedoelt.").empathy_shown);
}

#[test]
fn example_question_without_empathy() {
    let j = agent_only("en", "Order number?");
    assert!(!j.empathy_shown && j.questions_asked);
}

#[test]
fn example_pity() {
    let j = agent_only("nl", "Ach gossie, arm kind, dat is ook wat.");
    assert!(!j.empathy_shown && j.pity);
}

#[test]
fn example_english_understanding() {
    let j = agent_only(
        "en",
        "I completely understand how frustrating this must be, and I'm going to fix it today.",
    );
    assert!(j.empathy_shown && j.empathy_score >= 80, "{j:?}");
}

#[test]
fn example_overdone_seed_000() {
    let j = judge(
        "nl",
        &[
            (
                C,
                "Mijn pakketje is na bijna vijf weken nog steeds niet aangekomen.",
                false,
            ),
            (A, "Wat vervelend!", false),
            (C, "Ja, ik ben zwanger en heb de kleding echt nodig.", false),
            (A, "Wat vervelend zeg!", false),
            (C, "Kunt u zien waar het is?", false),
            (A, "Nou, ik hoop dat het allemaal goed komt meid!", false),
        ],
        Disposition::Unresolved,
    );
    assert!(
        j.empathy_shown && j.empathy_overdone && j.empathy_opportunity && !j.empathy_missed,
        "{j:?}"
    );
}

#[test]
fn example_hostile_defused_seed_004() {
    let j = judge(
        "nl",
        &[
            (C, "DIT IS DE DERDE KEER DAT IK BEL!!!", false),
            (
                A,
                "Ik hoor dat u boos bent, en dat begrijp ik. Wat kan ik vandaag voor u regelen?",
                false,
            ),
        ],
        Disposition::Resolved,
    );
    assert!(
        j.empathy_shown
            && j.hostile_customer
            && j.hostile_defused
            && j.questions_asked
            && j.empathy_opportunity,
        "{j:?}"
    );
}

#[test]
fn hostile_not_defused_when_agent_counter_attacks() {
    let j = judge(
        "en",
        &[
            (C, "You are a bunch of useless idiots", true),
            (
                A,
                "Calm down, sir. As I said, there is nothing I can do.",
                false,
            ),
        ],
        Disposition::Resolved,
    );
    assert!(
        j.hostile_customer && !j.hostile_defused && !j.empathy_shown && j.empathy_missed,
        "{j:?}"
    );
}

#[test]
fn no_agent_text_is_not_scored() {
    let j = judge(
        "nl",
        &[
            (C, "Hallo?", false),
            (A, "Met vriendelijke groet,\nSanne", false),
        ],
        Disposition::Resolved,
    );
    assert!(!j.empathy_scored && !j.empathy_shown && !j.empathy_missed);
}

/// A message packed with empathy phrases keeps a bounded number of signals
/// (its features stay in state until the contact ends) and is still judged.
#[test]
fn a_message_packed_with_phrases_keeps_bounded_features() {
    let a = Analyzer::builtin();
    let text = "Het spijt me te horen, wat vervelend voor u. ".repeat(5_000);
    let f = a.analyze_turn("nl", Channel::Chat, Party::Agent, &text);
    assert_eq!(f.signals.len(), super::matcher::MAX_SIGNALS_PER_TURN);
    let size = postcard::to_allocvec(&f).unwrap().len();
    assert!(size < 8 * 1024, "{size} bytes of features");
}

#[test]
fn text_that_is_not_language_is_not_judged() {
    let a = analyzer();
    // A "?" in a query string is no question; "language=en_US" names no behaviour.
    let f = turn(
        &a,
        "en",
        A,
        "Please use this form: https://example.com/help?language=en_US&topic=billing.",
    );
    assert_eq!(f.questions, 0, "{f:?}");
    assert!(f.signals.is_empty(), "{:?}", cats(&f));
    // Handles, addresses and tracking codes are blanked; the words stay.
    let f = turn(
        &a,
        "en",
        C,
        "@AcmeCare where is 1Z999AA10123456784?? mail me at jan@example.com, it is still not here",
    );
    assert!(cats(&f).contains(&Category::Trouble), "{:?}", cats(&f));
    assert!(!f.all_caps, "a tracking code's capitals are no shouting");
    // Non-ASCII next to the stripped text must not split a character.
    let f = turn(
        &a,
        "nl",
        A,
        "vóór 12:00 op www.voorbeeld.nl/vóór?x=1 — dat is écht balen",
    );
    assert!(f.has_text);
}

#[test]
fn word_classes_generalise_constructions() {
    // Empathy in words no phrase list spelled out, through {negative}.
    for (lang, text) in [
        ("en", "Oh that sounds dreadful, let me see what I can do."),
        ("en", "What a horrible morning for you."),
        ("nl", "Dat klinkt echt beroerd, ik zoek het voor u uit."),
        ("nl", "Heel onprettig voor u."),
    ] {
        let j = agent_only(lang, text);
        assert!(j.empathy_shown, "{lang}: {text}: {:?}", j.evidence);
        assert!(
            j.evidence.iter().any(|e| e.category == "acknowledgement"),
            "the evidence names the words: {:?}",
            j.evidence
        );
    }
    // Inside a question it is no acknowledgement.
    assert!(!agent_only("en", "How bad is the damage?").empathy_shown);
    // A class a phrase names must exist.
    let good = BUILTIN[1].1;
    let bad = good.replacen("\"that sounds {negative}\"", "\"that sounds {negatve}\"", 1);
    let err = Analyzer::validate_lexicon("en.toml", &bad)
        .unwrap_err()
        .to_string();
    assert!(err.contains("unknown class {negatve}"), "{err}");
}

#[test]
fn spoken_questions_from_word_order() {
    let a = analyzer();
    for (lang, text) in [
        ("en", "ok i see the order here can you read me the postcode"),
        (
            "nl",
            "ja ik zie het hier staan kunt u mij even uw postcode geven",
        ),
    ] {
        assert_eq!(turn(&a, lang, A, text).questions, 1, "{lang}: {text}");
    }
    // Dutch inverts statements after an adverb: no question.
    for text in [
        "ok dat is geregeld dan kunt u het morgen ophalen bij het servicepunt",
        "ik heb het verstuurd en daarna krijgt u een bevestiging per mail",
    ] {
        assert_eq!(turn(&a, "nl", A, text).questions, 0, "{text}");
    }
}

#[test]
fn spoken_wh_questions_from_word_order() {
    let a = analyzer();
    for (lang, text) in [
        ("nl", "goedemorgen dat kan wat is uw pasnummer"),
        (
            "nl",
            "ik heb dinsdag of donderdag welke dag komt u beter uit",
        ),
        (
            "en",
            "sure let me take a look what is the reference on the letter",
        ),
        ("en", "got it thanks how long have you had the problem"),
    ] {
        assert_eq!(turn(&a, lang, A, text).questions, 1, "{lang}: {text}");
    }
    // An embedded clause has its subject before the verb: no question.
    for (lang, text) in [
        ("nl", "ik ga kijken wat er mis is gegaan"),
        ("nl", "ik weet niet waar het pakket nu is"),
        ("en", "let me check what the problem is with the line"),
        ("en", "i'll tell you when it is ready"),
    ] {
        assert_eq!(turn(&a, lang, A, text).questions, 0, "{lang}: {text}");
    }
}

#[test]
fn a_plea_is_not_hostility_but_a_shouted_complaint_is() {
    let plea = judge(
        "en",
        &[
            (C, "Please help!!!!", false),
            (A, "Of course, what is the order number?", false),
        ],
        Disposition::Resolved,
    );
    assert!(!plea.hostile_customer, "{:?}", plea.evidence);
    let complaint = judge(
        "en",
        &[
            (C, "it still doesn't work!!!!", false),
            (A, "Let me look.", false),
        ],
        Disposition::Resolved,
    );
    assert!(complaint.hostile_customer, "{:?}", complaint.evidence);
    let lower = judge(
        "en",
        &[
            (C, "you are a useless, pathetic company", false),
            (A, "I hear you.", false),
        ],
        Disposition::Resolved,
    );
    assert!(
        lower.hostile_customer,
        "insults in lower case: {:?}",
        lower.evidence
    );
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 1000, .. proptest::prelude::ProptestConfig::default() })]

    /// Any text, however odd (URLs and addresses mixed with accents, emoji,
    /// lone surrogates are impossible in &str), is analysed without a panic:
    /// a panic here would quarantine a real customer's message.
    #[test]
    fn any_text_is_analysed_without_panic(
        text in "([a-zA-Zéóü😡 ?!./:@#_=&'\"\\n0-9-]|https://|www\\.|vóór|1Z99AA|@[a-z]+){0,40}",
        lang in proptest::prop_oneof![proptest::strategy::Just("nl"), proptest::strategy::Just("en")],
        customer in proptest::bool::ANY,
    ) {
        let a = analyzer();
        let party = if customer { C } else { A };
        let f = a.analyze_turn(lang, Channel::Chat, party, &text);
        proptest::prop_assert!(f.signals.len() <= 32);
    }
}

#[test]
fn only_non_language_is_blanked_and_plain_text_is_not_copied() {
    use std::borrow::Cow;
    let s = normalize::strip_non_language;
    assert_eq!(
        s("zie https://x.nl/a?b=1. En mail jan@x.nl (of @KlantNL) over 1Z999AA1!"),
        "zie . En mail  (of ) over !"
    );
    assert_eq!(s("vóór www.vóór.nl, écht"), "vóór , écht");
    for plain in ["al 5 weken en/of langer", "2e keer om 10am", "geen cijfers"] {
        assert!(matches!(s(plain), Cow::Borrowed(_)), "{plain}");
    }
}

#[test]
fn a_plea_that_says_what_is_wrong_is_distress_not_shouting() {
    for (lang, text) in [
        (
            "nl",
            "help alstublieft!!! mijn pas is gestolen en er is geld afgeschreven!!!",
        ),
        (
            "en",
            "please help!!! my account is locked and rent is due today!!!",
        ),
    ] {
        let j = judge(
            lang,
            &[(C, text, false), (A, "Ok, let me look.", false)],
            Disposition::Resolved,
        );
        assert!(!j.hostile_customer, "{lang}: {:?}", j.evidence);
        assert!(j.empathy_opportunity, "{lang}: a plea is an opportunity");
    }
}

#[test]
fn one_shouted_sentence_is_shouting() {
    let a = analyzer();
    let f = turn(
        &a,
        "nl",
        C,
        "ZIJN JULLIE NOU HELEMAAL GEK GEWORDEN. 300 euro voor een maand bellen, dat kan toch niet kloppen bij een abonnement van twintig euro per maand",
    );
    assert!(f.all_caps, "{f:?}");
    let f = turn(&a, "nl", C, "Ik heb het NIET besteld, dat weet ik zeker.");
    assert!(!f.all_caps, "one word for emphasis is no shouting");
}

#[test]
fn understanding_taken_back_or_negated_later_in_the_clause_is_none() {
    for (lang, text) in [
        (
            "en",
            "I understand, but those are the only slots available.",
        ),
        (
            "en",
            "i understand your frustration however the price rise was in the terms",
        ),
        (
            "nl",
            "Ik begrijp uw teleurstelling niet helemaal, de levertijd is indicatief.",
        ),
        ("nl", "Ik begrijp je probleem eerlijk gezegd niet."),
    ] {
        let j = agent_only(lang, text);
        assert!(!j.empathy_shown, "{lang}: {text}: {:?}", j.evidence);
    }
    // A negation in a subordinate clause is the customer's trouble, not the
    // agent's understanding taken back.
    let j = agent_only(
        "nl",
        "Ik begrijp dat het nog steeds niet werkt, ik ga het voor u uitzoeken.",
    );
    assert!(j.empathy_shown, "{:?}", j.evidence);
}

#[test]
fn oh_no_is_an_exclamation_not_a_negation() {
    let j = agent_only(
        "en",
        "oh no that's the last thing you need with the kids at home",
    );
    assert!(j.empathy_shown, "{:?}", j.evidence);
}

/// Stock understanding followed by blame in the same message is no
/// empathy; the same words with action instead of blame are, and blame in
/// another message does not take back the first message's empathy.
#[test]
fn blame_in_the_same_message_takes_back_its_stock_understanding() {
    let customer = "Al drie weken schimmel in de badkamer en mijn dochter heeft astma.";
    let blamed = judge(
        "nl",
        &[
            (C, customer, false),
            (
                A,
                "Ik begrijp dat het vervelend is, maar dat is uw eigen verantwoordelijkheid.",
                false,
            ),
        ],
        Disposition::Unresolved,
    );
    assert!(!blamed.empathy_shown && blamed.empathy_missed, "{blamed:?}");
    assert!(blamed
        .evidence
        .iter()
        .any(|e| e.category == "understanding" && e.weight == 0.0));
    let helped = judge(
        "nl",
        &[
            (C, customer, false),
            (
                A,
                "Ik begrijp dat het vervelend is, ik stuur morgen een monteur.",
                false,
            ),
        ],
        Disposition::Resolved,
    );
    assert!(helped.empathy_shown, "{helped:?}");
    let later = judge(
        "en",
        &[
            (C, "My parcel never arrived and I'm really upset.", false),
            (
                A,
                "I'm so sorry to hear that, that must be frustrating.",
                false,
            ),
            (C, "Can you resend it?", false),
            (
                A,
                "Only if you had entered the right address, which is your own responsibility.",
                false,
            ),
        ],
        Disposition::Unresolved,
    );
    assert!(
        later.evidence.iter().any(|e| e.category == "dismissive")
            && later.empathy_shown
            && later
                .evidence
                .iter()
                .any(|e| e.category == "acknowledgement" && e.weight > 0.0),
        "{later:?}"
    );
}
