//! The idle upstream connections of one worker (`Parked`), kept for the next request to the
//! same upstream.
//!
//! One queue per upstream (scheme and authority), oldest first: a connection is parked at the
//! back, taken from the back (the one idle the shortest time, the least likely to have been
//! closed by the upstream), and expires from the front. So a checkout costs the same with 500
//! connections parked as with one: it looks at one queue's ends, not at every connection (the
//! h2c load, 512 requests in flight, used to walk hundreds on each request). A checkout that finds
//! the newest expired drops its queue; every park drops the expired connections at the front of
//! every queue, so an upstream nobody sends to any more does not keep its connections open much
//! past the idle timeout.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use http::uri::{Authority, Scheme};

use crate::upstream_conn::Conn;

/// A parked connection.
struct Idle {
    conn: Conn,
    /// When it is too old to use (parked + the idle timeout): compared, not subtracted.
    expires: Instant,
}

/// One upstream's parked connections, oldest first (so their expiries rise front to back).
struct Queue {
    scheme: Scheme,
    authority: Authority,
    idle: VecDeque<Idle>,
}

/// The idle connections of one worker.
pub struct Parked {
    /// One queue per upstream a connection was parked for. An emptied queue stays (a worker
    /// talks to few upstreams, and one that empties and fills with every request would be made
    /// anew each time) unless there are more than `KEEP_EMPTY` queues.
    queues: Mutex<Vec<Queue>>,
    idle_timeout: Duration,
}

impl std::fmt::Debug for Parked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Parked").finish_non_exhaustive()
    }
}

impl Parked {
    /// Nothing parked yet; connections idle longer than `idle_timeout` are not reused.
    pub fn new(idle_timeout: Duration) -> Self {
        Self {
            queues: Mutex::new(Vec::new()),
            idle_timeout,
        }
    }

    /// An idle, open connection to (scheme, authority), the most recently parked; expired and
    /// closed ones are dropped on the way.
    pub fn take(&self, scheme: &Scheme, authority: &Authority) -> Option<Conn> {
        let now = Instant::now();
        let mut queues = self.queues.lock().unwrap_or_else(|p| p.into_inner());
        let queue = &mut queues.iter_mut().find(|q| q.is(scheme, authority))?.idle;
        while let Some(mut idle) = queue.pop_back() {
            if idle.expires <= now {
                // The newest has expired, so have all before it (`put` sweeps the others).
                queue.clear();
                return None;
            }
            if idle.conn.is_open() {
                return Some(idle.conn);
            }
        }
        None
    }

    /// Keep `conn` for the next request to its upstream.
    pub fn put(&self, conn: Conn) {
        let now = Instant::now();
        let expires = now + self.idle_timeout;
        let mut queues = self.queues.lock().unwrap_or_else(|p| p.into_inner());
        expire(&mut queues, now);
        let at = queues
            .iter()
            .position(|q| q.is(&conn.scheme, &conn.authority));
        let idle = Idle { conn, expires };
        match at {
            Some(at) => queues[at].idle.push_back(idle),
            None => queues.push(Queue {
                scheme: idle.conn.scheme.clone(),
                authority: idle.conn.authority.clone(),
                idle: VecDeque::from([idle]),
            }),
        }
    }

    /// How many connections are parked (for tests).
    #[cfg(test)]
    fn len(&self) -> usize {
        let queues = self.queues.lock().unwrap_or_else(|p| p.into_inner());
        queues.iter().map(|q| q.idle.len()).sum()
    }
}

/// Past this many queues, the empty ones are removed.
const KEEP_EMPTY: usize = 64;

impl Queue {
    /// Whether this is the queue of (scheme, authority). Authorities compare without case; the
    /// exact comparison first, as a worker's requests to one upstream name it alike.
    fn is(&self, scheme: &Scheme, authority: &Authority) -> bool {
        *scheme == self.scheme
            && (authority.as_str() == self.authority.as_str() || *authority == self.authority)
    }
}

/// Drop the expired connections at the front of every queue (and the empty queues, when there
/// are many).
fn expire(queues: &mut Vec<Queue>, now: Instant) {
    for q in queues.iter_mut() {
        while q.idle.front().is_some_and(|i| i.expires <= now) {
            q.idle.pop_front();
        }
    }
    if queues.len() > KEEP_EMPTY {
        queues.retain(|q| !q.idle.is_empty());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::upstream_conn::Stream;
    use bytes::BytesMut;
    use tokio::io::AsyncWriteExt;
    use tokio::net::{TcpListener, TcpStream};

    /// A connection to `authority` over a real socket, and the server's end of it.
    async fn conn(listener: &TcpListener, authority: &str) -> (Conn, TcpStream) {
        let client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let conn = Conn {
            stream: Stream::Plain(client),
            buf: BytesMut::new(),
            scheme: Scheme::HTTP,
            authority: authority.parse().unwrap(),
        };
        (conn, server)
    }

    fn port(c: &Conn) -> u16 {
        match &c.stream {
            Stream::Plain(s) => s.local_addr().unwrap().port(),
            Stream::Tls(_) => unreachable!(),
        }
    }

    #[tokio::test]
    async fn the_most_recently_parked_open_connection_of_the_same_upstream_is_taken() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let parked = Parked::new(Duration::from_secs(60));
        let (a1, _s1) = conn(&listener, "a:1").await;
        let (a2, _s2) = conn(&listener, "a:1").await;
        let (b, _s3) = conn(&listener, "B:2").await;
        let (p1, p2, pb) = (port(&a1), port(&a2), port(&b));
        parked.put(a1);
        parked.put(b);
        parked.put(a2);
        let a: Authority = "a:1".parse().unwrap();
        assert_eq!(parked.take(&Scheme::HTTP, &a).map(|c| port(&c)), Some(p2));
        assert_eq!(parked.take(&Scheme::HTTPS, &a).map(|c| port(&c)), None);
        // Authorities compare without case, as the upstream's address does.
        let b_lower: Authority = "b:2".parse().unwrap();
        assert_eq!(
            parked.take(&Scheme::HTTP, &b_lower).map(|c| port(&c)),
            Some(pb)
        );
        assert_eq!(parked.take(&Scheme::HTTP, &a).map(|c| port(&c)), Some(p1));
        assert!(parked.take(&Scheme::HTTP, &a).is_none());
        assert_eq!(parked.len(), 0);
    }

    #[tokio::test]
    async fn empty_queues_go_only_when_there_are_many() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let parked = Parked::new(Duration::from_secs(60));
        for i in 0..KEEP_EMPTY {
            let authority = format!("u{i}:1");
            let (c, _s) = conn(&listener, &authority).await;
            parked.put(c);
            assert!(
                parked
                    .take(&Scheme::HTTP, &authority.parse().unwrap())
                    .is_some()
            );
        }
        let queues = || parked.queues.lock().unwrap().len();
        assert_eq!(queues(), KEEP_EMPTY);
        let (c, _s) = conn(&listener, "last:1").await;
        parked.put(c);
        assert_eq!(queues(), KEEP_EMPTY + 1);
        // The next park finds more than KEEP_EMPTY queues: the empty ones go.
        let (c, _s2) = conn(&listener, "more:1").await;
        parked.put(c);
        assert_eq!((queues(), parked.len()), (2, 2));
    }

    #[tokio::test]
    async fn a_connection_the_upstream_closed_or_wrote_on_is_dropped_at_checkout() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let parked = Parked::new(Duration::from_secs(60));
        let (first, _kept) = conn(&listener, "a:1").await;
        let (closed, s_closed) = conn(&listener, "a:1").await;
        let (spoke, mut s_spoke) = conn(&listener, "a:1").await;
        let want = port(&first);
        parked.put(first);
        parked.put(closed);
        parked.put(spoke);
        drop(s_closed);
        s_spoke.write_all(b"HTTP/1.1 200 OK\r\n").await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        let a: Authority = "a:1".parse().unwrap();
        assert_eq!(parked.take(&Scheme::HTTP, &a).map(|c| port(&c)), Some(want));
        assert_eq!(parked.len(), 0);
    }

    #[tokio::test]
    async fn expired_connections_are_not_reused_and_are_closed_on_the_next_park() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let a: Authority = "a:1".parse().unwrap();
        let gone = Parked::new(Duration::ZERO);
        let (c, _s) = conn(&listener, "a:1").await;
        gone.put(c);
        assert!(gone.take(&Scheme::HTTP, &a).is_none());

        // A connection to an upstream nobody asks for any more is dropped by another's park.
        let parked = Parked::new(Duration::from_millis(20));
        let (old, _s1) = conn(&listener, "old:1").await;
        parked.put(old);
        tokio::time::sleep(Duration::from_millis(40)).await;
        let (fresh, _s2) = conn(&listener, "a:1").await;
        parked.put(fresh);
        assert_eq!(parked.len(), 1);
        assert!(parked.take(&Scheme::HTTP, &a).is_some());
    }
}
