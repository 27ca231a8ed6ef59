# The accept loop: one client at a time, the request line read with the socket's stream methods, the
# handler for its path called with a Request, its text sent back as the body.
import usocket as socket

from .request import Request
from .response import response


def _handle(conn, routes):
    conn.settimeout(5)
    line = conn.readline()
    if not line:
        return
    # The headers are read and ignored, up to the blank line that ends them.
    while True:
        h = conn.readline()
        if not h or h == b'\r\n' or h == b'\n':
            break
    try:
        request = Request(line.decode())
    except ValueError:
        conn.sendall(response(400, 'bad request\n'))
        return
    handler = routes.get(request.path)
    if handler is None:
        conn.sendall(response(404, 'no page %s\n' % request.path))
        return
    try:
        body = handler(request)
    except Exception as e:
        conn.sendall(response(500, 'error: %r\n' % e))
        return
    conn.sendall(response(200, body))


def serve(routes, port=80, count=None):
    """Serves `routes` (path -> handler(request) -> str or bytes) on `port`; `count` requests, or forever."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(('0.0.0.0', port))
    s.listen(2)
    served = 0
    try:
        while count is None or served < count:
            conn, addr = s.accept()
            try:
                _handle(conn, routes)
            except OSError as e:
                print('client', addr[0], 'failed:', e)
            finally:
                conn.close()
            served += 1
    finally:
        s.close()
