//! Building and removing a lab: `router`, `client` and `isp` namespaces joined by veth pairs.
//!
//! ```text
//!  client ns            router ns                                     isp ns
//!  lan0 ──veth── eth0 ∈ br-lan 192.168.1.1/24, fd70:7274:0:1::1/64
//!                eth1 (WAN, DHCP from isp) ────────veth──────── wan0 100.64.0.1/24
//! ```
//! Every interface is created inside a namespace: `ip -n R link add eth0 type veth peer name
//! lan0 netns C` creates both ends in lab namespaces at once. Removing a lab kills every
//! process in its namespaces (`ip netns pids`), deletes them (which deletes their interfaces and
//! nft tables) and removes `/etc/netns/<ns>/` and the lab folder.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::{Error, Result};

/// LAN address of the router (and the prefix length), as a fresh `OpenWrt` has it.
pub const ROUTER_LAN_ADDR: &str = "192.168.1.1";
/// The router's IPv6 ULA on the LAN.
pub const ROUTER_LAN_ADDR6: &str = "fd70:7274:0:1::1";
/// The isp's address on the WAN link.
pub const ISP_ADDR: &str = "100.64.0.1";
/// The isp's IPv6 address on the WAN link.
pub const ISP_ADDR6: &str = "fd70:7274:0:2::1";

/// The three kinds of node in a lab.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeRole {
    /// Runs Portico, the LAN DHCP server and (later) firewall tables and BPF.
    Router,
    /// A LAN client: gets its address by DHCP from the router; the forwarders connect from here.
    Client,
    /// The upstream: DHCP for the router's WAN, DNS answering every name, the "internet" sink.
    Isp,
}

impl NodeRole {
    /// All roles, in the order they are built.
    pub const ALL: [NodeRole; 3] = [NodeRole::Router, NodeRole::Client, NodeRole::Isp];

    /// The role's base name (`router`, `client`, `isp`).
    pub fn base_name(self) -> &'static str {
        match self {
            NodeRole::Router => "router",
            NodeRole::Client => "client",
            NodeRole::Isp => "isp",
        }
    }

    /// Parses a node name as given to `portico lab exec`.
    pub fn parse(name: &str) -> Option<NodeRole> {
        NodeRole::ALL.into_iter().find(|r| r.base_name() == name)
    }
}

/// What lab to build: its name suffix (empty for the dev lab) and the folder for its files.
#[derive(Clone, Debug)]
pub struct LabSpec {
    /// Appended to every namespace name; test labs use `-t<pid>-<n>` so they run in parallel
    /// and a later run can tell which labs' owners are gone.
    pub suffix: String,
    /// Folder for dnsmasq configs, leases, pid files and logs.
    pub dir: PathBuf,
    /// Command (program and arguments) that runs the "internet" sink inside the isp namespace;
    /// `None` builds the lab without it.
    pub sink_command: Option<Vec<String>>,
    /// Give the router's WAN an address by DHCP from the isp.
    pub wan_dhcp: bool,
}

impl LabSpec {
    /// The development lab: plain names, files under `/run/portico-lab`.
    pub fn dev() -> LabSpec {
        LabSpec {
            suffix: String::new(),
            dir: PathBuf::from("/run/portico-lab"),
            sink_command: None,
            wan_dhcp: true,
        }
    }

    /// A test lab owned by this process; `n` tells several labs of one process apart.
    pub fn for_test(n: u32) -> LabSpec {
        let suffix = format!("-t{}-{n}", std::process::id());
        LabSpec {
            dir: PathBuf::from(format!("/run/portico-lab{suffix}")),
            suffix,
            sink_command: None,
            wan_dhcp: false,
        }
    }

    /// The namespace name of a role in this lab.
    pub fn ns(&self, role: NodeRole) -> String {
        format!("{}{}", role.base_name(), self.suffix)
    }
}

/// A lab that was built (or found); [`Lab::down`] removes it.
#[derive(Clone, Debug)]
pub struct Lab {
    pub spec: LabSpec,
    /// The client's DHCP address on the LAN, once it has one.
    pub client_addr: Option<String>,
}

impl Lab {
    /// Builds the lab, sweeping a stale one with the same names first.
    ///
    /// # Errors
    /// When a command fails; the half-built lab is removed before returning.
    pub fn up(spec: LabSpec) -> Result<Lab> {
        Lab::remove(&spec)?;
        match build(&spec) {
            Ok(client_addr) => Ok(Lab {
                spec,
                client_addr: Some(client_addr),
            }),
            Err(err) => {
                let _ = Lab::remove(&spec);
                Err(err)
            }
        }
    }

    /// The lab with these names, without checking it exists.
    pub fn attach(spec: LabSpec) -> Lab {
        Lab {
            spec,
            client_addr: None,
        }
    }

    /// Namespace name of a role.
    pub fn ns(&self, role: NodeRole) -> String {
        self.spec.ns(role)
    }

    /// A command that runs `program` inside the role's namespace.
    pub fn command(&self, role: NodeRole, program: &str) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.ns(role), program]);
        cmd
    }

    /// Removes this lab.
    ///
    /// # Errors
    /// When a namespace exists but cannot be deleted.
    pub fn down(&self) -> Result<()> {
        Lab::remove(&self.spec)
    }

    /// Removes every trace of the lab described by `spec`: processes, namespaces (and with
    /// them interfaces, addresses, routes and nft tables), `/etc/netns/<ns>/`, the lab folder.
    /// Succeeds when nothing is there.
    ///
    /// # Errors
    /// When a namespace exists but cannot be deleted.
    pub fn remove(spec: &LabSpec) -> Result<()> {
        kill_pidfile_process(&spec.dir.join("forward.pid"), "lab");
        let existing = list_namespaces();
        for role in NodeRole::ALL {
            let ns = spec.ns(role);
            if existing.contains(&ns) {
                kill_namespace_processes(&ns);
                run(Command::new("ip").args(["netns", "del", &ns]))?;
            }
            let _ = std::fs::remove_dir_all(Path::new("/etc/netns").join(&ns));
        }
        let _ = std::fs::remove_dir_all(&spec.dir);
        Ok(())
    }

    /// Which of the lab's namespaces exist.
    pub fn existing(&self) -> Vec<String> {
        let existing = list_namespaces();
        NodeRole::ALL
            .into_iter()
            .map(|r| self.ns(r))
            .filter(|n| existing.contains(n))
            .collect()
    }

    /// A human-readable account of the lab: namespaces, addresses, processes.
    pub fn status(&self) -> String {
        let mut out = String::new();
        for role in NodeRole::ALL {
            let ns = self.ns(role);
            if !list_namespaces().contains(&ns) {
                let _ = writeln!(out, "{ns}: absent");
                continue;
            }
            let addrs =
                output(Command::new("ip").args(["-n", &ns, "-brief", "addr"])).unwrap_or_default();
            let pids = namespace_pids(&ns);
            let _ = writeln!(out, "{ns}: {} process(es)", pids.len());
            for line in addrs.lines() {
                let _ = writeln!(out, "  {line}");
            }
        }
        out
    }
}

/// Removes the test labs whose owning process is gone (names carry `-t<pid>-<n>`).
pub fn sweep_stale_test_labs() {
    for ns in list_namespaces() {
        let Some((_, rest)) = ns.split_once("-t") else {
            continue;
        };
        let Some((pid, n)) = rest.split_once('-') else {
            continue;
        };
        let (Ok(pid), Ok(n)) = (pid.parse::<u32>(), n.parse::<u32>()) else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            if ns.starts_with("scratch-") {
                let _ = run(Command::new("ip").args(["netns", "del", &ns]));
                continue;
            }
            let suffix = format!("-t{pid}-{n}");
            let spec = LabSpec {
                dir: PathBuf::from(format!("/run/portico-lab{suffix}")),
                suffix,
                sink_command: None,
                wan_dhcp: false,
            };
            let _ = Lab::remove(&spec);
        }
    }
}

/// The router's offload redirects frames into the veth ends eth0 and eth1, whose peers
/// (lan0, wan0) then need NAPI, which GRO switches on; frames the client and the isp send
/// carry full checksums, as from a real NIC, instead of veth's partial ones (design.md, veth
/// pitfalls).
fn like_real_nics(client: &str, isp: &str) -> Result<()> {
    for (ns, dev) in [(client, "lan0"), (isp, "wan0")] {
        run(Command::new("ip").args([
            "netns", "exec", ns, "ethtool", "-K", dev, "tx", "off", "gro", "on",
        ]))?;
    }
    Ok(())
}

/// As on OpenWrt: the router forwards, and bridged frames skip the inet hooks.
fn router_sysctls(r: &str) -> Result<()> {
    let sysctls = "echo 1 > /proc/sys/net/ipv4/ip_forward; \
                   echo 1 > /proc/sys/net/ipv6/conf/all/forwarding; \
                   for f in iptables ip6tables arptables; do \
                     p=/proc/sys/net/bridge/bridge-nf-call-$f; [ -e $p ] && echo 0 > $p; \
                   done; true";
    run(Command::new("ip").args(["netns", "exec", r, "sh", "-c", sysctls]))
}

fn build(spec: &LabSpec) -> Result<String> {
    let dir = &spec.dir;
    std::fs::create_dir_all(dir).map_err(|source| io_err(dir, source))?;
    let (r, c, i) = (
        spec.ns(NodeRole::Router),
        spec.ns(NodeRole::Client),
        spec.ns(NodeRole::Isp),
    );
    for ns in [&r, &c, &i] {
        ip(&["netns", "add", ns])?;
        ip(&["-n", ns, "link", "set", "lo", "up"])?;
    }
    // Rule 2: both ends are born inside lab namespaces.
    ip(&[
        "-n", &r, "link", "add", "eth0", "type", "veth", "peer", "name", "lan0", "netns", &c,
    ])?;
    ip(&[
        "-n", &r, "link", "add", "eth1", "type", "veth", "peer", "name", "wan0", "netns", &i,
    ])?;
    ip(&["-n", &r, "link", "add", "br-lan", "type", "bridge"])?;
    ip(&["-n", &r, "link", "set", "eth0", "master", "br-lan"])?;
    for dev in ["eth0", "eth1", "br-lan"] {
        ip(&["-n", &r, "link", "set", dev, "up"])?;
    }
    ip(&[
        "-n",
        &r,
        "addr",
        "add",
        &format!("{ROUTER_LAN_ADDR}/24"),
        "dev",
        "br-lan",
    ])?;
    ip(&[
        "-n",
        &r,
        "addr",
        "add",
        &format!("{ROUTER_LAN_ADDR6}/64"),
        "dev",
        "br-lan",
        "nodad",
    ])?;
    ip(&["-n", &c, "link", "set", "lan0", "up"])?;
    ip(&["-n", &i, "link", "set", "wan0", "up"])?;
    ip(&[
        "-n",
        &i,
        "addr",
        "add",
        &format!("{ISP_ADDR}/24"),
        "dev",
        "wan0",
    ])?;
    ip(&[
        "-n",
        &i,
        "addr",
        "add",
        &format!("{ISP_ADDR6}/64"),
        "dev",
        "wan0",
        "nodad",
    ])?;

    router_sysctls(&r)?;

    write_resolv_conf(&c, ROUTER_LAN_ADDR)?;
    write_resolv_conf(&r, ISP_ADDR)?;
    write_resolv_conf(&i, ISP_ADDR)?;

    start_isp_dnsmasq(spec, &i)?;
    start_lan_dnsmasq(spec, &r)?;
    if let Some(sink) = &spec.sink_command {
        let log = file(&dir.join("sink.log"))?;
        Command::new("ip")
            .args(["netns", "exec", &i])
            .args(sink)
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| io_err(dir, e))?)
            .stderr(log)
            .spawn()
            .map_err(|source| Error::Spawn {
                command: sink.join(" "),
                source,
            })?;
    }
    like_real_nics(&c, &i)?;
    let script = write_udhcpc_script(dir)?;
    if spec.wan_dhcp {
        dhcp_client(&r, "eth1", &script)?;
    }
    dhcp_client(&c, "lan0", &script)?;
    wait_for("the client's DHCP address", Duration::from_secs(30), || {
        output(Command::new("ip").args(["-n", &c, "-4", "-o", "addr", "show", "dev", "lan0"]))
            .ok()
            .and_then(|out| {
                let word = out.split_whitespace().skip_while(|w| *w != "inet").nth(1)?;
                Some(word.split('/').next()?.to_owned())
            })
    })
}

fn write_resolv_conf(ns: &str, server: &str) -> Result<()> {
    let dir = Path::new("/etc/netns").join(ns);
    std::fs::create_dir_all(&dir).map_err(|e| io_err(&dir, e))?;
    let path = dir.join("resolv.conf");
    std::fs::write(&path, format!("nameserver {server}\n")).map_err(|e| io_err(&path, e))
}

/// The isp's dnsmasq: DHCP for the router's WAN, DNS that answers every name with the isp's
/// own address (so OS captive checks reach the sink, never the real internet).
fn start_isp_dnsmasq(spec: &LabSpec, ns: &str) -> Result<()> {
    let d = spec.dir.display();
    let conf = format!(
        "interface=wan0\nbind-interfaces\nexcept-interface=lo\nno-hosts\nno-resolv\n\
         dhcp-range=100.64.0.100,100.64.0.200,255.255.255.0,12h\n\
         dhcp-option=option:router,{ISP_ADDR}\ndhcp-option=option:dns-server,{ISP_ADDR}\n\
         address=/#/{ISP_ADDR}\naddress=/#/{ISP_ADDR6}\n\
         dhcp-leasefile={d}/isp.leases\npid-file={d}/isp-dnsmasq.pid\nlog-facility={d}/isp-dnsmasq.log\n"
    );
    dnsmasq(spec, ns, "isp-dnsmasq.conf", &conf)
}

/// The router's LAN DHCP/DNS, with a fresh `OpenWrt` router's defaults (start 100, limit 150, 12h).
/// The dev platform's service reload replaces it with one generated from UCI `dhcp`.
fn start_lan_dnsmasq(spec: &LabSpec, ns: &str) -> Result<()> {
    let d = spec.dir.display();
    let conf = format!(
        "interface=br-lan\nbind-interfaces\nexcept-interface=lo\nno-hosts\nno-resolv\n\
         server={ISP_ADDR}\ndhcp-range=192.168.1.100,192.168.1.249,255.255.255.0,12h\n\
         dhcp-option=option:router,{ROUTER_LAN_ADDR}\ndhcp-option=option:dns-server,{ROUTER_LAN_ADDR}\n\
         dhcp-leasefile={d}/lan.leases\npid-file={d}/lan-dnsmasq.pid\nlog-facility={d}/lan-dnsmasq.log\n"
    );
    dnsmasq(spec, ns, "lan-dnsmasq.conf", &conf)
}

fn dnsmasq(spec: &LabSpec, ns: &str, name: &str, conf: &str) -> Result<()> {
    let path = spec.dir.join(name);
    std::fs::write(&path, conf).map_err(|e| io_err(&path, e))?;
    let conf_arg = format!("--conf-file={}", path.display());
    run(Command::new("ip").args(["netns", "exec", ns, "dnsmasq", &conf_arg, "--no-resolv"]))
}

/// A `udhcpc` script that configures only the namespace it runs in (never the host's
/// resolv.conf: that is `/etc/netns/<ns>/resolv.conf`, written by the lab), as `dir/udhcpc.script`.
///
/// # Errors
/// When the file cannot be written.
pub fn write_udhcpc_script(dir: &Path) -> Result<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("udhcpc.script");
    let script = "#!/bin/sh\n\
        case \"$1\" in\n\
          deconfig) ip -4 addr flush dev \"$interface\" ;;\n\
          bound|renew)\n\
            ip -4 addr flush dev \"$interface\"\n\
            ip addr add \"$ip/${mask:-24}\" dev \"$interface\"\n\
            if [ -n \"$router\" ]; then ip route replace default via \"${router%% *}\" dev \"$interface\"; fi ;;\n\
        esac\nexit 0\n";
    std::fs::write(&path, script).map_err(|e| io_err(&path, e))?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| io_err(&path, e))?;
    Ok(path)
}

/// One DHCP exchange (`udhcpc -q`: quit once configured), retried by udhcpc itself.
fn dhcp_client(ns: &str, dev: &str, script: &Path) -> Result<()> {
    let script = script.to_string_lossy();
    run(Command::new("ip").args([
        "netns", "exec", ns, "busybox", "udhcpc", "-q", "-n", "-f", "-t", "10", "-T", "1", "-i",
        dev, "-s", &script,
    ]))
}

/// Polls `probe` until it returns a value or `deadline` passes.
///
/// # Errors
/// [`Error::Timeout`] naming `what`.
pub fn wait_for<T>(
    what: &str,
    deadline: Duration,
    mut probe: impl FnMut() -> Option<T>,
) -> Result<T> {
    let start = Instant::now();
    loop {
        if let Some(value) = probe() {
            return Ok(value);
        }
        if start.elapsed() > deadline {
            return Err(Error::Timeout(what.to_owned()));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn list_namespaces() -> Vec<String> {
    output(Command::new("ip").args(["netns", "list"]))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect()
}

fn namespace_pids(ns: &str) -> Vec<i32> {
    output(Command::new("ip").args(["netns", "pids", ns]))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

fn kill_namespace_processes(ns: &str) {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;
    // Repeat: a dying process may have forked.
    for _ in 0..5 {
        let pids = namespace_pids(ns);
        if pids.is_empty() {
            return;
        }
        for pid in pids {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Kills the process in a pid file if its command line mentions `marker` (guards against a
/// recycled pid), then removes the file.
pub(crate) fn kill_pidfile_process(pidfile: &Path, marker: &str) {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;
    let Ok(text) = std::fs::read_to_string(pidfile) else {
        return;
    };
    if let Ok(pid) = text.trim().parse::<i32>() {
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        if String::from_utf8_lossy(&cmdline).contains(marker) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
    }
    let _ = std::fs::remove_file(pidfile);
}

fn ip(args: &[&str]) -> Result<()> {
    run(Command::new("ip").args(args))
}

fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for arg in cmd.get_args() {
        s.push(' ');
        s.push_str(&arg.to_string_lossy());
    }
    s
}

fn run(cmd: &mut Command) -> Result<()> {
    output(cmd).map(drop)
}

/// Runs a command, failing with its standard error.
pub(crate) fn run_command(cmd: &mut Command) -> Result<()> {
    run(cmd)
}

fn output(cmd: &mut Command) -> Result<String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|source| Error::Spawn {
            command: describe(cmd),
            source,
        })?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(Error::Command {
            command: describe(cmd),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        })
    }
}

fn file(path: &Path) -> Result<std::fs::File> {
    std::fs::File::create(path).map_err(|e| io_err(path, e))
}

fn io_err(path: &Path, source: std::io::Error) -> Error {
    Error::Io {
        path: path.display().to_string(),
        source,
    }
}
