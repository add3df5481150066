# SPDX-License-Identifier: MIT
"""Compares one stored topology snapshot with `ip -j` of the same namespace, field by field
(for topology-snapshot.sh; not a test itself).

  topo_compare.py NETREC DATADIR SNAPSHOT_ID NETNS_NAME

Reads the snapshot's links, addresses and routes with `netrec sql` (CSV) and the
namespace's `ip -j -d link show`, `ip -j addr show` and `ip -N -j route show table all`,
and prints one "ok:" line per table with the number of items compared, or "FAIL: ..." lines
and exits 1. ip omits a route's table (main), protocol (boot), scope (universe), type
(unicast) and metric (0) at their defaults; those defaults are filled in here.
"""
import csv
import io
import json
import subprocess
import sys

netrec, data, snap, ns = sys.argv[1:5]
fails = []


def sql(q):
    out = subprocess.run([netrec, "-d", data, "-f", "csv", "sql", q], check=True,
                         capture_output=True, text=True).stdout
    return list(csv.DictReader(io.StringIO(out)))


def ip(*args):
    out = subprocess.run(["ip", "-n", ns] + list(args), check=True, capture_output=True,
                         text=True).stdout
    return json.loads(out)


def check(what, got, want):
    if str(got) != str(want):
        fails.append("%s: stored %r, ip says %r" % (what, got, want))


# --- links
links = {int(r["ifindex"]): r for r in sql("SELECT * FROM links WHERE snapshot_id = %s" % snap)}
iplinks = ip("-j", "-d", "link", "show")
names = {l["ifindex"]: l["ifname"] for l in iplinks}
check("number of links", len(links), len(iplinks))
for l in iplinks:
    r = links.get(l["ifindex"])
    if not r:
        fails.append("link %s not stored" % l["ifname"])
        continue
    w = "link %s" % l["ifname"]
    check(w + " name", r["name"], l["ifname"])
    check(w + " mtu", r["mtu"], l["mtu"])
    check(w + " operstate", r["operstate"].upper(), l["operstate"])
    check(w + " mac", r["mac"], l.get("address", "") if l.get("link_type") in ("ether", "loopback") else r["mac"])
    check(w + " UP flag", bool(int(r["flags"]) & 1), "UP" in l["flags"])
    info = l.get("linkinfo", {})
    check(w + " kind", r["kind"], info.get("info_kind", ""))
    if "master" in l:
        check(w + " master", names.get(int(r["master_ifindex"] or 0)), l["master"])
    else:
        check(w + " master", r["master_ifindex"], "")
    data_ = info.get("info_data", {})
    kinfo = json.loads(r["info"]) if r["info"] else {}
    kind = info.get("info_kind")
    if kind == "veth":
        if "link_index" in l:  # the peer is in another namespace
            check(w + " peer ifindex", r["peer_ifindex"], l["link_index"])
        else:
            check(w + " peer", names.get(int(r["peer_ifindex"] or 0)), l.get("link"))
    elif kind == "vxlan":
        check(w + " vxlan id", kinfo.get("id"), data_.get("id"))
        check(w + " vxlan remote", kinfo.get("remote"), data_.get("remote"))
        check(w + " vxlan local", kinfo.get("local"), data_.get("local"))
        check(w + " vxlan port", kinfo.get("port"), data_.get("port"))
        check(w + " vxlan device", names.get(int(r["link_ifindex"] or 0)), data_.get("link"))
    elif kind in ("macvlan", "macvtap"):
        check(w + " mode", kinfo.get("mode"), data_.get("mode"))
        check(w + " parent", names.get(int(r["link_ifindex"] or 0)), l.get("link"))
    elif kind == "tun":
        check(w + " tun type", kinfo.get("type"), data_.get("type"))

# --- addresses
scopes = {"global": 0, "site": 200, "link": 253, "host": 254}
addrs = {(int(r["ifindex"]), r["address"], int(r["prefixlen"])): r
         for r in sql("SELECT * FROM addresses WHERE snapshot_id = %s" % snap)}
n = 0
for l in ip("-j", "addr", "show"):
    for a in l.get("addr_info", []):
        n += 1
        k = (l["ifindex"], a["local"], a["prefixlen"])
        r = addrs.get(k)
        if not r:
            fails.append("address %s/%s on %s not stored" % (a["local"], a["prefixlen"], l["ifname"]))
            continue
        check("address %s scope" % a["local"], r["scope"], scopes.get(a["scope"], a["scope"]))
        check("address %s family" % a["local"], r["family"], 4 if a["family"] == "inet" else 6)
        fl = int(r["flags"])
        check("address %s nodad flag" % a["local"], bool(fl & 0x02), bool(a.get("nodad")))
        check("address %s permanent flag" % a["local"], bool(fl & 0x80), not a.get("dynamic"))
check("number of addresses", len(addrs), n)

# --- routes: ip -N prints numbers; one stored row per next hop
rows = sql("SELECT * FROM routes WHERE snapshot_id = %s" % snap)
stored = {}
for r in rows:
    # One route per destination and device (IPv6 has fe80::/64 on every interface); a
    # multipath route's rows (nexthop > 0) are one route.
    dev = names.get(int(r["oif"] or 0), "") if int(r["nexthop"] or 0) == 0 else "*"
    key = (int(r["table_id"]), r["dst"] or "default", int(r["dst_len"]), int(r["type"]),
           int(r["metric"] or 0), dev)
    stored.setdefault(key, []).append(r)
iproutes = ip("-4", "-N", "-j", "route", "show", "table", "all") + \
    ip("-N", "-j", "-6", "route", "show", "table", "all")
seen = 0
for rt in iproutes:
    dst = rt["dst"]
    fam6 = ":" in dst
    if dst == "default":
        d, dl = "default", 0
    elif "/" in dst:
        d, dl = dst.split("/")[0], int(dst.split("/")[1])
    else:
        d, dl = dst, 128 if fam6 else 32
    key = (int(rt.get("table", 254)), d, dl, int(rt.get("type", 1)), int(rt.get("metric", 0)),
           "*" if "nexthops" in rt else rt.get("dev", ""))
    got = stored.get(key)
    if not got:
        fails.append("route %s not stored (key %s)" % (json.dumps(rt), key))
        continue
    seen += 1
    r = got[0]
    w = "route %s table %s" % (dst, key[0])
    check(w + " protocol", r["protocol"], rt.get("protocol", 3))
    check(w + " scope", r["scope"], rt.get("scope", 0))
    check(w + " prefsrc", r["prefsrc"], rt.get("prefsrc", ""))
    if "nexthops" in rt:
        hops = sorted((h.get("gateway", ""), h.get("dev", ""), h.get("weight", 1))
                      for h in rt["nexthops"])
        mine = sorted((x["gateway"], h_dev, int(x["weight"]))
                      for x in got for h_dev in [names.get(int(x["oif"] or 0), "")])
        check(w + " next hops", mine, hops)
    else:
        check(w + " gateway", r["gateway"], rt.get("gateway", ""))
        check(w + " dev", names.get(int(r["oif"] or 0), ""), rt.get("dev", ""))
check("number of routes", len(stored), seen)

# --- neighbours: as `ip neigh` lists them (NOARP entries are not stored, and ip hides them).
# A dynamic entry's state moves on (REACHABLE to STALE) without a new snapshot: only a
# permanent one's state is compared.
neighs = {(int(r["ifindex"]), r["address"]): r
          for r in sql("SELECT * FROM neighbors WHERE snapshot_id = %s" % snap)}
ipneigh = [e for e in ip("-j", "neigh", "show") if "NOARP" not in e.get("state", [])]
for e in ipneigh:
    ifx = [k for k, v in names.items() if v == e["dev"]][0]
    r = neighs.get((ifx, e["dst"]))
    if not r:
        fails.append("neighbour %s on %s not stored" % (e["dst"], e["dev"]))
        continue
    check("neighbour %s lladdr" % e["dst"], r["lladdr"], e.get("lladdr", ""))
    if "PERMANENT" in e.get("state", []):
        check("neighbour %s state" % e["dst"], r["state"], 0x80)
check("number of neighbours", len(neighs), len(ipneigh))

if fails:
    for f in fails:
        print("FAIL:", f)
    sys.exit(1)
print("ok: %s: %d links, %d addresses, %d routes, %d neighbours equal to ip -j, field by field"
      % (ns, len(links), len(addrs), seen, len(neighs)))
