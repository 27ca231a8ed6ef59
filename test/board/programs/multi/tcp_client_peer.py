# Kernel side for tcp_server_board.py: connects, sends once told to, reads the answer, closes; then a second
# connection that receives the console line.
import socket, sys

board = sys.argv[1]
assert sys.stdin.readline().strip() == 'SYNC listening'
c = socket.create_connection((board, 7100), timeout=10)
assert sys.stdin.readline().strip() == 'SYNC send'
c.sendall(b'hello board')
got = b''
while len(got) < 11:
    got += c.recv(64)
print('peer got', got.decode())
c.close()
assert sys.stdin.readline().strip() == 'SYNC next'
c = socket.create_connection((board, 7100), timeout=10)
line = b''
while not line.endswith(b'\n'):
    chunk = c.recv(64)
    if not chunk:
        break
    line += chunk
print('peer line', line.decode().strip())
c.close()
