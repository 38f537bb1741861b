//! The console's HTTP/1.1 server: one std thread, one connection at a time, `GET` only.
//!
//! ```text
//!  accept ──► read the head (≤ 8 KiB, 2 s) ──► "GET <path> HTTP/1.x" ──► route ──► answer, close
//!    /                 page.html (HTML, CSS and script in one file)
//!    /api/state        everything below in one object (what the page polls every second)
//!    /api/tasks  /api/tasks/<id>  /api/workers  /api/runtimes  /api/histograms  /api/warnings
//! ```
//!
//! Anything else is answered with a status, never a panic: a head that is too long (431),
//! not HTTP (400), another method (405), another path (404). Each answer closes the
//! connection, so a client that stalls holds the thread at most for the timeouts.

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use super::snapshot::{self, Part};

const PAGE: &str = include_str!("page.html");
const MAX_HEAD: usize = 8 * 1024;
const TIMEOUT: Duration = Duration::from_secs(2);

/// The console thread's body: answers connections for as long as the process lives.
pub(super) fn serve(listener: TcpListener) {
    for stream in listener.incoming() {
        match stream {
            // An error is a client that went away or stalled: nothing to tell anyone.
            Ok(stream) => {
                let _ = answer(stream);
            }
            // EMFILE and the like: wait a little instead of spinning.
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

struct Response {
    status: &'static str,
    content_type: &'static str,
    body: String,
}

impl Response {
    fn text(status: &'static str, body: &str) -> Response {
        Response { status, content_type: "text/plain; charset=utf-8", body: format!("{body}\n") }
    }
}

fn answer(mut stream: TcpStream) -> io::Result<()> {
    stream.set_read_timeout(Some(TIMEOUT))?;
    stream.set_write_timeout(Some(TIMEOUT))?;
    let (response, head_only) = match read_head(&mut stream) {
        Ok(head) => respond(&head),
        Err(response) => (response, false),
    };
    let mut out = format!(
        "HTTP/1.1 {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nCache-Control: no-store\r\n\
         Connection: close\r\n\r\n",
        response.status,
        response.content_type,
        response.body.len()
    )
    .into_bytes();
    if !head_only {
        out.extend_from_slice(response.body.as_bytes());
    }
    stream.write_all(&out)?;
    stream.flush()
}

/// Reads up to the blank line that ends the head.
fn read_head(stream: &mut TcpStream) -> Result<String, Response> {
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 1024];
    loop {
        if let Some(end) = find_end(&head) {
            head.truncate(end);
            return String::from_utf8(head)
                .map_err(|_| Response::text("400 Bad Request", "not UTF-8"));
        }
        if head.len() > MAX_HEAD {
            return Err(Response::text(
                "431 Request Header Fields Too Large",
                "request head too large",
            ));
        }
        match stream.read(&mut buf) {
            Ok(0) => return Err(Response::text("400 Bad Request", "incomplete request")),
            Ok(n) => head.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return Err(Response::text("408 Request Timeout", "request timed out")),
        }
    }
}

fn find_end(head: &[u8]) -> Option<usize> {
    head.windows(4)
        .position(|w| w == b"\r\n\r\n")
        .or_else(|| head.windows(2).position(|w| w == b"\n\n"))
}

/// The answer to a request head, and whether to send the head only (`HEAD`).
fn respond(head: &str) -> (Response, bool) {
    let line = head.lines().next().unwrap_or("");
    let mut words = line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (words.next(), words.next(), words.next(), words.next())
    else {
        return (Response::text("400 Bad Request", "malformed request line"), false);
    };
    if !version.starts_with("HTTP/1.") || !target.starts_with('/') {
        return (Response::text("400 Bad Request", "malformed request line"), false);
    }
    let head_only = method == "HEAD";
    if method != "GET" && !head_only {
        return (Response::text("405 Method Not Allowed", "only GET"), false);
    }
    let path = target.split(['?', '#']).next().unwrap_or("/");
    (route(path), head_only)
}

fn route(path: &str) -> Response {
    let part = match path {
        "/" | "/index.html" => {
            return Response {
                status: "200 OK",
                content_type: "text/html; charset=utf-8",
                body: PAGE.to_owned(),
            }
        }
        "/api/state" | "/api" | "/api/" => Part::All,
        "/api/tasks" => Part::Tasks,
        "/api/workers" => Part::Workers,
        "/api/runtimes" => Part::Runtimes,
        "/api/histograms" => Part::Histograms,
        "/api/warnings" => Part::Warnings,
        _ => match path.strip_prefix("/api/tasks/").map(str::parse::<u64>) {
            Some(Ok(id)) => Part::Task(id),
            Some(Err(_)) => return Response::text("400 Bad Request", "a task id is a number"),
            None => return Response::text("404 Not Found", "no such page"),
        },
    };
    match snapshot::write(part) {
        Some(body) => Response { status: "200 OK", content_type: "application/json", body },
        None => Response::text("404 Not Found", "no such task"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_requests_get_a_status_not_a_panic() {
        assert!(respond("").0.status.starts_with("400"));
        assert!(respond("GET").0.status.starts_with("400"));
        assert!(respond("GET / HTTP/1.1 extra").0.status.starts_with("400"));
        assert!(respond("GET nopath HTTP/1.1").0.status.starts_with("400"));
        assert!(respond("GET / SPDY/3").0.status.starts_with("400"));
        assert!(respond("POST / HTTP/1.1").0.status.starts_with("405"));
        assert!(respond("GET /nope HTTP/1.1").0.status.starts_with("404"));
        assert!(respond("GET /api/tasks/x HTTP/1.1").0.status.starts_with("400"));
        assert!(respond("GET /api/tasks/99999999999 HTTP/1.1").0.status.starts_with("404"));
        let (page, head_only) = respond("HEAD /?x=1 HTTP/1.0");
        assert!(page.status.starts_with("200") && head_only);
        assert!(page.body.contains("<script>"));
        assert_eq!(find_end(b"GET / HTTP/1.1\r\nHost: x\r\n\r\nrest"), Some(23));
    }
}
