# minihttp: a very small HTTP/1.0 server for a MicroPython board, one connection at a time. The package
# beside examples/http_server/main.py, to show a script importing a library folder of its own.
from .request import Request
from .response import response
from .server import serve
