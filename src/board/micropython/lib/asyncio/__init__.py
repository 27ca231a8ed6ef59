# asyncio for the walnut board: MicroPython's asyncio API (run, tasks, sleep, wait_for, gather, Event,
# ThreadSafeFlag, Lock, the loop object, TCP streams and servers) driven by the board's select.poll, so an
# idle loop sleeps on the stack. It stands in for the WebAssembly build's frozen asyncio, which runs on the
# JavaScript event loop: the boot code puts /lib ahead of .frozen so `import asyncio` finds this package.

from .core import (
    CancelledError,
    TimeoutError,
    Task,
    Loop,
    create_task,
    current_task,
    run,
    sleep,
    sleep_ms,
    get_event_loop,
    new_event_loop,
)
from .funcs import wait_for, wait_for_ms, gather
from .event import Event, ThreadSafeFlag
from .lock import Lock
from .stream import open_connection, start_server, Stream, StreamReader, StreamWriter, Server

__version__ = (3, 0, 0)
