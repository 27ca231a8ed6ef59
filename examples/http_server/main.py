# A script with a library beside it, as board projects are laid out: main.py imports the package
# minihttp/ from its own folder (on a board both sit in flash, the package usually under /lib). It serves
# two pages over HTTP on port 8080 and counts its visitors. Ctrl-C stops it.
#
#   sudo node bin/walnut.js run --ip 192.168.50.66/24 examples/http_server/main.py
#   sudo ip netns exec walnut curl -s http://192.168.50.66:8080/          # in another shell
#   sudo ip netns exec walnut curl -s http://192.168.50.66:8080/hello?name=walnut
#

import network
import minihttp

wl = network.WLAN(network.STA_IF)
wl.active(True)
wl.connect('ssid', 'password', security=network.AUTH_PSK)

visits = 0


def index(request):
    global visits
    visits += 1
    return 'walnut board at %s, visit %d\n' % (wl.ifconfig()[0], visits)


def hello(request):
    return 'hello, %s\n' % request.query.get('name', 'stranger')


print('HTTP server on http://%s:8080/' % wl.ifconfig()[0])
try:
    minihttp.serve({'/': index, '/hello': hello}, port=8080)
except KeyboardInterrupt:
    pass
print('server closed')
