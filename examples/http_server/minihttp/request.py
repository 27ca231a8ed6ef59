# The request line of an HTTP request, split into method, path and query parameters.


def _unquote(text):
    text = text.replace('+', ' ')
    out = ''
    i = 0
    while i < len(text):
        if text[i] == '%' and i + 2 < len(text):
            try:
                out += chr(int(text[i + 1 : i + 3], 16))
                i += 3
                continue
            except ValueError:
                pass
        out += text[i]
        i += 1
    return out


class Request:
    def __init__(self, line):
        parts = line.split()
        if len(parts) < 2:
            raise ValueError('not an HTTP request line')
        self.method = parts[0]
        target = parts[1]
        self.query = {}
        if '?' in target:
            target, qs = target.split('?', 1)
            for pair in qs.split('&'):
                if pair:
                    k, _, v = pair.partition('=')
                    self.query[_unquote(k)] = _unquote(v)
        self.path = target
