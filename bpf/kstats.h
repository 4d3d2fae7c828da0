/* The few kernel types ringblast's BPF programs read, declared for CO-RE: the loader relocates
 * every field by name against the running kernel's BTF, so no vmlinux.h is needed. */
#ifndef RINGBLAST_KSTATS_H
#define RINGBLAST_KSTATS_H

typedef unsigned char __u8;
typedef unsigned short __u16;
typedef unsigned int __u32;
typedef unsigned long long __u64;
typedef signed char __s8;
typedef short __s16;
typedef int __s32;
typedef long long __s64;
typedef __u16 __be16;
typedef __u32 __be32;
typedef __u64 __be64;
typedef __u32 __wsum;

/* The uapi constants used below; their values are part of the kernel ABI. */
enum { BPF_MAP_TYPE_HASH = 1, BPF_MAP_TYPE_PERCPU_ARRAY = 6 };
enum { BPF_ANY = 0, BPF_NOEXIST = 1 };
#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_TCP 6

/* TCP states, as include/net/tcp_states.h numbers them (stable since 2.6). */
enum {
	RB_TCP_ESTABLISHED = 1,
	RB_TCP_SYN_SENT = 2,
	RB_TCP_CLOSE = 7,
};

struct in6_addr {
	__u32 u6_addr32[4];
};

/* Flat here; in the kernel these sit in anonymous unions, which CO-RE matching looks through. */
struct sock_common {
	__be32 skc_daddr;
	__be16 skc_dport;
	unsigned short skc_family;
	volatile unsigned char skc_state;
	struct in6_addr skc_v6_daddr;
} __attribute__((preserve_access_index));

struct sock {
	struct sock_common __sk_common;
} __attribute__((preserve_access_index));

struct sk_buff {
	struct sock *sk;
	unsigned char *head;
	__u16 network_header;
} __attribute__((preserve_access_index));

/* Classic tracepoint records (the fallback when tp_btf cannot attach). */
struct trace_entry {
	unsigned short type;
} __attribute__((preserve_access_index));

struct trace_event_raw_inet_sock_set_state {
	const void *skaddr;
	int oldstate;
	int newstate;
} __attribute__((preserve_access_index));

struct trace_event_raw_tcp_event_sk_skb {
	const void *skbaddr;
	const void *skaddr;
} __attribute__((preserve_access_index));

/* Since 6.x the retransmit tracepoint has its own record, with the send's result. */
struct trace_event_raw_tcp_retransmit_skb {
	const void *skbaddr;
	const void *skaddr;
	int err;
} __attribute__((preserve_access_index));

struct trace_event_raw_tcp_send_reset {
	const void *skbaddr;
	const void *skaddr;
} __attribute__((preserve_access_index));

struct trace_event_raw_tcp_event_sk {
	const void *skaddr;
} __attribute__((preserve_access_index));

struct trace_event_raw_kfree_skb {
	void *skbaddr;
	int reason;
} __attribute__((preserve_access_index));

#endif
