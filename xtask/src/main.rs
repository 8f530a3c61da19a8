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

    /// This build's hydration bundles: name and the app's features. The router's pages are
    /// islands: a page with the menu's only loads the shell, a page with islands of its own
    /// the bundle with all (`app::islands_bundle` picks). One bundle per page would cut the
    /// overview's download by a third but carry the runtime once more per bundle in flash.
    /// The communities site hydrates whole pages (the router's islands are components there).
    fn bundles(self) -> &'static [(&'static str, &'static str)] {
        match self {
            SiteBuild::Router => &[("shell", "hydrate"), ("pages", "hydrate,bundle-pages")],
            SiteBuild::Communities => &[("communities", "hydrate,communities")],
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

/// One build's site: its hydration bundles and the stylesheet, hashed, with the manifest.
fn build(site_build: SiteBuild) -> anyhow::Result<()> {
    let ws = workspace();
    let site = ws.join("target/site").join(site_build.name());
    let pkg = site.join("pkg");
    let mut files = Vec::new();
    let mut bundles = serde_json::Map::new();
    for (name, features) in site_build.bundles() {
        let (js, wasm) = bundle(&ws, &ws.join("target/site/staging"), features)?;
        let app_stem = stem(name, &js, &wasm);
        files.push((format!("{app_stem}.js"), js));
        files.push((format!("{app_stem}_bg.wasm"), wasm));
        bundles.insert((*name).to_owned(), app_stem.into());
    }
    let css = std::fs::read(ws.join("style/portico.css"))?;
    let css_name = format!("portico-{}.css", hex(&sha2::Sha256::digest(&css)[..8]));
    let icon = std::fs::read(ws.join("assets/favicon.svg"))?;
    let icon_name = format!("favicon-{}.svg", hex(&sha2::Sha256::digest(&icon)[..8]));
    files.push((css_name.clone(), css));
    files.push((icon_name.clone(), icon));

    let _ = std::fs::remove_dir_all(&pkg);
    std::fs::create_dir_all(&pkg)?;
    for (name, bytes) in &files {
        write_gzip(&pkg.join(format!("{name}.gz")), bytes)?;
    }
    let manifest = serde_json::json!({ "bundles": bundles, "css": css_name, "icon": icon_name });
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

/// The feed package (`package/portico/Makefile`) as `cargo xtask package` reads it, so the
/// `.ipk` built here installs what the SDK's package installs: the `define … endef` blocks.
struct Feed(String);

/// Libraries the feed package depends on that the static build links in.
const LINKED_IN: [&str; 1] = ["libdbus"];

impl Feed {
    fn read(ws: &Path) -> anyhow::Result<Feed> {
        let path = ws.join("package/portico/Makefile");
        Ok(Feed(
            std::fs::read_to_string(&path).with_context(|| path.display().to_string())?,
        ))
    }

    /// The lines of `define NAME` up to its `endef`, continuation lines joined.
    fn block(&self, name: &str) -> anyhow::Result<Vec<String>> {
        let start = format!("define {name}\n");
        let body = self
            .0
            .split_once(&start)
            .and_then(|(_, rest)| rest.split_once("\nendef"))
            .map(|(body, _)| body.replace("\\\n", " "))
            .with_context(|| format!("package/portico/Makefile has no `define {name}`"))?;
        Ok(body.lines().map(|l| l.trim().to_owned()).collect())
    }

    /// The `+package` dependencies of a variant (its own block's and the shared ones), without
    /// the libraries the static build carries.
    fn depends(&self, variant: &str) -> anyhow::Result<Vec<String>> {
        let mut lines = self.block("Package/portico/default")?;
        lines.extend(self.block(&format!("Package/{variant}"))?);
        Ok(lines
            .iter()
            .filter(|l| l.starts_with("DEPENDS"))
            .flat_map(|l| l.split_whitespace())
            .filter_map(|word| word.strip_prefix('+'))
            .filter(|dep| !LINKED_IN.contains(dep))
            .map(str::to_owned)
            .collect())
    }

    /// What `Package/portico/install` installs: `(source, destination, mode)`; the source is
    /// `files/<name>` or the binary (`bin/portico`).
    fn installs(&self) -> anyhow::Result<Vec<(String, String, u32)>> {
        let mut out = Vec::new();
        for line in self.block("Package/portico/install")? {
            let mut words = line.split_whitespace();
            let mode = match words.next() {
                Some("$(INSTALL_BIN)") => 0o755,
                Some("$(INSTALL_CONF)") => 0o600,
                Some("$(INSTALL_DATA)") => 0o644,
                _ => continue,
            };
            let (Some(source), Some(dest)) = (words.next(), words.next()) else {
                bail!("package/portico/Makefile: cannot read `{line}`");
            };
            let source = source
                .strip_prefix("./")
                .or_else(|| source.strip_prefix("$(PKG_INSTALL_DIR)/"))
                .with_context(|| format!("package/portico/Makefile: source of `{line}`"))?;
            let dest = dest
                .strip_prefix("$(1)")
                .with_context(|| format!("package/portico/Makefile: destination of `{line}`"))?;
            let dest = match dest.strip_suffix('/') {
                Some(dir) => format!("{dir}/{}", source.rsplit('/').next().unwrap_or(source)),
                None => dest.to_owned(),
            };
            out.push((source.to_owned(), dest, mode));
        }
        Ok(out)
    }
}

/// The package's `control` file. The static build links libdbus in, so it depends on kernel
/// modules (and BlueZ for the Bluetooth variant) only: the feed's DEPENDS without [`LINKED_IN`].
fn control_file(
    name: &str,
    version: &str,
    arch: &str,
    installed: usize,
    depends: &[String],
) -> String {
    let mut control = format!(
        "Package: {name}\nVersion: {version}\nDepends: {}\nSource: package/portico\n\
         SourceName: portico\nLicense: Apache-2.0 OR MIT\nSection: net\n\
         Architecture: {arch}\nInstalled-Size: {installed}\n",
        depends.join(", ")
    );
    if name != "portico" {
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
/// `debian-binary`, `control.tar.gz`, `data.tar.gz`) around `binary`, with the files, the
/// dependencies and the conffiles the feed package (`package/portico/Makefile`) names.
fn package(args: &CrossArgs, binary: &Path) -> anyhow::Result<PathBuf> {
    let ws = workspace();
    let feed = Feed::read(&ws)?;
    let arch = match &args.arch {
        Some(arch) => arch.clone(),
        None => openwrt_arch(&args.target)?.to_owned(),
    };
    let version = format!("{}-1", env!("CARGO_PKG_VERSION"));
    let mut data = Vec::new();
    for (source, dest, mode) in feed.installs()? {
        let bytes = if source == "bin/portico" {
            std::fs::read(binary).with_context(|| binary.display().to_string())?
        } else {
            let path = ws.join("package/portico").join(&source);
            std::fs::read(&path).with_context(|| path.display().to_string())?
        };
        data.push(Entry {
            path: format!(".{dest}"),
            mode,
            bytes,
        });
    }
    let installed: usize = data.iter().map(|e| e.bytes.len()).sum();
    let name = if args.small {
        "portico-small"
    } else {
        "portico"
    };
    let control = control_file(name, &version, &arch, installed, &feed.depends(name)?);
    let conffiles: String = feed
        .block("Package/portico/conffiles")?
        .iter()
        .filter(|l| !l.is_empty())
        .fold(String::new(), |mut out, l| {
            out.push_str(l);
            out.push('\n');
            out
        });
    let control = tar_gz(&[
        Entry {
            path: "./control".into(),
            mode: 0o644,
            bytes: control.into_bytes(),
        },
        Entry {
            path: "./conffiles".into(),
            mode: 0o644,
            bytes: conffiles.into_bytes(),
        },
        Entry {
            path: "./postinst".into(),
            mode: 0o755,
            bytes: std::fs::read(ws.join("package/portico/files/postinst"))?,
        },
        Entry {
            path: "./prerm".into(),
            mode: 0o755,
            bytes: std::fs::read(ws.join("package/portico/files/prerm"))?,
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
