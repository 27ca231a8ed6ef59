# Bench: a TCP sink reading with recv(4096) on port 7009 (the board-script version of the discard service).
import socket

srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(('0.0.0.0', 7009))
srv.listen(4)
print('SYNC serving')
while True:
    conn, _ = srv.accept()
    try:
        while conn.recv(4096):
            pass
    except OSError:
        pass
    conn.close()
