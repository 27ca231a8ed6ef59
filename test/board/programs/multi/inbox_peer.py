# Kernel side for inbox_board.py.
import socket, sys, time

board = sys.argv[1]


def sync(word):
    assert sys.stdin.readline().strip() == 'SYNC ' + word


sync('listening')
c = socket.create_connection((board, 7440), timeout=10)
c.sendall(b'hello')
sync('poll')
time.sleep(0.3)
c.sendall(b'x')
sync('bulk')
c.sendall(b''.join(b'line %06d\n' % i for i in range(60000)))
c.shutdown(socket.SHUT_WR)
c.close()
c = socket.create_connection((board, 7440), timeout=10)
c.sendall(b'!')
sync('unread')
c.sendall(b'never read')
try:
    print('peer read after the close', c.recv(64))
except ConnectionResetError:
    print('peer reset True')
c.close()
a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
a.settimeout(5)
b.settimeout(5)
sync('udp')
a.sendto(b'a0', (board, 7441))
print('peer a got', a.recvfrom(64)[0])
sync('burst')
for i in range(10):
    a.sendto(b'b%d' % i, (board, 7441))
sync('two')
a.sendto(b'from a', (board, 7441))
time.sleep(0.05)
b.sendto(b'from b', (board, 7441))
print('peer replies', a.recv(64), b.recv(64))
sync('out')
c = socket.create_connection((board, 7442), timeout=10)
got = []
while True:
    d = c.recv(65536)
    if not d:
        break
    got.append(d)
print('peer out in order', b''.join(got) == b''.join(b'out %07d\n' % i for i in range(200000)))
