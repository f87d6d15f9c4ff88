/**
 * Plain SVG charts for the benchmark reports: grouped bars and lines, no dependencies.
 *
 * @module
 */

const WIDTH = 720;
const HEIGHT = 360;
const MARGIN = { left: 70, right: 20, top: 40, bottom: 90 };
const COLORS = [
  "#4c78a8",
  "#f58518",
  "#54a24b",
  "#e45756",
  "#72b7b2",
  "#b279a2",
  "#9d755d",
  "#bab0ac",
];

function escape(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

// A round upper bound for an axis, and its ticks.
function axis(max: number): { top: number; ticks: number[] } {
  if (!(max > 0)) return { top: 1, ticks: [0, 1] };
  const step = 10 ** Math.floor(Math.log10(max));
  const unit = [1, 2, 5, 10].map((k) => k * step).find((u) => max / u <= 6)!;
  const top = Math.ceil(max / unit) * unit;
  const ticks = [];
  for (let tick = 0; tick <= top + 1e-9; tick += unit) ticks.push(Math.round(tick * 1e6) / 1e6);
  return { top, ticks };
}

function frame(title: string, yLabel: string, top: number, ticks: number[]): string[] {
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const y = (value: number) => MARGIN.top + plotHeight * (1 - value / top);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`,
    `<text x="${WIDTH / 2}" y="20" text-anchor="middle" font-size="14">${escape(title)}</text>`,
    `<text transform="translate(16 ${
      MARGIN.top + plotHeight / 2
    }) rotate(-90)" text-anchor="middle">${escape(yLabel)}</text>`,
  ];
  for (const tick of ticks) {
    parts.push(
      `<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${y(tick)}" y2="${
        y(tick)
      }" stroke="#ddd"/>`,
      `<text x="${MARGIN.left - 6}" y="${y(tick) + 4}" text-anchor="end">${tick}</text>`,
    );
  }
  return parts;
}

// The frame, axis and plot area for `series`, scaled to its largest finite value.
function plot(
  title: string,
  yLabel: string,
  series: readonly { readonly values: readonly number[] }[],
): { top: number; parts: string[]; plotWidth: number; plotHeight: number } {
  const max = Math.max(...series.flatMap((s) => s.values.filter(Number.isFinite)));
  const { top, ticks } = axis(max);
  return {
    top,
    parts: frame(title, yLabel, top, ticks),
    plotWidth: WIDTH - MARGIN.left - MARGIN.right,
    plotHeight: HEIGHT - MARGIN.top - MARGIN.bottom,
  };
}

/**
 * Grouped bars: one group per label, one bar per series.
 *
 * @param title The chart's title.
 * @param yLabel The vertical axis.
 * @param labels The groups.
 * @param series Each series' name and one value per group.
 * @returns The SVG document.
 */
export function barChart(
  title: string,
  yLabel: string,
  labels: readonly string[],
  series: readonly { readonly name: string; readonly values: readonly number[] }[],
): string {
  const { top, parts, plotWidth, plotHeight } = plot(title, yLabel, series);
  const group = plotWidth / labels.length;
  const bar = (group * 0.8) / series.length;
  labels.forEach((label, g) => {
    series.forEach((s, k) => {
      const value = s.values[g] ?? 0;
      const height = Number.isFinite(value) ? plotHeight * value / top : 0;
      const x = MARGIN.left + g * group + group * 0.1 + k * bar;
      parts.push(
        `<rect x="${x}" y="${MARGIN.top + plotHeight - height}" width="${
          bar - 1
        }" height="${height}" fill="${COLORS[k % COLORS.length]}"><title>${
          escape(`${s.name}: ${value}`)
        }</title></rect>`,
      );
    });
    parts.push(
      `<text x="${MARGIN.left + g * group + group / 2}" y="${
        HEIGHT - MARGIN.bottom + 16
      }" text-anchor="middle">${escape(label)}</text>`,
    );
  });
  legend(parts, series.map((s) => s.name));
  parts.push("</svg>");
  return `${parts.join("\n")}\n`;
}

/**
 * Lines over a numeric x axis (`undefined` dashes a series).
 *
 * @param title The chart's title.
 * @param xLabel The horizontal axis.
 * @param yLabel The vertical axis.
 * @param xs The x values.
 * @param series Each series' name, one value per x, and whether it is dashed.
 * @returns The SVG document.
 */
export function lineChart(
  title: string,
  xLabel: string,
  yLabel: string,
  xs: readonly number[],
  series: readonly {
    readonly name: string;
    readonly values: readonly number[];
    readonly dashed?: boolean;
    readonly color?: number;
  }[],
): string {
  const { top, parts, plotWidth, plotHeight } = plot(title, yLabel, series);
  const xMax = Math.max(...xs);
  const xMin = Math.min(...xs);
  const x = (value: number) =>
    MARGIN.left + (xMax === xMin ? plotWidth / 2 : plotWidth * (value - xMin) / (xMax - xMin));
  const y = (value: number) => MARGIN.top + plotHeight * (1 - value / top);
  for (const value of xs) {
    parts.push(
      `<text x="${x(value)}" y="${
        HEIGHT - MARGIN.bottom + 16
      }" text-anchor="middle">${value}</text>`,
    );
  }
  parts.push(
    `<text x="${MARGIN.left + plotWidth / 2}" y="${
      HEIGHT - MARGIN.bottom + 34
    }" text-anchor="middle">${escape(xLabel)}</text>`,
  );
  series.forEach((s, k) => {
    const color = COLORS[(s.color ?? k) % COLORS.length];
    const points = xs.map((value, i) => `${x(value)},${y(s.values[i] ?? 0)}`).join(" ");
    parts.push(
      `<polyline points="${points}" fill="none" stroke="${color}" stroke-width="2"${
        s.dashed === true ? ' stroke-dasharray="6 4"' : ""
      }/>`,
    );
    for (const [i, value] of xs.entries()) {
      if (s.dashed !== true) {
        parts.push(`<circle cx="${x(value)}" cy="${y(s.values[i] ?? 0)}" r="3" fill="${color}"/>`);
      }
    }
  });
  legend(parts, series.map((s) => s.name), series.map((s, k) => s.color ?? k));
  parts.push("</svg>");
  return `${parts.join("\n")}\n`;
}

function legend(parts: string[], names: readonly string[], colors?: readonly number[]): void {
  const columns = 3;
  names.forEach((name, k) => {
    const x = MARGIN.left + (k % columns) * 210;
    const y = HEIGHT - 40 + Math.floor(k / columns) * 16;
    parts.push(
      `<rect x="${x}" y="${y - 10}" width="12" height="12" fill="${
        COLORS[(colors?.[k] ?? k) % COLORS.length]
      }"/>`,
      `<text x="${x + 18}" y="${y}">${escape(name)}</text>`,
    );
  });
}
