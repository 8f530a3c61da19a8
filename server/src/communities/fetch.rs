//! Keeping the site current from the live API: `portico communities fetch --url URL
//! [--every 1h]`, and the same loop beside the site with `serve --profile communities
//! --fetch-url URL`.
//!
//! Each round is one conditional GET (`If-None-Match` with the last `ETag`,
//! `If-Modified-Since` with the last `Last-Modified`): `304 Not Modified` costs a few hundred
//! bytes and imports nothing. A `200` body is read up to the import's limit
//! ([`source::MAX_SUMMARY_BYTES`], decompressed) and imported as the live summary file (its
//! time is the newest `mtime` in it, so a file fetched twice is stored once). The validators
//! are kept only after the import succeeded, and only in memory: after a restart the first
//! round downloads the file again, and the store keeps it once.

use std::time::Duration;

use anyhow::Context as _;
use communities::prepare::prepare;
use communities::source::{self, MAX_SUMMARY_BYTES};
use communities::store::{Sink, Written};

/// How long one round may take, connection and body included.
const TIMEOUT: Duration = Duration::from_secs(60);

/// What one round did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetched {
    /// The server said the file has not changed since the last round.
    NotModified,
    /// A file came and was imported (`written.already_present` when the store had its time).
    Imported {
        ts: i64,
        communities: usize,
        written: Written,
    },
}

/// One URL fetched round after round, with its validators.
pub struct Fetcher {
    agent: ureq::Agent,
    url: String,
    etag: Option<String>,
    last_modified: Option<String>,
}

impl Fetcher {
    /// # Errors
    /// A URL that is not `http://` or `https://`.
    pub fn new(url: &str) -> anyhow::Result<Fetcher> {
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            anyhow::bail!("{url:?} is not an http:// or https:// URL");
        }
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(TIMEOUT))
            .http_status_as_error(false)
            .user_agent(concat!("portico/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Ok(Fetcher {
            agent,
            url: url.to_owned(),
            etag: None,
            last_modified: None,
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// One round: a conditional GET, and the import of what came.
    ///
    /// # Errors
    /// The server cannot be reached or answers other than 200/304, the file is too large or
    /// not a summary file, or the store fails; the validators stay as they were.
    pub fn once(&mut self, sink: &mut dyn Sink) -> anyhow::Result<Fetched> {
        let mut request = self.agent.get(&self.url);
        if let Some(etag) = &self.etag {
            request = request.header("If-None-Match", etag);
        }
        if let Some(since) = &self.last_modified {
            request = request.header("If-Modified-Since", since);
        }
        let mut response = request
            .call()
            .map_err(|e| anyhow::anyhow!("{}: {e}", self.url))?;
        match response.status().as_u16() {
            304 => return Ok(Fetched::NotModified),
            200 => {}
            status => anyhow::bail!("{}: the server answered {status}", self.url),
        }
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let (etag, last_modified) = (header("etag"), header("last-modified"));
        let bytes = response
            .body_mut()
            .with_config()
            .limit(MAX_SUMMARY_BYTES)
            .read_to_vec()
            .map_err(|e| match e {
                ureq::Error::BodyExceedsLimit(_) => anyhow::anyhow!(
                    "{}: larger than {} MiB; not read",
                    self.url,
                    MAX_SUMMARY_BYTES >> 20
                ),
                e => anyhow::anyhow!("{}: {e}", self.url),
            })?;
        let snapshot = source::parse(&bytes, &self.url, None)
            .with_context(|| format!("{}: not a summary file", self.url))?;
        let (ts, communities) = (snapshot.ts, snapshot.entries.len());
        let written = sink.write(&[prepare(snapshot)])?;
        self.etag = etag;
        self.last_modified = last_modified;
        Ok(Fetched::Imported {
            ts,
            communities,
            written,
        })
    }
}

/// A round's outcome in a line for people.
pub fn describe(outcome: &anyhow::Result<Fetched>) -> String {
    match outcome {
        Ok(Fetched::NotModified) => "not modified since the last round".to_owned(),
        Ok(Fetched::Imported {
            ts,
            communities,
            written,
        }) => format!(
            "{} ({communities} communities): {}",
            source::file_name(*ts),
            if written.already_present > 0 {
                "already in the store"
            } else {
                "imported"
            }
        ),
        Err(e) => format!("failed: {e:#}; trying again next round"),
    }
}

/// A round's period (`1h`, `30m`, `1h 30m`).
///
/// # Errors
/// Not a period, or less than a minute (the collector itself runs hourly).
pub fn period(text: &str) -> Result<Duration, String> {
    let period = humantime::parse_duration(text)
        .map_err(|_| format!("{text:?} is not a period such as 1h, 30m or 90s"))?;
    if period < Duration::from_secs(60) {
        return Err(format!("{text:?} is shorter than a minute"));
    }
    Ok(period)
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead as _, BufReader, Write as _};
    use std::net::TcpListener;
    use std::sync::{Arc, Mutex};

    use communities::sqlite::SqliteStore;

    use super::*;

    /// What the test's HTTP server answers, and the conditional headers it was sent.
    #[derive(Default)]
    struct Served {
        status: u16,
        etag: String,
        body: Vec<u8>,
        asked: Vec<Vec<String>>,
    }

    /// A one-file HTTP server on loopback that honours `If-None-Match`.
    fn server(served: Arc<Mutex<Served>>) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let mut stream = stream.unwrap();
                let mut conditional = Vec::new();
                for line in BufReader::new(&stream).lines() {
                    let line = line.unwrap();
                    if line.is_empty() {
                        break;
                    }
                    let lower = line.to_ascii_lowercase();
                    if lower.starts_with("if-none-match") || lower.starts_with("if-modified-since")
                    {
                        conditional.push(line);
                    }
                }
                let mut s = served.lock().unwrap();
                let matches = conditional.iter().any(|h| {
                    h.to_ascii_lowercase().starts_with("if-none-match") && h.ends_with(&s.etag)
                });
                s.asked.push(conditional);
                let (status, body) = if matches {
                    (304, Vec::new())
                } else {
                    (s.status, s.body.clone())
                };
                let head = format!(
                    "HTTP/1.1 {status} X\r\nETag: {}\r\nLast-Modified: Wed, 23 Mar 2016 19:01:01 GMT\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    s.etag,
                    body.len()
                );
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(&body);
            }
        });
        format!("http://{addr}/map/ffSummarizedDir.json")
    }

    fn summary(mtime: &str) -> Vec<u8> {
        format!(
            r#"{{"kiel": {{"name": "Freifunk Kiel", "mtime": "{mtime}", "state": {{"nodes": 40}}}},
                "hamburg": {{"name": "Freifunk Hamburg", "mtime": "2016-03-23 18:00:00", "state": {{"nodes": 900}}}}}}"#
        )
        .into_bytes()
    }

    /// Issue 22, item 11: a round asks with the last validators; an unchanged file is not
    /// downloaded or imported again, a changed one is; failures keep the validators.
    #[test]
    fn conditional_get_imports_only_what_changed() {
        let served = Arc::new(Mutex::new(Served {
            status: 200,
            etag: "\"v1\"".into(),
            body: summary("2016-03-23 19:01:01"),
            ..Served::default()
        }));
        let url = server(served.clone());
        let data = tempfile::tempdir().unwrap();
        let mut store = SqliteStore::open(data.path()).unwrap();
        let mut fetcher = Fetcher::new(&url).unwrap();

        let Fetched::Imported {
            ts,
            communities,
            written,
        } = fetcher.once(&mut store).unwrap()
        else {
            panic!("the first round imports")
        };
        assert_eq!(
            source::file_name(ts),
            "20160323-19.01.01-ffSummarizedDir.json"
        );
        assert_eq!((communities, written.snapshots), (2, 1));
        assert_eq!(fetcher.once(&mut store).unwrap(), Fetched::NotModified);

        // The server fails: the round says so, the validators stay.
        served.lock().unwrap().etag = "\"v2\"".into();
        served.lock().unwrap().status = 503;
        let failed = fetcher.once(&mut store);
        assert!(
            describe(&failed).contains("the server answered 503"),
            "{failed:?}"
        );
        // Not a summary file.
        served.lock().unwrap().status = 200;
        served.lock().unwrap().body = b"<html>maintenance</html>".to_vec();
        assert!(describe(&fetcher.once(&mut store)).contains("not a summary file"));
        // Too large: refused at the limit, not read whole.
        served.lock().unwrap().body = vec![b' '; usize::try_from(MAX_SUMMARY_BYTES).unwrap() + 1];
        assert!(describe(&fetcher.once(&mut store)).contains("larger than 16 MiB"));
        // A new file: imported as a second snapshot.
        served.lock().unwrap().body = summary("2016-03-23 20:01:01");
        let Fetched::Imported { ts, written, .. } = fetcher.once(&mut store).unwrap() else {
            panic!("a changed file is imported")
        };
        assert_eq!(
            source::file_name(ts),
            "20160323-20.01.01-ffSummarizedDir.json"
        );
        assert_eq!(written.snapshots, 1);

        let asked = &served.lock().unwrap().asked;
        assert_eq!(
            asked[0],
            Vec::<String>::new(),
            "the first round asks plainly"
        );
        for round in &asked[1..6] {
            assert!(round.iter().any(|h| h.ends_with("\"v1\"")), "{round:?}");
            assert!(
                round.iter().any(|h| h.ends_with("19:01:01 GMT")),
                "{round:?}"
            );
        }
    }

    #[test]
    fn periods() {
        assert_eq!(period("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(period("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(period("1h 30m"), Ok(Duration::from_secs(5400)));
        assert!(period("10s").unwrap_err().contains("shorter than a minute"));
        for bad in ["", "h", "1x", "-1h"] {
            assert!(period(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn only_web_urls() {
        assert!(Fetcher::new("file:///etc/passwd").is_err());
        assert!(Fetcher::new("http://127.0.0.1:1/ffSummarizedDir.json").is_ok());
    }
}
