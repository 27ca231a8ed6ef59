# Board: an ICMP ping built the way MicroPython ping modules are — an echo request laid out with uctypes over
# a bytearray, sent on a connected SOCK_RAW socket, the reply waited for with select.poll and parsed with
# uctypes structures over the received bytes (lwIP hands raw sockets the whole IP datagram).
import socket, select, uctypes, time, sys

ICMP_HDR = {
    'type': uctypes.UINT8 | 0,
    'code': uctypes.UINT8 | 1,
    'checksum': uctypes.UINT16 | 2,
    'id': uctypes.UINT16 | 4,
    'seq': uctypes.UINT16 | 6,
}
IP_HDR = {
    'ver_ihl': uctypes.UINT8 | 0,
    'ttl': uctypes.UINT8 | 8,
    'proto': uctypes.UINT8 | 9,
    'src': (uctypes.ARRAY | 12, uctypes.UINT8 | 4),
}

def checksum(data):
    if len(data) & 1:
        data = data + b'\0'
    total = 0
    for i in range(0, len(data), 2):
        total += (data[i] << 8) | data[i + 1]
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF

def ping(host, count, size=16):
    pkt = bytearray(8 + size)
    h = uctypes.struct(uctypes.addressof(pkt), ICMP_HDR, uctypes.BIG_ENDIAN)
    h.type = 8
    h.id = 0x4242
    for i in range(size):
        pkt[8 + i] = i & 0xFF
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 1)
    s.setblocking(False)
    s.connect((host, 1))
    poller = select.poll()
    poller.register(s, select.POLLIN)
    got = 0
    for seq in range(1, count + 1):
        h.seq = seq
        h.checksum = 0
        h.checksum = checksum(pkt)
        t0 = time.ticks_us()
        s.send(pkt)
        while True:
            if not poller.poll(2000):
                print('seq', seq, 'timeout')
                break
            resp = s.recv(128)
            ip = uctypes.struct(uctypes.addressof(resp), IP_HDR, uctypes.BIG_ENDIAN)
            ihl = (ip.ver_ihl & 0x0F) * 4
            r = uctypes.struct(uctypes.addressof(resp) + ihl, ICMP_HDR, uctypes.BIG_ENDIAN)
            if r.type == 0 and r.id == 0x4242 and r.seq == seq:
                src = '.'.join(str(ip.src[i]) for i in range(4))
                ok = resp[ihl + 8:] == pkt[8:] and checksum(resp[ihl:]) == 0
                us = time.ticks_diff(time.ticks_us(), t0)
                print('reply seq', seq, 'from', src == host, 'ttl', ip.ttl, 'proto', ip.proto, 'payload ok', ok, 'fast', us < 1_000_000)
                got += 1
                break
    s.close()
    return got

print('received', ping(sys.argv[1], 3), 'of 3')
