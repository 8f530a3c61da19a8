//! Portico's own log, kept in memory for the log page: the last lines as the log prints them
//! (a second `fmt` layer writes into [`Journal`]), bounded in count and length. On OpenWrt the
//! log page reads `logread` instead; the dev platform has only this.

use std::collections::VecDeque;
use std::sync::{Mutex, OnceLock, PoisonError};

use tokio::sync::watch;

/// Lines kept.
const LINES: usize = 2000;
/// The longest line kept (longer ones are cut).
const LINE_BYTES: usize = 1024;

/// The log in memory.
pub struct Journal {
    lines: Mutex<VecDeque<String>>,
    /// Counts lines written: the log page's stream follows it.
    written: watch::Sender<u64>,
}

/// The process's journal.
pub fn journal() -> &'static Journal {
    static JOURNAL: OnceLock<Journal> = OnceLock::new();
    JOURNAL.get_or_init(|| Journal {
        lines: Mutex::new(VecDeque::with_capacity(LINES)),
        written: watch::channel(0).0,
    })
}

impl Journal {
    /// Keeps `text`'s lines (the oldest go when full).
    pub fn write(&self, text: &str) {
        let mut lines = self.lines.lock().unwrap_or_else(PoisonError::into_inner);
        let mut added = 0;
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let mut line = line.to_owned();
            if line.len() > LINE_BYTES {
                let mut cut = LINE_BYTES;
                while !line.is_char_boundary(cut) {
                    cut -= 1;
                }
                line.truncate(cut);
                line.push('…');
            }
            if lines.len() == LINES {
                lines.pop_front();
            }
            lines.push_back(line);
            added += 1;
        }
        drop(lines);
        if added > 0 {
            self.written.send_modify(|n| *n += added);
        }
    }

    /// The lines kept, oldest first.
    pub fn lines(&self) -> Vec<String> {
        self.lines
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .cloned()
            .collect()
    }

    /// Follows the journal: changes whenever lines are written.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.written.subscribe()
    }
}

/// The `MakeWriter` of the journal's `fmt` layer.
#[derive(Clone, Copy)]
pub struct Writer;

impl std::io::Write for Writer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        journal().write(&String::from_utf8_lossy(buf));
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Writer {
    type Writer = Writer;

    fn make_writer(&'a self) -> Writer {
        Writer
    }
}

/// The severity word of a log line, as Portico's log and OpenWrt's `logread` write it
/// (`… WARN target: …`, `… daemon.warn dnsmasq[1]: …`): `error`, `warn`, `info`, `debug`.
pub fn level(line: &str) -> &'static str {
    for word in line.split_whitespace().take(8) {
        let word = word.rsplit('.').next().unwrap_or(word).to_ascii_lowercase();
        match word.as_str() {
            "error" | "err" | "crit" | "alert" | "emerg" => return "error",
            "warn" | "warning" => return "warn",
            "info" | "notice" => return "info",
            "debug" | "trace" => return "debug",
            _ => {}
        }
    }
    ""
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_bounded_and_followed() {
        let journal = Journal {
            lines: Mutex::new(VecDeque::new()),
            written: watch::channel(0).0,
        };
        let mut follower = journal.subscribe();
        journal.write("2026-12-07T05:16:29Z  WARN portico: one\n\n");
        assert!(follower.has_changed().unwrap());
        follower.mark_unchanged();
        for i in 0..(LINES + 5) {
            journal.write(&format!("line {i}\n"));
        }
        let lines = journal.lines();
        assert_eq!(lines.len(), LINES);
        assert_eq!(lines[0], "line 5", "the oldest went");
        journal.write(&"é".repeat(2000));
        assert!(journal.lines().last().unwrap().len() <= LINE_BYTES + 3);
        assert!(follower.has_changed().unwrap());
    }

    #[test]
    fn levels_of_both_formats() {
        assert_eq!(
            level("2026-12-07T05:16:29.532448Z  WARN portico_server::ble: x"),
            "warn"
        );
        assert_eq!(
            level("2026-12-07T05:16:29.532448Z ERROR portico_server: x"),
            "error"
        );
        assert_eq!(
            level("Sun Dec  6 10:00:00 2026 daemon.info dnsmasq[123]: started"),
            "info"
        );
        assert_eq!(
            level("Sun Dec  6 10:00:00 2026 kern.err kernel: oops"),
            "error"
        );
        assert_eq!(level("garbage"), "");
    }
}
