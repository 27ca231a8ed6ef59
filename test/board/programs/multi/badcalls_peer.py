# Kernel side for badcalls.py: one datagram to the board's echo once it serves again.
import socket, sys

assert sys.stdin.readline().strip() == 'SYNC serving'
c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
c.settimeout(5)
c.sendto(b'alive?', (sys.argv[1], 7400))
print('peer got', c.recvfrom(64)[0].decode())
