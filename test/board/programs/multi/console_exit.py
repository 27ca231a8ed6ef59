# Board: the console and the exit status. sys.argv holds the script and its arguments; sys.stdin.readline,
# sys.stdin.read(n) and input() read walnut's stdin; select.poll reports sys.stdin readable once a line is
# waiting; the end of input gives '' and EOFError; sys.exit(n) becomes walnut's exit status.
import sys, select

print('argv', sys.argv[1:])
p = select.poll()
p.register(sys.stdin, select.POLLIN)
print('nothing typed yet', p.poll(100))
print('SYNC type')
ready = p.poll(10000)
print('stdin ready', len(ready) == 1 and ready[0][0] is sys.stdin and bool(ready[0][1] & select.POLLIN))
print('readline', repr(sys.stdin.readline()))
print('read', repr(sys.stdin.read(3)))
print('input', repr(input()))
print('at the end', repr(sys.stdin.readline()))
try:
    input('more? ')
except EOFError:
    print('EOFError')
sys.exit(int(sys.argv[1]))
