// What the user looks at, in words and structure, for the model (ui/update-model-context).

import type { SliceInfo, ViewerSeries } from "./api";
import { describe, type Drawn, place, repeatable } from "./measurements";

export interface ViewState {
  series: ViewerSeries;
  slice: SliceInfo;
  slabMm: number;
  projection: string;
  measurements: Drawn[];
}

/** The text the model reads: series, slice, window, measurements, and how to see the same with its tools. */
export function contextText(view: ViewState): string {
  const { series, slice } = view;
  const lines = [
    `The user is looking at this in the HealthImaging viewer (image set ${series.image_set_id}, ` +
      `series ${series.series_instance_uid}):`,
    slice.caption,
  ];
  if (slice.plane) {
    const slab = view.slabMm ? `, "slab_mm": ${view.slabMm}, "projection": "${view.projection}"` : "";
    const window =
      slice.window_center !== undefined && slice.window_width !== undefined
        ? `, "window_center": ${slice.window_center}, "window_width": ${slice.window_width}`
        : "";
    lines.push(
      `get_image_frame shows the same with {"image_set_id": "${series.image_set_id}", "series_instance_uid": ` +
        `"${series.series_instance_uid}", "plane": "${slice.plane}", "slice_index": ${slice.index}${slab}${window}}.`,
    );
  }
  const measured = view.measurements.filter((m) => m.result);
  if (measured.length) {
    lines.push("Measurements the user drew:");
    for (const drawn of measured) {
      const elsewhere =
        drawn.imageSet === series.image_set_id && drawn.series === series.series_instance_uid
          ? ""
          : `, series ${drawn.series} of image set ${drawn.imageSet}`;
      const where = `${place(drawn)} at ${drawn.result?.position_mm.toFixed(1)} mm${elsewhere}`;
      const { points, radius_mm } = repeatable(drawn);
      const circle = radius_mm === undefined ? "" : `, radius_mm ${radius_mm}`;
      lines.push(`- ${describe(drawn)} (${where}; measure_image ${drawn.shape} points ${JSON.stringify(points)}${circle})`);
    }
  }
  return lines.join("\n");
}

/** The same as data. */
export function contextData(view: ViewState): Record<string, unknown> {
  const { series, slice } = view;
  return {
    image_set_id: series.image_set_id,
    series_instance_uid: series.series_instance_uid,
    plane: slice.plane,
    slice_index: slice.index,
    slice_count: slice.count,
    position_mm: slice.position_mm,
    window_center: slice.window_center,
    window_width: slice.window_width,
    slab_mm: view.slabMm || undefined,
    projection: view.slabMm ? view.projection : undefined,
    measurements: view.measurements
      .filter((m) => m.result)
      .map((m) => ({
        image_set_id: m.imageSet,
        series_instance_uid: m.series,
        shape: m.shape,
        plane: m.plane,
        slice_index: m.index,
        ...repeatable(m),
        ...m.result,
      })),
  };
}
