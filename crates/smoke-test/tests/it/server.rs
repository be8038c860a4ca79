//! A tiny HTTP/1.1 server on 127.0.0.1 whose responses a test scripts. It records the requests it
//! got and the most requests it had in flight at once, and stops when dropped.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub body: String,
    pub delay: Duration,
    pub headers: Vec<(String, String)>,
    /// Close the connection without answering.
    pub hang_up: bool,
}

impl Reply {
    pub fn new(status: u16, body: &str) -> Self {
        Self {
            status,
            body: body.to_owned(),
            delay: Duration::ZERO,
            headers: Vec::new(),
            hang_up: false,
        }
    }

    pub fn slow(status: u16, body: &str, delay: Duration) -> Self {
        Self {
            delay,
            ..Self::new(status, body)
        }
    }

    pub fn redirect(location: &str) -> Self {
        Self {
            headers: vec![("Location".into(), location.into())],
            ..Self::new(302, "")
        }
    }
}

type Script = dyn Fn(usize, &str) -> Reply + Send + Sync;

#[derive(Default)]
struct Seen {
    requests: Mutex<Vec<String>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

pub struct Server {
    pub url: String,
    seen: Arc<Seen>,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    /// `script(n, path)` answers the n-th request (0-based, in arrival order).
    pub async fn start(script: impl Fn(usize, &str) -> Reply + Send + Sync + 'static) -> Self {
        Self::start_on("127.0.0.1:0".parse().unwrap(), script).await
    }

    /// Every request gets the same reply.
    pub async fn always(reply: Reply) -> Self {
        Self::start(move |_, _| reply.clone()).await
    }

    pub async fn start_on(
        addr: SocketAddr,
        script: impl Fn(usize, &str) -> Reply + Send + Sync + 'static,
    ) -> Self {
        let listener = TcpListener::bind(addr).await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Seen::default());
        let script: Arc<Script> = Arc::new(script);
        let task = tokio::spawn({
            let seen = Arc::clone(&seen);
            async move {
                while let Ok((stream, _)) = listener.accept().await {
                    tokio::spawn(serve(stream, Arc::clone(&script), Arc::clone(&seen)));
                }
            }
        });
        Self { url, seen, task }
    }

    /// The request heads received, in order.
    pub fn requests(&self) -> Vec<String> {
        self.seen.requests.lock().unwrap().clone()
    }

    pub fn max_in_flight(&self) -> usize {
        self.seen.max_in_flight.load(Ordering::SeqCst)
    }
}

/// One request per connection (`Connection: close`), so every request is counted on its own.
async fn serve(mut stream: TcpStream, script: Arc<Script>, seen: Arc<Seen>) {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buffer.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
        }
    }
    let head = String::from_utf8_lossy(&buffer).into_owned();
    let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
    let n = {
        let mut requests = seen.requests.lock().unwrap();
        requests.push(head);
        requests.len() - 1
    };
    let now = seen.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    seen.max_in_flight.fetch_max(now, Ordering::SeqCst);
    let reply = script(n, &path);
    tokio::time::sleep(reply.delay).await;
    if !reply.hang_up {
        let mut response = format!(
            "HTTP/1.1 {} X\r\nContent-Length: {}\r\nConnection: close\r\n",
            reply.status,
            reply.body.len()
        );
        for (name, value) in &reply.headers {
            response.push_str(&format!("{name}: {value}\r\n"));
        }
        response.push_str("\r\n");
        response.push_str(&reply.body);
        let _ = stream.write_all(response.as_bytes()).await;
    }
    let _ = stream.shutdown().await;
    seen.in_flight.fetch_sub(1, Ordering::SeqCst);
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A loopback address nothing listens on (yet): connections to it are refused.
pub async fn free_addr() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap()
}
