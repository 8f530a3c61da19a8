//! Who made a device, from its MAC address's OUI: the IEEE's MA-L registry as Debian's
//! `ieee-data` ships it (`oui.csv`: `Registry,Assignment,Organization Name,...`). The table
//! (3 MB) is never held in memory: it is scanned once for the OUIs not looked up before, and
//! the answers are cached (bounded).

use std::collections::HashMap;
use std::path::PathBuf;

/// The most OUIs remembered (devices on a LAN share few vendors).
const CACHE_LIMIT: usize = 4096;

/// Vendor names by OUI, looked up in the table at `path`.
pub struct Vendors {
    path: Option<PathBuf>,
    known: HashMap<[u8; 3], Option<String>>,
}

/// A MAC address's first three bytes (`None` for text that is no MAC address).
pub fn oui(mac: &str) -> Option<[u8; 3]> {
    let mut bytes = mac
        .split([':', '-'])
        .map(|b| u8::from_str_radix(b, 16).ok());
    Some([bytes.next()??, bytes.next()??, bytes.next()??])
}

/// A locally administered address (set by software, e.g. a phone's private Wi-Fi address):
/// no manufacturer registered it.
pub fn is_private(mac: &str) -> bool {
    oui(mac).is_some_and(|o| o[0] & 0x02 != 0)
}

impl Vendors {
    pub fn new(path: Option<PathBuf>) -> Vendors {
        Vendors {
            path,
            known: HashMap::new(),
        }
    }

    /// Looks up the vendors of `macs` not known yet (one pass over the table for all of them).
    pub fn learn<'a>(&mut self, macs: impl IntoIterator<Item = &'a str>) {
        let mut wanted: Vec<[u8; 3]> = macs
            .into_iter()
            .filter(|m| !is_private(m))
            .filter_map(oui)
            .filter(|o| !self.known.contains_key(o))
            .collect();
        wanted.sort_unstable();
        wanted.dedup();
        if wanted.is_empty() {
            return;
        }
        if self.known.len() + wanted.len() > CACHE_LIMIT {
            self.known.clear();
        }
        let mut found = self.scan(&wanted);
        for o in wanted {
            let name = found.remove(&o);
            self.known.insert(o, name);
        }
    }

    /// The vendor of `mac`, when [`Vendors::learn`] found it.
    pub fn of(&self, mac: &str) -> Option<String> {
        self.known.get(&oui(mac)?).cloned().flatten()
    }

    fn scan(&self, wanted: &[[u8; 3]]) -> HashMap<[u8; 3], String> {
        let mut found = HashMap::new();
        let Some(file) = self.path.as_ref().and_then(|p| std::fs::File::open(p).ok()) else {
            return found;
        };
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .from_reader(std::io::BufReader::new(file));
        let mut record = csv::StringRecord::new();
        while found.len() < wanted.len() && reader.read_record(&mut record).unwrap_or(false) {
            let (Some("MA-L"), Some(assignment), Some(name)) =
                (record.get(0), record.get(1), record.get(2))
            else {
                continue;
            };
            let Some(key) = u32::from_str_radix(assignment, 16)
                .ok()
                .filter(|_| assignment.len() == 6)
                .map(|v| {
                    let [_, a, b, c] = v.to_be_bytes();
                    [a, b, c]
                })
            else {
                continue;
            };
            if wanted.binary_search(&key).is_ok() {
                let name: String = name.trim().chars().take(80).collect();
                found.insert(key, name);
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Debian's `ieee-data` table (the test setup installs it).
    const TABLE: &str = "/usr/share/ieee-data/oui.csv";

    #[test]
    fn vendors_come_from_the_ieee_table() {
        assert!(
            std::path::Path::new(TABLE).exists(),
            "ieee-data is installed by the setup"
        );
        let mut vendors = Vendors::new(Some(TABLE.into()));
        let macs = [
            "00:d0:ef:12:34:56",
            "00:22:72:00:00:01",
            "ff:ff:ff:00:00:00",
            "02:00:00:00:00:01",
        ];
        vendors.learn(macs);
        assert_eq!(vendors.of("00:d0:ef:12:34:56").as_deref(), Some("IGT"));
        assert_eq!(
            vendors.of("00:22:72:aa:bb:cc").as_deref(),
            Some("American Micro-Fuel Device Corp.")
        );
        assert_eq!(vendors.of("ff:ff:ff:00:00:00"), None, "not registered");
        assert_eq!(vendors.of("02:00:00:00:00:01"), None, "private");
        assert!(is_private("02:00:00:00:00:01") && !is_private("00:d0:ef:12:34:56"));
    }

    #[test]
    fn a_missing_or_garbled_table_knows_nobody() {
        let mut none = Vendors::new(None);
        none.learn(["00:d0:ef:12:34:56"]);
        assert_eq!(none.of("00:d0:ef:12:34:56"), None);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("oui.csv");
        std::fs::write(
            &path,
            "Registry,Assignment\nMA-L,00D0EF\nMA-L,XYZXYZ,Bad\nMA-L,0022720,Too long\n\u{0}\u{1}garbage\nMA-L,00D0EF,\"Quoted, Inc.\",addr\n",
        )
        .unwrap();
        let mut garbled = Vendors::new(Some(path));
        garbled.learn(["00:d0:ef:00:00:01", "00:22:72:00:00:01", "not a mac"]);
        assert_eq!(
            garbled.of("00:d0:ef:00:00:01").as_deref(),
            Some("Quoted, Inc.")
        );
        assert_eq!(
            garbled.of("00:22:72:00:00:01"),
            None,
            "a seven-digit assignment is no OUI"
        );
    }
}
