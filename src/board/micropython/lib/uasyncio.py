# uasyncio, the board's older name for asyncio: the same module's objects (asyncio/ beside this file).
from asyncio import *
from asyncio import core, __version__
