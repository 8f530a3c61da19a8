//! One anti-entropy round between two members, over an authenticated channel:
//!
//! 1. both send a hello: their wall clock and the digest of their whole voucher store; equal
//!    digests end the round (the usual case: a few hundred bytes);
//! 2. the initiator sends every voucher's digest (code and 8 bytes);
//! 3. the responder answers with the replicas the initiator lacks or holds differently, and
//!    the codes it wants in turn;
//! 4. the initiator sends those. Each side merges what it received (`Vouchers::merge`), so
//!    after one round both hold the same.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::wire::{self, Channel};
use crate::portal::vouchers::replica::{NodeId, Replicas};
use crate::portal::vouchers::{self, Digest, Vouchers};

/// Protocol version in the hello (a node refuses another version, and says so).
const VERSION: u8 = 1;

#[derive(Debug, Serialize, Deserialize)]
struct Hello {
    version: u8,
    /// The node's name for people (its host name).
    name: String,
    now_ms: u64,
    root: [u8; 32],
    vouchers: u32,
}

#[derive(Debug, Serialize, Deserialize)]
struct Reply {
    entries: Replicas,
    want: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Wire(#[from] wire::Error),
    #[error("voucher store: {0}")]
    Store(#[from] vouchers::Error),
    #[error("the peer speaks mesh protocol version {0}, this node {VERSION}")]
    Version(u8),
}

impl Error {
    /// What kind of failure, for the admin page (`member`, `unreachable`, `timeout`,
    /// `version`, `other`).
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Error::Wire(wire::Error::NotMember) => "member",
            Error::Wire(wire::Error::Io(_)) => "unreachable",
            Error::Wire(wire::Error::Timeout) => "timeout",
            Error::Version(_) => "version",
            _ => "other",
        }
    }
}

/// What a round did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    pub peer: NodeId,
    /// The peer's name (its host name, as it says; at most 64 characters kept).
    pub name: String,
    /// Both stores were the same at the hello.
    pub already_in_sync: bool,
    /// Codes whose state changed here.
    pub changed: Vec<String>,
    /// Replicas from the peer this node could not hold.
    pub skipped: usize,
    /// Replicas sent to the peer.
    pub sent_entries: usize,
    /// The peer's wall clock minus this node's at the hello (milliseconds; includes half a
    /// round trip).
    pub skew_ms: i64,
    /// Bytes on the wire, both directions, handshake excluded.
    pub sent: u64,
    pub received: u64,
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn hello(digests: &BTreeMap<String, Digest>, name: &str) -> Hello {
    Hello {
        version: VERSION,
        name: name.to_owned(),
        now_ms: now_ms(),
        root: vouchers::root(digests),
        vouchers: u32::try_from(digests.len()).unwrap_or(u32::MAX),
    }
}

/// Their hello against ours: the outcome so far (clock skew, whether equal).
fn compare(ch: &Channel, ours: &Hello, theirs: &Hello) -> Result<Outcome, Error> {
    if theirs.version != VERSION {
        return Err(Error::Version(theirs.version));
    }
    let skew = i128::from(theirs.now_ms) - i128::from(now_ms());
    Ok(Outcome {
        peer: ch.peer,
        name: theirs
            .name
            .chars()
            .filter(|c| !c.is_control())
            .take(64)
            .collect(),
        already_in_sync: ours.root == theirs.root,
        skew_ms: i64::try_from(skew).unwrap_or(i64::MAX),
        ..Outcome::default()
    })
}

fn finish(ch: &Channel, mut outcome: Outcome) -> Outcome {
    outcome.sent = ch.sent;
    outcome.received = ch.received;
    outcome
}

/// The initiator's side of a round.
///
/// # Errors
/// The channel failed, the peer speaks another version, or the store failed.
pub async fn initiate(ch: &mut Channel, store: &Vouchers, name: &str) -> Result<Outcome, Error> {
    let digests = store.digests()?;
    let ours = hello(&digests, name);
    ch.send(&ours).await?;
    let theirs: Hello = ch.recv().await?;
    let mut outcome = compare(ch, &ours, &theirs)?;
    if outcome.already_in_sync {
        return Ok(finish(ch, outcome));
    }
    let list: Vec<(&String, &Digest)> = digests.iter().collect();
    ch.send(&list).await?;
    let reply: Reply = ch.recv().await?;
    (outcome.changed, outcome.skipped) = store.merge(&reply.entries, vouchers::now())?;
    let wanted = store.replicas_of(reply.want.iter().filter(|c| digests.contains_key(*c)))?;
    outcome.sent_entries = wanted.0.len();
    ch.send(&wanted).await?;
    Ok(finish(ch, outcome))
}

/// The responder's side of a round.
///
/// # Errors
/// The channel failed, the peer speaks another version, or the store failed.
pub async fn respond(ch: &mut Channel, store: &Vouchers, name: &str) -> Result<Outcome, Error> {
    let theirs: Hello = ch.recv().await?;
    let digests = store.digests()?;
    let ours = hello(&digests, name);
    ch.send(&ours).await?;
    let mut outcome = compare(ch, &ours, &theirs)?;
    if outcome.already_in_sync {
        return Ok(finish(ch, outcome));
    }
    let their_digests: BTreeMap<String, Digest> = ch
        .recv::<Vec<(String, Digest)>>()
        .await?
        .into_iter()
        .collect();
    let differs = |code: &String, digest: &Digest| their_digests.get(code) != Some(digest);
    let give: Vec<&String> = digests
        .iter()
        .filter(|(c, d)| differs(c, d))
        .map(|(c, _)| c)
        .collect();
    let want: Vec<String> = their_digests
        .iter()
        .filter(|(c, d)| digests.get(*c) != Some(*d))
        .map(|(c, _)| c.clone())
        .collect();
    let entries = store.replicas_of(give)?;
    outcome.sent_entries = entries.0.len();
    ch.send(&Reply { entries, want }).await?;
    let received: Replicas = ch.recv().await?;
    (outcome.changed, outcome.skipped) = store.merge(&received, vouchers::now())?;
    Ok(finish(ch, outcome))
}
