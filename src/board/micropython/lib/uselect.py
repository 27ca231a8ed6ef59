# uselect for the walnut board: the board's select (this file stands in front of MicroPython's built-in
# uselect, whose poll cannot wait on the board's sockets).
from select import *
from select import poll, select
