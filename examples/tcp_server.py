# The board as a TCP server (the first of the four programs a board's users run): it accepts a client on
# port 5000, sends it a line typed on the board's console, and closes the connection; then the next client.
#
#   sudo node bin/walnut.js run --ip 192.168.50.66/24 examples/tcp_server.py
#   sudo ip netns exec walnut nc 192.168.50.66 5000      # in another shell; type the line in the first one
#
# It ends at the end of its console input (Ctrl-D) once a client is waiting, or with Ctrl-C.
import network
import usocket as socket

wl = network.WLAN(network.STA_IF)
wl.active(True)
wl.connect('ssid', 'password', security=network.AUTH_PSK)

s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('0.0.0.0', 5000))
s.listen(5)
print('TCP server on %s port 5000' % wl.ifconfig()[0])
try:
    while True:
        conn, addr = s.accept()
        print('client', addr[0], addr[1])
        try:
            line = input('line to send: ')
        except EOFError:
            conn.close()
            break
        conn.send(line + '\n')
        conn.close()
except KeyboardInterrupt:
    pass
finally:
    s.close()
print('server closed')
