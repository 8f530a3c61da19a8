//! The connection test after the internet settings changed: the default gateway answers a
//! ping, the test URL's host name resolves, and the URL answers over plain HTTP. Each check
//! is reported as it finishes, so the wizard can show progress.
//!
//! The router runs it in its own network namespace (the lab's router namespace in tests, where
//! the isp namespace's DNS and HTTP server stand in for the internet).

use std::io::{Read as _, Write as _};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use app::wizard::form::Check;
use socket2::{Domain, Protocol, Socket, Type};

/// A plain `http://host[:port]/path` address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub host: String,
    pub port: u16,
    pub path: String,
}

impl Target {
    pub fn parse(url: &str) -> Option<Target> {
        let rest = url.strip_prefix("http://")?;
        let (authority, path) = rest.find('/').map_or((rest, "/"), |i| rest.split_at(i));
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) => (h, p.parse().ok()?),
            None => (authority, 80),
        };
        let host_ok = !host.is_empty()
            && host
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'.' || c == b'-');
        host_ok.then(|| Target {
            host: host.to_owned(),
            port,
            path: path.to_owned(),
        })
    }
}

/// The IPv4 default gateway of the main routing table (lowest metric).
pub fn default_gateway() -> Option<Ipv4Addr> {
    crate::kernel::routes::defaults()
        .ok()?
        .into_iter()
        .find_map(|r| match r.gateway {
            Some(std::net::IpAddr::V4(gw)) => Some(gw),
            _ => None,
        })
}

fn checksum(bytes: &[u8]) -> u16 {
    let mut sum: u32 = bytes
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !u16::try_from(sum).unwrap_or(0)
}

/// One ICMP echo to `target`, waiting up to `timeout` for the reply (raw socket: root).
///
/// # Errors
/// When the socket cannot be made or used.
pub fn ping(target: Ipv4Addr, timeout: Duration) -> std::io::Result<bool> {
    let socket = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::ICMPV4))?;
    let id: u16 = rand::random();
    let mut packet = vec![8, 0, 0, 0];
    packet.extend_from_slice(&id.to_be_bytes());
    packet.extend_from_slice(&1u16.to_be_bytes());
    packet.extend_from_slice(b"portico connection test");
    let sum = checksum(&packet);
    packet[2..4].copy_from_slice(&sum.to_be_bytes());
    // Connected: the kernel hands this socket only packets from `target`.
    socket.connect(&SocketAddrV4::new(target, 0).into())?;
    socket.send(&packet)?;
    let deadline = Instant::now() + timeout;
    let mut buf = [0u8; 1500];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(false);
        }
        socket.set_read_timeout(Some(left))?;
        let n = match (&socket).read(&mut buf) {
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return Ok(false);
            }
            Err(e) => return Err(e),
        };
        // A raw IPv4 socket receives the IP header too.
        let header = usize::from(buf[0] & 0x0f) * 4;
        let Some(icmp) = buf[..n].get(header..) else {
            continue;
        };
        if icmp.len() >= 8 && icmp[0] == 0 && icmp[4..6] == id.to_be_bytes() {
            return Ok(true);
        }
    }
}

/// `GET path` from `addr`: the status code.
fn http_status(addr: SocketAddr, target: &Target, timeout: Duration) -> std::io::Result<u16> {
    let mut stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    let request = format!(
        "GET {} HTTP/1.0\r\nHost: {}\r\nUser-Agent: portico-connection-test\r\nConnection: close\r\n\r\n",
        target.path, target.host
    );
    stream.write_all(request.as_bytes())?;
    let mut head = [0u8; 64];
    let n = stream.read(&mut head)?;
    let line = String::from_utf8_lossy(&head[..n]);
    line.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::other("not an HTTP answer"))
}

/// Runs the three checks, calling `report` after each. `gateway`: the configured one (static
/// internet); otherwise the default route is awaited until `wait` has passed (DHCP and PPPoE
/// need a moment after the reload).
pub fn run(gateway: Option<Ipv4Addr>, url: &str, wait: Duration, mut report: impl FnMut(Check)) {
    let start = Instant::now();
    let found = loop {
        if let Some(gw) = gateway.or_else(default_gateway) {
            break Some(gw);
        }
        if start.elapsed() > wait {
            break None;
        }
        std::thread::sleep(Duration::from_millis(250));
    };
    let gateway_check = match found {
        None => Check {
            what: "gateway".into(),
            ok: false,
            detail: "–".into(),
        },
        Some(gw) => {
            let ok = (0..3).any(|_| ping(gw, Duration::from_secs(1)).unwrap_or(false));
            Check {
                what: "gateway".into(),
                ok,
                detail: gw.to_string(),
            }
        }
    };
    report(gateway_check);

    let Some(target) = Target::parse(url) else {
        report(Check {
            what: "dns".into(),
            ok: false,
            detail: url.to_owned(),
        });
        return;
    };
    let resolved = (0..3).find_map(|attempt| {
        if attempt > 0 {
            std::thread::sleep(Duration::from_secs(1));
        }
        (target.host.as_str(), target.port)
            .to_socket_addrs()
            .ok()
            .and_then(|mut a| a.next())
    });
    report(Check {
        what: "dns".into(),
        ok: resolved.is_some(),
        detail: resolved.map_or_else(
            || target.host.clone(),
            |a| format!("{} → {}", target.host, a.ip()),
        ),
    });
    let Some(addr) = resolved else {
        report(Check {
            what: "http".into(),
            ok: false,
            detail: url.to_owned(),
        });
        return;
    };
    let status = http_status(addr, &target, Duration::from_secs(5));
    report(Check {
        what: "http".into(),
        ok: status.as_ref().is_ok_and(|s| (200..400).contains(s)),
        detail: match status {
            Ok(s) => format!("{url}: HTTP {s}"),
            Err(e) => format!("{url}: {e}"),
        },
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_urls() {
        assert_eq!(
            Target::parse("http://connectivitycheck.gstatic.com/generate_204"),
            Some(Target {
                host: "connectivitycheck.gstatic.com".into(),
                port: 80,
                path: "/generate_204".into()
            })
        );
        assert_eq!(
            Target::parse("http://127.0.0.1:8080"),
            Some(Target {
                host: "127.0.0.1".into(),
                port: 8080,
                path: "/".into()
            })
        );
        assert_eq!(Target::parse("https://example.org/"), None);
        assert_eq!(Target::parse("http://a b/"), None);
    }

    #[test]
    fn icmp_checksum_of_a_known_packet() {
        // Echo request, id 1, seq 1, no payload: 0x08 0x00 .... checksum 0xf7fd.
        assert_eq!(checksum(&[8, 0, 0, 0, 0, 1, 0, 1]), 0xf7fd);
    }

    #[test]
    fn http_check_against_a_local_server() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut request = Vec::new();
            let mut buf = [0u8; 512];
            while !request.ends_with(b"\r\n\r\n") {
                let n = s.read(&mut buf).unwrap();
                if n == 0 {
                    break;
                }
                request.extend_from_slice(&buf[..n]);
            }
            let _ = s.write_all(b"HTTP/1.1 204 No Content\r\n\r\n");
        });
        let mut checks = Vec::new();
        run(
            Some(Ipv4Addr::LOCALHOST),
            &format!("http://localhost:{}/generate_204", addr.port()),
            Duration::from_secs(1),
            |c| checks.push(c),
        );
        let http = checks.iter().find(|c| c.what == "http").unwrap();
        assert!(http.ok, "{checks:?}");
        assert!(checks.iter().find(|c| c.what == "dns").unwrap().ok);
    }
}
