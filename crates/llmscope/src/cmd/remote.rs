//! Reaching the data through a running server: while `llmscope serve` holds the store, it
//! writes `<data-dir>/server.json`, and read commands send their query to its API instead.

use std::path::Path;

use anyhow::{anyhow, Context};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use llmscope_core::store::{AppendOutcome, CallOrder, CallSink, PageKey, StoreError};
use llmscope_core::{Assessment, Call, CallFilter};
use llmscope_server::query::MAX_LIMIT;
use serde_json::{json, Value};

/// The URL of the server holding `data_dir`, when `err` says the store is held and the
/// server announced itself.
pub fn server_for(err: &anyhow::Error, data_dir: &Path) -> Option<String> {
    if !matches!(err.downcast_ref::<StoreError>(), Some(StoreError::Locked { .. })) {
        return None;
    }
    let text = std::fs::read_to_string(data_dir.join("server.json")).ok()?;
    let v: Value = serde_json::from_str(&text).ok()?;
    v.get("url").and_then(Value::as_str).map(str::to_string)
}

/// A running server's API, reached over HTTP from a synchronous command.
pub struct ServerApi {
    url: String,
    rt: tokio::runtime::Runtime,
    client: Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>,
}

impl std::fmt::Debug for ServerApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerApi").field("url", &self.url).finish()
    }
}

impl ServerApi {
    pub fn new(url: &str) -> anyhow::Result<Self> {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let client = {
            let _entered = rt.enter();
            Client::builder(TokioExecutor::new()).build_http()
        };
        Ok(ServerApi { url: url.to_string(), rt, client })
    }

    /// POSTs a JSON body to `path`; the answer's body, or what went wrong.
    fn post(&self, path: &str, body: String) -> Result<Bytes, String> {
        self.rt.block_on(async {
            let req = hyper::Request::post(format!("{}{path}", self.url))
                .header("content-type", "application/json")
                .body(Full::new(Bytes::from(body)))
                .map_err(|e| e.to_string())?;
            let resp = self.client.request(req).await.map_err(|e| format!("asking the server at {}: {e}", self.url))?;
            let status = resp.status();
            let bytes = resp.into_body().collect().await.map_err(|e| e.to_string())?.to_bytes();
            if !status.is_success() {
                return Err(format!(
                    "the server at {} answered {status}: {}",
                    self.url,
                    String::from_utf8_lossy(&bytes)
                ));
            }
            Ok(bytes)
        })
    }

    /// `POST /api/v1/calls/query`: one page of at most `limit` calls (at most the server's
    /// [`MAX_LIMIT`]) after `after`; the answer's page key is there when more calls match.
    pub fn query_calls(
        &self,
        filter: &CallFilter,
        order: CallOrder,
        after: Option<&PageKey>,
        limit: usize,
    ) -> anyhow::Result<CallPage> {
        let mut body = json!({"filter": filter, "order": order, "limit": limit.min(MAX_LIMIT)});
        if let Some(after) = after {
            body["after"] = json!(after);
        }
        let bytes = self.post("/api/v1/calls/query", body.to_string()).map_err(|e| anyhow!(e))?;
        let mut v: Value = serde_json::from_slice(&bytes).context("the server's answer is not JSON")?;
        let total = v.get("total").and_then(Value::as_u64).unwrap_or(0);
        let calls = v.get_mut("calls").map(Value::take).unwrap_or_else(|| Value::Array(Vec::new()));
        let calls: Vec<Call> = serde_json::from_value(calls).context("the server's calls do not parse")?;
        let next = match v.get_mut("next").map(Value::take) {
            None | Some(Value::Null) => None,
            Some(k) => Some(serde_json::from_value(k).context("the server's page key does not parse")?),
        };
        Ok(CallPage { total, calls, next })
    }

    /// `POST /api/v1/report`.
    pub fn report(&self, query: &llmscope_server::report::ReportQuery) -> anyhow::Result<llmscope_analysis::Report> {
        let bytes = self.post("/api/v1/report", serde_json::to_string(query)?).map_err(|e| anyhow!(e))?;
        serde_json::from_slice(&bytes).context("the server's report does not parse")
    }

    /// POSTs and reads a JSON answer, for the storage trait.
    fn post_json(&self, path: &str, body: String) -> Result<Value, StoreError> {
        let bytes = self.post(path, body).map_err(StoreError::Backend)?;
        serde_json::from_slice(&bytes).map_err(|e| StoreError::Backend(format!("the server's answer is not JSON: {e}")))
    }
}

/// One page of a call listing read through a server.
#[derive(Debug)]
pub struct CallPage {
    /// Calls matching the filter, on every page.
    pub total: u64,
    pub calls: Vec<Call>,
    /// Where the next page starts; `None` on the last page.
    pub next: Option<PageKey>,
}

/// Calls per request when importing through a server (well under the API's 10,000 items and
/// its body limit).
pub const REMOTE_BATCH: usize = 5_000;

/// A running server as a [`CallSink`], so `llmscope import` works while the server holds the
/// store. The lines are parsed here, exactly as for a local import (same ids, same origins,
/// same rejects files); the server stores what it is sent and commits it before answering.
impl CallSink for ServerApi {
    fn append_calls(&self, calls: &[Call]) -> Result<AppendOutcome, StoreError> {
        let mut out = AppendOutcome::default();
        for chunk in calls.chunks(REMOTE_BATCH) {
            let body = serde_json::to_string(chunk).map_err(|e| StoreError::Backend(e.to_string()))?;
            let v = self.post_json("/api/v1/calls", body)?;
            if let Some(err) = v.get("errors").and_then(Value::as_array).and_then(|e| e.first()) {
                return Err(StoreError::Backend(format!("the server refused a call: {err}")));
            }
            out.inserted += v.get("inserted").and_then(Value::as_u64).unwrap_or(0);
            out.duplicates += v.get("duplicates").and_then(Value::as_u64).unwrap_or(0);
        }
        Ok(out)
    }

    fn append_assessments(&self, items: &[Assessment]) -> Result<u64, StoreError> {
        let mut n = 0;
        for chunk in items.chunks(REMOTE_BATCH) {
            let body = serde_json::to_string(chunk).map_err(|e| StoreError::Backend(e.to_string()))?;
            n += self.post_json("/api/v1/assessments", body)?.get("accepted").and_then(Value::as_u64).unwrap_or(0);
        }
        Ok(n)
    }
}
