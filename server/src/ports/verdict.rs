//! From what a port heard to what is plugged into it.
//!
//! A port's [`Window`] keeps the last [`WINDOW`] of sightings (bounded, whatever arrives);
//! [`judge`] reads it into a [`Kind`] by fixed rules (mesh markers first, then servers, then
//! switches and clients); a [`Tracker`] states a verdict only after [`AGREE`] evaluations in a
//! row agree, says how long it has held, and freezes a port whose link flaps (back-off doubling
//! from [`FREEZE`] to [`MAX_FREEZE`]).

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::community::Community;
use super::frames::Sighting;

/// How long a sighting counts.
pub const WINDOW: Duration = Duration::from_secs(30);
/// Evaluations in a row that must agree before a verdict is stated.
pub const AGREE: u32 = 3;
/// How many link changes within [`FLAP_WINDOW`] make a port flap.
pub const FLAPS: usize = 4;
pub const FLAP_WINDOW: Duration = Duration::from_secs(60);
/// The first freeze of a flapping port; each freeze after another doubles it.
pub const FREEZE: Duration = Duration::from_secs(30);
pub const MAX_FREEZE: Duration = Duration::from_secs(480);
/// A verdict from weak evidence (nothing heard, or addresses alone) waits this long after
/// link-up: long enough for the probes' answers and the slower hellos to arrive.
pub const SETTLE: Duration = Duration::from_secs(10);
/// More distinct source addresses than this, with no server among them: a switch.
pub const SWITCH_MACS: usize = 4;
/// Sightings and addresses kept per port (a flood cannot grow them).
const MAX_SIGHTINGS: usize = 512;
const MAX_MACS: usize = 4096;

/// What is plugged into a port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// No carrier.
    NoLink,
    /// A link, but nothing heard yet.
    Quiet,
    /// An internet connection: a DHCP server, a PPPoE access concentrator or an IPv6 router,
    /// with no other clients of it in sight.
    Uplink,
    /// Another router's LAN: its DHCP server, and its clients beside us.
    ForeignLan,
    /// A mesh node of this router's community (its batman-adv VLAN or anygw MAC).
    MeshSame,
    /// A mesh node of another community.
    MeshOther,
    /// A babel mesh node whose community the frames do not tell.
    Mesh,
    /// A switch: spanning tree, LLDP saying "bridge", or many devices and no server.
    Switch,
    /// An access point (LLDP "wlan-ap", MikroTik or Ubiquiti discovery) with clients behind it.
    AccessPoint,
    /// One or a few devices asking for addresses.
    Clients,
    /// This port hears the router's own loop probe: it is joined to another port (or to itself).
    Loop,
}

/// The role a verdict suggests for its port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The internet side (`wan`/`wan6`), behind the firewall.
    Wan,
    /// A member of the LAN bridge.
    Lan,
    /// batman-adv and babel: the same community's mesh.
    Mesh,
    /// babel only: another community's mesh, routed.
    Babel,
    /// A routed segment of its own (an access point's clients).
    Routed,
    /// Blocked (a loop).
    Blocked,
}

impl Kind {
    /// The role this verdict suggests (`None`: nothing to change).
    pub fn role(self) -> Option<Role> {
        match self {
            Kind::NoLink | Kind::Quiet => None,
            Kind::Uplink | Kind::ForeignLan => Some(Role::Wan),
            Kind::MeshSame => Some(Role::Mesh),
            Kind::MeshOther | Kind::Mesh => Some(Role::Babel),
            Kind::Switch | Kind::Clients => Some(Role::Lan),
            Kind::AccessPoint => Some(Role::Routed),
            Kind::Loop => Some(Role::Blocked),
        }
    }
}

/// One kind of sighting on a port: how often within the window and how long ago last.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Evidence {
    #[serde(flatten)]
    pub sighting: Sighting,
    pub count: u32,
    pub last_secs_ago: u64,
}

/// What a port heard recently.
#[derive(Debug, Default)]
pub struct Window {
    sightings: VecDeque<(Instant, Sighting)>,
    macs: HashMap<[u8; 6], Instant>,
}

impl Window {
    /// Records a frame from `source` and what it was evidence of.
    pub fn record(&mut self, now: Instant, source: [u8; 6], sighting: Option<Sighting>) {
        if self.macs.len() < MAX_MACS || self.macs.contains_key(&source) {
            self.macs.insert(source, now);
        }
        if let Some(sighting) = sighting {
            if self.sightings.len() == MAX_SIGHTINGS {
                self.sightings.pop_front();
            }
            self.sightings.push_back((now, sighting));
        }
    }

    /// Forgets what is older than [`WINDOW`].
    pub fn prune(&mut self, now: Instant) {
        while self
            .sightings
            .front()
            .is_some_and(|(at, _)| now.duration_since(*at) > WINDOW)
        {
            self.sightings.pop_front();
        }
        self.macs.retain(|_, at| now.duration_since(*at) <= WINDOW);
    }

    /// Forgets everything (a new link: whatever was there before is gone).
    pub fn clear(&mut self) {
        self.sightings.clear();
        self.macs.clear();
    }

    /// Whether a sighting matching `what` arrived since `since`.
    pub fn heard_since(&self, since: Instant, what: impl Fn(&Sighting) -> bool) -> bool {
        self.sightings
            .iter()
            .rev()
            .take_while(|(at, _)| *at >= since)
            .any(|(_, s)| what(s))
    }

    /// Calls `f` with every sighting in the window.
    pub fn each(&self, mut f: impl FnMut(&Sighting)) {
        for (_, sighting) in &self.sightings {
            f(sighting);
        }
    }

    /// The distinct source addresses heard.
    pub fn sources(&self) -> impl Iterator<Item = &[u8; 6]> {
        self.macs.keys()
    }

    /// Distinct source addresses heard.
    pub fn macs(&self) -> usize {
        self.macs.len()
    }

    /// The sightings grouped, most recent first.
    pub fn evidence(&self, now: Instant) -> Vec<Evidence> {
        let mut grouped: Vec<(Sighting, u32, Instant)> = Vec::new();
        for (at, sighting) in &self.sightings {
            match grouped.iter_mut().find(|(s, _, _)| s == sighting) {
                Some((_, count, last)) => {
                    *count += 1;
                    *last = *at;
                }
                None => grouped.push((sighting.clone(), 1, *at)),
            }
        }
        grouped.sort_by_key(|(_, _, last)| std::cmp::Reverse(*last));
        grouped
            .into_iter()
            .map(|(sighting, count, last)| Evidence {
                sighting,
                count,
                last_secs_ago: now.duration_since(last).as_secs(),
            })
            .collect()
    }
}

/// What the evidence says is plugged in (given a link), and how strong the evidence is (0–100:
/// a server or mesh frame is 100, counting addresses alone 60).
pub fn judge(evidence: &[Evidence], macs: usize, ours: Option<&Community>) -> (Kind, u8) {
    let any = |f: &dyn Fn(&Sighting) -> bool| evidence.iter().any(|e| f(&e.sighting));
    if any(&|s| matches!(s, Sighting::Loop { .. })) {
        return (Kind::Loop, 100);
    }
    // Mesh markers: the community's own batman VLAN or anygw MAC, another's, or babel alone.
    let same = |s: &Sighting| match (s, ours) {
        (Sighting::Batman { vid, .. }, Some(c)) => *vid == Some(c.batman_vid),
        (Sighting::Anygw { id }, Some(c)) => *id == c.anygw,
        _ => false,
    };
    if any(&same) {
        return (Kind::MeshSame, 100);
    }
    if any(&|s| matches!(s, Sighting::Batman { .. } | Sighting::Anygw { .. })) {
        return (Kind::MeshOther, 100);
    }
    if any(&|s| matches!(s, Sighting::Babel { .. })) {
        return (Kind::Mesh, 100);
    }
    let clients = any(&|s| matches!(s, Sighting::DhcpClient | Sighting::Mdns));
    if any(&|s| matches!(s, Sighting::Pppoe { .. })) {
        return (Kind::Uplink, 100);
    }
    if any(&|s| {
        matches!(
            s,
            Sighting::DhcpServer { .. } | Sighting::RouterAdvert { .. }
        )
    }) {
        return if clients {
            (Kind::ForeignLan, 100)
        } else {
            (Kind::Uplink, 100)
        };
    }
    let announces = |capability: &str| {
        any(
            &|s| matches!(s, Sighting::Lldp { capabilities, .. } if capabilities.contains(&capability)),
        )
    };
    if any(&|s| matches!(s, Sighting::Stp)) || announces("bridge") && !announces("wlan-ap") {
        return (Kind::Switch, 100);
    }
    if announces("wlan-ap")
        || any(&|s| matches!(s, Sighting::Mndp { .. } | Sighting::Ubiquiti { .. }))
    {
        return (Kind::AccessPoint, if clients { 100 } else { 80 });
    }
    if macs > SWITCH_MACS {
        return (Kind::Switch, 60);
    }
    if clients {
        return (Kind::Clients, 100);
    }
    if macs > 0 || !evidence.is_empty() {
        return (Kind::Clients, 60);
    }
    (Kind::Quiet, 100)
}

/// A port's verdict as the tracker states it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Judgement {
    /// The stated verdict (`None` until [`AGREE`] evaluations agreed).
    pub kind: Option<Kind>,
    /// What the latest evaluation said.
    pub candidate: Kind,
    /// 0–100: agreement over time times the strength of the evidence.
    pub confidence: u8,
    /// How long the stated verdict has held.
    pub held_secs: u64,
    /// Link changes within [`FLAP_WINDOW`].
    pub flaps: usize,
    /// While frozen for flapping: seconds until the port is judged again.
    pub frozen_secs: Option<u64>,
}

/// One port's verdict over time.
#[derive(Debug)]
pub struct Tracker {
    candidate: Kind,
    agreeing: u32,
    stated: Option<(Kind, Instant)>,
    changes: VecDeque<Instant>,
    frozen_until: Option<Instant>,
    next_freeze: Duration,
    last_freeze_end: Option<Instant>,
}

impl Default for Tracker {
    fn default() -> Tracker {
        Tracker {
            candidate: Kind::Quiet,
            agreeing: 0,
            stated: None,
            changes: VecDeque::new(),
            frozen_until: None,
            next_freeze: FREEZE,
            last_freeze_end: None,
        }
    }
}

impl Tracker {
    /// The link went up or down at `now`.
    pub fn link_changed(&mut self, now: Instant) {
        self.changes.push_back(now);
        while self.changes.len() > FLAPS * 4 {
            self.changes.pop_front();
        }
        self.agreeing = 0;
    }

    /// One evaluation at `now`, the link up for `linked`: the kind the evidence says (`judge`'s
    /// answer, or `NoLink`) and its strength.
    pub fn evaluate(
        &mut self,
        now: Instant,
        linked: Duration,
        kind: Kind,
        strength: u8,
    ) -> Judgement {
        while self
            .changes
            .front()
            .is_some_and(|at| now.duration_since(*at) > FLAP_WINDOW)
        {
            self.changes.pop_front();
        }
        if self.frozen_until.is_some_and(|until| now >= until) {
            // Thawed: the flaps that froze it are spent.
            self.frozen_until = None;
            self.last_freeze_end = Some(now);
            self.changes.clear();
        }
        let flaps = self.changes.len();
        if self.frozen_until.is_none() && flaps >= FLAPS {
            // Calm for long after the last freeze: start again from the shortest.
            if self
                .last_freeze_end
                .is_some_and(|end| now.duration_since(end) > MAX_FREEZE * 2)
            {
                self.next_freeze = FREEZE;
            }
            self.frozen_until = Some(now + self.next_freeze);
            self.next_freeze = (self.next_freeze * 2).min(MAX_FREEZE);
        }
        if kind == self.candidate {
            self.agreeing = self.agreeing.saturating_add(1);
        } else {
            self.candidate = kind;
            self.agreeing = 1;
        }
        let frozen_secs = self
            .frozen_until
            .map(|until| until.saturating_duration_since(now).as_secs().max(1));
        let certain = kind == Kind::NoLink;
        let weak = kind == Kind::Quiet || strength < 100;
        if frozen_secs.is_none()
            && (self.agreeing >= AGREE && (!weak || linked >= SETTLE) || certain)
            && self.stated.is_none_or(|(stated, _)| stated != kind)
        {
            self.stated = Some((kind, now));
        }
        let agreement = 100 - 100 / 2u32.pow(self.agreeing.min(7));
        let agreement = if certain { 100 } else { agreement.min(99) };
        Judgement {
            kind: self.stated.map(|(k, _)| k),
            candidate: kind,
            confidence: u8::try_from(agreement * u32::from(strength) / 100).unwrap_or(100),
            held_secs: self
                .stated
                .map_or(0, |(_, since)| now.duration_since(since).as_secs()),
            flaps,
            frozen_secs,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn evidence(sightings: &[Sighting]) -> Vec<Evidence> {
        sightings
            .iter()
            .map(|s| Evidence {
                sighting: s.clone(),
                count: 1,
                last_secs_ago: 0,
            })
            .collect()
    }

    fn kind(sightings: &[Sighting], macs: usize) -> Kind {
        let ours = Community::of_ssid("LibreMesh.org");
        judge(&evidence(sightings), macs, Some(&ours)).0
    }

    const OFFER: Sighting = Sighting::DhcpServer {
        server: Ipv4Addr::new(100, 64, 0, 1),
        offered: Ipv4Addr::new(100, 64, 0, 9),
    };

    #[test]
    fn the_rules() {
        assert_eq!(kind(&[], 0), Kind::Quiet);
        assert_eq!(kind(std::slice::from_ref(&OFFER), 1), Kind::Uplink);
        assert_eq!(kind(&[OFFER.clone(), Sighting::Mdns], 3), Kind::ForeignLan);
        let ours = Sighting::Batman {
            originator: None,
            vid: Some(29),
        };
        let theirs = Sighting::Batman {
            originator: None,
            vid: Some(177),
        };
        assert_eq!(
            kind(&[OFFER.clone(), ours], 2),
            Kind::MeshSame,
            "mesh beats DHCP"
        );
        assert_eq!(kind(&[theirs], 1), Kind::MeshOther);
        assert_eq!(
            kind(&[Sighting::Anygw { id: [0x0d, 0xfe] }], 1),
            Kind::MeshSame
        );
        assert_eq!(
            kind(&[Sighting::Anygw { id: [0xa1, 0xfb] }], 1),
            Kind::MeshOther
        );
        assert_eq!(
            kind(
                &[Sighting::Babel {
                    neighbour: "fe80::1".parse().unwrap(),
                    vid: None,
                    hears_us: false,
                }],
                1
            ),
            Kind::Mesh
        );
        assert_eq!(kind(&[Sighting::Stp], 1), Kind::Switch);
        assert_eq!(kind(&[Sighting::Mdns], 9), Kind::Switch, "many devices");
        assert_eq!(kind(&[Sighting::DhcpClient], 1), Kind::Clients);
        assert_eq!(kind(&[], 2), Kind::Clients);
        assert_eq!(
            kind(
                &[Sighting::Ubiquiti { name: "ap".into() }, Sighting::Mdns],
                3
            ),
            Kind::AccessPoint
        );
        assert_eq!(
            kind(&[OFFER.clone(), Sighting::Loop { from: 3 }], 2),
            Kind::Loop
        );
    }

    const LINKED: Duration = Duration::from_secs(60);

    #[test]
    fn silence_is_a_verdict_only_after_the_probes_had_time() {
        let mut tracker = Tracker::default();
        let t0 = Instant::now();
        for s in 0..9 {
            let linked = Duration::from_secs(s);
            let j = tracker.evaluate(t0 + linked, linked, Kind::Quiet, 100);
            assert_eq!(j.kind, None, "{s} s after link-up");
        }
        let linked = SETTLE;
        assert_eq!(
            tracker.evaluate(t0 + linked, linked, Kind::Quiet, 100).kind,
            Some(Kind::Quiet)
        );
    }

    #[test]
    fn a_verdict_needs_three_agreeing_evaluations() {
        let mut tracker = Tracker::default();
        let t0 = Instant::now();
        let at = |s| t0 + Duration::from_secs(s);
        assert_eq!(
            tracker.evaluate(at(0), LINKED, Kind::Uplink, 100).kind,
            None
        );
        assert_eq!(
            tracker.evaluate(at(1), LINKED, Kind::Uplink, 100).kind,
            None
        );
        let third = tracker.evaluate(at(2), LINKED, Kind::Uplink, 100);
        assert_eq!(third.kind, Some(Kind::Uplink));
        assert_eq!(third.confidence, 88);
        assert_eq!(
            tracker
                .evaluate(at(40), LINKED, Kind::Uplink, 100)
                .held_secs,
            38
        );
        // One disagreeing evaluation does not overturn it.
        let odd = tracker.evaluate(at(41), LINKED, Kind::Clients, 60);
        assert_eq!(
            (odd.kind, odd.candidate),
            (Some(Kind::Uplink), Kind::Clients)
        );
        // Losing the link is certain at once.
        let down = tracker.evaluate(at(42), LINKED, Kind::NoLink, 100);
        assert_eq!((down.kind, down.confidence), (Some(Kind::NoLink), 100));
    }

    #[test]
    fn a_flapping_port_freezes_with_back_off() {
        let mut tracker = Tracker::default();
        let t0 = Instant::now();
        let at = |s| t0 + Duration::from_secs(s);
        for s in 0..4 {
            tracker.link_changed(at(s));
        }
        let frozen = tracker.evaluate(at(4), LINKED, Kind::Uplink, 100);
        assert_eq!((frozen.flaps, frozen.frozen_secs), (4, Some(30)));
        for s in 5..10 {
            assert_eq!(
                tracker.evaluate(at(s), LINKED, Kind::Uplink, 100).kind,
                None,
                "frozen"
            );
        }
        // Thawed after 30 s; it flaps again and the freeze doubles.
        assert_eq!(
            tracker.evaluate(at(35), LINKED, Kind::Uplink, 100).kind,
            Some(Kind::Uplink)
        );
        for s in 36..40 {
            tracker.link_changed(at(s));
        }
        assert_eq!(
            tracker
                .evaluate(at(40), LINKED, Kind::Uplink, 100)
                .frozen_secs,
            Some(60)
        );
    }

    #[test]
    fn the_window_is_bounded_and_forgets() {
        let mut window = Window::default();
        let t0 = Instant::now();
        for i in 0..10_000u32 {
            let b = i.to_be_bytes();
            window.record(t0, [2, 0, b[0], b[1], b[2], b[3]], Some(Sighting::Mdns));
        }
        assert_eq!(window.macs(), MAX_MACS);
        let evidence = window.evidence(t0);
        assert_eq!(evidence.len(), 1);
        assert_eq!(evidence[0].count, u32::try_from(MAX_SIGHTINGS).unwrap());
        window.prune(t0 + WINDOW + Duration::from_secs(1));
        assert_eq!((window.macs(), window.evidence(t0).len()), (0, 0));
    }
}
