// The Python side of the board's modules, written into the interpreter's /lib (docs/measurements.md "MicroPython in a worker": `import
// usocket` finds them there): usocket/socket, select/uselect, network, and _walnutboot (run before the
// script: an Atomics.wait-based time.sleep and input() from walnut's stdin). Every call goes through
// `_walnut` (worker.ts); `_check` turns the bridge's status into the Python exception (OSError(errno), …).
// The .py files under lib/ (asyncio, uasyncio) join them through libfiles.ts.

import { boardLibFiles } from "./libfiles.js";

const USOCKET = String.raw`# usocket for the walnut board: sockets are PCBs of the board's stack (docs/usocket.md).
import _walnut as _w
import uctypes as _uctypes

AF_INET = 2
AF_INET6 = 0
SOCK_STREAM = 1
SOCK_DGRAM = 2
SOCK_RAW = 3
SO_REUSEADDR = 4
IPPROTO_IP = 0
IPPROTO_TCP = 6
IPPROTO_UDP = 17
SOL_SOCKET = 1
IP_ADD_MEMBERSHIP = 0x400
IP_DROP_MEMBERSHIP = 0x401
SO_BROADCAST = 0x20
TCP_NODELAY = 0x40
MSG_PEEK = 0x01
MSG_DONTWAIT = 0x02

_call = _w.call
_status = _w.status
_MAX = _w.data_max


def _check(v):
    st = _status()
    if st == 0:
        return v
    if st == 1:
        raise OSError(v)
    if st == 2:
        raise ValueError(_w.string())
    if st == 3:
        raise TypeError(_w.string())
    if st == 4:
        raise EOFError
    if st == 5:
        raise KeyboardInterrupt
    raise RuntimeError(_w.string())


def _c(op, sid=0, a=None, b=None, c=None):
    return _check(_call(op, sid, a, b, c))


def _cd(op, sid, data, a=None, b=None):
    if isinstance(data, str):
        data = data.encode()
    n = len(data)
    return _check(_call(op, sid, a, b, None, _uctypes.addressof(data) if n else 0, n))


def _rd(op, sid, n, flags=0):
    n = min(n, _MAX)
    k = _c(op, sid, n, flags)
    if k < 0:
        return None
    if k == 0:
        return b""
    b = bytearray(k)
    _w.take(_uctypes.addressof(b), k)
    return bytes(b)


def getaddrinfo(host, port, af=0, type=0, proto=0, flags=0):
    _c("getaddrinfo", 0, host, port)
    return [(AF_INET, SOCK_STREAM, 0, host, (_w.string(), port))]


class socket:
    def __init__(self, af=AF_INET, type=SOCK_STREAM, proto=0, _sid=None):
        self._sid = _c("socket", 0, af, type, proto) if _sid is None else _sid

    def __repr__(self):
        return "<socket>"

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        pass

    def close(self):
        _c("close", self._sid)

    def fileno(self):
        return self._sid

    def bind(self, addr):
        _c("bind", self._sid, addr[0], addr[1])

    def listen(self, backlog=2):
        _c("listen", self._sid, backlog)

    def accept(self):
        sid = _c("accept", self._sid)
        return socket(_sid=sid), (_w.string(), _w.value2())

    def connect(self, addr):
        _c("connect", self._sid, addr[0], addr[1])

    def send(self, data):
        if len(data) > _MAX:
            data = memoryview(data.encode() if isinstance(data, str) else data)[:_MAX]
        return _cd("send", self._sid, data)

    def sendall(self, data):
        if isinstance(data, str):
            data = data.encode()
        if len(data) <= _MAX:
            _cd("sendall", self._sid, data)
            return
        mv = memoryview(data)
        for i in range(0, len(data), _MAX):
            _cd("sendall", self._sid, mv[i : i + _MAX])

    def sendto(self, data, addr):
        if len(data) > 65507:
            raise OSError(90)
        return _cd("sendto", self._sid, data, addr[0], addr[1])

    def recv(self, bufsize, flags=0):
        return _rd("recv", self._sid, bufsize, flags)

    def recvfrom(self, bufsize, flags=0):
        d = _rd("recvfrom", self._sid, bufsize, flags)
        return d, (_w.string(), _w.value2())

    def read(self, size=None):
        parts = []
        got = 0
        while size is None or size < 0 or got < size:
            want = _MAX if size is None or size < 0 else min(size - got, _MAX)
            d = _rd("read", self._sid, want)
            if d is None:
                return b"".join(parts) if parts else None
            parts.append(d)
            got += len(d)
            if len(d) < want:
                break
        return b"".join(parts)

    def readinto(self, buf, nbytes=None):
        n = len(buf) if nbytes is None else min(nbytes, len(buf))
        d = self.read(n)
        if d is None:
            return None
        buf[: len(d)] = d
        return len(d)

    def readline(self):
        return _rd("readline", self._sid, _MAX)

    def write(self, data):
        if isinstance(data, str):
            data = data.encode()
        if len(data) <= _MAX:
            n = _cd("write", self._sid, data)
            return None if n < 0 else n
        mv = memoryview(data)
        sent = 0
        for i in range(0, len(data), _MAX):
            n = _cd("write", self._sid, mv[i : i + _MAX])
            if n < 0:
                break
            sent += n
            if n < len(mv[i : i + _MAX]):
                break
        return sent if sent else None

    def settimeout(self, value):
        _c("settimeout", self._sid, value)

    def setblocking(self, flag):
        _c("setblocking", self._sid, 1 if flag else 0)

    def setsockopt(self, level, opt, value):
        if isinstance(value, int):
            _c("setsockopt", self._sid, level, opt, int(value))
        else:
            _cd("setsockopt", self._sid, value, level, opt)

    def makefile(self, mode="rb", buffering=0):
        if "b" not in mode:
            raise ValueError("binary modes only")
        return self
`;

const SELECT = String.raw`# select/uselect for the walnut board: poll objects and select() over the board's sockets.
import _walnut as _w
from usocket import _c

POLLIN = 1
POLLOUT = 4
POLLERR = 8
POLLHUP = 16
POLLNVAL = 0x20


class poll:
    def __init__(self):
        self._m = {}

    def register(self, obj, eventmask=POLLIN | POLLOUT):
        self._m[obj.fileno()] = [obj, eventmask]

    def unregister(self, obj):
        self._m.pop(obj.fileno(), None)

    def modify(self, obj, eventmask):
        e = self._m.get(obj.fileno())
        if e is None:
            raise OSError(2)
        e[1] = eventmask

    def poll(self, timeout=-1):
        spec = ",".join("%d:%d" % (k, v[1]) for k, v in self._m.items())
        _c("poll", 0, spec, -1 if timeout is None else timeout)
        out = []
        s = _w.string()
        if s:
            for item in s.split(","):
                k, ev = item.split(":")
                out.append((self._m[int(k)][0], int(ev)))
        return out

    def ipoll(self, timeout=-1, flags=0):
        return iter(self.poll(timeout))


def select(rlist, wlist, xlist, timeout=None):
    p = poll()
    masks = {}
    objs = {}
    for lst, bit in ((rlist, POLLIN), (wlist, POLLOUT), (xlist, 0)):
        for o in lst:
            k = o.fileno()
            objs[k] = o
            masks[k] = masks.get(k, 0) | bit
    for k, m in masks.items():
        p.register(objs[k], m)
    ready = p.poll(-1 if timeout is None or timeout < 0 else int(timeout * 1000))
    r, w, x = [], [], []
    for o, ev in ready:
        if ev & POLLIN:
            r.append(o)
        if ev & POLLOUT:
            w.append(o)
        if ev & ~(POLLIN | POLLOUT):
            x.append(o)
    return r, w, x
`;

const NETWORK = String.raw`# network for the walnut board: WLAN is the TAP-backed interface (docs/usocket.md "network.WLAN").
import _walnut as _w
from usocket import _c

STA_IF = 0
AP_IF = 1
AUTH_OPEN = 0
AUTH_WEP = 1
AUTH_WPA_PSK = 2
AUTH_WPA2_PSK = 3
AUTH_WPA_WPA2_PSK = 4
AUTH_PSK = AUTH_WPA2_PSK
STAT_IDLE = 0
STAT_CONNECTING = 1
STAT_NO_IP = 2
STAT_GOT_IP = 3
STAT_CONNECT_FAIL = -1
STAT_NO_AP_FOUND = -2
STAT_WRONG_PASSWORD = -3

_state = {"active": False, "status": STAT_IDLE, "ssid": ""}


def hostname(name=None):
    return "walnut"


class WLAN:
    def __init__(self, interface_id=STA_IF):
        self._if = interface_id

    def active(self, is_active=None):
        if is_active is None:
            return _state["active"]
        _state["active"] = bool(is_active)
        if not is_active:
            _state["status"] = STAT_IDLE

    def connect(self, ssid=None, key=None, *, bssid=None, security=None):
        _state["active"] = True
        _state["ssid"] = ssid or ""
        _state["status"] = STAT_CONNECTING
        try:
            _c("net_connect", 0, ssid, key)
        except OSError:
            _state["status"] = STAT_CONNECT_FAIL
            raise
        _state["status"] = _w.value2()

    def disconnect(self):
        _state["status"] = STAT_IDLE

    def isconnected(self):
        return _state["status"] == STAT_GOT_IP

    def status(self, param=None):
        if param == "rssi":
            return -40
        return _state["status"]

    def scan(self):
        return []

    def ifconfig(self, config=None):
        if config is None:
            _c("net_ifconfig")
            return tuple(_w.string().split(","))
        if config == "dhcp":
            _c("net_dhcp")
            return
        _c("net_set", 0, ",".join(config))

    def config(self, *args, **kwargs):
        if kwargs:
            return
        if not args:
            if not self.isconnected():
                return "0.0.0.0"
            return self.ifconfig()[0]
        p = args[0]
        if p == "mac":
            _c("net_mac")
            return bytes(int(h, 16) for h in _w.string().split(":"))
        if p in ("ssid", "essid"):
            return _state["ssid"]
        if p == "hostname":
            return "walnut"
        raise ValueError("unknown config param")
`;

const BOOT = String.raw`# Run before the script: time.sleep that blocks without spinning, input() from walnut's stdin.
import _walnut as _w
import time
import builtins


def _sleep_ms(ms):
    if _w.sleep_ms(ms):
        raise KeyboardInterrupt


def sleep(s):
    _sleep_ms(s * 1000)


def sleep_us(us):
    _sleep_ms(us / 1000)


def input(prompt=""):
    from usocket import _c

    _c("input", 0, str(prompt))
    return _w.string()


time.sleep = sleep
time.sleep_ms = _sleep_ms
time.sleep_us = sleep_us
builtins.input = input

# The board's asyncio (/lib/asyncio) replaces the build's frozen one, which start-up has already imported
# and which .frozen, ahead of /lib in sys.path, would find again.
import sys

for _k in [k for k in sys.modules if k == "asyncio" or k.startswith("asyncio.")]:
    del sys.modules[_k]
sys.path.remove("/lib")
sys.path.insert(sys.path.index(".frozen"), "/lib")
`;

/** Path in the interpreter's filesystem → source. */
export const PYTHON_FILES: Readonly<Record<string, string>> = {
  "/lib/usocket.py": USOCKET,
  "/lib/socket.py": "from usocket import *\nfrom usocket import socket, getaddrinfo\n",
  "/lib/select.py": SELECT,
  "/lib/uselect.py": "from select import *\nfrom select import poll, select\n",
  "/lib/network.py": NETWORK,
  "/lib/_walnutboot.py": BOOT,
  ...boardLibFiles(),
};
