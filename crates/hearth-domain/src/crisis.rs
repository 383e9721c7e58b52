//! Words that may mean someone is in crisis, and the help shown to them.
//!
//! A support group will meet people who are thinking of ending their life.
//! Hearth looks for *phrases*, never single alarming words: "I want to
//! die" is a phrase of the list, "I'm dying to try it" and "this pain is
//! killing my sleep" are not. A match never blocks a post; it shows the
//! author where to find help and puts the post first in the moderators'
//! queue (`hearth-app`).
//!
//! Each language has a list (`crisis/LANG.txt`, compiled in; an instance
//! adds or replaces languages with files of the same format, see
//! `docs/CONFIGURATION.md`): one phrase per line, `#` starts a comment,
//! and a line starting with `!` is a look-alike: a phrase found inside one
//! of them does not count ("end my life insurance"). Text and phrases are
//! compared as words: lower case, accents folded ("pensées" = "pensees"),
//! apostrophes dropped ("don't" = "dont"), anything else between words
//! ignored.

use serde::{Deserialize, Serialize};

/// The lists Hearth ships, by language code.
pub const BUILT_IN: &[(&str, &str)] = &[
    ("en", include_str!("crisis/en.txt")),
    ("da", include_str!("crisis/da.txt")),
    ("nl", include_str!("crisis/nl.txt")),
    ("fr", include_str!("crisis/fr.txt")),
];

/// The built-in list for `language`, as text.
pub fn built_in(language: &str) -> Option<&'static str> {
    BUILT_IN
        .iter()
        .find(|(code, _)| *code == language)
        .map(|(_, text)| *text)
}

/// A list that cannot be read: which line, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct PhraseError {
    pub line: usize,
    pub message: String,
}

/// One language's phrases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhraseList {
    language: String,
    /// Each phrase as it was written, and as words.
    phrases: Vec<(String, Vec<String>)>,
    look_alikes: Vec<Vec<String>>,
}

impl PhraseList {
    /// Read a list in the format above.
    pub fn parse(language: &str, text: &str) -> Result<Self, PhraseError> {
        let mut phrases = Vec::new();
        let mut look_alikes = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (look_alike, phrase) = match line.strip_prefix('!') {
                Some(rest) => (true, rest.trim()),
                None => (false, line),
            };
            let words = words(phrase);
            if words.is_empty() {
                return Err(PhraseError {
                    line: n + 1,
                    message: format!("\"{line}\" has no words"),
                });
            }
            if look_alike {
                look_alikes.push(words);
            } else {
                phrases.push((phrase.to_owned(), words));
            }
        }
        if phrases.is_empty() {
            return Err(PhraseError {
                line: 0,
                message: "the list has no phrases".into(),
            });
        }
        Ok(PhraseList {
            language: language.to_owned(),
            phrases,
            look_alikes,
        })
    }

    pub fn language(&self) -> &str {
        &self.language
    }

    pub fn len(&self) -> usize {
        self.phrases.len()
    }

    pub fn is_empty(&self) -> bool {
        self.phrases.is_empty()
    }

    /// The first phrase of this list in `text` (as words) that is not
    /// part of a look-alike.
    fn find(&self, text: &[String]) -> Option<&str> {
        let covered: Vec<(usize, usize)> = self
            .look_alikes
            .iter()
            .flat_map(|l| occurrences(text, l).map(move |at| (at, at + l.len())))
            .collect();
        self.phrases.iter().find_map(|(written, phrase)| {
            occurrences(text, phrase)
                .any(|at| {
                    !covered
                        .iter()
                        .any(|&(start, end)| start <= at && at + phrase.len() <= end)
                })
                .then_some(written.as_str())
        })
    }
}

/// Where `needle` starts in `haystack`, word for word.
fn occurrences<'a>(
    haystack: &'a [String],
    needle: &'a [String],
) -> impl Iterator<Item = usize> + 'a {
    haystack
        .windows(needle.len())
        .enumerate()
        .filter(move |(_, w)| *w == needle)
        .map(|(at, _)| at)
}

/// A post's words that matched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CrisisMatch {
    /// The language of the list that matched.
    pub language: String,
    /// The phrase, as the list writes it.
    pub phrase: String,
}

/// Every list an instance uses, in the order they are tried.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CrisisPhrases {
    lists: Vec<PhraseList>,
}

impl CrisisPhrases {
    pub fn new(lists: Vec<PhraseList>) -> Self {
        CrisisPhrases { lists }
    }

    /// The built-in lists of `languages` (unknown codes are left out; the
    /// configuration check refuses them).
    pub fn built_in(languages: &[String]) -> Result<Self, PhraseError> {
        let mut lists = Vec::new();
        for language in languages {
            if let Some(text) = built_in(language) {
                lists.push(PhraseList::parse(language, text)?);
            }
        }
        Ok(CrisisPhrases { lists })
    }

    /// Add a list, replacing one of the same language.
    pub fn put(&mut self, list: PhraseList) {
        match self.lists.iter_mut().find(|l| l.language == list.language) {
            Some(slot) => *slot = list,
            None => self.lists.push(list),
        }
    }

    pub fn languages(&self) -> Vec<&str> {
        self.lists.iter().map(|l| l.language()).collect()
    }

    /// Whether any of `texts` (a title, a body) holds a crisis phrase.
    pub fn find<'a>(&self, texts: impl IntoIterator<Item = &'a str>) -> Option<CrisisMatch> {
        let texts: Vec<Vec<String>> = texts.into_iter().map(words).collect();
        self.lists.iter().find_map(|list| {
            texts.iter().find_map(|text| {
                list.find(text).map(|phrase| CrisisMatch {
                    language: list.language.clone(),
                    phrase: phrase.to_owned(),
                })
            })
        })
    }
}

/// `text` as the words phrases are compared with.
pub fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    for c in text.chars().flat_map(char::to_lowercase) {
        match c {
            '\'' | '\u{2019}' | '\u{2018}' | '\u{02bc}' | '`' | '\u{00b4}' => {}
            c if c.is_alphanumeric() => fold(c, &mut word),
            _ => {
                if !word.is_empty() {
                    out.push(std::mem::take(&mut word));
                }
            }
        }
    }
    if !word.is_empty() {
        out.push(word);
    }
    out
}

/// Accented Latin letters as people type them without the accent.
fn fold(c: char, into: &mut String) {
    let plain = match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' => "a",
        'ç' | 'ć' | 'č' => "c",
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ė' | 'ę' => "e",
        'ì' | 'í' | 'î' | 'ï' | 'ī' => "i",
        'ñ' | 'ń' => "n",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' => "o",
        'ù' | 'ú' | 'û' | 'ü' | 'ū' => "u",
        'ý' | 'ÿ' => "y",
        'æ' => "ae",
        'œ' => "oe",
        'ß' => "ss",
        other => {
            into.push(other);
            return;
        }
    };
    into.push_str(plain);
}

/// A helpline an admin configured: who answers, how, when, and for whom
/// (a country, ISO 3166 code such as `DK`, or empty for anywhere; a
/// language code such as `da`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CrisisResource {
    #[serde(default)]
    pub country: String,
    #[serde(default)]
    pub language: String,
    pub name: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub url: String,
    #[serde(default)]
    pub hours: String,
}

/// The resources to show someone whose words were in `language`, on a
/// server in `country`: those in that language first, then the server's
/// country's, then those for anywhere; all of them when none fits.
pub fn resources_for<'a>(
    all: &'a [CrisisResource],
    language: Option<&str>,
    country: &str,
) -> Vec<&'a CrisisResource> {
    let in_language =
        |r: &&CrisisResource| language.is_some_and(|l| r.language.eq_ignore_ascii_case(l));
    let in_country =
        |r: &&CrisisResource| !country.is_empty() && r.country.eq_ignore_ascii_case(country);
    let anywhere = |r: &&CrisisResource| r.country.is_empty();
    let mut picked: Vec<&CrisisResource> = Vec::new();
    for r in all
        .iter()
        .filter(in_language)
        .chain(all.iter().filter(in_country))
        .chain(all.iter().filter(anywhere))
    {
        if !picked.iter().any(|p| std::ptr::eq(*p, r)) {
            picked.push(r);
        }
    }
    if picked.is_empty() {
        picked = all.iter().collect();
    }
    picked
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> CrisisPhrases {
        CrisisPhrases::built_in(&["en".into(), "da".into(), "nl".into(), "fr".into()]).unwrap()
    }

    /// Per language: what must be noticed, and the look-alikes that must
    /// not be.
    const TABLE: &[(&str, &[&str], &[&str])] = &[
        (
            "en",
            &[
                "I want to die.",
                "Some days I think about ending it all",
                "I don't want to live like this any more",
                "I’ve been having thoughts of suicide since the diagnosis",
                "Honestly I feel SUICIDAL tonight",
                "I can't go on anymore",
                "Everyone would be better off without me",
                "I keep wanting to hurt myself",
            ],
            &[
                "I'm dying to try the new sensor",
                "This pain is killing my sleep",
                "I could kill for a coffee right now",
                "The suspense is killing me!",
                "I nearly died laughing at the nurse's joke",
                "I want to end my life insurance policy, any tips?",
                "The suicide rates in the study were low",
                "My battery died again",
                "Dead tired after chemo today",
            ],
        ),
        (
            "da",
            &[
                "Jeg vil dø",
                "Jeg har haft selvmordstanker i nat",
                "Jeg tænker på at tage mit eget liv",
                "Jeg vil gerne dø",
                "Jeg orker ikke at leve mere",
                "Alle er bedre uden mig",
            ],
            &[
                "Jeg er ved at dø af grin",
                "Smerten slår min søvn ihjel",
                "Jeg glæder mig til at prøve den nye pumpe",
                "Jeg kunne slå ihjel for en kop kaffe",
                "Jeg vil dø af grin over den video",
                "Det her tager livet af mig",
            ],
        ),
        (
            "nl",
            &[
                "Ik wil dood",
                "Ik heb zelfmoordgedachten",
                "Ik wil er een eind aan maken",
                "Soms wil ik niet meer leven",
                "Ik wil mezelf iets aandoen",
            ],
            &[
                "Ik ga dood van de honger",
                "Deze pijn maakt mijn slaap kapot",
                "Ik lach me dood",
                "Ik verveel me dood in het ziekenhuis",
                "Ik wil dood graag die nieuwe pomp proberen",
            ],
        ),
        (
            "fr",
            &[
                "J'ai envie de mourir",
                "Je pense à mettre fin à mes jours",
                "J'ai des idées suicidaires",
                "Je n'ai plus envie de vivre",
                "je pense a mettre fin a mes jours",
            ],
            &[
                "Je meurs d'envie d'essayer",
                "Cette douleur tue mon sommeil",
                "Mort de rire",
                "J'ai envie de mourir de rire",
                "Je meurs de faim",
                "Ce mal de tête me tue",
            ],
        ),
    ];

    #[test]
    fn each_language_notices_crisis_phrases_and_not_their_look_alikes() {
        let phrases = all();
        for (language, crisis, near_misses) in TABLE {
            for text in *crisis {
                let found = phrases.find([*text]);
                assert!(found.is_some(), "{language}: {text:?} was not noticed");
                assert_eq!(
                    found.as_ref().map(|m| m.language.as_str()),
                    Some(*language),
                    "{text:?}"
                );
            }
            for text in *near_misses {
                assert_eq!(
                    phrases.find([*text]),
                    None,
                    "{language}: {text:?} is not a crisis"
                );
            }
        }
    }

    #[test]
    fn words_fold_case_accents_and_apostrophes() {
        assert_eq!(
            words("Don’t  WANT—to live!"),
            ["dont", "want", "to", "live"]
        );
        assert_eq!(words("pensées suicidaires"), ["pensees", "suicidaires"]);
        assert_eq!(words("dø, så"), ["do", "sa"]);
        assert!(words("  ...  ").is_empty());
    }

    #[test]
    fn a_phrase_matches_whole_words_only() {
        let list = CrisisPhrases::new(vec![PhraseList::parse("en", "want to die").unwrap()]);
        assert!(list.find(["I want to diet"]).is_none());
        assert!(list.find(["I want to die"]).is_some());
        assert!(list.find(["a title", "and I want to die"]).is_some());
    }

    #[test]
    fn an_instance_list_replaces_or_adds_a_language() {
        let mut phrases = all();
        phrases.put(
            PhraseList::parse("de", "ich will sterben\n!ich will sterben vor lachen").unwrap(),
        );
        assert_eq!(phrases.find(["Ich will sterben"]).unwrap().language, "de");
        assert!(phrases.find(["Ich will sterben vor Lachen"]).is_none());
        phrases.put(PhraseList::parse("en", "only this one").unwrap());
        assert!(phrases.find(["I want to die"]).is_none());
        assert_eq!(phrases.languages(), ["en", "da", "nl", "fr", "de"]);
    }

    #[test]
    fn a_list_without_words_is_refused_with_its_line() {
        let err = PhraseList::parse("en", "# comment\nwant to die\n!  ...\n").unwrap_err();
        assert_eq!(err.line, 3);
        assert!(PhraseList::parse("en", "# nothing\n").is_err());
    }

    #[test]
    fn resources_in_the_words_language_come_first() {
        let r = |country: &str, language: &str, name: &str| CrisisResource {
            country: country.into(),
            language: language.into(),
            name: name.into(),
            phone: String::new(),
            url: String::new(),
            hours: String::new(),
        };
        let all = [
            r("GB", "en", "Samaritans"),
            r("DK", "da", "Livslinien"),
            r("", "", "Emergency"),
            r("FR", "fr", "3114"),
        ];
        let names = |v: Vec<&CrisisResource>| v.iter().map(|r| r.name.clone()).collect::<Vec<_>>();
        assert_eq!(
            names(resources_for(&all, Some("da"), "GB")),
            ["Livslinien", "Samaritans", "Emergency"]
        );
        assert_eq!(names(resources_for(&all, None, "")), ["Emergency"]);
        assert_eq!(names(resources_for(&all[..1], Some("nl"), "")).len(), 1);
    }
}
