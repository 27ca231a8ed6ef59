// TCP connection states (RFC 9293 §3.3.2), numbered so that "synchronized" states compare as >= ESTABLISHED.

export const TcpState = {
  CLOSED: 0,
  LISTEN: 1,
  SYN_SENT: 2,
  SYN_RECEIVED: 3,
  ESTABLISHED: 4,
  FIN_WAIT_1: 5,
  FIN_WAIT_2: 6,
  CLOSE_WAIT: 7,
  CLOSING: 8,
  LAST_ACK: 9,
  TIME_WAIT: 10,
} as const;

export type TcpStateCode = (typeof TcpState)[keyof typeof TcpState];

/** State names as RFC 9293 spells them. */
export const TCP_STATE_NAMES = [
  "CLOSED",
  "LISTEN",
  "SYN-SENT",
  "SYN-RECEIVED",
  "ESTABLISHED",
  "FIN-WAIT-1",
  "FIN-WAIT-2",
  "CLOSE-WAIT",
  "CLOSING",
  "LAST-ACK",
  "TIME-WAIT",
] as const;

/** States in which we may still receive data (RFC 9293 §3.10.7.4, seventh step). */
export function canReceiveData(s: TcpStateCode): boolean {
  return s === TcpState.ESTABLISHED || s === TcpState.FIN_WAIT_1 || s === TcpState.FIN_WAIT_2;
}

/** States in which the application may still queue data to send. */
export function canSendData(s: TcpStateCode): boolean {
  return s === TcpState.ESTABLISHED || s === TcpState.CLOSE_WAIT || s === TcpState.SYN_SENT || s === TcpState.SYN_RECEIVED;
}
