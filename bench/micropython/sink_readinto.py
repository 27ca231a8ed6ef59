# Bench: a TCP sink reading with readinto(bytearray(65536)) on port 7009 (CPython, the reference, has recv_into).
import socket

buf = bytearray(65536)
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(('0.0.0.0', 7009))
srv.listen(4)
print('SYNC serving')
while True:
    conn, _ = srv.accept()
    read_into = getattr(conn, 'readinto', None) or conn.recv_into
    try:
        while read_into(buf):
            pass
    except OSError:
        pass
    conn.close()
