# main.py of the --fs test flash: the folder is the board's "/" (read-write) with /lib on sys.path; files
# are created, read, listed, stat'ed and removed; errno values are the board's; nothing outside is reachable.
import os, errno, sys
import helper

print('main: after boot', BOOTED, 'helper', helper.twice(21))
with open('/data.txt') as f:
    print('data', f.read().strip())
with open('out.txt', 'w') as f:
    f.write('written on the board\n')
os.mkdir('/logs')
with open('/logs/a.log', 'w') as f:
    f.write('x' * 10)
print('listdir', sorted(os.listdir('/')))
print('stat size', os.stat('/logs/a.log')[6])
os.remove('/junk.txt')
print('removed', 'junk.txt' not in os.listdir())
try:
    open('/missing.txt')
except OSError as e:
    print('missing', e.errno == errno.ENOENT)
try:
    os.mkdir('/logs')
except OSError as e:
    print('exists', e.errno == errno.EEXIST)
print('above root is root', sorted(os.listdir('/../..')) == sorted(os.listdir('/')))
try:
    open('/escape/hostname')
    print('escaped!')
except OSError as e:
    print('symlink out refused', errno.errorcode.get(e.errno, e.errno))
