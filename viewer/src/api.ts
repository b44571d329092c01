// The server tools the view calls through the host (the view itself connects to nothing), and their answers.

import type { App } from "@modelcontextprotocol/ext-apps";

export type Plane = "axial" | "coronal" | "sagittal";
export type Projection = "mip" | "minip" | "mean";
export const PLANES: Plane[] = ["axial", "coronal", "sagittal"];

/** What view_series was called with (the host hands it to the view). */
export interface ViewArguments {
  image_set_id: string;
  datastore_id?: string;
  series_instance_uid?: string;
  plane?: Plane;
  window?: string;
}

/** view_series' answer: where the view starts. */
export interface SeriesShown {
  caption: string;
  series_instance_uid?: string;
  slice_index: number;
  slice_count?: number;
  plane?: Plane;
  position_mm?: number;
}

export interface PlaneLayout {
  count: number;
  first_mm: number;
  step_mm: number;
  middle: number;
  grid_width: number;
  grid_height: number;
  spacing_mm: number;
}

/** A series of the study (its image sets may hold one or several). */
export interface SeriesChoice {
  image_set_id: string;
  series_instance_uid: string;
  modality?: string;
  description?: string;
  number?: number;
  frame_count: number;
}

export interface ViewerSeries {
  datastore_id: string;
  image_set_id: string;
  version_id: string;
  series_instance_uid: string;
  modality?: string;
  description?: string;
  frame_count: number;
  units?: string;
  acquired_plane?: Plane;
  planes: Partial<Record<Plane, PlaneLayout>>;
  presets: Record<string, [number, number]>;
  notes: string[];
  series: SeriesChoice[];
}

/** One rendered slice: a plane position (volume series) or a frame (series that make no volume). */
export interface SliceInfo {
  plane: Plane | null;
  index: number;
  count: number;
  position_mm: number | null;
  width: number;
  height: number;
  grid_width: number;
  grid_height: number;
  spacing_mm: number | null;
  window_center?: number;
  window_width?: number;
  window_source?: string;
  caption: string;
}

export interface Statistics {
  mean: number;
  sd: number;
  min: number;
  max: number;
  median: number;
  pixel_count: number;
  area_mm2?: number;
}

export interface Measurement {
  plane: Plane;
  position_mm: number;
  units: string;
  value?: number;
  length_mm?: number;
  statistics?: Statistics;
  note?: string; // drawn on a slab: measured on its central thin plane
}

export interface Picture {
  data: string; // base64
  mimeType: string;
}

interface ToolAnswer<T> {
  data: T;
  text: string;
  picture?: Picture;
}

type Block = { type: string; text?: string; data?: string; mimeType?: string };

/** Typed calls of the server's tools; failures become Errors with the server's message. */
export class ServerTools {
  constructor(private readonly app: App) {}

  async call<T>(name: string, args: Record<string, unknown>): Promise<ToolAnswer<T>> {
    const result = await this.app.callServerTool({ name, arguments: args });
    const blocks = (result.content ?? []) as Block[];
    const text = blocks.filter((b) => b.type === "text").map((b) => b.text ?? "").join("\n");
    if (result.isError) throw new Error(errorMessage(text));
    const image = blocks.find((b) => b.type === "image");
    const picture = image?.data ? { data: image.data, mimeType: image.mimeType ?? "image/png" } : undefined;
    return { data: result.structuredContent as T, text, picture };
  }
}

/** The message of the server's typed error JSON ({"error": {"message", "next_step"}}), or the text itself. */
export function errorMessage(text: string): string {
  try {
    const error = JSON.parse(text).error;
    return [error.message, error.next_step].filter(Boolean).join(" ");
  } catch {
    return text || "The server did not answer.";
  }
}
