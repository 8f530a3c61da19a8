//! Firmware images as OpenWrt's sysupgrade takes them: the image's metadata (fwtool's chunks at
//! its end: data, then a 16-byte trailer `FWx0`, CRC-32 of everything before it, type, size;
//! the metadata chunk is JSON with the version and the boards it supports, a signature chunk
//! may follow it) is read and checked against this router's board before anything is flashed.
//! The upload is streamed to a file with a size bound; nothing else is kept in memory.

use std::io::{Read as _, Seek as _, SeekFrom};
use std::path::Path;

/// The largest image taken (sysupgrade images of routers are a few to a few tens of MiB).
pub const MAX_IMAGE: u64 = 64 * 1024 * 1024;
/// fwtool's limits: metadata and signature chunks are small.
const MAX_CHUNK: u64 = 32 * 1024;
const MAGIC: u32 = 0x4657_7830; // "FWx0"
const TRAILER: u64 = 16;
const TYPE_SIGNATURE: u8 = 0;
const TYPE_INFO: u8 = 1;

/// What an image says about itself.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Metadata {
    /// The release (`version.dist` and `version.version`, e.g. `OpenWrt 23.05.3`).
    pub version: String,
    /// The boards it is made for (`supported_devices`).
    pub devices: Vec<String>,
}

/// The check of an uploaded image.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Check {
    pub size: u64,
    /// `None`: the image carries no (valid) metadata: not a sysupgrade image of OpenWrt.
    pub metadata: Option<Metadata>,
    pub signed: bool,
}

/// CRC-32 as fwtool keeps it: the running value, not inverted at the end.
fn crc_state(file: &mut std::fs::File, len: u64) -> std::io::Result<u32> {
    file.seek(SeekFrom::Start(0))?;
    let mut hasher = crc32fast::Hasher::new();
    let mut left = len;
    let mut buf = vec![0u8; 64 * 1024];
    while left > 0 {
        let n = usize::try_from(left.min(buf.len() as u64)).unwrap_or(buf.len());
        file.read_exact(&mut buf[..n])?;
        hasher.update(&buf[..n]);
        left -= n as u64;
    }
    Ok(!hasher.finalize())
}

fn be32(bytes: &[u8]) -> u32 {
    u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])
}

/// Reads the chunks at the end of the image at `path`.
///
/// # Errors
/// When the file cannot be read.
pub fn check(path: &Path) -> std::io::Result<Check> {
    let mut file = std::fs::File::open(path)?;
    let size = file.metadata()?.len();
    let mut check = Check {
        size,
        ..Check::default()
    };
    let mut end = size;
    // A signature chunk, then the metadata chunk, at most.
    for _ in 0..2 {
        if end < TRAILER {
            break;
        }
        let mut trailer = [0u8; 16];
        file.seek(SeekFrom::Start(end - TRAILER))?;
        file.read_exact(&mut trailer)?;
        let (magic, crc, kind, chunk) = (
            be32(&trailer[0..4]),
            be32(&trailer[4..8]),
            trailer[8],
            u64::from(be32(&trailer[12..16])),
        );
        if magic != MAGIC || !(TRAILER..=MAX_CHUNK + TRAILER).contains(&chunk) || chunk > end {
            break;
        }
        if crc_state(&mut file, end - TRAILER)? != crc {
            break;
        }
        let data_len = chunk - TRAILER;
        let start = end - chunk;
        let mut data = vec![0u8; usize::try_from(data_len).unwrap_or(0)];
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(&mut data)?;
        end = start;
        match kind {
            TYPE_SIGNATURE => check.signed = true,
            TYPE_INFO => {
                // An 8-byte header (version 0, flags), then JSON.
                if data.len() >= 8 && data[..4] == [0, 0, 0, 0] {
                    check.metadata = metadata(&data[8..]);
                }
                break;
            }
            _ => break,
        }
    }
    Ok(check)
}

fn metadata(json: &[u8]) -> Option<Metadata> {
    let value: serde_json::Value = serde_json::from_slice(json).ok()?;
    let text = |v: &serde_json::Value| v.as_str().map(|s| s.chars().take(80).collect::<String>());
    let version = value.get("version");
    let version = [
        version.and_then(|v| v.get("dist")).and_then(text),
        version.and_then(|v| v.get("version")).and_then(text),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" ");
    let devices = value
        .get("supported_devices")?
        .as_array()?
        .iter()
        .filter_map(text)
        .take(64)
        .collect();
    Some(Metadata { version, devices })
}

/// Images made the way OpenWrt's build makes them, for tests.
#[cfg(test)]
pub mod tests {
    use super::*;

    /// An image as OpenWrt's build makes it: `firmware`, the metadata chunk, optionally a
    /// signature chunk (each with fwtool's trailer).
    ///
    /// # Panics
    /// When the metadata is larger than 4 GiB.
    pub fn image(firmware: &[u8], json: Option<&str>, signed: bool) -> Vec<u8> {
        let mut out = firmware.to_vec();
        let chunk = |out: &mut Vec<u8>, kind: u8, data: &[u8]| {
            out.extend_from_slice(data);
            let mut hasher = crc32fast::Hasher::new();
            hasher.update(out);
            let crc = !hasher.finalize();
            out.extend_from_slice(&MAGIC.to_be_bytes());
            out.extend_from_slice(&crc.to_be_bytes());
            out.extend_from_slice(&[kind, 0, 0, 0]);
            out.extend_from_slice(&u32::try_from(data.len() + 16).unwrap().to_be_bytes());
        };
        if let Some(json) = json {
            let mut data = vec![0u8; 8];
            data.extend_from_slice(json.as_bytes());
            chunk(&mut out, TYPE_INFO, &data);
        }
        if signed {
            chunk(
                &mut out,
                TYPE_SIGNATURE,
                b"untrusted comment: signed by key\nRWQ...\n",
            );
        }
        out
    }

    pub const JSON: &str = r#"{"metadata_version":"1.1","compat_version":"1.0","supported_devices":["glinet,gl-mt6000"],"version":{"dist":"OpenWrt","version":"23.05.3","revision":"r23809"}}"#;

    fn checked(bytes: &[u8]) -> Check {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("image.bin");
        std::fs::write(&path, bytes).unwrap();
        check(&path).unwrap()
    }

    #[test]
    fn metadata_and_signature_are_found() {
        let firmware = vec![0x5a; 200_000];
        let signed = checked(&image(&firmware, Some(JSON), true));
        let meta = signed.metadata.unwrap();
        assert_eq!(meta.version, "OpenWrt 23.05.3");
        assert_eq!(meta.devices, ["glinet,gl-mt6000"]);
        assert!(signed.signed);
        let plain = checked(&image(&firmware, Some(JSON), false));
        assert!(plain.metadata.is_some() && !plain.signed);
    }

    #[test]
    fn images_without_valid_metadata_say_so() {
        let firmware = vec![0x5a; 1000];
        assert_eq!(checked(&firmware).metadata, None, "a vendor image");
        let mut broken = image(&firmware, Some(JSON), false);
        broken[10] ^= 0xff;
        assert_eq!(checked(&broken).metadata, None, "a CRC that does not match");
        assert_eq!(
            checked(&image(&firmware, Some("not json"), false)).metadata,
            None
        );
        assert_eq!(checked(b"short").metadata, None);
    }
}
