//! Capture: everything that turns outside data into [`llmscope_core::Call`]s.
//!
//! - [`import`]: JSONL log files (plain or gzip) in the formats teams already write, detected
//!   per line, with bad lines reported by `file:line` and set aside.
//!
//! The logging proxy, the OTLP receiver and the native ingest API land here too; they all
//! produce the same `Call` and hand it to a storage [`llmscope_core::store::CallSink`].

pub mod import;
pub mod openai;
