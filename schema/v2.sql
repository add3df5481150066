-- SPDX-License-Identifier: MIT
-- Version 2: the ICMP part of a conntrack tuple. ICMP and ICMPv6 entries have no ports; they
-- are told apart by type, code and echo identifier (which NAT rewrites like a port).
ALTER TABLE conntrack ADD COLUMN icmp_type INTEGER;
ALTER TABLE conntrack ADD COLUMN icmp_code INTEGER;
ALTER TABLE conntrack ADD COLUMN icmp_id INTEGER;
ALTER TABLE conntrack ADD COLUMN reply_icmp_id INTEGER;
