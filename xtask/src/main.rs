//! Build orchestration: `cargo xtask build` compiles the app to WASM, runs wasm-bindgen and
//! wasm-opt (binaryen from npm: Debian's binaryen 108 breaks the bundle), then writes the
//! hashed, pre-compressed site each build embeds: `target/site/<build>/pkg/*` and
//! `manifest.json`, for the router build (`router`) and the community data site
//! (`communities`). `cargo xtask sizes` prints the bundle sizes.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, bail};
use clap::{Parser, Subcommand};
use sha2::Digest as _;

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Build the hydration bundles and stylesheet into target/site/<build>.
    Build {
        /// Only this build's site (default: both).
        #[arg(long, value_enum)]
        site: Option<SiteBuild>,
    },
    /// Print the sizes of the built bundle.
    Sizes,
    /// Cross-build the static router binary for a musl target (cargo-zigbuild, release).
    Cross(CrossArgs),
    /// Cross-build, then write an OpenWrt package (.ipk) to target/ipk/.
    Package(CrossArgs),
}

#[derive(clap::Args)]
struct CrossArgs {
    /// A Rust musl target: aarch64-unknown-linux-musl, x86_64-unknown-linux-musl, ...
    #[arg(long)]
    target: String,
    /// The small variant: no Bluetooth (`--no-default-features`).
    #[arg(long)]
    small: bool,
    /// OpenWrt's name for the architecture (default: by target, e.g. aarch64_cortex-a53).
    #[arg(long)]
    arch: Option<String>,
    /// Package this binary (built for `--target`) instead of building one.
    #[arg(long)]
    binary: Option<PathBuf>,
}

/// The builds of Portico, each with a site folder of its own.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum SiteBuild {
    /// The router (default cargo features): the router's pages only.
    Router,
    /// The community data site (`--features communities`): its pages and the router's.
    Communities,
}

impl SiteBuild {
    const ALL: [SiteBuild; 2] = [SiteBuild::Router, SiteBuild::Communities];

    fn name(self) -> &'static str {
        match self {
            SiteBuild::Router => "router",
            SiteBuild::Communities => "communities",
        }
    }

    /// The app's features for this build's hydration bundle.
    fn features(self) -> &'static str {
        match self {
            SiteBuild::Router => "hydrate",
            SiteBuild::Communities => "hydrate,communities",
        }
    }
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

fn target_dir(ws: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| ws.join("target"), PathBuf::from)
}

fn run(cmd: &mut Command) -> anyhow::Result<()> {
    let status = cmd.status().with_context(|| format!("starting {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed with {status}");
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Cmd::Build { site } => {
            let builds = site.map_or(SiteBuild::ALL.to_vec(), |s| vec![s]);
            for site in builds {
                build(site)?;
            }
            sizes()
        }
        Cmd::Sizes => sizes(),
        Cmd::Cross(args) => cross(&args).map(|bin| println!("{}", bin.display())),
        Cmd::Package(args) => {
            let binary = match &args.binary {
                Some(binary) => binary.clone(),
                None => cross(&args)?,
            };
            let ipk = package(&args, &binary)?;
            println!("{}", ipk.display());
            Ok(())
        }
    }
}

/// Builds one hydration bundle (the app with `features`), returns its JS glue and WASM.
fn bundle(ws: &Path, staging: &Path, features: &str) -> anyhow::Result<(Vec<u8>, Vec<u8>)> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    run(Command::new(&cargo).current_dir(ws).args([
        "build",
        "-p",
        "app",
        "--lib",
        "--target",
        "wasm32-unknown-unknown",
        "--no-default-features",
        "--features",
        features,
        "--profile",
        "wasm-release",
    ]))?;
    let wasm_in = target_dir(ws).join("wasm32-unknown-unknown/wasm-release/app.wasm");
    let _ = std::fs::remove_dir_all(staging);
    std::fs::create_dir_all(staging)?;
    run(Command::new("wasm-bindgen")
        .args([
            "--target",
            "web",
            "--no-typescript",
            "--out-name",
            "portico",
            "--out-dir",
        ])
        .arg(staging)
        .arg(&wasm_in))?;
    let wasm_opt = ws.join("e2e/node_modules/.bin/wasm-opt");
    let bg = staging.join("portico_bg.wasm");
    run(Command::new(&wasm_opt)
        .args([
            "-Oz",
            "--enable-bulk-memory",
            "--enable-nontrapping-float-to-int",
            "--enable-sign-ext",
            "--enable-mutable-globals",
        ])
        .args(["--enable-reference-types", "--enable-multivalue", "-o"])
        .arg(&bg)
        .arg(&bg))
    .context("wasm-opt from npm binaryen (run the setup: xtask/dev.sh)")?;
    let js = std::fs::read(staging.join("portico.js"))?;
    let wasm = std::fs::read(&bg)?;
    std::fs::remove_dir_all(staging)?;
    Ok((js, wasm))
}

/// `<name>-<hash>`: the stem of a bundle's files, from the hash of both.
fn stem(name: &str, js: &[u8], wasm: &[u8]) -> String {
    let mut hasher = sha2::Sha256::new();
    for part in [js, wasm] {
        hasher.update(part);
    }
    format!("{name}-{}", hex(&hasher.finalize()[..8]))
}

/// One build's site: its hydration bundle and the stylesheet, hashed, with the manifest.
fn build(site_build: SiteBuild) -> anyhow::Result<()> {
    let ws = workspace();
    let site = ws.join("target/site").join(site_build.name());
    let pkg = site.join("pkg");
    let (js, wasm) = bundle(&ws, &ws.join("target/site/staging"), site_build.features())?;
    let css = std::fs::read(ws.join("style/portico.css"))?;
    let app_stem = stem(site_build.name(), &js, &wasm);
    let css_name = format!("portico-{}.css", hex(&sha2::Sha256::digest(&css)[..8]));
    let icon = std::fs::read(ws.join("assets/favicon.svg"))?;
    let icon_name = format!("favicon-{}.svg", hex(&sha2::Sha256::digest(&icon)[..8]));

    let _ = std::fs::remove_dir_all(&pkg);
    std::fs::create_dir_all(&pkg)?;
    for (name, bytes) in [
        (format!("{app_stem}.js"), &js),
        (format!("{app_stem}_bg.wasm"), &wasm),
        (css_name.clone(), &css),
        (icon_name.clone(), &icon),
    ] {
        write_gzip(&pkg.join(format!("{name}.gz")), bytes)?;
    }
    let manifest = serde_json::json!({ "app": app_stem, "css": css_name, "icon": icon_name });
    std::fs::write(
        site.join("manifest.json"),
        serde_json::to_vec_pretty(&manifest)?,
    )?;
    println!("site built: {}", pkg.display());
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Writes `bytes` gzip-compressed by zopfli: the one copy of each file the server embeds
/// (browsers send `Accept-Encoding: gzip, deflate` over plain HTTP; the server inflates it for
/// the rare client that accepts no gzip).
fn write_gzip(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut gz = Vec::new();
    zopfli::compress(
        zopfli::Options::default(),
        zopfli::Format::Gzip,
        bytes,
        &mut gz,
    )?;
    std::fs::write(path, gz)?;
    Ok(())
}

/// Each site's files: size on the wire (gzip) and unpacked.
fn sizes() -> anyhow::Result<()> {
    use std::io::Read as _;
    println!("{:<12} {:<40} {:>10} {:>10}", "site", "file", "raw", "gzip");
    for site in SiteBuild::ALL {
        let pkg = workspace()
            .join("target/site")
            .join(site.name())
            .join("pkg");
        let Ok(dir) = std::fs::read_dir(&pkg) else {
            continue;
        };
        let mut files: Vec<_> = dir.filter_map(Result::ok).map(|e| e.path()).collect();
        files.sort();
        for path in files {
            let gz = std::fs::read(&path)?;
            let mut raw = Vec::new();
            flate2::read::GzDecoder::new(&gz[..]).read_to_end(&mut raw)?;
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            println!(
                "{:<12} {:<40} {:>10} {:>10}",
                site.name(),
                name.trim_end_matches(".gz"),
                raw.len(),
                gz.len()
            );
        }
    }
    Ok(())
}

/// Builds the static router binary for `args.target` (release profile, libdbus vendored);
/// builds the router's site first when it is missing. Returns the binary's path.
fn cross(args: &CrossArgs) -> anyhow::Result<PathBuf> {
    let ws = workspace();
    if !ws.join("target/site/router/manifest.json").exists() {
        build(SiteBuild::Router)?;
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(&cargo);
    // The router's state.db needs none of SQLite's full-text search, R-trees, JSON, extension
    // loading or statistics tables: left out of the bundled SQLite (about 0.5 MB of code).
    cmd.env("LIBSQLITE3_FLAGS", SQLITE_ROUTER_FLAGS);
    cmd.current_dir(&ws).args([
        "zigbuild",
        "--release",
        "-p",
        "portico",
        "--target",
        &args.target,
        "--features",
        "static",
    ]);
    if args.small {
        cmd.arg("--no-default-features");
    }
    run(&mut cmd).context("cargo zigbuild (run the setup: xtask/dev.sh setup)")?;
    Ok(target_dir(&ws).join(&args.target).join("release/portico"))
}

/// Compile-time options for the router's bundled SQLite (libsqlite3-sys's `LIBSQLITE3_FLAGS`).
const SQLITE_ROUTER_FLAGS: &str = "-USQLITE_ENABLE_FTS3 -USQLITE_ENABLE_FTS3_PARENTHESIS \
    -USQLITE_ENABLE_FTS5 -USQLITE_ENABLE_RTREE -USQLITE_ENABLE_DBSTAT_VTAB -USQLITE_ENABLE_STAT4 \
    -USQLITE_SOUNDEX -USQLITE_ENABLE_LOAD_EXTENSION -DSQLITE_OMIT_LOAD_EXTENSION \
    -DSQLITE_OMIT_JSON -DSQLITE_OMIT_DEPRECATED -DSQLITE_OMIT_SHARED_CACHE \
    -DSQLITE_DEFAULT_MEMSTATUS=0";

/// OpenWrt's architecture name for a Rust target (the most common board family of each).
fn openwrt_arch(target: &str) -> anyhow::Result<&'static str> {
    Ok(match target.split('-').next().unwrap_or_default() {
        "aarch64" => "aarch64_cortex-a53",
        "x86_64" => "x86_64",
        "armv7" => "arm_cortex-a7_neon-vfpv4",
        "mipsel" => "mipsel_24kc",
        "mips" => "mips_24kc",
        other => bail!("no OpenWrt architecture known for {other}: pass --arch"),
    })
}

/// A file of the package: its path inside the archive, mode and contents.
struct Entry {
    path: String,
    mode: u32,
    bytes: Vec<u8>,
}

/// A gzip-compressed tar of `entries` (with their folders), owned by root, dated 0 so the
/// same input makes the same archive.
fn tar_gz(entries: &[Entry]) -> anyhow::Result<Vec<u8>> {
    let mut tar = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::best(),
    ));
    let mut dirs = std::collections::BTreeSet::new();
    for entry in entries {
        let mut dir = Path::new(&entry.path).parent();
        while let Some(d) = dir.filter(|d| !d.as_os_str().is_empty() && *d != Path::new(".")) {
            dirs.insert(d.to_path_buf());
            dir = d.parent();
        }
    }
    let header = |kind: tar::EntryType, mode: u32, size: u64| {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_mode(mode);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(0);
        h.set_size(size);
        h
    };
    for dir in &dirs {
        let mut h = header(tar::EntryType::Directory, 0o755, 0);
        tar.append_data(&mut h, format!("{}/", dir.display()), std::io::empty())?;
    }
    for entry in entries {
        let mut h = header(
            tar::EntryType::Regular,
            entry.mode,
            entry.bytes.len() as u64,
        );
        tar.append_data(&mut h, &entry.path, &entry.bytes[..])?;
    }
    Ok(tar.into_inner()?.finish()?)
}

/// The package's `control` file. The static build links libdbus in, so it depends on kernel
/// modules (and BlueZ for the Bluetooth variant) only.
fn control_file(name: &str, version: &str, arch: &str, installed: usize, small: bool) -> String {
    let mut depends = if small {
        Vec::new()
    } else {
        vec!["bluez-daemon"]
    };
    depends.extend([
        "kmod-nft-core",
        "kmod-nft-fib",
        "kmod-nft-nat",
        "kmod-nfnetlink",
        "kmod-nf-conntrack-netlink",
        "kmod-sched-core",
        "kmod-sched-bpf",
    ]);
    let mut control = format!(
        "Package: {name}\nVersion: {version}\nDepends: {}\nSource: package/portico\n\
         SourceName: portico\nLicense: Apache-2.0 OR MIT\nSection: net\n\
         Architecture: {arch}\nInstalled-Size: {installed}\n",
        depends.join(", ")
    );
    if small {
        control.push_str("Provides: portico\nConflicts: portico\n");
    }
    control.push_str(
        "Description: Portico: web-first admin, captive portal and offload for community networks\n\
         \x20One program replaces LuCI for what people do most on a community router;\n\
         \x20LuCI stays reachable on port 8081. A static musl build.\n",
    );
    control
}

/// Writes `target/ipk/portico_<version>_<arch>.ipk` (opkg's format: an ar archive of
/// `debian-binary`, `control.tar.gz`, `data.tar.gz`) around `binary` and package/portico/files.
fn package(args: &CrossArgs, binary: &Path) -> anyhow::Result<PathBuf> {
    let ws = workspace();
    let files = ws.join("package/portico/files");
    let file = |name: &str| {
        std::fs::read(files.join(name)).with_context(|| format!("package/portico/files/{name}"))
    };
    let arch = match &args.arch {
        Some(arch) => arch.clone(),
        None => openwrt_arch(&args.target)?.to_owned(),
    };
    let version = format!("{}-1", env!("CARGO_PKG_VERSION"));
    let data = [
        Entry {
            path: "./usr/bin/portico".into(),
            mode: 0o755,
            bytes: std::fs::read(binary).with_context(|| binary.display().to_string())?,
        },
        Entry {
            path: "./etc/init.d/portico".into(),
            mode: 0o755,
            bytes: file("portico.init")?,
        },
        Entry {
            path: "./etc/config/portico".into(),
            mode: 0o600,
            bytes: file("portico.config")?,
        },
        Entry {
            path: "./etc/uci-defaults/90-portico".into(),
            mode: 0o755,
            bytes: file("portico.uci-defaults")?,
        },
        Entry {
            path: "./lib/upgrade/keep.d/portico".into(),
            mode: 0o644,
            bytes: file("portico.keep")?,
        },
        Entry {
            path: "./usr/libexec/portico/luci-back".into(),
            mode: 0o755,
            bytes: file("luci-back")?,
        },
    ];
    let installed: usize = data.iter().map(|e| e.bytes.len()).sum();
    let name = if args.small {
        "portico-small"
    } else {
        "portico"
    };
    let control = control_file(name, &version, &arch, installed, args.small);
    let control = tar_gz(&[
        Entry {
            path: "./control".into(),
            mode: 0o644,
            bytes: control.into_bytes(),
        },
        Entry {
            path: "./conffiles".into(),
            mode: 0o644,
            bytes: b"/etc/config/portico\n/etc/portico/\n".to_vec(),
        },
        Entry {
            path: "./postinst".into(),
            mode: 0o755,
            bytes: file("postinst")?,
        },
        Entry {
            path: "./prerm".into(),
            mode: 0o755,
            bytes: file("prerm")?,
        },
    ])?;
    let data = tar_gz(&data)?;
    let out = target_dir(&ws).join("ipk");
    std::fs::create_dir_all(&out)?;
    let ipk = out.join(format!("{name}_{version}_{arch}.ipk"));
    let mut archive = ar::Builder::new(std::fs::File::create(&ipk)?);
    for (member, bytes) in [
        ("debian-binary", &b"2.0\n"[..]),
        ("control.tar.gz", &control[..]),
        ("data.tar.gz", &data[..]),
    ] {
        let mut header = ar::Header::new(member.as_bytes().to_vec(), bytes.len() as u64);
        header.set_mode(0o644);
        archive.append(&header, bytes)?;
    }
    Ok(ipk)
}
