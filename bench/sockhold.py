# SPDX-License-Identifier: MIT
"""Open TCP connections for bench/sockets.sh, and close them on request (not a benchmark).

  sockhold.py server ADDR PORT NPORTS READY     accept on PORT..PORT+NPORTS-1 and hold every
        connection (epoll); a peer's close is answered with a close
  sockhold.py client ADDR PORT NPORTS N CTL     open N connections round robin over the
        ports, print "open N SECONDS", then read commands from the FIFO CTL:
        "close" closes them all as fast as it can and prints "closed N SECONDS";
        "exit" ends
"""
import os
import select
import socket
import sys
import time


def server(addr, port, nports, ready):
    ep = select.epoll()
    lis = {}
    for p in range(port, port + nports):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((addr, p))
        s.listen(65535)
        s.setblocking(False)
        lis[s.fileno()] = s
        ep.register(s.fileno(), select.EPOLLIN)
    held = {}
    open(ready, "w").close()
    while True:
        for fd, _ in ep.poll():
            if fd in lis:
                while True:
                    try:
                        c, _ = lis[fd].accept()
                    except BlockingIOError:
                        break
                    c.setblocking(False)
                    held[c.fileno()] = c
                    ep.register(c.fileno(), select.EPOLLIN)
            else:
                c = held.pop(fd, None)
                if c:
                    ep.unregister(fd)
                    c.close()


def client(addr, port, nports, n, ctl):
    t0 = time.monotonic()
    socks = []
    for i in range(n):
        socks.append(socket.create_connection((addr, port + i % nports)))
    print("open %d %.3f" % (n, time.monotonic() - t0), flush=True)
    with open(ctl) as f:
        for line in f:
            cmd = line.strip()
            if cmd == "close":
                t0 = time.monotonic()
                for s in socks:
                    s.close()
                print("closed %d %.3f" % (len(socks), time.monotonic() - t0), flush=True)
                socks = []
            elif cmd == "exit":
                return


def main():
    mode, addr, port, nports = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    if mode == "server":
        server(addr, port, nports, sys.argv[5])
    else:
        client(addr, port, nports, int(sys.argv[5]), sys.argv[6])


main()
