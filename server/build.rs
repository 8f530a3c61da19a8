//! Points the asset embedding at the site folder `cargo xtask build` fills
//! (`<workspace>/target/site`). A build without it gets an empty folder: pages render, but
//! without the hydration bundle.

fn main() {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
    let site = std::path::Path::new(&manifest).join("../target/site");
    let _ = std::fs::create_dir_all(&site);
    let site = site.canonicalize().unwrap_or(site);
    println!("cargo:rustc-env=PORTICO_SITE_DIR={}", site.display());
    println!(
        "cargo:rerun-if-changed={}",
        site.join("manifest.json").display()
    );
    println!("cargo:rerun-if-changed=build.rs");
}
