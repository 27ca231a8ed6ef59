# Bench: a TCP source writing 64 KiB blocks of the RFC 864 chargen pattern (72-character lines rotating
# through the 95 printable characters) on port 7019, so the bench's client can check every byte.
import socket

lines = []
for i in range(95):
    lines.append(bytes(32 + (i + j) % 95 for j in range(72)) + b'\r\n')
pattern = b''.join(lines)
# 64 KiB windows into the repeating pattern, one per phase it can start at.
doubled = pattern * (65536 // len(pattern) + 2)
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(('0.0.0.0', 7019))
srv.listen(4)
print('SYNC serving')
while True:
    conn, _ = srv.accept()
    write = getattr(conn, 'write', None) or conn.sendall  # CPython, the reference, has sendall
    at = 0
    try:
        while True:
            write(memoryview(doubled)[at:at + 65536])
            at = (at + 65536) % len(pattern)
    except OSError:
        pass
    conn.close()
