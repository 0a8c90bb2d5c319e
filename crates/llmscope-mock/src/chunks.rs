//! The frame of a streamed completion, shared by chat and legacy completions: every chunk is
//! `data: {<head>,"choices":[<choice>]}` (`…],"usage":null}` when a usage chunk will follow, as OpenAI does
//! with `stream_options.include_usage`), content chunks fall due on the token schedule, and the stream ends
//! with the usage chunk `data: {<head>,"choices":[],"usage":{…}}` and `data: [DONE]` or, under a `cut`
//! fault, right after that many content chunks (by dropping the connection).

use crate::endpoint::Answer;
use crate::request::Settings;
use crate::sse::{Ending, Events};

/// Room for a chunk's choice beyond the frame, as a capacity hint.
const CHOICE_BYTES: usize = 96;

/// A stream of chunks being rendered.
#[derive(Debug)]
pub(crate) struct Chunks<'a> {
    settings: &'a Settings,
    events: Events,
    /// `data: {<head>,"choices":[`.
    prefix: String,
    /// `]}` and the event's blank line, with `"usage":null` when a usage chunk follows.
    suffix: &'static str,
    with_usage: bool,
    /// Content chunks written so far.
    sent: usize,
    /// The content chunks a `cut` fault lets out before the connection is dropped.
    cut: Option<usize>,
}

impl<'a> Chunks<'a> {
    /// A stream of `units` content chunks and about `other` more (role, finish, usage chunks); `head` writes
    /// the fields every chunk starts with (see [`crate::wire::push_head`]). The usage chunk is sent when
    /// the request asks for it (`include_usage`) and the settings report usage.
    pub(crate) fn new(
        settings: &'a Settings,
        include_usage: bool,
        units: usize,
        other: usize,
        head: impl FnOnce(&mut String),
    ) -> Chunks<'a> {
        let with_usage = include_usage && settings.usage;
        let mut prefix = String::with_capacity(192);
        prefix.push_str("data: {");
        head(&mut prefix);
        prefix.push_str(",\"choices\":[");
        let suffix = if with_usage { "],\"usage\":null}\n\n" } else { "]}\n\n" };
        let cut = settings.cut_after(units);
        let chunks = cut.unwrap_or(units) + other;
        let events = Events::with_capacity((prefix.len() + suffix.len() + CHOICE_BYTES) * chunks, units + 2);
        Chunks { settings, events, prefix, suffix, with_usage, sent: 0, cut }
    }

    /// Writes a chunk whose choice `choice` writes; it goes out with the next content chunk (or at the end).
    pub(crate) fn chunk(&mut self, choice: impl FnOnce(&mut String)) {
        let out = self.events.buf();
        out.push_str(&self.prefix);
        choice(out);
        out.push_str(self.suffix);
    }

    /// Writes the next content chunk, due when its token is, unless a `cut` fault has let out all it lets
    /// out: returns whether it was written.
    pub(crate) fn content(&mut self, choice: impl FnOnce(&mut String)) -> bool {
        if self.cut_reached() {
            return false;
        }
        self.chunk(choice);
        self.events.mark(self.settings.due(self.sent));
        self.sent += 1;
        true
    }

    /// Whether a `cut` fault has let out all the content chunks it lets out.
    pub(crate) fn cut_reached(&self) -> bool {
        self.cut == Some(self.sent)
    }

    /// Ends the stream: under a `cut` fault here, otherwise with the usage chunk (its object written by
    /// `usage`) when it is sent, and `[DONE]`. Without content chunks, what was written goes out when the
    /// first token would have.
    pub(crate) fn end(mut self, usage: impl FnOnce(&mut String)) -> Answer {
        if self.sent == 0 {
            self.events.mark(self.settings.due(0));
        }
        if self.cut.is_some() {
            return Answer::Stream(self.events, Ending::Cut);
        }
        if self.with_usage {
            let out = self.events.buf();
            out.push_str(&self.prefix);
            out.push_str("],\"usage\":");
            usage(out);
            out.push_str("}\n\n");
        }
        self.events.done();
        Answer::Stream(self.events, Ending::Finish)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::config::Fault;

    /// A role chunk `r`, content chunks `a`, `b`, `c` and a finish chunk `f`, as chat renders them.
    fn render(fault: Option<Fault>, usage: bool, include_usage: bool) -> Option<(String, Ending)> {
        let zero = Duration::ZERO;
        let settings = Settings { latency: zero, ttft: zero, interval: zero, output_tokens: 3, usage, fault };
        let mut chunks = Chunks::new(&settings, include_usage, 3, 2, |out| out.push_str("\"id\":1"));
        chunks.chunk(|out| out.push('r'));
        for token in ["a", "b", "c"] {
            if !chunks.content(|out| out.push_str(token)) {
                break;
            }
        }
        if !chunks.cut_reached() {
            chunks.chunk(|out| out.push('f'));
        }
        match chunks.end(|out| out.push_str("{\"u\":1}")) {
            Answer::Stream(mut events, ending) => Some((events.buf().clone(), ending)),
            Answer::Json { .. } => None,
        }
    }

    fn chunk(choice: &str, usage_null: bool) -> String {
        let usage = if usage_null { ",\"usage\":null" } else { "" };
        format!("data: {{\"id\":1,\"choices\":[{choice}]{usage}}}\n\n")
    }

    #[test]
    fn frames_usage_chunk_and_cut() {
        let plain: String = ["r", "a", "b", "c", "f"].iter().map(|c| chunk(c, false)).collect();
        let done = "data: [DONE]\n\n";
        assert_eq!(render(None, true, false), Some((format!("{plain}{done}"), Ending::Finish)));
        assert_eq!(render(None, false, true), Some((format!("{plain}{done}"), Ending::Finish)));

        let with_null: String = ["r", "a", "b", "c", "f"].iter().map(|c| chunk(c, true)).collect();
        let usage = "data: {\"id\":1,\"choices\":[],\"usage\":{\"u\":1}}\n\n";
        assert_eq!(render(None, true, true), Some((format!("{with_null}{usage}{done}"), Ending::Finish)));

        let cut: String = ["r", "a", "b"].iter().map(|c| chunk(c, true)).collect();
        assert_eq!(render(Some(Fault::Cut { after_chunks: 2 }), true, true), Some((cut, Ending::Cut)));
        let all: String = ["r", "a", "b", "c"].iter().map(|c| chunk(c, false)).collect();
        assert_eq!(render(Some(Fault::Cut { after_chunks: 9 }), true, false), Some((all, Ending::Cut)));
        assert_eq!(render(Some(Fault::Cut { after_chunks: 0 }), true, false), Some((chunk("r", false), Ending::Cut)));
    }
}
