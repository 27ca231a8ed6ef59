# The Linux side for examples/udp_client.py (CPython, run inside the board's namespace): answers every
# datagram on port 5000 with b'hello, i am server' and prints what came in. Stops after COUNT datagrams
# when given one (python3 udp_server.py 3), else at Ctrl-C.
import socket
import sys

count = int(sys.argv[1]) if len(sys.argv) > 1 else None
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('0.0.0.0', 5000))
print('linux UDP server on port 5000', flush=True)
served = 0
while count is None or served < count:
    data, address = s.recvfrom(1024)
    print('received', data, 'from', address[0], address[1], flush=True)
    s.sendto(b'hello, i am server', address)
    served += 1
s.close()
