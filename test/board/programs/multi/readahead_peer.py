# Kernel side for readahead_board.py: one segment of 29 bytes, then how the board's close arrives.
import socket, sys

assert sys.stdin.readline().strip() == 'SYNC ready'
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(('0.0.0.0', 7410))
l.listen(1)
print('SYNC listening', flush=True)
c, _ = l.accept()
c.sendall(b'0123456789\nabcdefghij\nKLMNOP')
print('SYNC sent', flush=True)
assert sys.stdin.readline().strip() == 'SYNC closed'
c.settimeout(5)
try:
    print('peer got', c.recv(10))
except ConnectionResetError:
    print('peer saw reset')
print('SYNC done', flush=True)
