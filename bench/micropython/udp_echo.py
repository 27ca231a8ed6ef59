# Bench: a UDP echo server (recvfrom/sendto) on port 7007.
import socket

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('0.0.0.0', 7007))
print('SYNC serving')
while True:
    data, addr = s.recvfrom(2048)
    s.sendto(data, addr)
