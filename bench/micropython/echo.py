# Bench: a blocking 1-byte echo server (recv/send), the board-script version of the stack's echo service.
# Serves one connection at a time on port 7007 until walnut is stopped.
import socket

srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(('0.0.0.0', 7007))
srv.listen(4)
print('SYNC serving')
while True:
    conn, _ = srv.accept()
    try:
        while True:
            b = conn.recv(64)
            if not b:
                break
            conn.send(b)
    except OSError:
        pass
    conn.close()
