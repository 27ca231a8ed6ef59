# Board, TCP server role: accept with a timeout and non-blocking, MSG_PEEK and MSG_DONTWAIT, a client's
# close seen as b'', then a line typed on the console sent to a second client. Syncs with tcp_client_peer.py.
import socket, sys, errno

s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('0.0.0.0', 7100))
s.listen(2)
s.settimeout(0.2)
try:
    s.accept()
except OSError as e:
    print('accept timeout', errno.errorcode[e.args[0]])
s.setblocking(False)
try:
    s.accept()
except OSError as e:
    print('accept non-blocking', errno.errorcode[e.args[0]])
s.setblocking(True)
print('SYNC listening')
conn, addr = s.accept()
print('accepted from the kernel side', addr[0] == sys.argv[1])
try:
    conn.recv(10, socket.MSG_DONTWAIT)
except OSError as e:
    print('dontwait on nothing', errno.errorcode[e.args[0]])
print('SYNC send')
peeked = conn.recv(5, socket.MSG_PEEK)
data = b''
while len(data) < 11:
    data += conn.recv(64)
print('peek', peeked, 'then', data)
conn.send(data.upper())
print('eof', conn.recv(10))
conn.close()
print('SYNC next')
conn, addr = s.accept()
conn.write(input('line? ') + '\n')
conn.close()
s.close()
print('done')
