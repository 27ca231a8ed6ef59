# Board, TCP client role: connect to the kernel side, readline/read/readinto with stream semantics, a recv
# timeout (ETIMEDOUT) while the peer is silent, the peer's close as b''. Syncs with tcp_server_peer.py.
import socket, errno, sys

print('SYNC ready')
assert input() == 'SYNC listening'
s = socket.socket()
s.connect(socket.getaddrinfo(sys.argv[1], 7200)[0][-1])
s.settimeout(0.3)
try:
    s.recv(10)
except OSError as e:
    print('silent peer', errno.errorcode[e.args[0]])
s.settimeout(5)
print('SYNC talk')
print('readline', s.readline())
print('read', s.read(4))
buf = bytearray(8)
print('readinto', s.readinto(buf), bytes(buf))
s.write(b'thanks\n')
print('rest', s.read())
s.close()
