# An HTTP/1.0 response as bytes: status line, a few headers, the body.

REASONS = {200: 'OK', 400: 'Bad Request', 404: 'Not Found', 500: 'Internal Server Error'}


def response(status, body, content_type='text/plain'):
    if isinstance(body, str):
        body = body.encode()
    head = 'HTTP/1.0 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n' % (
        status,
        REASONS.get(status, 'Unknown'),
        content_type,
        len(body),
    )
    return head.encode() + body
