//! Two build steps:
//! - points the asset embedding at this build's site folder, which `cargo xtask build` fills
//!   (`<workspace>/target/site/router` or `…/communities`); a build without it gets an empty
//!   folder: pages render, but without the hydration bundle;
//! - compiles the offload's BPF programs (`bpf/offload.c`, Debian's clang) and generates the
//!   Rust side of their map types from `bpf/offload.h` with bindgen, so both sides read one
//!   definition.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let manifest =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into()));
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    site(&manifest);
    bpf(&manifest.join("../bpf"), &out);
    println!("cargo:rerun-if-changed=build.rs");
}

/// The router build embeds `target/site/router`, the data-site build `target/site/communities`.
fn site(manifest: &Path) {
    let build = if std::env::var_os("CARGO_FEATURE_COMMUNITIES").is_some() {
        "communities"
    } else {
        "router"
    };
    let site = manifest.join("../target/site").join(build);
    let _ = std::fs::create_dir_all(&site);
    let site = site.canonicalize().unwrap_or(site);
    println!("cargo:rustc-env=PORTICO_SITE_DIR={}", site.display());
    println!(
        "cargo:rerun-if-changed={}",
        site.join("manifest.json").display()
    );
}

fn bpf(dir: &Path, out: &Path) {
    let source = dir.join("offload.c");
    let header = dir.join("offload.h");
    println!("cargo:rerun-if-changed={}", source.display());
    println!("cargo:rerun-if-changed={}", header.display());
    // The BPF object follows the byte order of the machine that will load it.
    let target = match std::env::var("CARGO_CFG_TARGET_ENDIAN").as_deref() {
        Ok("big") => "bpfeb",
        _ => "bpfel",
    };
    // Debian keeps asm/ headers under the multiarch folder of the build machine.
    let multiarch = Command::new("gcc")
        .arg("-print-multiarch")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "x86_64-linux-gnu".into());
    let object = out.join("offload.o");
    let status = Command::new(std::env::var("CLANG").unwrap_or_else(|_| "clang".into()))
        .args(["-O2", "-g", "-Wall", "-Werror", "-target", target])
        .arg(format!("-I/usr/include/{multiarch}"))
        .arg("-c")
        .arg(&source)
        .arg("-o")
        .arg(&object)
        .status()
        .expect("clang (Debian package clang) compiles bpf/offload.c: is it installed?");
    assert!(status.success(), "clang failed on {}", source.display());

    bindgen::Builder::default()
        .header(header.to_string_lossy())
        .allowlist_type(
            "flow_key|flow_value|ingress_key|ingress_value|egress_value|fdb_key|control|mac_key|portal_access",
        )
        .allowlist_type("flow_state|nat_flags|ingress_flags|egress_flags|counter")
        .derive_default(true)
        .derive_eq(true)
        .derive_hash(true)
        .default_enum_style(bindgen::EnumVariation::Consts)
        .layout_tests(true)
        .generate()
        .expect("bindgen reads bpf/offload.h")
        .write_to_file(out.join("offload_abi.rs"))
        .expect("write offload_abi.rs");
}
