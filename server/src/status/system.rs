//! The machine's vital signs from procfs and sysfs: uptime, load, memory, storage,
//! temperatures. Each reader takes the file's text, so garbage in a file gives `None`, never
//! a wrong number; each file is read with a size bound.

use std::io::Read as _;
use std::path::Path;

use app::status::{Memory, Sensor, Storage};

/// Reads at most 64 KiB of a (proc or sys) file.
pub fn read_small(path: &Path) -> Option<String> {
    let mut text = String::new();
    std::fs::File::open(path)
        .ok()?
        .take(64 * 1024)
        .read_to_string(&mut text)
        .ok()?;
    Some(text)
}

/// Seconds since boot from `/proc/uptime` (`12345.67 23456.78`).
pub fn uptime(text: &str) -> Option<f64> {
    text.split_whitespace()
        .next()?
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0)
}

/// Load averages from `/proc/loadavg` (`0.52 0.58 0.59 1/467 12345`).
pub fn load(text: &str) -> Option<[f64; 3]> {
    let mut fields = text.split_whitespace().map(|f| f.parse::<f64>().ok());
    let mut next = || {
        fields
            .next()
            .flatten()
            .filter(|v| v.is_finite() && *v >= 0.0)
    };
    Some([next()?, next()?, next()?])
}

/// Total and available memory from `/proc/meminfo` (`MemTotal: 8039448 kB`).
pub fn memory(text: &str) -> Option<Memory> {
    let field = |name: &str| -> Option<u64> {
        let line = text.lines().find(|l| l.starts_with(name))?;
        let kib: u64 = line[name.len()..]
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()?;
        kib.checked_mul(1024)
    };
    let total = field("MemTotal:")?;
    let available = field("MemAvailable:")
        .or_else(|| field("MemFree:"))?
        .min(total);
    Some(Memory {
        total_bytes: total,
        available_bytes: available,
    })
}

/// Size and free space of the file system under `path`.
pub fn storage(path: &Path) -> Option<Storage> {
    let stat = nix::sys::statvfs::statvfs(path).ok()?;
    #[allow(
        clippy::useless_conversion,
        reason = "the sizes' width differs between targets"
    )]
    let (block, blocks, free) = (
        u64::from(stat.fragment_size()),
        u64::from(stat.blocks()),
        u64::from(stat.blocks_available()),
    );
    Some(Storage {
        total_bytes: blocks.saturating_mul(block),
        free_bytes: free.saturating_mul(block),
    })
}

/// The kernel's thermal zones under `dir` (`/sys/class/thermal`): each zone's `type` and
/// `temp` (millidegrees Celsius). Zones that do not read, or read implausibly, are left out.
pub fn temperatures(dir: &Path) -> Vec<Sensor> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut zones: Vec<_> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("thermal_zone"))
        .filter_map(|e| {
            let zone = e.path();
            let milli: i64 = read_small(&zone.join("temp"))?.trim().parse().ok()?;
            #[allow(clippy::cast_precision_loss, reason = "millidegrees, small")]
            let celsius = milli as f64 / 1000.0;
            let name = read_small(&zone.join("type")).map_or_else(
                || e.file_name().to_string_lossy().into_owned(),
                |t| t.trim().to_owned(),
            );
            (-60.0..=200.0)
                .contains(&celsius)
                .then_some(Sensor { name, celsius })
        })
        .collect();
    zones.sort_by(|a, b| a.name.cmp(&b.name));
    zones.truncate(8);
    zones
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_machines_proc_files_read() {
        let proc = |f: &str| read_small(Path::new(f)).unwrap();
        assert!(uptime(&proc("/proc/uptime")).unwrap() > 0.0);
        assert!(load(&proc("/proc/loadavg")).is_some());
        let m = memory(&proc("/proc/meminfo")).unwrap();
        assert!(m.total_bytes > 0 && m.available_bytes <= m.total_bytes);
        let s = storage(Path::new("/")).unwrap();
        assert!(s.total_bytes > 0 && s.free_bytes <= s.total_bytes);
    }

    #[test]
    fn garbage_reads_as_unknown() {
        assert_eq!(uptime(""), None);
        assert_eq!(uptime("-5 3"), None);
        assert_eq!(uptime("nan 1"), None);
        assert_eq!(load("0.5 0.4"), None);
        assert_eq!(load("0.5 x 0.3 1/2 3"), None);
        assert_eq!(load("0.52 0.58 0.59 1/467 12345"), Some([0.52, 0.58, 0.59]));
        assert_eq!(memory("MemFree: 10 kB\n"), None, "no total");
        // An old kernel without MemAvailable: free memory stands in.
        assert_eq!(
            memory("MemTotal: 100 kB\nMemFree: 40 kB\n"),
            Some(Memory {
                total_bytes: 102_400,
                available_bytes: 40_960
            })
        );
        assert_eq!(memory("MemTotal: 99999999999999999999 kB\n"), None);
        assert_eq!(storage(Path::new("/nonexistent/portico")), None);
    }

    #[test]
    fn thermal_zones_are_named_and_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let zone = |n: &str, kind: &str, temp: &str| {
            let z = dir.path().join(n);
            std::fs::create_dir(&z).unwrap();
            std::fs::write(z.join("type"), kind).unwrap();
            std::fs::write(z.join("temp"), temp).unwrap();
        };
        zone("thermal_zone0", "cpu-thermal\n", "48312\n");
        zone("thermal_zone1", "broken\n", "not a number\n");
        zone("thermal_zone2", "absurd\n", "900000\n");
        std::fs::create_dir(dir.path().join("cooling_device0")).unwrap();
        let found = temperatures(dir.path());
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].name, "cpu-thermal");
        assert!((found[0].celsius - 48.312).abs() < 1e-9);
    }
}
