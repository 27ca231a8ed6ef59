# A small package beside the script (test fixture).
import usocket

VERSION = '1.2'


def fail_in_library():
    s = usocket.socket()
    s.bind(('0.0.0.0', 'not a port'))
