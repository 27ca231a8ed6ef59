# The board's start-up, run before any user code (worker.ts imports it): time.sleep that blocks on the stack
# without spinning, input() from walnut's console, the board's own modules ahead of the build's frozen ones,
# files as on a board's flash (errno values as the board reports them; with --fs, "/" is the mounted
# folder), and run(): a script, or boot.py then main.py, with tracebacks that show only the user's frames.
import _walnut as _w
import _walnutconst as _k
import builtins
import io
import os
import sys
import time

# ---- time: sleeping waits on the bridge (an interrupt ends it), never in a busy loop ----


def _sleep_ms(ms):
    if not isinstance(ms, (int, float)):
        raise TypeError("can't convert %s to int" % type(ms).__name__)
    if _w.sleep_ms(ms):
        raise KeyboardInterrupt


def _sleep(s):
    if not isinstance(s, (int, float)):
        raise TypeError("can't convert %s to float" % type(s).__name__)
    _sleep_ms(s * 1000)


def _sleep_us(us):
    if not isinstance(us, (int, float)):
        raise TypeError("can't convert %s to int" % type(us).__name__)
    _sleep_ms(us / 1000)


time.sleep = _sleep
time.sleep_ms = _sleep_ms
time.sleep_us = _sleep_us

# ---- the console: input() reads walnut's standard input (sys.stdin reads it too, through fd 0) ----


def _input(prompt=""):
    if prompt:
        sys.stdout.write(str(prompt))
    line = sys.stdin.readline()
    if not line:
        raise EOFError
    return line[:-1] if line.endswith("\n") else line


builtins.input = _input

# ---- files: the board's errno values, and the --fs folder seen as "/" ----

_FLASH = _k.FLASH_DIR if _k.HAS_FLASH else None
_ERRNO = _k.FS_ERRNO
_open = builtins.open


def _norm(p):
    # An absolute path of the board's view with "." and ".." resolved, never above "/" (as on a board).
    parts = []
    for part in p.split("/"):
        if part == "..":
            if parts:
                parts.pop()
        elif part and part != ".":
            parts.append(part)
    return "/" + "/".join(parts)


def _board_path(p):
    # The board's "/" is the --fs folder, mounted at _FLASH: every path, relative ones too, is resolved in
    # the board's view first, so ".." cannot climb out of the folder into the interpreter's own files.
    if _FLASH is None or not isinstance(p, str):
        return p
    p = _norm(p if p.startswith("/") else os.getcwd() + "/" + p)
    return _FLASH if p == "/" else _FLASH + p


def _user_path(p):
    if _FLASH is not None and isinstance(p, str) and (p == _FLASH or p.startswith(_FLASH + "/")):
        return p[len(_FLASH) :] or "/"
    return p


def _wrap(f, map_args):
    def call(*args):
        if map_args:
            args = [_board_path(a) for a in args]
        try:
            return f(*args)
        except OSError as e:
            n = e.args[0] if e.args else 0
            raise OSError(_ERRNO.get(n, n))

    return call


def _open_file(file, mode="r", *args, **kwargs):
    try:
        return _open(_board_path(file), mode, *args, **kwargs)
    except OSError as e:
        n = e.args[0] if e.args else 0
        raise OSError(_ERRNO.get(n, n))


builtins.open = _open_file
io.open = _open_file
for _name in ("remove", "unlink", "mkdir", "rmdir", "rename", "stat", "statvfs", "chdir", "ilistdir", "listdir"):
    if hasattr(os, _name):
        setattr(os, _name, _wrap(getattr(os, _name), True))
_getcwd = os.getcwd
os.getcwd = lambda: _user_path(_getcwd())
_listdir = os.listdir
os.listdir = lambda path=None: _listdir(os.getcwd() if path is None else path)
_ilistdir = os.ilistdir
os.ilistdir = lambda path=None: _ilistdir(os.getcwd() if path is None else path)

# ---- imports: the board's modules (/lib) ahead of the build's frozen ones ----
# The build imports its frozen asyncio at start-up (written for the JavaScript event loop): forget it, so
# `import asyncio` finds the board's /lib/asyncio, which must stand ahead of .frozen in sys.path.
for _m in [m for m in sys.modules if m == "asyncio" or m.startswith("asyncio.")]:
    del sys.modules[_m]
sys.path[:] = [p for p in sys.path if p != "/lib"]
sys.path.insert(sys.path.index(".frozen"), "/lib")
if _FLASH is not None:
    os.chdir("/")
    sys.path.append(_FLASH + "/lib")
for _p in reversed(_k.PATH_FIRST):
    sys.path.insert(0, _p)
# `import uselect` resolves to the built-in select before /lib is searched: make it the board's select.
import select as _select

sys.modules["uselect"] = _select

# ---- running user code ----

# The board's modules are C on a real board: their frames (and ours) are not the user's business.
_HIDDEN = ("/lib/usocket.py", "/lib/socket.py", "/lib/select.py", "/lib/uselect.py", "/lib/network.py",
           "/lib/_walnutboot.py", "/lib/_walnutconst.py", "/lib/machine.py")


def traceback_text(e):
    b = io.StringIO()
    sys.print_exception(e, b)
    out = []
    lines = b.getvalue().split("\n")
    # The first frame is run()'s caller, the worker's one-line "<stdin>" program.
    if len(lines) > 1 and lines[1].startswith('  File "<stdin>", line 1,'):
        del lines[1]
    for line in lines:
        if line.startswith('  File "'):
            end = line.find('"', 8)
            if line[8:end] in _HIDDEN:
                continue
            if _FLASH is not None and line.startswith('  File "' + _FLASH + "/"):
                line = '  File "' + line[8 + len(_FLASH) :]
        out.append(line)
    return "\n".join(out)


def _exit_code(e):
    code = e.args[0] if e.args else None
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    sys.stderr.write(str(code) + "\n")
    return 1


def _exists(p):
    try:
        os.stat(p)
        return True
    except OSError:
        return False


_NO_MEMORY_TEXT = "Traceback (most recent call last):\n  (not shown: no memory left to format it)\nMemoryError: memory allocation failed\n"


def run(path, name):
    """Runs the file at `path` (tracebacks call it `name`), or with path None boot.py then main.py from the
    board's flash. Tells the worker the exit status and the traceback of an uncaught exception."""
    g = {"__name__": "__main__"}
    if path is None:
        files = [(_FLASH + "/" + f, f) for f in ("boot.py", "main.py") if _exists("/" + f)]
    else:
        files = [(path, name)]
    status = 0
    tb = None
    for real, shown in files:
        g["__file__"] = shown
        try:
            with _open(real) as f:
                source = f.read()
            exec(compile(source, shown, "exec"), g)
            status = 0
        except SystemExit as e:
            _w.done(_exit_code(e), None)
            return
        except BaseException as e:  # noqa: B036 — the board prints every uncaught exception, KeyboardInterrupt too
            status = 1
            try:
                tb = traceback_text(e)
            except MemoryError:
                # The heap is exhausted (this build collects only at the top level): formatting needs memory,
                # and an exception escaping to the worker would hang the interpreter, so a text made at start.
                tb = _NO_MEMORY_TEXT
            if shown != "boot.py":
                break
            # A board prints boot.py's traceback and goes on to main.py.
            sys.stderr.write(tb)
            tb = None
    _w.done(status, tb)
