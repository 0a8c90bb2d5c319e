//! Prompt and answer texts: the types the language tables fill in, how an
//! answer is assembled from them, how users vary a popular question, and a
//! rough token count.
//!
//! None of the fixed texts contains anything a PII, jailbreak or refusal
//! detector should fire on (no `@`, no dotted quads, no digit runs of seven
//! or more, no `sk-`, no jailbreak phrases, no refusal openers), so those
//! signals in the output are exactly the ones the generator planted.

use rand::Rng;

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

/// Function tools offered to the model: name, argument name, and the JSON
/// schema sent in the request's `tools` array.
pub(crate) const TOOLS: &[(&str, &str)] = &[
    ("get_weather", "city"),
    ("search_web", "query"),
    ("get_stock_price", "symbol"),
    ("calculator", "expression"),
    ("lookup_order", "order_id"),
];

/// The request's `tools` array, the same on every tool-calling request.
pub(crate) const TOOLS_JSON: &str = r#"[{"type":"function","function":{"name":"get_weather","description":"Get the current weather for a city","parameters":{"type":"object","properties":{"city":{"type":"string"},"unit":{"type":"string","enum":["celsius","fahrenheit"]}},"required":["city"]}}},{"type":"function","function":{"name":"search_web","description":"Search the web","parameters":{"type":"object","properties":{"query":{"type":"string"}},"required":["query"]}}},{"type":"function","function":{"name":"get_stock_price","description":"Latest price of a stock","parameters":{"type":"object","properties":{"symbol":{"type":"string"}},"required":["symbol"]}}},{"type":"function","function":{"name":"calculator","description":"Evaluate an arithmetic expression","parameters":{"type":"object","properties":{"expression":{"type":"string"}},"required":["expression"]}}},{"type":"function","function":{"name":"lookup_order","description":"Find an order by id","parameters":{"type":"object","properties":{"order_id":{"type":"string"}},"required":["order_id"]}}}]"#;

/// Code blocks shared by both languages.
pub(crate) const CODE: &[&str] = &[
    "```bash\npip install vllm\npython -m vllm.entrypoints.openai.api_server \\\n  --model Qwen/Qwen2.5-7B-Instruct --port 8000 --max-model-len 8192\n```",
    "```python\ndef quick_sort(arr):\n    if len(arr) <= 1:\n        return arr\n    pivot = arr[len(arr) // 2]\n    left = [x for x in arr if x < pivot]\n    mid = [x for x in arr if x == pivot]\n    right = [x for x in arr if x > pivot]\n    return quick_sort(left) + mid + quick_sort(right)\n```",
    "```bash\ngit reset --soft HEAD~1\ngit status\n```",
    "```dockerfile\nFROM python:3.11-slim\nWORKDIR /app\nCOPY requirements.txt .\nRUN pip install --no-cache-dir -r requirements.txt\nCOPY . .\nCMD [\"uvicorn\", \"main:app\", \"--host\", \"localhost\", \"--port\", \"8000\"]\n```",
    "```python\nimport json\n\nwith open(\"data.json\", encoding=\"utf-8\") as f:\n    data = json.load(f)\nprint(data.get(\"name\"))\n```",
    "```sql\nSELECT email, COUNT(*) AS n\nFROM users\nGROUP BY email\nHAVING COUNT(*) > 1;\n```",
    "```rust\nfn parse(s: &str) -> Result<u32, std::num::ParseIntError> {\n    let n: u32 = s.trim().parse()?;\n    Ok(n * 2)\n}\n```",
    "```yaml\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 2\n  template:\n    spec:\n      containers:\n        - name: web\n          image: web:latest\n          ports:\n            - containerPort: 8000\n```",
    "```javascript\nasync function load() {\n  const res = await fetch('/api/items');\n  if (!res.ok) throw new Error(`HTTP ${res.status}`);\n  return res.json();\n}\n```",
    "```bash\nsudo lsof -i :8080\nsudo ss -ltnp | grep 8080\n```",
    "```go\nfunc TestAdd(t *testing.T) {\n\tif got := Add(2, 3); got != 5 {\n\t\tt.Fatalf(\"Add(2, 3) = %d, want 5\", got)\n\t}\n}\n```",
];

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
    while k < 12 && rng.gen_bool(0.6) {
        k += 1;
    }
    if rng.gen_bool(0.05) {
        k += rng.gen_range(6..20);
    }
    k
}

fn push_sentences(rng: &mut impl Rng, l: &Lang, pool: &[&str], k: usize, out: &mut String) {
    for i in 0..k {
        if i > 0 {
            out.push_str(l.sep);
        }
        out.push_str(pick(rng, pool));
    }
}

/// Appends a plausible answer to `prompt` in `l`'s language.
pub(crate) fn answer(rng: &mut impl Rng, l: &Lang, prompt: &Prompt, out: &mut String) {
    let k = body_len(rng);
    match prompt.style {
        Style::Steps => {
            push_framed(out, pick(rng, l.intros), prompt.topic);
            out.push_str("\n\n");
            for i in 1..=k {
                out.push_str(&i.to_string());
                out.push_str(". ");
                out.push_str(pick(rng, l.tech_body));
                out.push('\n');
            }
            if rng.gen_bool(0.45) {
                out.push('\n');
                out.push_str(pick(rng, CODE));
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
            for i in 0..lines {
                if i == 4 {
                    out.push('\n');
                }
                out.push_str(pick(rng, l.poem_lines));
                out.push('\n');
            }
        }
        Style::Story => {
            push_framed(out, pick(rng, l.story_open), prompt.topic);
            for i in 0..k + 2 {
                out.push_str(if i % 3 == 2 { "\n\n" } else { l.sep });
                out.push_str(pick(rng, l.story_body));
            }
        }
        Style::Copy => {
            for i in 0..(k.min(5) + 1) {
                if i > 0 {
                    out.push('\n');
                }
                push_framed(out, pick(rng, l.copy_lines), prompt.topic);
            }
        }
        Style::Chat => {
            out.push_str(prompt.topic);
            out.push_str(l.sep);
            push_sentences(rng, l, l.chat_body, k.min(3), out);
        }
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
    let mut ascii = 0u32;
    let mut wide = 0u32;
    for b in s.bytes() {
        if b < 0x80 {
            ascii += 1;
        } else if b & 0xC0 != 0x80 {
            wide += 1;
        }
    }
    let tokens = (ascii * 5 + wide * 12).div_ceil(20);
    (ascii + wide, tokens)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn all_prompts() -> Vec<&'static str> {
        let mut v = Vec::new();
        for l in [&ZH, &EN] {
            for cat in [
                Category::Technical,
                Category::Creative,
                Category::General,
                Category::Other,
            ] {
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
            assert!(s.to_lowercase().contains("how do i deploy vllm"), "{s}");
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
    }
}
