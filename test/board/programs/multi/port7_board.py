# Board: binds TCP port 7, which a real board leaves free (walnut's built-in echo takes it only with --services).
import socket

s = socket.socket()
try:
    s.bind(('0.0.0.0', 7))
    s.listen(1)
    print('bound 7')
except OSError as e:
    print('port 7 errno', e.args[0])
s.close()
