# Board: reads served from the socket's inbox (what arrived while the script did something else) —
# local timeouts and non-blocking reads on an empty inbox, poll woken by bytes moved there while it
# waited, a bulk transfer larger than the inbox read in order by every read method in turn, a close with
# bytes left unread resetting the connection; on UDP the queue limit of 4 still holding, and posted
# replies reaching each datagram's own sender. Syncs with inbox_peer.py.
import socket, select, time, errno



def listener(port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(('0.0.0.0', port))
    s.listen(2)
    return s


srv = listener(7440)
print('SYNC listening')
conn, _ = srv.accept()
print('first', conn.recv(5))
conn.settimeout(0.3)
try:
    conn.recv(10)
except OSError as e:
    print('empty inbox', errno.errorcode[e.args[0]])
conn.setblocking(False)
try:
    conn.recv(10)
except OSError as e:
    print('non-blocking', errno.errorcode[e.args[0]])
conn.setblocking(True)
try:
    conn.recv(10, socket.MSG_DONTWAIT)
except OSError as e:
    print('dontwait', errno.errorcode[e.args[0]])
p = select.poll()
p.register(conn, select.POLLIN)
print('SYNC poll')
ready = p.poll(3000)
print('poll readable', len(ready) == 1 and bool(ready[0][1] & select.POLLIN), conn.recv(1))
print('SYNC bulk')
# The peer sends more than the inbox and the stack's window hold: the rest waits in the stack meanwhile.
time.sleep(1)
parts = []
buf = bytearray(3000)
k = 0
while True:
    m = k % 5
    if m == 0:
        d = conn.recv(1000)
    elif m == 1:
        d = conn.read(777)
    elif m == 2:
        d = conn.readline()
    elif m == 3:
        n = conn.readinto(buf)
        d = bytes(buf[:n])
    else:
        peek = conn.recv(5000, socket.MSG_PEEK)
        d = conn.recv(len(peek))
        if d != peek:
            print('peek differs')
    if not d:
        break
    parts.append(d)
    k += 1
got = b''.join(parts)
want = b''.join(b'line %06d\n' % i for i in range(60000))
print('bulk in order', got == want, len(got))
conn.close()
c2, _ = srv.accept()
c2.recv(1)
print('SYNC unread')
time.sleep(0.5)
c2.close()
srv.close()

u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(('0.0.0.0', 7441))
print('SYNC udp')
d, a = u.recvfrom(64)
u.sendto(d, a)
print('SYNC burst')
time.sleep(0.5)
u.setblocking(False)
kept = 0
try:
    while True:
        u.recvfrom(64)
        kept += 1
except OSError as e:
    print('burst kept', kept, errno.errorcode[e.args[0]])
# The stream methods on UDP read one datagram as recv does, and None where recv raises EAGAIN.
print('udp stream methods on nothing', u.read(10), u.readinto(bytearray(4)), u.readline())
u.setblocking(True)
print('SYNC two')
for _ in range(2):
    d, a = u.recvfrom(64)
    u.sendto(b're:' + d, a)
u.close()

# Posted sends in a row, each counted against the room the stack last published: the peer checks the order.
out = listener(7442)
print('SYNC out')
w, _ = out.accept()
data = b''.join(b'out %07d\n' % i for i in range(200000))
mv = memoryview(data)
at = 0
k = 0
while at < len(data):
    piece = mv[at : at + 65536 - 7 * k % 5000]
    if k % 3 == 0:
        w.write(piece)
    elif k % 3 == 1:
        w.sendall(piece)
    else:
        piece = piece[: w.send(piece)]
    at += len(piece)
    k += 1
w.close()
out.close()
