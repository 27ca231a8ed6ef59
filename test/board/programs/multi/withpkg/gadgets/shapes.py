# A module of the package beside the script (test fixture).


def area(w, h):
    return w * h
