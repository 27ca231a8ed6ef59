"""Kernel-side TCP peer for walnut's interop tests (test/interop/tcp*.test.ts).

Run inside the test's namespace with `ip netns exec NS /usr/bin/python3 tcp_peer.py MODE ...` (see
test/helpers/tcpPeer.ts). Every mode prints JSON lines on stdout: milestones as {"event": ...} and a final
result; modes that pause ("hold", "eof-hold") wait for one line on stdin before going on. Every loop is
bounded by a deadline (--timeout seconds): on expiry the mode prints {"error": "timeout", ...} and exits 3.
Stdlib only, so Debian's /usr/bin/python3 runs it as is.
"""

import argparse
import errno
import hashlib
import json
import random
import selectors
import socket
import sys
import time

CHUNK = 256 * 1024


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


class Timeout(Exception):
    pass


class Deadline:
    def __init__(self, seconds):
        self.at = time.monotonic() + seconds

    def left(self):
        left = self.at - time.monotonic()
        if left <= 0:
            raise Timeout()
        return left


def payload(seed, n):
    """The bytes a connection sends: deterministic per seed, so a failure replays."""
    return random.Random(seed).randbytes(n)


def chargen_pattern():
    """RFC 864: line k is 72 characters starting at printable ASCII 32 + k (mod 95), then CRLF."""
    out = bytearray()
    for start in range(95):
        out += bytes(32 + (start + i) % 95 for i in range(72))
        out += b"\r\n"
    return bytes(out)


def connect(host, port, deadline):
    s = socket.create_connection((host, port), timeout=min(5.0, deadline.left()))
    return s


class Flow:
    """One connection that sends `data`, then SHUT_WR, and hashes what comes back until EOF."""

    def __init__(self, sock, data, expect_back):
        self.sock = sock
        self.data = memoryview(data)
        self.sent = 0
        self.received = 0
        self.expect_back = expect_back
        self.recv_hash = hashlib.sha256()
        self.send_done = len(data) == 0
        self.eof = False
        if self.send_done:
            sock.shutdown(socket.SHUT_WR)

    def events(self):
        ev = 0 if self.eof else selectors.EVENT_READ
        if not self.send_done:
            ev |= selectors.EVENT_WRITE
        return ev

    def on_write(self):
        try:
            n = self.sock.send(self.data[self.sent : self.sent + CHUNK])
        except BlockingIOError:
            return
        self.sent += n
        if self.sent == len(self.data):
            self.send_done = True
            self.sock.shutdown(socket.SHUT_WR)

    def on_read(self, buf):
        try:
            n = self.sock.recv_into(buf)
        except BlockingIOError:
            return
        if n == 0:
            self.eof = True
            return
        self.received += n
        self.recv_hash.update(buf[:n])


def run_flows(flows, deadline):
    """Drives all flows with one selector until every one saw EOF (bounded by `deadline`)."""
    sel = selectors.DefaultSelector()
    buf = memoryview(bytearray(CHUNK))
    current = {}
    for f in flows:
        f.sock.setblocking(False)
        current[f] = f.events()
        sel.register(f.sock, current[f], f)
    live = len(flows)
    while live > 0:
        for key, mask in sel.select(timeout=min(1.0, deadline.left())):
            f = key.data
            if mask & selectors.EVENT_WRITE:
                f.on_write()
            if mask & selectors.EVENT_READ:
                f.on_read(buf)
            ev = f.events()
            if ev != current[f]:
                current[f] = ev
                if ev == 0:
                    sel.unregister(f.sock)
                    live -= 1
                else:
                    sel.modify(f.sock, ev, f)
    sel.close()


def mode_stream(a):
    """Sends --send bytes (seeded) to --port, reads back until EOF; reports both hashes and counts."""
    deadline = Deadline(a.timeout)
    data = payload(a.seed, a.send)
    sent_sha = hashlib.sha256(data).hexdigest()
    s = connect(a.host, a.port, deadline)
    t0 = time.monotonic()
    f = Flow(s, data, True)
    try:
        run_flows([f], deadline)
    except Timeout:
        # Say how far it got: a stall and a slow transfer look different here.
        emit({"error": "timeout", "sent": f.sent, "received": f.received, "seconds": time.monotonic() - t0})
        sys.exit(3)
    seconds = time.monotonic() - t0
    s.close()
    emit({"sent": f.sent, "sentSha": sent_sha, "received": f.received, "recvSha": f.recv_hash.hexdigest(), "seconds": seconds})


def mode_chargen(a):
    """Reads --recv bytes from chargen, checks them against RFC 864 as they arrive, then closes."""
    deadline = Deadline(a.timeout)
    pattern = chargen_pattern()
    period = len(pattern)
    doubled = pattern + pattern
    s = connect(a.host, a.port, deadline)
    t0 = time.monotonic()
    h = hashlib.sha256()
    got = 0
    mismatch = -1
    buf = memoryview(bytearray(CHUNK))
    while got < a.recv:
        s.settimeout(min(5.0, deadline.left()))
        n = s.recv_into(buf, min(CHUNK, a.recv - got))
        if n == 0:
            break
        chunk = bytes(buf[:n])
        h.update(chunk)
        if mismatch < 0:
            # Compare period-sized pieces against the pattern rotated to this offset.
            pos = 0
            while pos < n and mismatch < 0:
                off = (got + pos) % period
                take = min(n - pos, period)
                if chunk[pos : pos + take] != doubled[off : off + take]:
                    for i in range(take):
                        if chunk[pos + i] != doubled[off + i]:
                            mismatch = got + pos + i
                            break
                pos += take
        got += n
    seconds = time.monotonic() - t0
    s.close()
    emit({"received": got, "sha": h.hexdigest(), "mismatchAt": mismatch, "seconds": seconds})


def mode_short(a):
    """--count sequential connections: send --size bytes to echo, read them back, close (we close first)."""
    deadline = Deadline(a.timeout)
    ok = 0
    failures = []
    ports = []
    t0 = time.monotonic()
    for i in range(a.count):
        data = payload(a.seed + i, a.size)
        try:
            s = connect(a.host, a.port, deadline)
            s.settimeout(min(5.0, deadline.left()))
            ports.append(s.getsockname()[1])
            s.sendall(data)
            back = b""
            while len(back) < len(data):
                chunk = s.recv(len(data) - len(back))
                if not chunk:
                    break
                back += chunk
            s.close()
            if back == data:
                ok += 1
            else:
                failures.append({"i": i, "what": "mismatch", "got": len(back)})
        except Timeout:
            raise
        except OSError as e:
            failures.append({"i": i, "what": errno.errorcode.get(e.errno or 0, str(e))})
    emit({"ok": ok, "failures": failures[:10], "ports": ports, "seconds": time.monotonic() - t0})


def mode_concurrent(a):
    """--count connections at once, each sending --send seeded bytes and reading them back."""
    deadline = Deadline(a.timeout)
    flows = []
    shas = []
    for i in range(a.count):
        data = payload(a.seed + i, a.send)
        shas.append(hashlib.sha256(data).hexdigest())
        flows.append(Flow(connect(a.host, a.port, deadline), data, True))
    t0 = time.monotonic()
    run_flows(flows, deadline)
    seconds = time.monotonic() - t0
    intact = 0
    bad = []
    for i, f in enumerate(flows):
        if f.sent == a.send and f.received == a.send and f.recv_hash.hexdigest() == shas[i]:
            intact += 1
        else:
            bad.append({"i": i, "sent": f.sent, "received": f.received})
        f.sock.close()
    emit({"intact": intact, "bad": bad[:10], "seconds": seconds})


class SwarmFlow(Flow):
    """A Flow whose socket is still connecting (non-blocking connect): it sends once the connect completes."""

    def __init__(self, sock, data):
        self.connecting = True
        self.error = None
        Flow.__init__(self, sock, data, True)

    def events(self):
        if self.error is not None:
            return 0
        if self.connecting:
            return selectors.EVENT_WRITE
        return Flow.events(self)

    def on_write(self):
        if self.connecting:
            err = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err != 0:
                self.error = errno.errorcode.get(err, str(err))
                return
            self.connecting = False
            return
        Flow.on_write(self)

    def on_read(self, buf):
        try:
            Flow.on_read(self, buf)
        except OSError as e:
            self.error = errno.errorcode.get(e.errno or 0, str(e))


def mode_swarm(a):
    """--count connections started at once (non-blocking connects, no waiting in between), each sending --send
    seeded bytes to echo and reading them back to EOF; reports how many came back intact and why others did not."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < a.count + 64:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, a.count + 64), hard))
    deadline = Deadline(a.timeout)
    t0 = time.monotonic()
    flows = []
    shas = []
    for i in range(a.count):
        data = payload(a.seed + i, a.send)
        shas.append(hashlib.sha256(data).hexdigest())
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        rc = s.connect_ex((a.host, a.port))
        f = SwarmFlow(s, data)
        if rc not in (0, errno.EINPROGRESS):
            f.error = errno.errorcode.get(rc, str(rc))
        flows.append(f)
    sel = selectors.DefaultSelector()
    buf = memoryview(bytearray(CHUNK))
    current = {}
    live = 0
    for f in flows:
        ev = f.events()
        current[f] = ev
        if ev != 0:
            sel.register(f.sock, ev, f)
            live += 1
    try:
        while live > 0:
            for key, mask in sel.select(timeout=min(1.0, deadline.left())):
                f = key.data
                if mask & selectors.EVENT_WRITE:
                    try:
                        f.on_write()
                    except OSError as e:
                        f.error = errno.errorcode.get(e.errno or 0, str(e))
                if mask & selectors.EVENT_READ and f.error is None:
                    f.on_read(buf)
                ev = f.events()
                if ev != current[f]:
                    current[f] = ev
                    if ev == 0:
                        sel.unregister(f.sock)
                        live -= 1
                    else:
                        sel.modify(f.sock, ev, f)
    except Timeout:
        pass
    seconds = time.monotonic() - t0
    intact = 0
    errors = {}
    bad = []
    for i, f in enumerate(flows):
        if f.error is None and f.eof and f.received == a.send and f.recv_hash.hexdigest() == shas[i]:
            intact += 1
        else:
            why = f.error or ("connecting" if f.connecting else "short")
            errors[why] = errors.get(why, 0) + 1
            if len(bad) < 10:
                bad.append({"i": i, "why": why, "sent": f.sent, "received": f.received})
        f.sock.close()
    sel.close()
    emit({"intact": intact, "errors": errors, "bad": bad, "seconds": seconds})


def mode_connect_error(a):
    """One connect; reports the errno name (or "OK")."""
    try:
        s = socket.create_connection((a.host, a.port), timeout=min(5.0, a.timeout))
        s.close()
        emit({"result": "OK"})
    except OSError as e:
        emit({"result": errno.errorcode.get(e.errno or 0, str(e))})


def wait_stdin(deadline):
    line = sys.stdin.readline()
    deadline.left()
    return line


def tcp_info(s):
    """struct tcp_info's head (linux/tcp.h): state, ca_state, retransmits, probes, backoff, options,
    snd_wscale:4 | rcv_wscale:4 — the options the kernel agreed on for this connection."""
    ti = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 8)
    opts = ti[5]
    return {
        "timestamps": bool(opts & 1),  # TCPI_OPT_TIMESTAMPS
        "sack": bool(opts & 2),  # TCPI_OPT_SACK
        "wscale": bool(opts & 4),  # TCPI_OPT_WSCALE
        "sndWscale": ti[6] & 0x0F,
        "rcvWscale": ti[6] >> 4,
    }


def mode_hold(a):
    """Connects, sends --send bytes and reads them back (echo), reports its port, then holds the
    connection open until a line arrives on stdin; then closes."""
    deadline = Deadline(a.timeout)
    s = connect(a.host, a.port, deadline)
    s.settimeout(min(5.0, deadline.left()))
    data = payload(a.seed, a.send)
    s.sendall(data)
    back = b""
    while len(back) < len(data):
        chunk = s.recv(len(data) - len(back))
        if not chunk:
            break
        back += chunk
    emit({"event": "holding", "port": s.getsockname()[1], "echoed": back == data, "tcpInfo": tcp_info(s)})
    wait_stdin(deadline)
    s.close()
    emit({"event": "closed"})


def mode_eof_hold(a):
    """Connects, sends --send bytes (then SHUT_WR if --shutdown), reads until EOF and reports; waits for a
    line on stdin, closes and reports again; waits for a second line, then exits."""
    deadline = Deadline(a.timeout)
    s = connect(a.host, a.port, deadline)
    port = s.getsockname()[1]
    data = payload(a.seed, a.send)
    s.settimeout(min(5.0, deadline.left()))
    if data:
        s.sendall(data)
    if a.shutdown:
        s.shutdown(socket.SHUT_WR)
    h = hashlib.sha256()
    got = 0
    while True:
        s.settimeout(min(5.0, deadline.left()))
        chunk = s.recv(CHUNK)
        if not chunk:
            break
        got += len(chunk)
        h.update(chunk)
    emit({"event": "eof", "port": port, "received": got, "sha": h.hexdigest(), "sentSha": hashlib.sha256(data).hexdigest()})
    wait_stdin(deadline)
    s.close()
    emit({"event": "closed", "port": port})
    wait_stdin(deadline)


def mode_server(a):
    """Listens on --host:--port, accepts one connection, echoes it until EOF (hashing what it got), then
    closes. Prints {"event": "listening"} first and the result last."""
    deadline = Deadline(a.timeout)
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((a.host, a.port))
    ls.listen(4)
    emit({"event": "listening"})
    ls.settimeout(min(10.0, deadline.left()))
    s, peer = ls.accept()
    ls.close()
    s.setblocking(False)
    sel = selectors.DefaultSelector()
    buf = memoryview(bytearray(CHUNK))
    pending = bytearray()
    h = hashlib.sha256()
    got = 0
    eof = False
    sel.register(s, selectors.EVENT_READ)
    t0 = time.monotonic()
    while not (eof and not pending):
        want = (0 if eof or len(pending) >= 4 * CHUNK else selectors.EVENT_READ) | (selectors.EVENT_WRITE if pending else 0)
        sel.modify(s, want)
        for _, mask in sel.select(timeout=min(1.0, deadline.left())):
            if mask & selectors.EVENT_READ:
                try:
                    n = s.recv_into(buf)
                except BlockingIOError:
                    n = -1
                if n == 0:
                    eof = True
                elif n > 0:
                    got += n
                    h.update(buf[:n])
                    pending += buf[:n]
            if mask & selectors.EVENT_WRITE and pending:
                try:
                    n = s.send(pending[:CHUNK])
                    del pending[:n]
                except BlockingIOError:
                    pass
    sel.close()
    s.setblocking(True)
    s.shutdown(socket.SHUT_WR)
    s.close()
    emit({"received": got, "sha": h.hexdigest(), "peer": "%s:%d" % peer, "seconds": time.monotonic() - t0})


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["stream", "chargen", "short", "concurrent", "swarm", "connect-error", "hold", "eof-hold", "server"])
    p.add_argument("--host", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--send", type=int, default=0)
    p.add_argument("--recv", type=int, default=0)
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--size", type=int, default=100)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--shutdown", action="store_true")
    p.add_argument("--timeout", type=float, default=30.0)
    a = p.parse_args()
    modes = {
        "stream": mode_stream,
        "chargen": mode_chargen,
        "short": mode_short,
        "concurrent": mode_concurrent,
        "swarm": mode_swarm,
        "connect-error": mode_connect_error,
        "hold": mode_hold,
        "eof-hold": mode_eof_hold,
        "server": mode_server,
    }
    try:
        modes[a.mode](a)
    except (Timeout, socket.timeout):
        emit({"error": "timeout"})
        sys.exit(3)
    except OSError as e:
        emit({"error": errno.errorcode.get(e.errno or 0, str(e))})
        sys.exit(4)


if __name__ == "__main__":
    main()
