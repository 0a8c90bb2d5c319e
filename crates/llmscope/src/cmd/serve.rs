//! `llmscope serve`: the proxy and the ingest API over the embedded store.
//!
//! While it runs the server holds the store; it writes its address to
//! `<data-dir>/server.json` so other commands can say where it is.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use llmscope_core::store::Store;
use llmscope_server::{Server, ServerConfig};

use crate::cli::ServeArgs;
use crate::config::{Config, UpstreamConfig};

pub fn run(cfg: Config, a: ServeArgs) -> anyhow::Result<ExitCode> {
    let mut cfg = cfg;
    if let Some(l) = a.listen {
        cfg.server.listen = l;
    }
    if let Some(url) = a.upstream {
        cfg.set_catch_all(UpstreamConfig::catch_all("default", &url));
    }
    cfg.validate()?;
    let server_cfg = cfg.server_config()?;
    let store: Arc<dyn Store> = Arc::from(super::open_server_store(&cfg)?);
    let rt = runtime()?;
    let stats = rt.block_on(serve(server_cfg, store, &cfg.storage.data_dir, llmscope_server::shutdown_signal()))?;
    eprintln!(
        "llmscope stopped: {} calls recorded, {} written, {} spilled to disk ({} of them stored since)",
        stats.recorded, stats.written, stats.spilled, stats.replayed
    );
    Ok(ExitCode::SUCCESS)
}

pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the async runtime")
}

/// Binds, announces and runs the server until `shutdown`; removes `server.json` after.
pub async fn serve(
    server_cfg: ServerConfig,
    store: Arc<dyn Store>,
    data_dir: &Path,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<llmscope_server::RecorderStats> {
    let listen = server_cfg.listen;
    let upstreams: Vec<String> = server_cfg
        .upstreams
        .iter()
        .map(|u| format!("{} → {}", u.name, llmscope_server::upstream::shown_url(&u.url)))
        .collect();
    let server = Server::bind(server_cfg, store).await.with_context(|| format!("cannot listen on {listen}"))?;
    let addr = server.local_addr()?;
    let marker = ServerMarker::write(data_dir, &addr.to_string())?;
    eprintln!("llmscope listening on http://{addr}");
    eprintln!("  proxy:  http://{addr}/v1  (set your OpenAI client's base_url to this)");
    eprintln!("  ingest: POST http://{addr}/api/v1/calls");
    if upstreams.is_empty() {
        eprintln!("  no upstream configured: set LLMSCOPE_UPSTREAM_URL, --upstream or [[upstreams]] to proxy calls");
    }
    for u in upstreams {
        eprintln!("  upstream {u}");
    }
    let stats = server.run(shutdown).await?;
    drop(marker);
    Ok(stats)
}

/// `<data-dir>/server.json` while a server runs: which process holds the store, where.
struct ServerMarker(PathBuf);

impl ServerMarker {
    fn write(data_dir: &Path, addr: &str) -> anyhow::Result<ServerMarker> {
        let path = data_dir.join("server.json");
        let body = serde_json::json!({
            "pid": std::process::id(),
            "address": addr,
            "url": format!("http://{addr}"),
            "started_at": chrono::Utc::now().to_rfc3339(),
        });
        std::fs::write(&path, format!("{body:#}\n")).with_context(|| format!("writing {}", path.display()))?;
        Ok(ServerMarker(path))
    }
}

impl Drop for ServerMarker {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
