# A library in the flash's /lib (test fixture).


def twice(x):
    return 2 * x
