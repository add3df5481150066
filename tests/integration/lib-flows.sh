# SPDX-License-Identifier: MIT
# Shared by the flow-source tests (flows-*.sh), after lib.sh: silent links, interface counters
# as ground truth, and the tcx programs attached to an interface.
#
# Ground truth. At TC the flow programs count skb->len; the interface counters count the same
# skbs. A namespace that sends nothing but the test's traffic (no IPv6 link-local address, so
# no ND, MLD or router solicitations; static addresses; permanent neighbour entries, so no
# ARP or ND) makes the counter deltas, read before netrecd starts and after it has stopped,
# exactly what the programs saw. Measured on kernel 6.18: veth counters count the whole frame,
# as TC does; lo (both directions) and a bridge device (receive only) count the frame without
# its 14-byte Ethernet header, so for them TC's bytes are the counter's + 14 per packet.

# quiet_veth NS1 IF1 NS2 IF2: a veth pair from IF1 in NS1 to IF2 in NS2, up, with IPv6 address
# generation off (no link-local address: the link sends nothing by itself). The `name` and
# `dev` keywords keep short names such as "ma" from being read as keywords ("master").
quiet_veth() {
	ip -n "$1" link add name "$2" type veth peer name "$4" netns "$3" || fail "veth $2 -- $4"
	quiet_up "$1" "$2"
	quiet_up "$3" "$4"
}

# quiet_pair NS1 IF1 NS2 IF2 NET: quiet_veth, with NET.1/24 on IF1 and NET.2/24 on IF2, each
# the other's permanent neighbour (no ARP).
quiet_pair() {
	quiet_veth "$1" "$2" "$3" "$4"
	ip -n "$1" addr add "$5.1/24" dev "$2" || fail "address on $2"
	ip -n "$3" addr add "$5.2/24" dev "$4" || fail "address on $4"
	neigh_perm "$1" "$2" "$5.2" "$(link_mac "$3" "$4")"
	neigh_perm "$3" "$4" "$5.1" "$(link_mac "$1" "$2")"
}

# quiet_up NS IF: IPv6 address generation off, then up.
quiet_up() {
	ip -n "$1" link set dev "$2" addrgenmode none || fail "addrgenmode none on $2"
	ip -n "$1" link set dev "$2" up || fail "$2 up"
}

# link_mac NS IF
link_mac() {
	ip -n "$1" -j link show dev "$2" | "$PY" -c 'import json, sys; print(json.load(sys.stdin)[0]["address"])'
}

# link_stats NS...: one line per interface of each namespace:
# "INODE IFNAME IFINDEX KIND RX_PACKETS RX_BYTES TX_PACKETS TX_BYTES"
# KIND is the link kind (veth, bridge) or, without one, the link type (loopback).
link_stats() {
	for _n in "$@"; do
		ip -n "$_n" -s -d -j link show | "$PY" -c '
import json, sys
for l in json.load(sys.stdin):
    s = l["stats64"]
    kind = l.get("linkinfo", {}).get("info_kind") or l.get("link_type", "-")
    print(sys.argv[1], l["ifname"], l["ifindex"], kind, s["rx"]["packets"], s["rx"]["bytes"],
          s["tx"]["packets"], s["tx"]["bytes"])' "$(netns_inode "$_n")" || fail "counters of $_n"
	done
}

# settle NS...: waits until no counter of any interface of the namespaces has changed for
# 1.5 s. Adding an IPv6 address joins its solicited-node group, and the kernel sends an MLD
# report at once and again within a second; a bridge coming up sends a few as well.
settle() {
	link_stats "$@" >"$T/settle.a"
	_send=$(($(date +%s) + 15))
	while :; do
		sleep 1.5
		link_stats "$@" >"$T/settle.b"
		cmp -s "$T/settle.a" "$T/settle.b" && return 0
		[ "$(date +%s)" -lt "$_send" ] || fail "the namespaces $* are not quiet after 15 s"
		mv "$T/settle.b" "$T/settle.a"
	done
}

# recording N: netrecd's log ($T/rec.log) says "flows: recording netns" N times (it logs that
# once it has attached to every interface of the namespace).
recording() {
	[ "$(grep -c "flows: recording netns" "$T/rec.log")" -ge "$1" ]
}

# neigh_perm NS IF ADDR MAC: a permanent neighbour entry (no ARP or ND for ADDR).
neigh_perm() {
	ip -n "$1" neigh replace "$3" lladdr "$4" dev "$2" nud permanent || fail "neighbour $3 on $2"
}

# tcx_count NS IF DIR: how many tcx programs (links included) are attached to IF's DIR
# (ingress or egress) hook, by BPF_PROG_QUERY inside NS. (Debian's bpftool 7.1 knows no tcx:
# `bpftool net show` never lists tcx programs, and `bpftool link show` is not per namespace.)
tcx_count() {
	ip netns exec "$1" "$PY" - "$2" "$3" <<'EOF' || fail "BPF_PROG_QUERY on $2 in $1"
import ctypes, socket, struct, sys
libc = ctypes.CDLL(None, use_errno=True)
BPF_PROG_QUERY, TCX_INGRESS, TCX_EGRESS, NR_BPF = 16, 46, 47, 321  # x86_64
ifindex = socket.if_nametoindex(sys.argv[1])
typ = TCX_INGRESS if sys.argv[2] == "ingress" else TCX_EGRESS
# union bpf_attr, query: target_ifindex, attach_type, query_flags, attach_flags, prog_ids,
# count, pad, prog_attach_flags, link_ids, link_attach_flags, revision (64 bytes)
attr = ctypes.create_string_buffer(struct.pack("=IIIIQIIQQQQ", ifindex, typ, 0, 0, 0, 0, 0, 0, 0, 0, 0), 64)
if libc.syscall(NR_BPF, BPF_PROG_QUERY, attr, 64) != 0:
    sys.exit("BPF_PROG_QUERY: " + __import__("os").strerror(ctypes.get_errno()))
print(struct.unpack_from("=I", attr.raw, 24)[0])
EOF
}

# flows_vs_counters DATA BEFORE AFTER: for every interface listed in AFTER (link_stats
# output), the sums of packets and bytes of ALL its flows rows (every kind) per direction
# equal its counter deltas: ingress the receive counters, egress the transmit counters
# (interfaces missing from BEFORE were made later; their baseline is 0). Every row's
# (netns, ifname, ifindex) must be one of those interfaces, unless a fourth argument "only"
# says to check the interfaces of AFTER and ignore rows of any other. Fails after printing
# every comparison if any differs.
flows_vs_counters() {
	q -d "$1" sql "SELECT netns, ifname, ifindex, direction, sum(packets), sum(bytes), count(*)
		FROM flows GROUP BY netns, ifname, ifindex, direction" >"$T/fvc.rows"
	awk -v BEFORE="$2" -v ROWS="$T/fvc.rows" -v ONLY="${4:-}" '
	BEGIN {
		while ((getline l < BEFORE) > 0) {
			split(l, f, " ")
			b[f[1] " " f[2]] = f[5] " " f[6] " " f[7] " " f[8]
		}
		while ((getline l < ROWS) > 0) {
			split(l, f, ",")
			k = f[1] " " f[2] " " f[4]
			rp[k] = f[5]; rb[k] = f[6]; rn[k] = f[7]; ri[k] = f[3]
			seen[k] = 1
		}
		bad = 0
	}
	{
		key = $1 " " $2
		if (key in b) split(b[key], o, " "); else { o[1] = 0; o[2] = 0; o[3] = 0; o[4] = 0 }
		for (d = 0; d < 2; d++) {
			dir = d ? "egress" : "ingress"
			wp = $(5 + 2 * d) - o[1 + 2 * d]
			wb = $(6 + 2 * d) - o[2 + 2 * d]
			# lo counts without the Ethernet header; a bridge device does when receiving
			if ($4 == "loopback" || ($4 == "bridge" && dir == "ingress"))
				wb += 14 * wp
			k = key " " dir
			gp = (k in rp) ? rp[k] : 0
			gb = (k in rb) ? rb[k] : 0
			st = (gp == wp && gb == wb) ? "ok" : "BAD"
			if ((k in ri) && ri[k] != $3)
				st = "BAD(ifindex " ri[k] " is not " $3 ")"
			if (st != "ok")
				bad = 1
			printf "%s netns %s %s %s: rows %d packets %d bytes (%d rows), counters %d packets %d bytes\n", st, $1, $2, dir, gp, gb, rn[k], wp, wb
			delete seen[k]
		}
	}
	END {
		if (ONLY == "only")
			exit bad
		for (k in seen) {
			printf "BAD rows of an interface not in the namespaces: %s: %d packets %d bytes\n", k, rp[k], rb[k]
			bad = 1
		}
		exit bad
	}' "$3" >"$T/fvc.out" || {
		sed 's/^/  /' "$T/fvc.out" >&2
		fail "flow rows differ from the interface counters (BAD lines above)"
	}
	sed 's/^ok /ok: /' "$T/fvc.out"
}

# tcp_retrans NS: TCP segments retransmitted in NS so far (Tcp RetransSegs of /proc/net/snmp;
# tail-loss probes count too). With none, every payload byte crossed an interface once.
tcp_retrans() {
	ip netns exec "$1" awk '$1 == "Tcp:" { if (!h) { for (i = 2; i <= NF; i++) c[$i] = i; h = 1 }
		else print $c["RetransSegs"] }' /proc/net/snmp
}
