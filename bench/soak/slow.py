#!/usr/bin/env python3
"""slow.py: the soak's slow clients (bench/soak/run.sh).

usage: slow.py SECONDS PORT TILE_PATH IDLE_TIMEOUT_S

Until SECONDS have passed, keeps at once:
  - 3 trickling clients: a whole request sent one byte every 0.2 s (about
    12 s a request), which must get an answer that is not a 5xx;
  - 3 idle clients: connect and send nothing; the server must close them
    within its idle timeout (IDLE_TIMEOUT_S, plus slack);
  - 2 abandoning clients: half a request line, then they hang up.
Prints "slow NAME COUNT" lines at the end; exits 0 (run.sh judges).
"""
import socket
import sys
import threading
import time

deadline = time.monotonic() + float(sys.argv[1])
port = int(sys.argv[2])
tile = sys.argv[3]
idle_timeout = float(sys.argv[4])
counts = {}
lock = threading.Lock()


def count(name):
    with lock:
        counts[name] = counts.get(name, 0) + 1


def connect():
    s = socket.create_connection(("127.0.0.1", port), timeout=idle_timeout + 30)
    return s


def read_status(s):
    data = b""
    while b"\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    line = data.split(b"\r\n", 1)[0].decode("latin-1")
    parts = line.split()
    return int(parts[1]) if len(parts) >= 2 and parts[1].isdigit() else 0


def trickle():
    while time.monotonic() < deadline:
        req = ("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n" % tile).encode()
        try:
            s = connect()
            for b in req:
                s.sendall(bytes([b]))
                time.sleep(0.2)
            st = read_status(s)
            s.close()
            count("trickle_ok" if 0 < st < 500 else "trickle_bad_%d" % st)
        except OSError as e:
            count("trickle_error_" + type(e).__name__)


def idle():
    while time.monotonic() < deadline:
        try:
            s = connect()
            t0 = time.monotonic()
            data = s.recv(4096)  # blocks until the server closes us
            waited = time.monotonic() - t0
            s.close()
            if data == b"" and waited <= idle_timeout + 10:
                count("idle_closed")
            else:
                count("idle_not_closed")
        except socket.timeout:
            count("idle_not_closed")
        except OSError as e:
            count("idle_error_" + type(e).__name__)


def abandon():
    while time.monotonic() < deadline:
        try:
            s = connect()
            s.sendall(b"GET /tiles/14/")
            time.sleep(1.0)
            s.close()
            count("abandoned")
        except OSError as e:
            count("abandon_error_" + type(e).__name__)
        time.sleep(1.0)


threads = [threading.Thread(target=f) for f in [trickle] * 3 + [idle] * 3 + [abandon] * 2]
for t in threads:
    t.start()
for t in threads:
    t.join()
for k in sorted(counts):
    print("slow %s %d" % (k, counts[k]))
