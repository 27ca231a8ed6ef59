# boot.py of the --fs test flash: runs first, as on a board at power-on, and leaves a mark main.py reads.
import os

print('boot: cwd', os.getcwd())
BOOTED = True
