//! The agent texts the empathy bench measures (`benches/empathy.rs`) and the
//! profiling loop counts instructions over (`examples/empathy_profile.rs`):
//! one list, so the two measure the same thing. A mix of chat, e-mail with a
//! signature and a quoted mail, and a bare question, in Dutch and English.

pub const AGENT_TEXTS: &[(&str, &str)] = &[
    ("nl", "Wat vervelend dat uw pakket na vijf weken nog niet binnen is. Ik ga het nu voor u navragen bij de vervoerder."),
    ("nl", "Ik begrijp niet wat u bedoelt. Kunt u uw ordernummer geven?"),
    ("nl", "snap t helemaal, is ook irritant als t niet werkt. ff checken: welke versie van de app heb je?"),
    ("nl", "Beste meneer De Boer,\n\nHet spijt me dat het bedrag twee keer van uw rekening is afgeschreven. Ik heb de dubbele betaling vandaag voor u teruggestort.\n\nMet vriendelijke groet,\nLisa\n\nOp 3 mei 2024 om 10:12 schreef K. de Boer <k@example.nl>:\n> Ik ben twee keer afgeschreven."),
    ("en", "I completely understand how frustrating this must be, and I'm going to fix it today."),
    ("en", "ah sorry!! that's so annoying. let me chase it with the courier rn, can u send me ur order number?"),
    ("en", "Dear Mr Evans,\n\nI'm truly sorry that you've had to write three times without a reply. I have booked an engineer for Thursday morning and I will personally call you on Wednesday.\n\nKind regards,\nPriya\n\nOn Mon, 3 Jun 2024 at 10:12, Mark Evans <mark@example.com> wrote:\n> Nobody has replied."),
    ("en", "Order number?"),
];
