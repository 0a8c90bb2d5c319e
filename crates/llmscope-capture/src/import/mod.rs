//! The JSONL importer.
//!
//! A file is read line by line ([`reader`]), or a value at a time when it holds JSON values
//! spanning lines or arrays of them ([`documents`]); each line is parsed as JSON (or as what
//! it plainly means: [`lenient`]), its format is
//! detected ([`detect`]) and mapped onto a [`llmscope_core::Call`] by the format's mapper
//! ([`formats`]). Good calls are appended in batches to a [`llmscope_core::store::CallSink`];
//! bad lines are reported with `file:line` and the reason, and copied verbatim to a rejects
//! file so they can be fixed and imported again ([`pipeline`]).
//!
//! Each imported call's id is a hash of its line's content, so importing a file twice (or a
//! log that has grown since) stores every line once.

pub mod batch_requests;
pub mod detect;
pub mod documents;
pub mod fields;
pub mod formats;
pub mod lenient;
pub mod pipeline;
pub mod reader;

pub use detect::LineFormat;
pub use formats::{parse_line, parse_line_or, ImportOptions, LineError, ParsedLine};
pub use pipeline::{
    import_files, ImportError, ImportFailure, ImportProgress, ImportSummary, Importer, NoProgress, DEFAULT_BATCH,
};
