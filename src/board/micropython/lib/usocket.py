# usocket for the walnut board: sockets are PCBs of the board's stack (docs/usocket.md). On a real board this
# module is C; here every call checks its arguments as the C module would (TypeError, ValueError, OverflowError)
# and then crosses the bridge (_walnut) to the stack, whose answer _check turns into a value or an exception.
import _walnut as _w
import _walnutconst as _k
import uctypes as _uctypes

AF_INET = _k.AF_INET
AF_INET6 = _k.AF_INET6
SOCK_STREAM = _k.SOCK_STREAM
SOCK_DGRAM = _k.SOCK_DGRAM
SOCK_RAW = _k.SOCK_RAW
SO_REUSEADDR = _k.SO_REUSEADDR
IPPROTO_IP = _k.IPPROTO_IP
IPPROTO_TCP = _k.IPPROTO_TCP
IPPROTO_UDP = _k.IPPROTO_UDP
SOL_SOCKET = _k.SOL_SOCKET
IP_ADD_MEMBERSHIP = _k.IP_ADD_MEMBERSHIP
IP_DROP_MEMBERSHIP = _k.IP_DROP_MEMBERSHIP
SO_BROADCAST = _k.SO_BROADCAST
TCP_NODELAY = _k.TCP_NODELAY
MSG_PEEK = _k.MSG_PEEK
MSG_DONTWAIT = _k.MSG_DONTWAIT
if hasattr(_k, "SO_LINGER"):
    SO_LINGER = _k.SO_LINGER

_call = _w.call
# A close, or a TCP send that fits the socket's send ring now, is posted without waiting for the stack's
# answer (it would be the length); -1 means it was not, and the call is made.
_post = _w.post
_status = _w.status
_MAX = _k.DATA_MAX
_INT_MIN = -0x80000000
_INT_MAX = 0x7FFFFFFF
# struct.pack('ii', 1, 0): SO_LINGER on with 0 s, for the abortive close.
_LINGER_ABORT = b"\x01\x00\x00\x00\x00\x00\x00\x00"


def _check(v):
    st = _status()
    if st == _k.ST_OK:
        return v
    if st == _k.ST_OSERROR:
        raise OSError(v)
    if st == _k.ST_VALUE_ERROR:
        raise ValueError(_w.string())
    if st == _k.ST_TYPE_ERROR:
        raise TypeError(_w.string())
    if st == _k.ST_EOF_ERROR:
        raise EOFError
    if st == _k.ST_INTERRUPTED:
        raise KeyboardInterrupt
    raise RuntimeError(_w.string())


def _c(op, sid=0, a=None, b=None, c=None):
    return _check(_call(op, sid, a, b, c))


def _int(x):
    # The C module's mp_obj_get_int: an int (or bool) that fits a machine word. (This build's isinstance
    # does not count a bool as an int, so bools are let through by name.)
    if x is True or x is False:
        return 1 if x else 0
    if not isinstance(x, int):
        raise TypeError("can't convert %s to int" % type(x).__name__)
    if x < _INT_MIN or x > _INT_MAX:
        raise OverflowError("overflow converting long int to machine word")
    return int(x)


def _str(x):
    if isinstance(x, str):
        return x
    if isinstance(x, (bytes, bytearray)):
        return str(x, "utf-8")
    raise TypeError("can't convert %s to str" % type(x).__name__)


def _buf(data):
    # The buffer protocol: bytes, bytearray, memoryview and, as on the board, str.
    if isinstance(data, str):
        return data.encode()
    if isinstance(data, (bytes, bytearray, memoryview)):
        return data
    raise TypeError("object with buffer protocol required")


def _addr(addr):
    # (host, port) as a tuple or list; the port a 16-bit number.
    if not isinstance(addr, (tuple, list)):
        raise TypeError("address must be a tuple (host, port)")
    if len(addr) != 2:
        raise TypeError("address must be (host, port)")
    host = _str(addr[0])
    port = _int(addr[1])
    if port < 0 or port > 65535:
        raise OverflowError("port must be 0-65535")
    return host, port


def _cd(op, sid, data, a=None, b=None):
    n = len(data)
    return _check(_call(op, sid, a, b, None, _uctypes.addressof(data) if n else 0, n))


def _pd(op, sid, data):
    # Posts a send of data (len > 0) → its length, or makes the call.
    n = len(data)
    if _post(op, sid, _uctypes.addressof(data), n) >= 0:
        return n
    return _cd(op, sid, data)


def _rd(op, sid, n, flags=None):
    # flags only for recv/recvfrom (MSG_PEEK, MSG_DONTWAIT); the stream reads take none.
    n = _int(n)
    if n < 0:
        raise ValueError("negative buffer size")
    n = min(n, _MAX)
    k = _c(op, sid, n, None if flags is None else _int(flags))
    if k < 0:
        return None
    if k == 0:
        return b""
    # One allocation: the answer is copied straight into the new bytes object (it is not shared yet).
    b = bytes(k)
    _w.take(_uctypes.addressof(b), k)
    return b


def getaddrinfo(host, port, af=0, type=0, proto=0, flags=0):
    host = _str(host)
    port = _int(port)
    for x in (af, type, proto, flags):
        _int(x)
    _c(_k.OP_GETADDRINFO, 0, host, port)
    return [(AF_INET, SOCK_STREAM, 0, host, (_w.string(), port))]


# Read-ahead buffers (bytearray(_MAX) with its memoryview), lent to a socket while it holds bytes read
# ahead and given back once they are taken: as many exist as sockets ever held read-ahead bytes at once.
# This MicroPython build collects garbage only when a script returns to the top level (docs/usocket.md,
# "Memory"), so nothing here allocates what it does not hand to the script.
_spare = []


def _lend():
    if _spare:
        return _spare.pop()
    b = bytearray(_MAX)
    return (b, memoryview(b))


class socket:
    # TCP sockets read ahead: recv(n) asks the stack for up to a bridge call's worth and keeps what is
    # beyond n in a lent buffer (_rb, bytes _ro.._rn), so a recv(4096) loop crosses the bridge once per
    # 64 KiB, not per 4 KiB, and allocates only the bytes it returns. Every read method takes these bytes
    # first, select.poll counts them as readable (_ahead), and a close with some left unread resets the
    # connection, as the stack does for unread data (RFC 1122 §4.2.2.13).
    def __init__(self, af=AF_INET, type=SOCK_STREAM, proto=0, _sid=None):
        self._sid = _c(_k.OP_SOCKET, 0, _int(af), _int(type), _int(proto)) if _sid is None else _sid
        self._stream = _sid is not None or type == SOCK_STREAM
        self._rb = None
        self._ro = 0
        self._rn = 0
        # The last recvfrom's address tuple, kept while datagrams come from there: sendto to that very
        # object is a reply the worker may post (the stack keeps the address).
        self._from = None

    def _ahead(self):
        return self._rn - self._ro

    def _peek(self, n):
        # Up to n read-ahead bytes, left in place.
        ro = self._ro
        return bytes(self._rb[1][ro : min(ro + n, self._rn)])

    def _take(self, n):
        # Up to n read-ahead bytes (n < 0: all of them).
        d = self._peek(self._rn if n < 0 else n)
        self._skip(len(d))
        return d

    def _skip(self, n):
        # n read-ahead bytes are consumed; the buffer goes back once empty.
        self._ro += n
        if self._ro == self._rn:
            self._drop()

    def _drop(self):
        if self._rb is not None:
            _spare.append(self._rb)
            self._rb = None
        self._ro = 0
        self._rn = 0

    def __repr__(self):
        return "<socket>"

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        pass

    def close(self):
        if self._ahead():
            # Unread data: an abortive close, as the stack would make it had the bytes stayed there.
            self._drop()
            _cd(_k.OP_SETSOCKOPT, self._sid, _LINGER_ABORT, SOL_SOCKET, _k.SO_LINGER)
        if _post(_k.OP_CLOSE, self._sid, 0, 0) < 0:
            _c(_k.OP_CLOSE, self._sid)

    def fileno(self):
        return self._sid

    def bind(self, addr):
        host, port = _addr(addr)
        _c(_k.OP_BIND, self._sid, host, port)

    def listen(self, backlog=2):
        _c(_k.OP_LISTEN, self._sid, _int(backlog))

    def accept(self):
        sid = _c(_k.OP_ACCEPT, self._sid)
        return socket(_sid=sid), (_w.string(), _w.value2())

    def connect(self, addr):
        host, port = _addr(addr)
        _c(_k.OP_CONNECT, self._sid, host, port)

    def send(self, data):
        data = _buf(data)
        if len(data) > _MAX:
            data = memoryview(data)[:_MAX]
        if self._stream and len(data):
            return _pd(_k.OP_SEND, self._sid, data)
        return _cd(_k.OP_SEND, self._sid, data)

    def sendall(self, data):
        data = _buf(data)
        if len(data) <= _MAX:
            if self._stream and len(data):
                _pd(_k.OP_SENDALL, self._sid, data)
            else:
                _cd(_k.OP_SENDALL, self._sid, data)
            return
        mv = memoryview(data)
        for i in range(0, len(data), _MAX):
            _pd(_k.OP_SENDALL, self._sid, mv[i : i + _MAX])

    def sendto(self, data, addr):
        data = _buf(data)
        # The very tuple recvfrom returned (never None, which is no address): posted, no wait for an answer.
        if addr is not None and addr is self._from and not self._stream and len(data) <= 65507 and _post(_k.OP_SENDTO, self._sid, _uctypes.addressof(data) if data else 0, len(data)) >= 0:
            return len(data)
        host, port = _addr(addr)
        if len(data) > 65507:
            raise OSError(90)
        return _cd(_k.OP_SENDTO, self._sid, data, host, port)

    def recv(self, bufsize, flags=0):
        if not self._stream:
            return _rd(_k.OP_RECV, self._sid, bufsize, flags)
        n = _int(bufsize)
        f = _int(flags)
        if n < 0:
            raise ValueError("negative buffer size")
        if self._ahead():
            if f & MSG_PEEK:
                return self._peek(n)
            return self._take(n)
        if n == 0 or n >= _MAX or f & MSG_PEEK:
            return _rd(_k.OP_RECV, self._sid, n, f)
        k = _c(_k.OP_RECV, self._sid, _MAX, f)
        if k < 0:
            return None
        if k <= n:
            # All of it fits: straight into the bytes returned, as _rd does.
            d = bytes(k)
            if k:
                _w.take(_uctypes.addressof(d), k)
            return d
        self._rb = _lend()
        _w.take(_uctypes.addressof(self._rb[0]), k)
        self._rn = k
        return self._take(n)

    def recvfrom(self, bufsize, flags=0):
        if self._ahead():
            d = self.recv(bufsize, flags)
            # The peer's address, from a call that takes nothing.
            _rd(_k.OP_RECVFROM, self._sid, 0, MSG_DONTWAIT)
            return d, (_w.string(), _w.value2())
        d = _rd(_k.OP_RECVFROM, self._sid, bufsize, flags)
        host = _w.string()
        port = _w.value2()
        f = self._from
        if f is None or f[1] != port or f[0] != host:
            f = (host, port)
            # Never 0.0.0.0 (the stack keeps no such address for a reply).
            if not self._stream and host != "0.0.0.0":
                self._from = f
        return d, f

    def read(self, size=None):
        if size is not None:
            size = _int(size)
        parts = []
        got = 0
        if self._ahead():
            d = self._take(-1 if size is None or size < 0 else size)
            if len(d) == size:
                return d
            parts.append(d)
            got = len(d)
        while size is None or size < 0 or got < size:
            want = _MAX if size is None or size < 0 else min(size - got, _MAX)
            d = _rd(_k.OP_READ, self._sid, want)
            if d is None:
                return b"".join(parts) if parts else None
            parts.append(d)
            got += len(d)
            if len(d) < want:
                break
        return b"".join(parts)

    def readinto(self, buf, nbytes=None):
        if not isinstance(buf, (bytearray, memoryview)):
            raise TypeError("object with buffer protocol required")
        n = len(buf) if nbytes is None else min(_int(nbytes), len(buf))
        if n < 0:
            raise ValueError("negative buffer size")
        # Straight into the caller's buffer, at most one bridge call's worth at a time, until n bytes or EOF.
        at = _uctypes.addressof(buf)
        got = 0
        if self._ahead():
            # From the read-ahead buffer to the caller's, no bytes object between.
            ro = self._ro
            got = min(n, self._rn - ro)
            buf[:got] = self._rb[1][ro : ro + got]
            self._skip(got)
        while got < n:
            want = min(n - got, _MAX)
            k = _c(_k.OP_READ, self._sid, want)
            if k < 0:
                return got if got else None
            if k:
                _w.take(at + got, k)
            got += k
            if k < want:
                break
        return got

    def readline(self):
        if self._ahead():
            i = self._rb[0].find(b"\n", self._ro, self._rn)
            if i >= 0:
                return self._take(i + 1 - self._ro)
            head = self._take(-1)
            rest = _rd(_k.OP_READLINE, self._sid, _MAX)
            return head if rest is None else head + rest
        return _rd(_k.OP_READLINE, self._sid, _MAX)

    def write(self, data):
        data = _buf(data)
        if len(data) <= _MAX:
            n = _pd(_k.OP_WRITE, self._sid, data) if self._stream and len(data) else _cd(_k.OP_WRITE, self._sid, data)
            return None if n < 0 else n
        mv = memoryview(data)
        sent = 0
        for i in range(0, len(data), _MAX):
            n = _pd(_k.OP_WRITE, self._sid, mv[i : i + _MAX])
            if n < 0:
                break
            sent += n
            if n < len(mv[i : i + _MAX]):
                break
        return sent if sent else None

    def settimeout(self, value):
        if value is not None:
            if not isinstance(value, (int, float)):
                raise TypeError("can't convert %s to float" % type(value).__name__)
            if value < 0:
                raise ValueError("timeout must be non-negative")
        _c(_k.OP_SETTIMEOUT, self._sid, value)

    def setblocking(self, flag):
        _c(_k.OP_SETBLOCKING, self._sid, 1 if flag else 0)

    def setsockopt(self, level, opt, value):
        level = _int(level)
        opt = _int(opt)
        if isinstance(value, int) or value is True or value is False:
            _c(_k.OP_SETSOCKOPT, self._sid, level, opt, _int(value))
        else:
            _cd(_k.OP_SETSOCKOPT, self._sid, _buf(value), level, opt)

    def makefile(self, mode="rb", buffering=0):
        if not isinstance(mode, str) or "b" not in mode:
            raise ValueError("binary modes only")
        return self
