# asyncio for the walnut board: Lock. acquire() parks the task in the lock's waiters (core._park); release()
# hands the lock straight to the first waiter, so it stays locked across the hand-over and no task can
# slip in between. Usable with `async with`.

from . import core


class Lock:
    def __init__(self):
        self._locked = False
        self._waiters = []
        self._handed = None  # the waiter given the lock by release() that has not run yet

    def locked(self):
        return self._locked

    def acquire(self):
        if self._locked:
            me = core.cur_task
            self._waiters.append(me)
            core._park(me, self._waiters)
            try:
                yield
            except core.CancelledError:
                if self._handed is me:
                    # Cancelled after release() chose it: pass the lock on instead of keeping it.
                    self._hand_over()
                raise
            self._handed = None
        else:
            self._locked = True
        return True

    def release(self):
        if not self._locked:
            raise RuntimeError("Lock not acquired")
        self._hand_over()

    def _hand_over(self):
        if self._waiters:
            t = self._waiters.pop(0)
            t._plist = None
            self._handed = t
            core._wake(t)
        else:
            self._locked = False
            self._handed = None

    def __aenter__(self):
        return self.acquire()

    async def __aexit__(self, exc_type, exc, tb):
        self.release()
