# The board as a UDP server (the third of the four programs): it answers every datagram on port 5000 with
# 'hello, i am server' and prints what it received and from where. Ctrl-C stops it.
#
#   sudo node bin/walnut.js run --ip 192.168.50.66/24 examples/udp_server.py
#   sudo ip netns exec walnut nc -u 192.168.50.66 5000     # in another shell: type a line, get the answer
import network
import usocket as socket

wl = network.WLAN(network.STA_IF)
wl.active(True)
wl.connect('ssid', 'password', security=network.AUTH_PSK)

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('0.0.0.0', 5000))
print('UDP server on %s port 5000' % wl.ifconfig()[0])
try:
    while True:
        data, address = s.recvfrom(1024)
        print('received', data, 'from', address[0], address[1])
        s.sendto('hello, i am server', address)
except KeyboardInterrupt:
    pass
finally:
    s.close()
print('server closed')
