# CPython peer of idle.py on port 7000: accepts the board, then sends one message when a line arrives on
# its standard input (the test's signal), and closes.
import socket
import sys

srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("0.0.0.0", 7000))
srv.listen(1)
print("listening", flush=True)
conn, _addr = srv.accept()
print("connected", flush=True)
sys.stdin.readline()
conn.sendall(b"wake up")
conn.recv(10)
conn.close()
srv.close()
