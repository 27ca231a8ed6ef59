# Kernel side for tcp_client_board.py: listens, stays silent until told to talk, then sends a line, four
# bytes, eight bytes, reads the board's answer and closes with a last word.
import socket, sys

assert sys.stdin.readline().strip() == 'SYNC ready'
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(('0.0.0.0', 7200))
l.listen(1)
print('SYNC listening', flush=True)
c, _ = l.accept()
assert sys.stdin.readline().strip() == 'SYNC talk'
c.sendall(b'first line\nabcdEIGHTBYT')
answer = b''
while not answer.endswith(b'\n'):
    answer += c.recv(64)
print('peer got', answer.decode().strip())
c.sendall(b'bye')
c.close()
