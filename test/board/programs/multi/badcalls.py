# Board: every usocket, select and network call with wrong arguments raises a Python exception (the type
# is printed, one line per call), and the board still serves afterwards: a UDP echo for the kernel side.
import socket, select, network, sys

results = []


def check(name, f):
    try:
        f()
        results.append('%s ok' % name)
    except Exception as e:  # noqa
        results.append('%s %s' % (name, type(e).__name__))


BIG = 2 ** 40
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
t = socket.socket()
closed = socket.socket()
closed.close()
for bad in (None, 'x', 1.5, BIG, -1, b'\x00'):
    check('socket af %r' % (bad,), lambda: socket.socket(bad))
check('getaddrinfo None', lambda: socket.getaddrinfo(None, 80))
check('getaddrinfo port str', lambda: socket.getaddrinfo('10.0.0.1', 'http'))
check('getaddrinfo bytes host', lambda: socket.getaddrinfo(b'10.0.0.1', 80))
check('getaddrinfo huge port', lambda: socket.getaddrinfo('10.0.0.1', BIG))
check('bind None', lambda: s.bind(None))
check('bind str', lambda: s.bind('0.0.0.0:80'))
check('bind short', lambda: s.bind(('0.0.0.0',)))
check('bind port float', lambda: s.bind(('0.0.0.0', 1.5)))
check('bind port huge', lambda: s.bind(('0.0.0.0', BIG)))
check('bind port negative', lambda: s.bind(('0.0.0.0', -1)))
check('bind host int', lambda: s.bind((5, 80)))
check('bind host bad', lambda: s.bind(('300.1.1.1', 80)))
check('sendto int', lambda: s.sendto(5, ('10.0.0.1', 9)))
check('sendto None addr', lambda: s.sendto(b'x', None))
check('sendto list data', lambda: s.sendto([1, 2], ('10.0.0.1', 9)))
check('recv str', lambda: s.recv('10'))
check('recv negative', lambda: s.recv(-5))
check('recv float', lambda: s.recv(1.5))
check('recvfrom None', lambda: s.recvfrom(None))
check('settimeout str', lambda: s.settimeout('1'))
check('settimeout negative', lambda: s.settimeout(-1))
check('setsockopt None', lambda: s.setsockopt(None, None, None))
check('setsockopt list', lambda: s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, [1]))
check('listen str', lambda: t.listen('5'))
check('setsockopt bool value', lambda: t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, True))
import uselect
check('uselect is the board select', lambda: None if uselect.poll is select.poll else 1 / 0)
check('connect None', lambda: t.connect(None))
check('send on unconnected', lambda: t.send(b'x'))
check('send None', lambda: t.send(None))
check('write int', lambda: t.write(7))
check('readinto bytes', lambda: t.readinto(b'abc'))
check('makefile text', lambda: t.makefile('r'))
check('closed send', lambda: closed.send(b'x'))
check('closed recv', lambda: closed.recv(1))
check('closed bind', lambda: closed.bind(('0.0.0.0', 0)))
p = select.poll()
check('register None', lambda: p.register(None))
check('register str', lambda: p.register('sock'))
check('register mask str', lambda: p.register(s, 'in'))
check('modify unregistered', lambda: p.modify(t, select.POLLIN))
check('poll timeout str', lambda: p.poll('1'))
check('poll timeout huge', lambda: p.poll(BIG))
check('select not lists', lambda: select.select(None, [], []))
check('select timeout str', lambda: select.select([], [], [], 'x'))
wl = network.WLAN(network.STA_IF)
check('WLAN bad interface', lambda: network.WLAN(7))
check('connect int ssid', lambda: wl.connect(5, 6))
check('ifconfig wrong tuple', lambda: wl.ifconfig(('1.2.3.4',)))
check('ifconfig bad address', lambda: wl.ifconfig(('1.2.3.999', '255.255.255.0', '0.0.0.0', '0.0.0.0')))
check('config unknown', lambda: wl.config('nope'))
for r in results:
    print(r)
wl.active(True)
wl.connect('ssid', 'key')
e = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
e.bind(('0.0.0.0', 7400))
print('SYNC serving')
data, addr = e.recvfrom(64)
e.sendto(data, addr)
print('still serving', data)
