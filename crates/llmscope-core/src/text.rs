//! Text helpers: question normalisation (for grouping top questions) and snippets.

use xxhash_rust::xxh3::xxh3_64;

/// Normalises a question for grouping: lower-cases (Unicode), turns every character that is
/// neither alphanumeric nor whitespace (ASCII, CJK and other punctuation, symbols, emoji)
/// into a space, collapses whitespace, trims, and strips trailing numbers
/// (`"Hello, World 2!"` → `"hello world"`). A question made only of numbers keeps them.
pub fn normalize_question(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut pending_space = false;
    for ch in s.chars() {
        // The common ideographs are letters without case: no table lookups for them (Chinese
        // prompts are mostly these; `cjk_ideographs_are_caseless_letters` checks the range).
        let ideograph = CJK_IDEOGRAPHS.contains(&ch);
        if ideograph || ch.is_alphanumeric() {
            if pending_space && !out.is_empty() {
                out.push(' ');
            }
            pending_space = false;
            if ideograph || ch.is_ascii() {
                out.push(ch.to_ascii_lowercase());
            } else {
                // Some lower-case mappings add combining marks (İ → i̇): keep only what is
                // itself alphanumeric so that normalising twice changes nothing.
                out.extend(ch.to_lowercase().filter(|c| c.is_alphanumeric()));
            }
        } else {
            pending_space = true;
        }
    }
    let stripped = out.trim_end_matches(|c: char| c.is_numeric() || c.is_whitespace());
    if stripped.is_empty() {
        out
    } else {
        stripped.to_string()
    }
}

/// CJK Unified Ideographs: every one is alphabetic and its own lower case.
const CJK_IDEOGRAPHS: std::ops::RangeInclusive<char> = '\u{4E00}'..='\u{9FFF}';

/// A 64-bit key of the normalised question, stored with each call so that grouping is a
/// plain integer `GROUP BY`.
pub fn question_key(s: &str) -> u64 {
    xxh3_64(normalize_question(s).as_bytes())
}

/// The first `max` characters of `s` (on a char boundary), with `…` when cut. Newlines become
/// spaces so that snippets fit on one line.
pub fn snippet(s: &str, max: usize) -> String {
    let mut out: String = s.chars().take(max).map(|c| if c.is_control() { ' ' } else { c }).collect();
    if s.chars().nth(max).is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn normalises_case_space_punctuation_and_trailing_numbers() {
        assert_eq!(normalize_question("  Hello,   World 2! "), "hello world");
        assert_eq!(normalize_question("如何部署模型？"), "如何部署模型");
        assert_eq!(normalize_question("如何 部署，模型 3"), "如何 部署 模型");
        assert_eq!(normalize_question("What is RAG?"), normalize_question("what is rag"));
        assert_eq!(normalize_question("test123"), "test");
        assert_eq!(normalize_question("2024"), "2024");
        assert_eq!(normalize_question("!!!"), "");
        assert_eq!(question_key("Hi!"), question_key("hi"));
    }

    #[test]
    fn cjk_ideographs_are_caseless_letters() {
        for ch in CJK_IDEOGRAPHS {
            assert!(ch.is_alphanumeric(), "{ch:?}");
            assert_eq!(ch.to_lowercase().collect::<String>(), ch.to_string(), "{ch:?}");
        }
    }

    #[test]
    fn snippet_cuts_on_char_boundaries() {
        assert_eq!(snippet("你好世界", 2), "你好…");
        assert_eq!(snippet("ab\ncd", 10), "ab cd");
        assert_eq!(snippet("abc", 3), "abc");
    }

    /// The normalisation without its shortcuts for ASCII and ideographs.
    fn reference(s: &str) -> String {
        let mut out = String::new();
        let mut pending_space = false;
        for ch in s.chars() {
            if ch.is_alphanumeric() {
                if pending_space && !out.is_empty() {
                    out.push(' ');
                }
                pending_space = false;
                out.extend(ch.to_lowercase().filter(|c| c.is_alphanumeric()));
            } else {
                pending_space = true;
            }
        }
        let stripped = out.trim_end_matches(|c: char| c.is_numeric() || c.is_whitespace());
        if stripped.is_empty() {
            out
        } else {
            stripped.to_string()
        }
    }

    proptest! {
        #[test]
        fn shortcuts_change_nothing(s in "(\\PC|[\u{4DF0}-\u{A010}]|[A-Za-zİÀ-ÿ0-9 ,?！？]){0,60}") {
            prop_assert_eq!(normalize_question(&s), reference(&s));
        }

        #[test]
        fn normalisation_is_idempotent(s in "\\PC{0,60}") {
            let once = normalize_question(&s);
            prop_assert_eq!(normalize_question(&once), once.clone());
        }

        #[test]
        fn normalisation_ignores_case_and_padding(s in "[a-zA-Z ,.?!]{0,40}") {
            let padded = format!("  {}  ?", s.to_uppercase());
            prop_assert_eq!(normalize_question(&padded), normalize_question(&s));
        }

        #[test]
        fn normalised_has_no_double_spaces(s in "\\PC{0,60}") {
            let n = normalize_question(&s);
            prop_assert!(!n.contains("  "));
            prop_assert_eq!(n.trim(), n.as_str());
        }
    }
}
