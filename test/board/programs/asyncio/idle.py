# The loop waits without spinning: a task blocked in read() on a quiet connection and a 200 ms ticker
# share one poll(timeout) at a time; asyncio.test.ts samples the board process's CPU time meanwhile.
# The peer (idle_peer.py) sends only when the test tells it to.
import network
import asyncio

wl = network.WLAN()
wl.active(1)
wl.connect("ssid", "password", security=network.AUTH_PSK)
ticks = []


async def ticker():
    while True:
        await asyncio.sleep_ms(200)
        ticks.append(1)


async def main():
    reader, writer = await asyncio.open_connection(wl.ifconfig()[2], 7000)
    t = asyncio.create_task(ticker())
    print("waiting")
    data = await reader.read(100)
    t.cancel()
    print("got", data, "the ticker ran meanwhile:", len(ticks) >= 5)
    await writer.aclose()


asyncio.run(main())
