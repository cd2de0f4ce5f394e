import { useEffect, useRef } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

export interface ChartProps {
  title: string;
  /** Epoch seconds, one per day. */
  x: number[];
  y: (number | null)[];
  format: (v: number | null) => string;
  bars?: boolean;
  /** A CSS custom property holding the series colour. */
  colorVar: string;
}

const cssVar = (name: string) => getComputedStyle(document.documentElement).getPropertyValue(name).trim() || "#888";

/** A small uPlot chart; its text alternative (role="img") states the range and the latest value. */
export function Chart({ title, x, y, format, bars, colorVar }: ChartProps) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const color = cssVar(colorVar);
    const grid = cssVar("--border");
    const text = cssVar("--muted");
    const axis = { stroke: text, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
    const plot = new uPlot(
      {
        width: Math.max(200, el.clientWidth),
        height: 180,
        legend: { show: false },
        cursor: { drag: { x: false, y: false } },
        scales: { x: { time: true }, y: { range: (_u, min, max) => [Math.min(0, min), max > 0 ? max * 1.1 : 1] } },
        axes: [axis, { ...axis, size: 60, values: (_u, splits) => splits.map((v) => format(v)) }],
        series: [
          {},
          {
            label: title,
            stroke: color,
            width: 2,
            fill: `${color}33`,
            spanGaps: false,
            points: { show: x.length <= 31 },
            ...(bars ? { paths: uPlot.paths.bars!({ size: [0.7, 24] }) } : {}),
          },
        ],
      },
      [x, y],
      el,
    );
    const resize = new ResizeObserver(() => plot.setSize({ width: Math.max(200, el.clientWidth), height: 180 }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [x, y, format, bars, colorVar, title]);

  const values = y.filter((v): v is number => v !== null);
  const described =
    values.length === 0
      ? `${title}: no data in this window`
      : `${title}: from ${format(Math.min(...values))} to ${format(Math.max(...values))}; latest day ${format(y[y.length - 1] ?? null)}`;
  return (
    <div className="card chart-card">
      <h2>{title}</h2>
      <div ref={ref} className="chart" role="img" aria-label={described} />
    </div>
  );
}
