// The usocket module's constants, with the board's values (docs/usocket.md "Constants"); the ones the board does
// not list take MicroPython-on-lwIP's values. Scripts use the names, never the numbers.

export const AF_INET = 2;
/** The board's documented value; the board has no IPv6, so socket(AF_INET6) raises EAFNOSUPPORT. */
export const AF_INET6 = 0;
export const SOCK_STREAM = 1;
export const SOCK_DGRAM = 2;
export const SOCK_RAW = 3;
export const SO_REUSEADDR = 4;
export const IPPROTO_IP = 0;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const SOL_SOCKET = 1;
export const IP_ADD_MEMBERSHIP = 0x400;
export const IP_DROP_MEMBERSHIP = 0x401;
export const SO_BROADCAST = 0x20;
export const TCP_NODELAY = 0x40;
export const MSG_PEEK = 0x01;
export const MSG_DONTWAIT = 0x02;

// select/uselect
export const POLLIN = 1;
export const POLLOUT = 4;
export const POLLERR = 8;
export const POLLHUP = 16;
export const POLLNVAL = 0x20;
export const SO_LINGER = 0x80;
