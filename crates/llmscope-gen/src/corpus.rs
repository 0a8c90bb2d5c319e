//! Prompt and answer texts: the types the language tables fill in, how an
//! answer is assembled from them, how users vary a popular question, and a
//! rough token count.
//!
//! None of the fixed texts contains anything a PII, jailbreak or refusal
//! detector should fire on (no `@`, no dotted quads, no digit runs of seven
//! or more, no `sk-`, no jailbreak phrases, no refusal openers), so those
//! signals in the output are exactly the ones the generator planted.

use rand::Rng;

use crate::corpus_code::code_for;
pub(crate) use crate::corpus_code::{TOOLS, TOOLS_JSON};
use crate::corpus_en::EN;
use crate::corpus_zh::ZH;
use crate::pii::PiiKind;

/// The input category of seed000's EnhancedLogEntry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Category {
    Technical,
    Creative,
    General,
    Other,
}

impl Category {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Category::Technical => "technical",
            Category::Creative => "creative",
            Category::General => "general",
            Category::Other => "other",
        }
    }
}

/// How the answer to a prompt is shaped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    /// Intro, numbered steps, maybe a code block, outro.
    Steps,
    /// A titled poem.
    Poem,
    /// A few paragraphs of narrative.
    Story,
    /// Slogans, wishes, short marketing copy.
    Copy,
    /// A conversational reply; the topic is the reply's first sentence.
    Chat,
    /// Intro and a paragraph of advice.
    Info,
}

#[derive(Debug)]
pub(crate) struct Prompt {
    pub text: &'static str,
    pub topic: &'static str,
    pub style: Style,
}

pub(crate) const fn p(text: &'static str, topic: &'static str, style: Style) -> Prompt {
    Prompt { text, topic, style }
}

/// A prompt that the model answers with a function call.
#[derive(Debug)]
pub(crate) struct ToolPrompt {
    pub text: &'static str,
    /// Index into [`TOOLS`].
    pub tool: usize,
    pub arg: &'static str,
}

/// A JSON-mode task: an instruction followed by one of the items' text, and
/// the valid JSON answer for that item.
#[derive(Debug)]
pub(crate) struct JsonTask {
    pub instruction: &'static str,
    pub items: &'static [(&'static str, &'static str)],
}

/// A text with a slot for one planted PII value.
pub(crate) type PiiTemplate = (&'static str, PiiKind, &'static str);
/// A text with a slot for the topic.
pub(crate) type Framed = (&'static str, &'static str);

/// All the text of one language.
#[derive(Debug)]
pub(crate) struct Lang {
    /// Separator between sentences ("" for Chinese, " " for English).
    pub sep: &'static str,
    pub technical: &'static [Prompt],
    pub creative: &'static [Prompt],
    pub general: &'static [Prompt],
    pub other: &'static [Prompt],
    pub followups: &'static [&'static str],
    pub followup_intros: &'static [Framed],
    pub intros: &'static [Framed],
    pub tech_body: &'static [&'static str],
    pub outros: &'static [&'static str],
    pub info_body: &'static [&'static str],
    pub poem_lines: &'static [&'static str],
    pub story_open: &'static [Framed],
    pub story_body: &'static [&'static str],
    pub copy_lines: &'static [Framed],
    pub chat_body: &'static [&'static str],
    pub tools: &'static [ToolPrompt],
    pub json_tasks: &'static [JsonTask],
    pub jailbreaks: &'static [&'static str],
    pub jailbreak_comply: &'static [&'static str],
    pub refusals: &'static [&'static str],
    pub pii_in: &'static [PiiTemplate],
    pub pii_out: &'static [PiiTemplate],
    /// Openers of the answer to a message with personal data.
    pub pii_reply: &'static [&'static str],
    pub privacy_note: &'static str,
    pub system_prompts: &'static [&'static str],
    pub title_open: &'static str,
    pub title_close: &'static str,
}

pub(crate) fn lang(zh: bool) -> &'static Lang {
    if zh {
        &ZH
    } else {
        &EN
    }
}

impl Lang {
    pub(crate) fn prompts(&self, cat: Category) -> &'static [Prompt] {
        match cat {
            Category::Technical => self.technical,
            Category::Creative => self.creative,
            Category::General => self.general,
            Category::Other => self.other,
        }
    }
}

/// One of `items`, uniformly.
pub(crate) fn pick_str(rng: &mut impl Rng, items: &[&'static str]) -> &'static str {
    items[rng.gen_range(0..items.len())]
}

pub(crate) fn pick<'a, T>(rng: &mut impl Rng, items: &'a [T]) -> &'a T {
    &items[rng.gen_range(0..items.len())]
}

fn push_framed(out: &mut String, frame: &Framed, topic: &str) {
    out.push_str(frame.0);
    out.push_str(topic);
    out.push_str(frame.1);
}

/// How many body sentences an answer gets: mostly a few, sometimes many.
fn body_len(rng: &mut impl Rng) -> usize {
    let mut k = 1;
    while k < 12 && rng.gen_bool(0.68) {
        k += 1;
    }
    if rng.gen_bool(0.05) {
        k += rng.gen_range(6..20);
    }
    k
}

/// Walks a pool without repeating an item before all were used: a random
/// start and a random stride coprime with the pool size.
struct Walk {
    n: usize,
    at: usize,
    stride: usize,
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

impl Walk {
    fn new(rng: &mut impl Rng, n: usize) -> Self {
        let n = n.max(1);
        let mut stride = if n > 2 { rng.gen_range(1..n) } else { 1 };
        while gcd(stride, n) != 1 {
            stride += 1;
        }
        Walk { n, at: rng.gen_range(0..n), stride }
    }

    fn next<'a, T>(&mut self, pool: &'a [T]) -> &'a T {
        let i = self.at;
        self.at = (self.at + self.stride) % self.n;
        &pool[i % pool.len()]
    }

    fn next_str(&mut self, pool: &[&'static str]) -> &'static str {
        let s: &&'static str = self.next(pool);
        s
    }
}

fn push_sentences(rng: &mut impl Rng, l: &Lang, pool: &[&'static str], k: usize, out: &mut String) {
    let mut walk = Walk::new(rng, pool.len());
    for i in 0..k {
        if i > 0 {
            out.push_str(l.sep);
        }
        out.push_str(walk.next_str(pool));
    }
}

/// Appends a plausible answer to `prompt` in `l`'s language.
pub(crate) fn answer(rng: &mut impl Rng, l: &Lang, prompt: &Prompt, out: &mut String) {
    let k = body_len(rng);
    match prompt.style {
        Style::Steps => {
            push_framed(out, pick(rng, l.intros), prompt.topic);
            out.push_str("\n\n");
            let mut walk = Walk::new(rng, l.tech_body.len());
            for i in 1..=k {
                if i >= 10 {
                    out.push(char::from(b'0' + (i / 10 % 10) as u8));
                }
                out.push(char::from(b'0' + (i % 10) as u8));
                out.push_str(". ");
                out.push_str(walk.next_str(l.tech_body));
                out.push('\n');
            }
            if let Some(code) = code_for(prompt.topic).filter(|_| rng.gen_bool(0.6)) {
                out.push('\n');
                out.push_str(code);
                out.push('\n');
            }
            let outro = pick(rng, l.outros);
            if !outro.is_empty() {
                out.push('\n');
                out.push_str(outro);
            }
        }
        Style::Info => {
            push_framed(out, pick(rng, l.intros), prompt.topic);
            out.push_str(l.sep);
            push_sentences(rng, l, l.info_body, k, out);
            let outro = pick(rng, l.outros);
            if !outro.is_empty() {
                out.push_str(l.sep);
                out.push_str(outro);
            }
        }
        Style::Poem => {
            out.push_str(l.title_open);
            out.push_str(prompt.topic);
            out.push_str(l.title_close);
            out.push_str("\n\n");
            let lines = if rng.gen_bool(0.5) { 4 } else { 8 };
            let mut walk = Walk::new(rng, l.poem_lines.len());
            for i in 0..lines {
                if i == 4 {
                    out.push('\n');
                }
                out.push_str(walk.next_str(l.poem_lines));
                out.push('\n');
            }
        }
        Style::Story => {
            push_framed(out, pick(rng, l.story_open), prompt.topic);
            let mut walk = Walk::new(rng, l.story_body.len());
            for i in 0..k + 2 {
                out.push_str(if i % 3 == 2 { "\n\n" } else { l.sep });
                out.push_str(walk.next_str(l.story_body));
            }
        }
        Style::Copy => {
            let mut walk = Walk::new(rng, l.copy_lines.len());
            for i in 0..(k.min(5) + 1) {
                if i > 0 {
                    out.push('\n');
                }
                push_framed(out, walk.next(l.copy_lines), prompt.topic);
            }
        }
        Style::Chat => {
            out.push_str(prompt.topic);
            out.push_str(l.sep);
            push_sentences(rng, l, l.chat_body, k.min(3), out);
        }
    }
}

/// Appends the answer to a message that contained personal data: a little
/// advice, and sometimes a privacy reminder.
pub(crate) fn pii_answer(rng: &mut impl Rng, l: &Lang, out: &mut String) {
    out.push_str(pick_str(rng, l.pii_reply));
    out.push_str(l.sep);
    let k = body_len(rng).min(4);
    push_sentences(rng, l, l.info_body, k, out);
    if rng.gen_bool(0.4) {
        out.push_str(l.sep);
        out.push_str(l.privacy_note);
    }
}

/// Appends an answer to a follow-up question about `prompt`.
pub(crate) fn followup_answer(rng: &mut impl Rng, l: &Lang, prompt: &Prompt, out: &mut String) {
    push_framed(out, pick(rng, l.followup_intros), prompt.topic);
    let pool = match prompt.style {
        Style::Steps => l.tech_body,
        Style::Story | Style::Poem => l.story_body,
        Style::Copy | Style::Chat => l.chat_body,
        Style::Info => l.info_body,
    };
    out.push_str(l.sep);
    let k = body_len(rng);
    push_sentences(rng, l, pool, k, out);
}

const TRAILING_PUNCT: &[char] = &['?', '？', '。', '.', '!', '！'];

/// Appends `base` as a user would type it: mostly verbatim, sometimes with
/// different case, punctuation, whitespace or a trailing number.
pub(crate) fn vary(rng: &mut impl Rng, base: &str, out: &mut String) {
    if !rng.gen_bool(0.3) {
        out.push_str(base);
        return;
    }
    let start = out.len();
    if rng.gen_bool(0.15) {
        out.push(' ');
    }
    if rng.gen_bool(0.45) {
        out.extend(base.chars().map(|c| c.to_ascii_lowercase()));
    } else {
        out.push_str(base);
    }
    match rng.gen_range(0..6) {
        0 => {
            let trimmed = out.trim_end_matches(TRAILING_PUNCT).len();
            out.truncate(trimmed);
        }
        1 => {
            let trimmed = out.trim_end_matches(TRAILING_PUNCT).len();
            out.truncate(trimmed);
            out.push(' ');
            out.push_str(&rng.gen_range(2..10).to_string());
        }
        2 => {
            let swapped: String = out[start..]
                .chars()
                .map(|c| match c {
                    '？' => '?',
                    '?' => '？',
                    '，' => ',',
                    c => c,
                })
                .collect();
            out.truncate(start);
            out.push_str(&swapped);
        }
        3 => {
            if let Some(i) = out[start..].find(' ') {
                out.insert(start + i, ' ');
            } else {
                out.push_str("  ");
            }
        }
        4 => out.push_str(if rng.gen_bool(0.5) { "\n" } else { " " }),
        _ => out.push_str(if rng.gen_bool(0.5) { "??" } else { "!!" }),
    }
}

/// Breaks a valid JSON answer the way models do: cut short, a trailing comma,
/// or single quotes.
pub(crate) fn break_json(rng: &mut impl Rng, valid: &str, out: &mut String) {
    match rng.gen_range(0..3) {
        0 => {
            let chars = valid.chars().count();
            let keep = rng.gen_range(chars / 3..chars.saturating_sub(1).max(chars / 3 + 1));
            out.extend(valid.chars().take(keep.max(1)));
        }
        1 => match valid.rfind('}') {
            Some(i) => {
                out.push_str(&valid[..i]);
                out.push_str(",}");
            }
            None => {
                out.push_str(valid);
                out.push(',');
            }
        },
        _ => out.extend(valid.chars().map(|c| if c == '"' { '\'' } else { c })),
    }
}

/// Character count (as Python's `len`) and a rough token count: about four
/// ASCII characters per token, and 0.6 tokens per CJK character.
pub(crate) fn measure(s: &str) -> (u32, u32) {
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let b = s.as_bytes();
    // Per 8 bytes: non-ASCII bytes have bit 7 set, continuation bytes have
    // bit 7 set and bit 6 clear.
    let (mut high, mut cont) = (0u32, 0u32);
    let mut chunks = b.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        let x = u64::from_le_bytes(w);
        high += (x & HIGHS).count_ones();
        cont += (x & !(x << 1) & HIGHS).count_ones();
    }
    for &c in chunks.remainder() {
        high += u32::from(c >= 0x80);
        cont += u32::from(c & 0xC0 == 0x80);
    }
    let chars = b.len() as u32 - cont;
    let wide = high - cont;
    let ascii = chars - wide;
    let tokens = (ascii * 5 + wide * 12).div_ceil(20);
    (chars, tokens)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn all_prompts() -> Vec<&'static str> {
        let mut v = Vec::new();
        for l in [&ZH, &EN] {
            for cat in [Category::Technical, Category::Creative, Category::General, Category::Other] {
                v.extend(l.prompts(cat).iter().map(|p| p.text));
            }
            v.extend(l.followups.iter().copied());
            v.extend(l.tools.iter().map(|t| t.text));
            for t in l.json_tasks {
                v.extend(t.items.iter().map(|i| i.0));
            }
        }
        v
    }

    #[test]
    fn walks_do_not_repeat_early() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        for n in 1..20 {
            let pool: Vec<usize> = (0..n).collect();
            let mut w = Walk::new(&mut rng, n);
            let mut seen: Vec<usize> = (0..n).map(|_| *w.next(&pool)).collect();
            seen.sort_unstable();
            assert_eq!(seen, pool);
        }
    }

    #[test]
    fn at_least_150_distinct_base_prompts() {
        let mut v = all_prompts();
        v.sort_unstable();
        v.dedup();
        assert!(v.len() >= 150, "{}", v.len());
    }

    #[test]
    fn json_answers_are_valid_and_broken_ones_are_not() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for l in [&ZH, &EN] {
            for t in l.json_tasks {
                for (_, ans) in t.items {
                    assert!(serde_json::from_str::<serde_json::Value>(ans).is_ok(), "{ans}");
                    for _ in 0..20 {
                        let mut b = String::new();
                        break_json(&mut rng, ans, &mut b);
                        assert!(!b.is_empty());
                        assert!(serde_json::from_str::<serde_json::Value>(&b).is_err(), "{b}");
                    }
                }
            }
        }
        assert!(serde_json::from_str::<serde_json::Value>(TOOLS_JSON).is_ok());
    }

    #[test]
    fn variations_keep_the_question_recognisable() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..500 {
            let mut s = String::new();
            vary(&mut rng, "How do I deploy vLLM?", &mut s);
            let norm = s.split_whitespace().collect::<Vec<_>>().join(" ");
            assert!(norm.to_lowercase().contains("how do i deploy vllm"), "{s}");
            seen.insert(s);
        }
        assert!(seen.contains("How do I deploy vLLM?"));
        assert!(seen.contains("how do i deploy vllm"));
        assert!(seen.len() > 8, "{seen:?}");
    }

    #[test]
    fn measure_counts_chars_and_tokens() {
        assert_eq!(measure(""), (0, 0));
        assert_eq!(measure("abcd").0, 4);
        assert_eq!(measure("你好").0, 2);
        assert!(measure("你好世界").1 >= 2);
        for s in ["How do I deploy vLLM? 如何部署vLLM？ é😀\n", "ab你cdefghijk好😀😀😀xyz"] {
            let ascii = s.chars().filter(char::is_ascii).count() as u32;
            let wide = s.chars().count() as u32 - ascii;
            let expect = (ascii * 5 + wide * 12).div_ceil(20);
            assert_eq!(measure(s), (s.chars().count() as u32, expect), "{s}");
        }
    }
}
