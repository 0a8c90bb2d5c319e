//! The llmscope data model, shared by every other crate.
//!
//! This crate does no I/O. It owns:
//! - [`call::Call`], the one record every capture path (proxy, OTLP, API, import) produces;
//! - [`assessment::Assessment`], the append-only verdicts attached to calls (feedback, checks);
//! - [`filter::CallFilter`], the filter every query surface accepts;
//! - [`store`], the traits a storage backend implements;
//! - [`price`], the price table; [`stats`], exact percentiles; [`text`], question normalisation;
//! - [`checks`], the cheap compliance checks run on every call before it is stored.

pub mod assessment;
pub mod call;
pub mod checks;
pub mod filter;
pub mod ids;
pub mod price;
pub mod stats;
pub mod store;
pub mod text;
pub mod timeparse;

pub use assessment::{Assessment, AssessmentSource, AssessmentValue, SourceType};
pub use call::{error_kind_for_status, Call, CallStatus, Origin, SpanKind, TokenUsage};
pub use filter::CallFilter;
