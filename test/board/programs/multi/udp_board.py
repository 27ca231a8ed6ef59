# Board, both UDP roles: a server that answers the peer's datagrams (recvfrom with a timeout, MSG_PEEK),
# then a client that sends to the peer's server and waits for its answer. Syncs with udp_peer.py.
import socket, errno, sys

u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(('0.0.0.0', 7300))
u.settimeout(0.2)
try:
    u.recvfrom(64)
except OSError as e:
    print('no datagram yet', errno.errorcode[e.args[0]])
u.settimeout(5)
print('SYNC bound')
d = u.recv(64, socket.MSG_PEEK)
data, addr = u.recvfrom(64)
print('server got', data, 'peeked', d, 'from the kernel side', addr[0] == sys.argv[1])
u.sendto(b'pong:' + data, addr)
u.close()
assert input() == 'SYNC serving'
c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
c.settimeout(5)
c.sendto('hello, i am client', (sys.argv[1], 7301))
reply, addr = c.recvfrom(64)
print('client got', reply, addr[1])
c.close()
