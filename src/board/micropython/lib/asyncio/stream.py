# asyncio for the walnut board: TCP streams over the board's non-blocking sockets. open_connection and
# start_server give Stream objects (one object serves as both reader and writer, as on the board); each
# read waits for POLLIN and each drain for POLLOUT in the loop's poll (core._wait_io), then calls the socket's
# stream method, which returns None when nothing is there yet. Socket errors (ECONNRESET, …) reach the task.

from . import core
import usocket as socket

_EAGAIN = 11
_EISCONN = 106
_EINPROGRESS = 115
_READ = 1
_WRITE = 2
_POLLERR_HUP = 8 | 16


class Stream:
    def __init__(self, s, e={}):
        self.s = s
        self.e = e
        self._out = b""  # written but not yet taken by the socket

    def get_extra_info(self, v, default=None):
        return self.e.get(v, default)

    async def __aenter__(self):
        return self

    async def __aexit__(self, exc_type, exc, tb):
        await self.aclose()

    def close(self):
        if self.s is None:
            return
        s = self.s
        self.s = None
        if self._out:
            try:
                s.write(self._out)  # what fits without waiting; the rest was never drained
            except OSError:
                pass
            self._out = b""
        s.close()

    async def wait_closed(self):
        self.close()

    def _sock(self):
        if self.s is None:
            raise OSError(9)
        return self.s

    def read(self, n=-1):
        s = self._sock()
        if n == 0:
            return b""
        if n > 0:
            while True:
                yield from core._wait_io(s, _READ)
                r = s.read(n)
                if r is not None:
                    return r
        parts = []
        while True:
            yield from core._wait_io(s, _READ)
            r = s.read()
            if r is None:
                continue
            if not r:
                return b"".join(parts)
            parts.append(r)

    def readinto(self, buf):
        s = self._sock()
        while True:
            yield from core._wait_io(s, _READ)
            n = s.readinto(buf)
            if n is not None:
                return n

    def readexactly(self, n):
        s = self._sock()
        parts = []
        while n > 0:
            yield from core._wait_io(s, _READ)
            r = s.read(n)
            if r is None:
                continue
            if not r:
                raise EOFError
            parts.append(r)
            n -= len(r)
        return b"".join(parts)

    def readline(self):
        s = self._sock()
        line = b""
        while True:
            yield from core._wait_io(s, _READ)
            part = s.readline()
            if part is None:
                continue
            line += part
            if not part or line[-1] == 10:
                return line

    def write(self, buf):
        s = self._sock()
        if isinstance(buf, str):
            buf = buf.encode()
        if not self._out:
            n = s.write(buf)  # most writes fit at once; only the rest waits for drain
            if n is not None and n >= len(buf):
                return
            if n:
                buf = memoryview(buf)[n:]
        self._out += bytes(buf)

    def drain(self):
        s = self._sock()
        if not self._out:
            # Still a point where other tasks run, as on the board.
            yield from core.sleep_ms(0)
            return
        while self._out:
            yield from core._wait_io(s, _WRITE)
            n = s.write(self._out)
            if n:
                self._out = self._out[n:]

    # The older uasyncio names.
    async def awrite(self, buf, off=0, sz=-1):
        if off != 0 or sz != -1:
            buf = memoryview(buf)[off : len(buf) if sz == -1 else off + sz]
        self.write(buf)
        await self.drain()

    async def awritestr(self, s):
        await self.awrite(s.encode())

    async def aclose(self):
        self.close()


StreamReader = Stream
StreamWriter = Stream


def _connect_wait(s, addr):
    try:
        s.connect(addr)
    except OSError as er:
        if er.errno != _EINPROGRESS:
            raise
    ev = yield from core._wait_io(s, _WRITE)
    if ev & _POLLERR_HUP:
        # Refused, reset or unreachable: connecting again reports why (EISCONN means it did connect).
        try:
            s.connect(addr)
        except OSError as er:
            if er.errno != _EISCONN:
                raise


async def open_connection(host, port, ssl=None):
    if ssl:
        raise ValueError("ssl is not supported on the walnut board")
    ai = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)[0]
    s = socket.socket(ai[0], socket.SOCK_STREAM, ai[2])
    s.setblocking(False)
    try:
        await _connect_wait(s, ai[-1])
    except BaseException:
        s.close()
        raise
    ss = Stream(s, {"peername": ai[-1]})
    return ss, ss


class Server:
    def __init__(self):
        self.task = None

    async def __aenter__(self):
        return self

    async def __aexit__(self, exc_type, exc, tb):
        self.close()
        await self.wait_closed()

    def close(self):
        if self.task is not None:
            self.task.cancel()

    async def wait_closed(self):
        if self.task is not None:
            await self.task

    async def _serve(self, s, cb):
        try:
            while True:
                await core._wait_io(s, _READ)
                try:
                    conn, addr = s.accept()
                except OSError as er:
                    if er.errno == _EAGAIN:
                        continue
                    raise
                conn.setblocking(False)
                ss = Stream(conn, {"peername": addr})
                r = cb(ss, ss)
                if hasattr(r, "send"):
                    core.create_task(r)
        except core.CancelledError:
            # close() ends the accept loop; connections already accepted go on.
            pass
        finally:
            s.close()


async def start_server(cb, host, port, backlog=5, ssl=None):
    if ssl:
        raise ValueError("ssl is not supported on the walnut board")
    ai = socket.getaddrinfo(host, port)[0]
    s = socket.socket()
    try:
        s.setblocking(False)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(ai[-1])
        s.listen(backlog)
    except BaseException:
        s.close()
        raise
    srv = Server()
    srv.task = core.create_task(srv._serve(s, cb))
    return srv
