//! "The internet" inside the isp namespace: an HTTP server that answers the operating
//! systems' captive-portal checks as the real ones do, a TCP discard port and a UDP echo port.
//! It listens only inside the namespace it is started in.

use std::net::{Ipv6Addr, SocketAddr};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};

/// TCP port that swallows whatever is sent (RFC 863 discard).
pub const DISCARD_PORT: u16 = 9;
/// UDP port that echoes datagrams (RFC 862 echo).
pub const ECHO_PORT: u16 = 7;

/// The HTTP response for a request path: what the real check hosts answer.
pub fn answer(path: &str) -> (u16, &'static str, &'static str) {
    match path {
        "/generate_204" | "/gen_204" => (204, "text/plain", ""),
        "/hotspot-detect.html" | "/library/test/success.html" => (
            200,
            "text/html",
            "<HTML><HEAD><TITLE>Success</TITLE></HEAD><BODY>Success</BODY></HTML>",
        ),
        "/connecttest.txt" => (200, "text/plain", "Microsoft Connect Test"),
        "/ncsi.txt" => (200, "text/plain", "Microsoft NCSI"),
        _ => (200, "text/plain", "the lab internet\n"),
    }
}

/// Serves HTTP on port 80, discard on TCP 9 and echo on UDP 7 (IPv4 and IPv6) until the
/// process ends.
///
/// # Errors
/// When a port cannot be bound.
pub async fn run() -> std::io::Result<()> {
    let any = SocketAddr::from((Ipv6Addr::UNSPECIFIED, 0));
    let http = TcpListener::bind(SocketAddr::new(any.ip(), 80)).await?;
    let discard = TcpListener::bind(SocketAddr::new(any.ip(), DISCARD_PORT)).await?;
    let echo = UdpSocket::bind(SocketAddr::new(any.ip(), ECHO_PORT)).await?;
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = discard.accept().await else {
                continue;
            };
            tokio::spawn(async move {
                let mut buf = [0u8; 16 * 1024];
                while matches!(stream.read(&mut buf).await, Ok(n) if n > 0) {}
            });
        }
    });
    tokio::spawn(async move {
        let mut buf = [0u8; 2048];
        loop {
            if let Ok((n, peer)) = echo.recv_from(&mut buf).await {
                let _ = echo.send_to(&buf[..n], peer).await;
            }
        }
    });
    loop {
        let Ok((mut stream, _)) = http.accept().await else {
            continue;
        };
        tokio::spawn(async move {
            let mut head = Vec::with_capacity(1024);
            let mut buf = [0u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
                match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            let text = String::from_utf8_lossy(&head);
            let path = text.split_whitespace().nth(1).unwrap_or("/");
            let path = path.split('?').next().unwrap_or("/");
            let (status, content_type, body) = answer(path);
            let reason = if status == 204 { "No Content" } else { "OK" };
            let response = format!(
                "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(response.as_bytes()).await;
        });
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn captive_checks_get_what_the_real_hosts_answer() {
        assert_eq!(super::answer("/generate_204").0, 204);
        assert!(super::answer("/hotspot-detect.html").2.contains("Success"));
        assert_eq!(
            super::answer("/connecttest.txt").2,
            "Microsoft Connect Test"
        );
    }
}
