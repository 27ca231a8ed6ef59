# Board: a pure-Python loop that never calls into the board (Ctrl-C must still end it).
import socket

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('0.0.0.0', 7500))
print('SYNC busy')
n = 0
while True:
    n += 1
