//! Load for `scripts/bench-stream.sh`: opens N idle event streams on a running Flagpole,
//! then makes writes one at a time and measures, for every stream, the time from sending
//! the write to receiving its event.
//!
//! ```text
//! stream_load ADDR PATH SUBSCRIBER_TOKEN ADMIN_TOKEN N WRITES [SERVER_PID]
//! ```
//!
//! `PATH` is the stream (`/api/client/streaming`, `/api/v1/environments/production/stream`);
//! each write toggles the flag `bench_stream` in production. With `SERVER_PID`, the
//! server's resident memory is read (`/proc/PID/status`) before the streams open and once
//! they are idle. Prints one JSON line: streams, writes, latencies (p50, p99, max, in ms),
//! events missed, and RSS before/after and per stream. Plain TCP and HTTP/1.1 by hand:
//! no HTTP client is needed to read an event stream.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;

/// How many streams connect at once.
const CONNECT_CONCURRENCY: usize = 200;
/// How long a write waits for every stream's event.
const EVENT_DEADLINE: Duration = Duration::from_secs(10);

struct Shared {
    base: Instant,
    /// When the current write was sent (nanoseconds since `base`).
    sent_at: AtomicU64,
    /// Streams that received the current write's event.
    received: AtomicUsize,
    latencies: std::sync::Mutex<Vec<u64>>,
}

type Error = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 7 {
        eprintln!(
            "usage: stream_load ADDR PATH SUBSCRIBER_TOKEN ADMIN_TOKEN N WRITES [SERVER_PID]"
        );
        std::process::exit(2);
    }
    let (addr, path, token, admin) = (&args[1], &args[2], &args[3], &args[4]);
    let n: usize = args[5].parse()?;
    let writes: usize = args[6].parse()?;
    let pid = args.get(7).cloned();
    let rss_before = pid.as_deref().map(rss_kib).transpose()?;
    let shared = Arc::new(Shared {
        base: Instant::now(),
        sent_at: AtomicU64::new(0),
        received: AtomicUsize::new(0),
        latencies: std::sync::Mutex::new(Vec::with_capacity(n * writes)),
    });
    let opened = Arc::new(AtomicUsize::new(0));
    let gate = Arc::new(Semaphore::new(CONNECT_CONCURRENCY));
    let started = Instant::now();
    for _ in 0..n {
        let permit = gate.clone().acquire_owned().await?;
        let (addr, path, token) = (addr.clone(), path.clone(), token.clone());
        let (shared, opened) = (shared.clone(), opened.clone());
        tokio::spawn(async move {
            match connect(&addr, &path, &token).await {
                Ok(stream) => {
                    opened.fetch_add(1, Ordering::SeqCst);
                    drop(permit);
                    follow(stream, &shared).await;
                }
                Err(e) => {
                    drop(permit);
                    eprintln!("a stream did not open: {e}");
                }
            }
        });
    }
    while gate.available_permits() < CONNECT_CONCURRENCY {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let streams = opened.load(Ordering::SeqCst);
    let connect_ms = started.elapsed().as_millis();
    // Idle: let the first events drain and memory settle.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_after = pid.as_deref().map(rss_kib).transpose()?;
    let mut missed = 0;
    for i in 0..writes {
        shared.received.store(0, Ordering::SeqCst);
        let at = shared.base.elapsed().as_nanos() as u64;
        shared.sent_at.store(at, Ordering::SeqCst);
        let action = if i % 2 == 0 { "enable" } else { "disable" };
        let request = format!(
            "POST /api/v1/flags/bench_stream/environments/production/{action} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {admin}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        let status = send(addr, &request).await?;
        if !status.starts_with("HTTP/1.1 200") {
            return Err(format!("the write failed: {status}").into());
        }
        let deadline = Instant::now() + EVENT_DEADLINE;
        while shared.received.load(Ordering::SeqCst) < streams && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        missed += streams - shared.received.load(Ordering::SeqCst).min(streams);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut latencies = shared
        .latencies
        .lock()
        .map(|l| l.clone())
        .unwrap_or_default();
    latencies.sort_unstable();
    let pick = |q: f64| -> f64 {
        if latencies.is_empty() {
            return f64::NAN;
        }
        let i = ((latencies.len() as f64 * q).ceil() as usize).clamp(1, latencies.len()) - 1;
        latencies[i] as f64 / 1e6
    };
    let per_stream = match (rss_before, rss_after) {
        (Some(b), Some(a)) if streams > 0 => {
            format!("{:.1}", (a as f64 - b as f64) / streams as f64)
        }
        _ => "null".into(),
    };
    println!(
        "{{\"path\":\"{path}\",\"streams\":{streams},\"connect_ms\":{connect_ms},\"writes\":{writes},\"events\":{},\"missed\":{missed},\"p50_ms\":{:.2},\"p99_ms\":{:.2},\"max_ms\":{:.2},\"rss_before_kib\":{},\"rss_idle_kib\":{},\"rss_per_stream_kib\":{per_stream}}}",
        latencies.len(),
        pick(0.50),
        pick(0.99),
        pick(1.0),
        rss_before.map_or("null".into(), |v| v.to_string()),
        rss_after.map_or("null".into(), |v| v.to_string()),
    );
    std::process::exit(0);
}

/// Opens a stream and reads its response head.
async fn connect(addr: &str, path: &str, token: &str) -> Result<TcpStream, Error> {
    let mut stream = TcpStream::connect(addr).await?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: {token}\r\nAccept: text/event-stream\r\nunleash-appname: bench\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await?;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).await? == 0 {
            return Err("closed before the response head".into());
        }
        head.push(byte[0]);
    }
    if !head.starts_with(b"HTTP/1.1 200") {
        return Err(String::from_utf8_lossy(&head).into_owned().into());
    }
    Ok(stream)
}

/// Reads events; each one that ends after a write was sent counts as that write's.
async fn follow(mut stream: TcpStream, shared: &Shared) {
    let mut buf = vec![0u8; 16 * 1024];
    while let Ok(read) = stream.read(&mut buf).await {
        if read == 0 {
            break;
        }
        let now = shared.base.elapsed().as_nanos() as u64;
        let sent = shared.sent_at.load(Ordering::SeqCst);
        // An event (not a heartbeat comment) after a write was sent.
        let event = buf[..read].windows(4).any(|w| w == b"\nid:");
        if sent > 0 && event {
            if let Ok(mut all) = shared.latencies.lock() {
                all.push(now - sent);
            }
            shared.received.fetch_add(1, Ordering::SeqCst);
        }
    }
}

/// Sends one request on a new connection; the status line.
async fn send(addr: &str, request: &str) -> Result<String, Error> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.write_all(request.as_bytes()).await?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await?;
    let text = String::from_utf8_lossy(&response);
    Ok(text.lines().next().unwrap_or("").to_string())
}

/// The resident memory of a process, in KiB.
fn rss_kib(pid: &str) -> Result<u64, Error> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .ok_or("no VmRSS")?;
    Ok(line
        .split_whitespace()
        .nth(1)
        .ok_or("no VmRSS value")?
        .parse()?)
}
