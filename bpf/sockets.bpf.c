// SPDX-License-Identifier: GPL-2.0
/*
 * netrec sockets: remembers which process created each TCP and UDP socket, so that a
 * connection's rows name its process even when the process exited before the first sample.
 *
 * A cgroup/sock_create program on the root of the cgroup v2 hierarchy runs in the creating
 * process's context for every AF_INET and AF_INET6 socket of every namespace, and stores
 * cookie -> (pid, uid, comm) in an LRU hash. netrecd deletes an entry once it has copied it
 * (first sample or close); the LRU drops the oldest entries of sockets netrecd never saw.
 * It always allows the socket: it only watches.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "sockets.h"

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536); /* set before load */
	__type(key, __u64);
	__type(value, struct nr_sock_owner);
} sock_owners SEC(".maps");

SEC("cgroup/sock_create")
int sock_create(struct bpf_sock *sk)
{
	__u64 cookie, pid_tgid = bpf_get_current_pid_tgid();
	struct nr_sock_owner o = {};

	if (sk->protocol != IPPROTO_TCP && sk->protocol != IPPROTO_UDP)
		return 1;
	cookie = bpf_get_socket_cookie(sk);
	o.created_ns = bpf_ktime_get_ns();
	o.pid = pid_tgid >> 32;
	o.uid = (__u32)bpf_get_current_uid_gid();
	bpf_get_current_comm(o.comm, sizeof(o.comm));
	bpf_map_update_elem(&sock_owners, &cookie, &o, BPF_ANY);
	return 1;
}

char LICENSE[] SEC("license") = "GPL";
