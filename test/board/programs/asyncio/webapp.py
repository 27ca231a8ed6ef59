# A tiny asyncio web app on the board: start_server, an HTTP/1.0 request parsed with readline, a reply,
# several clients at once (one holds its request open while the others are served), then
# server.close(); await server.wait_closed(), and a second server used with `async with` for the peer's
# last word. Peer: webapp_peer.py.
import network
import asyncio

wl = network.WLAN()
wl.active(1)
wl.connect("ssid", "password", security=network.AUTH_PSK)
CLIENTS = 5
served = []
all_served = asyncio.Event()


async def handle(reader, writer):
    request = await reader.readline()
    method, path, version = request.decode().split(" ", 2)
    headers = {}
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b"\n", b""):
            break
        name, value = line.decode().split(":", 1)
        headers[name.strip().lower()] = value.strip()
    body = "%s %s for %s from %s\n" % (method, path, headers.get("x-client", "?"), writer.get_extra_info("peername")[0])
    writer.write("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n" % len(body))
    writer.write(body)
    await writer.drain()
    writer.close()
    await writer.wait_closed()
    served.append(path)
    if len(served) == CLIENTS:
        all_served.set()


async def main():
    server = await asyncio.start_server(handle, "0.0.0.0", 8080)
    print("ready", wl.ifconfig()[0])
    await all_served.wait()
    server.close()
    await server.wait_closed()
    print("served", sorted(served))
    done = asyncio.Event()

    async def last_word(reader, writer):
        print("peer says", (await reader.readline()).decode().strip())
        await writer.awrite(b"bye\n")
        await writer.aclose()
        done.set()

    async with await asyncio.start_server(last_word, "0.0.0.0", 8081):
        print("second server up")
        await done.wait()
    print("closed")


asyncio.run(main())
