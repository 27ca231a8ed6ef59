# select/uselect for the walnut board: poll objects and select() over the board's sockets and its console
# (sys.stdin, fd 0: readable when a line is waiting). The wait itself happens in the stack: one bridge call
# that returns when a registered object is ready or the timeout ends, so a waiting script costs no CPU.
import _walnut as _w
import _walnutconst as _k
from usocket import _c, _int

POLLIN = _k.POLLIN
POLLOUT = _k.POLLOUT
POLLERR = _k.POLLERR
POLLHUP = _k.POLLHUP
POLLNVAL = _k.POLLNVAL


def _none():
    return 0


def _fd(obj):
    f = getattr(obj, "fileno", None)
    if f is None:
        raise TypeError("object with stream.ioctl required")
    return f()


class poll:
    def __init__(self):
        self._m = {}

    def register(self, obj, eventmask=POLLIN | POLLOUT):
        self._m[_fd(obj)] = [obj, _int(eventmask)]

    def unregister(self, obj):
        self._m.pop(_fd(obj), None)

    def modify(self, obj, eventmask):
        e = self._m.get(_fd(obj))
        if e is None:
            raise OSError(2)
        e[1] = _int(eventmask)

    def poll(self, timeout=-1):
        timeout = -1 if timeout is None else _int(timeout)
        # Sockets holding bytes read ahead in the interpreter (usocket's recv) are readable whatever the
        # stack says: the stack is only asked what else is ready, without waiting.
        ahead = [k for k, v in self._m.items() if v[1] & POLLIN and getattr(v[0], "_ahead", _none)()]
        if ahead:
            timeout = 0
        spec = ",".join("%d:%d" % (k, v[1]) for k, v in self._m.items())
        _c(_k.OP_POLL, 0, spec, timeout)
        out = []
        s = _w.string()
        if s:
            for item in s.split(","):
                k, ev = item.split(":")
                k = int(k)
                e = self._m.get(k)
                if e is not None:
                    ev = int(ev)
                    if k in ahead:
                        ev |= POLLIN
                        ahead.remove(k)
                    out.append((e[0], ev))
        for k in ahead:
            out.append((self._m[k][0], POLLIN))
        return out

    def ipoll(self, timeout=-1, flags=0):
        _int(flags)
        return iter(self.poll(timeout))


def select(rlist, wlist, xlist, timeout=None):
    if timeout is not None and not isinstance(timeout, (int, float)):
        raise TypeError("can't convert %s to float" % type(timeout).__name__)
    p = poll()
    masks = {}
    objs = {}
    for lst, bit in ((rlist, POLLIN), (wlist, POLLOUT), (xlist, 0)):
        for o in lst:
            k = _fd(o)
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
