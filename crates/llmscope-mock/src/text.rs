//! Deterministic answer generation and token counting: the answer text for a question (English words, or
//! Chinese when the question contains CJK characters), its split into tokens, JSON-mode content, tool-call
//! arguments built from a JSON schema, and the cheap prompt-token count reported in `usage`.

use serde_json::{Map, Value};

use crate::wire::push_json_str;

const ENGLISH: &[&str] = &[
    "The short answer is that it depends on the context you are working in.",
    "In most cases the simplest approach is also the most reliable one.",
    "A good first step is to measure the current behaviour before changing anything.",
    "Start with a small experiment and compare the results against a clear baseline.",
    "Keep in mind that latency and cost usually grow with the size of the input.",
    "It also helps to write down your assumptions so they can be checked later.",
    "Many teams find that careful logging makes these questions much easier to answer.",
    "If the results look surprising, look at a few individual examples in detail.",
    "There are several trade-offs to consider, and none of them is free.",
    "The most common mistake is to optimise before understanding where the time goes.",
    "As a rule of thumb, prefer clear and boring solutions over clever ones.",
    "You can usually get most of the benefit with a fraction of the effort.",
    "Once the basics work, automate the checks so that regressions are caught early.",
    "Finally, revisit the decision after a few weeks with real data in hand.",
    "Here is a brief overview of the main points worth considering.",
    "The underlying idea is simple, even if the details take some practice.",
    "Different tools make different trade-offs between speed, accuracy and cost.",
    "Small, well-defined questions tend to get the most useful answers.",
    "Remember to check the edge cases, because that is where bugs tend to hide.",
    "Good documentation saves far more time than it takes to write.",
];

const CHINESE: &[&str] = &[
    "简单来说，这取决于你所处的具体场景。",
    "在大多数情况下，最简单的方法也是最可靠的方法。",
    "第一步最好先测量当前的表现，再做任何改动。",
    "可以先做一个小实验，并与明确的基线进行比较。",
    "需要注意的是，延迟和成本通常会随着输入规模一起增长。",
    "把你的假设写下来，方便以后逐一验证。",
    "许多团队发现，完善的日志能让这些问题更容易回答。",
    "如果结果出乎意料，可以仔细查看几个具体的例子。",
    "这里有几个需要权衡的因素，没有哪一个是免费的。",
    "最常见的错误是在弄清楚时间花在哪里之前就开始优化。",
    "一般来说，清晰朴素的方案比巧妙的方案更值得选择。",
    "通常只需付出少量努力，就能获得大部分收益。",
    "基础功能稳定之后，应当把检查自动化，以便尽早发现回归。",
    "最后，在积累了几周真实数据之后再回顾这个决定。",
    "下面简要概述一下值得考虑的几个要点。",
    "其中的道理很简单，只是细节需要一些练习。",
];

/// 64-bit FNV-1a: a cheap, stable hash of the question.
pub(crate) fn hash64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// SplitMix64: advances `state` and returns the next pseudo-random value.
pub(crate) fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Whether `c` is a CJK ideograph, kana, hangul or CJK/full-width punctuation (one token each, or two paired).
pub(crate) fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3000..=0x303F     // CJK symbols and punctuation
        | 0x3040..=0x30FF   // hiragana, katakana
        | 0x3400..=0x4DBF   // extension A
        | 0x4E00..=0x9FFF   // unified ideographs
        | 0xAC00..=0xD7AF   // hangul syllables
        | 0xF900..=0xFAFF   // compatibility ideographs
        | 0xFF00..=0xFFEF   // half- and full-width forms
        | 0x20000..=0x2FA1F // extensions B-F, compatibility supplement
    )
}

/// Whether the text contains any CJK character (the answer is then in Chinese).
pub(crate) fn contains_cjk(s: &str) -> bool {
    // Every CJK character is encoded in 3 or 4 UTF-8 bytes, so pure ASCII skips the char decoding.
    !s.is_ascii() && s.chars().any(is_cjk)
}

/// A cheap, deterministic token count: one per whitespace-separated word of non-CJK text plus one per CJK
/// character.
pub(crate) fn count_tokens(s: &str) -> usize {
    if s.is_ascii() {
        return s.split_ascii_whitespace().count();
    }
    let mut count = 0;
    let mut in_word = false;
    for c in s.chars() {
        if is_cjk(c) {
            count += 1;
            in_word = false;
        } else if c.is_whitespace() {
            in_word = false;
        } else if !in_word {
            count += 1;
            in_word = true;
        }
    }
    count
}

/// Whether two adjacent CJK characters form one token (about two thirds of pairs do).
fn pairs(prev: char, next: char) -> bool {
    !(prev as u32 + next as u32).is_multiple_of(3)
}

/// A text split into tokens: `ends[i]` is the byte offset where token `i` ends. English tokens are words with
/// their leading whitespace; CJK tokens are one or two characters.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Tokens {
    text: String,
    ends: Vec<usize>,
}

#[derive(Clone, Copy, PartialEq)]
enum State {
    /// Nothing since the last token end (or only whitespace, which belongs to the next token).
    Between,
    Word,
    Cjk {
        chars: u8,
        last: char,
    },
}

impl Tokens {
    /// Splits a whole text into tokens.
    pub(crate) fn new(text: String) -> Tokens {
        let mut tokens = Tokens { text, ends: Vec::new() };
        tokens.split_from(0);
        tokens
    }

    fn with_capacity(bytes: usize, tokens: usize) -> Tokens {
        Tokens { text: String::with_capacity(bytes), ends: Vec::with_capacity(tokens) }
    }

    /// Appends `piece` and its tokens (a token never spans two pieces).
    fn push(&mut self, piece: &str) {
        let start = self.text.len();
        self.text.push_str(piece);
        self.split_from(start);
    }

    /// Tokenizes `text[start..]`, appending to `ends`.
    fn split_from(&mut self, start: usize) {
        let mut state = State::Between;
        for (i, c) in self.text[start..].char_indices() {
            let pos = start + i;
            if is_cjk(c) {
                state = match state {
                    State::Cjk { chars: 1, last } if pairs(last, c) => State::Cjk { chars: 2, last: c },
                    State::Between => State::Cjk { chars: 1, last: c },
                    State::Word | State::Cjk { .. } => {
                        self.ends.push(pos);
                        State::Cjk { chars: 1, last: c }
                    }
                };
            } else if c.is_whitespace() {
                if state != State::Between {
                    self.ends.push(pos);
                    state = State::Between;
                }
            } else {
                state = match state {
                    State::Word => State::Word,
                    State::Between => State::Word,
                    State::Cjk { .. } => {
                        self.ends.push(pos);
                        State::Word
                    }
                };
            }
        }
        let len = self.text.len();
        if state != State::Between {
            self.ends.push(len);
        } else if len > start {
            // Trailing whitespace joins the previous token (or is a token of its own if there is none).
            match self.ends.last_mut() {
                Some(last) => *last = len,
                None => self.ends.push(len),
            }
        }
    }

    /// The number of tokens.
    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }

    /// The whole text.
    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    /// The tokens, in order; they concatenate to [`Tokens::text`].
    pub(crate) fn iter(&self) -> impl Iterator<Item = &str> + '_ {
        let mut start = 0;
        self.ends.iter().map(move |&end| {
            let token = &self.text[start..end];
            start = end;
            token
        })
    }

    /// Keeps the first `n` tokens; returns whether anything was cut.
    pub(crate) fn truncate(&mut self, n: usize) -> bool {
        if n >= self.ends.len() {
            return false;
        }
        let end = if n == 0 { 0 } else { self.ends[n - 1] };
        self.text.truncate(end);
        self.ends.truncate(n);
        true
    }

    /// Ends the text with a full stop unless it already ends a sentence (keeps the token count).
    fn close_sentence(&mut self, chinese: bool) {
        let Some(last) = self.text.chars().last() else { return };
        if matches!(last, '.' | '!' | '?' | '。' | '！' | '？') {
            return;
        }
        if chinese {
            if matches!(last, '，' | '、' | '；' | '：') {
                self.text.pop();
            }
            self.text.push('。');
        } else {
            if matches!(last, ',' | ';' | ':') {
                self.text.pop();
            }
            self.text.push('.');
        }
        if let Some(end) = self.ends.last_mut() {
            *end = self.text.len();
        }
    }
}

/// The text of an answer to `question`, exactly `n` tokens long: Chinese if the question contains CJK
/// characters, English otherwise, varied by a hash of the question.
pub(crate) fn answer(question: &str, n: usize) -> Tokens {
    answer_seeded(hash64(question.as_bytes()), contains_cjk(question), n)
}

/// Like [`answer`] for a question already reduced to a hash and a language.
pub(crate) fn answer_seeded(seed: u64, chinese: bool, n: usize) -> Tokens {
    if n == 0 {
        return Tokens::default();
    }
    let bank = if chinese { CHINESE } else { ENGLISH };
    let mut rng = seed;
    let mut tokens = Tokens::with_capacity(n * if chinese { 5 } else { 7 } + 16, n + 16);
    let mut previous = usize::MAX;
    while tokens.len() < n {
        // The bank sizes are tiny, so the conversions are lossless.
        let mut i = (splitmix64(&mut rng) % bank.len() as u64) as usize;
        if i == previous {
            i = (i + 1) % bank.len();
        }
        previous = i;
        if !chinese && !tokens.text.is_empty() {
            tokens.text.push(' ');
        }
        tokens.push(bank[i]);
    }
    tokens.truncate(n);
    tokens.close_sentence(chinese);
    tokens
}

/// A confidence-like number between 0.50 and 0.99 derived from `seed`, as JSON text.
fn confidence(seed: u64) -> String {
    format!("0.{:02}", 50 + (seed >> 7) % 50)
}

/// JSON-mode content for `question`: `{"answer": "...", "confidence": 0.87}` with an answer of about
/// `n` tokens in total, or, when the request gave a `json_schema` with properties, an object with those
/// properties (the first string property holds the answer). Always valid JSON.
pub(crate) fn json_answer(question: &str, n: usize, schema_properties: Option<&Map<String, Value>>) -> String {
    let seed = hash64(question.as_bytes());
    let chinese = contains_cjk(question);
    // `{"answer":`, ` "confidence":` and ` 0.87}` are tokens of their own.
    let text = answer_seeded(seed, chinese, n.saturating_sub(3).max(1));
    if let Some(props) = schema_properties.filter(|props| !props.is_empty()) {
        let mut object = Map::new();
        let mut answered = false;
        for (key, schema) in props {
            let value = match example_value(schema) {
                Value::String(_) if !answered && schema.get("enum").is_none() => {
                    answered = true;
                    Value::String(text.text().to_owned())
                }
                value => value,
            };
            object.insert(key.clone(), value);
        }
        return Value::Object(object).to_string();
    }
    let mut out = String::with_capacity(text.text().len() + 48);
    out.push_str("{\"answer\": ");
    push_json_str(&mut out, text.text());
    out.push_str(", \"confidence\": ");
    out.push_str(&confidence(seed));
    out.push('}');
    out
}

/// An example value for a JSON schema: its `const` or first `enum` value, else by `type`: string →
/// `"example"`, integer → 1, number → 1.5, boolean → true, array → [], object → {}, null → null.
pub(crate) fn example_value(schema: &Value) -> Value {
    if let Some(value) = schema.get("const") {
        return value.clone();
    }
    if let Some(first) = schema.get("enum").and_then(Value::as_array).and_then(|values| values.first()) {
        return first.clone();
    }
    let ty = match schema.get("type") {
        Some(Value::String(ty)) => ty.as_str(),
        // `"type": ["string", "null"]`: the first non-null type.
        Some(Value::Array(types)) => types.iter().filter_map(Value::as_str).find(|ty| *ty != "null").unwrap_or("null"),
        _ => "string",
    };
    match ty {
        "integer" => Value::from(1),
        "number" => Value::from(1.5),
        "boolean" => Value::Bool(true),
        "array" => Value::Array(Vec::new()),
        "object" => Value::Object(Map::new()),
        "null" => Value::Null,
        _ => Value::String("example".into()),
    }
}

/// Tool-call arguments for a function's `parameters` schema: a JSON object string with an example value
/// for every property.
pub(crate) fn tool_arguments(parameters: Option<&Value>) -> String {
    let mut object = Map::new();
    if let Some(props) = parameters.and_then(|p| p.get("properties")).and_then(Value::as_object) {
        for (key, schema) in props {
            object.insert(key.clone(), example_value(schema));
        }
    }
    Value::Object(object).to_string()
}

/// Splits tool-call arguments into stream fragments the way models emit them: runs of JSON punctuation
/// (`{"`, `":"`, `","`, `"}`) alternate with runs of other characters, each at most 16 bytes. Returns the
/// fragments' end offsets.
pub(crate) fn argument_fragments(args: &str) -> Vec<usize> {
    const MAX: usize = 16;
    let is_punct = |c: char| matches!(c, '{' | '}' | '[' | ']' | '"' | ':' | ',');
    let mut ends = Vec::with_capacity(args.len() / 4 + 1);
    let mut start = 0;
    let mut class = None;
    for (i, c) in args.char_indices() {
        let this = is_punct(c);
        if i > start && (class != Some(this) || i - start + c.len_utf8() > MAX) {
            ends.push(i);
            start = i;
        }
        class = Some(this);
    }
    if args.len() > start {
        ends.push(args.len());
    }
    ends
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn english_tokens_are_words_with_leading_space() {
        let t = Tokens::new("Hello big  world.\n".into());
        assert_eq!(t.iter().collect::<Vec<_>>(), ["Hello", " big", "  world.\n"]);
        let t = answer("What is a vector database?", 25);
        assert_eq!(t.len(), 25);
        assert_eq!(t.iter().collect::<String>(), t.text());
        assert!(t.text().ends_with('.'));
        assert!(!contains_cjk(t.text()));
        assert_eq!(Tokens::new(t.text().to_owned()), t);
    }

    #[test]
    fn chinese_tokens_are_one_or_two_chars() {
        let t = answer("什么是向量数据库？", 30);
        assert_eq!(t.len(), 30);
        assert!(contains_cjk(t.text()));
        // The last token may carry the added full stop.
        let sizes: Vec<usize> = t.iter().map(|tok| tok.chars().count()).collect();
        assert!(
            sizes[..29].iter().all(|n| (1..=2).contains(n)) && sizes[29] <= 3,
            "{:?}",
            t.iter().collect::<Vec<_>>()
        );
        assert!(t.iter().any(|tok| tok.chars().count() == 2));
        assert!(t.text().ends_with('。'));
        let mixed = Tokens::new("用 Rust 写".into());
        assert_eq!(mixed.iter().collect::<String>(), "用 Rust 写");
        assert_eq!(mixed.len(), 3);
    }

    #[test]
    fn answers_vary_with_the_question_and_are_deterministic() {
        assert_eq!(answer("a", 40), answer("a", 40));
        assert_ne!(answer("What is Rust?", 40).text(), answer("What is Go?", 40).text());
        assert_eq!(answer("x", 0).len(), 0);
        assert_eq!(answer("x", 1).len(), 1);
    }

    #[test]
    fn counting() {
        assert_eq!(count_tokens("  hello   world "), 2);
        assert_eq!(count_tokens("你好 world"), 3);
        assert_eq!(count_tokens(""), 0);
    }

    #[test]
    fn json_answers_are_valid() {
        for q in ["Give me JSON", "给我 JSON"] {
            let content = json_answer(q, 40, None);
            let v: Value = serde_json::from_str(&content).expect("valid JSON");
            assert!(v["answer"].is_string() && v["confidence"].is_f64(), "{content}");
            let tokens = Tokens::new(content).len();
            assert!((30..=50).contains(&tokens), "{tokens}");
        }
        let schema: Value = serde_json::json!({"city": {"type": "string"}, "temp": {"type": "number"},
            "unit": {"type": "string", "enum": ["c", "f"]}});
        let v: Value = serde_json::from_str(&json_answer("q", 10, schema.as_object())).expect("valid JSON");
        assert!(v["city"].as_str().is_some_and(|s| s.len() > 10));
        assert_eq!((v["temp"].as_f64(), v["unit"].as_str()), (Some(1.5), Some("c")));
    }

    #[test]
    fn tool_arguments_and_fragments() {
        let params = serde_json::json!({"type": "object", "properties": {
            "location": {"type": "string"}, "days": {"type": "integer"}, "ratio": {"type": "number"},
            "flag": {"type": "boolean"}, "tags": {"type": "array"}, "extra": {"type": "object"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}}});
        let args = tool_arguments(Some(&params));
        let v: Value = serde_json::from_str(&args).expect("valid JSON");
        assert_eq!(
            v,
            serde_json::json!({"location": "example", "days": 1, "ratio": 1.5, "flag": true, "tags": [],
                "extra": {}, "unit": "celsius"})
        );
        let ends = argument_fragments(&args);
        assert!(ends.len() > 5);
        let mut start = 0;
        let mut joined = String::new();
        for end in ends {
            assert!(end > start && end - start <= 16);
            joined.push_str(&args[start..end]);
            start = end;
        }
        assert_eq!(joined, args);
        assert_eq!(tool_arguments(None), "{}");
    }
}
