// Distances and ROIs drawn by the user, measured by the server (viewer_measure = measure_image's code).

import type { Measurement, Plane, Projection, SliceInfo } from "./api";

export type Shape = "line" | "circle";

/** A drawn measurement: where (image set, series, plane, slice), its points on the plane's grid, the server's
 * answer. */
export interface Drawn {
  id: number;
  imageSet: string;
  series: string;
  plane: Plane;
  index: number;
  count: number;
  shape: Shape;
  slab: number; // mm of the slab shown when drawn (0: a thin plane); measured on its central thin plane
  projection: Projection;
  points: [number, number][]; // [column, row] on the plane's grid
  radiusMm?: number;
  result?: Measurement;
  error?: string;
}

/** Grid ⇄ canvas: grid pixel centres sit at (c + 0.5) · scale on the displayed picture. */
export class GridMapping {
  constructor(private readonly info: SliceInfo) {}

  get scaleX(): number {
    return this.info.width / this.info.grid_width;
  }

  get scaleY(): number {
    return this.info.height / this.info.grid_height;
  }

  toGrid(x: number, y: number): [number, number] {
    return [round2(x / this.scaleX - 0.5), round2(y / this.scaleY - 0.5)];
  }

  toCanvas([column, row]: [number, number]): [number, number] {
    return [(column + 0.5) * this.scaleX, (row + 0.5) * this.scaleY];
  }
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

/** "Length 78.1 mm", "ROI mean 40.2 HU, SD 12.1, area 452 mm²", with the server's note (drawn on a slab: measured
 * on its central thin plane). */
export function describe(drawn: Drawn): string {
  const note = drawn.result?.note;
  return note ? `${numbers(drawn)} · ${note}` : numbers(drawn);
}

function numbers(drawn: Drawn): string {
  const result = drawn.result;
  if (drawn.error) return `${drawn.shape === "line" ? "Length" : "ROI"}: ${drawn.error}`;
  if (!result) return drawn.shape === "line" ? "Length: measuring…" : "ROI: measuring…";
  if (drawn.shape === "line") return `Length ${result.length_mm?.toFixed(1)} mm`;
  const stats = result.statistics;
  if (!stats) return "ROI: no pixels";
  const area = stats.area_mm2 === undefined ? "" : `, area ${stats.area_mm2.toFixed(1)} mm²`;
  return `ROI mean ${stats.mean.toFixed(1)} ${result.units}, SD ${stats.sd.toFixed(1)}, min ${stats.min}, max ${stats.max}${area}`;
}

/** The short label drawn beside a measurement: "78.1 mm", "40.2 ± 12.1 HU". */
function overlayLabel(drawn: Drawn): string {
  const result = drawn.result;
  if (drawn.shape === "line") return `${result?.length_mm?.toFixed(1)} mm`;
  const stats = result?.statistics;
  return stats ? `${stats.mean.toFixed(1)} ± ${stats.sd.toFixed(1)} ${result?.units}` : "";
}

/** The points that repeat the measurement with measure_image: a line's two ends, a circle's centre (and radius). */
export function repeatable(drawn: Drawn): { points: [number, number][]; radius_mm?: number } {
  return drawn.shape === "circle"
    ? { points: [drawn.points[0]], radius_mm: drawn.radiusMm }
    : { points: drawn.points };
}

/** Where a measurement lies, for the list and the model: "axial 64/128". */
export function place(drawn: Drawn): string {
  return `${drawn.plane} ${drawn.index + 1}/${drawn.count}`;
}

/** Draw the measurements of the shown slice (and the one being dragged) on the overlay. */
export function drawOverlay(
  canvas: HTMLCanvasElement,
  mapping: GridMapping | null,
  shown: Drawn[],
  dragging: Drawn | null,
): void {
  const context = canvas.getContext("2d");
  if (!context) return;
  context.clearRect(0, 0, canvas.width, canvas.height);
  if (!mapping) return;
  const scale = Math.max(1, canvas.width / 512);
  context.lineWidth = 1.5 * scale;
  context.font = `${Math.round(12 * scale)}px system-ui, sans-serif`;
  context.textBaseline = "bottom";
  for (const drawn of dragging ? [...shown, dragging] : shown) {
    context.strokeStyle = context.fillStyle = "#ffdc00";
    const [a, b] = drawn.points.map((p) => mapping.toCanvas(p));
    context.beginPath();
    if (drawn.shape === "line" && b) {
      context.moveTo(a[0], a[1]);
      context.lineTo(b[0], b[1]);
    } else if (drawn.shape === "circle" && b) {
      context.arc(a[0], a[1], Math.hypot(b[0] - a[0], b[1] - a[1]), 0, 2 * Math.PI);
    }
    context.stroke();
    const label = drawn.result ? overlayLabel(drawn) : "";
    if (label) {
      const [x, y] = b ?? a;
      const width = context.measureText(label).width;
      const left = Math.max(2, Math.min(x + 6 * scale, canvas.width - width - 2));
      const bottom = Math.max(14 * scale, y - 4 * scale);
      context.lineWidth = 3 * scale;
      context.strokeStyle = "#000";
      context.strokeText(label, left, bottom);
      context.fillText(label, left, bottom);
      context.lineWidth = 1.5 * scale;
    }
  }
}
