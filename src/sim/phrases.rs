//! Building blocks of the simulated conversations, in Dutch and English.
//!
//! Every table holds templates with `{slot}` placeholders that
//! [`fill`] replaces from a contact's [`Slots`]. The tables are varied on
//! purpose: the empathy analyzer must be exercised by many phrasings, stock
//! phrases repeated by scripted agents, pity, dismissive answers, negations
//! ("ik begrijp niet…") and e-mail boilerplate, not by five fixed sentences.

/// The language of one simulated contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lang {
    Nl,
    En,
}

impl Lang {
    pub(crate) fn code(self) -> &'static str {
        match self {
            Lang::Nl => "nl",
            Lang::En => "en",
        }
    }
}

/// One table of alternatives per language.
pub(crate) struct P {
    pub nl: &'static [&'static str],
    pub en: &'static [&'static str],
}

impl P {
    pub(crate) fn get(&self, lang: Lang) -> &'static [&'static str] {
        match lang {
            Lang::Nl => self.nl,
            Lang::En => self.en,
        }
    }
}

/// The values a template can refer to, already in the contact's language.
#[derive(Debug, Clone, Default)]
pub(crate) struct Slots {
    /// First name of the agent who speaks.
    pub agent: String,
    /// Formal address of the customer ("meneer Jansen", "Ms Smith").
    pub name: String,
    pub first: String,
    pub full: String,
    pub email: String,
    pub item: String,
    pub order: String,
    pub amount: String,
    pub weeks: String,
    pub days: String,
    pub weekday: String,
    pub month: String,
    pub occasion: String,
    pub postcode: String,
    pub dept: String,
    pub situation: String,
    pub situation_cust: String,
    pub issue: String,
    pub when: String,
    pub nth: String,
    /// Over-familiar address a scripted agent uses ("meid", "schat", "hun").
    pub pet: String,
    pub daypart: String,
    pub nth_caps: String,
    pub question: String,
    pub answer: String,
}

impl Slots {
    fn get(&self, key: &str) -> Option<&str> {
        Some(match key {
            "agent" => &self.agent,
            "name" => &self.name,
            "first" => &self.first,
            "full" => &self.full,
            "email" => &self.email,
            "item" => &self.item,
            "order" => &self.order,
            "amount" => &self.amount,
            "weeks" => &self.weeks,
            "days" => &self.days,
            "weekday" => &self.weekday,
            "month" => &self.month,
            "occasion" => &self.occasion,
            "postcode" => &self.postcode,
            "dept" => &self.dept,
            "situation" => &self.situation,
            "situation_cust" => &self.situation_cust,
            "issue" => &self.issue,
            "when" => &self.when,
            "nth" => &self.nth,
            "pet" => &self.pet,
            "daypart" => &self.daypart,
            "nth_caps" => &self.nth_caps,
            "question" => &self.question,
            "answer" => &self.answer,
            _ => return None,
        })
    }
}

/// Replaces every `{slot}` of `template`; an unknown slot stays as written.
pub(crate) fn fill(template: &str, slots: &Slots) -> String {
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                let key = &after[..close];
                match slots.get(key) {
                    Some(v) => out.push_str(v),
                    None => {
                        out.push('{');
                        out.push_str(key);
                        out.push('}');
                    }
                }
                rest = &after[close + 1..];
            }
            None => {
                out.push_str(&rest[open..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// What a customer can contact the center about.
pub(crate) struct Topic {
    pub queue: &'static str,
    /// Whether the topic is trouble (an occasion for empathy) or a plain
    /// question.
    pub trouble: bool,
    pub items: P,
    pub problem_calm: P,
    pub problem_upset: P,
    /// The trouble from the agent's side ("uw pakket nog niet binnen is").
    pub situation: P,
    /// The trouble in the customer's words, for restating after a transfer.
    pub situation_cust: P,
    pub question: P,
    pub curt_question: P,
    pub answer: P,
    pub finding: P,
    pub resolve: P,
    /// What the agent will find out before calling back.
    pub issue: P,
    pub dept: P,
}

pub(crate) const TOPICS: &[Topic] = &[
    Topic {
        queue: "orders",
        trouble: true,
        items: P {
            nl: &["positiekleding", "een winterjas", "een koptelefoon", "een kinderzitje", "een koffiemachine", "hardloopschoenen", "een laptoptas"],
            en: &["maternity clothes", "a winter coat", "headphones", "a child seat", "a coffee machine", "running shoes", "a laptop bag"],
        },
        problem_calm: P {
            nl: &[
                "Ik heb op {weekday} {item} besteld, maar het is nog niet binnen. Kunt u kijken waar het blijft?",
                "Ik wacht nog op een pakket met {item}. Volgens de site zou het gisteren komen.",
                "Mijn bestelling is nog niet bezorgd. Weet u wanneer die komt?",
            ],
            en: &[
                "I ordered {item} on {weekday}, but it hasn't arrived yet. Could you check where it is?",
                "I'm still waiting for a parcel with {item}. The website said it would come yesterday.",
                "My order hasn't been delivered yet. Do you know when it will come?",
            ],
        },
        problem_upset: P {
            nl: &[
                "Mijn pakket met {item} is na {weeks} weken nog steeds niet binnen. Ik word er echt moe van.",
                "Volgens de track-and-trace is mijn pakket bezorgd, maar ik heb helemaal niets ontvangen. Dit is echt heel vervelend.",
                "Ik heb {item} besteld voor {occasion} en het is er nog steeds niet. Ik baal er enorm van.",
                "Ik zit al {days} dagen thuis te wachten op een bezorger die nooit komt. Ik ben het echt zat.",
            ],
            en: &[
                "My parcel with {item} still hasn't arrived after {weeks} weeks. I'm getting really fed up with this.",
                "The tracking says my parcel was delivered, but I haven't received anything. This is really annoying.",
                "I ordered {item} for {occasion} and it still isn't here. I'm so disappointed.",
                "I've been waiting at home for {days} days for a courier who never shows up. I'm sick of it.",
            ],
        },
        situation: P {
            nl: &["uw pakket nog steeds niet binnen is", "u zo lang op uw bestelling moet wachten", "het pakket niet bij u is aangekomen"],
            en: &["your parcel still hasn't arrived", "you've had to wait so long for your order", "the parcel never reached you"],
        },
        situation_cust: P {
            nl: &["mijn pakket dat nog steeds niet binnen is", "die bestelling met {item} die maar niet komt"],
            en: &["my parcel that still hasn't arrived", "the order with {item} that never turns up"],
        },
        question: P {
            nl: &["Mag ik uw ordernummer van u?", "Kunt u mij het ordernummer geven, dan kijk ik direct mee?", "Op welk adres had het pakket bezorgd moeten worden?"],
            en: &["Could I have your order number, please?", "Can you give me the order number so I can look it up?", "Which address should the parcel have been delivered to?"],
        },
        curt_question: P { nl: &["Ordernummer?", "Ordernummer en postcode?"], en: &["Order number?", "Order number and postcode?"] },
        answer: P {
            nl: &["Ja, dat is {order}.", "Het ordernummer is {order}.", "Eh, even kijken... {order}.", "{postcode}, en het ordernummer is {order}."],
            en: &["Sure, it's {order}.", "The order number is {order}.", "Uh, let me see... {order}.", "{postcode}, and the order number is {order}."],
        },
        finding: P {
            nl: &[
                "Ik zie dat het pakket sinds {weekday} in het sorteercentrum ligt.",
                "Ik zie dat de vervoerder het pakket bij een afhaalpunt heeft afgeleverd zonder u te laten weten.",
                "Ik zie dat het adreslabel onleesbaar was, daardoor is het pakket blijven hangen.",
            ],
            en: &[
                "I can see the parcel has been sitting at the sorting centre since {weekday}.",
                "I can see the carrier left it at a pick-up point without letting you know.",
                "I can see the address label was unreadable, so the parcel got stuck.",
            ],
        },
        resolve: P {
            nl: &[
                "Ik heb een nieuw pakket voor u klaargezet, dat wordt morgen bezorgd.",
                "De vervoerder bezorgt het pakket morgen alsnog, u krijgt vanavond een mail met het tijdvak.",
                "Ik heb de bestelling opnieuw verstuurd met spoedlevering, zonder kosten.",
            ],
            en: &[
                "I've sent a replacement parcel, it will be delivered tomorrow.",
                "The carrier will deliver it tomorrow, you'll get an e-mail with the time slot tonight.",
                "I've re-sent the order with express delivery, free of charge.",
            ],
        },
        issue: P { nl: &["bij de vervoerder navragen waar het pakket is"], en: &["check with the carrier where the parcel is"] },
        dept: P { nl: &["logistiek", "de bezorgdienst"], en: &["logistics", "the delivery team"] },
    },
    Topic {
        queue: "billing",
        trouble: true,
        items: P { nl: &["de factuur van {month}", "de laatste factuur"], en: &["the {month} invoice", "the last invoice"] },
        problem_calm: P {
            nl: &["Ik heb een vraag over de factuur van {month}, er staat een bedrag op dat ik niet herken.", "Ik zie een bedrag van {amount} euro op mijn factuur en ik snap niet waar dat voor is."],
            en: &["I have a question about the {month} invoice, there's an amount on it I don't recognise.", "There's a charge of {amount} euros on my invoice and I don't know what it's for."],
        },
        problem_upset: P {
            nl: &[
                "Er is twee keer {amount} euro van mijn rekening afgeschreven. Dat vind ik echt niet normaal.",
                "Ik heb een aanmaning gekregen voor een factuur die ik allang betaald heb. Ik schrik me rot.",
                "Jullie hebben {amount} euro te veel afgeschreven en nu sta ik rood. Ik ben hier echt boos over.",
            ],
            en: &[
                "You've taken {amount} euros from my account twice. That's really not okay.",
                "I got a reminder for an invoice I paid ages ago. It gave me quite a fright.",
                "You charged me {amount} euros too much and now I'm overdrawn. I'm really angry about this.",
            ],
        },
        situation: P {
            nl: &["er te veel is afgeschreven", "u een aanmaning kreeg terwijl u al betaald had", "uw factuur niet klopt"],
            en: &["you were charged too much", "you got a reminder even though you'd paid", "your invoice isn't right"],
        },
        situation_cust: P { nl: &["die dubbele afschrijving", "de factuur die niet klopt"], en: &["the double charge", "the invoice that's wrong"] },
        question: P {
            nl: &["Kunt u mij het factuurnummer geven?", "Mag ik uw klantnummer, dan zoek ik de factuur erbij?", "Weet u op welke datum het bedrag is afgeschreven?"],
            en: &["Could you give me the invoice number?", "May I have your customer number so I can find the invoice?", "Do you know on which date the amount was debited?"],
        },
        curt_question: P { nl: &["Factuurnummer?", "Klantnummer?"], en: &["Invoice number?", "Customer number?"] },
        answer: P {
            nl: &["Het factuurnummer is F{order}.", "Mijn klantnummer is {order}.", "Dat was afgelopen {weekday}, {amount} euro."],
            en: &["The invoice number is F{order}.", "My customer number is {order}.", "That was last {weekday}, {amount} euros."],
        },
        finding: P {
            nl: &["Ik zie inderdaad een dubbele afschrijving van {amount} euro.", "Ik zie dat uw betaling wel binnen is, maar niet aan de factuur gekoppeld.", "Ik zie dat er per abuis een oud tarief is gerekend."],
            en: &["I can indeed see a double debit of {amount} euros.", "I can see your payment came in but wasn't matched to the invoice.", "I can see an old rate was charged by mistake."],
        },
        resolve: P {
            nl: &["Ik heb het bedrag teruggestort, dat staat binnen drie werkdagen op uw rekening.", "Ik heb de aanmaning ingetrokken en de betaling aan de factuur gekoppeld.", "Ik heb een creditnota van {amount} euro gemaakt."],
            en: &["I've refunded the amount, it will be in your account within three working days.", "I've withdrawn the reminder and matched your payment to the invoice.", "I've issued a credit note for {amount} euros."],
        },
        issue: P { nl: &["met de afdeling debiteuren uitzoeken wat er mis is gegaan"], en: &["find out with accounts receivable what went wrong"] },
        dept: P { nl: &["de financiële administratie", "debiteurenbeheer"], en: &["billing", "accounts receivable"] },
    },
    Topic {
        queue: "subscriptions",
        trouble: true,
        items: P { nl: &["mijn abonnement", "het sportabonnement", "het krantenabonnement"], en: &["my subscription", "the gym membership", "the newspaper subscription"] },
        problem_calm: P {
            nl: &[
                "Ik heb mijn abonnement opgezegd, maar ik zie nog steeds een afschrijving. Kunt u dat nakijken?",
                "Mijn abonnement lijkt verlengd te zijn, terwijl ik dacht dat het afliep. Klopt dat?",
            ],
            en: &[
                "I cancelled my subscription, but I still see a payment going out. Could you check?",
                "My subscription seems to have been renewed, I thought it was ending. Is that right?",
            ],
        },
        problem_upset: P {
            nl: &[
                "Ik heb mijn abonnement in {month} opgezegd, maar ik betaal nog steeds. Dit is echt belachelijk.",
                "Ik kan mijn abonnement nergens opzeggen op jullie site. Ik word er gek van.",
                "Mijn abonnement is zonder te vragen verlengd. Dat vind ik echt heel vervelend.",
            ],
            en: &[
                "I cancelled my subscription in {month}, but I'm still paying. This is ridiculous.",
                "I can't find anywhere on your website to cancel my subscription. It's driving me mad.",
                "My subscription was renewed without asking me. I'm really upset about that.",
            ],
        },
        situation: P {
            nl: &["u nog steeds betaalt na het opzeggen", "het opzeggen zo moeilijk gaat", "uw abonnement zomaar verlengd is"],
            en: &["you're still paying after cancelling", "cancelling has been so difficult", "your subscription was renewed without asking"],
        },
        situation_cust: P { nl: &["mijn opzegging die niet is verwerkt"], en: &["my cancellation that wasn't processed"] },
        question: P {
            nl: &["Mag ik uw klantnummer van u?", "Weet u nog op welke datum u heeft opgezegd?", "Heeft u een bevestiging van de opzegging gekregen?"],
            en: &["May I have your customer number?", "Do you remember on which date you cancelled?", "Did you receive a confirmation of the cancellation?"],
        },
        curt_question: P { nl: &["Klantnummer?", "Geboortedatum?"], en: &["Customer number?", "Date of birth?"] },
        answer: P {
            nl: &["Mijn klantnummer is {order}.", "Dat was begin {month}, ik heb nog een mail van jullie.", "Nee, ik heb nooit een bevestiging gekregen."],
            en: &["My customer number is {order}.", "That was early {month}, I still have an e-mail from you.", "No, I never got a confirmation."],
        },
        finding: P {
            nl: &["Ik zie dat uw opzegging wel is ontvangen, maar niet is verwerkt.", "Ik zie dat het abonnement automatisch is verlengd op de eerste van de maand."],
            en: &["I can see your cancellation was received but never processed.", "I can see the subscription renewed automatically on the first of the month."],
        },
        resolve: P {
            nl: &["Ik heb uw abonnement per direct stopgezet en de te veel betaalde maanden gecrediteerd.", "Ik heb de opzegging alsnog verwerkt, u krijgt de bevestiging per mail."],
            en: &["I've stopped your subscription right away and refunded the months you overpaid.", "I've processed the cancellation now, you'll get the confirmation by e-mail."],
        },
        issue: P { nl: &["nagaan waarom de opzegging niet is verwerkt"], en: &["find out why the cancellation wasn't processed"] },
        dept: P { nl: &["de afdeling abonnementen"], en: &["the subscriptions team"] },
    },
    Topic {
        queue: "outages",
        trouble: true,
        items: P { nl: &["internet", "tv", "de wifi"], en: &["internet", "TV", "the wifi"] },
        problem_calm: P {
            nl: &["Mijn {item} valt af en toe weg. Kunt u eens meekijken?", "Ik heb sinds vanochtend geen {item}. Is er een storing bekend?"],
            en: &["My {item} keeps dropping out now and then. Could you have a look?", "I haven't had any {item} since this morning. Is there a known outage?"],
        },
        problem_upset: P {
            nl: &[
                "Mijn internet doet het al {days} dagen niet en ik werk thuis. Ik ben echt wanhopig.",
                "Ik heb sinds gisteren geen tv en geen internet, en niemand laat iets van zich horen. Dit is echt frustrerend.",
                "Voor de derde keer deze maand ligt alles eruit. Ik ben het spuugzat.",
            ],
            en: &[
                "My internet hasn't worked for {days} days and I work from home. I'm desperate.",
                "I've had no TV and no internet since yesterday, and nobody tells me anything. This is so frustrating.",
                "Everything is down for the third time this month. I'm absolutely fed up.",
            ],
        },
        situation: P {
            nl: &["u al dagen zonder internet zit", "u thuis niet kunt werken", "de storing zo lang duurt"],
            en: &["you've been without internet for days", "you can't work from home", "the outage is taking so long"],
        },
        situation_cust: P { nl: &["de storing bij mij thuis"], en: &["the outage at my place"] },
        question: P {
            nl: &["Heeft u het modem al opnieuw opgestart?", "Mag ik uw postcode en huisnummer?", "Branden er lampjes op het modem, en welke kleur hebben ze?"],
            en: &["Have you already restarted the modem?", "May I have your postcode and house number?", "Are there any lights on the modem, and what colour are they?"],
        },
        curt_question: P { nl: &["Postcode en huisnummer?", "Modem herstart?"], en: &["Postcode and house number?", "Restarted the modem?"] },
        answer: P {
            nl: &["Ja, al drie keer.", "{postcode}, nummer 12.", "Er knippert een oranje lampje."],
            en: &["Yes, three times already.", "{postcode}, number 12.", "There's an orange light blinking."],
        },
        finding: P {
            nl: &["Er is inderdaad een storing in uw wijk bekend.", "Ik zie dat uw modem geen verbinding maakt met ons netwerk.", "Ik zie dat er in uw straat gegraven is en dat daarbij een kabel is geraakt."],
            en: &["There is indeed a known outage in your area.", "I can see your modem isn't connecting to our network.", "I can see there was digging in your street and a cable was hit."],
        },
        resolve: P {
            nl: &["Er komt morgen tussen acht en twaalf een monteur bij u langs.", "Ik heb uw modem op afstand opnieuw ingesteld, het zou nu weer moeten werken.", "De storing is over een uur verholpen en u krijgt een maand korting."],
            en: &["An engineer will visit tomorrow between eight and twelve.", "I've reset your modem remotely, it should work again now.", "The outage will be fixed within the hour and you'll get a month's discount."],
        },
        issue: P { nl: &["met de monteurs overleggen wanneer de storing verholpen is"], en: &["check with the engineers when the outage will be fixed"] },
        dept: P { nl: &["de technische dienst"], en: &["technical support"] },
    },
    Topic {
        queue: "refunds",
        trouble: true,
        items: P { nl: &["de jurk", "de schoenen", "de stofzuiger", "het matras"], en: &["the dress", "the shoes", "the vacuum cleaner", "the mattress"] },
        problem_calm: P {
            nl: &["Ik heb {item} teruggestuurd en wil graag weten wanneer ik mijn geld terugkrijg.", "Hoe lang duurt het voordat een retour is terugbetaald?"],
            en: &["I sent back {item} and would like to know when I'll get my money back.", "How long does it take before a return is refunded?"],
        },
        problem_upset: P {
            nl: &[
                "Ik heb {item} {weeks} weken geleden teruggestuurd en nog steeds geen geld terug. Ik vind het echt niet kunnen.",
                "Mijn retour is volgens de vervoerder aangekomen, maar de terugbetaling blijft uit. Ik maak me echt zorgen.",
                "Ik krijg maar {amount} euro terug in plaats van het volle bedrag. Ik ben echt teleurgesteld.",
            ],
            en: &[
                "I sent back {item} {weeks} weeks ago and still haven't got my money back. It's just not acceptable.",
                "The carrier says my return arrived, but the refund never came. I'm really worried.",
                "I'm only getting {amount} euros back instead of the full amount. I'm really disappointed.",
            ],
        },
        situation: P {
            nl: &["u nog steeds op uw geld wacht", "de terugbetaling zo lang duurt", "u niet het volle bedrag terugkrijgt"],
            en: &["you're still waiting for your money", "the refund is taking so long", "you're not getting the full amount back"],
        },
        situation_cust: P { nl: &["mijn terugbetaling die maar niet komt"], en: &["my refund that never arrives"] },
        question: P {
            nl: &["Wanneer heeft u het pakket teruggestuurd?", "Heeft u de verzendcode van de retour nog?", "Mag ik het ordernummer van de retour?"],
            en: &["When did you send the parcel back?", "Do you still have the tracking code of the return?", "May I have the order number of the return?"],
        },
        curt_question: P { nl: &["Retournummer?", "Ordernummer?"], en: &["Return number?", "Order number?"] },
        answer: P {
            nl: &["Op {weekday} heb ik het teruggestuurd.", "De verzendcode is 3S{order}.", "Het ordernummer is {order}."],
            en: &["I sent it back on {weekday}.", "The tracking code is 3S{order}.", "The order number is {order}."],
        },
        finding: P {
            nl: &["Uw retour is ontvangen, maar de terugbetaling is in ons systeem blijven hangen.", "Ik zie dat er per ongeluk verzendkosten zijn ingehouden."],
            en: &["Your return was received, but the refund got stuck in our system.", "I can see shipping costs were deducted by mistake."],
        },
        resolve: P {
            nl: &["De terugbetaling van {amount} euro staat nu klaar en is binnen twee werkdagen op uw rekening.", "Ik heb het volledige bedrag alsnog teruggestort."],
            en: &["The refund of {amount} euros is ready and will be in your account within two working days.", "I've refunded the full amount."],
        },
        issue: P { nl: &["bij het retourcentrum navragen waar uw retour is"], en: &["ask the returns centre where your return is"] },
        dept: P { nl: &["het retourcentrum"], en: &["the returns centre"] },
    },
    Topic {
        queue: "general",
        trouble: false,
        items: P { nl: &["mijn adres", "mijn telefoonnummer", "mijn e-mailadres"], en: &["my address", "my phone number", "my e-mail address"] },
        problem_calm: P {
            nl: &[
                "Ik ga verhuizen en wil graag {item} wijzigen.",
                "Kunt u mij vertellen tot hoe laat ik vandaag kan bestellen om het morgen te hebben?",
                "Ik wil graag weten of {item} nog goed bij jullie staat.",
                "Hebben jullie ook een winkel in Utrecht?",
            ],
            en: &[
                "I'm moving house and would like to change {item}.",
                "Could you tell me until what time I can order today to have it tomorrow?",
                "I'd like to check whether you have {item} right.",
                "Do you also have a shop in Utrecht?",
            ],
        },
        problem_upset: P {
            nl: &["Ik probeer al een uur {item} te wijzigen op de site, maar het lukt gewoon niet. Ik word er moedeloos van."],
            en: &["I've been trying to change {item} on the website for an hour and it just doesn't work. It's so frustrating."],
        },
        situation: P { nl: &["het wijzigen via de site niet lukt"], en: &["changing it on the website doesn't work"] },
        situation_cust: P { nl: &["het wijzigen van {item}"], en: &["changing {item}"] },
        question: P {
            nl: &["Mag ik uw postcode en huisnummer?", "Wat is het nieuwe adres?", "Mag ik uw klantnummer?"],
            en: &["May I have your postcode and house number?", "What is the new address?", "May I have your customer number?"],
        },
        curt_question: P { nl: &["Klantnummer?", "Postcode?"], en: &["Customer number?", "Postcode?"] },
        answer: P {
            nl: &["{postcode}, nummer 7.", "Mijn klantnummer is {order}.", "Het nieuwe adres is Dorpsstraat 14, {postcode}."],
            en: &["{postcode}, number 7.", "My customer number is {order}.", "The new address is 14 Church Street, {postcode}."],
        },
        finding: P { nl: &["Ik heb uw gegevens voor me.", "Ik zie uw account."], en: &["I have your details here.", "I can see your account."] },
        resolve: P {
            nl: &["Ik heb het aangepast, u krijgt een bevestiging per mail.", "Als u voor tien uur 's avonds bestelt, heeft u het morgen in huis.", "Het staat nu goed in ons systeem."],
            en: &["I've changed it, you'll get a confirmation by e-mail.", "If you order before ten tonight, you'll have it tomorrow.", "It's correct in our system now."],
        },
        issue: P { nl: &["uitzoeken waarom het wijzigen niet lukt"], en: &["find out why the change doesn't go through"] },
        dept: P { nl: &["de klantadministratie"], en: &["customer records"] },
    },
];

pub(crate) const WEEKDAYS: P = P {
    nl: &[
        "maandag",
        "dinsdag",
        "woensdag",
        "donderdag",
        "vrijdag",
        "zaterdag",
        "zondag",
    ],
    en: &[
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    ],
};
pub(crate) const MONTHS: P = P {
    nl: &[
        "januari",
        "februari",
        "maart",
        "april",
        "mei",
        "juni",
        "juli",
        "augustus",
        "september",
        "oktober",
        "november",
        "december",
    ],
    en: &[
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ],
};
pub(crate) const OCCASIONS: P = P {
    nl: &[
        "de verjaardag van mijn dochter",
        "onze vakantie",
        "de bruiloft van mijn zus",
        "mijn nieuwe baan",
        "de feestdagen",
    ],
    en: &[
        "my daughter's birthday",
        "our holiday",
        "my sister's wedding",
        "my new job",
        "the holidays",
    ],
};
pub(crate) const NUMBERS: P = P {
    nl: &["twee", "drie", "vier", "vijf", "zes"],
    en: &["two", "three", "four", "five", "six"],
};
pub(crate) const NTH: P = P {
    nl: &["tweede", "derde", "vierde", "vijfde"],
    en: &["second", "third", "fourth", "fifth"],
};

pub(crate) const FIRST_NAMES_F: P = P {
    nl: &[
        "Sanne", "Fatima", "Anouk", "Lotte", "Esra", "Marieke", "Noor", "Ingrid", "Priya", "Demi",
    ],
    en: &[
        "Emma", "Olivia", "Sarah", "Grace", "Chloe", "Amira", "Hannah", "Laura",
    ],
};
pub(crate) const FIRST_NAMES_M: P = P {
    nl: &[
        "Piet", "Mohammed", "Jeroen", "Daan", "Kees", "Youssef", "Bram", "Thijs", "Ruben", "Henk",
    ],
    en: &[
        "James", "Tom", "Daniel", "Omar", "Jack", "Ben", "Ryan", "David",
    ],
};
pub(crate) const SURNAMES: P = P {
    nl: &[
        "Jansen",
        "de Vries",
        "Bakker",
        "Visser",
        "Smit",
        "Meijer",
        "de Boer",
        "Mulder",
        "El Amrani",
        "Yilmaz",
        "van Dijk",
        "Bos",
        "Peters",
        "Hendriks",
    ],
    en: &[
        "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Evans", "Patel", "Murphy",
        "Walker",
    ],
};
/// First names of agents, independent of the contact's language.
pub(crate) const AGENT_NAMES: &[&str] = &[
    "Sanne", "Mark", "Fleur", "Dennis", "Yasmina", "Joost", "Iris", "Bilal", "Linda", "Ruud",
    "Eva", "Kevin", "Naima", "Wouter", "Sophie", "Tim", "Lisa", "Erik", "Merel", "Ahmed", "Kim",
    "Jasper", "Femke", "Rick", "Nina",
];

// --- agent: openings -------------------------------------------------------

pub(crate) const GREET_WARM: P = P {
    nl: &[
        "{daypart}, u spreekt met {agent} van de klantenservice. Waarmee kan ik u helpen?",
        "Klantenservice, goedendag, met {agent}. Wat kan ik voor u doen?",
        "{daypart}, fijn dat u belt. U spreekt met {agent}, waarmee kan ik u van dienst zijn?",
    ],
    en: &[
        "{daypart}, you're speaking with {agent} from customer service. How can I help you?",
        "Customer service, this is {agent}. What can I do for you today?",
        "{daypart}, thanks for getting in touch. This is {agent}, how can I help?",
    ],
};
pub(crate) const GREET_CHAT: P = P {
    nl: &[
        "Hallo, je chat met {agent} van de klantenservice. Waarmee kan ik je helpen?",
        "Hoi! Je spreekt met {agent}. Wat kan ik voor je doen?",
        "Goedendag, met {agent}. Waar kan ik u mee helpen?",
    ],
    en: &[
        "Hi, you're chatting with {agent} from customer service. How can I help?",
        "Hello! This is {agent}. What can I do for you?",
    ],
};
pub(crate) const GREET_CURT: P = P {
    nl: &["Klantenservice.", "Met {agent}.", "Ja, zegt u het maar."],
    en: &["Customer service.", "{agent} speaking.", "Yes, go ahead."],
};
pub(crate) const GREET_SCRIPTED: P = P {
    nl: &[
        "{daypart}!! Wat leuk dat je contact opneemt, je spreekt met {agent}! Waar kan ik je vandaag mee helpen?",
        "Hoi hoi, met {agent}! Super fijn dat je er bent, vertel het maar!",
    ],
    en: &["{daypart}!! Thanks so much for reaching out, you're talking to {agent}! How can I help you today?", "Hiya, it's {agent}! Lovely to hear from you, what can I do for you?"],
};
pub(crate) const GREET_AFTER_TRANSFER: P = P {
    nl: &[
        "Goedendag, u spreekt met {agent} van {dept}. Mijn collega heeft me al kort bijgepraat.",
        "Met {agent} van {dept}. Ik heb uw gegevens voor me.",
    ],
    en: &[
        "Hello, this is {agent} from {dept}. My colleague has filled me in.",
        "{agent} from {dept} here. I have your details in front of me.",
    ],
};

// --- customer ---------------------------------------------------------------

pub(crate) const REPEAT_MENTION: P = P {
    nl: &[
        "Ik heb hier vorige week ook al over gebeld.",
        "Dit is al de {nth} keer dat ik contact opneem.",
        "Ik had al eerder contact, maar er is niets gebeurd.",
    ],
    en: &[
        "I already called about this last week.",
        "This is the {nth} time I'm contacting you about this.",
        "I was in touch before, but nothing happened.",
    ],
};
pub(crate) const CUSTOMER_FEELING: P = P {
    nl: &[
        "Ik heb er echt geen zin meer in.",
        "Ik vind het gewoon heel vervelend, ik heb er al zoveel tijd in gestoken.",
        "Ik had het echt nodig voor {occasion}.",
        "Ik maak me er eerlijk gezegd best zorgen over.",
        "Het is gewoon heel teleurstellend.",
    ],
    en: &[
        "I've really had enough of it.",
        "It's just really annoying, I've already spent so much time on this.",
        "I really needed it for {occasion}.",
        "To be honest, I'm quite worried about it.",
        "It's just really disappointing.",
    ],
};
pub(crate) const HOSTILE_OPENER: P = P {
    nl: &[
        "DIT IS DE {nth_caps} KEER DAT IK BEL!!!",
        "IK BEN HET ZO ONGELOOFLIJK ZAT!!!",
        "Wat is dit voor een waardeloze klantenservice!!!",
        "JULLIE ZIJN ECHT ONGELOOFLIJK!!",
    ],
    en: &[
        "THIS IS THE {nth_caps} TIME I'M CALLING!!!",
        "I'M SO SICK OF THIS!!!",
        "What kind of useless customer service is this!!!",
        "YOU PEOPLE ARE UNBELIEVABLE!!",
    ],
};
pub(crate) const HOSTILE_CONTINUE: P = P {
    nl: &[
        "JA, IK SCHREEUW, OMDAT NIEMAND MIJ HELPT!!!",
        "IK WIL GEWOON DAT HET NU OPGELOST WORDT!!!",
        "NEE, IK GA NIET RUSTIG DOEN!!!",
    ],
    en: &[
        "YES I'M SHOUTING, BECAUSE NOBODY HELPS ME!!!",
        "I JUST WANT THIS FIXED NOW!!!",
        "NO, I WILL NOT CALM DOWN!!!",
    ],
};
pub(crate) const HOSTILE_APOLOGY: P = P {
    nl: &[
        "Sorry, u heeft gelijk. Ik ben gewoon heel boos.",
        "Excuses, het is niet tegen u persoonlijk.",
        "Ja... sorry. Het zit me gewoon heel hoog.",
    ],
    en: &[
        "Sorry, you're right. I'm just very angry.",
        "Apologies, it's nothing personal.",
        "Yes... sorry. I'm just really upset about it.",
    ],
};
pub(crate) const CUSTOMER_THANKS: P = P {
    nl: &[
        "Fijn, dank u wel!",
        "Top, daar ben ik blij mee.",
        "Oké, dat klinkt goed. Bedankt.",
        "Eindelijk. Dank u.",
    ],
    en: &[
        "Great, thank you!",
        "Brilliant, I'm happy with that.",
        "Okay, that sounds good. Thanks.",
        "Finally. Thank you.",
    ],
};
pub(crate) const CUSTOMER_DISAPPOINTED: P = P {
    nl: &[
        "Nou, daar heb ik dus niks aan.",
        "Dus ik moet gewoon weer wachten? Geweldig.",
        "Dit is echt belachelijk.",
        "Hm. Oké dan.",
    ],
    en: &[
        "Well, that's no use to me.",
        "So I just have to wait again? Great.",
        "This is ridiculous.",
        "Hm. Okay then.",
    ],
};
pub(crate) const CUSTOMER_CALLBACK_OK: P = P {
    nl: &[
        "Oké, dan hoor ik het van u.",
        "Goed, ik wacht uw telefoontje af.",
        "Morgenochtend dan maar.",
    ],
    en: &[
        "Okay, I'll hear from you then.",
        "Fine, I'll wait for your call.",
        "Tomorrow morning then.",
    ],
};
pub(crate) const CUSTOMER_AFTER_GUSH: P = P {
    nl: &["Eh... ja, dat hoop ik ook.", "Eh, oké. Dag."],
    en: &["Uh... yes, I hope so too.", "Erm, okay. Bye."],
};
pub(crate) const CUSTOMER_NOTHING_ELSE: P = P {
    nl: &[
        "Nee, dat was het. Bedankt.",
        "Nee hoor, dank u wel.",
        "Nee, verder niks.",
    ],
    en: &[
        "No, that's all, thanks.",
        "No, thank you.",
        "No, nothing else.",
    ],
};

// --- agent: empathy, questions, actions --------------------------------------

/// Genuine acknowledgement of trouble or feelings.
pub(crate) const ACK_GENUINE: P = P {
    nl: &[
        "Wat vervelend dat {situation}.",
        "Dat is balen, {name}, zeker omdat u er al zo lang mee bezig bent.",
        "Ik begrijp heel goed dat u hier van baalt.",
        "Ik snap dat u dit graag snel opgelost wilt hebben.",
        "Dat is inderdaad niet hoe het hoort, mijn excuses daarvoor.",
        "Vervelend voor u dat {situation}, dat begrijp ik goed.",
        "Ik kan me voorstellen dat u daar niet blij mee bent, {name}.",
    ],
    en: &[
        "I'm sorry to hear that {situation}.",
        "That must be frustrating, {name}, especially after all the time you've spent on it.",
        "I completely understand why you're upset about this.",
        "I understand you'd like this sorted quickly.",
        "That's not how it should be, and I apologise for that.",
        "I can imagine that's not what you wanted to hear, {name}.",
    ],
};
pub(crate) const ACK_CHAT: P = P {
    nl: &[
        "Oei, snap t helemaal!",
        "sorry!! dat is echt balen",
        "Ah vervelend zeg, dat snap ik",
    ],
    en: &[
        "ugh, sorry!! that's so annoying",
        "totally get it, sorry about that!",
        "oh no, I'm sorry to hear that",
    ],
};
pub(crate) const OWNERSHIP: P = P {
    nl: &[
        "Ik ga dit nu voor u uitzoeken.",
        "Ik zorg ervoor dat dit vandaag nog geregeld wordt.",
        "Ik kijk het direct voor u na.",
        "Laat het maar aan mij over, ik ga ermee aan de slag.",
    ],
    en: &[
        "I'm going to look into this for you right now.",
        "I'll make sure this gets sorted today.",
        "Let me check that for you straight away.",
        "Leave it with me, I'll get on it.",
    ],
};
pub(crate) const ACK_NEUTRAL: P = P {
    nl: &[
        "Oké.",
        "Goed, ik kijk even mee.",
        "Momentje, ik zoek het op.",
        "Dank u.",
        "Dat is genoteerd.",
    ],
    en: &[
        "Okay.",
        "Right, let me have a look.",
        "One moment, I'll look it up.",
        "Thanks.",
        "Noted.",
    ],
};
/// Negation decoys: understanding words that do not show understanding.
pub(crate) const NOT_UNDERSTANDING: P = P {
    nl: &[
        "Ik begrijp niet goed wat u bedoelt, kunt u dat herhalen?",
        "Ik snap niet waarom u dat niet eerder heeft gemeld.",
    ],
    en: &[
        "I don't understand what you mean, could you repeat that?",
        "I don't understand why you didn't report this earlier.",
    ],
};
pub(crate) const SCRIPTED_ACK: P = P {
    nl: &[
        "Wat vervelend!",
        "Wat vervelend zeg!",
        "Ahh, wat ontzettend vervelend voor je!!",
        "Oh nee, wat vervelend!",
    ],
    en: &[
        "Oh no, that's so awful!!",
        "Oh no, how awful!",
        "Aww, that's just terrible for you!!",
    ],
};
pub(crate) const SCRIPTED_CHATTER: P = P {
    nl: &[
        "Oh, {item}! Wat leuk, die heb ik zelf ook, echt een aanrader.",
        "Ja hoor, de wet van Murphy hè, altijd als je iets nodig hebt!",
        "Haha, dat ken ik, bij mij gaat dat ook altijd zo!",
    ],
    en: &[
        "Oh, {item}! Lovely, I've got one myself, you'll love it.",
        "Typical, isn't it, Murphy's law!",
        "Haha, I know the feeling, it always happens to me too!",
    ],
};
pub(crate) const PITY: P = P {
    nl: &[
        "Ach gossie, arm kind, dat is ook wat.",
        "Och jee, u arme ziel.",
        "Ach, wat zielig voor u.",
        "Ach gossie, dat is ook allemaal best ingewikkeld voor u hè.",
    ],
    en: &[
        "Oh you poor thing.",
        "Aw, poor you, that's just awful.",
        "Oh dear, you poor soul.",
        "Aw, that must all be very confusing for you, bless you.",
    ],
};
pub(crate) const DISMISSIVE: P = P {
    nl: &[
        "Daar kan ik niks aan doen.",
        "Dat is niet mijn probleem, daarvoor moet u bij de vervoerder zijn.",
        "U had de voorwaarden moeten lezen.",
        "Dat staat gewoon op de site.",
    ],
    en: &[
        "There's nothing I can do about that.",
        "That's not my problem, you need to contact the carrier.",
        "You should have read the terms and conditions.",
        "It says so on the website.",
    ],
};
pub(crate) const LOOKING: P = P {
    nl: &[
        "Een ogenblik, ik kijk even in het systeem.",
        "Momentje, ik zoek het voor u op.",
        "Ik kijk even met u mee.",
    ],
    en: &[
        "One moment, I'll check the system.",
        "Just a moment, let me look that up for you.",
        "Let me take a look with you.",
    ],
};
pub(crate) const TRANSFER: P = P {
    nl: &[
        "Hiervoor verbind ik u door met een collega van {dept}. Een ogenblik.",
        "Dit kan {dept} beter voor u oplossen, ik zet u even door.",
    ],
    en: &[
        "I'll transfer you to a colleague in {dept}. One moment, please.",
        "{dept} can help you better with this, I'll put you through.",
    ],
};
pub(crate) const CALLBACK_PROMISE: P = P {
    nl: &[
        "Ik ga {issue} en bel u {when} terug.",
        "Ik zoek het uit en ik bel u zelf {when} terug, dat beloof ik.",
    ],
    en: &[
        "I'll {issue} and call you back {when}.",
        "I'll find out and call you back myself {when}, I promise.",
    ],
};
pub(crate) const ESCALATE: P = P {
    nl: &["Ik leg dit voor aan onze specialisten van de tweede lijn, zij nemen binnen twee werkdagen contact met u op.", "Ik zet dit door naar mijn teamleider, die pakt het verder met u op."],
    en: &["I'm passing this on to our second-line specialists, they'll contact you within two working days.", "I'm escalating this to my team leader, who will take it from here."],
};
pub(crate) const UNRESOLVED: P = P {
    nl: &[
        "Ik kan dit helaas nu niet voor u oplossen. Probeert u het over een paar dagen nog eens?",
        "Helaas kan ik op dit moment niets voor u betekenen.",
        "Het systeem laat me dit nu niet aanpassen, het spijt me.",
    ],
    en: &[
        "Unfortunately I can't solve this for you right now. Could you try again in a few days?",
        "I'm afraid there's nothing I can do for you at the moment.",
        "The system won't let me change this right now, I'm sorry.",
    ],
};
pub(crate) const ANYTHING_ELSE: P = P {
    nl: &[
        "Kan ik u verder nog ergens mee helpen?",
        "Is er verder nog iets waar ik u mee kan helpen?",
    ],
    en: &[
        "Is there anything else I can help you with?",
        "Anything else I can do for you today?",
    ],
};
pub(crate) const FAREWELL: P = P {
    nl: &[
        "Dan wens ik u nog een fijne dag, {name}.",
        "Graag gedaan, fijne dag nog!",
        "Bedankt voor uw geduld en een prettige dag verder.",
    ],
    en: &[
        "You're welcome, have a good day, {name}.",
        "My pleasure, have a nice day!",
        "Thank you for your patience, and have a good day.",
    ],
};
pub(crate) const FAREWELL_CURT: P = P {
    nl: &["Goedendag.", "Dag."],
    en: &["Bye.", "Goodbye."],
};
pub(crate) const FAREWELL_SCRIPTED: P = P {
    nl: &[
        "Nou, ik hoop dat het allemaal goed komt {pet}!",
        "Heel veel sterkte hè {pet}, het komt vast allemaal helemaal goed!!",
        "Nou, ik hoop dat het zo allemaal goed komt {pet}! Doeiii!",
    ],
    en: &[
        "Aww, I really hope it all works out for you, {pet}!",
        "Take care {pet}, fingers crossed it all sorts itself out!!",
    ],
};
pub(crate) const FAREWELL_PITY: P = P {
    nl: &[
        "Sterkte hoor, u arme ziel.",
        "Ach, het komt vast wel goed, kindje.",
    ],
    en: &[
        "Take care, you poor thing.",
        "Bless you, I'm sure it'll be fine, dear.",
    ],
};

// --- hostile customers -------------------------------------------------------

pub(crate) const NAME_BEHAVIOUR: P = P {
    nl: &[
        "Ik hoor dat u boos bent, en dat begrijp ik. Wat kan ik vandaag voor u regelen?",
        "Hebt u in de gaten dat u aan het schreeuwen bent?",
        "{name}, ik merk dat u erg boos bent. Wat wilt u met het schreeuwen bereiken?",
    ],
    en: &[
        "I can hear that you're angry, and I understand. What can I sort out for you today?",
        "Are you aware that you're shouting?",
        "{name}, I can tell you're very angry. What do you want to achieve by shouting?",
    ],
};
pub(crate) const NAME_BEHAVIOUR_WRITTEN: P = P {
    nl: &["Ik lees dat u erg boos bent, en dat begrijp ik. Zal ik u terugbellen, dan lossen we het samen op?", "Ik merk aan uw bericht dat u boos bent. Wat kan ik vandaag voor u regelen?"],
    en: &["I can see from your message that you're very angry, and I understand. Shall I call you back so we can sort it out together?", "I can tell you're upset. What can I sort out for you today?"],
};
pub(crate) const END_WITH_CALLBACK: P = P {
    nl: &["Ik ga het gesprek nu beëindigen, want u blijft schreeuwen. Wanneer kan ik u morgen het beste terugbellen?", "Ik stel voor dat ik u straks zelf terugbel, dan kunnen we rustig verder. Wanneer schikt het u?"],
    en: &["I'm going to end the call now because you keep shouting. When is a good time for me to call you back tomorrow?", "I suggest I call you back myself later so we can continue calmly. When suits you?"],
};
pub(crate) const COUNTER_ATTACK: P = P {
    nl: &[
        "Als u zo blijft schreeuwen, kan ik u niet helpen.",
        "Doet u even normaal, meneer.",
        "Rustig aan, ik ben ook maar een mens.",
        "Kalmeert u eerst maar eens.",
    ],
    en: &[
        "If you keep shouting, I can't help you.",
        "Calm down, please.",
        "There's no need to shout at me, I'm only human.",
        "You need to calm down first.",
    ],
};
pub(crate) const SCRIPTED_ON_HOSTILE: P = P {
    nl: &["Oh wat vervelend voor je! Rustig maar hoor, het komt allemaal goed!"],
    en: &["Oh no, how awful for you! Don't worry hun, it'll all be fine!"],
};

// --- e-mail -------------------------------------------------------------------

pub(crate) const MAIL_CUSTOMER_GREETING: P = P {
    nl: &[
        "Geachte heer/mevrouw,",
        "Beste klantenservice,",
        "Hallo,",
        "Goedemiddag,",
    ],
    en: &[
        "Dear Sir or Madam,",
        "Hello,",
        "Hi there,",
        "Dear customer service,",
    ],
};
pub(crate) const MAIL_CUSTOMER_SIGNOFF: P = P {
    nl: &[
        "Met vriendelijke groet,",
        "Groeten,",
        "Mvg,",
        "Alvast bedankt,",
    ],
    en: &["Kind regards,", "Best,", "Thanks,", "Regards,"],
};
pub(crate) const MAIL_MOBILE: P = P {
    nl: &[
        "Verzonden vanaf mijn iPhone",
        "Verstuurd vanaf mijn Samsung Galaxy",
    ],
    en: &["Sent from my iPhone", "Sent from my Android phone"],
};
pub(crate) const MAIL_AGENT_SALUTATION: P = P {
    nl: &["Beste {name},", "Geachte {name},"],
    en: &["Dear {name},", "Hello {name},"],
};
pub(crate) const MAIL_AGENT_SALUTATION_SCRIPTED: P = P {
    nl: &["Hoi {first}!!", "Hallo lieve {first},"],
    en: &["Hiya {first}!!", "Hi lovely {first},"],
};
pub(crate) const MAIL_THANKS_FOR_MAIL: P = P {
    nl: &[
        "Dank u wel voor uw e-mail.",
        "Bedankt voor uw bericht en excuses voor het late antwoord.",
    ],
    en: &[
        "Thank you for your e-mail.",
        "Thanks for your message, and sorry for the late reply.",
    ],
};
pub(crate) const MAIL_AGENT_CLOSING: P = P {
    nl: &[
        "Heeft u nog vragen? Dan hoor ik het graag.",
        "Ik hoop u hiermee voldoende te hebben geïnformeerd.",
    ],
    en: &[
        "If you have any further questions, just reply to this e-mail.",
        "I hope this answers your question.",
    ],
};
pub(crate) const MAIL_AGENT_ASK: P = P {
    nl: &[
        "Om dit goed uit te zoeken heb ik nog wat gegevens van u nodig. {question}",
        "Zou u mij nog het volgende willen laten weten? {question}",
    ],
    en: &[
        "To look into this properly I need a few more details. {question}",
        "Could you please let me know the following? {question}",
    ],
};
pub(crate) const MAIL_CUSTOMER_REPLY: P = P {
    nl: &[
        "Hierbij de gegevens: {answer}",
        "{answer} Ik hoop dat het nu snel geregeld wordt.",
        "Zie hieronder. {answer}",
    ],
    en: &[
        "Here are the details: {answer}",
        "{answer} I hope this gets sorted quickly now.",
        "See below. {answer}",
    ],
};
pub(crate) const MAIL_CUSTOMER_NEVERMIND: P = P {
    nl: &[
        "Laat maar, het is inmiddels opgelost.",
        "Mijn vraag is al beantwoord, u hoeft niets meer te doen.",
    ],
    en: &[
        "Never mind, it has been sorted in the meantime.",
        "My question has been answered already, no need to do anything.",
    ],
};
pub(crate) const MAIL_AGENT_SIGNOFF: P = P {
    nl: &["Met vriendelijke groet,", "Vriendelijke groet,"],
    en: &["Kind regards,", "Best regards,"],
};
pub(crate) const MAIL_FOOTER: P = P {
    nl: &["Klantenservice\nT 020 123 45 67 | www.voorbeeld.nl", "Klantenservice\nBereikbaar op werkdagen van 8.00 tot 20.00 uur\nDit bericht is uitsluitend bestemd voor de geadresseerde."],
    en: &["Customer Service\nT +31 20 123 45 67 | www.example.com", "Customer Service\nAvailable on weekdays 8 am to 8 pm\nThis message is intended only for the addressee."],
};
pub(crate) const MAIL_CURT_BODY: P = P {
    nl: &[
        "Stuur ons uw ordernummer, dan kijken wij ernaar.",
        "Zie hiervoor onze algemene voorwaarden op de website.",
    ],
    en: &[
        "Send us your order number and we will look into it.",
        "Please refer to the terms and conditions on our website.",
    ],
};
pub(crate) const WEEKDAYS_SHORT: P = P {
    nl: &["ma", "di", "wo", "do", "vr", "za", "zo"],
    en: &["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
};
pub(crate) const MONTHS_SHORT: P = P {
    nl: &[
        "jan.", "feb.", "mrt.", "apr.", "mei", "jun.", "jul.", "aug.", "sep.", "okt.", "nov.",
        "dec.",
    ],
    en: &[
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ],
};

/// Callback promises: (delay in hours, Dutch wording, English wording).
pub(crate) const CALLBACK_WHEN: &[(i64, &str, &str)] = &[
    (3, "vanmiddag nog", "later today"),
    (18, "morgenochtend", "tomorrow morning"),
    (24, "morgen rond deze tijd", "tomorrow around this time"),
    (48, "overmorgen", "the day after tomorrow"),
];
