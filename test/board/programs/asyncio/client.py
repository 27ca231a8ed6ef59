# open_connection clients on the board, run side by side with gather: an HTTP/1.0 GET against python3's
# http.server (status and headers by readline, the body by readexactly, then read(-1) to EOF) and an
# MQTT-style publish (CONNECT/CONNACK, PUBLISH at QoS 1/PUBACK, DISCONNECT) to mqtt_peer.py.
import network
import asyncio
import struct

wl = network.WLAN()
wl.active(1)
wl.connect("ssid", "password", security=network.AUTH_PSK)
peer = wl.ifconfig()[2]
EXPECTED = b"hello from the namespace\n" * 100


async def http_get():
    reader, writer = await asyncio.open_connection(peer, 8000)
    print("http peername", writer.get_extra_info("peername"))
    writer.write("GET /hello.txt HTTP/1.0\r\nHost: %s\r\n\r\n" % peer)
    await writer.drain()
    status = (await reader.readline()).decode().strip()
    headers = {}
    while True:
        line = await reader.readline()
        if line == b"\r\n":
            break
        name, value = line.decode().split(":", 1)
        headers[name.lower()] = value.strip()
    n = int(headers["content-length"])
    body = await reader.readexactly(n)
    rest = await reader.read(-1)
    writer.close()
    await writer.wait_closed()
    return "%s %s %d bytes, as served: %s, then EOF: %r" % (status, headers["content-type"], n, body == EXPECTED, rest)


def packet(kind, body):
    return bytes([kind, len(body)]) + body


async def mqtt_publish():
    reader, writer = await asyncio.open_connection(peer, 1883)
    client_id = b"walnut-board"
    connect = b"\x00\x04MQTT\x04\x02" + struct.pack(">H", 60) + struct.pack(">H", len(client_id)) + client_id
    writer.write(packet(0x10, connect))
    await writer.drain()
    connack = await reader.readexactly(4)
    topic = b"walnut/test"
    writer.write(packet(0x32, struct.pack(">H", len(topic)) + topic + struct.pack(">H", 7) + b"hello broker"))
    await writer.drain()
    puback = await reader.readexactly(4)
    await writer.awrite(b"\xe0\x00")
    eof = await reader.read(10)
    await writer.aclose()
    return "CONNACK %r PUBACK %r, then the broker closed: %r" % (connack, puback, eof)


async def main():
    for line in await asyncio.gather(http_get(), mqtt_publish()):
        print(line)


asyncio.run(main())
