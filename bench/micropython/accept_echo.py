# Bench: accept, a 1-byte echo, close — one connection after another on port 7007.
import socket

srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(('0.0.0.0', 7007))
srv.listen(8)
print('SYNC serving')
while True:
    conn, _ = srv.accept()
    try:
        b = conn.recv(64)
        if b:
            conn.send(b)
    except OSError:
        pass
    conn.close()
