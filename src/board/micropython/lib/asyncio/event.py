# asyncio for the walnut board: Event (wakes every waiting task when set) and ThreadSafeFlag (one waiter,
# cleared as wait() returns). Waiting parks the task in core (core._park); set() hands it back to the ready
# list (core._wake). Called from tasks and from code outside the loop alike.

from . import core


class Event:
    def __init__(self):
        self._flag = False
        self._waiters = []

    def is_set(self):
        return self._flag

    def set(self):
        self._flag = True
        waiters = self._waiters
        self._waiters = []
        for t in waiters:
            t._plist = None
            core._wake(t)

    def clear(self):
        self._flag = False

    def wait(self):
        if not self._flag:
            me = core.cur_task
            self._waiters.append(me)
            core._park(me, self._waiters)
            yield
        return True


class ThreadSafeFlag:
    """As the board's: set() may come before wait(); only one task waits at a time."""

    def __init__(self):
        self._flag = False
        self._waiter = None

    def set(self):
        self._flag = True
        t = self._waiter
        if t is not None:
            self._waiter = None
            core._tsf_waiting -= 1
            core._wake(t)

    def clear(self):
        self._flag = False

    def wait(self):
        if not self._flag:
            if self._waiter is not None:
                raise RuntimeError("ThreadSafeFlag already has a waiting task")
            me = core.cur_task
            self._waiter = me
            core._tsf_waiting += 1
            core._park(me)
            try:
                yield
            finally:
                if self._waiter is me:  # cancelled while waiting
                    self._waiter = None
                    core._tsf_waiting -= 1
        self._flag = False
