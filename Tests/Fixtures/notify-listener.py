#!/usr/bin/env python3
"""notify-listener.py SOCKET LOG: a stand-in for systemd's side of the sd_notify protocol in tests.

Binds a Unix datagram socket at SOCKET and appends every datagram it receives (READY=1, STATUS=..., WATCHDOG=1,
STOPPING=1) to LOG, one line per message, until killed.
"""
import os
import socket
import sys

path, log = sys.argv[1], sys.argv[2]
if os.path.exists(path):
    os.unlink(path)
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.bind(path)
with open(log, "a", buffering=1) as out:
    out.write("listening\n")
    while True:
        data = sock.recv(65536)
        for line in data.decode("utf-8", "replace").split("\n"):
            if line:
                out.write(line + "\n")
