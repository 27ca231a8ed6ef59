# CPython peer of webapp.py: five HTTP/1.0 clients of the board's asyncio server. The first sends only its
# request line and waits while the other four, in threads, are served; then it completes its request.
# After the board has closed that server (its second server on 8081 answers), port 8080 must refuse.
import socket
import sys
import threading
import time

ip = sys.argv[1]


def connect(port):
    return socket.create_connection((ip, port), timeout=10)


def response(s):
    data = b""
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    return head.split(b"\r\n")[0].decode() + " | " + body.decode().strip()


slow = connect(8080)
slow.sendall(b"GET /slow HTTP/1.0\r\n")
results = {}


def client(i):
    s = connect(8080)
    s.sendall(b"GET /c%d HTTP/1.0\r\nX-Client: peer%d\r\n\r\n" % (i, i))
    results[i] = response(s)


threads = [threading.Thread(target=client, args=(i,)) for i in range(1, 5)]
for t in threads:
    t.start()
for t in threads:
    t.join()
for i in sorted(results):
    print(results[i])
slow.sendall(b"X-Client: slow\r\n\r\n")
print(response(slow))

deadline = time.monotonic() + 10
while True:
    try:
        last = connect(8081)
        break
    except OSError:
        if time.monotonic() > deadline:
            raise
        time.sleep(0.05)
try:
    connect(8080)
    print("8080 still accepts")
except ConnectionRefusedError:
    print("8080 refused")
last.sendall(b"done\n")
print(last.recv(100).decode().strip())
