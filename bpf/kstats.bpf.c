// SPDX-License-Identifier: MIT OR GPL-2.0
/* ringblast's kernel statistics: handshakes, connection lifetimes and states at close,
 * retransmits, resets and drops of ringblast's own TCP connections, counted in per-CPU maps.
 * The loader (src/kstats/ebpf.rs) sets the target and process below and reads the maps; each
 * hook exists as tp_btf and as a classic tracepoint, and the loader attaches one of the two.
 * Rebuild with scripts/build-bpf.sh; tests/kstats.rs checks the committed object is current. */
#include "kstats.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "Dual MIT/GPL";

/* Set by the loader before load: ringblast's process and the target's address and port. */
const volatile __u32 rb_tgid = 0;
const volatile __u32 rb_family = 0;
const volatile __u32 rb_port = 0;       /* network byte order, in the low 16 bits */
const volatile __u32 rb_addr[4] = {};   /* network byte order; IPv4 uses rb_addr[0] */

/* Counter slots; src/kstats/ebpf.rs names them the same way. */
enum {
	C_OPENED = 0,         /* CLOSE -> SYN_SENT for a connection of ours */
	C_HANDSHAKES = 1,     /* SYN_SENT -> ESTABLISHED */
	C_CLOSED = 2,         /* any -> CLOSE */
	C_RETRANSMITS = 3,
	C_SYN_RETRANSMITS = 4,
	C_RESETS_RECEIVED = 5,
	C_RESETS_SENT = 6,
	C_REFUSED = 7,        /* a reset received in SYN_SENT */
	C_HANDSHAKE_FAILED = 8, /* SYN_SENT -> CLOSE */
	C_UNTRACKED = 9,      /* the socket table was full */
	C_DROPS = 10,
	C_HANDSHAKE_MAX_NS = 11,
	C_LIFETIME_MAX_NS = 12,
	C_CLOSE_FROM = 16,    /* 16 + the state a connection left for CLOSE (1..12) */
	N_COUNTERS = 32,
};

/* Log-linear histogram of nanoseconds: 16 exact buckets, then 16 per power of two (3 %);
 * the last bucket holds everything from 2^47 ns (39 hours) up. */
#define N_BUCKETS 1024
#define N_REASONS 512

struct counters { __u64 c[N_COUNTERS]; };
struct histogram { __u64 b[N_BUCKETS]; };
struct reasons { __u64 r[N_REASONS]; };

/* Our connections, by socket address, with the time each entered SYN_SENT. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, __u64);
} socks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct counters);
} counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct histogram);
} handshake_ns SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct histogram);
} lifetime_ns SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct reasons);
} drops SEC(".maps");

static __always_inline void count(__u32 slot)
{
	__u32 zero = 0;
	struct counters *c = bpf_map_lookup_elem(&counters, &zero);
	/* A mask the compiler may not fold away: the verifier must see every index bounded. */
	barrier_var(slot);
	if (c)
		__sync_fetch_and_add(&c->c[slot & (N_COUNTERS - 1)], 1);
}

static __always_inline void raise_max(__u32 slot, __u64 v)
{
	__u32 zero = 0;
	struct counters *c = bpf_map_lookup_elem(&counters, &zero);
	/* Per CPU; a lost race only loses a maximum that another CPU's slot also saw. */
	barrier_var(slot);
	if (c && c->c[slot & (N_COUNTERS - 1)] < v)
		c->c[slot & (N_COUNTERS - 1)] = v;
}

/* floor(log2(v)) for v > 0, without loops (the verifier limits stack and branches). */
static __always_inline __u32 log2_u64(__u64 v)
{
	__u32 r = 0, s;
	s = (v > 0xFFFFFFFFULL) << 5; v >>= s; r |= s;
	s = (v > 0xFFFF) << 4; v >>= s; r |= s;
	s = (v > 0xFF) << 3; v >>= s; r |= s;
	s = (v > 0xF) << 2; v >>= s; r |= s;
	s = (v > 0x3) << 1; v >>= s; r |= s;
	r |= (__u32)(v >> 1);
	return r;
}

static __always_inline void record(void *map, __u64 ns)
{
	__u32 zero = 0, i;
	struct histogram *h = bpf_map_lookup_elem(map, &zero);
	if (!h)
		return;
	if (ns < 16) {
		i = (__u32)ns;
	} else {
		__u32 e = log2_u64(ns);
		i = 16 + (e - 4) * 16 + (__u32)((ns >> (e - 4)) & 15);
	}
	if (i >= N_BUCKETS)
		i = N_BUCKETS - 1;
	barrier_var(i);
	__sync_fetch_and_add(&h->b[i & (N_BUCKETS - 1)], 1);
}

/* Field reads. `direct` is a constant in each program: tp_btf arguments are BTF-typed kernel
 * pointers, read with plain (relocated, fault-safe) loads; classic tracepoints give bare
 * addresses, read with bpf_probe_read_kernel. Plain loads cost a fraction of the helper call. */
#define SK_READ(direct, sk, field) \
	((direct) ? (sk)->__sk_common.field : BPF_CORE_READ(sk, __sk_common.field))

static __always_inline int addr_is_target(const struct sock *sk, int direct)
{
	if (SK_READ(direct, sk, skc_family) != rb_family)
		return 0;
	if (rb_family == AF_INET)
		return SK_READ(direct, sk, skc_daddr) == rb_addr[0];
	struct in6_addr a = {};
	BPF_CORE_READ_INTO(&a, sk, __sk_common.skc_v6_daddr);
	return a.u6_addr32[0] == rb_addr[0] && a.u6_addr32[1] == rb_addr[1] &&
	       a.u6_addr32[2] == rb_addr[2] && a.u6_addr32[3] == rb_addr[3];
}

/* Every connection of ours has the target's port as its peer port: one read rules out the
 * rest of the host's sockets (the target's own, when it is local) before any map lookup. */
static __always_inline int to_target_port(const struct sock *sk, int direct)
{
	return sk && SK_READ(direct, sk, skc_dport) == (__be16)rb_port;
}

static __always_inline int tracked(const void *sk)
{
	__u64 key = (__u64)sk;
	return sk && bpf_map_lookup_elem(&socks, &key) != 0;
}

static __always_inline int ours_by_process(const struct sock *sk, int direct)
{
	return (__u32)(bpf_get_current_pid_tgid() >> 32) == rb_tgid && addr_is_target(sk, direct);
}

static __always_inline int on_state(const struct sock *sk, int oldstate, int newstate, int direct)
{
	if (!to_target_port(sk, direct))
		return 0;
	__u64 key = (__u64)sk;
	if (oldstate == RB_TCP_CLOSE && newstate == RB_TCP_SYN_SENT) {
		/* connect() runs in the connecting thread: io_uring's too, or its io-wq worker. */
		if (!ours_by_process(sk, direct))
			return 0;
		__u64 now = bpf_ktime_get_ns();
		if (bpf_map_update_elem(&socks, &key, &now, BPF_ANY) == 0)
			count(C_OPENED);
		else
			count(C_UNTRACKED);
		return 0;
	}
	/* Only the handshake's end and the close are measured: other moves need no lookup. */
	int established = oldstate == RB_TCP_SYN_SENT && newstate == RB_TCP_ESTABLISHED;
	if (!established && newstate != RB_TCP_CLOSE)
		return 0;
	__u64 *since = bpf_map_lookup_elem(&socks, &key);
	if (!since)
		return 0;
	__u64 age = bpf_ktime_get_ns() - *since;
	if (established) {
		count(C_HANDSHAKES);
		record(&handshake_ns, age);
		raise_max(C_HANDSHAKE_MAX_NS, age);
	} else if (newstate == RB_TCP_CLOSE) {
		count(C_CLOSED);
		if (oldstate == RB_TCP_SYN_SENT)
			count(C_HANDSHAKE_FAILED);
		if (oldstate > 0 && oldstate < 16)
			count(C_CLOSE_FROM + oldstate);
		record(&lifetime_ns, age);
		raise_max(C_LIFETIME_MAX_NS, age);
		bpf_map_delete_elem(&socks, &key);
	}
	return 0;
}

static __always_inline int on_retransmit(const struct sock *sk, int direct)
{
	if (!to_target_port(sk, direct) || !tracked(sk))
		return 0;
	count(C_RETRANSMITS);
	if (SK_READ(direct, sk, skc_state) == RB_TCP_SYN_SENT)
		count(C_SYN_RETRANSMITS);
	return 0;
}

static __always_inline int on_receive_reset(const struct sock *sk, int direct)
{
	if (!to_target_port(sk, direct) || !tracked(sk))
		return 0;
	count(C_RESETS_RECEIVED);
	if (SK_READ(direct, sk, skc_state) == RB_TCP_SYN_SENT)
		count(C_REFUSED);
	return 0;
}

struct ports { __be16 source, dest; };

/* Whether a packet travels between us and the target: read from its IP and TCP headers, which
 * every drop and reset path has set by the time these hooks run. to_target, from_target: which
 * directions count. */
static __always_inline int skb_flow(const struct sk_buff *skb, int to_target, int from_target,
				    int direct)
{
	unsigned char *head = direct ? skb->head : BPF_CORE_READ(skb, head);
	__u16 nh = direct ? skb->network_header : BPF_CORE_READ(skb, network_header);
	if (!head || nh == 0xFFFF)
		return 0;
	unsigned char *ip = head + nh;
	/* One read of the longest header (IPv6, 40 bytes) covers the IPv4 addresses too. */
	__u8 h[40] = {};
	if (bpf_probe_read_kernel(h, sizeof(h), ip) != 0)
		return 0;
	struct ports p = {};
	__u32 src[4] = {}, dst[4] = {};
	if ((h[0] >> 4) == 4 && rb_family == AF_INET) {
		if (h[9] != IPPROTO_TCP)
			return 0;
		__builtin_memcpy(&src[0], &h[12], 4);
		__builtin_memcpy(&dst[0], &h[16], 4);
		bpf_probe_read_kernel(&p, sizeof(p), ip + (h[0] & 15) * 4);
	} else if ((h[0] >> 4) == 6 && rb_family == AF_INET6) {
		if (h[6] != IPPROTO_TCP)
			return 0;
		__builtin_memcpy(src, &h[8], 16);
		__builtin_memcpy(dst, &h[24], 16);
		bpf_probe_read_kernel(&p, sizeof(p), ip + 40);
	} else {
		return 0;
	}
	int to = p.dest == (__be16)rb_port && dst[0] == rb_addr[0] && dst[1] == rb_addr[1] &&
		 dst[2] == rb_addr[2] && dst[3] == rb_addr[3];
	int from = p.source == (__be16)rb_port && src[0] == rb_addr[0] && src[1] == rb_addr[1] &&
		   src[2] == rb_addr[2] && src[3] == rb_addr[3];
	return (to_target && to) || (from_target && from);
}

static __always_inline int on_send_reset(const struct sock *sk, const struct sk_buff *skb,
					 int direct)
{
	/* Our socket resetting: tracked, or (close() with unread data resets after the move to
	 * CLOSE untracked it) ours by process and address. Or our host answering a segment from
	 * the target that found no socket of ours any more (sk is then NULL or a time-wait one). */
	int ours = to_target_port(sk, direct) && (tracked(sk) || ours_by_process(sk, direct));
	if (ours || (skb && skb_flow(skb, 0, 1, direct)))
		count(C_RESETS_SENT);
	return 0;
}

static __always_inline int on_drop(const struct sk_buff *skb, __u32 reason, int direct)
{
	/* 0 and 1 are "not dropped yet" and "consumed": not drops. */
	if (reason < 2 || !skb)
		return 0;
	const struct sock *sk = direct ? skb->sk : BPF_CORE_READ(skb, sk);
	if (!(to_target_port(sk, direct) && tracked(sk)) && !skb_flow(skb, 1, 1, direct))
		return 0;
	__u32 zero = 0, i = reason < N_REASONS ? reason : N_REASONS - 1;
	struct reasons *r = bpf_map_lookup_elem(&drops, &zero);
	barrier_var(i);
	if (r)
		__sync_fetch_and_add(&r->r[i & (N_REASONS - 1)], 1);
	count(C_DROPS);
	return 0;
}

/* tp_btf: the tracepoints' own arguments, typed by BTF; no tracefs needed. */

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(btf_set_state, const struct sock *sk, int oldstate, int newstate)
{
	return on_state(sk, oldstate, newstate, 1);
}

SEC("tp_btf/tcp_retransmit_skb")
int BPF_PROG(btf_retransmit, const struct sock *sk)
{
	/* Where the tracepoint reports the send's result (third argument), a failed send is not
	 * a retransmission on the wire. */
	if (bpf_core_type_exists(struct trace_event_raw_tcp_retransmit_skb) && (int)ctx[2] != 0)
		return 0;
	return on_retransmit(sk, 1);
}

SEC("tp_btf/tcp_receive_reset")
int BPF_PROG(btf_receive_reset, const struct sock *sk)
{
	return on_receive_reset(sk, 1);
}

SEC("tp_btf/tcp_send_reset")
int BPF_PROG(btf_send_reset, const struct sock *sk, const struct sk_buff *skb)
{
	return on_send_reset(sk, skb, 1);
}

SEC("tp_btf/kfree_skb")
int BPF_PROG(btf_kfree_skb, struct sk_buff *skb, void *location, int reason)
{
	return on_drop(skb, (__u32)reason, 1);
}

/* Classic tracepoints: the same hooks through tracefs records. */

SEC("tracepoint/sock/inet_sock_set_state")
int tp_set_state(struct trace_event_raw_inet_sock_set_state *ctx)
{
	return on_state(ctx->skaddr, ctx->oldstate, ctx->newstate, 0);
}

SEC("tracepoint/tcp/tcp_retransmit_skb")
int tp_retransmit(void *ctx)
{
	if (bpf_core_type_exists(struct trace_event_raw_tcp_retransmit_skb)) {
		struct trace_event_raw_tcp_retransmit_skb *r = ctx;
		return r->err != 0 ? 0 : on_retransmit(r->skaddr, 0);
	}
	struct trace_event_raw_tcp_event_sk_skb *r = ctx;
	return on_retransmit(r->skaddr, 0);
}

SEC("tracepoint/tcp/tcp_receive_reset")
int tp_receive_reset(struct trace_event_raw_tcp_event_sk *ctx)
{
	return on_receive_reset(ctx->skaddr, 0);
}

SEC("tracepoint/tcp/tcp_send_reset")
int tp_send_reset(void *ctx)
{
	/* Kernels since 6.10 record this reset in a type of its own. */
	if (bpf_core_type_exists(struct trace_event_raw_tcp_send_reset)) {
		struct trace_event_raw_tcp_send_reset *r = ctx;
		return on_send_reset(r->skaddr, r->skbaddr, 0);
	}
	struct trace_event_raw_tcp_event_sk_skb *r = ctx;
	return on_send_reset(r->skaddr, r->skbaddr, 0);
}

SEC("tracepoint/skb/kfree_skb")
int tp_kfree_skb(struct trace_event_raw_kfree_skb *ctx)
{
	/* Before 5.17 the record has no reason: count those drops as "not specified" (2). */
	__u32 reason = bpf_core_field_exists(ctx->reason) ? (__u32)ctx->reason : 2;
	return on_drop(ctx->skbaddr, reason, 0);
}
