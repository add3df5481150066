-- SPDX-License-Identifier: MIT
-- netrec schema, version 1: creates every table of a partition.
-- Later versions are migrations: schema/vN.sql takes a partition from N-1 to N and is
-- applied in order by the store (see common/store.c and docs/schema.md).
-- Times are INTEGER nanoseconds since the Unix epoch (UTC); addresses are TEXT in inet_ntop
-- form; protocols are IANA numbers. Lookup indexes are built when a partition closes
-- (common/store.c), not here: they would slow ingest (docs/performance.md).

CREATE TABLE meta (
	key   TEXT PRIMARY KEY NOT NULL,
	value TEXT
) WITHOUT ROWID;

CREATE TABLE flows (
	ts_start_ns INTEGER NOT NULL,
	ts_end_ns   INTEGER NOT NULL,
	netns       INTEGER,
	ifindex     INTEGER,
	ifname      TEXT,
	direction   TEXT,
	family      INTEGER,
	proto       INTEGER,
	src         TEXT,
	dst         TEXT,
	sport       INTEGER,
	dport       INTEGER,
	packets     INTEGER NOT NULL DEFAULT 0,
	bytes       INTEGER NOT NULL DEFAULT 0,
	tcp_flags   INTEGER,
	src_mac     TEXT,
	dst_mac     TEXT,
	sampling    INTEGER NOT NULL DEFAULT 1,
	ethertype   INTEGER,
	icmp_type   INTEGER,
	icmp_code   INTEGER
);

CREATE TABLE conntrack (
	ts_ns         INTEGER NOT NULL,
	event         TEXT NOT NULL,
	netns         INTEGER,
	ct_id         INTEGER,
	family        INTEGER,
	proto         INTEGER,
	orig_src      TEXT,
	orig_dst      TEXT,
	orig_sport    INTEGER,
	orig_dport    INTEGER,
	reply_src     TEXT,
	reply_dst     TEXT,
	reply_sport   INTEGER,
	reply_dport   INTEGER,
	status        INTEGER,
	tcp_state     TEXT,
	mark          INTEGER,
	zone          INTEGER,
	orig_packets  INTEGER,
	orig_bytes    INTEGER,
	reply_packets INTEGER,
	reply_bytes   INTEGER,
	start_ns      INTEGER,
	stop_ns       INTEGER
);

CREATE TABLE sockets (
	ts_ns          INTEGER NOT NULL,
	kind           TEXT NOT NULL,
	netns          INTEGER,
	proto          INTEGER,
	family         INTEGER,
	state          TEXT,
	src            TEXT,
	sport          INTEGER,
	dst            TEXT,
	dport          INTEGER,
	direction      TEXT,
	inode          INTEGER,
	cookie         INTEGER,
	uid            INTEGER,
	pid            INTEGER,
	comm           TEXT,
	bytes_sent     INTEGER,
	bytes_received INTEGER,
	segs_out       INTEGER,
	segs_in        INTEGER,
	retrans        INTEGER,
	rtt_us         INTEGER,
	rttvar_us      INTEGER,
	cwnd           INTEGER
);

CREATE TABLE snapshots (
	id         INTEGER PRIMARY KEY,
	ts_ns      INTEGER NOT NULL,
	netns      INTEGER,
	netns_name TEXT,
	hash       TEXT
);

CREATE TABLE links (
	snapshot_id    INTEGER NOT NULL,
	ifindex        INTEGER,
	name           TEXT,
	kind           TEXT,
	mac            TEXT,
	mtu            INTEGER,
	operstate      TEXT,
	flags          INTEGER,
	master_ifindex INTEGER,
	peer_ifindex   INTEGER,
	peer_netns     INTEGER
);

CREATE TABLE addresses (
	snapshot_id INTEGER NOT NULL,
	ifindex     INTEGER,
	family      INTEGER,
	address     TEXT,
	prefixlen   INTEGER,
	scope       INTEGER
);

CREATE TABLE routes (
	snapshot_id INTEGER NOT NULL,
	table_id    INTEGER,
	family      INTEGER,
	dst         TEXT,
	dst_len     INTEGER,
	gateway     TEXT,
	oif         INTEGER,
	prefsrc     TEXT,
	protocol    INTEGER,
	scope       INTEGER,
	type        INTEGER,
	metric      INTEGER
);

CREATE TABLE neighbors (
	snapshot_id INTEGER NOT NULL,
	ifindex     INTEGER,
	address     TEXT,
	lladdr      TEXT,
	state       INTEGER
);

CREATE TABLE listeners (
	snapshot_id INTEGER NOT NULL,
	proto       INTEGER,
	address     TEXT,
	port        INTEGER,
	inode       INTEGER,
	pid         INTEGER,
	comm        TEXT
);

CREATE TABLE gaps (
	ts_start_ns INTEGER NOT NULL,
	ts_end_ns   INTEGER NOT NULL,
	source      TEXT NOT NULL,
	reason      TEXT NOT NULL,
	lost        INTEGER
);

CREATE TABLE health (
	ts_ns  INTEGER NOT NULL,
	source TEXT NOT NULL,
	metric TEXT NOT NULL,
	value  REAL
);
