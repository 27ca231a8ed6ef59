# Kernel side for edges_board.py: sends a line then resets the connection (SO_LINGER 0), and reports how the
# board's own SO_LINGER 0 close arrives (ConnectionResetError, not an orderly EOF).
import socket, struct, sys, time

def listener(port):
    l = socket.socket()
    l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    l.bind(('0.0.0.0', port))
    l.listen(1)
    return l

assert sys.stdin.readline().strip() == 'SYNC ready'
l1 = listener(7400)
l2 = listener(7401)
print('SYNC listening', flush=True)
c, _ = l1.accept()
assert c.recv(2) == b'go'
c.sendall(b'before reset\n')
time.sleep(0.2)
c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
c.close()
print('SYNC reset', flush=True)

c2, _ = l2.accept()
assert sys.stdin.readline().strip() == 'SYNC aborted'
got = b''
try:
    c2.settimeout(5)
    while True:
        b = c2.recv(100)
        if not b:
            print('peer saw EOF', got)
            break
        got += b
except ConnectionResetError:
    print('peer saw reset')
print('SYNC done', flush=True)
