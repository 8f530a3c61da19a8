/* The firewall offload's fast path: established flows forwarded without the stack.
 *
 * The same logic runs as an XDP program (`offload_xdp`) and as a TC ingress classifier
 * (`offload_tc`). A frame is ours when its (interface, VLAN, PPPoE session) is in the ingress
 * map. Its flow is looked up in the flow map:
 *   - unknown: recorded as FLOW_SEEN (and announced on the ring buffer) for user space, which
 *     offloads it once conntrack has an established entry for it; the frame goes to the stack;
 *   - offloaded: NAT (from conntrack, via user space), TTL / hop limit, checksums (incremental),
 *     next hop from bpf_fib_lookup on every packet (so route and neighbour changes apply at
 *     once; MTU checked there too), layer 2 rebuilt (MACs, VLAN tag, PPPoE header) and the
 *     frame redirected out of the egress device;
 *   - a TCP FIN or RST marks the flow finished and goes to the stack with everything after it.
 * On captive interfaces (the portal is on) a frame takes the fast path only when the device on
 * that side is authorised: its source MAC coming from there, the next hop's MAC going there,
 * looked up in the portal map with the access's end on the kernel's monotonic clock (read once
 * per packet, coarse). Broadcast, multicast, link-local, loopback and unspecified addresses
 * are never fast-pathed.
 * Everything this program does not understand goes to the stack unchanged: nothing is written
 * to a frame before every check has passed. If user space stops refreshing the heartbeat in
 * the control map, every frame goes to the stack (the watchdog fails open).
 *
 * Build: clang -O2 -g -target bpf -c offload.c (server/build.rs does it).
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "offload.h"

#define AF_INET 2
#define AF_INET6 10
#define E2BIG 7
#define PPP_IP 0x0021
#define PPP_IPV6 0x0057
#define MAX_L2 26

char _license[] SEC("license") = "Dual MIT/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384); /* user space sets the size from /etc/config/portico */
	__type(key, struct flow_key);
	__type(value, struct flow_value);
} flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, struct ingress_key);
	__type(value, struct ingress_value);
} ingress SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, struct egress_value);
} egress SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct fdb_key);
	__type(value, __u32);
} fdb SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct control);
} control SEC(".maps");

/* The portal's authorised devices (offload/gate.rs writes it with the nftables set). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct mac_key);
	__type(value, struct portal_access);
} portal SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

/* Keys of newly seen flows, so user space does not have to scan the flow map. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} seen SEC(".maps");

struct vlan_tag {
	__be16 tci;
	__be16 proto;
};

/* PPPoE session header followed by the PPP protocol field. */
struct pppoe {
	__u8 vertype;
	__u8 code;
	__be16 session;
	__be16 length;
	__be16 ppp_proto;
};

/* What the checks decided; nothing of the frame has been written yet. */
struct plan {
	struct flow_key key;
	__u32 l2_len;     /* bytes before the IP header in the frame as received */
	__u32 l3_len;     /* the IP packet's length */
	__u32 l4_off;     /* from the IP header */
	__u32 out_ifindex;
	__u32 new_l2_len;
	__u8 hdr[32] __attribute__((aligned(8))); /* the new layer 2 header, new_l2_len bytes */
	__u32 new_src[4];
	__u32 new_dst[4];
	__u16 new_sport;
	__u16 new_dport;
	__u8 tos;         /* IPv4 type of service, for the route lookup */
	__be32 flowinfo;  /* IPv6 traffic class and flow label, for the route lookup */
	struct flow_value *flow;
	__u64 now;        /* the packet's one clock read */
};

static __always_inline void count(__u32 index, __u64 n)
{
	__u64 *c = bpf_map_lookup_elem(&counters, &index);
	if (c)
		*c += n; /* per-CPU: no other writer */
}

/* Whether an IPv4 address may be a forwarded flow's end: not unspecified (0.0.0.0/8, DHCP's
 * source), loopback, link-local (169.254/16), multicast or limited broadcast. */
static __always_inline int ipv4_forwardable(__be32 addr)
{
	__u32 a = bpf_ntohl(addr);
	__u32 first = a >> 24;
	if (first == 0 || first == 127 || first >= 224)
		return 0;
	return (a >> 16) != 0xa9fe;
}

/* The same for IPv6: not unspecified, loopback, link-local (fe80::/10) or multicast (ff00::/8). */
static __always_inline int ipv6_forwardable(const struct in6_addr *addr)
{
	__u32 w0 = bpf_ntohl(addr->in6_u.u6_addr32[0]);
	if ((w0 >> 24) == 0xff || (w0 >> 22) == (0xfe80 >> 6))
		return 0;
	if (w0 == 0 && addr->in6_u.u6_addr32[1] == 0 && addr->in6_u.u6_addr32[2] == 0) {
		__u32 w3 = bpf_ntohl(addr->in6_u.u6_addr32[3]);
		if (w3 <= 1)
			return 0; /* :: and ::1 */
	}
	return 1;
}

/* Whether the portal lets this device through now. */
static __always_inline int authorised(const __u8 *mac, __u64 now)
{
	struct mac_key k = {};
	__builtin_memcpy(k.mac, mac, 6);
	struct portal_access *a = bpf_map_lookup_elem(&portal, &k);
	return a && (a->until_ns == 0 || now < a->until_ns);
}

/* Reads the headers up to the ports. Returns 0 when the frame is IPv4/IPv6 TCP/UDP that the
 * fast path may handle, -1 otherwise. `pkt_len` is the frame's whole length (an skb's data may
 * hold only part of it). */
static __always_inline int parse(void *data, void *data_end, __u32 pkt_len, __u16 meta_vlan,
				 struct plan *p, __u8 *tcp_flags, __u8 *ttl)
{
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > data_end)
		return -1;
	if (eth->h_dest[0] & 1)
		return -1; /* broadcast or multicast frame: the stack's (DHCP, ND, mDNS ...) */
	__be16 proto = eth->h_proto;
	__u32 off = sizeof(*eth);
	p->key.vlan = meta_vlan;
	if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD)) {
		struct vlan_tag *tag = data + off;
		if (meta_vlan || (void *)(tag + 1) > data_end)
			return -1; /* a second tag: QinQ is not ours */
		p->key.vlan = bpf_ntohs(tag->tci) & 0x0fff;
		proto = tag->proto;
		off += sizeof(*tag);
		if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD))
			return -1;
	}
	__u32 pppoe_len = 0;
	if (proto == bpf_htons(ETH_P_PPP_SES)) {
		struct pppoe *ph = data + off;
		if ((void *)(ph + 1) > data_end)
			return -1;
		if (ph->vertype != 0x11 || ph->code != 0 || ph->session == 0)
			return -1;
		if (ph->ppp_proto == bpf_htons(PPP_IP))
			proto = bpf_htons(ETH_P_IP);
		else if (ph->ppp_proto == bpf_htons(PPP_IPV6))
			proto = bpf_htons(ETH_P_IPV6);
		else
			return -1;
		p->key.pppoe = ph->session;
		pppoe_len = bpf_ntohs(ph->length);
		off += sizeof(*ph);
	}
	p->l2_len = off;

	void *l4;
	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = data + off;
		if ((void *)(ip + 1) > data_end)
			return -1;
		if (ip->version != 4 || ip->ihl < 5)
			return -1;
		if (ip->frag_off & bpf_htons(0x3fff))
			return -1; /* a fragment: the stack reassembles */
		if (!ipv4_forwardable(ip->saddr) || !ipv4_forwardable(ip->daddr))
			return -1;
		__u32 ihl = ip->ihl * 4;
		p->l3_len = bpf_ntohs(ip->tot_len);
		if (p->l3_len < ihl + 8)
			return -1;
		p->key.family = 4;
		p->key.proto = ip->protocol;
		p->key.src[0] = ip->saddr;
		p->key.dst[0] = ip->daddr;
		*ttl = ip->ttl;
		p->tos = ip->tos;
		p->l4_off = ihl;
		l4 = (void *)ip + ihl;
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = data + off;
		if ((void *)(ip6 + 1) > data_end)
			return -1;
		if (ip6->version != 6)
			return -1;
		/* Extension headers (and jumbograms) go to the stack. */
		if (ip6->nexthdr != IPPROTO_TCP && ip6->nexthdr != IPPROTO_UDP)
			return -1;
		if (!ipv6_forwardable(&ip6->saddr) || !ipv6_forwardable(&ip6->daddr))
			return -1;
		p->l3_len = sizeof(*ip6) + bpf_ntohs(ip6->payload_len);
		p->key.family = 6;
		p->key.proto = ip6->nexthdr;
		__builtin_memcpy(p->key.src, &ip6->saddr, 16);
		__builtin_memcpy(p->key.dst, &ip6->daddr, 16);
		*ttl = ip6->hop_limit;
		p->flowinfo = *(__be32 *)ip6 & bpf_htonl(0x0fffffff);
		p->l4_off = sizeof(*ip6);
		l4 = ip6 + 1;
	} else {
		return -1;
	}
	/* The IP length must fit in the frame (a truncated frame is the stack's business) and,
	 * in PPPoE, in the session's payload. */
	if (off + p->l3_len > pkt_len)
		return -1;
	if (pppoe_len && pppoe_len != p->l3_len + 2)
		return -1;

	if (p->key.proto == IPPROTO_TCP) {
		struct tcphdr *th = l4;
		if ((void *)(th + 1) > data_end)
			return -1;
		if (th->doff < 5 || p->l4_off + th->doff * 4 > p->l3_len)
			return -1;
		p->key.sport = th->source;
		p->key.dport = th->dest;
		*tcp_flags = ((__u8 *)th)[13];
	} else if (p->key.proto == IPPROTO_UDP) {
		struct udphdr *uh = l4;
		if ((void *)(uh + 1) > data_end)
			return -1;
		if (p->l4_off + bpf_ntohs(uh->len) > p->l3_len || bpf_ntohs(uh->len) < sizeof(*uh))
			return -1;
		p->key.sport = uh->source;
		p->key.dport = uh->dest;
	} else {
		return -1;
	}
	return 0;
}

/* The kernel's route for the packet as it will leave (addresses and ports after NAT): the
 * egress device and the next hop's MAC addresses, MTU checked against the packet. */
static __always_inline long route(void *ctx, struct plan *p, __u32 l3_ifindex,
				  struct bpf_fib_lookup *fib)
{
	__builtin_memset(fib, 0, sizeof(*fib));
	fib->l4_protocol = p->key.proto;
	fib->sport = p->new_sport;
	fib->dport = p->new_dport;
	fib->tot_len = p->l3_len;
	fib->ifindex = l3_ifindex;
	if (p->key.family == 4) {
		fib->family = AF_INET;
		fib->tos = p->tos;
		fib->ipv4_src = p->new_src[0];
		fib->ipv4_dst = p->new_dst[0];
	} else {
		fib->family = AF_INET6;
		fib->flowinfo = p->flowinfo;
		__builtin_memcpy(fib->ipv6_src, p->new_src, 16);
		__builtin_memcpy(fib->ipv6_dst, p->new_dst, 16);
	}
	return bpf_fib_lookup(ctx, fib, sizeof(*fib), 0);
}

/* Records a flow nobody has decided about yet. */
static __always_inline void record_seen(struct plan *p, __u64 now, const __u8 *captive_mac)
{
	struct flow_value v = {};
	v.state = FLOW_SEEN;
	v.created_ns = now;
	if (captive_mac)
		__builtin_memcpy(v.mac, captive_mac, 6);
	long rc = bpf_map_update_elem(&flows, &p->key, &v, BPF_NOEXIST);
	if (rc == -E2BIG) {
		count(CNT_MAP_FULL, 1);
		return;
	}
	if (rc == 0)
		bpf_ringbuf_output(&seen, &p->key, sizeof(p->key), 0);
}

/* Everything short of writing: the flow, the watchdog, the NAT, the next hop, the new layer
 * 2 header. Returns 0 when the frame may take the fast path. */
static __always_inline int decide(void *ctx, void *data, void *data_end, __u32 pkt_len,
				  __u32 ifindex, __u16 meta_vlan, struct plan *p)
{
	__u8 tcp_flags = 0, ttl = 0;
	__u32 zero = 0;
	struct control *ctl = bpf_map_lookup_elem(&control, &zero);
	/* One clock read per packet, the coarse one (a few ns instead of tens): CLOCK_MONOTONIC
	 * at the last tick, the clock user space writes the heartbeat and the portal's ends on.
	 * It may lag user space's precise reading by one tick: a device stays authorised up to one
	 * tick (≤ 10 ms) past its end, and a heartbeat "from the future" is fresh. */
	__u64 now = bpf_ktime_get_coarse_ns();
	p->now = now;
	if (!ctl || ctl->heartbeat_ns == 0 ||
	    (now > ctl->heartbeat_ns && now - ctl->heartbeat_ns > ctl->timeout_ns)) {
		count(CNT_WATCHDOG, 1);
		return -1;
	}

	if (parse(data, data_end, pkt_len, meta_vlan, p, &tcp_flags, &ttl))
		return -1;
	p->key.ifindex = ifindex;
	struct ingress_key ik = { .ifindex = ifindex, .vlan = p->key.vlan, .pppoe = p->key.pppoe };
	struct ingress_value *in = bpf_map_lookup_elem(&ingress, &ik);
	if (!in)
		return -1;
	const __u8 *source = ((struct ethhdr *)data)->h_source;
	int captive = in->flags & INGRESS_CAPTIVE;
	if (captive && !authorised(source, now)) {
		count(CNT_PORTAL, 1);
		return -1;
	}

	/* Learn where a bridge's stations are, for the way back. */
	if (in->l3_ifindex != ifindex && !p->key.vlan && !p->key.pppoe) {
		struct egress_value *bridge = bpf_map_lookup_elem(&egress, &in->l3_ifindex);
		if (bridge && (bridge->flags & EGRESS_BRIDGE)) {
			struct fdb_key fk = { .bridge = in->l3_ifindex };
			__builtin_memcpy(fk.mac, source, 6);
			__u32 *port = bpf_map_lookup_elem(&fdb, &fk);
			if (!port || *port != ifindex)
				bpf_map_update_elem(&fdb, &fk, &ifindex, BPF_ANY);
		}
	}

	struct bpf_fib_lookup fib;
	struct flow_value *v = bpf_map_lookup_elem(&flows, &p->key);
	if (!v) {
		record_seen(p, now, captive ? source : 0);
		return -1;
	}
	if (v->state != FLOW_OFFLOADED)
		return -1;
	if (p->key.proto == IPPROTO_TCP && (tcp_flags & 0x05)) { /* FIN or RST */
		v->state = FLOW_FINISHED;
		count(CNT_FINISHED, 1);
		return -1;
	}
	if (ttl <= 1)
		return -1; /* the stack sends the ICMP time exceeded */

	__builtin_memcpy(p->new_src, (v->nat & NAT_SRC) ? v->nat_src : p->key.src, 16);
	__builtin_memcpy(p->new_dst, (v->nat & NAT_DST) ? v->nat_dst : p->key.dst, 16);
	p->new_sport = (v->nat & NAT_SRC) ? v->nat_sport : p->key.sport;
	p->new_dport = (v->nat & NAT_DST) ? v->nat_dport : p->key.dport;

	/* Route, neighbour and MTU in one: anything but success is the stack's (it resolves the
	 * neighbour, sends "fragmentation needed", drops what has no route). */
	if (route(ctx, p, in->l3_ifindex, &fib) != BPF_FIB_LKUP_RET_SUCCESS)
		return -1;

	__u32 l3_out = fib.ifindex;
	struct egress_value *e = bpf_map_lookup_elem(&egress, &l3_out);
	if (!e)
		return -1;
	if ((e->flags & EGRESS_CAPTIVE) && !authorised(fib.dmac, now)) {
		count(CNT_PORTAL, 1);
		return -1;
	}
	p->out_ifindex = e->ifindex;
	if (e->flags & EGRESS_BRIDGE) {
		struct fdb_key fk = { .bridge = l3_out };
		__builtin_memcpy(fk.mac, fib.dmac, 6);
		__u32 *port = bpf_map_lookup_elem(&fdb, &fk);
		if (!port)
			return -1; /* the stack floods; the answer teaches us the port */
		p->out_ifindex = *port;
	}

	/* The new layer 2 header. */
	__u8 *h = p->hdr;
	if (e->pppoe) {
		__builtin_memcpy(h, e->peer_mac, 6);
		__builtin_memcpy(h + 6, e->own_mac, 6);
	} else {
		__builtin_memcpy(h, fib.dmac, 6);
		__builtin_memcpy(h + 6, fib.smac, 6);
	}
	__u32 n = 12;
	if (e->vlan) {
		*(__be16 *)(h + 12) = bpf_htons(ETH_P_8021Q);
		*(__be16 *)(h + 14) = bpf_htons(e->vlan);
		n = 16;
	}
	__be16 l3_proto = p->key.family == 4 ? bpf_htons(ETH_P_IP) : bpf_htons(ETH_P_IPV6);
	if (e->pppoe) {
		if (n == 16) {
			*(__be16 *)(h + 16) = bpf_htons(ETH_P_PPP_SES);
			struct pppoe *ph = (struct pppoe *)(h + 18);
			ph->vertype = 0x11;
			ph->code = 0;
			ph->session = e->pppoe;
			ph->length = bpf_htons(p->l3_len + 2);
			ph->ppp_proto = p->key.family == 4 ? bpf_htons(PPP_IP) : bpf_htons(PPP_IPV6);
			n = 26;
		} else {
			*(__be16 *)(h + 12) = bpf_htons(ETH_P_PPP_SES);
			struct pppoe *ph = (struct pppoe *)(h + 14);
			ph->vertype = 0x11;
			ph->code = 0;
			ph->session = e->pppoe;
			ph->length = bpf_htons(p->l3_len + 2);
			ph->ppp_proto = p->key.family == 4 ? bpf_htons(PPP_IP) : bpf_htons(PPP_IPV6);
			n = 22;
		}
	} else {
		*(__be16 *)(h + n) = l3_proto;
		n += 2;
	}
	p->new_l2_len = n;
	p->flow = v;
	return 0;
}

/* Adds the change of one 16-bit word to a ones' complement accumulator (RFC 1624). */
static __always_inline __u32 csum_word(__u32 acc, __u16 from, __u16 to)
{
	return acc + (__u16)~from + to;
}

static __always_inline __u16 csum_apply(__u16 check, __u32 acc)
{
	__u32 sum = (__u16)~check + acc;
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return ~sum;
}

static __always_inline __u32 csum_words(__u32 acc, __u32 *from, __u32 *to, int words32)
{
#pragma unroll
	for (int i = 0; i < 4; i++) {
		if (i < words32) {
			acc = csum_word(acc, from[i] & 0xffff, to[i] & 0xffff);
			acc = csum_word(acc, from[i] >> 16, to[i] >> 16);
		}
	}
	return acc;
}

/* NAT, TTL and checksums on the IP packet at `l3` (already behind the new layer 2 header).
 * Returns -1 only if the frame no longer holds what was checked, which cannot happen. */
static __always_inline int rewrite(void *l3, void *data_end, struct plan *p)
{
	int words = p->key.family == 4 ? 1 : 4;
	__u32 pseudo = csum_words(0, p->key.src, p->new_src, words);
	pseudo = csum_words(pseudo, p->key.dst, p->new_dst, words);
	__u32 l4_acc = csum_word(pseudo, p->key.sport, p->new_sport);
	l4_acc = csum_word(l4_acc, p->key.dport, p->new_dport);

	void *l4;
	if (p->key.family == 4) {
		struct iphdr *ip = l3;
		if ((void *)(ip + 1) > data_end)
			return -1;
		__u16 old_ttl_word = *(__u16 *)&ip->ttl;
		ip->ttl--;
		__u32 acc = csum_word(pseudo, old_ttl_word, *(__u16 *)&ip->ttl);
		ip->check = csum_apply(ip->check, acc);
		ip->saddr = p->new_src[0];
		ip->daddr = p->new_dst[0];
		__u32 ihl = p->l4_off & 0x3c; /* 20..60, as parsed */
		l4 = l3 + ihl;
	} else {
		struct ipv6hdr *ip6 = l3;
		if ((void *)(ip6 + 1) > data_end)
			return -1;
		ip6->hop_limit--;
		__builtin_memcpy(&ip6->saddr, p->new_src, 16);
		__builtin_memcpy(&ip6->daddr, p->new_dst, 16);
		l4 = ip6 + 1;
	}
	if (p->key.proto == IPPROTO_TCP) {
		struct tcphdr *th = l4;
		if ((void *)(th + 1) > data_end)
			return -1;
		th->check = csum_apply(th->check, l4_acc);
		th->source = p->new_sport;
		th->dest = p->new_dport;
	} else {
		struct udphdr *uh = l4;
		if ((void *)(uh + 1) > data_end)
			return -1;
		/* IPv4 UDP without a checksum stays without one; a computed 0 is sent as 0xffff. */
		if (uh->check || p->key.family == 6) {
			__u16 c = csum_apply(uh->check, l4_acc);
			uh->check = c ? c : 0xffff;
		}
		uh->source = p->new_sport;
		uh->dest = p->new_dport;
	}
	return 0;
}

static __always_inline void account(struct plan *p, __u64 segs)
{
	struct flow_value *v = p->flow;
	__sync_fetch_and_add(&v->packets, segs);
	__sync_fetch_and_add(&v->bytes, p->l3_len);
	v->last_ns = p->now;
	if (!v->first_fast_ns)
		v->first_fast_ns = v->last_ns;
	v->out_ifindex = p->out_ifindex;
	count(CNT_FAST_PACKETS, segs);
	count(CNT_FAST_BYTES, p->l3_len);
}

SEC("xdp")
int offload_xdp(struct xdp_md *ctx)
{
	struct plan p = {};
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	if (decide(ctx, data, data_end, data_end - data, ctx->ingress_ifindex, 0, &p)) {
		count(CNT_SLOW_PACKETS, 1);
		return XDP_PASS;
	}
	int delta = (int)p.new_l2_len - (int)p.l2_len;
	if (delta && bpf_xdp_adjust_head(ctx, -delta)) {
		count(CNT_SLOW_PACKETS, 1);
		return XDP_PASS; /* no headroom: nothing was written */
	}
	if (p.new_l2_len > MAX_L2 || p.new_l2_len < 14 ||
	    bpf_xdp_store_bytes(ctx, 0, p.hdr, p.new_l2_len))
		return XDP_ABORTED;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	__u32 l2 = p.new_l2_len;
	if (l2 > MAX_L2 || rewrite(data + l2, data_end, &p))
		return XDP_ABORTED;
	account(&p, 1);
	return bpf_redirect(p.out_ifindex, 0);
}

SEC("classifier")
int offload_tc(struct __sk_buff *skb)
{
	struct plan p = {};
	/* The headers must be in the linear part for direct access. */
	__u32 pull = skb->len < MAX_L2 + 60 + 60 ? skb->len : MAX_L2 + 60 + 60;
	bpf_skb_pull_data(skb, pull);
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	/* The stack has usually moved a VLAN tag into the skb's metadata before TC ingress. */
	__u16 meta_vlan = skb->vlan_present ? skb->vlan_tci & 0x0fff : 0;
	if (decide(skb, data, data_end, skb->len, skb->ifindex, meta_vlan, &p)) {
		count(CNT_SLOW_PACKETS, 1);
		return TC_ACT_OK;
	}
	/* VLAN tags leave as metadata (the device or the stack inserts them): the new in-frame
	 * header is the one without the tag. */
	__u16 out_vlan = 0;
	if (p.new_l2_len == 18 || p.new_l2_len == 26) {
		out_vlan = bpf_ntohs(*(__be16 *)(p.hdr + 14));
		__builtin_memmove(p.hdr + 12, p.hdr + 16, 10);
		p.new_l2_len -= 4;
	}
	int delta = (int)p.new_l2_len - (int)p.l2_len;
	/* Resizing needs skb->protocol to be IP: a frame with the tag or a PPPoE header still in
	 * its data (not what the stack delivers at ingress) cannot shrink and goes to the stack. */
	if (delta && bpf_skb_adjust_room(skb, delta, BPF_ADJ_ROOM_MAC, 0)) {
		count(CNT_SLOW_PACKETS, 1);
		return TC_ACT_OK;
	}
	if (meta_vlan)
		bpf_skb_vlan_pop(skb);
	if (out_vlan)
		bpf_skb_vlan_push(skb, bpf_htons(ETH_P_8021Q), out_vlan);
	if (p.new_l2_len > MAX_L2 || p.new_l2_len < 14 ||
	    bpf_skb_store_bytes(skb, 0, p.hdr, p.new_l2_len, 0))
		return TC_ACT_SHOT;
	data = (void *)(long)skb->data;
	data_end = (void *)(long)skb->data_end;
	__u32 l2 = p.new_l2_len;
	if (l2 > MAX_L2 || rewrite(data + l2, data_end, &p))
		return TC_ACT_SHOT;
	account(&p, skb->gso_segs ? skb->gso_segs : 1);
	return bpf_redirect(p.out_ifindex, 0);
}

/* The kernel reports failed XDP redirects here, after our program has returned. */
struct redirect_err {
	__u64 common;
	int prog_id;
	__u32 act;
	int ifindex;
	int err;
	int to_ifindex;
	__u32 map_id;
	int map_index;
};

SEC("tracepoint/xdp/xdp_redirect_err")
int offload_redirect_err(struct redirect_err *args)
{
	__u32 zero = 0;
	struct control *ctl = bpf_map_lookup_elem(&control, &zero);
	if (!ctl)
		return 0;
	int id = args->prog_id;
	if (id && (id == ctl->prog_ids[0] || id == ctl->prog_ids[1]))
		count(CNT_REDIRECT_ERRORS, 1);
	return 0;
}
