# machine for the walnut board, as network scripts use it: unique_id() from the board's MAC (MQTT client ids
# are built from it), reset()/soft_reset() (a soft reset: the script starts again, or the REPL gets a fresh
# prompt; the board stays up), freq(), idle(), soft Timers whose callbacks run at blocking calls and sleeps
# (as MicroPython's soft timers run from its scheduler), and a virtual Pin whose value changes walnut logs
# with --trace-pins, so a script that blinks an LED while it serves still runs.
import _walnut as _w
import _walnutconst as _k
from usocket import _c, _int
import time

PWRON_RESET = 1
HARD_RESET = 2
WDT_RESET = 3
DEEPSLEEP_RESET = 4
SOFT_RESET = 5

_freq = [160000000]


def unique_id():
    _c(_k.OP_NET_MAC)
    return bytes(int(h, 16) for h in _w.string().split(":"))


def reset():
    _c(_k.OP_RESET)


soft_reset = reset


def reset_cause():
    return SOFT_RESET if _k.SOFT_RESETS > 0 else PWRON_RESET


def freq(hz=None):
    if hz is None:
        return _freq[0]
    _freq[0] = _int(hz)


def idle():
    time.sleep_ms(1)


def lightsleep(ms=None):
    time.sleep_ms(0 if ms is None else ms)


def deepsleep(ms=None):
    if ms is not None:
        time.sleep_ms(ms)
    reset()


def disable_irq():
    return 0


def enable_irq(state=0):
    pass


class Timer:
    ONE_SHOT = 0
    PERIODIC = 1
    _next_id = [1]

    def __init__(self, id=-1, *args, **kwargs):
        self._id = Timer._next_id[0]
        Timer._next_id[0] += 1
        self._callback = None
        if args or kwargs:
            self.init(*args, **kwargs)

    def init(self, mode=PERIODIC, period=-1, callback=None, freq=-1, tick_hz=1000):
        if freq is not None and freq > 0:
            period_ms = 1000 / freq
        else:
            if not isinstance(period, (int, float)):
                raise TypeError("can't convert %s to int" % type(period).__name__)
            period_ms = period * 1000 / tick_hz
        if period_ms <= 0:
            raise ValueError("period must be positive")
        if mode not in (Timer.ONE_SHOT, Timer.PERIODIC):
            raise ValueError("mode must be ONE_SHOT or PERIODIC")
        self._callback = callback
        _w.timer_set(self._id, period_ms, period_ms if mode == Timer.PERIODIC else 0, self._fire)

    def _fire(self):
        cb = self._callback
        if cb is not None:
            cb(self)

    def deinit(self):
        _w.timer_cancel(self._id)
        self._callback = None

    def __repr__(self):
        return "Timer(%d)" % self._id


class Pin:
    IN = 1
    OUT = 3
    OPEN_DRAIN = 7
    PULL_UP = 1
    PULL_DOWN = 2
    IRQ_RISING = 1
    IRQ_FALLING = 2

    def __init__(self, id, mode=-1, pull=-1, *, value=None):
        if not isinstance(id, (int, str)):
            raise TypeError("pin id must be an int or a str")
        self._name = str(id)
        self._value = 0
        self._mode = mode
        self._pull = pull
        if value is not None:
            self.value(value)

    def init(self, mode=-1, pull=-1, *, value=None):
        if mode != -1:
            self._mode = mode
        if pull != -1:
            self._pull = pull
        if value is not None:
            self.value(value)

    def value(self, x=None):
        if x is None:
            return self._value
        v = 1 if x else 0
        if v != self._value:
            self._value = v
            if _k.TRACE_PINS:
                _c(_k.OP_PIN, 0, self._name, v)

    def __call__(self, x=None):
        return self.value(x)

    def on(self):
        self.value(1)

    def off(self):
        self.value(0)

    high = on
    low = off

    def toggle(self):
        self.value(0 if self._value else 1)

    def mode(self, mode=None):
        if mode is None:
            return self._mode
        self._mode = mode

    def pull(self, pull=None):
        if pull is None:
            return self._pull
        self._pull = pull

    def irq(self, handler=None, trigger=3, *args, **kwargs):
        # A virtual pin has no outside world driving it: the handler never fires.
        return None

    def __repr__(self):
        return "Pin(%s)" % self._name
