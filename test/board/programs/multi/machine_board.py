# Board: machine as network scripts use it — unique_id() from the MAC, freq(), soft Timers (periodic and
# one-shot) whose callbacks run while the script blocks in a socket call or sleeps, a virtual Pin toggled
# from a callback (logged with --trace-pins), and reset(): the script starts again, reset_cause() says so.
import machine, network, socket, time

wl = network.WLAN()
print('unique_id is the MAC', machine.unique_id() == wl.config('mac'))
print('freq', machine.freq())
first = machine.reset_cause() != machine.SOFT_RESET
print('reset cause', 'power-on' if first else 'soft reset')
led = machine.Pin(2, machine.Pin.OUT)
ticks = []


def tick(t):
    ticks.append(t)
    led.toggle()


periodic = machine.Timer(0)
periodic.init(period=50, mode=machine.Timer.PERIODIC, callback=tick)
shots = []
machine.Timer(1, mode=machine.Timer.ONE_SHOT, period=30, callback=lambda t: shots.append(1))
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(('0.0.0.0', 7600))
u.settimeout(0.5)
try:
    u.recvfrom(16)
except OSError:
    pass
print('ticks while blocked in recvfrom', len(ticks) >= 5, 'one-shot fired once', shots)
time.sleep(0.3)
periodic.deinit()
n = len(ticks)
time.sleep(0.2)
print('deinit stops it', len(ticks) == n, 'pin value', led.value() in (0, 1))
u.close()
if first:
    print('resetting')
    machine.reset()
print('after the reset')
