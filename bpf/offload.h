/* The map types of the firewall offload: the one place both sides read them.
 *
 * The BPF programs (offload.c) include this header; Portico's build script runs bindgen on it,
 * so the Rust side (server/src/offload/abi.rs) gets the same `#[repr(C)]` structs. Every field
 * is sized and padded explicitly so the layout is the same for both compilers. Addresses and
 * ports are in network byte order, as they are in the packet.
 */
#ifndef PORTICO_OFFLOAD_H
#define PORTICO_OFFLOAD_H

#include <linux/types.h>

/* What the flow map knows about a flow. */
enum flow_state {
	/* Recorded by the fast path for user space; packets go to the stack. */
	FLOW_SEEN = 0,
	/* Filled in by user space: packets are forwarded by the fast path. */
	FLOW_OFFLOADED = 1,
	/* A TCP FIN or RST went by: packets go to the stack until user space removes it. */
	FLOW_FINISHED = 2,
	/* Traffic to or from the router itself (user space found out): the stack's, and not
	 * announced again. */
	FLOW_LOCAL = 3,
};

/* Which side of the packet user space's NAT rewrites. */
enum nat_flags {
	NAT_SRC = 1,
	NAT_DST = 2,
};

/* One direction of a flow, as it arrives. */
struct flow_key {
	__u32 ifindex; /* the interface the frame arrived on */
	__u16 vlan;    /* 802.1Q VLAN id, 0 when untagged */
	__u16 pppoe;   /* PPPoE session id (network order), 0 when not PPPoE */
	__u8 family;   /* 4 or 6 */
	__u8 proto;    /* IPPROTO_TCP or IPPROTO_UDP */
	__u16 sport;
	__u16 dport;
	__u16 pad;
	__u32 src[4]; /* IPv4 uses src[0] */
	__u32 dst[4];
};

struct flow_value {
	__u32 state; /* enum flow_state */
	__u32 nat;   /* enum nat_flags */
	__u32 nat_src[4];
	__u32 nat_dst[4];
	__u16 nat_sport;
	__u16 nat_dport;
	__u32 out_ifindex; /* the interface the last fast-path frame left by (written by BPF) */
	__u64 packets;     /* forwarded by the fast path */
	__u64 bytes;       /* IP bytes forwarded by the fast path */
	__u64 created_ns;  /* CLOCK_MONOTONIC: the flow's first packet (or its offload by user
	                    * space, for a flow the fast path never saw unknown) */
	__u64 last_ns;     /* CLOCK_MONOTONIC: last fast-path packet */
	__u64 first_fast_ns; /* CLOCK_MONOTONIC: first fast-path packet */
	__u8 mac[6];         /* the captive-side device the flow belongs to (all zero when the
	                      * flow did not arrive on a captive interface); recorded by BPF for
	                      * the direction from that device, copied to the other by user space */
	__u16 pad2;
};

/* Which layer-3 device a frame belongs to: a plain port maps to itself, a bridge port to its
 * bridge, a VLAN tag to the VLAN device, a PPPoE session to its ppp device. Written by user
 * space from rtnetlink; frames on (ifindex, vlan, pppoe) not in this map are not ours. */
struct ingress_key {
	__u32 ifindex;
	__u16 vlan;
	__u16 pppoe;
};

enum ingress_flags {
	/* The layer-3 device is captive (the portal is on): a frame is fast-pathed only when its
	 * source MAC is in the portal map. */
	INGRESS_CAPTIVE = 1,
};

struct ingress_value {
	__u32 l3_ifindex;
	__u32 flags; /* enum ingress_flags */
};

enum egress_flags {
	/* The layer-3 device is a bridge: the port comes from the fdb map. */
	EGRESS_BRIDGE = 1,
	/* The layer-3 device is captive: a frame is fast-pathed into it only when the next hop's
	 * MAC is in the portal map. */
	EGRESS_CAPTIVE = 2,
};

/* How to send out of a layer-3 device (keyed by its ifindex). */
struct egress_value {
	__u32 ifindex;       /* the device the frame is redirected to */
	__u16 vlan;          /* tag to push, 0 = none */
	__u16 pppoe;         /* PPPoE session (network order) to wrap in, 0 = none */
	__u8 peer_mac[6];    /* PPPoE: the access concentrator */
	__u8 own_mac[6];     /* PPPoE: our address on the lower device */
	__u32 flags;         /* enum egress_flags */
};

/* Bridge forwarding database learnt by the fast path from frames arriving on bridge ports. */
struct fdb_key {
	__u32 bridge;
	__u8 mac[6];
	__u16 pad;
};

/* The portal's authorised devices, mirrored from its nftables set in the same step (user space,
 * offload/gate.rs, writes it; the fast path reads it on captive interfaces). */
struct mac_key {
	__u8 mac[6];
	__u16 pad;
};

struct portal_access {
	__u64 until_ns; /* CLOCK_MONOTONIC end of access (the nft element's timeout); 0 = none */
};

/* Written by user space; entry 0 of the control array. */
struct control {
	__u64 heartbeat_ns; /* CLOCK_MONOTONIC of user space's last refresh */
	__u64 timeout_ns;   /* past heartbeat + timeout every packet goes to the stack */
	__u32 prog_ids[4];  /* our programs, to count only our redirect errors */
};

/* Indexes of the per-CPU counter array. */
enum counter {
	CNT_FAST_PACKETS = 0,
	CNT_FAST_BYTES = 1,
	CNT_SLOW_PACKETS = 2,
	CNT_REDIRECT_ERRORS = 3,
	CNT_MAP_FULL = 4,
	CNT_WATCHDOG = 5,
	CNT_FINISHED = 6,
	CNT_PORTAL = 7, /* frames left to the stack because their device is not authorised */
	CNT_MAX = 8,
};

#endif
