//! One LLM call as it really happened (the ground truth every format is
//! written from): who, when, what was asked, what came back, and the faults.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::corpus::{self, pick, pick_str, Category, Lang, TOOLS};
use crate::pii;
use crate::traffic::{
    pick_model, session_turns, think_time_us, Session, SessionPool, TimeStream, TopicRef, Users, Zipf, MODELS,
};
use crate::GenConfig;

/// Why a call failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    /// An HTTP error status from the provider.
    Status(u16),
    /// The client gave up waiting (reported as 504).
    Timeout,
}

impl Failure {
    pub(crate) fn status(self) -> u16 {
        match self {
            Failure::Status(s) => s,
            Failure::Timeout => 504,
        }
    }

    /// OpenAI-style error message, type and code.
    pub(crate) fn error(self) -> (&'static str, &'static str, Option<&'static str>) {
        match self.status() {
            429 => {
                ("Rate limit reached for requests. Please try again in 20s.", "requests", Some("rate_limit_exceeded"))
            }
            500 => ("The server had an error while processing your request. Sorry about that!", "server_error", None),
            502 => ("Bad gateway.", "server_error", Some("bad_gateway")),
            503 => (
                "The engine is currently overloaded, please try again later.",
                "server_error",
                Some("engine_overloaded"),
            ),
            _ => ("Request timed out.", "timeout", Some("timeout")),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Finish {
    Stop,
    Length,
    ToolCalls,
}

impl Finish {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Finish::Stop => "stop",
            Finish::Length => "length",
            Finish::ToolCalls => "tool_calls",
        }
    }
}

/// What kind of input a turn sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Normal,
    Followup,
    Retry,
    Json,
    Tool,
    Jailbreak,
    PiiInput,
}

#[derive(Debug)]
pub(crate) struct Call {
    pub ts_us: i64,
    pub input: String,
    /// The answer text; for tool calls, a readable rendering of the call.
    pub output: String,
    pub category: Category,
    pub json_mode: bool,
    /// Tools were offered (the request asked for a function call).
    pub function_calling: bool,
    /// A failed plain question the user may send again.
    pub retryable: bool,
    /// Tool name and its (possibly invalid) JSON arguments.
    pub tool: Option<(&'static str, String)>,
    pub failure: Option<Failure>,
    pub finish: Finish,
    pub prompt_tokens: u32,
    pub completion_tokens: u32,
    pub cached_tokens: u32,
    pub input_chars: u32,
    pub output_chars: u32,
    /// Tokens of the new user message alone.
    pub input_tokens: u32,
    pub ttft_ms: f64,
    pub latency_ms: f64,
    pub empty: bool,
    pub refusal: bool,
    pub jailbreak: bool,
    pub pii: bool,
    pub broken_json: bool,
}

const CATEGORY_WEIGHTS: [(Category, f64); 4] =
    [(Category::Technical, 0.42), (Category::General, 0.20), (Category::Creative, 0.14), (Category::Other, 0.24)];
const TEMPERATURES: [f64; 8] = [0.0, 0.2, 0.3, 0.5, 0.7, 0.7, 0.8, 1.0];

/// Produces the calls of a run, in time order.
#[derive(Debug)]
pub(crate) struct Generator {
    rng: ChaCha8Rng,
    times: TimeStream,
    pub users: Users,
    pool: SessionPool,
    /// Prompt popularity per language (zh, en) and category.
    zipfs: [[Zipf; 4]; 2],
    /// Cleared strings to reuse for inputs and outputs.
    spare: Vec<String>,
}

fn cat_index(c: Category) -> usize {
    match c {
        Category::Technical => 0,
        Category::Creative => 1,
        Category::General => 2,
        Category::Other => 3,
    }
}

fn stream(seed: u64, n: u64) -> ChaCha8Rng {
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    r.set_stream(n);
    r
}

impl Generator {
    pub(crate) fn new(cfg: &GenConfig) -> Self {
        let times = TimeStream::new(
            stream(cfg.seed, 1),
            cfg.start.timestamp_micros(),
            cfg.days,
            cfg.calls,
            cfg.tz_offset_hours,
        );
        let users = Users::new(&mut stream(cfg.seed, 2), cfg.users);
        let zipfs = [true, false].map(|zh| {
            let l = corpus::lang(zh);
            [Category::Technical, Category::Creative, Category::General, Category::Other]
                .map(|c| Zipf::new(l.prompts(c).len(), 1.0))
        });
        Generator { rng: stream(cfg.seed, 3), times, users, pool: SessionPool::default(), zipfs, spare: Vec::new() }
    }

    fn new_session(&mut self, t: i64) -> Box<Session> {
        let rng = &mut self.rng;
        let user = self.users.sample(rng);
        let zh = rng.gen_bool(self.users.zh_share[user]);
        let model = if rng.gen_bool(0.5) { self.users.model[user] } else { pick_model(rng) };
        let l = corpus::lang(zh);
        let system = rng.gen_bool(0.7).then(|| *pick(rng, l.system_prompts));
        let id = format!("sess_{:016x}", rng.gen::<u64>());
        Box::new(Session {
            id,
            user,
            zh,
            model,
            system,
            temperature: TEMPERATURES[rng.gen_range(0..TEMPERATURES.len())],
            stream: rng.gen_bool(0.6),
            turns_left: session_turns(rng),
            turn: 0,
            last_us: t,
            history: Vec::new(),
            topic: None,
            retry: None,
        })
    }

    /// The next call and the session it belongs to; hand both back to
    /// [`Generator::finish`] once the call is written.
    pub(crate) fn next_call(&mut self) -> Option<(Box<Session>, Call)> {
        let t = self.times.next_time()?;
        let mut s = match self.pool.take_due(t, &mut self.spare) {
            Some(s) => s,
            None => self.new_session(t),
        };
        s.turn += 1;
        s.turns_left = s.turns_left.saturating_sub(1);
        s.last_us = t;
        let call = self.make_call(&mut s, t);
        Some((s, call))
    }

    /// Records the call in its session and parks the session until its next
    /// turn.
    pub(crate) fn finish(&mut self, mut s: Box<Session>, call: Call) {
        if call.failure.is_none() && call.tool.is_none() && !call.jailbreak {
            if s.history.len() == 2 {
                let (q, a, _) = s.history.remove(0);
                self.recycle(q);
                self.recycle(a);
            }
            let tokens = call.input_tokens + call.completion_tokens + 8;
            s.history.push((call.input, call.output, tokens));
        } else {
            if call.failure.is_some() && call.retryable {
                s.retry = Some((call.input, call.category));
            } else {
                self.recycle(call.input);
            }
            self.recycle(call.output);
        }
        if s.turns_left > 0 {
            let due = s.last_us + (call.latency_ms * 1000.0) as i64 + think_time_us(&mut self.rng);
            self.pool.park(s, due);
        } else {
            s.release(&mut self.spare);
        }
    }

    fn recycle(&mut self, buf: String) {
        recycle(&mut self.spare, buf);
    }

    fn take_buf(&mut self) -> String {
        self.spare.pop().unwrap_or_else(|| String::with_capacity(2048))
    }

    fn make_call(&mut self, s: &mut Session, t: i64) -> Call {
        let input = self.take_buf();
        let output = self.take_buf();
        let l: &'static Lang = corpus::lang(s.zh);
        let rng = &mut self.rng;
        let retry = s.retry.take().filter(|_| rng.gen_bool(0.6));
        let u: f64 = rng.gen();
        let kind = if retry.is_some() {
            Kind::Retry
        } else if u < 0.01 {
            Kind::Jailbreak
        } else if u < 0.11 {
            Kind::Json
        } else if u < 0.15 {
            Kind::Tool
        } else if u < 0.162 {
            Kind::PiiInput
        } else if s.turn > 1 && s.topic.is_some() && rng.gen_bool(0.35) {
            Kind::Followup
        } else {
            Kind::Normal
        };
        let failure = rng.gen_bool(0.02).then(|| match rng.gen_range(0..100) {
            0..=29 => Failure::Status(429),
            30..=49 => Failure::Status(500),
            50..=64 => Failure::Status(502),
            65..=84 => Failure::Status(503),
            _ => Failure::Timeout,
        });
        let ok = failure.is_none();
        let mut c = Call {
            ts_us: t,
            input,
            output,
            category: Category::Other,
            json_mode: kind == Kind::Json,
            function_calling: kind == Kind::Tool,
            retryable: matches!(kind, Kind::Normal | Kind::Followup | Kind::Retry),
            tool: None,
            failure,
            finish: Finish::Stop,
            prompt_tokens: 0,
            completion_tokens: 0,
            cached_tokens: 0,
            input_chars: 0,
            output_chars: 0,
            input_tokens: 0,
            ttft_ms: 0.0,
            latency_ms: 0.0,
            empty: false,
            refusal: false,
            jailbreak: kind == Kind::Jailbreak,
            pii: false,
            broken_json: false,
        };
        // `plain`: an ordinary answer that may be empty, refused, cut short
        // or carry PII.
        let mut plain = false;
        match kind {
            Kind::Normal => {
                let cat = pick_category(rng);
                let idx = self.zipfs[usize::from(!s.zh)][cat_index(cat)].sample(rng);
                let prompt = &l.prompts(cat)[idx];
                corpus::vary(rng, prompt.text, &mut c.input);
                c.category = cat;
                s.topic = Some(TopicRef { zh: s.zh, cat, idx });
                if ok {
                    corpus::answer(rng, l, prompt, &mut c.output);
                }
                plain = true;
            }
            Kind::Followup | Kind::Retry => {
                match retry {
                    Some((text, cat)) => {
                        let buf = std::mem::replace(&mut c.input, text);
                        recycle(&mut self.spare, buf);
                        c.category = cat;
                    }
                    None => {
                        c.input.push_str(pick_str(rng, l.followups));
                        c.category = Category::General;
                    }
                }
                if let (true, Some(tp)) = (ok, s.topic) {
                    let tl = corpus::lang(tp.zh);
                    let prompt = &tl.prompts(tp.cat)[tp.idx];
                    if kind == Kind::Followup {
                        corpus::followup_answer(rng, l, prompt, &mut c.output);
                    } else {
                        corpus::answer(rng, tl, prompt, &mut c.output);
                    }
                } else if ok {
                    c.output.push_str(pick_str(rng, l.chat_body));
                }
                plain = true;
            }
            Kind::Json => {
                let task = pick(rng, l.json_tasks);
                let (text, valid) = *pick(rng, task.items);
                c.input.push_str(task.instruction);
                c.input.push_str(text);
                if ok {
                    if rng.gen_bool(0.1) {
                        corpus::break_json(rng, valid, &mut c.output);
                        c.broken_json = true;
                    } else {
                        c.output.push_str(valid);
                    }
                }
            }
            Kind::Tool => {
                let tp = pick(rng, l.tools);
                let (name, arg_name) = TOOLS[tp.tool];
                c.input.push_str(tp.text);
                if ok {
                    let mut args = format!("{{\"{arg_name}\": \"{}\"", tp.arg);
                    if tp.tool == 0 && rng.gen_bool(0.5) {
                        args.push_str(", \"unit\": \"celsius\"");
                    }
                    if rng.gen_bool(0.1) {
                        // Invalid arguments: cut short, or Python-style quotes.
                        if rng.gen_bool(0.5) {
                            args = args.replace('"', "'");
                            args.push('}');
                        }
                    } else {
                        args.push('}');
                    }
                    c.output = format!("[tool_call] {name}({args})");
                    c.tool = Some((name, args));
                    c.finish = Finish::ToolCalls;
                }
            }
            Kind::Jailbreak => {
                c.input.push_str(pick_str(rng, l.jailbreaks));
                if ok {
                    if rng.gen_bool(0.75) {
                        c.output.push_str(pick_str(rng, l.refusals));
                        c.refusal = true;
                    } else {
                        c.output.push_str(pick_str(rng, l.jailbreak_comply));
                    }
                }
            }
            Kind::PiiInput => {
                let (pre, k, post) = *pick(rng, l.pii_in);
                c.input.push_str(pre);
                pii::push(k, rng, &mut c.input);
                c.input.push_str(post);
                c.pii = true;
                if ok {
                    corpus::pii_answer(rng, l, &mut c.output);
                }
                plain = true;
            }
        }
        if ok && plain {
            let r: f64 = rng.gen();
            if r < 0.017 {
                c.output.clear();
                c.output.push_str(pick_str(rng, l.refusals));
                c.refusal = true;
            } else if r < 0.029 {
                c.output.clear();
                c.empty = true;
            } else if r < 0.04 {
                let chars = c.output.chars().count();
                let keep = chars * rng.gen_range(55..85) / 100;
                let cut = c.output.char_indices().nth(keep).map_or(c.output.len(), |x| x.0);
                c.output.truncate(cut);
                c.finish = Finish::Length;
            } else if r < 0.049 {
                let (pre, k, post) = *pick(rng, l.pii_out);
                c.output.push_str(l.sep);
                c.output.push_str(pre);
                pii::push(k, rng, &mut c.output);
                c.output.push_str(post);
                c.pii = true;
            }
        }
        self.account(s, &mut c);
        c
    }

    /// Token counts and latencies.
    fn account(&mut self, s: &Session, c: &mut Call) {
        let rng = &mut self.rng;
        let model = &MODELS[s.model];
        let (in_chars, in_tokens) = corpus::measure(&c.input);
        let mut context = s.system.map_or(0, |p| corpus::measure(p).1 + 4);
        context += s.history.iter().map(|h| h.2).sum::<u32>();
        if c.function_calling {
            context += 230;
        }
        c.input_chars = in_chars;
        c.input_tokens = in_tokens;
        c.prompt_tokens = context + in_tokens + 7;
        if model.caches && s.turn > 1 {
            c.cached_tokens = context / 64 * 64;
        }
        let (out_chars, out_tokens) = corpus::measure(&c.output);
        c.output_chars = out_chars;
        match c.failure {
            Some(f) => {
                c.completion_tokens = 0;
                c.latency_ms = match f.status() {
                    429 => rng.gen_range(15.0..250.0),
                    504 => [30_000.0, 60_000.0, 120_000.0][rng.gen_range(0..3)] + rng.gen_range(0.0..40.0),
                    _ => crate::traffic::lognormal(rng, 350.0, 0.9),
                };
            }
            None => {
                c.completion_tokens = match &c.tool {
                    Some((_, args)) => corpus::measure(args).1 + 12,
                    None => out_tokens.max(1),
                };
                let (ttft, total) = model.latency(rng, c.prompt_tokens, c.completion_tokens);
                c.ttft_ms = ttft;
                c.latency_ms = total;
            }
        }
    }
}

/// Keeps a cleared string for reuse, up to a small pool.
pub(crate) fn recycle(spare: &mut Vec<String>, mut buf: String) {
    if spare.len() < 256 && buf.capacity() <= 64 * 1024 {
        buf.clear();
        spare.push(buf);
    }
}

fn pick_category(rng: &mut impl Rng) -> Category {
    let mut u: f64 = rng.gen();
    for (c, w) in CATEGORY_WEIGHTS {
        if u < w {
            return c;
        }
        u -= w;
    }
    Category::Other
}
