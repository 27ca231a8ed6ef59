// The names of the TCP/UDP table's rows (metrics) and columns (targets), their labels and units, and the goals
// of issue 9 for each row. Shared by the option parser (bench/options.ts), the measurement (bench/tcpRate.ts),
// the tables and verdict (bench/run.ts), the JSON report (bench/report.ts) and the plot (bench/plot.ts); it
// imports nothing, so the parser and its tests load without the stack.

export const TCP_METRICS = ["toBoard", "fromBoard", "echo", "connect", "udpEcho"] as const;
export type TcpMetric = (typeof TCP_METRICS)[number];
export const TCP_TARGETS = ["board", "kernel", "kernelPerFrame", "lwip"] as const;
export type TcpTarget = (typeof TCP_TARGETS)[number];

/** The rows that move bulk data: rates are bit/s, CPU is per MB, and `--plot` draws them over time. */
export const TCP_BULK_METRICS: readonly TcpMetric[] = ["toBoard", "fromBoard"];
export const isBulkMetric = (m: TcpMetric): boolean => m === "toBoard" || m === "fromBoard";
/** The row measured over UDP: `--only udp` selects it, `--only tcp` the others. */
export const UDP_METRICS: readonly TcpMetric[] = ["udpEcho"];

export const TCP_METRIC_LABEL: Record<TcpMetric, string> = {
  toBoard: "kernel→board bulk (discard 9)",
  fromBoard: "board→kernel bulk (chargen 19)",
  echo: "1-byte echo, one connection (echo 7)",
  connect: "connect + 1-byte echo + close (echo 7)",
  udpEcho: "UDP echo round trip, 16 B (UDP echo 7)",
};

export const TCP_TARGET_LABEL: Record<TcpTarget, string> = {
  board: "board (walnut, TAP)",
  kernel: "Linux (veth, offloads on)",
  kernelPerFrame: "Linux (veth, offloads off)",
  lwip: "lwIP 2.1.3 (TAP)",
};

/** The unit of a sample's `rate`. */
export const metricUnit = (m: TcpMetric): "bit/s" | "ops/s" => (isBulkMetric(m) ? "bit/s" : "ops/s");

/** One goal of issue 9: board's median ≥ `atLeast` × the `against` target's median for `metric`. */
export interface Goal {
  readonly metric: TcpMetric;
  readonly against: "kernel" | "lwip";
  readonly atLeast: number;
}

/**
 * Issue 9 "Goal": bulk both ways ≥ 1.0× Linux over a veth with offloads on and ≥ 5× lwIP; 1-byte echo and
 * connect+echo+close ≥ 1.0× Linux; UDP echo round trips ≥ 1.0× Linux.
 */
export const GOALS: readonly Goal[] = [
  { metric: "toBoard", against: "kernel", atLeast: 1 },
  { metric: "toBoard", against: "lwip", atLeast: 5 },
  { metric: "fromBoard", against: "kernel", atLeast: 1 },
  { metric: "fromBoard", against: "lwip", atLeast: 5 },
  { metric: "echo", against: "kernel", atLeast: 1 },
  { metric: "connect", against: "kernel", atLeast: 1 },
  { metric: "udpEcho", against: "kernel", atLeast: 1 },
];
