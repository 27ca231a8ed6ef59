# CPython peer of streams.py on port 9000: answers each line the board sends with the piece it names,
# closes its write side after "bulk"; "rst" gets ten bytes, and the "got" after them a reset (SO_LINGER 0).
import socket
import struct
import time

srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("0.0.0.0", 9000))
srv.listen(2)
print("listening", flush=True)
for _ in range(2):
    conn, _addr = srv.accept()
    conn.settimeout(10)
    f = conn.makefile("rb")
    while True:
        what = f.readline().strip()
        if what == b"lines":
            conn.sendall(b"line one\nline two\n")
        elif what == b"split":
            # Two sends, so readexactly may have to gather (the answer is the same if they coalesce).
            conn.sendall(b"ABC")
            time.sleep(0.05)
            conn.sendall(b"DEFGH")
        elif what == b"ten":
            conn.sendall(b"0123456789")
        elif what == b"bulk":
            conn.sendall(b"x" * 3000)
            conn.shutdown(socket.SHUT_WR)
        elif what == b"rst":
            conn.sendall(b"last words")
        elif what == b"got":
            # The board has the ten bytes and waits in read(): reset under it.
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()
            break
        else:
            print("board closed:", what, flush=True)
            conn.close()
            break
srv.close()
print("done", flush=True)
