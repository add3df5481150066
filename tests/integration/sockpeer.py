# SPDX-License-Identifier: MIT
"""TCP peers for the socket source's integration tests (not a test itself).

  sockpeer.py server NAME ADDR PORT READY REPLY   accept forever; per connection: read to
        EOF, send REPLY bytes, close; logs "CLIENT_PORT RECEIVED" lines to READY.log
  sockpeer.py client NAME ADDR PORT SIZE          connect, send SIZE bytes, shut down the
        write side, read to EOF, close; prints "PID LOCAL_PORT RECEIVED"
  sockpeer.py burst NAME ADDR PORT COUNT SIZE     COUNT such connections one after another;
        prints "PID"
  sockpeer.py long NAME ADDR PORT STEPS GO        connect, send 65536 bytes every 0.3 s
        STEPS times, print "PID LOCAL_PORT", then wait for the file GO before closing
        (the test reads ss in between)

NAME becomes the process's command name (prctl PR_SET_NAME) before any socket exists, so the
rows can be checked for it. The servers write READY once listening.
"""
import ctypes
import os
import socket
import sys
import threading
import time


def set_name(name):
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(15, name.encode()[:15], 0, 0, 0)  # PR_SET_NAME


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def serve_one(c, reply, log):
    n = 0
    while True:
        d = c.recv(1 << 20)
        if not d:
            break
        n += len(d)
    if reply:
        c.sendall(b"r" * reply)
    port = c.getpeername()[1]
    c.close()
    with open(log, "a") as f:
        f.write("%d %d\n" % (port, n))


def server(addr, port, ready, reply):
    s = socket.socket(family(addr))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(1024)
    open(ready, "w").close()
    while True:
        c, _ = s.accept()
        threading.Thread(target=serve_one, args=(c, reply, ready + ".log"), daemon=True).start()


def one(addr, port, size):
    s = socket.create_connection((addr, port), timeout=20)
    lport = s.getsockname()[1]
    if size:
        s.sendall(b"a" * size)
    s.shutdown(socket.SHUT_WR)
    n = 0
    while True:
        d = s.recv(1 << 20)
        if not d:
            break
        n += len(d)
    s.close()
    return lport, n


def main():
    mode, name, addr, port = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    set_name(name)
    if mode == "server":
        server(addr, port, sys.argv[5], int(sys.argv[6]))
    elif mode == "client":
        lport, n = one(addr, port, int(sys.argv[5]))
        print(os.getpid(), lport, n, flush=True)
    elif mode == "burst":
        for _ in range(int(sys.argv[5])):
            one(addr, port, int(sys.argv[6]))
        print(os.getpid(), flush=True)
    elif mode == "long":
        steps, go = int(sys.argv[5]), sys.argv[6]
        s = socket.create_connection((addr, port), timeout=20)
        for _ in range(steps):
            s.sendall(b"l" * 65536)
            time.sleep(0.3)
        print(os.getpid(), s.getsockname()[1], flush=True)
        while not os.path.exists(go):
            time.sleep(0.05)
        s.shutdown(socket.SHUT_WR)
        while s.recv(1 << 20):
            pass
        s.close()
    else:
        sys.exit("unknown mode " + mode)


main()
