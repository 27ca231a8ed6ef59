# socket for the walnut board: the same module as usocket (MicroPython names it both ways).
from usocket import *
from usocket import socket, getaddrinfo
