# Stream methods on the board against stream_peer.py, step by step: the board asks for each piece with a
# line and the peer answers it. readline, readexactly over two sends, readinto, read(-1) to the peer's
# close of its write side (EOF: b'', EOFError), then a peer RST while a read waits (ECONNRESET raised in
# the task, within a bounded wait) and a refused open_connection (ECONNRESET, as lwIP boards report it).
import network
import asyncio

wl = network.WLAN()
wl.active(1)
wl.connect("ssid", "password", security=network.AUTH_PSK)
peer = wl.ifconfig()[2]


async def ask(writer, what):
    writer.write(what + b"\n")
    await writer.drain()


async def pieces():
    reader, writer = await asyncio.open_connection(peer, 9000)
    await ask(writer, b"lines")
    print("readline:", await reader.readline(), await reader.readline())
    await ask(writer, b"split")
    print("readexactly(8) over two sends:", await reader.readexactly(8))
    await ask(writer, b"ten")
    buf = bytearray(16)
    n = await reader.readinto(buf)
    print("readinto:", n, bytes(buf[:n]))
    await ask(writer, b"bulk")
    data = await reader.read(-1)
    print("read(-1) to EOF:", len(data), data == b"x" * 3000)
    print("after EOF read(10):", await reader.read(10), "readline:", await reader.readline())
    try:
        await reader.readexactly(1)
    except EOFError:
        print("readexactly after EOF: EOFError")
    writer.close()
    await writer.wait_closed()


async def reset():
    reader, writer = await asyncio.open_connection(peer, 9000)
    await ask(writer, b"rst")
    print("ten bytes:", await reader.readexactly(10))
    await ask(writer, b"got")
    try:
        await asyncio.wait_for(reader.read(100), 5)
        print("no error")
    except OSError as e:
        print("then the reset reaches the task: OSError", e.errno)
    writer.close()


async def refused():
    try:
        await asyncio.open_connection(peer, 9001)
        print("connected?")
    except OSError as e:
        print("refused open_connection: OSError", e.errno)


asyncio.run(pieces())
asyncio.run(reset())
asyncio.run(refused())
