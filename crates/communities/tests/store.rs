//! The store against the real snapshot (checked by an independent computation in Python's
//! json module), every packing, broken files, and the equivalences the importer promises:
//! importing twice, or synthetic history through files versus straight into the store, ends
//! in the same store.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use communities::import::{Quiet, import, write_all};
use communities::prepare::prepare;
use communities::query::{NetworkMetric, Resolution};
use communities::source::{file_name, from_map};
use communities::sqlite::{Range, Reader, SqliteStore};
use communities::synth::{Options, Synth};

/// `PORTICO_SHARED`, else the `shared` folder beside the clone (walking up from here).
fn shared() -> PathBuf {
    if let Some(dir) = std::env::var_os("PORTICO_SHARED") {
        return PathBuf::from(dir);
    }
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .map(|dir| dir.join("../shared"))
        .find(|candidate| candidate.join("fixtures").exists())
        .expect("shared folder not found: set PORTICO_SHARED")
}

fn fixture() -> PathBuf {
    shared().join("fixtures/freifunk/20160323-19.01.01-ffSummarizedDir.json")
}

/// Top-10 by nodes and totals, computed by Python from the file alone.
fn python_answer() -> serde_json::Value {
    let script = r"
import json, sys
d = json.load(open(sys.argv[1]))
def nodes(v):
    n = v.get('state', {}).get('nodes') if isinstance(v.get('state'), dict) else None
    return n if isinstance(n, int) and not isinstance(n, bool) and n >= 0 else None
fresh = {k: v for k, v in d.items() if isinstance(v, dict) and 'etime' not in v and 'error' not in v}
ranked = sorted(((nodes(v), k) for k, v in d.items() if isinstance(v, dict) and nodes(v) is not None), key=lambda p: (-p[0], p[1]))
print(json.dumps({
    'top': [[k, d[k].get('name', k), n] for n, k in ranked[:10]],
    'nodes': sum(nodes(v) or 0 for v in fresh.values()),
    'communities': len(fresh),
    'entries': sum(1 for v in d.values() if isinstance(v, dict)),
}))
";
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(fixture())
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn the_real_snapshot_gives_the_top_ten_and_totals_python_computes() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = SqliteStore::open(dir.path()).unwrap();
    let report = import(&mut store, &[fixture()], 2, &Quiet).unwrap();
    assert_eq!((report.imported, report.broken.len()), (1, 0));
    let expected = python_answer();
    let reader = Reader::open(dir.path()).unwrap();
    let top = reader.top(i64::MAX, 10).unwrap().unwrap();
    assert_eq!(top.snapshot, 1_458_759_661);
    let got: Vec<serde_json::Value> = top
        .communities
        .iter()
        .map(|c| serde_json::json!([c.key, c.name, c.nodes]))
        .collect();
    assert_eq!(serde_json::Value::Array(got), expected["top"]);
    let nodes = reader
        .network_series(NetworkMetric::Nodes, Range::ALL, Resolution::Month)
        .unwrap();
    assert_eq!(nodes.points.len(), 1);
    assert_eq!(nodes.points[0].value, expected["nodes"].as_f64());
    let communities = reader
        .network_series(NetworkMetric::Communities, Range::ALL, Resolution::Day)
        .unwrap();
    assert_eq!(
        communities.points[0].value,
        expected["communities"].as_f64()
    );
    assert_eq!(
        reader.extent().unwrap().community_snapshots,
        expected["entries"].as_i64().unwrap()
    );
    // Every entry comes back exactly as published, unknown fields and all.
    let file: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&std::fs::read(fixture()).unwrap()).unwrap();
    for (key, entry) in &file {
        let detail = reader
            .community(key)
            .unwrap()
            .unwrap_or_else(|| panic!("{key} missing"));
        assert_eq!(&detail.latest, entry, "{key}");
    }
    // Routing: the file's 221 batman-adv communities, with their fixed colour first.
    let routing = reader.routing_series(Range::ALL, Resolution::Day).unwrap();
    assert_eq!(routing.protocols[0].protocol, "batman-adv");
    assert_eq!(routing.protocols[0].values, [221.0]);
    assert_eq!(
        routing.protocols[0].color,
        communities::colors::color("batman-adv")
    );
}

#[test]
fn importing_again_changes_nothing_and_every_packing_reads_the_same() {
    let data = std::fs::read(fixture()).unwrap();
    let files = tempfile::tempdir().unwrap();
    // The same snapshot as .json.gz and inside a .json.tar.gz, at other times.
    let gz_path = files
        .path()
        .join("20160324-19.01.01-ffSummarizedDir.json.gz");
    let mut gz = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz_path).unwrap(),
        flate2::Compression::fast(),
    );
    gz.write_all(&data).unwrap();
    gz.finish().unwrap();
    let tar_path = files
        .path()
        .join("20160325-19.01.01-ffSummarizedDir.json.tar.gz");
    let mut tar = tar::Builder::new(flate2::write::GzEncoder::new(
        std::fs::File::create(&tar_path).unwrap(),
        flate2::Compression::fast(),
    ));
    let mut header = tar::Header::new_gnu();
    header.set_size(data.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    tar.append_data(
        &mut header,
        "20160325-19.01.01-ffSummarizedDir.json",
        &data[..],
    )
    .unwrap();
    tar.into_inner().unwrap().finish().unwrap();
    std::fs::copy(
        fixture(),
        files.path().join("20160323-19.01.01-ffSummarizedDir.json"),
    )
    .unwrap();
    std::fs::write(
        files.path().join("20160326-19.01.01-ffSummarizedDir.json"),
        b"{\"a\": {\"name\": ",
    )
    .unwrap();
    std::fs::write(files.path().join("notes.txt"), b"not a snapshot").unwrap();

    let dir = tempfile::tempdir().unwrap();
    let mut store = SqliteStore::open(dir.path()).unwrap();
    let first = import(&mut store, &[files.path().to_owned()], 2, &Quiet).unwrap();
    assert_eq!((first.files, first.imported), (4, 3));
    assert_eq!(first.broken.len(), 1);
    assert!(
        first.broken[0]
            .path
            .ends_with("20160326-19.01.01-ffSummarizedDir.json")
    );
    assert!(
        first.broken[0].reason.contains("line 1"),
        "{}",
        first.broken[0].reason
    );
    assert_eq!(first.passed.len(), 1);
    let reader = Reader::open(dir.path()).unwrap();
    let before = reader.digest().unwrap();
    let day = reader
        .network_series(NetworkMetric::Nodes, Range::ALL, Resolution::Day)
        .unwrap();
    assert_eq!(day.points.len(), 3);
    assert!(
        day.points.windows(2).all(|w| w[0].value == w[1].value),
        "three packings, one content"
    );

    let again = import(&mut store, &[files.path().to_owned()], 2, &Quiet).unwrap();
    assert_eq!((again.imported, again.already_present), (0, 3));
    assert_eq!(reader.digest().unwrap(), before);
}

fn synth() -> Synth {
    let base: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&std::fs::read(fixture()).unwrap()).unwrap();
    Synth::new(
        &base,
        Options {
            years: 1,
            hourly: false,
            seed: 42,
            communities: 320,
            start: 1_420_070_400,
        },
    )
}

#[test]
fn synthetic_history_through_files_equals_history_written_straight_into_the_store() {
    let synth = synth();
    assert_eq!(synth.len(), 365);
    let files = tempfile::tempdir().unwrap();
    for i in 0..synth.len() {
        let path = files.path().join(file_name(synth.ts(i)));
        std::fs::write(path, serde_json::to_vec(&synth.snapshot(i)).unwrap()).unwrap();
    }
    let via_files = tempfile::tempdir().unwrap();
    let mut store = SqliteStore::open(via_files.path()).unwrap();
    let report = import(&mut store, &[files.path().to_owned()], 2, &Quiet).unwrap();
    assert_eq!(report.imported, 365);

    let direct = tempfile::tempdir().unwrap();
    let mut store = SqliteStore::open(direct.path()).unwrap();
    // In reverse, to show that order does not matter.
    let snapshots = (0..synth.len()).rev().map(|i| {
        let ts = synth.ts(i);
        prepare(from_map(synth.snapshot(i), &file_name(ts), Some(ts)).unwrap())
    });
    write_all(&mut store, snapshots, &Quiet).unwrap();
    let (a, b) = (
        Reader::open(via_files.path()).unwrap(),
        Reader::open(direct.path()).unwrap(),
    );
    assert_eq!(a.digest().unwrap(), b.digest().unwrap());

    // The history looks like one: communities appear over the year, some fail to fetch, the
    // 0.3.0 schema's string routing is read, and the network grows.
    let communities = a
        .network_series(NetworkMetric::Communities, Range::ALL, Resolution::Month)
        .unwrap();
    let first = communities.points.first().unwrap().value.unwrap();
    let last = communities.points.last().unwrap().value.unwrap();
    assert!(last > first, "communities appear: {first} → {last}");
    let stale = a
        .network_series(
            NetworkMetric::StaleCommunities,
            Range::ALL,
            Resolution::Month,
        )
        .unwrap();
    assert!(
        stale.points.iter().any(|p| p.value > Some(0.0)),
        "some fetches fail"
    );
    let routing = a.routing_series(Range::ALL, Resolution::Month).unwrap();
    assert_eq!(routing.protocols[0].protocol, "batman-adv");
    assert!(
        routing
            .protocols
            .iter()
            .all(|p| p.protocol == p.protocol.to_lowercase())
    );
}

#[test]
fn synthetic_history_is_the_same_for_a_seed() {
    let (a, b) = (synth(), synth());
    for i in [0, 100, 364] {
        assert_eq!(a.snapshot(i), b.snapshot(i));
    }
}
