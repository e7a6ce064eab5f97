//! Workers: the public listeners served by one single-threaded runtime per core.
//!
//! Each worker owns its own accept sockets (`SO_REUSEPORT`, so the kernel spreads connections)
//! and its own upstream connection pool: a request is accepted, decided and forwarded on one
//! thread, with no cross-thread wake-ups. Policy, throttle and management store are shared
//! (`Arc`). The admin listener, reloads and signals stay on the main runtime; `server::run` does
//! the serving.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::{TcpListener, TcpSocket};

use crate::gateway::Gateway;
use crate::server::{self, ServeOptions};

/// Connections a socket queues before `accept`.
pub const BACKLOG: u32 = 1024;

/// Bind `workers` sockets to each address with `SO_REUSEPORT` (call inside a runtime). A port of
/// 0 is resolved by the first socket and shared by the others. Returns each worker's sockets as
/// std sockets, so each worker registers them with its own runtime.
pub fn bind(
    addrs: &[SocketAddr],
    workers: usize,
) -> std::io::Result<Vec<Vec<std::net::TcpListener>>> {
    let mut per_worker: Vec<Vec<std::net::TcpListener>> =
        (0..workers.max(1)).map(|_| Vec::new()).collect();
    for addr in addrs {
        let mut resolved = *addr;
        for sockets in per_worker.iter_mut() {
            let socket = if resolved.is_ipv4() {
                TcpSocket::new_v4()?
            } else {
                TcpSocket::new_v6()?
            };
            socket.set_reuseaddr(true)?;
            socket.set_reuseport(true)?;
            socket.bind(resolved)?;
            let listener = socket.listen(BACKLOG)?.into_std()?;
            resolved = listener.local_addr()?;
            sockets.push(listener);
        }
    }
    Ok(per_worker)
}

/// Run one worker thread per socket set until `stop` turns true; returns the threads. `opts[i]`
/// serves each set's socket `i` (its address's TLS, for one); sockets past its end get the last.
pub fn spawn(
    per_worker: Vec<Vec<std::net::TcpListener>>,
    make_gateway: impl Fn() -> Arc<Gateway>,
    opts: Vec<ServeOptions>,
    stop: tokio::sync::watch::Receiver<bool>,
) -> std::io::Result<Vec<std::thread::JoinHandle<()>>> {
    let mut threads = Vec::new();
    for (n, sockets) in per_worker.into_iter().enumerate() {
        let gw = make_gateway();
        let opts = opts.clone();
        let stop = stop.clone();
        let thread = std::thread::Builder::new()
            .name(format!("portcullis-worker-{n}"))
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        tracing::error!(error = %e, "cannot start worker runtime");
                        return;
                    }
                };
                rt.block_on(serve(sockets, gw, opts, stop));
            })?;
        threads.push(thread);
    }
    Ok(threads)
}

async fn serve(
    sockets: Vec<std::net::TcpListener>,
    gw: Arc<Gateway>,
    opts: Vec<ServeOptions>,
    stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut tasks = tokio::task::JoinSet::new();
    for (i, std_listener) in sockets.into_iter().enumerate() {
        let listener = match TcpListener::from_std(std_listener) {
            Ok(l) => l,
            Err(e) => {
                tracing::error!(error = %e, "cannot register listener");
                continue;
            }
        };
        let mut stop = stop.clone();
        let stopped = async move {
            let _ = stop.wait_for(|s| *s).await;
        };
        tasks.spawn(server::run(
            listener,
            Arc::clone(&gw),
            opts.get(i).or(opts.last()).cloned().unwrap_or_default(),
            stopped,
        ));
    }
    while tasks.join_next().await.is_some() {}
}
