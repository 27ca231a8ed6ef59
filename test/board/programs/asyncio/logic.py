# The board's asyncio without the network: which module `import asyncio` finds, timer order, cancellation
# (CancelledError delivered, finally run, forwarded to an awaited task), wait_for, gather, Event, Lock,
# ThreadSafeFlag, the loop object and its exception handler, and run() returning when nothing can wake.
# Each section prints one line per fact; asyncio.test.ts compares the whole output.
import asyncio
import uasyncio
from asyncio import sleep_ms, Event, Lock, CancelledError
from time import ticks_ms, ticks_diff

print("board asyncio:", hasattr(asyncio, "run"), hasattr(asyncio, "start_server"), hasattr(asyncio, "open_connection"))
print("uasyncio is an alias:", uasyncio.run is asyncio.run, uasyncio.Event is Event, uasyncio.core is asyncio.core)
print("CancelledError is an Exception:", issubclass(CancelledError, Exception))
try:
    asyncio.current_task()
except RuntimeError as e:
    print("current_task outside the loop:", e)


async def sleeper(name, ms, out):
    await sleep_ms(ms)
    out.append(name)


async def timers():
    out = []
    await asyncio.gather(*(sleeper(n, ms, out) for n, ms in (("s50", 50), ("s10", 10), ("s30", 30), ("s0", 0), ("s20a", 20), ("s20b", 20))))
    print("timers fire in deadline order:", out)
    t0 = ticks_ms()
    await asyncio.sleep(0.1)
    print("sleep(0.1) took at least 100 ms:", ticks_diff(ticks_ms(), t0) >= 100)


async def victim(out, s=10):
    try:
        out.append("start")
        await asyncio.sleep(s)
        out.append("not reached")
    except CancelledError:
        out.append("CancelledError")
        raise
    finally:
        out.append("finally")


async def stubborn():
    try:
        await asyncio.sleep(10)
    except CancelledError:
        pass
    return "ignored the cancel"


async def cancellation():
    out = []
    t = asyncio.create_task(victim(out))
    await sleep_ms(0)
    print("cancel() of a running task:", t.cancel(), t.done())
    try:
        await t
    except CancelledError:
        print("awaiting it raises CancelledError")
    print("the task saw:", out, "done:", t.done(), "cancel again:", t.cancel())

    out = []
    t = asyncio.create_task(victim(out))
    t.cancel()
    try:
        await t
    except CancelledError:
        print("cancelled before it started:", out)

    try:
        asyncio.current_task().cancel()
    except RuntimeError as e:
        print("cancelling oneself:", e)

    out = []
    inner = asyncio.create_task(victim(out))

    async def outer():
        return await inner

    o = asyncio.create_task(outer())
    await sleep_ms(0)
    o.cancel()
    try:
        await o
    except CancelledError:
        print("cancelling the awaiting task cancels the awaited one:", inner.done(), out)

    t = asyncio.create_task(stubborn())
    await sleep_ms(0)
    t.cancel()
    print("a task may ignore it:", await t)


async def value_after(ms, v):
    await sleep_ms(ms)
    return v


async def fail_after(ms, msg):
    await sleep_ms(ms)
    raise ValueError(msg)


async def wait_fors():
    out = []
    t0 = ticks_ms()
    try:
        await asyncio.wait_for(victim(out, 1), 0.05)
    except asyncio.TimeoutError:
        print("wait_for timed out after the task's cleanup:", out, ticks_diff(ticks_ms(), t0) < 900)
    print("wait_for_ms in time:", await asyncio.wait_for_ms(value_after(10, "value"), 1000))
    print("wait_for with no timeout:", await asyncio.wait_for(value_after(1, "v2"), None))
    try:
        await asyncio.wait_for(fail_after(1, "inner error"), 1)
    except ValueError as e:
        print("wait_for passes the task's exception:", e)
    t = asyncio.create_task(value_after(0, "done already"))
    await sleep_ms(0)
    print("wait_for on a finished task:", await asyncio.wait_for(t, 0))
    for i in range(200):
        await asyncio.wait_for_ms(value_after(0, i), 60000)
    print("200 wait_for that finish in time leave no pile of timers:", len(asyncio.core._timers) < 40)


async def gathers():
    print("gather keeps argument order:", await asyncio.gather(value_after(30, "x"), value_after(10, "y"), value_after(0, "z")))
    print("gather of nothing:", await asyncio.gather())
    print("return_exceptions:", await asyncio.gather(fail_after(1, "bad"), value_after(2, "ok"), return_exceptions=True))
    late = asyncio.create_task(value_after(200, "late"))
    t0 = ticks_ms()
    try:
        await asyncio.gather(fail_after(5, "first error"), late)
    except ValueError as e:
        print("gather raises the first error at once:", e, ticks_diff(ticks_ms(), t0) < 150, "others run on:", not late.done())
    print("the other one finishes:", await late)
    out1, out2 = [], []

    async def gathering():
        await asyncio.gather(victim(out1), victim(out2))

    g = asyncio.create_task(gathering())
    await sleep_ms(0)
    await sleep_ms(0)
    g.cancel()
    try:
        await g
    except CancelledError:
        print("cancelling gather cancels what it gathers:", out1, out2)


async def events():
    ev = Event()
    woken = []

    async def waiter(i):
        r = await ev.wait()
        woken.append((i, r))

    ts = [asyncio.create_task(waiter(i)) for i in range(3)]
    await sleep_ms(5)
    print("before set:", woken, ev.is_set())
    ev.set()
    await asyncio.gather(*ts)
    print("set wakes every waiter:", woken, ev.is_set())
    print("wait on a set event returns at once:", await asyncio.wait_for_ms(ev.wait(), 0))
    ev.clear()
    print("cleared:", ev.is_set())

    flag = asyncio.ThreadSafeFlag()
    flag.set()
    await flag.wait()
    try:
        await asyncio.wait_for_ms(flag.wait(), 20)
    except asyncio.TimeoutError:
        print("ThreadSafeFlag set before wait: wait returns, and clears it")

    async def setter():
        await sleep_ms(10)
        flag.set()

    asyncio.create_task(setter())
    await asyncio.wait_for(flag.wait(), 1)
    print("ThreadSafeFlag set by another task wakes its waiter")


async def locks():
    lock = Lock()
    order = []

    async def critical(i):
        async with lock:
            order.append("in%d" % i)
            await sleep_ms(5)
            order.append("out%d" % i)

    await asyncio.gather(critical(1), critical(2), critical(3))
    print("Lock: one at a time, in arrival order:", order, lock.locked())
    try:
        lock.release()
    except RuntimeError as e:
        print("release when not locked:", e)
    await lock.acquire()
    got = []

    async def contender(i):
        await lock.acquire()
        got.append(i)
        lock.release()

    c1 = asyncio.create_task(contender(1))
    c2 = asyncio.create_task(contender(2))
    await sleep_ms(0)
    c1.cancel()
    lock.release()
    await c2
    print("a cancelled waiter does not take the lock:", got, c1.done(), lock.locked())


async def main():
    await timers()
    await cancellation()
    await wait_fors()
    await gathers()
    await events()
    await locks()
    return "main's value"


print("run returns the main task's value:", asyncio.run(main()))


async def raiser():
    await sleep_ms(1)
    raise KeyError("from main")


try:
    asyncio.run(raiser())
except KeyError as e:
    print("run raises the main task's exception:", repr(e))

loop = asyncio.get_event_loop()
print("one loop:", loop is asyncio.get_event_loop(), loop is asyncio.new_event_loop())
print("run_until_complete:", loop.run_until_complete(value_after(1, "ruc")))
ticks = []


async def ticker():
    while True:
        await sleep_ms(5)
        ticks.append(len(ticks))
        if len(ticks) == 3:
            loop.stop()


tk = loop.create_task(ticker())
loop.run_forever()
print("run_forever until stop():", ticks)
tk.cancel()
loop.run_until_complete(sleep_ms(0))

seen = []


def handler(lp, context):
    seen.append((lp is loop, context["message"], repr(context["exception"]), context["future"] is failing_task))


loop.set_exception_handler(handler)
print("get_exception_handler:", loop.get_exception_handler() is handler)
failing_task = asyncio.create_task(fail_after(1, "nobody awaits this"))
asyncio.run(sleep_ms(10))
print("the handler gets unretrieved exceptions:", seen)
loop.call_exception_handler({"message": "by hand", "exception": None, "future": None})
print("call_exception_handler:", seen[-1][1])
loop.set_exception_handler(None)
failing_task = asyncio.create_task(fail_after(1, "printed by the default handler"))
asyncio.run(sleep_ms(10))

forgotten = []


async def never_run():
    forgotten.append("ran")


asyncio.create_task(never_run())
asyncio.new_event_loop()
asyncio.run(sleep_ms(1))
print("new_event_loop drops pending tasks:", forgotten)


async def waits_forever():
    await Event().wait()
    return "unreachable"


t0 = ticks_ms()
print("run returns when nothing can wake the task:", asyncio.run(waits_forever()), ticks_diff(ticks_ms(), t0) < 500)
loop.close()
print("end")
