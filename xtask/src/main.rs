//! Build orchestration: `cargo xtask build` compiles the app to WASM, runs wasm-bindgen and
//! wasm-opt (binaryen from npm: Debian's binaryen 108 breaks the bundle), then writes the
//! hashed, pre-compressed site the server embeds: `target/site/pkg/*` and `manifest.json`.
//! `cargo xtask sizes` prints the bundle sizes (raw, gzip, brotli).

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
    /// Build the hydration bundle and stylesheet into target/site.
    Build,
    /// Print the sizes of the built bundle.
    Sizes,
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
        Cmd::Build => build(),
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

/// Two bundles: the router's, and the communities site's (the router's app plus the
/// communities pages, so the router never carries them).
fn build() -> anyhow::Result<()> {
    let ws = workspace();
    let site = ws.join("target/site");
    let pkg = site.join("pkg");
    let staging = site.join("staging");
    let (js, wasm) = bundle(&ws, &staging, "hydrate")?;
    let (site_js, site_wasm) = bundle(&ws, &staging, "hydrate,communities")?;
    let css = std::fs::read(ws.join("style/portico.css"))?;
    let app_stem = stem("portico", &js, &wasm);
    let site_stem = stem("communities", &site_js, &site_wasm);
    let css_name = format!("portico-{}.css", hex(&sha2::Sha256::digest(&css)[..8]));

    let _ = std::fs::remove_dir_all(&pkg);
    std::fs::create_dir_all(&pkg)?;
    for (name, bytes) in [
        (format!("{app_stem}.js"), &js),
        (format!("{app_stem}_bg.wasm"), &wasm),
        (format!("{site_stem}.js"), &site_js),
        (format!("{site_stem}_bg.wasm"), &site_wasm),
        (css_name.clone(), &css),
    ] {
        write_compressed(&pkg.join(&name), bytes)?;
    }
    let manifest =
        serde_json::json!({ "app": app_stem, "css": css_name, "communities": site_stem });
    std::fs::write(
        site.join("manifest.json"),
        serde_json::to_vec_pretty(&manifest)?,
    )?;
    println!("site built: {}", pkg.display());
    sizes()
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Writes the file and its `.gz` (best) and `.br` (quality 11) siblings.
fn write_compressed(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write as _;
    std::fs::write(path, bytes)?;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(bytes)?;
    std::fs::write(with_suffix(path, ".gz"), gz.finish()?)?;
    let mut br = Vec::new();
    let params = brotli::enc::BrotliEncoderParams {
        quality: 11,
        lgwin: 22,
        ..Default::default()
    };
    brotli::BrotliCompress(&mut &bytes[..], &mut br, &params)?;
    std::fs::write(with_suffix(path, ".br"), br)?;
    Ok(())
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

fn sizes() -> anyhow::Result<()> {
    let pkg = workspace().join("target/site/pkg");
    let mut names: Vec<_> = std::fs::read_dir(&pkg)?
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| {
            !matches!(
                std::path::Path::new(n).extension().and_then(|e| e.to_str()),
                Some("gz" | "br")
            )
        })
        .collect();
    names.sort();
    println!(
        "{:<40} {:>10} {:>10} {:>10}",
        "file", "raw", "gzip", "brotli"
    );
    for name in names {
        let size = |suffix: &str| {
            std::fs::metadata(pkg.join(format!("{name}{suffix}"))).map_or(0, |m| m.len())
        };
        println!(
            "{name:<40} {:>10} {:>10} {:>10}",
            size(""),
            size(".gz"),
            size(".br")
        );
    }
    Ok(())
}
