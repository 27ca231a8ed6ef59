// The SVG writer (bench/svg.ts) and the bulk plot built on it (bench/plot.ts): the document is well-formed XML
// (checked with Python's xml.dom.minidom, a real parser), has one <polyline> per series / per measured target
// with points inside the plot, axis labels and a legend; text is escaped; ticks are round numbers; the
// plotted line is the median run, its points the throughput of each interval.

import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { escapeXml, lineChartsSvg, niceTicks, type Chart } from "../../bench/svg.js";
import { bulkCharts, bulkPlotSvg, medianRun, throughputPoints, type BulkSamples } from "../../bench/plot.js";
import type { TcpSample } from "../../bench/tcpRate.js";

interface ParsedSvg {
  root: string;
  polylines: { series: string; points: [number, number][] }[];
  texts: string[];
  width: number;
  height: number;
}

/** Parses `svg` with Python's minidom (throws on malformed XML) and lists its polylines and texts. */
function parseSvg(svg: string): ParsedSvg {
  const script = [
    "import sys, json, xml.dom.minidom as m",
    "d = m.parseString(sys.stdin.buffer.read())",
    "r = d.documentElement",
    "pl = [{'series': p.getAttribute('data-series'), 'points': [[float(v) for v in xy.split(',')] for xy in p.getAttribute('points').split()]} for p in d.getElementsByTagName('polyline')]",
    "tx = [''.join(n.data for n in t.childNodes if n.nodeType == n.TEXT_NODE) for t in d.getElementsByTagName('text')]",
    "print(json.dumps({'root': r.tagName, 'polylines': pl, 'texts': tx, 'width': float(r.getAttribute('width')), 'height': float(r.getAttribute('height'))}))",
  ].join("\n");
  const r = spawnSync("python3", ["-c", script], { input: svg, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`not well-formed XML: ${r.stderr}`);
  return JSON.parse(r.stdout) as ParsedSvg;
}

const hasPython = spawnSync("python3", ["-c", "import xml.dom.minidom"]).status === 0;

const chart = (title: string): Chart => ({
  title,
  xLabel: "time (s)",
  yLabel: "throughput (Gbit/s)",
  series: [
    { name: "a", label: "A <first> & \"quoted\"", color: "#f00", points: [[0.1, 1], [0.2, 3.5], [0.3, 2]] },
    { name: "b", label: "B", color: "#00f", points: [[0.1, 0.5], [0.2, 0.7]] },
  ],
});

describe.runIf(hasPython)("lineChartsSvg", () => {
  it("is well-formed SVG with one polyline per series, axis labels, titles and the legend text escaped", () => {
    const svg = lineChartsSvg([chart("first <chart>"), chart("second")], "a note & more");
    const p = parseSvg(svg);
    expect(p.root).toBe("svg");
    expect(svg).toContain('xmlns="http://www.w3.org/2000/svg"');
    expect(p.polylines.map((l) => l.series)).toEqual(["a", "b", "a", "b"]);
    expect(p.texts).toContain("first <chart>");
    expect(p.texts).toContain('A <first> & "quoted"');
    expect(p.texts.filter((t) => t === "time (s)")).toHaveLength(2);
    expect(p.texts.filter((t) => t === "throughput (Gbit/s)")).toHaveLength(2);
    expect(p.texts).toContain("a note & more");
    for (const line of p.polylines) {
      for (const [x, y] of line.points) {
        expect(x).toBeGreaterThanOrEqual(0);
        expect(x).toBeLessThanOrEqual(p.width);
        expect(y).toBeGreaterThanOrEqual(0);
        expect(y).toBeLessThanOrEqual(p.height);
      }
    }
  });

  it("draws higher values higher up and later times further right", () => {
    const p = parseSvg(lineChartsSvg([chart("c")]));
    const a = p.polylines[0]!.points;
    expect(a[1]![0]).toBeGreaterThan(a[0]![0]);
    expect(a[1]![1]).toBeLessThan(a[0]![1]); // 3.5 above 1: smaller SVG y
  });

  it("stays well-formed for a chart without series or points", () => {
    const p = parseSvg(lineChartsSvg([{ title: "empty", xLabel: "x", yLabel: "y", series: [{ name: "n", label: "n", color: "red", points: [] }] }]));
    expect(p.polylines).toHaveLength(1);
  });
});

describe("svg helpers", () => {
  it("escapeXml escapes the five XML specials", () => {
    expect(escapeXml(`<a href="x">&'</a>`)).toBe("&lt;a href=&quot;x&quot;&gt;&amp;&apos;&lt;/a&gt;");
  });

  it("niceTicks: round steps from 0 to at least the maximum", () => {
    expect(niceTicks(10)).toEqual([0, 2, 4, 6, 8, 10]);
    expect(niceTicks(2.1)).toEqual([0, 0.5, 1, 1.5, 2, 2.5]);
    expect(niceTicks(0)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(1.002, 5, "within")).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(niceTicks(2.05, 5, "within")).toEqual([0, 0.5, 1, 1.5, 2]);
    for (const max of [0.013, 0.7, 3.3, 12.6, 99, 4242]) {
      const t = niceTicks(max);
      expect(t[0]).toBe(0);
      expect(t[t.length - 1]).toBeGreaterThanOrEqual(max);
      expect(t[t.length - 2]).toBeLessThan(max);
      expect(t.length).toBeLessThanOrEqual(7);
      const w = niceTicks(max, 5, "within");
      expect(w[w.length - 1]).toBeLessThanOrEqual(max);
      expect(w.length).toBeGreaterThanOrEqual(3);
    }
  });
});

function sample(rate: number, intervals: TcpSample["intervals"]): TcpSample {
  return { ops: 1, bytes: intervals[intervals.length - 1]?.bytes ?? 0, seconds: 1, rate, clientCpuSeconds: 0, serverCpuSeconds: 0, intervals };
}

describe("the bulk plot", () => {
  it("throughputPoints: Gbit/s over each interval, at its end", () => {
    const points = throughputPoints([{ t: 0.1, bytes: 12.5e6 }, { t: 0.2, bytes: 37.5e6 }, { t: 0.25, bytes: 40e6 }]);
    expect(points.map(([t]) => t)).toEqual([0.1, 0.2, 0.25]);
    [1, 2, 0.4].forEach((gbit, i) => expect(points[i]![1]).toBeCloseTo(gbit, 9));
  });

  it("medianRun picks the repeat nearest the median", () => {
    expect(medianRun([5, 1, 4, 9, 3].map((r) => sample(r, [])))?.rate).toBe(4);
    expect(medianRun([5, 1, 3.5, 9].map((r) => sample(r, [])))?.rate).toBe(5); // median 4.25: 5 is nearer than 3.5
    expect(medianRun([])).toBeNull();
  });

  const bulk = (): BulkSamples => {
    const run = (gbit: number): TcpSample => sample(gbit * 1e9, [0.1, 0.2, 0.3].map((t) => ({ t, bytes: (gbit * 1e9 * t) / 8 })));
    const empty = { toBoard: [], fromBoard: [], echo: [], connect: [], udpEcho: [] };
    return {
      board: { ...empty, toBoard: [run(4), run(5), run(6)], fromBoard: [run(2)] },
      kernel: { ...empty, toBoard: [run(12)], fromBoard: [run(11)] },
      kernelPerFrame: { ...empty, toBoard: [run(4.5)] },
      lwip: { ...empty, toBoard: [run(2)], fromBoard: [run(2.4)] },
    };
  };

  it("one chart per bulk direction, one line per target measured, from its median run", () => {
    const charts = bulkCharts(bulk(), true);
    expect(charts.map((c) => c.title)).toEqual([expect.stringContaining("kernel→board"), expect.stringContaining("board→kernel")]);
    expect(charts[0]!.series.map((s) => s.name)).toEqual(["board", "kernel", "kernelPerFrame", "lwip"]);
    expect(charts[1]!.series.map((s) => s.name)).toEqual(["board", "kernel", "lwip"]);
    const board = charts[0]!.series[0]!;
    for (const [, gbit] of board.points) expect(gbit).toBeCloseTo(5, 6);
    expect(charts[0]!.xLabel).toBe("time (s)");
    expect(charts[0]!.yLabel).toBe("throughput (Gbit/s)");
  });

  it("leaves out the chart of a bulk row that was not measured", () => {
    const samples = bulk();
    for (const t of ["board", "kernel", "kernelPerFrame", "lwip"] as const) samples[t].toBoard = [];
    const charts = bulkCharts(samples, true);
    expect(charts.map((c) => c.title)).toEqual([expect.stringContaining("board→kernel")]);
  });

  it.runIf(hasPython)("writes a well-formed SVG with a polyline per target and the axis labels", () => {
    const p = parseSvg(bulkPlotSvg(bulk(), false, "walnut bench note"));
    expect(p.polylines.map((l) => l.series)).toEqual(["board", "kernel", "kernelPerFrame", "lwip", "board", "kernel", "lwip"]);
    expect(p.texts).toContain("board (walnut, --no-offload)");
    expect(p.texts.filter((t) => t === "time (s)")).toHaveLength(2);
    expect(p.texts.filter((t) => t === "throughput (Gbit/s)")).toHaveLength(2);
  });
});
