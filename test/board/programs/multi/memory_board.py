# Board: what socket calls allocate in a heap that is collected only when the script returns to the top
# level — recv(4096) about the bytes it returns (what arrives waits in the socket's inbox, outside the heap),
# readinto nothing per byte — and then a script that allocates without end reaches the interpreter's
# memory limit and ends (exit 1 with the reason on stderr) instead of hanging. Syncs with memory_peer.py.
import gc, socket, sys

s = socket.socket()
print('SYNC ready')
assert input() == 'SYNC listening'
s.connect((sys.argv[1], 7420))
s.settimeout(10)
got = 0
a0 = gc.mem_alloc()
while got < 4 << 20:
    d = s.recv(min(4096, (4 << 20) - got))
    if not d:
        break
    got += len(d)
per_byte = (gc.mem_alloc() - a0) / got
print('recv got', got, 'allocated per byte at most 1.1:', per_byte <= 1.1)
buf = bytearray(65536)
got = 0
a0 = gc.mem_alloc()
while got < 4 << 20:
    n = s.readinto(buf, min(len(buf), (4 << 20) - got))
    if not n:
        break
    got += n
print('readinto got', got, 'allocated under 64 KiB:', gc.mem_alloc() - a0 < 65536)
s.close()
block = bytes(65536)
while True:
    d = block[0:4096]
