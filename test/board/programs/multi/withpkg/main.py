# Board: a package folder beside the script imports (as libraries copied next to main.py on a board), and a
# traceback names the user's files and lines, never the board's own modules.
import gadgets
from gadgets.shapes import area

print('gadgets', gadgets.VERSION, area(3, 4))
gadgets.fail_in_library()
