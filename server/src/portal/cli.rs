//! `portico vouchers …`: the voucher store for scripts (`--json` everywhere it prints).

use std::path::Path;
use std::process::ExitCode;

use clap::Subcommand;

use super::vouchers::{
    NewVouchers, State, Voucher, Vouchers, format_duration, now, parse_duration, parse_pirania,
    parse_shared_state,
};

#[derive(Debug, Subcommand)]
pub enum VoucherCommand {
    /// Create a batch of vouchers; each chunk of 100 is printed once it is stored.
    Create {
        /// How many (1 to 1000).
        #[arg(long, default_value_t = 1)]
        qty: u32,
        /// Access time once activated: 90s, 30m, 2h, 1d, 1w, 1h30m.
        #[arg(long, value_parser = duration, required_unless_present = "permanent", conflicts_with = "permanent")]
        duration: Option<i64>,
        /// Access without end.
        #[arg(long)]
        permanent: bool,
        /// Last day (YYYY-MM-DD, UTC) or moment (RFC 3339) the voucher can be activated.
        #[arg(long, value_parser = deadline)]
        deadline: Option<i64>,
        #[arg(long, default_value = "")]
        name: String,
        /// Devices that may use one voucher at the same time.
        #[arg(long, default_value_t = 1)]
        max_devices: u32,
        #[arg(long)]
        json: bool,
    },
    /// List vouchers, newest first.
    List {
        #[arg(long)]
        json: bool,
        #[arg(long, value_enum)]
        state: Option<State>,
    },
    /// Switch a voucher off for good.
    Invalidate { id: i64 },
    /// Add time to a voucher (an expired one runs again from now).
    Extend {
        id: i64,
        #[arg(value_parser = duration)]
        duration: i64,
    },
    /// Give a voucher a new name (on a community mesh, the last name given anywhere wins).
    Rename { id: i64, name: String },
    /// Import LibreMesh Pirania's vouchers — its voucher files (`/etc/pirania/vouchers`), or a
    /// live node's shared-state table (`--from http://NODE/cgi-bin/shared-state/pirania-vouchers`,
    /// read without changing it): good ones are imported in one transaction, bad ones reported
    /// by name and reason.
    ImportPirania {
        #[arg(required_unless_present = "from")]
        dir: Option<std::path::PathBuf>,
        /// The shared-state address of a live Pirania node (plain HTTP, as LibreMesh serves it).
        #[arg(long, conflicts_with = "dir")]
        from: Option<String>,
    },
}

fn duration(text: &str) -> Result<i64, String> {
    parse_duration(text).ok_or_else(|| format!("{text:?} is not a duration such as 30m, 2h or 1d"))
}

fn deadline(text: &str) -> Result<i64, String> {
    use time::format_description::well_known::Rfc3339;
    if let Ok(t) = time::OffsetDateTime::parse(text, &Rfc3339) {
        return Ok(t.unix_timestamp());
    }
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(text, &format)
        .map(|d| {
            (d.next_day()
                .unwrap_or(d)
                .midnight()
                .assume_utc()
                .unix_timestamp())
                - 1
        })
        .map_err(|_| format!("{text:?} is neither YYYY-MM-DD nor an RFC 3339 time"))
}

fn date(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(time::macros::format_description!(
                "[year]-[month]-[day] [hour]:[minute]"
            ))
            .ok()
        })
        .unwrap_or_else(|| unix.to_string())
}

fn table(vouchers: &[Voucher]) {
    println!(
        "{:>6}  {:<14} {:<11} {:<10} {:<17} {:<8} name",
        "id", "code", "state", "duration", "expires", "devices"
    );
    for v in vouchers {
        let state = serde_json::to_value(v.state)
            .ok()
            .and_then(|s| s.as_str().map(str::to_owned))
            .unwrap_or_default();
        println!(
            "{:>6}  {:<14} {:<11} {:<10} {:<17} {:<8} {}",
            v.id,
            v.code,
            state,
            v.duration
                .map_or_else(|| "permanent".into(), format_duration),
            v.expires.map_or_else(|| "–".into(), date),
            format!("{}/{}", v.macs.len(), v.max_devices),
            v.name
        );
    }
}

/// Runs a voucher command against the state database under `root`.
///
/// # Errors
/// When the database cannot be opened or written.
pub fn run(root: &Path, command: VoucherCommand) -> anyhow::Result<ExitCode> {
    let store = Vouchers::open(crate::state::StateDb::open(root)?)?;
    match command {
        VoucherCommand::Create {
            qty,
            duration,
            permanent,
            deadline,
            name,
            max_devices,
            json,
        } => {
            let new = NewVouchers {
                quantity: qty,
                name,
                duration: if permanent { None } else { duration },
                deadline,
                max_devices,
                author: author(),
            };
            store.create(&new, |chunk| {
                for v in chunk {
                    if json {
                        println!("{}", serde_json::to_string(v).unwrap_or_default());
                    } else {
                        println!("{}\t{}", v.id, v.code);
                    }
                }
            })?;
        }
        VoucherCommand::List { json, state } => {
            let vouchers = store.list(state)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&vouchers)?);
            } else {
                table(&vouchers);
            }
        }
        VoucherCommand::Invalidate { id } => {
            let v = store.invalidate(id)?;
            println!("voucher {} ({}) invalidated", v.id, v.code);
        }
        VoucherCommand::Rename { id, name } => {
            let v = store.rename(id, &name)?;
            println!("voucher {} ({}) is now called {:?}", v.id, v.code, v.name);
        }
        VoucherCommand::Extend { id, duration } => {
            let v = store.extend(id, duration)?;
            println!(
                "voucher {} ({}) now lasts {}{}",
                v.id,
                v.code,
                v.duration
                    .map_or_else(|| "for good".into(), format_duration),
                v.expires
                    .filter(|e| *e > now())
                    .map(|e| format!(", until {}", date(e)))
                    .unwrap_or_default()
            );
        }
        VoucherCommand::ImportPirania { dir: Some(dir), .. } => return import(&store, &dir),
        VoucherCommand::ImportPirania { from, .. } => {
            return import_live(&store, from.as_deref().unwrap_or_default());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `import-pirania DIR`: exit 0 when every file was good, 1 when some were reported.
fn import(store: &Vouchers, dir: &Path) -> anyhow::Result<ExitCode> {
    let removed: Vec<String> = std::fs::read_to_string(dir.join("removed.txt"))
        .unwrap_or_default()
        .split(',')
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect();
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| anyhow::anyhow!("{}: {e}", dir.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let (mut good, mut bad, mut skipped) = (Vec::new(), Vec::new(), 0);
    for path in &files {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        match std::fs::read_to_string(path)
            .map_err(|e| e.to_string())
            .and_then(|t| parse_pirania(&t))
        {
            Ok(v) if removed.contains(&v.id) => skipped += 1,
            Ok(v) => good.push(v),
            Err(reason) => bad.push((name, reason)),
        }
    }
    let new = store.import_pirania(&good)?;
    println!(
        "imported {new} new voucher(s) of {} good file(s){}",
        good.len(),
        if skipped > 0 {
            format!("; {skipped} listed in removed.txt skipped")
        } else {
            String::new()
        }
    );
    for (name, reason) in &bad {
        eprintln!("{name}: {reason}");
    }
    Ok(if bad.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Largest shared-state table read from a node.
const MAX_TABLE: usize = 16 << 20;

/// `import-pirania --from URL`: a live node's shared-state table, imported like the files.
fn import_live(store: &Vouchers, url: &str) -> anyhow::Result<ExitCode> {
    let text = fetch_table(url)?;
    let (good, bad) = parse_shared_state(&text).map_err(|e| anyhow::anyhow!("{url}: {e}"))?;
    let new = store.import_pirania(&good)?;
    println!(
        "imported {new} new voucher(s) of {} in the node's table",
        good.len()
    );
    for (key, reason) in &bad {
        eprintln!("entry {key}: {reason}");
    }
    Ok(if bad.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The node's table: an empty table POSTed to its shared-state CGI, which merges it (nothing)
/// and answers with its own. Plain HTTP, 10 s, at most [`MAX_TABLE`] bytes.
fn fetch_table(url: &str) -> anyhow::Result<String> {
    use http_body_util::BodyExt as _;
    let uri: http::Uri = url
        .parse()
        .map_err(|_| anyhow::anyhow!("{url:?} is not an address such as http://10.13.0.1/cgi-bin/shared-state/pirania-vouchers"))?;
    anyhow::ensure!(
        uri.scheme_str() == Some("http"),
        "{url}: only plain http:// (LibreMesh's shared-state is served without TLS)"
    );
    let authority = uri
        .authority()
        .ok_or_else(|| anyhow::anyhow!("{url}: no host"))?
        .clone();
    let host = authority
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let port = authority.port_u16().unwrap_or(80);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime
        .block_on(async move {
            let fetch = async {
                let stream = tokio::net::TcpStream::connect((host.as_str(), port)).await?;
                let (mut sender, connection) =
                    hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                        .await?;
                tokio::spawn(connection);
                let request = http::Request::post(uri.path_and_query().map_or("/", |p| p.as_str()))
                    .header(http::header::HOST, authority.as_str())
                    .header(http::header::CONTENT_TYPE, "application/json")
                    .body(http_body_util::Full::new(&b"{}"[..]))?;
                let response = sender.send_request(request).await?;
                anyhow::ensure!(
                    response.status().is_success(),
                    "the node answered {}",
                    response.status()
                );
                let body = http_body_util::Limited::new(response.into_body(), MAX_TABLE)
                    .collect()
                    .await
                    .map_err(|_| anyhow::anyhow!("the table is larger than {MAX_TABLE} bytes"))?
                    .to_bytes();
                Ok(String::from_utf8_lossy(&body).into_owned())
            };
            tokio::time::timeout(std::time::Duration::from_secs(10), fetch)
                .await
                .map_err(|_| anyhow::anyhow!("the node did not answer within 10 s"))?
        })
        .map_err(|e: anyhow::Error| anyhow::anyhow!("{url}: {e}"))
}

/// The node that makes vouchers (Pirania's `author_node`): this router's host name.
pub fn author() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_default()
}
