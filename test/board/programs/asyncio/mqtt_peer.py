# CPython peer of client.py: a one-client MQTT-style broker on port 1883. It reads CONNECT, answers
# CONNACK, reads a QoS 1 PUBLISH, answers PUBACK, and closes at DISCONNECT, printing what it got.
import socket
import struct

srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("0.0.0.0", 1883))
srv.listen(1)
print("listening", flush=True)
conn, addr = srv.accept()
conn.settimeout(10)


def exactly(n):
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


def read_packet():
    kind = exactly(1)[0]
    length, shift = 0, 0
    while True:
        b = exactly(1)[0]
        length |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            break
    return kind, exactly(length)


kind, body = read_packet()
proto_len = struct.unpack(">H", body[:2])[0]
proto = body[2 : 2 + proto_len]
level, flags = body[2 + proto_len], body[3 + proto_len]
id_len = struct.unpack(">H", body[6 + proto_len : 8 + proto_len])[0]
print("CONNECT", hex(kind), proto.decode(), level, flags, body[8 + proto_len : 8 + proto_len + id_len].decode(), flush=True)
conn.sendall(b"\x20\x02\x00\x00")
kind, body = read_packet()
topic_len = struct.unpack(">H", body[:2])[0]
topic = body[2 : 2 + topic_len]
packet_id = body[2 + topic_len : 4 + topic_len]
print("PUBLISH", hex(kind), "qos", (kind >> 1) & 3, topic.decode(), struct.unpack(">H", packet_id)[0], body[4 + topic_len :].decode(), flush=True)
conn.sendall(b"\x40\x02" + packet_id)
kind, body = read_packet()
print("DISCONNECT", hex(kind), len(body), flush=True)
conn.close()
srv.close()
