# asyncio for the walnut board: wait_for / wait_for_ms (a deadline on an awaitable; on expiry the task is
# cancelled, its cleanup runs, then TimeoutError) and gather (all awaitables at once, results in order).
# Both wait by parking the caller in core: in the awaited task's watch list with a timer, or behind
# gather's done-callbacks.

from . import core


def _outcome(t):
    if t._exc is not None:
        raise t._exc
    return t._res


def wait_for_ms(aw, timeout):
    t = core._promote(aw)
    if timeout is None:
        return (yield from t)
    if t._st != core._DONE:
        me = core.cur_task
        t._watch.append(me)
        core._park(me, t._watch, t, max(0, int(timeout)))
        yield
        if t._st != core._DONE:
            # The deadline came first: cancel it, let its cleanup (finally, except) run, then time out.
            t.cancel()
            try:
                yield from t
            except core.CancelledError:
                pass
            raise core.TimeoutError
    return _outcome(t)


def wait_for(aw, timeout):
    return wait_for_ms(aw, None if timeout is None else timeout * 1000)


def gather(*aws, return_exceptions=False):
    tasks = [core._promote(aw) for aw in aws]
    me = core.cur_task
    state = [0, None]  # [tasks not done yet, the first exception when not returning exceptions]

    def on_done(t):
        state[0] -= 1
        if t._exc is not None and not return_exceptions:
            if state[1] is None:
                state[1] = t._exc
                core._wake(me)
        elif state[0] == 0:
            core._wake(me)

    for t in tasks:
        if t._st != core._DONE:
            state[0] += 1
            t._watch.append(on_done)
        elif t._exc is not None and not return_exceptions and state[1] is None:
            state[1] = t._exc
    if state[0] and state[1] is None:
        core._park(me)
        try:
            yield
        except core.CancelledError:
            # Cancelling gather cancels what it gathers.
            for t in tasks:
                if t._st != core._DONE:
                    t._watch.remove(on_done)
                    t.cancel()
            raise
    # After a failure the others run on, no longer gathered.
    for t in tasks:
        if t._st != core._DONE and on_done in t._watch:
            t._watch.remove(on_done)
    if state[1] is not None:
        raise state[1]
    return [t._res if t._exc is None else t._exc for t in tasks]
