# asyncio for the walnut board, the scheduler: Task, the ready list, timers on a monotonic millisecond clock
# and the board's sockets waited on through one select.poll. An idle loop waits inside that poll's
# poll(timeout_ms), which blocks in the bridge until a socket is ready or the next timer is due: it never
# spins. Call order: run / Loop.run_* → _run_until → poll, due timers → _step → the task's coroutine →
# awaitables (sleep, Event, Lock, streams) that _park the task until _wake puts it back on the ready list.

import sys
import select
from heapq import heappush, heappop, heapify
from time import ticks_ms, ticks_diff

_POLLIN = select.POLLIN
_POLLOUT = select.POLLOUT


class CancelledError(BaseException):
    pass


class TimeoutError(Exception):
    pass


# Task states. A task is on the ready list exactly when READY.
_READY = 0
_PARKED = 1
_RUNNING = 2
_DONE = 3

# Milliseconds since import: ticks_ms wraps (2**30 on MicroPython), a heap of deadlines needs a clock that
# does not. Advanced by each reading with ticks_diff, so it stays right as long as the loop looks at the
# clock at least once per half period (~6 days).
_elapsed_ms = 0
_last_ticks = ticks_ms()


def _now():
    global _elapsed_ms, _last_ticks
    t = ticks_ms()
    _elapsed_ms += ticks_diff(t, _last_ticks)
    _last_ticks = t
    return _elapsed_ms


_ready = []  # tasks to step in the next batch
_timers = []  # heap of (deadline ms, key, task); an entry counts only while task._tkey == key
_timer_key = 0
_stale = 0  # entries of _timers whose task was woken some other way (wait_for that finished in time)
_io = {}  # fileno → [socket, task waiting to read, task waiting to write]
_poller = select.poll()
_tsf_waiting = 0  # tasks in ThreadSafeFlag.wait: like the board's, they keep the loop waiting
_stopping = False
cur_task = None


class Task:
    def __init__(self, coro):
        self.coro = coro
        self.data = None
        self._st = _READY
        self._res = None
        self._exc = None
        self._throw = None  # exception thrown into the coroutine at its next step (cancel)
        self._watch = []  # tasks awaiting this one, and callbacks (gather); None once done
        self._plist = None  # while parked: the list it waits in (Event/Lock waiters, a task's _watch)
        self._awaiting = None  # while parked: the Task it awaits (cancel is forwarded there, as on the board)
        self._tkey = 0  # while parked with a deadline: its timer entry's key, else 0
        self._io = None  # while parked on a socket: (fileno, 1 read / 2 write)
        self._ev = 0  # poll events of the socket wait that woke it

    def __repr__(self):
        return "<Task>"

    def done(self):
        return self._st == _DONE

    def cancel(self):
        # A task awaiting another task is cancelled through it: the innermost awaited task gets the
        # CancelledError, and it reaches the outer ones as that task's outcome.
        t = self
        while t._st == _PARKED and t._awaiting is not None:
            t = t._awaiting
        if t._st == _DONE:
            return False
        if t is cur_task:
            raise RuntimeError("can't cancel self")
        t._throw = CancelledError()
        _wake(t)
        return True

    def __iter__(self):
        while self._st != _DONE:
            me = cur_task
            self._watch.append(me)
            _park(me, self._watch, self)
            yield
        if self._exc is not None:
            raise self._exc
        return self._res


def _park(t, plist=None, awaiting=None, ms=-1):
    """Takes `t` off the run until _wake; with ms >= 0 a timer wakes it after ms."""
    global _timer_key
    t._st = _PARKED
    t._plist = plist
    t._awaiting = awaiting
    if ms >= 0:
        _timer_key += 1
        t._tkey = _timer_key
        heappush(_timers, (_now() + ms, _timer_key, t))


def _wake(t):
    """Puts a parked task back on the ready list, out of whatever it waited in."""
    if t._st != _PARKED:
        return
    if t._plist is not None:
        try:
            t._plist.remove(t)
        except ValueError:
            pass
        t._plist = None
    t._awaiting = None
    if t._tkey:
        t._tkey = 0
        _timer_stale()
    if t._io is not None:
        _io_drop(t)
    t._st = _READY
    _ready.append(t)


def _timer_stale():
    # Stale entries leave the heap when they reach its top; many wait_for calls with long timeouts that
    # finish early would pile them up first, so the heap is rebuilt once they are half of it.
    global _stale, _timers
    _stale += 1
    if _stale > 16 and 2 * _stale > len(_timers):
        _timers = [e for e in _timers if e[2]._tkey == e[1]]
        heapify(_timers)
        _stale = 0


def _io_mask(e):
    return (_POLLIN if e[1] is not None else 0) | (_POLLOUT if e[2] is not None else 0)


def _wait_io(sock, slot):
    """Awaitable: parks the current task until `sock` is readable (slot 1) or writable (2) → poll events."""
    fd = sock.fileno()
    e = _io.get(fd)
    if e is None:
        e = [sock, None, None]
        _io[fd] = e
    elif e[slot] is not None:
        raise RuntimeError("another task already waits on this socket")
    me = cur_task
    e[slot] = me
    _poller.register(sock, _io_mask(e))
    _park(me)
    me._io = (fd, slot)
    yield
    return me._ev


def _io_drop(t):
    fd, slot = t._io
    t._io = None
    e = _io.get(fd)
    if e is None or e[slot] is not t:
        return
    e[slot] = None
    if e[1] is None and e[2] is None:
        del _io[fd]
        _poller.unregister(e[0])
    else:
        _poller.register(e[0], _io_mask(e))


def _step(t):
    global cur_task
    cur_task = t
    t._st = _RUNNING
    exc = t._throw
    try:
        if exc is None:
            t.coro.send(None)
        else:
            t._throw = None
            t.coro.throw(exc)
    except StopIteration as e:
        _finish(t, e.value, None)
    except (CancelledError, Exception) as e:
        _finish(t, None, e)
    else:
        if t._st == _RUNNING:
            # It yielded without parking (sleep(0), a bare generator): it runs again next batch.
            t._st = _READY
            _ready.append(t)


def _finish(t, res, exc):
    t._st = _DONE
    t._res = res
    t._exc = exc
    watchers = t._watch
    t._watch = None
    if watchers:
        for w in watchers:
            if isinstance(w, Task):
                w._plist = None  # the list goes away with this task; _wake must not edit it mid-loop
                _wake(w)
            else:
                w(t)
    elif exc is not None and not isinstance(exc, CancelledError):
        _loop.call_exception_handler({"message": "Task exception wasn't retrieved", "exception": exc, "future": t})


def _run_until(main):
    """Runs tasks until `main` is done (None: until stop()), or until nothing could wake any task."""
    global _ready, _stopping, _stale
    while True:
        if main is not None:
            if main._st == _DONE:
                return
        elif _stopping:
            _stopping = False
            return
        if _ready:
            wait_ms = 0
        else:
            while _timers and _timers[0][2]._tkey != _timers[0][1]:
                heappop(_timers)
                _stale -= 1
            if _timers:
                wait_ms = max(0, _timers[0][0] - _now())
            elif _io or _tsf_waiting:
                wait_ms = -1
            else:
                return
        if _io or wait_ms != 0:
            # The one place the loop waits: the board's poll blocks on the stack for up to wait_ms.
            for sock, ev in _poller.ipoll(wait_ms):
                e = _io.get(sock.fileno())
                if e is None:
                    continue
                reader, writer = e[1], e[2]
                # ERR, HUP and NVAL wake both sides: the next call on the socket raises or sees EOF.
                if reader is not None and ev & ~_POLLOUT:
                    reader._ev = ev
                    _wake(reader)
                if writer is not None and ev & ~_POLLIN:
                    writer._ev = ev
                    _wake(writer)
        if _timers:
            now = _now()
            while _timers and _timers[0][0] <= now:
                entry = heappop(_timers)
                t = entry[2]
                if t._tkey == entry[1]:
                    t._tkey = 0
                    _wake(t)
                else:
                    _stale -= 1
        batch = _ready
        _ready = []
        for t in batch:
            if t._st == _READY:
                _step(t)


def _retrieved(t):
    pass


def _run_main(t):
    global cur_task
    if t._st != _DONE:
        t._watch.append(_retrieved)  # its outcome goes to run()'s caller, not the exception handler
        try:
            _run_until(t)
        finally:
            cur_task = None
    if t._st != _DONE:
        return None
    if t._exc is not None:
        raise t._exc
    return t._res


def _promote(aw):
    return aw if isinstance(aw, Task) else create_task(aw)


def create_task(coro):
    if not hasattr(coro, "send"):
        raise TypeError("coroutine expected")
    t = Task(coro)
    _ready.append(t)
    return t


def current_task():
    if cur_task is None:
        raise RuntimeError("no running event loop")
    return cur_task


def run(coro):
    return _run_main(create_task(coro))


def sleep_ms(t):
    ms = int(t)
    if ms > 0:
        _park(cur_task, ms=ms)
    yield


def sleep(t):
    return sleep_ms(int(t * 1000))


class Loop:
    _exc_handler = None

    def create_task(self, coro):
        return create_task(coro)

    def run_forever(self):
        global _stopping, cur_task
        _stopping = False
        try:
            _run_until(None)
        finally:
            cur_task = None

    def run_until_complete(self, aw):
        return _run_main(_promote(aw))

    def stop(self):
        global _stopping
        _stopping = True

    def close(self):
        pass

    def set_exception_handler(self, handler):
        Loop._exc_handler = handler

    def get_exception_handler(self):
        return Loop._exc_handler

    def default_exception_handler(self, context):
        print(context["message"], file=sys.stderr)
        fut = context.get("future")
        if fut is not None:
            print("future:", fut, "coro=", fut.coro, file=sys.stderr)
        exc = context.get("exception")
        if exc is not None:
            sys.print_exception(exc, sys.stderr)

    def call_exception_handler(self, context):
        (Loop._exc_handler or Loop.default_exception_handler)(self, context)


_loop = Loop()


def get_event_loop(runq_len=0, waitq_len=0):
    return _loop


def new_event_loop():
    """The board has one loop: this empties it (tasks, timers, socket waits) and returns it."""
    global _ready, _timers, _stale, _io, _poller, _tsf_waiting, _stopping, cur_task
    _ready = []
    _timers = []
    _stale = 0
    _io = {}
    _poller = select.poll()
    _tsf_waiting = 0
    _stopping = False
    cur_task = None
    return _loop
