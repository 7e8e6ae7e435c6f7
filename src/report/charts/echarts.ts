/**
 * Chart specs (specs.ts) drawn with Apache ECharts' server-side SVG renderer: `echarts.init(null, null,
 * { renderer: 'svg', ssr: true, width, height })` then `renderToSVGString()`, in Node, with no browser, no DOM and
 * no native module. Each SVG stands alone (title, subtitle, axis names with units, legend), so a file from
 * charts/ can go into a slide as it is.
 *
 * Error bars are an ECharts custom series drawing a vertical segment with caps from the point's low to its high
 * value; published figures a scatter series with labels; kernel points a scatter series per backend with the
 * backend's colour and a diamond symbol.
 */
import { createRequire } from 'node:module';
import type * as Echarts from 'echarts';
import type { ChartPoint, ChartSpec, GroupedChartSpec, ScalingChartSpec, SeriesSpec } from './specs.js';
import { formatTick, formatValue } from './units.js';

export const CHART_WIDTH = 900;
export const CHART_HEIGHT = 580;
export const FONT_FAMILY = "'Liberation Sans', Arial, Helvetica, 'DejaVu Sans', sans-serif";

type Option = Record<string, unknown>;

/**
 * ECharts, loaded on first use from its one-file CommonJS build (dist/echarts.js, what `require('echarts')`
 * resolves to; the same code as its ES module build, which is about 600 files: loading those through the
 * TypeScript loader took about 1.5 s of CPU at every start of the CLI, a chart drawn or not).
 */
let lib: typeof Echarts | undefined;
function echarts(): typeof Echarts {
  lib ??= createRequire(import.meta.url)('echarts') as typeof Echarts;
  return lib;
}

/** Rough legend height: items laid out in rows across the chart's width. */
function legendRows(names: readonly string[], width: number): number {
  let rows = 1;
  let x = 0;
  for (const n of names) {
    const w = 44 + n.length * 8.8;
    if (x + w > width - 60 && x > 0) {
      rows++;
      x = 0;
    }
    x += w;
  }
  return rows;
}

function common(spec: ChartSpec, legend: string[]): Option {
  const rows = legendRows(legend, CHART_WIDTH);
  return {
    animation: false,
    backgroundColor: '#ffffff',
    textStyle: { fontFamily: FONT_FAMILY, fontSize: 14, color: '#222' },
    title: {
      text: spec.title,
      subtext: spec.subtitle,
      left: 'center',
      top: 10,
      textStyle: { fontSize: 21, fontWeight: 'bold', color: '#111' },
      subtextStyle: { fontSize: 13.5, color: '#555' },
    },
    legend: { data: legend, bottom: 10, left: 'center', itemGap: 28, itemWidth: 26, itemHeight: 12, textStyle: { fontSize: 15 } },
    grid: { left: 104, right: 44, top: 96, bottom: 84 + rows * 30 },
  };
}

function axis(name: string, type: string, unit: string | null, extra: Option = {}): Option {
  return {
    type,
    name,
    nameLocation: 'middle',
    nameTextStyle: { fontSize: 15, color: '#222' },
    axisLine: { show: true, lineStyle: { color: '#444' } },
    axisTick: { show: true },
    axisLabel: { fontSize: 14, color: '#333', ...(unit === null ? {} : { formatter: (v: number) => formatTick(v, unit) }) },
    splitLine: { show: true, lineStyle: { color: '#e3e3e3' } },
    ...extra,
  };
}

const BAR_CAP = 5;

/** An error-bar series for a line or kernel series (none when no point has a bar). */
function errorBars(s: SeriesSpec): Option | null {
  const withBars = s.points.filter((p): p is ChartPoint & { low: number; high: number } => p.low !== undefined && p.high !== undefined);
  if (withBars.length === 0) return null;
  return {
    type: 'custom',
    name: s.name,
    silent: true,
    z: 1,
    encode: { x: 0, y: [1, 2] },
    data: withBars.map((p) => [p.x, p.low, p.high]),
    renderItem: (_params: unknown, api: { value(i: number): number; coord(v: number[]): number[] }) => {
      const x = api.value(0);
      const lo = api.coord([x, api.value(1)]);
      const hi = api.coord([x, api.value(2)]);
      const style = { stroke: s.color, lineWidth: 1.6 };
      return {
        type: 'group',
        children: [
          { type: 'line', shape: { x1: lo[0], y1: lo[1], x2: hi[0], y2: hi[1] }, style },
          { type: 'line', shape: { x1: lo[0]! - BAR_CAP, y1: lo[1], x2: lo[0]! + BAR_CAP, y2: lo[1] }, style },
          { type: 'line', shape: { x1: hi[0]! - BAR_CAP, y1: hi[1], x2: hi[0]! + BAR_CAP, y2: hi[1] }, style },
        ],
      };
    },
  };
}

/** The ECharts option of a scaling chart. */
export function scalingOption(spec: ScalingChartSpec): Option {
  const legend = spec.series.map((s) => s.name);
  const minX = Math.min(...spec.series.flatMap((s) => s.points.map((p) => p.x)));
  const series: Option[] = [];
  for (const s of spec.series) {
    if (s.role === 'backend') {
      series.push({
        type: 'line',
        name: s.name,
        color: s.color,
        data: s.points.map((p) => [p.x, p.y]),
        symbol: s.dashed === true ? 'emptyCircle' : 'circle',
        symbolSize: 9,
        lineStyle: { width: s.dashed === true ? 2.2 : 3, type: s.dashed === true ? 'dashed' : 'solid' },
        z: 3,
      });
    } else if (s.role === 'regression') {
      series.push({
        type: 'scatter',
        name: s.name,
        color: s.color,
        data: s.points.map((p) => [p.x, p.y]),
        symbol: 'circle',
        symbolSize: 24,
        itemStyle: { color: 'rgba(0,0,0,0)', borderColor: s.color, borderWidth: 3 },
        z: 6,
      });
    } else if (s.role === 'kernel') {
      series.push({
        type: 'scatter',
        name: s.name,
        color: s.color,
        data: s.points.map((p) => [p.x, p.y]),
        symbol: 'diamond',
        symbolSize: 16,
        itemStyle: { borderColor: '#111', borderWidth: 1.2 },
        z: 4,
      });
    } else {
      series.push({
        type: 'scatter',
        name: s.name,
        color: s.color,
        // labels sit left of their marker, except at the left edge of the chart, where they would be cut off
        data: s.points.map((p) => ({
          value: [p.x, p.y],
          name: p.label ?? '',
          ...(p.x <= minX * 1.5 ? { label: { position: 'right' } } : {}),
        })),
        symbol: 'triangle',
        symbolSize: 15,
        itemStyle: { color: '#ffffff', borderColor: s.color, borderWidth: 2.2 },
        label: {
          show: true,
          formatter: '{b}',
          position: 'left',
          distance: 8,
          fontSize: 13,
          color: '#222',
          backgroundColor: 'rgba(255,255,255,0.85)',
          padding: [2, 4],
        },
        labelLayout: { hideOverlap: false, moveOverlap: 'shiftY' },
        z: 5,
      });
    }
    const bars = s.role === 'reference' || s.role === 'regression' ? null : errorBars(s);
    if (bars !== null) series.push(bars);
  }
  return {
    ...common(spec, legend),
    xAxis: axis(spec.x.name, 'log', '', {
      logBase: 10,
      nameGap: 36,
      minorTick: { show: true },
      minorSplitLine: { show: true, lineStyle: { color: '#f3f3f3' } },
    }),
    yAxis: axis(
      spec.y.name,
      spec.y.log ? 'log' : 'value',
      spec.unit,
      spec.y.log
        ? { logBase: 10, nameGap: 78, minorTick: { show: true }, minorSplitLine: { show: true, lineStyle: { color: '#f3f3f3' } } }
        : { nameGap: 78, min: 0 },
    ),
    series,
  };
}

/** The ECharts option of a grouped chart. */
export function groupedOption(spec: GroupedChartSpec): Option {
  const legend = spec.series.map((s) => s.name);
  // bars on a log axis start from the power of ten below the smallest value (not from 0, which a log axis lacks)
  const positive = spec.series.flatMap((s) => s.values.filter((v): v is number => v !== null && v > 0));
  const start = spec.y.log && positive.length > 0 ? 10 ** Math.floor(Math.log10(Math.min(...positive))) : undefined;
  return {
    ...common(spec, legend),
    tooltip: { show: false },
    xAxis: axis('services', 'category', null, {
      data: spec.categories.map((c) => formatValue(c, '')),
      nameGap: 36,
      splitLine: { show: false },
    }),
    yAxis: axis(spec.y.name, spec.y.log ? 'log' : 'value', spec.unit, {
      nameGap: 78,
      ...(spec.y.log ? { logBase: 10, min: start, startValue: start } : {}),
    }),
    series: spec.series.map((s) => ({
      type: 'bar',
      name: s.name,
      color: s.color,
      data: s.values.map((v) => (v === null || (spec.y.log && !(v > 0)) ? '-' : v)),
      barMaxWidth: 46,
      itemStyle: { borderColor: '#333', borderWidth: 0.6 },
    })),
  };
}

export function chartOption(spec: ChartSpec): Option {
  return spec.type === 'scaling' ? scalingOption(spec) : groupedOption(spec);
}

/** The chart as a standalone SVG document. */
export function renderChartSvg(spec: ChartSpec, size: { width?: number; height?: number } = {}): string {
  const chart = echarts().init(null, null, {
    renderer: 'svg',
    ssr: true,
    width: size.width ?? CHART_WIDTH,
    height: size.height ?? CHART_HEIGHT,
  });
  try {
    chart.setOption(chartOption(spec) as Echarts.EChartsCoreOption);
    const svg = chart.renderToSVGString();
    return svg.startsWith('<?xml') ? svg : `<?xml version="1.0" encoding="UTF-8"?>\n${svg}\n`;
  } finally {
    chart.dispose();
  }
}
