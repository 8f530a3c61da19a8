//! The `.ipk` that `cargo xtask package` wrote (`PORTICO_IPK`), unpacked into a scratch root:
//! opkg's layout, the control fields, every shell script through shellcheck, the packaged
//! binary reading the packaged configuration (under qemu when it is for another machine), and
//! the uci-defaults script moving LuCI to port 8081 and `luci-back` giving port 80 back, run
//! with the packaged binary as `uci`. Run by `xtask/dev.sh test` after packaging:
//! `PORTICO_IPK=… cargo test -p xtask --test ipk -- --ignored`.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;

fn ipk() -> PathBuf {
    PathBuf::from(
        std::env::var("PORTICO_IPK").expect("PORTICO_IPK names the .ipk (cargo xtask package)"),
    )
}

/// The ar members, in order.
fn members(ipk: &Path) -> Vec<(String, Vec<u8>)> {
    let mut archive = ar::Archive::new(std::fs::File::open(ipk).unwrap());
    let mut out = Vec::new();
    while let Some(entry) = archive.next_entry() {
        let mut entry = entry.unwrap();
        let name = String::from_utf8(entry.header().identifier().to_vec()).unwrap();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        out.push((name, bytes));
    }
    out
}

fn unpack(tar_gz: &[u8], into: &Path) -> Vec<String> {
    std::fs::create_dir_all(into).unwrap();
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(tar_gz));
    archive.set_preserve_permissions(true);
    let mut names = Vec::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let header = entry.header();
        assert_eq!((header.uid().unwrap(), header.gid().unwrap()), (0, 0));
        let name = entry.path().unwrap().display().to_string();
        names.push(name.trim_start_matches("./").to_owned());
        assert!(entry.unpack_in(into).unwrap(), "a path inside the root");
    }
    names
}

/// `Key: value` lines (continuation lines start with a space).
fn fields(control: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut last = String::new();
    for line in control.lines() {
        if let Some(more) = line.strip_prefix(' ') {
            out.entry(last.clone()).and_modify(|v: &mut String| {
                v.push('\n');
                v.push_str(more);
            });
        } else if let Some((key, value)) = line.split_once(": ") {
            key.clone_into(&mut last);
            out.insert(key.to_owned(), value.to_owned());
        } else {
            panic!("not a control line: {line:?}");
        }
    }
    out
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

fn shellcheck(path: &Path) {
    let out = Command::new("shellcheck")
        .args(["-s", "sh", "-e", "SC1091"])
        .arg(path)
        .output()
        .expect("shellcheck (Debian package shellcheck)");
    assert!(
        out.status.success(),
        "{}:\n{}",
        path.display(),
        String::from_utf8_lossy(&out.stdout)
    );
}

/// The ELF machine of the binary, and whether it asks for a dynamic loader.
fn elf(bytes: &[u8]) -> (u16, bool) {
    assert_eq!(&bytes[..4], b"\x7fELF");
    assert_eq!(bytes[4], 2, "64-bit");
    let machine = u16::from_le_bytes([bytes[18], bytes[19]]);
    let u64_at = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap());
    let u16_at = |at: usize| u16::from_le_bytes([bytes[at], bytes[at + 1]]);
    let (phoff, phentsize, phnum) = (u64_at(32), u16_at(54), u16_at(56));
    let interp = (0..usize::from(phnum)).any(|i| {
        let at = usize::try_from(phoff).unwrap() + i * usize::from(phentsize);
        u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) == 3 // PT_INTERP
    });
    (machine, interp)
}

#[test]
#[allow(
    clippy::too_many_lines,
    reason = "one package walked through from its archive to its scripts, in order"
)]
#[ignore = "needs PORTICO_IPK from `cargo xtask package` (xtask/dev.sh test runs it)"]
fn the_package_installs_what_a_router_needs() {
    let members = members(&ipk());
    let names: Vec<&str> = members.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["debian-binary", "control.tar.gz", "data.tar.gz"]);
    assert_eq!(members[0].1, b"2.0\n");

    let scratch = tempfile::tempdir().unwrap();
    let control_dir = scratch.path().join("control");
    let root = scratch.path().join("root");
    let mut control_names = unpack(&members[1].1, &control_dir);
    control_names.sort();
    assert_eq!(control_names, ["conffiles", "control", "postinst", "prerm"]);
    let mut data_names = unpack(&members[2].1, &root);
    data_names.retain(|n| !n.ends_with('/'));
    data_names.sort();
    assert_eq!(
        data_names,
        [
            "etc/config/portico",
            "etc/init.d/portico",
            "etc/uci-defaults/90-portico",
            "lib/upgrade/keep.d/portico",
            "usr/bin/portico",
            "usr/libexec/portico/luci-back",
        ]
    );

    // control
    let control = fields(&std::fs::read_to_string(control_dir.join("control")).unwrap());
    let package = control["Package"].as_str();
    assert!(matches!(package, "portico" | "portico-small"), "{package}");
    let version = &control["Version"];
    let (upstream, release) = version.split_once('-').expect("version-release");
    assert!(
        upstream.split('.').all(|p| p.parse::<u32>().is_ok()) && release.parse::<u32>().is_ok(),
        "an opkg and apk version: {version}"
    );
    let depends: Vec<&str> = control["Depends"].split(", ").collect();
    for module in [
        "kmod-nft-core",
        "kmod-nft-fib",
        "kmod-nft-nat",
        "kmod-nf-conntrack-netlink",
        "kmod-sched-bpf",
    ] {
        assert!(
            depends.contains(&module),
            "Depends names {module}: {depends:?}"
        );
    }
    assert_eq!(depends.contains(&"bluez-daemon"), package == "portico");
    let installed: u64 = data_names
        .iter()
        .map(|n| std::fs::metadata(root.join(n)).unwrap().len())
        .sum();
    assert_eq!(control["Installed-Size"], installed.to_string());
    assert!(control["Description"].contains('\n'), "a long description");
    assert_eq!(
        std::fs::read_to_string(control_dir.join("conffiles")).unwrap(),
        "/etc/config/portico\n/etc/portico/\n"
    );

    // files, modes, scripts
    for (path, expected) in [
        ("usr/bin/portico", 0o755),
        ("etc/init.d/portico", 0o755),
        ("etc/config/portico", 0o600),
        ("etc/uci-defaults/90-portico", 0o755),
        ("lib/upgrade/keep.d/portico", 0o644),
        ("usr/libexec/portico/luci-back", 0o755),
    ] {
        assert_eq!(mode(&root.join(path)), expected, "{path}");
    }
    for script in [
        control_dir.join("postinst"),
        control_dir.join("prerm"),
        root.join("etc/init.d/portico"),
        root.join("etc/uci-defaults/90-portico"),
        root.join("usr/libexec/portico/luci-back"),
    ] {
        assert_eq!(mode(&script) & 0o111, 0o111, "{} runs", script.display());
        shellcheck(&script);
    }
    let init = std::fs::read_to_string(root.join("etc/init.d/portico")).unwrap();
    for line in [
        "#!/bin/sh /etc/rc.common",
        "USE_PROCD=1",
        "procd_set_param command \"$PROG\" serve",
        "procd_set_param respawn",
        "procd_set_param term_timeout 3",
        "procd_add_reload_trigger portico",
    ] {
        assert!(init.contains(line), "the init script has {line:?}");
    }
    assert!(
        std::fs::read_to_string(control_dir.join("prerm"))
            .unwrap()
            .contains("/usr/libexec/portico/luci-back"),
        "removing Portico gives port 80 back"
    );
    assert_eq!(
        std::fs::read_to_string(root.join("lib/upgrade/keep.d/portico")).unwrap(),
        "/etc/portico/\n"
    );

    // the binary: static, for the package's architecture
    let binary = root.join("usr/bin/portico");
    let (machine, dynamic) = elf(&std::fs::read(&binary).unwrap());
    assert!(!dynamic, "a static binary: no dynamic loader");
    let arch = control["Architecture"].as_str();
    let runner = match (arch.split('_').next().unwrap(), machine) {
        ("x86", 62) => None,
        ("aarch64", 183) => Some("qemu-aarch64-static"),
        other => panic!("architecture and ELF machine disagree: {other:?}"),
    };
    let uci = scratch.path().join("bin/uci");
    std::fs::create_dir_all(uci.parent().unwrap()).unwrap();
    std::fs::write(
        &uci,
        format!(
            "#!/bin/sh\nexec {} '{}' --root '{}' uci \"$@\"\n",
            runner.unwrap_or(""),
            binary.display(),
            root.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&uci, std::fs::Permissions::from_mode(0o755)).unwrap();
    let sh = |script: &str| {
        let out = Command::new("sh")
            .arg(root.join(script))
            .env("IPKG_INSTROOT", &root)
            .env(
                "PATH",
                format!(
                    "{}:{}",
                    uci.parent().unwrap().display(),
                    std::env::var("PATH").unwrap()
                ),
            )
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{script}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let get = |key: &str| {
        let out = Command::new(&uci)
            .args(["-q", "get", key])
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    // The packaged binary reads the packaged configuration.
    assert_eq!(get("portico.main.listen"), "0.0.0.0:80");
    assert_eq!(get("portico.portal.interface"), "br-lan");

    // LuCI moves to 8081 and comes back.
    std::fs::write(
        root.join("etc/config/uhttpd"),
        "\nconfig uhttpd 'main'\n\tlist listen_http '0.0.0.0:80'\n\tlist listen_http '[::]:80'\n\toption home '/www'\n",
    )
    .unwrap();
    sh("etc/uci-defaults/90-portico");
    assert_eq!(get("uhttpd.main.listen_http"), "0.0.0.0:8081 [::]:8081");
    sh("etc/uci-defaults/90-portico");
    assert_eq!(
        std::fs::read_to_string(root.join("etc/portico/uhttpd-listen")).unwrap(),
        "0.0.0.0:80\n[::]:80\n",
        "a second run changes nothing and keeps the first addresses"
    );
    sh("usr/libexec/portico/luci-back");
    assert_eq!(get("uhttpd.main.listen_http"), "0.0.0.0:80 [::]:80");
    assert_eq!(get("uhttpd.main.home"), "/www");
    assert!(!root.join("etc/portico/uhttpd-listen").exists());
}
