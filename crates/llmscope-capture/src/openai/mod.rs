//! The OpenAI wire format, shared by the importer (logged request/response pairs) and the
//! logging proxy (live exchanges).
//!
//! - [`map_request`] / [`map_response`]: an OpenAI request or response body onto a [`Call`]
//!   (chat, legacy completions, embeddings, and the Responses API: [`responses`]).
//! - [`sse`]: an incremental Server-Sent-Events parser that keeps each event's raw bytes.
//! - [`stream`] (with `chunk`, the typed read of one chunk): joins a stream of `chat.completion.chunk` / `text_completion` events back
//!   into the response body a non-streaming call would have returned.
//!
//! [`Call`]: llmscope_core::Call

mod chunk;
pub mod sse;
pub mod stream;

pub use crate::import::formats::openai::{map_chat_request, map_request, map_response};
pub use crate::import::formats::responses;
