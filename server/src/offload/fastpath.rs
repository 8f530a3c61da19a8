//! The BPF side, loaded: the programs of `bpf/offload.c` (compiled by the build script and
//! embedded in the binary), their maps, attaching to interfaces and detaching again.
//!
//! Dropping a [`FastPath`] detaches everything: XDP and TCX attachments are BPF links owned
//! by this process, so they also go when the process dies however it dies.

use std::collections::HashMap as StdHashMap;
use std::time::Duration;

use aya::maps::{Array, HashMap, MapData, PerCpuArray, RingBuf};
use aya::programs::{
    SchedClassifier, TcAttachType, TestRun, TestRunOptions, TracePoint, Xdp, XdpMode,
};
use aya::{Ebpf, EbpfLoader};

use super::abi::{self, Control, EgressValue, FlowKey, FlowValue, IngressKey, IngressValue};

static OBJECT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/offload.o"));

/// Which hook carries the fast path on an interface.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Hook {
    /// XDP in the driver (native), or generic XDP where the driver has none.
    #[default]
    Xdp,
    /// A TC ingress classifier (TCX).
    Tc,
}

impl Hook {
    pub fn name(self) -> &'static str {
        match self {
            Hook::Xdp => "xdp",
            Hook::Tc => "tc",
        }
    }
}

/// Why the fast path could not be loaded or attached.
#[derive(Debug, thiserror::Error)]
pub enum FastPathError {
    #[error("loading the BPF programs: {0}")]
    Load(#[from] aya::EbpfError),
    #[error("BPF program {0}: {1}")]
    Program(&'static str, #[source] aya::programs::ProgramError),
    #[error("BPF map {0}: {1}")]
    Map(&'static str, #[source] aya::maps::MapError),
    #[error("duplicating a BPF map's descriptor: {0}")]
    Dup(#[source] std::io::Error),
    #[error("BPF object has no {0}")]
    Missing(&'static str),
}

/// The global counters, summed over CPUs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    pub fast_packets: u64,
    pub fast_bytes: u64,
    pub slow_packets: u64,
    pub redirect_errors: u64,
    pub map_full: u64,
    pub watchdog: u64,
    pub finished: u64,
    /// Frames left to the stack because the captive portal has not authorised their device.
    pub portal: u64,
}

/// How the XDP program ended up attached.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Native,
    Generic,
    Tc,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Native => "native",
            Mode::Generic => "generic",
            Mode::Tc => "tc",
        }
    }
}

/// The loaded programs and their maps.
pub struct FastPath {
    ebpf: Ebpf,
    flows: HashMap<MapData, FlowKey, FlowValue>,
    ingress: HashMap<MapData, IngressKey, IngressValue>,
    egress: HashMap<MapData, u32, EgressValue>,
    control: Array<MapData, Control>,
    counters: PerCpuArray<MapData, u64>,
    seen: RingBuf<MapData>,
    portal: super::gate::PortalMap,
    capacity: u32,
    attached: StdHashMap<u32, Mode>,
}

const XDP: &str = "offload_xdp";
const TC: &str = "offload_tc";

/// A program of the object, as its type.
fn program<'a, P>(ebpf: &'a mut Ebpf, name: &'static str) -> Result<&'a mut P, FastPathError>
where
    &'a mut P: TryFrom<&'a mut aya::programs::Program, Error = aya::programs::ProgramError>,
{
    ebpf.program_mut(name)
        .ok_or(FastPathError::Missing(name))?
        .try_into()
        .map_err(|e| FastPathError::Program(name, e))
}

fn map<T>(
    ebpf: &mut Ebpf,
    name: &'static str,
    convert: impl FnOnce(aya::maps::Map) -> Result<T, aya::maps::MapError>,
) -> Result<T, FastPathError> {
    let m = ebpf.take_map(name).ok_or(FastPathError::Missing(name))?;
    convert(m).map_err(|e| FastPathError::Map(name, e))
}

impl FastPath {
    /// Loads the programs into the kernel (nothing is attached yet) with a flow map of
    /// `capacity` entries (each flow direction is one entry).
    ///
    /// # Errors
    /// When the kernel refuses a map or a program (no BPF permission, verifier).
    pub fn load(capacity: u32) -> Result<FastPath, FastPathError> {
        let mut ebpf = EbpfLoader::new()
            .map_max_entries("flows", capacity.max(2))
            .load(OBJECT)?;
        let mut ids = [0u32; 4];
        let xdp: &mut Xdp = program(&mut ebpf, XDP)?;
        xdp.load().map_err(|e| FastPathError::Program(XDP, e))?;
        ids[0] = xdp.info().map_err(|e| FastPathError::Program(XDP, e))?.id();
        let tc: &mut SchedClassifier = program(&mut ebpf, TC)?;
        tc.load().map_err(|e| FastPathError::Program(TC, e))?;
        ids[1] = tc.info().map_err(|e| FastPathError::Program(TC, e))?.id();
        let flows = map(&mut ebpf, "flows", HashMap::try_from)?;
        let ingress = map(&mut ebpf, "ingress", HashMap::try_from)?;
        let egress = map(&mut ebpf, "egress", HashMap::try_from)?;
        let mut control: Array<MapData, Control> = map(&mut ebpf, "control", Array::try_from)?;
        let counters = map(&mut ebpf, "counters", PerCpuArray::try_from)?;
        let seen = map(&mut ebpf, "seen", RingBuf::try_from)?;
        let portal = map(&mut ebpf, "portal", HashMap::try_from)?;
        let initial = Control {
            heartbeat_ns: 0,
            timeout_ns: 0,
            prog_ids: ids,
        };
        control
            .set(0, &initial, 0)
            .map_err(|e| FastPathError::Map("control", e))?;
        Ok(FastPath {
            ebpf,
            flows,
            ingress,
            egress,
            control,
            counters,
            seen,
            portal,
            capacity,
            attached: StdHashMap::new(),
        })
    }

    /// Counts failed XDP redirects (the kernel reports them on a tracepoint after our program
    /// returned). Needs tracefs; without it the count stays 0 and this says why.
    ///
    /// # Errors
    /// When the tracepoint cannot be attached.
    pub fn watch_redirect_errors(&mut self) -> Result<(), FastPathError> {
        const NAME: &str = "offload_redirect_err";
        let program: &mut TracePoint = program(&mut self.ebpf, NAME)?;
        program
            .load()
            .map_err(|e| FastPathError::Program(NAME, e))?;
        program
            .attach("xdp", "xdp_redirect_err")
            .map_err(|e| FastPathError::Program(NAME, e))?;
        Ok(())
    }

    /// Attaches the fast path to an interface: XDP tries native mode first, then generic.
    ///
    /// # Errors
    /// When the kernel refuses both modes (or TC).
    pub fn attach(&mut self, ifindex: u32, hook: Hook) -> Result<Mode, FastPathError> {
        let mode = match hook {
            Hook::Xdp => {
                let xdp: &mut Xdp = program(&mut self.ebpf, XDP)?;
                match xdp.attach(ifindex, XdpMode::Driver) {
                    Ok(_) => Mode::Native,
                    Err(native) => {
                        tracing::info!(ifindex, error = %native, "native XDP refused; trying generic");
                        xdp.attach(ifindex, XdpMode::Skb)
                            .map_err(|e| FastPathError::Program(XDP, e))?;
                        Mode::Generic
                    }
                }
            }
            Hook::Tc => {
                let tc: &mut SchedClassifier = program(&mut self.ebpf, TC)?;
                tc.attach(ifindex, TcAttachType::Ingress)
                    .map_err(|e| FastPathError::Program(TC, e))?;
                Mode::Tc
            }
        };
        self.attached.insert(ifindex, mode);
        Ok(mode)
    }

    /// The interfaces the fast path is attached to.
    pub fn attached(&self) -> &StdHashMap<u32, Mode> {
        &self.attached
    }

    /// Tells the watchdog user space is alive for another `timeout`.
    ///
    /// # Errors
    /// When the control map cannot be written.
    pub fn heartbeat(&mut self, timeout: Duration) -> Result<(), FastPathError> {
        let mut c = self
            .control
            .get(&0, 0)
            .map_err(|e| FastPathError::Map("control", e))?;
        c.heartbeat_ns = monotonic_ns();
        c.timeout_ns = u64::try_from(timeout.as_nanos()).unwrap_or(u64::MAX);
        self.control
            .set(0, &c, 0)
            .map_err(|e| FastPathError::Map("control", e))
    }

    /// The global counters, summed over CPUs.
    pub fn counters(&self) -> Counters {
        let sum = |index: abi::counter| -> u64 {
            self.counters
                .get(&index, 0)
                .map_or(0, |per_cpu| per_cpu.iter().sum())
        };
        Counters {
            fast_packets: sum(abi::counter_CNT_FAST_PACKETS),
            fast_bytes: sum(abi::counter_CNT_FAST_BYTES),
            slow_packets: sum(abi::counter_CNT_SLOW_PACKETS),
            redirect_errors: sum(abi::counter_CNT_REDIRECT_ERRORS),
            map_full: sum(abi::counter_CNT_MAP_FULL),
            watchdog: sum(abi::counter_CNT_WATCHDOG),
            finished: sum(abi::counter_CNT_FINISHED),
            portal: sum(abi::counter_CNT_PORTAL),
        }
    }

    /// The programs' average run time per packet in nanoseconds, from the kernel's BPF
    /// statistics (only counted while some process holds `BPF_ENABLE_STATS` open).
    pub fn ns_per_packet(&self) -> Option<f64> {
        let (mut time, mut count) = (0u128, 0u64);
        for name in [XDP, TC] {
            if let Some(info) = self.ebpf.program(name).and_then(|p| p.info().ok()) {
                time += info.run_time().as_nanos();
                count += info.run_count();
            }
        }
        #[allow(clippy::cast_precision_loss, reason = "a rounded average for display")]
        (count > 0).then(|| time as f64 / count as f64)
    }

    /// The flow map's size.
    pub fn capacity(&self) -> u32 {
        self.capacity
    }

    /// Every entry of the flow map (a snapshot; entries may change meanwhile).
    pub fn flows(&self) -> Vec<(FlowKey, FlowValue)> {
        self.flows.iter().filter_map(Result::ok).collect()
    }

    /// One flow entry.
    pub fn flow(&self, key: &FlowKey) -> Option<FlowValue> {
        self.flows.get(key, 0).ok()
    }

    /// Writes a flow entry.
    ///
    /// # Errors
    /// When the map is full or the kernel refuses.
    pub fn set_flow(&mut self, key: &FlowKey, value: &FlowValue) -> Result<(), FastPathError> {
        self.flows
            .insert(key, value, 0)
            .map_err(|e| FastPathError::Map("flows", e))
    }

    /// Removes a flow entry; a missing one is not an error.
    pub fn remove_flow(&mut self, key: &FlowKey) {
        let _ = self.flows.remove(key);
    }

    /// Says which layer 3 device frames on (ifindex, vlan, pppoe) belong to, and whether it
    /// is captive (`abi::ingress_flags_INGRESS_CAPTIVE`).
    ///
    /// # Errors
    /// When the kernel refuses.
    pub fn set_ingress(
        &mut self,
        key: &IngressKey,
        value: IngressValue,
    ) -> Result<(), FastPathError> {
        self.ingress
            .insert(key, &value, 0)
            .map_err(|e| FastPathError::Map("ingress", e))
    }

    /// A second handle on the `portal` map, for the portal's gate (which writes it from the
    /// portal's thread).
    ///
    /// # Errors
    /// When the descriptor cannot be duplicated.
    pub fn portal_map(&self) -> Result<super::gate::PortalMap, FastPathError> {
        use aya::maps::IterableMap as _;
        use std::os::fd::AsFd as _;
        let fd = self
            .portal
            .map()
            .fd()
            .as_fd()
            .try_clone_to_owned()
            .map_err(FastPathError::Dup)?;
        let data = MapData::from_fd(fd).map_err(|e| FastPathError::Map("portal", e))?;
        HashMap::try_from(aya::maps::Map::HashMap(data))
            .map_err(|e| FastPathError::Map("portal", e))
    }

    /// Forgets an ingress entry.
    pub fn remove_ingress(&mut self, key: &IngressKey) {
        let _ = self.ingress.remove(key);
    }

    /// Every ingress entry.
    pub fn ingress_entries(&self) -> Vec<IngressKey> {
        self.ingress.keys().filter_map(Result::ok).collect()
    }

    /// Says how to send out of a layer 3 device.
    ///
    /// # Errors
    /// When the kernel refuses.
    pub fn set_egress(
        &mut self,
        l3_ifindex: u32,
        value: &EgressValue,
    ) -> Result<(), FastPathError> {
        self.egress
            .insert(&l3_ifindex, value, 0)
            .map_err(|e| FastPathError::Map("egress", e))
    }

    /// Forgets an egress entry.
    pub fn remove_egress(&mut self, l3_ifindex: u32) {
        let _ = self.egress.remove(&l3_ifindex);
    }

    /// Every egress entry's layer 3 device.
    pub fn egress_entries(&self) -> Vec<u32> {
        self.egress.keys().filter_map(Result::ok).collect()
    }

    /// Keys of flows the fast path saw for the first time since the last call.
    pub fn take_seen(&mut self) -> Vec<FlowKey> {
        let mut out = Vec::new();
        while let Some(item) = self.seen.next() {
            if let Some(key) = parse_key(&item) {
                out.push(key);
            }
        }
        out
    }

    /// The ring buffer's file descriptor, readable when a new flow was seen.
    pub fn seen_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        use std::os::fd::AsFd as _;
        self.seen.as_fd()
    }

    /// Runs a hook's program on one frame with BPF_PROG_TEST_RUN: returns the program's
    /// verdict and the frame as it left. Used by the tests and the benchmark.
    ///
    /// # Errors
    /// When the kernel refuses the run.
    pub fn test_run(&mut self, hook: Hook, frame: &[u8]) -> Result<(u32, Vec<u8>), FastPathError> {
        let mut out = vec![0u8; frame.len() + 256];
        let result = self.run(hook, frame, &mut out, 0)?;
        out.truncate(result.data_size_out as usize);
        Ok((result.return_value, out))
    }

    /// The kernel's mean time of one run of the program on `frame` over `repeat` runs
    /// (`BPF_PROG_TEST_RUN`): the program's own cost per packet, without the device's.
    ///
    /// # Errors
    /// When the kernel refuses the test run.
    pub fn time_per_run(
        &mut self,
        hook: Hook,
        frame: &[u8],
        repeat: u32,
    ) -> Result<Duration, FastPathError> {
        let mut out = vec![0u8; frame.len() + 256];
        Ok(self.run(hook, frame, &mut out, repeat)?.duration)
    }

    fn run(
        &mut self,
        hook: Hook,
        frame: &[u8],
        out: &mut [u8],
        repeat: u32,
    ) -> Result<aya::programs::TestRunResult, FastPathError> {
        let name = match hook {
            Hook::Xdp => XDP,
            Hook::Tc => TC,
        };
        let opts = TestRunOptions {
            data_in: Some(frame),
            data_out: Some(out),
            repeat,
            ..TestRunOptions::new()
        };
        match hook {
            Hook::Xdp => program::<Xdp>(&mut self.ebpf, XDP)?.test_run(opts),
            Hook::Tc => program::<SchedClassifier>(&mut self.ebpf, TC)?.test_run(opts),
        }
        .map_err(|e| FastPathError::Program(name, e))
    }
}

fn parse_key(bytes: &[u8]) -> Option<FlowKey> {
    if bytes.len() < std::mem::size_of::<FlowKey>() {
        return None;
    }
    let mut key = FlowKey::default();
    let k = &mut key;
    k.ifindex = u32::from_ne_bytes(bytes[0..4].try_into().ok()?);
    k.vlan = u16::from_ne_bytes(bytes[4..6].try_into().ok()?);
    k.pppoe = u16::from_ne_bytes(bytes[6..8].try_into().ok()?);
    k.family = bytes[8];
    k.proto = bytes[9];
    k.sport = u16::from_ne_bytes(bytes[10..12].try_into().ok()?);
    k.dport = u16::from_ne_bytes(bytes[12..14].try_into().ok()?);
    for i in 0..4 {
        let at = 16 + 4 * i;
        k.src[i] = u32::from_ne_bytes(bytes[at..at + 4].try_into().ok()?);
        k.dst[i] = u32::from_ne_bytes(bytes[at + 16..at + 20].try_into().ok()?);
    }
    Some(key)
}

/// CLOCK_MONOTONIC in nanoseconds: the clock `bpf_ktime_get_ns` reads.
pub fn monotonic_ns() -> u64 {
    nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC).map_or(0, |t| {
        u64::try_from(t.tv_sec()).unwrap_or(0) * 1_000_000_000
            + u64::try_from(t.tv_nsec()).unwrap_or(0)
    })
}
