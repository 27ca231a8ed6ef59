# The board as a TCP client (the second of the four programs): it connects to a server on port 5000,
# prints what the server sends, and closes. SERVER is the kernel side of the board's link as
# `walnut run --ip 192.168.50.66/24` sets it up (192.168.50.1); change it for another network.
#
#   sudo ip netns add walnut                                      # the namespace walnut will use
#   sudo ip netns exec walnut sh -c 'echo hello from linux | nc -l 5000'   # the server, first
#   sudo node bin/walnut.js run --ip 192.168.50.66/24 examples/tcp_client.py
#   sudo ip netns del walnut                                      # afterwards (walnut keeps what it did not create)
import sys
import network
import usocket as socket

# The server's address: the first argument (walnut run … tcp_client.py 192.168.50.67), else the kernel side.
SERVER = sys.argv[1] if len(sys.argv) > 1 else '192.168.50.1'
PORT = 5000

wl = network.WLAN(network.STA_IF)
wl.active(True)
wl.connect('ssid', 'password', security=network.AUTH_PSK)

addr = socket.getaddrinfo(SERVER, PORT)[0][-1]
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.settimeout(10)
s.connect(addr)
data = s.recv(1024)
print(data.decode())
s.close()
