// A small SVG line-chart writer (no dependencies): charts stacked one above the other in one document, each
// with a title, labelled axes with ticks, a legend, and one <polyline> per series (data-series="name", so
// tools and tests can find them). bench/plot.ts turns the bulk runs into charts; test/bench/svg.test.ts checks
// the XML with a real parser.

export interface Series {
  /** Identifier, written as data-series. */
  readonly name: string;
  /** Legend text. */
  readonly label: string;
  /** CSS colour. */
  readonly color: string;
  /** [x, y] in data units, in x order. */
  readonly points: readonly (readonly [number, number])[];
}

export interface Chart {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly Series[];
}

const WIDTH = 820;
const CHART_HEIGHT = 340;
const MARGIN = { left: 70, right: 190, top: 40, bottom: 50 } as const;

/** Escapes text for XML character data and attribute values. */
export function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&apos;");
}

/**
 * Round tick values from 0, steps of 1, 2, 2.5 or 5 × 10^k, about `count` of them: up to the first tick at or
 * above `max` ("cover": the axis ends on a tick, for the value axis) or up to `max` itself ("within": the
 * axis ends at `max`, for time, so a run of 1.002 s does not leave half the chart empty).
 */
export function niceTicks(max: number, count = 5, mode: "cover" | "within" = "cover"): number[] {
  const top = Number.isFinite(max) && max > 0 ? max : 1;
  const raw = top / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 2.5, 5, 10].find((m) => m * magnitude >= raw) ?? 10) * magnitude;
  const ticks: number[] = [];
  for (let i = 0; i <= count + 1; i++) {
    const t = Number((i * step).toPrecision(12));
    if (mode === "within" && t > top * (1 + 1e-9)) break;
    ticks.push(t);
    if (mode === "cover" && t >= top) break;
  }
  return ticks;
}

const fmt = (n: number): string => Number(n.toFixed(2)).toString();

function chartSvg(chart: Chart, top: number): string {
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = CHART_HEIGHT - MARGIN.top - MARGIN.bottom;
  const x0 = MARGIN.left;
  const y0 = top + MARGIN.top;
  const all = chart.series.flatMap((s) => s.points);
  const xDataMax = Math.max(0, ...all.map((p) => p[0]));
  const xTicks = niceTicks(xDataMax, 5, "within");
  const yTicks = niceTicks(Math.max(0, ...all.map((p) => p[1])));
  const xMax = xDataMax > 0 ? xDataMax : 1;
  const yMax = yTicks[yTicks.length - 1] ?? 1;
  const sx = (x: number): string => fmt(x0 + (x / xMax) * plotW);
  const sy = (y: number): string => fmt(y0 + plotH - (y / yMax) * plotH);
  const out: string[] = [];
  out.push(`<g class="chart">`);
  out.push(`<text class="title" x="${x0}" y="${top + 24}">${escapeXml(chart.title)}</text>`);
  out.push(`<rect class="frame" x="${x0}" y="${y0}" width="${plotW}" height="${plotH}"/>`);
  for (const t of xTicks) {
    out.push(`<line class="grid" x1="${sx(t)}" y1="${y0}" x2="${sx(t)}" y2="${y0 + plotH}"/>`);
    out.push(`<text class="tick" x="${sx(t)}" y="${y0 + plotH + 16}" text-anchor="middle">${fmt(t)}</text>`);
  }
  for (const t of yTicks) {
    out.push(`<line class="grid" x1="${x0}" y1="${sy(t)}" x2="${x0 + plotW}" y2="${sy(t)}"/>`);
    out.push(`<text class="tick" x="${x0 - 6}" y="${fmt(Number(sy(t)) + 4)}" text-anchor="end">${fmt(t)}</text>`);
  }
  out.push(`<text class="axis-label x" x="${fmt(x0 + plotW / 2)}" y="${y0 + plotH + 38}" text-anchor="middle">${escapeXml(chart.xLabel)}</text>`);
  const yMid = fmt(y0 + plotH / 2);
  out.push(`<text class="axis-label y" x="${x0 - 48}" y="${yMid}" text-anchor="middle" transform="rotate(-90 ${x0 - 48} ${yMid})">${escapeXml(chart.yLabel)}</text>`);
  chart.series.forEach((s, i) => {
    const points = s.points.map(([x, y]) => `${sx(x)},${sy(y)}`).join(" ");
    out.push(`<polyline data-series="${escapeXml(s.name)}" fill="none" stroke="${escapeXml(s.color)}" stroke-width="2" points="${points}"/>`);
    const ly = y0 + 10 + i * 20;
    const lx = x0 + plotW + 16;
    out.push(`<line x1="${lx}" y1="${ly}" x2="${lx + 22}" y2="${ly}" stroke="${escapeXml(s.color)}" stroke-width="3"/>`);
    out.push(`<text class="legend" x="${lx + 28}" y="${ly + 4}">${escapeXml(s.label)}</text>`);
  });
  out.push(`</g>`);
  return out.join("\n");
}

/** One SVG document with `charts` stacked vertically; `note` is a line of small print at the bottom. */
export function lineChartsSvg(charts: readonly Chart[], note = ""): string {
  const height = charts.length * CHART_HEIGHT + (note !== "" ? 24 : 0);
  return [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="12">`,
    `<style>.title{font-size:14px;font-weight:bold}.frame{fill:none;stroke:#444}.grid{stroke:#ddd}.tick{fill:#333}.note{fill:#666;font-size:11px}</style>`,
    `<rect width="${WIDTH}" height="${height}" fill="white"/>`,
    ...charts.map((c, i) => chartSvg(c, i * CHART_HEIGHT)),
    ...(note !== "" ? [`<text class="note" x="${MARGIN.left}" y="${height - 8}">${escapeXml(note)}</text>`] : []),
    `</svg>`,
    "",
  ].join("\n");
}
