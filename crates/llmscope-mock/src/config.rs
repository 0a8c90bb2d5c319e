//! The mock's configuration ([`MockConfig`]), the faults it can inject ([`Fault`]) and their textual syntax
//! (`status=500`, `cut=3`, `hang`, `first-byte-ms=200`, `bad-json`, `empty`), shared by the CLI and the
//! `x-mock-fault` request header.

use std::fmt;
use std::str::FromStr;

/// How the mock server behaves. Every field can be overridden per request with an `x-mock-*` header.
#[derive(Debug, Clone)]
pub struct MockConfig {
    /// Fixed delay before anything is produced (non-stream: before the response; stream: before the first
    /// content token, added to `ttft_ms`).
    pub latency_ms: u64,
    /// Time to first token.
    pub ttft_ms: u64,
    /// Rate of the tokens after the first; `0.0` means as fast as possible.
    pub tokens_per_s: f64,
    /// Default answer length in tokens, clamped by the request's `max_tokens` / `max_completion_tokens`
    /// (which then gives `finish_reason: "length"`).
    pub output_tokens: usize,
    /// Report `usage`; `false` simulates an upstream that reports none.
    pub usage: bool,
    /// Probability that a request gets a random fault drawn from `faults`.
    pub fault_rate: f64,
    /// The faults drawn from when `fault_rate` fires.
    pub faults: Vec<Fault>,
    /// Faults are drawn deterministically from this seed and the request counter.
    pub seed: u64,
    /// Models listed by `GET /v1/models`.
    pub models: Vec<String>,
    /// Default embedding size (the request's `dimensions` overrides it).
    pub embedding_dims: usize,
    /// When set, every `/v1/*` request must carry `Authorization: Bearer <api_key>`; others get
    /// OpenAI's 401 `invalid_api_key` (as a real provider does).
    pub api_key: Option<String>,
}

impl Default for MockConfig {
    fn default() -> Self {
        MockConfig {
            latency_ms: 0,
            ttft_ms: 50,
            tokens_per_s: 200.0,
            output_tokens: 40,
            usage: true,
            fault_rate: 0.0,
            faults: Vec::new(),
            seed: 0,
            models: vec!["mock-gpt-4o".into(), "mock-gpt-4o-mini".into(), "mock-qwen2.5-7b".into()],
            embedding_dims: 8,
            api_key: None,
        }
    }
}

/// A fault the mock can inject into a response.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// Answer with this HTTP status and an OpenAI-shaped error body (429 also sends `Retry-After: 1`).
    Status(u16),
    /// Stream: send this many content chunks, then drop the connection (no finish chunk, no `[DONE]`).
    /// Non-stream: send the headers and part of the body, then drop the connection.
    Cut {
        /// Content chunks sent before the connection is dropped.
        after_chunks: usize,
    },
    /// Never answer; stay pending until the client goes away.
    Hang,
    /// Delay the response headers by this many milliseconds.
    FirstByteMs(u64),
    /// In JSON mode, emit invalid (truncated) JSON content.
    BadJson,
    /// Answer with empty content (`""`).
    Empty,
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::Status(code) => write!(f, "status={code}"),
            Fault::Cut { after_chunks } => write!(f, "cut={after_chunks}"),
            Fault::Hang => f.write_str("hang"),
            Fault::FirstByteMs(ms) => write!(f, "first-byte-ms={ms}"),
            Fault::BadJson => f.write_str("bad-json"),
            Fault::Empty => f.write_str("empty"),
        }
    }
}

impl FromStr for Fault {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_fault(s)
    }
}

const FAULT_SYNTAX: &str = "expected one of status=<400-599>, cut=<chunks>, hang, first-byte-ms=<ms>, bad-json, empty";

/// Parses one fault: `status=500`, `status=429`, `cut=3`, `hang`, `first-byte-ms=200`, `bad-json`, `empty`.
/// Names are case-insensitive and `_` may be used for `-`. The inverse of [`Fault`]'s `Display`.
pub fn parse_fault(s: &str) -> Result<Fault, String> {
    let s = s.trim();
    let (name, value) = match s.split_once('=') {
        Some((name, value)) => (name.trim(), Some(value.trim())),
        None => (s, None),
    };
    let is = |want: &str| {
        name.len() == want.len()
            && name.bytes().zip(want.bytes()).all(|(a, b)| a.to_ascii_lowercase() == b || (a == b'_' && b == b'-'))
    };
    let number = |value: Option<&str>| -> Result<u64, String> {
        let value = value.ok_or_else(|| format!("fault `{name}` needs a value, e.g. `{name}=3`"))?;
        value.parse::<u64>().map_err(|_| format!("fault `{name}`: `{value}` is not a non-negative integer"))
    };
    let no_value = |fault: Fault| match value {
        None => Ok(fault),
        Some(_) => Err(format!("fault `{name}` takes no value")),
    };
    if is("status") {
        let code = number(value)?;
        if (400..=599).contains(&code) {
            // In range, so the conversion cannot fail.
            Ok(Fault::Status(code as u16))
        } else {
            Err(format!("fault `status`: {code} is not an HTTP error status (400-599)"))
        }
    } else if is("cut") {
        let n = number(value)?;
        let after_chunks = usize::try_from(n).map_err(|_| format!("fault `cut`: {n} is too large"))?;
        Ok(Fault::Cut { after_chunks })
    } else if is("first-byte-ms") {
        Ok(Fault::FirstByteMs(number(value)?))
    } else if is("hang") {
        no_value(Fault::Hang)
    } else if is("bad-json") {
        no_value(Fault::BadJson)
    } else if is("empty") {
        no_value(Fault::Empty)
    } else if s.is_empty() {
        Err(format!("empty fault ({FAULT_SYNTAX})"))
    } else {
        Err(format!("unknown fault `{s}` ({FAULT_SYNTAX})"))
    }
}

/// Parses a comma-separated list of faults (`status=500,cut=3,hang`), e.g. for a CLI flag.
pub fn parse_faults(s: &str) -> Result<Vec<Fault>, String> {
    s.split(',').filter(|part| !part.trim().is_empty()).map(parse_fault).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_and_parse_round_trip() {
        let faults = [
            Fault::Status(500),
            Fault::Status(429),
            Fault::Cut { after_chunks: 3 },
            Fault::Hang,
            Fault::FirstByteMs(200),
            Fault::BadJson,
            Fault::Empty,
        ];
        for fault in faults {
            assert_eq!(parse_fault(&fault.to_string()), Ok(fault.clone()));
            assert_eq!(fault.to_string().parse::<Fault>(), Ok(fault));
        }
        assert_eq!(parse_fault(" Status = 503 "), Ok(Fault::Status(503)));
        assert_eq!(parse_fault("first_byte_ms=5"), Ok(Fault::FirstByteMs(5)));
        assert_eq!(parse_faults("hang, cut=0,"), Ok(vec![Fault::Hang, Fault::Cut { after_chunks: 0 }]));
    }

    #[test]
    fn parse_errors() {
        for bad in ["", "status", "status=200", "status=abc", "status=99999", "cut=-1", "hang=1", "boom", "empty=x"] {
            assert!(parse_fault(bad).is_err(), "{bad} should not parse");
        }
        assert!(parse_fault("boom").err().is_some_and(|e| e.contains("boom")));
    }
}
