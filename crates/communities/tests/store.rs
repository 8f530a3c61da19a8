//! The stores against the real snapshot (checked by an independent computation in Python's
//! json module), every packing, broken files, and the equivalences the importer promises:
//! importing twice, or synthetic history through files versus straight into the store, ends
//! in the same store.
//!
//! One suite for both stores: every test runs against SQLite, and against MongoDB when
//! `PORTICO_TEST_MONGODB_URI` names a server (a replica set, MongoDB 7.0 or later; each test
//! uses a database of its own and drops it). Without it the MongoDB half says it was skipped:
//! no server can be installed here, and nothing stands in for one.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use communities::import::{Quiet, import, write_all};
use communities::prepare::prepare;
use communities::query::{NetworkMetric, Resolution};
use communities::source::{file_name, from_map};
use communities::sqlite::{Reader, SqliteStore};
use communities::store::{Range, Read, Sink};
use communities::synth::{Options, Synth};
use testdata::shared;

/// Says so past the test harness's capture (written to stderr itself, not with `eprintln!`).
fn skipped(test: &str, why: &str) {
    let _ = writeln!(std::io::stderr(), "{test}: MongoDB half skipped: {why}");
}

/// One test's store: SQLite in a temporary directory, or a MongoDB database of its own.
enum TestStore {
    Sqlite(tempfile::TempDir),
    #[cfg(feature = "mongodb")]
    Mongo {
        uri: String,
        database: String,
    },
}

impl TestStore {
    /// SQLite, and MongoDB when the environment names a server.
    fn all(test: &str) -> Vec<TestStore> {
        #[cfg_attr(
            not(feature = "mongodb"),
            allow(unused_mut, reason = "MongoDB joins with the feature")
        )]
        let mut stores = vec![TestStore::Sqlite(tempfile::tempdir().unwrap())];
        match std::env::var("PORTICO_TEST_MONGODB_URI") {
            #[cfg(feature = "mongodb")]
            Ok(uri) => {
                let database = format!("portico_test_{test}_{}", std::process::id());
                let database: String = database.chars().take(60).collect();
                // Left over from an interrupted run: start empty.
                communities::mongo::MongoStore::open_database(&uri, Some(&database))
                    .unwrap()
                    .drop_database()
                    .unwrap();
                stores.push(TestStore::Mongo { uri, database });
            }
            #[cfg(not(feature = "mongodb"))]
            Ok(_) => skipped(test, "built without the `mongodb` feature"),
            Err(_) => skipped(test, "PORTICO_TEST_MONGODB_URI is not set (no server here)"),
        }
        stores
    }

    fn name(&self) -> &'static str {
        match self {
            TestStore::Sqlite(_) => "SQLite",
            #[cfg(feature = "mongodb")]
            TestStore::Mongo { .. } => "MongoDB",
        }
    }

    fn sink(&self) -> Box<dyn Sink> {
        match self {
            TestStore::Sqlite(dir) => Box::new(SqliteStore::open(dir.path()).unwrap()),
            #[cfg(feature = "mongodb")]
            TestStore::Mongo { uri, database } => Box::new(
                communities::mongo::MongoStore::open_database(uri, Some(database)).unwrap(),
            ),
        }
    }

    fn reader(&self) -> Box<dyn Read> {
        match self {
            TestStore::Sqlite(dir) => Box::new(Reader::open(dir.path()).unwrap()),
            #[cfg(feature = "mongodb")]
            TestStore::Mongo { uri, database } => Box::new(
                communities::mongo::MongoStore::open_database(uri, Some(database)).unwrap(),
            ),
        }
    }
}

#[cfg(feature = "mongodb")]
impl Drop for TestStore {
    fn drop(&mut self) {
        if let TestStore::Mongo { uri, database } = self
            && let Ok(store) = communities::mongo::MongoStore::open_database(uri, Some(database))
        {
            let _ = store.drop_database();
        }
    }
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
    let expected = python_answer();
    for store in TestStore::all("real_snapshot") {
        real_snapshot(&store, &expected);
    }
}

fn real_snapshot(store: &TestStore, expected: &serde_json::Value) {
    let name = store.name();
    let report = import(store.sink().as_mut(), &[fixture()], 2, &Quiet).unwrap();
    assert_eq!((report.imported, report.broken.len()), (1, 0), "{name}");
    let reader = store.reader();
    let top = reader.top(i64::MAX, 10).unwrap().unwrap();
    assert_eq!(top.snapshot, 1_458_759_661);
    let got: Vec<serde_json::Value> = top
        .communities
        .iter()
        .map(|c| serde_json::json!([c.key, c.name, c.nodes]))
        .collect();
    assert_eq!(serde_json::Value::Array(got), expected["top"], "{name}");
    let nodes = reader
        .network_series(NetworkMetric::Nodes, Range::ALL, Resolution::Month)
        .unwrap();
    assert_eq!(nodes.points.len(), 1);
    assert_eq!(nodes.points[0].value, expected["nodes"].as_f64(), "{name}");
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
        assert_eq!(&detail.latest, entry, "{name}: {key}");
    }
    // Routing: the file's 221 batman-adv communities, with their fixed colour first.
    let routing = reader.routing_series(Range::ALL, Resolution::Day).unwrap();
    assert_eq!(routing.protocols[0].protocol, "batman-adv");
    assert_eq!(routing.protocols[0].values, [221.0], "{name}");
    assert_eq!(
        routing.protocols[0].color,
        communities::colors::known("batman-adv").unwrap()
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

    for store in TestStore::all("packings") {
        import_twice(&store, files.path());
    }
}

fn import_twice(store: &TestStore, files: &Path) {
    let mut sink = store.sink();
    let first = import(sink.as_mut(), &[files.to_owned()], 2, &Quiet).unwrap();
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
    let reader = store.reader();
    let before = reader.digest().unwrap();
    let day = reader
        .network_series(NetworkMetric::Nodes, Range::ALL, Resolution::Day)
        .unwrap();
    assert_eq!(day.points.len(), 3);
    assert!(
        day.points.windows(2).all(|w| w[0].value == w[1].value),
        "three packings, one content"
    );

    let again = import(sink.as_mut(), &[files.to_owned()], 2, &Quiet).unwrap();
    assert_eq!((again.imported, again.already_present), (0, 3));
    assert_eq!(reader.digest().unwrap(), before);
}

/// Issue 22, item 1: a community that reports its count now and then (hamburg, in the
/// 2016 snapshots) keeps its latest known count with the snapshot it is from, although its
/// latest entry has none.
#[test]
fn the_latest_known_count_survives_snapshots_without_one() {
    let files = tempfile::tempdir().unwrap();
    for (name, state) in [
        ("20160320-10.00.00", r#"{"nodes": 586}"#),
        ("20160321-10.00.00", r#"{"nodes": 962}"#),
        ("20160322-10.00.00", r#"{"focus": ["Public Free Wifi"]}"#),
    ] {
        let mtime = format!(
            "{}-{}-{} {}:00:00",
            &name[..4],
            &name[4..6],
            &name[6..8],
            &name[9..11]
        );
        std::fs::write(
            files.path().join(format!("{name}-ffSummarizedDir.json")),
            format!(r#"{{"hamburg": {{"name": "Freifunk Hamburg", "mtime": "{mtime}", "state": {state}}}}}"#),
        )
        .unwrap();
    }
    for store in TestStore::all("last_count") {
        let mut sink = store.sink();
        let summary = import(sink.as_mut(), &[files.path().to_owned()], 1, &Quiet).unwrap();
        assert_eq!(summary.imported, 3, "{}", store.name());
        let detail = store.reader().community("hamburg").unwrap().unwrap();
        assert_eq!(detail.summary.nodes, None, "the latest entry has no count");
        assert_eq!(
            detail.last_count,
            Some(communities::query::LastCount {
                at: 1_458_554_400,
                nodes: 962
            }),
            "{}",
            store.name()
        );
    }
}

/// Issue 22, item 4: a point says how much of its data was carried forward — the share of
/// the network's nodes, and of one community's snapshots — not merely that some was.
#[test]
fn points_say_how_much_was_carried_forward() {
    let files = tempfile::tempdir().unwrap();
    // One day: Hamburg fresh (900 nodes) both times; Kiel (100 nodes) carried forward once.
    for (name, kiel) in [
        ("20160320-10.00.00", r#""state": {"nodes": 100}"#),
        (
            "20160320-11.00.00",
            r#""state": {"nodes": 100}, "etime": "2016-03-20 10:00:00", "error": "timeout""#,
        ),
    ] {
        let mtime = format!("2016-03-20 {}:00:00", &name[9..11]);
        std::fs::write(
            files.path().join(format!("{name}-ffSummarizedDir.json")),
            format!(
                r#"{{"hamburg": {{"name": "Hamburg", "mtime": "{mtime}", "state": {{"nodes": 900}}}},
                    "kiel": {{"name": "Kiel", "mtime": "{mtime}", {kiel}}}}}"#
            ),
        )
        .unwrap();
    }
    for store in TestStore::all("stale_share") {
        let mut sink = store.sink();
        import(sink.as_mut(), &[files.path().to_owned()], 1, &Quiet).unwrap();
        let reader = store.reader();
        let network = reader
            .network_series(NetworkMetric::Nodes, Range::ALL, Resolution::Day)
            .unwrap();
        let day = network.points[0];
        // 2 000 nodes reported over the day, 100 of them carried forward.
        assert!(
            (day.stale_share - 0.05).abs() < 1e-9,
            "{}: {day:?}",
            store.name()
        );
        let kiel = reader
            .community_series("kiel", Range::ALL, Resolution::Day)
            .unwrap()
            .unwrap();
        assert!(
            (kiel.points[0].stale_share - 0.5).abs() < 1e-9,
            "{}: {kiel:?}",
            store.name()
        );
        let hours = reader
            .community_series("kiel", Range::ALL, Resolution::Hour)
            .unwrap()
            .unwrap();
        let shares: Vec<f64> = hours.points.iter().map(|p| p.stale_share).collect();
        assert_eq!(shares, [0.0, 1.0], "{}", store.name());
        // Issue 22, item 11: Kiel's API file is down since the 11:00 snapshot; Hamburg's is not.
        let summaries = reader.communities().unwrap();
        let down: Vec<(String, Option<i64>)> = summaries
            .iter()
            .map(|c| (c.key.clone(), reader.down_since(c).unwrap()))
            .collect();
        assert_eq!(
            down,
            [
                ("hamburg".to_owned(), None),
                ("kiel".to_owned(), Some(1_458_471_600)) // 2016-03-20 11:00
            ],
            "{}",
            store.name()
        );
    }
}

/// A fetch that has failed for longer than the first week looked at: the whole run is found.
#[test]
fn down_since_reaches_back_past_a_week() {
    let day = 86_400;
    let start = 1_458_000_000 / day * day;
    let snapshots = (0..30_i64).map(|d| {
        let ts = start + d * day + 3600;
        let mut entry = serde_json::json!({"name": "Kiel", "state": {"nodes": 10}});
        if d >= 5 {
            entry["error"] = "timeout".into();
            entry["etime"] = "2016-01-01 00:00:00".into();
        }
        let mut top = serde_json::Map::new();
        top.insert("kiel".into(), entry);
        prepare(from_map(top, &file_name(ts), Some(ts)).unwrap())
    });
    for store in TestStore::all("down_since") {
        write_all(store.sink().as_mut(), snapshots.clone(), &Quiet).unwrap();
        let reader = store.reader();
        let kiel = &reader.communities().unwrap()[0];
        assert_eq!(
            reader.down_since(kiel).unwrap(),
            Some(start + 5 * day + 3600),
            "{}",
            store.name()
        );
    }
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
    let via_files = TestStore::all("synth_files");
    let direct = TestStore::all("synth_direct");
    for (via_files, direct) in via_files.iter().zip(&direct) {
        synth_both_ways(&synth, files.path(), via_files, direct);
    }
    // Both stores answer every question the same way.
    if let [sqlite, mongo] = &via_files[..] {
        same_answers(sqlite.reader().as_ref(), mongo.reader().as_ref());
    }
}

fn same_answers(a: &dyn Read, b: &dyn Read) {
    let ranges = [
        Range::ALL,
        Range {
            from: 1_425_000_000,
            to: 1_426_000_000,
        },
    ];
    assert_eq!(a.span().unwrap(), b.span().unwrap());
    assert_eq!(a.extent().unwrap(), b.extent().unwrap());
    assert_eq!(a.communities().unwrap(), b.communities().unwrap());
    assert_eq!(
        a.top(1_430_000_000, 10).unwrap(),
        b.top(1_430_000_000, 10).unwrap()
    );
    for c in a.communities().unwrap().iter().step_by(40) {
        let key = c.key.as_str();
        assert_eq!(
            a.community(key).unwrap(),
            b.community(key).unwrap(),
            "{key}"
        );
        assert_eq!(
            a.entry_at(key, 1_430_000_000).unwrap(),
            b.entry_at(key, 1_430_000_000).unwrap()
        );
        for res in Resolution::ALL {
            for range in ranges {
                assert_eq!(
                    a.community_series(key, range, res).unwrap(),
                    b.community_series(key, range, res).unwrap()
                );
            }
        }
        assert_eq!(
            a.hours_of_day(Some(key), Range::ALL).unwrap(),
            b.hours_of_day(Some(key), Range::ALL).unwrap()
        );
        assert_eq!(
            a.weekdays(Some(key), Range::ALL).unwrap(),
            b.weekdays(Some(key), Range::ALL).unwrap()
        );
    }
    for res in Resolution::ALL {
        for range in ranges {
            for metric in NetworkMetric::ALL {
                assert_eq!(
                    a.network_series(metric, range, res).unwrap(),
                    b.network_series(metric, range, res).unwrap()
                );
            }
            assert_eq!(
                a.routing_series(range, res).unwrap(),
                b.routing_series(range, res).unwrap()
            );
        }
    }
    assert_eq!(
        a.hours_of_day(None, Range::ALL).unwrap(),
        b.hours_of_day(None, Range::ALL).unwrap()
    );
    assert_eq!(
        a.weekdays(None, Range::ALL).unwrap(),
        b.weekdays(None, Range::ALL).unwrap()
    );
}

fn synth_both_ways(synth: &Synth, files: &Path, via_files: &TestStore, direct: &TestStore) {
    let report = import(via_files.sink().as_mut(), &[files.to_owned()], 2, &Quiet).unwrap();
    assert_eq!(report.imported, 365);
    // In reverse, to show that order does not matter.
    let snapshots = (0..synth.len()).rev().map(|i| {
        let ts = synth.ts(i);
        prepare(from_map(synth.snapshot(i), &file_name(ts), Some(ts)).unwrap())
    });
    write_all(direct.sink().as_mut(), snapshots, &Quiet).unwrap();
    let (a, b) = (via_files.reader(), direct.reader());
    assert_eq!(
        a.digest().unwrap(),
        b.digest().unwrap(),
        "{}",
        via_files.name()
    );

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
    // One snapshot a day holds no rhythm of the day or the week: the profiles say so.
    for profile in [
        a.hours_of_day(None, Range::ALL).unwrap().unwrap(),
        a.weekdays(None, Range::ALL).unwrap().unwrap(),
    ] {
        assert!(!profile.has_data(), "{profile:?}");
        assert_eq!(profile.from, None);
    }
    let routing = a.routing_series(Range::ALL, Resolution::Month).unwrap();
    assert_eq!(routing.protocols[0].protocol, "batman-adv");
    assert!(
        routing
            .protocols
            .iter()
            .all(|p| p.protocol == p.protocol.to_lowercase())
    );
}

/// Issue 22, item 2: from five weeks of hourly history on a growing network, the profiles
/// show the rhythm synth puts in (the evening peak at 20:00 UTC, the weekend a little above
/// the working days) and not the growth, with the days and weeks behind them.
#[test]
fn profiles_show_the_rhythm_of_hourly_data_not_its_growth() {
    let base: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&std::fs::read(fixture()).unwrap()).unwrap();
    let synth = Synth::new(
        &base,
        Options {
            years: 1,
            hourly: true,
            seed: 7,
            communities: 60,
            ..Options::default()
        },
    );
    // Five weeks from Monday 2014-06-02 (the history starts on 2014-01-01).
    let monday = 1_401_667_200;
    let first = usize::try_from((monday - Options::default().start) / 3600).unwrap();
    for store in TestStore::all("profiles") {
        let snapshots = (first..first + 35 * 24).map(|i| {
            let ts = synth.ts(i);
            prepare(from_map(synth.snapshot(i), &file_name(ts), Some(ts)).unwrap())
        });
        write_all(store.sink().as_mut(), snapshots, &Quiet).unwrap();
        let reader = store.reader();
        let hours = reader.hours_of_day(None, Range::ALL).unwrap().unwrap();
        assert_eq!(hours.samples, vec![35; 24], "{}", store.name());
        assert_eq!(hours.from, Some(monday));
        assert_eq!(hours.to, Some(monday + 34 * 86_400));
        let v: Vec<f64> = hours.values.iter().map(|v| v.unwrap()).collect();
        let peak = (0..24).max_by(|a, b| v[*a].total_cmp(&v[*b])).unwrap();
        let low = (0..24).min_by(|a, b| v[*a].total_cmp(&v[*b])).unwrap();
        assert!(
            (19..=21).contains(&peak),
            "{}: peak at {peak}: {v:?}",
            store.name()
        );
        assert!(
            (7..=9).contains(&low),
            "{}: low at {low}: {v:?}",
            store.name()
        );
        assert!((v.iter().sum::<f64>() / 24.0 - 1.0).abs() < 0.01, "{v:?}");

        let weekdays = reader.weekdays(None, Range::ALL).unwrap().unwrap();
        assert_eq!(weekdays.samples, vec![5; 7], "{}", store.name());
        assert_eq!(weekdays.counted, 5);
        let w: Vec<f64> = weekdays.values.iter().map(|v| v.unwrap()).collect();
        let working = w[..5].iter().copied().fold(0.0, f64::max);
        assert!(w[5].min(w[6]) > working, "{}: {w:?}", store.name());
        // A fortnight in the middle: the weeks in it, and days at its edges are whole days.
        let fortnight = Range {
            from: monday + 14 * 86_400,
            to: monday + 28 * 86_400 - 1,
        };
        let part = reader.weekdays(None, fortnight).unwrap().unwrap();
        assert_eq!(part.samples, vec![2; 7]);
        assert!(!part.has_data(), "2 weeks are too few to show");
        // The largest community on its own, and one the store does not know.
        let top = reader.top(i64::MAX, 1).unwrap().unwrap();
        let key = top.communities[0].key.as_str();
        let own = reader.hours_of_day(Some(key), Range::ALL).unwrap().unwrap();
        assert_eq!(own.community.as_deref(), Some(key));
        assert!(own.samples.iter().all(|n| *n > 0), "{own:?}");
        assert_eq!(reader.weekdays(Some("nowhere"), Range::ALL).unwrap(), None);
    }
}

#[test]
fn synthetic_history_is_the_same_for_a_seed() {
    let (a, b) = (synth(), synth());
    for i in [0, 100, 364] {
        assert_eq!(a.snapshot(i), b.snapshot(i));
    }
}
