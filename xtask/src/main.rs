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
