# Kernel side for memory_board.py: 8 MiB for the board to read, 4 MiB by recv and 4 MiB by readinto.
import socket, sys

assert sys.stdin.readline().strip() == 'SYNC ready'
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(('0.0.0.0', 7420))
l.listen(1)
print('SYNC listening', flush=True)
c, _ = l.accept()
block = bytes(range(256)) * 256
for _ in range(128):
    c.sendall(block)
c.settimeout(30)
print('peer sent', 128 * len(block))
print('peer got', c.recv(1))
