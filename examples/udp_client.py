# The board as a UDP client (the fourth of the four programs): it sends 'hello, i am client' to a server on
# port 5000 and prints each answer, COUNT times, a second apart; a datagram that gets no answer within 2 s
# is reported and the loop goes on (UDP may lose it). SERVER is the kernel side of the board's link as
# `walnut run --ip 192.168.50.66/24` sets it up.
#
#   sudo ip netns add walnut
#   sudo ip netns exec walnut python3 -c "import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('0.0.0.0', 5000))
#   while True: d, a = s.recvfrom(1024); s.sendto(b'hello, i am server', a)" &
#   sudo node bin/walnut.js run --ip 192.168.50.66/24 examples/udp_client.py
#   sudo ip netns del walnut
import sys
import time
import network
import usocket as socket

# The server's address: the first argument (walnut run … udp_client.py 192.168.50.67), else the kernel side.
SERVER = sys.argv[1] if len(sys.argv) > 1 else '192.168.50.1'
PORT = 5000
COUNT = 3

wl = network.WLAN(network.STA_IF)
wl.active(True)
wl.connect('ssid', 'password', security=network.AUTH_PSK)

addr = socket.getaddrinfo(SERVER, PORT)[0][-1]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
for i in range(COUNT):
    s.sendto('hello, i am client', addr)
    try:
        data, address = s.recvfrom(1024)
        print(data.decode(), 'from', address[0], address[1])
    except OSError as e:
        print('no answer:', e)
    time.sleep(1)
s.close()
