-- SPDX-License-Identifier: MIT
-- Version 4: what the topology source records beyond version 1's columns.
-- snapshots.pid: a process in the namespace when it was taken (how to enter it: nsenter -t).
-- links.link_ifindex: IFLA_LINK, the lower device (VLAN, macvlan, VXLAN's parent) or a veth's
--   peer index; links.info: the kind's own attributes as a JSON object (VLAN id, VXLAN id,
--   remote, local and port, macvlan mode, tun or tap, ...).
-- addresses.flags: IFA_F_* bits (permanent, secondary, tentative, ...).
-- routes.nexthop and routes.weight: a multipath route is one row per next hop, numbered from
--   1 with its weight; a single-path route has nexthop 0 and no weight.
ALTER TABLE snapshots ADD COLUMN pid INTEGER;
ALTER TABLE links ADD COLUMN link_ifindex INTEGER;
ALTER TABLE links ADD COLUMN info TEXT;
ALTER TABLE addresses ADD COLUMN flags INTEGER;
ALTER TABLE routes ADD COLUMN nexthop INTEGER;
ALTER TABLE routes ADD COLUMN weight INTEGER;
