# Board: the lwIP-exact edge cases of docs/usocket.md — poll flags of a new socket (20) and through a peer's
# reset (25, then 17 once a call has reported it), data that arrived before the reset read first, SO_LINGER 0
# closing with a RST, getaddrinfo with bytes, 'localhost' and the optional arguments. Syncs with edges_peer.py.
import socket, select, struct, errno, sys

host = sys.argv[1]
s = socket.socket()
p = select.poll()
p.register(s)
print('new socket', p.poll(0)[0][1])
print('localhost', socket.getaddrinfo('localhost', 80, 0, socket.SOCK_STREAM, 0, 0)[0][-1])
print('bytes host', socket.getaddrinfo(host.encode(), 7400)[0][-1] == (host, 7400))

print('SYNC ready')
assert input() == 'SYNC listening'
s.connect((host, 7400))
s.settimeout(5)
s.send(b'go')
assert input() == 'SYNC reset'
# The peer sent a line and then reset the connection (SO_LINGER 0): poll until the reset is seen.
for _ in range(50):
    ev = p.poll(100)
    if ev and ev[0][1] & select.POLLERR:
        break
print('after reset', ev[0][1])
print('data first', s.recv(100))
try:
    s.recv(100)
except OSError as e:
    print('then', errno.errorcode[e.args[0]])
print('reported', p.poll(0)[0][1])
print('later', s.recv(100))
s.close()

c = socket.socket()
c.connect((host, 7401))
c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
c.send(b'abort me')
c.close()
print('SYNC aborted')
assert input() == 'SYNC done'
