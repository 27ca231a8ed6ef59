# Board: what the interpreter reads ahead of recv stays exact — recv, MSG_PEEK, readline, read, readinto and
# recvfrom take the bytes in order across the read-ahead and the stack, select.poll reports them readable
# although the stack's buffer is empty, and a close with bytes unread resets the connection. Syncs with
# readahead_peer.py, which sends one 29-byte segment.
import socket, select, sys

s = socket.socket()
print('SYNC ready')
assert input() == 'SYNC listening'
s.connect((sys.argv[1], 7410))
s.settimeout(5)
p = select.poll()
p.register(s, select.POLLIN)
assert input() == 'SYNC sent'
p.poll(5000)
print('recv', s.recv(3))
print('still readable', bool(p.poll(0)[0][1] & select.POLLIN))
print('peek', s.recv(2, socket.MSG_PEEK))
print('readline', s.readline())
print('read', s.read(4))
buf = bytearray(3)
print('readinto', s.readinto(buf), bytes(buf))
d, addr = s.recvfrom(3)
print('recvfrom', d, addr[0] == sys.argv[1])
print('recv', s.recv(1), s.recv(2))
s.close()
print('SYNC closed')
assert input() == 'SYNC done'
