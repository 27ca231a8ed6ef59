# Kernel side for udp_board.py: a client of the board's UDP server, then a UDP server of its own.
import socket, sys

board = sys.argv[1]
assert sys.stdin.readline().strip() == 'SYNC bound'
c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
c.settimeout(5)
c.sendto(b'ping', (board, 7300))
print('peer got', c.recvfrom(64)[0].decode())
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('0.0.0.0', 7301))
print('SYNC serving', flush=True)
data, addr = s.recvfrom(64)
s.sendto(b'hello, i am server', addr)
print('peer server got', data.decode(), 'from', addr[0] == board)
