# usocket for the walnut board: sockets are PCBs of the board's stack (docs/usocket.md). On a real board this
# module is C; here every call checks its arguments as the C module would (TypeError, ValueError, OverflowError)
# and then crosses the bridge (_walnut) to the stack, whose answer _check turns into a value or an exception.
import _walnut as _w
import _walnutconst as _k
import uctypes as _uctypes
import errno as _errno

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
# Inboxes (docs/architecture.md "Inboxes"): what arrives on a socket the script reads from is moved next to
# the interpreter as it comes, so recv takes it, or waits for it, without a call.
_rxw = _w.rx_wait
_rxt = _w.rx_take
_rxc = _w.rx_count
_rxf = _w.rx_find
_MAX = _k.DATA_MAX
_INT_MIN = -0x80000000
_INT_MAX = 0x7FFFFFFF


class _Retry(Exception):
    # A read call not made: the socket's inbox got bytes meanwhile, which come first.
    pass


def _check(v):
    st = _status()
    if st == _k.ST_OK:
        return v
    if st == _k.ST_RETRY:
        raise _Retry
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


class socket:
    # A TCP connection's or UDP socket's reads take from its inbox while one is attached (the stack gives
    # one after the first read call): _rxw waits there as the call would have waited (the socket's timeout,
    # _tmo ms, -1 for none, 0 non-blocking) and says when a call must be made after all (end of stream, a
    # failure to raise, no inbox). Read methods take what the inbox holds before they make a call.
    def __init__(self, af=AF_INET, type=SOCK_STREAM, proto=0, _sid=None):
        self._sid = _c(_k.OP_SOCKET, 0, _int(af), _int(type), _int(proto)) if _sid is None else _sid
        self._stream = _sid is not None or type == SOCK_STREAM
        self._tmo = -1
        # The last recvfrom's address tuple, kept while datagrams come from there: sendto to that very
        # object is a reply the worker may post (the stack keeps the address).
        self._from = None

    def _ahead(self):
        # What the inbox holds (bytes; for UDP 1 when a datagram waits): select counts it as readable.
        return _rxc(self._sid)

    def _take(self, n):
        # n bytes the inbox holds.
        b = bytes(n)
        _rxt(self._sid, _uctypes.addressof(b), n, 0)
        return b

    def _rx(self, op, n, f):
        # One recv/recvfrom: from the inbox, or the call.
        while True:
            k = _rxw(self._sid, n, 0 if f & MSG_DONTWAIT else self._tmo)
            if k > 0:
                k -= 1
                b = bytes(k)
                _rxt(self._sid, _uctypes.addressof(b) if k else 0, k, f & MSG_PEEK)
                return b
            if k < 0:
                _check(-k)
            try:
                return _rd(op, self._sid, n, f)
            except _Retry:
                pass

    def __repr__(self):
        return "<socket>"

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        pass

    def close(self):
        # Bytes left unread in the inbox make the close abortive there, as unread data in the stack would.
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
        s = socket(_sid=sid)
        # As the stack's accepted connection, the new socket has the listener's timeout.
        s._tmo = self._tmo
        return s, (_w.string(), _w.value2())

    def connect(self, addr):
        host, port = _addr(addr)
        _c(_k.OP_CONNECT, self._sid, host, port)

    def send(self, data):
        # The hot case without helper calls: bytes that fit one post on a TCP socket.
        if type(data) is bytes and self._stream:
            n = len(data)
            if 0 < n <= _MAX and _post(_k.OP_SEND, self._sid, _uctypes.addressof(data), n) >= 0:
                return n
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
        if type(data) is not bytes:
            data = _buf(data)
        # The very tuple recvfrom returned (never None, which is no address): posted, no wait for an answer.
        if addr is not None and addr is self._from and not self._stream and len(data) <= 65507 and _post(_k.OP_SENDTO, self._sid, _uctypes.addressof(data) if data else 0, len(data)) >= 0:
            return len(data)
        host, port = _addr(addr)
        if len(data) > 65507:
            raise OSError(90)
        return _cd(_k.OP_SENDTO, self._sid, data, host, port)

    def recv(self, bufsize, flags=0):
        # Plain ints skip _int (a call per argument counts at this rate).
        n = bufsize if type(bufsize) is int and _INT_MIN <= bufsize <= _INT_MAX else _int(bufsize)
        f = flags if type(flags) is int and 0 <= flags <= _INT_MAX else _int(flags)
        if n < 0:
            raise ValueError("negative buffer size")
        return self._rx(_k.OP_RECV, n, f)

    def recvfrom(self, bufsize, flags=0):
        n = bufsize if type(bufsize) is int and _INT_MIN <= bufsize <= _INT_MAX else _int(bufsize)
        f = flags if type(flags) is int and 0 <= flags <= _INT_MAX else _int(flags)
        if n < 0:
            raise ValueError("negative buffer size")
        if self._stream:
            d = self._rx(_k.OP_RECV, n, f)
            # The peer's address, from a call that takes nothing.
            _rd(_k.OP_RECVFROM, self._sid, 0, MSG_DONTWAIT)
            return d, (_w.string(), _w.value2())
        d = self._rx(_k.OP_RECVFROM, n, f)
        host = _w.string()
        port = _w.value2()
        f = self._from
        if f is None or f[1] != port or f[0] != host:
            f = (host, port)
            # Never 0.0.0.0 (the stack keeps no such address for a reply).
            if host != "0.0.0.0":
                self._from = f
        return d, f

    def _dgram(self, n):
        # read/readinto/readline on UDP or raw: one datagram as recv takes it; None when non-blocking finds none.
        try:
            return self._rx(_k.OP_RECV, n, 0)
        except OSError as e:
            if e.errno == _errno.EAGAIN:
                return None
            raise

    def read(self, size=None):
        if size is not None:
            size = _int(size)
        whole = size is None or size < 0
        if not self._stream:
            return self._dgram(65535 if whole else size)
        parts = []
        got = 0
        while whole or got < size:
            c = _rxc(self._sid)
            if c:
                if not whole:
                    c = min(c, size - got)
                parts.append(self._take(c))
                got += c
                continue
            if got and self._tmo == 0:
                break
            want = _MAX if whole else min(size - got, _MAX)
            try:
                d = _rd(_k.OP_READ, self._sid, want)
            except _Retry:
                continue
            if d is None:
                return b"".join(parts) if parts else None
            parts.append(d)
            got += len(d)
            if len(d) < want:
                break
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def readinto(self, buf, nbytes=None):
        if not isinstance(buf, (bytearray, memoryview)):
            raise TypeError("object with buffer protocol required")
        n = len(buf) if nbytes is None else min(_int(nbytes), len(buf))
        if n < 0:
            raise ValueError("negative buffer size")
        if not self._stream:
            d = self._dgram(n)
            if d is None:
                return None
            buf[: len(d)] = d
            return len(d)
        # Straight into the caller's buffer: what the inbox holds, then calls of at most a bridge call's worth.
        at = _uctypes.addressof(buf)
        got = 0
        while got < n:
            c = _rxc(self._sid)
            if c:
                c = min(c, n - got)
                _rxt(self._sid, at + got, c, 0)
                got += c
                continue
            if got and self._tmo == 0:
                break
            want = min(n - got, _MAX)
            try:
                k = _c(_k.OP_READ, self._sid, want)
            except _Retry:
                continue
            if k < 0:
                return got if got else None
            if k:
                _w.take(at + got, k)
            got += k
            if k < want:
                break
        return got

    def readline(self):
        if not self._stream:
            return self._dgram(65535)
        parts = []
        while True:
            c = _rxc(self._sid)
            if c:
                k = _rxf(self._sid, 10, c)
                parts.append(self._take(c if k < 0 else k))
                if k > 0:
                    break
                continue
            if parts and self._tmo == 0:
                break
            try:
                rest = _rd(_k.OP_READLINE, self._sid, _MAX)
            except _Retry:
                continue
            if rest is None:
                break
            parts.append(rest)
            break
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else b"".join(parts)

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
        self._tmo = -1 if value is None else value * 1000

    def setblocking(self, flag):
        _c(_k.OP_SETBLOCKING, self._sid, 1 if flag else 0)
        self._tmo = -1 if flag else 0

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
