//! A member-to-member channel: Noise `XXpsk3_25519_ChaChaPoly_BLAKE2s` over TCP, the community
//! key as the pre-shared key, each node's own x25519 key as its static key.
//!
//! On the wire every Noise message is a 2-byte length and the message; an application message
//! (postcard) is cut into chunks of at most [`CHUNK`] bytes, each starting with a byte saying
//! whether more follow. A message larger than [`MAX_MESSAGE`] is refused, and every read has a
//! deadline, so a peer cannot hold a node's memory or a connection slot for long.

use std::time::Duration;

use serde::{Serialize, de::DeserializeOwned};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use super::Key;
use crate::portal::vouchers::replica::NodeId;
use crate::state::Node;

const PATTERN: &str = "Noise_XXpsk3_25519_ChaChaPoly_BLAKE2s";
/// Plaintext bytes per Noise message (a Noise message is at most 65535 bytes with its tag).
const CHUNK: usize = 60_000;
/// Largest application message (about 60,000 vouchers' digests, or 20,000 replicas).
pub const MAX_MESSAGE: usize = 16 << 20;
/// How long any one read or write may take.
pub const DEADLINE: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("connection: {0}")]
    Io(#[from] std::io::Error),
    /// The handshake or a message did not authenticate: not a member of this community (or
    /// not Portico).
    #[error("not a member of this community (the handshake or a message did not authenticate)")]
    NotMember,
    #[error("the peer took longer than {DEADLINE:?}")]
    Timeout,
    #[error("the peer sent a message larger than {MAX_MESSAGE} bytes")]
    TooLarge,
    #[error("the peer sent a message this node cannot read")]
    Garbled,
    #[error("this node itself")]
    Myself,
}

/// The responder's first message: the handshake went through on its side.
#[derive(serde::Serialize, serde::Deserialize)]
struct Confirm;

/// An authenticated, encrypted channel to another member.
pub struct Channel {
    stream: TcpStream,
    noise: snow::TransportState,
    /// The peer's node id (from its static key).
    pub peer: NodeId,
    /// Bytes sent and received on the wire so far.
    pub sent: u64,
    pub received: u64,
}

async fn timed<T>(f: impl Future<Output = std::io::Result<T>>) -> Result<T, Error> {
    match tokio::time::timeout(DEADLINE, f).await {
        Ok(r) => Ok(r?),
        Err(_) => Err(Error::Timeout),
    }
}

async fn write_frame(stream: &mut TcpStream, frame: &[u8]) -> Result<(), Error> {
    let len = u16::try_from(frame.len()).map_err(|_| Error::TooLarge)?;
    let mut out = Vec::with_capacity(frame.len() + 2);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(frame);
    timed(stream.write_all(&out)).await
}

async fn read_frame(stream: &mut TcpStream) -> Result<Vec<u8>, Error> {
    let mut len = [0; 2];
    timed(stream.read_exact(&mut len)).await?;
    let mut frame = vec![0; usize::from(u16::from_be_bytes(len))];
    timed(stream.read_exact(&mut frame)).await?;
    Ok(frame)
}

/// Writes the handshake's next message.
async fn handshake_out(
    hs: &mut snow::HandshakeState,
    stream: &mut TcpStream,
    buf: &mut [u8],
) -> Result<(), Error> {
    let n = hs.write_message(&[], buf).map_err(|_| Error::NotMember)?;
    write_frame(stream, &buf[..n]).await
}

/// Reads the handshake's next message (one that does not authenticate: not a member).
async fn handshake_in(
    hs: &mut snow::HandshakeState,
    stream: &mut TcpStream,
    buf: &mut [u8],
) -> Result<(), Error> {
    let frame = read_frame(stream).await?;
    hs.read_message(&frame, buf)
        .map(|_| ())
        .map_err(|_| Error::NotMember)
}

fn builder<'a>(node: &'a Node, key: &'a Key) -> snow::Builder<'a> {
    snow::Builder::new(PATTERN.parse().expect("a valid Noise pattern"))
        .local_private_key(&node.secret)
        .expect("one private key")
        .psk(3, key)
        .expect("one pre-shared key")
}

fn node_id(public: &[u8]) -> NodeId {
    let mut key = [0; 32];
    if public.len() == 32 {
        key.copy_from_slice(public);
    }
    Node {
        secret: [0; 32],
        public: key,
    }
    .id()
}

impl Channel {
    /// The initiator's side of the handshake.
    ///
    /// # Errors
    /// The connection failed, or the peer is not a member.
    pub async fn connect(mut stream: TcpStream, node: &Node, key: &Key) -> Result<Channel, Error> {
        let mut hs = builder(node, key)
            .build_initiator()
            .map_err(|_| Error::NotMember)?;
        let mut buf = vec![0; 65_535];
        handshake_out(&mut hs, &mut stream, &mut buf).await?;
        handshake_in(&mut hs, &mut stream, &mut buf).await?;
        handshake_out(&mut hs, &mut stream, &mut buf).await?;
        let mut channel = Channel::finish(stream, hs, node)?;
        // The responder's first message proves it has the key too; a responder that does not
        // closes the connection instead.
        match channel.recv::<Confirm>().await {
            Ok(Confirm) => Ok(channel),
            Err(Error::Io(_) | Error::NotMember | Error::Garbled) => Err(Error::NotMember),
            Err(err) => Err(err),
        }
    }

    /// The responder's side of the handshake.
    ///
    /// # Errors
    /// The connection failed, or the peer is not a member.
    pub async fn accept(mut stream: TcpStream, node: &Node, key: &Key) -> Result<Channel, Error> {
        let mut hs = builder(node, key)
            .build_responder()
            .map_err(|_| Error::NotMember)?;
        let mut buf = vec![0; 65_535];
        handshake_in(&mut hs, &mut stream, &mut buf).await?;
        handshake_out(&mut hs, &mut stream, &mut buf).await?;
        handshake_in(&mut hs, &mut stream, &mut buf).await?;
        let mut channel = Channel::finish(stream, hs, node)?;
        channel.send(&Confirm).await?;
        Ok(channel)
    }

    fn finish(stream: TcpStream, hs: snow::HandshakeState, node: &Node) -> Result<Channel, Error> {
        let peer = node_id(hs.get_remote_static().ok_or(Error::NotMember)?);
        if peer == node.id() {
            return Err(Error::Myself);
        }
        Ok(Channel {
            stream,
            noise: hs.into_transport_mode().map_err(|_| Error::NotMember)?,
            peer,
            sent: 0,
            received: 0,
        })
    }

    /// Sends one message.
    ///
    /// # Errors
    /// The connection failed.
    pub async fn send<T: Serialize>(&mut self, message: &T) -> Result<(), Error> {
        let bytes = postcard::to_allocvec(message).map_err(|_| Error::Garbled)?;
        if bytes.len() > MAX_MESSAGE {
            return Err(Error::TooLarge);
        }
        let mut chunks = bytes.chunks(CHUNK).peekable();
        let mut buf = vec![0; CHUNK + 64];
        let mut plain = Vec::with_capacity(CHUNK + 1);
        loop {
            let chunk = chunks.next().unwrap_or_default();
            plain.clear();
            plain.push(u8::from(chunks.peek().is_some()));
            plain.extend_from_slice(chunk);
            let n = self
                .noise
                .write_message(&plain, &mut buf)
                .map_err(|_| Error::Garbled)?;
            write_frame(&mut self.stream, &buf[..n]).await?;
            self.sent += n as u64 + 2;
            if chunks.peek().is_none() {
                return Ok(());
            }
        }
    }

    /// Receives one message.
    ///
    /// # Errors
    /// The connection failed, the message did not authenticate, was too large or garbled.
    pub async fn recv<T: DeserializeOwned>(&mut self) -> Result<T, Error> {
        let mut bytes = Vec::new();
        let mut buf = vec![0; 65_535];
        loop {
            let frame = read_frame(&mut self.stream).await?;
            self.received += frame.len() as u64 + 2;
            let n = self
                .noise
                .read_message(&frame, &mut buf)
                .map_err(|_| Error::NotMember)?;
            let (&more, chunk) = buf[..n].split_first().ok_or(Error::Garbled)?;
            if bytes.len() + chunk.len() > MAX_MESSAGE {
                return Err(Error::TooLarge);
            }
            bytes.extend_from_slice(chunk);
            if more == 0 {
                return postcard::from_bytes(&bytes).map_err(|_| Error::Garbled);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(n: u8) -> Node {
        let secret = [n; 32];
        let public = x25519_dalek::PublicKey::from(&x25519_dalek::StaticSecret::from(secret));
        Node {
            secret,
            public: public.to_bytes(),
        }
    }

    async fn pair(key_a: Key, key_b: Key) -> (Result<Channel, Error>, Result<Channel, Error>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let accept = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            Channel::accept(stream, &node(2), &key_b).await
        });
        let stream = TcpStream::connect(addr).await.unwrap();
        let a = Channel::connect(stream, &node(1), &key_a).await;
        (a, accept.await.unwrap())
    }

    #[tokio::test]
    async fn members_talk_and_large_messages_cross_in_chunks() {
        let (a, b) = pair([7; 32], [7; 32]).await;
        let (mut a, mut b) = (a.unwrap(), b.unwrap());
        assert_eq!((a.peer, b.peer), (node(2).id(), node(1).id()));
        let big: Vec<String> = (0..50_000).map(|i| format!("voucher {i}")).collect();
        a.send(&big).await.unwrap();
        assert_eq!(b.recv::<Vec<String>>().await.unwrap(), big);
        b.send(&"thanks").await.unwrap();
        assert_eq!(a.recv::<String>().await.unwrap(), "thanks");
        assert!(a.sent > 500_000 && a.received > 0);
    }

    #[tokio::test]
    async fn another_community_key_does_not_get_through() {
        let (a, b) = pair([7; 32], [8; 32]).await;
        // The responder finds out at the handshake's last message, the initiator when no
        // confirmation comes.
        assert!(matches!(b, Err(Error::NotMember)), "{:?}", b.err());
        assert!(matches!(a, Err(Error::NotMember)), "{:?}", a.err());
    }
}
