// The series viewer: an MCP App (View side). The host gives it view_series' arguments and answer; every pixel
// and number comes from the server's tools, called through the host.

import { App } from "@modelcontextprotocol/ext-apps";
import {
  errorMessage,
  PLANES,
  type Plane,
  type Projection,
  type SeriesShown,
  ServerTools,
  type SliceInfo,
  type ViewArguments,
  type ViewerSeries,
  type Measurement,
} from "./api";
import { contextData, contextText } from "./context";
import { describe, type Drawn, drawOverlay, GridMapping, place, repeatable, type Shape } from "./measurements";
import { type Slice, SliceStore } from "./slices";

const MAX_SIZE = 512; // as get_image_frame's default: the pictures are the ones the model gets
const AHEAD = 8; // slices prefetched in the scrolling direction
const BEHIND = 3;
const CONTEXT_DELAY_MS = 600;
const WHEEL_NOTCH_PX = 50;

type Tool = "window" | Shape;

/** One slice request; its JSON is the cache key. */
interface Request {
  imageSet: string;
  series: string;
  plane: Plane | null; // null: a series that makes no volume, shown frame by frame
  index: number;
  window: [number, number] | null; // null: the series' own
  slab: number;
  projection: Projection;
}

const app = new App({ name: "healthimaging-series-viewer", version: "1.0.0" }, {}, { autoResize: true });
const tools = new ServerTools(app);
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const ui = {
  main: $("viewer"),
  series: $<HTMLSelectElement>("series"),
  slab: $<HTMLSelectElement>("slab"),
  projection: $<HTMLSelectElement>("projection"),
  window: $<HTMLSelectElement>("window"),
  image: $<HTMLCanvasElement>("image"),
  overlay: $<HTMLCanvasElement>("overlay"),
  slider: $<HTMLInputElement>("slider"),
  caption: $("caption"),
  measurements: $("measurements"),
  share: $<HTMLInputElement>("share"),
  shared: $("shared"),
  status: $("status"),
  planeButtons: [...document.querySelectorAll<HTMLButtonElement>("button[data-plane]")],
  toolButtons: [...document.querySelectorAll<HTMLButtonElement>("button[data-tool]")],
};

let args: ViewArguments | null = null;
let series: ViewerSeries | null = null;
let plane: Plane | null = null;
const indexes = new Map<string, number>(); // per series and plane
let window_: [number, number] | null = null;
let slab = 0;
let projection: Projection = "mip";
let tool: Tool = "window";
let direction = 1;
let shown: Slice | null = null;
let wanted = "";
let foreground: string | null = null;
let inputAt: number | null = null; // when the user last asked for another picture
let lastEventAt: number | null = null; // when the event being handled happened (same clock as performance.now())
for (const type of ["keydown", "wheel", "input", "change", "pointermove", "click"]) {
  document.addEventListener(type, (event) => (lastEventAt = event.timeStamp), { capture: true });
}

function markInput(): void {
  inputAt = lastEventAt ?? performance.now();
}
const measurements: Drawn[] = [];
let drafting: Drawn | null = null;
let nextId = 1;

/** Numbers the browser tests read: input-to-screen times of shown slices, and the context handed over. */
const stats = { latencies: [] as { ms: number; cached: boolean }[], contextUpdates: 0 };

const store = new SliceStore(async (key) => {
  const request = JSON.parse(key) as Request;
  if (!series) throw new Error("no series");
  const common = {
    ...where(request.imageSet),
    series_instance_uid: request.series,
    max_size: MAX_SIZE,
    ...(request.window ? { window_center: request.window[0], window_width: request.window[1] } : {}),
  };
  if (request.plane) {
    const answer = await tools.call<SliceInfo>("viewer_slice", {
      ...common,
      plane: request.plane,
      index: request.index,
      ...(request.slab ? { slab_mm: request.slab, projection: request.projection } : {}),
    });
    return { info: answer.data, picture: required(answer.picture) };
  }
  const frame = await tools.call<FrameAnswer>("get_image_frame", { ...common, slice_index: request.index });
  const info: SliceInfo = {
    ...frame.data,
    plane: null,
    index: frame.data.slice_index,
    count: frame.data.slice_count,
    position_mm: null,
    grid_width: frame.data.width,
    grid_height: frame.data.height,
    spacing_mm: null,
  };
  return { info, picture: required(frame.picture) };
});

interface FrameAnswer {
  caption: string;
  width: number;
  height: number;
  slice_index: number;
  slice_count: number;
  window_center?: number;
  window_width?: number;
  window_source?: string;
}

/** The arguments that name an image set of the study: the version shown for the open one, else its latest. */
function where(imageSet: string): Record<string, string> {
  const open = series?.image_set_id === imageSet;
  return {
    image_set_id: imageSet,
    ...(series ? { datastore_id: series.datastore_id } : args?.datastore_id ? { datastore_id: args.datastore_id } : {}),
    ...(open && series ? { version_id: series.version_id } : {}),
  };
}

function required<T>(value: T | undefined): T {
  if (value === undefined) throw new Error("The server answered without a picture.");
  return value;
}

// ------------------------------------------------------------------------------------------- navigation

function layout() {
  return plane && series ? series.planes[plane] : undefined;
}

function count(): number {
  return layout()?.count ?? series?.frame_count ?? 1;
}

function indexKey(): string {
  return `${series?.image_set_id}/${series?.series_instance_uid}/${plane ?? "frames"}`;
}

function currentIndex(): number {
  const layoutNow = layout();
  return indexes.get(indexKey()) ?? layoutNow?.middle ?? Math.floor(count() / 2);
}

function requestAt(index: number): string {
  const request: Request = {
    imageSet: series?.image_set_id ?? "",
    series: series?.series_instance_uid ?? "",
    plane,
    index,
    window: window_,
    slab: plane ? slab : 0,
    projection,
  };
  return JSON.stringify(request);
}

/** Show the current request: at once when held, else fetched (one at a time: the latest ask wins). */
async function show(): Promise<void> {
  const key = requestAt(currentIndex());
  wanted = key;
  const held = store.peek(key);
  if (held) {
    draw(held, true);
    prefetchAround();
    return;
  }
  if (foreground) return; // the fetch under way shows `wanted` when it is done
  foreground = key;
  ui.main.dataset.busy = "true";
  try {
    const slice = await store.get(key);
    if (wanted === key) draw(slice, false);
  } catch (error) {
    if (wanted === key) fail(error);
  } finally {
    foreground = null;
    delete ui.main.dataset.busy;
  }
  if (wanted !== key) void show();
  else prefetchAround();
}

let around: string[] = [];
store.onloaded = () => (ui.main.dataset.prefetched = String(store.holds(around)));

function prefetchAround(): void {
  const index = currentIndex();
  const total = count();
  const near: [number, number][] = [];
  for (let step = 1; step <= AHEAD; step++) near.push([index + direction * step, step]);
  for (let step = 1; step <= BEHIND; step++) near.push([index - direction * step, step * 2.5]);
  around = near
    .filter(([i]) => i >= 0 && i < total)
    .sort((a, b) => a[1] - b[1])
    .map(([i]) => requestAt(i));
  store.prefetch(around);
  ui.main.dataset.prefetched = String(store.holds(around));
}

function go(index: number): void {
  const target = Math.max(0, Math.min(count() - 1, index));
  const now = currentIndex();
  if (target === now) return;
  direction = target > now ? 1 : -1;
  indexes.set(indexKey(), target);
  markInput();
  void show();
}

function choosePlane(next: Plane): void {
  if (!series?.planes[next] || next === plane) return;
  plane = next;
  markInput();
  void show();
}

function chooseWindow(next: [number, number] | null): void {
  window_ = next;
  markInput();
  void show();
}

// -------------------------------------------------------------------------------------------- drawing

/** Put a slice on screen; `held`: it was in the view already (prefetched or seen), not waited for. */
function draw(slice: Slice, held: boolean): void {
  const { info, bitmap } = slice;
  for (const canvas of [ui.image, ui.overlay]) {
    if (canvas.width !== info.width || canvas.height !== info.height) {
      canvas.width = info.width;
      canvas.height = info.height;
    }
  }
  const context = ui.image.getContext("2d");
  context?.drawImage(bitmap, 0, 0);
  shown = slice;
  const started = inputAt;
  inputAt = null;
  if (started !== null) {
    // The frame that paints the new pixels: its animation callback, then the task after it is rendered.
    requestAnimationFrame(() =>
      setTimeout(() => stats.latencies.push({ ms: performance.now() - started, cached: held }), 0),
    );
  }
  redrawOverlay();
  ui.slider.max = String(info.count - 1);
  ui.slider.value = String(info.index);
  ui.caption.textContent = info.caption;
  for (const button of ui.planeButtons) {
    button.setAttribute("aria-pressed", String(button.dataset.plane === info.plane));
    button.disabled = !series?.planes[button.dataset.plane as Plane];
  }
  Object.assign(ui.main.dataset, {
    state: "ready",
    plane: info.plane ?? "frames",
    index: String(info.index),
    window: `${info.window_center}/${info.window_width}`,
  });
  ui.status.textContent = "";
  shareLater();
}

function mapping(): GridMapping | null {
  return shown && shown.info.plane ? new GridMapping(shown.info) : null;
}

function ofThisSeries(drawn: Drawn): boolean {
  return drawn.imageSet === series?.image_set_id && drawn.series === series?.series_instance_uid;
}

function onThisSlice(drawn: Drawn): boolean {
  return (
    !!shown &&
    ofThisSeries(drawn) &&
    drawn.plane === shown.info.plane &&
    drawn.index === shown.info.index
  );
}

function redrawOverlay(): void {
  drawOverlay(ui.overlay, mapping(), measurements.filter(onThisSlice), drafting);
}

function listMeasurements(): void {
  ui.measurements.replaceChildren(
    ...measurements.map((drawn) => {
      const item = document.createElement("li");
      item.textContent = `${describe(drawn)} · ${place(drawn)}`;
      item.title = "Show this slice";
      item.addEventListener("click", async () => {
        if (!ofThisSeries(drawn)) await openSeries({ imageSet: drawn.imageSet, uid: drawn.series }).catch(fail);
        plane = drawn.plane;
        indexes.set(indexKey(), drawn.index);
        markInput();
        void show();
      });
      return item;
    }),
  );
  ui.main.dataset.measurements = String(measurements.filter((m) => m.result).length);
}

function fail(error: unknown): void {
  ui.status.textContent = error instanceof Error ? error.message : String(error);
  ui.main.dataset.state = shown ? "ready" : "failed";
}

// -------------------------------------------------------------------------------------------- pointer

function canvasPoint(event: PointerEvent): [number, number] {
  const box = ui.overlay.getBoundingClientRect();
  return [
    ((event.clientX - box.left) * ui.overlay.width) / box.width,
    ((event.clientY - box.top) * ui.overlay.height) / box.height,
  ];
}

let dragStart: { x: number; y: number; center: number; width: number } | null = null;

ui.overlay.addEventListener("pointerdown", (event) => {
  ui.overlay.focus();
  const info = shown?.info;
  if (!info) return;
  const adjustWindow = event.button === 2 || (event.button === 0 && tool === "window");
  if (adjustWindow && info.window_center !== undefined && info.window_width !== undefined) {
    dragStart = { x: event.clientX, y: event.clientY, center: info.window_center, width: info.window_width };
  } else if (event.button === 0 && tool !== "window" && mapping()) {
    const point = (mapping() as GridMapping).toGrid(...canvasPoint(event));
    drafting = {
      id: nextId++,
      imageSet: series?.image_set_id ?? "",
      series: series?.series_instance_uid ?? "",
      plane: info.plane as Plane,
      index: info.index,
      count: info.count,
      shape: tool,
      slab: info.plane ? slab : 0,
      projection,
      points: [point, point],
    };
  } else {
    return;
  }
  ui.overlay.setPointerCapture(event.pointerId);
  event.preventDefault();
});

ui.overlay.addEventListener("pointermove", (event) => {
  if (dragStart) {
    const quantum = 10 ** (Math.floor(Math.log10(dragStart.width)) - 2);
    const sensitivity = dragStart.width / 256;
    const width = Math.max(quantum, dragStart.width + (event.clientX - dragStart.x) * sensitivity);
    const center = dragStart.center + (event.clientY - dragStart.y) * sensitivity;
    chooseWindow([Math.round(center / quantum) * quantum, Math.round(width / quantum) * quantum]);
  } else if (drafting) {
    drafting.points[1] = (mapping() as GridMapping).toGrid(...canvasPoint(event));
    redrawOverlay();
  }
});

ui.overlay.addEventListener("pointerup", () => {
  dragStart = null;
  const drawn = drafting;
  drafting = null;
  if (!drawn) return;
  const [a, b] = drawn.points;
  if (Math.hypot(b[0] - a[0], b[1] - a[1]) < 1) {
    redrawOverlay();
    return;
  }
  measurements.push(drawn);
  listMeasurements();
  redrawOverlay();
  void measure(drawn);
});

ui.overlay.addEventListener("contextmenu", (event) => event.preventDefault());

async function measure(drawn: Drawn): Promise<void> {
  if (!series) return;
  const [a, b] = drawn.points;
  const spacing = shown?.info.spacing_mm ?? series.planes[drawn.plane]?.spacing_mm ?? 1;
  if (drawn.shape === "circle") drawn.radiusMm = Math.round(Math.hypot(b[0] - a[0], b[1] - a[1]) * spacing * 100) / 100;
  try {
    const answer = await tools.call<Measurement>("viewer_measure", {
      ...where(drawn.imageSet),
      series_instance_uid: drawn.series,
      plane: drawn.plane,
      index: drawn.index,
      shape: drawn.shape,
      ...(drawn.slab ? { slab_mm: drawn.slab, projection: drawn.projection } : {}),
      ...repeatable(drawn),
    });
    drawn.result = answer.data;
  } catch (error) {
    drawn.error = error instanceof Error ? error.message : String(error);
  }
  listMeasurements();
  redrawOverlay();
  shareLater();
}

let wheelDelta = 0;
ui.overlay.addEventListener(
  "wheel",
  (event) => {
    event.preventDefault();
    // A mouse notch (a line, or tens of pixels) is one slice; small trackpad deltas add up to one.
    const lines = event.deltaMode !== WheelEvent.DOM_DELTA_PIXEL || Math.abs(event.deltaY) >= WHEEL_NOTCH_PX;
    wheelDelta = lines ? Math.sign(event.deltaY) * WHEEL_NOTCH_PX : wheelDelta + event.deltaY;
    if (Math.abs(wheelDelta) >= WHEEL_NOTCH_PX) {
      go(currentIndex() + Math.sign(wheelDelta));
      wheelDelta = 0;
    }
  },
  { passive: false },
);

// ------------------------------------------------------------------------------------------- controls

ui.slider.addEventListener("input", () => go(Number(ui.slider.value)));
for (const button of ui.planeButtons) button.addEventListener("click", () => choosePlane(button.dataset.plane as Plane));
for (const button of ui.toolButtons) button.addEventListener("click", () => chooseTool(button.dataset.tool as Tool));
ui.slab.addEventListener("change", () => {
  slab = Number(ui.slab.value);
  markInput();
  void show();
});
ui.projection.addEventListener("change", () => {
  projection = ui.projection.value as Projection;
  markInput();
  void show();
});
ui.window.addEventListener("change", () => {
  const preset = series?.presets[ui.window.value];
  chooseWindow(preset ? [preset[0], preset[1]] : null);
});
ui.series.addEventListener("change", () => {
  const choice = series?.series[Number(ui.series.value)];
  if (choice) openSeries({ imageSet: choice.image_set_id, uid: choice.series_instance_uid }).catch(fail);
});
ui.share.addEventListener("change", () => shareLater(0));

function chooseTool(next: Tool): void {
  tool = next;
  ui.main.dataset.tool = next;
  for (const button of ui.toolButtons) button.setAttribute("aria-pressed", String(button.dataset.tool === next));
}

document.addEventListener("keydown", (event) => {
  if (event.target instanceof HTMLSelectElement || event.target instanceof HTMLInputElement) return;
  const index = currentIndex();
  const keys: Record<string, () => void> = {
    ArrowUp: () => go(index - 1),
    ArrowLeft: () => go(index - 1),
    ArrowDown: () => go(index + 1),
    ArrowRight: () => go(index + 1),
    PageUp: () => go(index - 10),
    PageDown: () => go(index + 10),
    Home: () => go(0),
    End: () => go(count() - 1),
    a: () => choosePlane("axial"),
    c: () => choosePlane("coronal"),
    s: () => choosePlane("sagittal"),
    w: () => chooseTool("window"),
    l: () => chooseTool("line"),
    o: () => chooseTool("circle"),
    r: () => {
      ui.window.value = "";
      chooseWindow(null);
    },
    Escape: () => chooseTool("window"),
  };
  const preset = /^[1-9]$/.test(event.key) ? Object.keys(series?.presets ?? {})[Number(event.key) - 1] : undefined;
  if (preset) {
    ui.window.value = preset;
    ui.window.dispatchEvent(new Event("change"));
  } else if (keys[event.key]) {
    keys[event.key]();
  } else {
    return;
  }
  event.preventDefault();
});

// -------------------------------------------------------------------------------- the model's context

let shareTimer: ReturnType<typeof setTimeout> | undefined;

function shareLater(delay = CONTEXT_DELAY_MS): void {
  clearTimeout(shareTimer);
  shareTimer = setTimeout(() => void share(), delay);
}

/** Hand what is on screen to the model (the host keeps the last update for the next turn). */
async function share(): Promise<void> {
  const accepts = app.getHostCapabilities()?.updateModelContext;
  if (!accepts || !series || !shown) {
    ui.shared.textContent = accepts ? "" : "This host does not take context from views.";
    return;
  }
  if (!ui.share.checked) {
    await app.updateModelContext({ content: [{ type: "text", text: "The user stopped sharing their view." }] });
    ui.shared.textContent = "Not shared with the model.";
    return;
  }
  const view = { series, slice: shown.info, slabMm: shown.info.plane ? slab : 0, projection, measurements };
  const content: ({ type: "text"; text: string } | { type: "image"; data: string; mimeType: string })[] = [
    { type: "text", text: contextText(view) },
  ];
  if (accepts.image) content.push({ type: "image", ...shown.picture });
  try {
    await app.updateModelContext({ content, structuredContent: contextData(view) });
    stats.contextUpdates++;
    const measured = measurements.filter((m) => m.result).length;
    ui.shared.textContent =
      `Shared with the model: ${shown.info.plane ?? "frame"} ${shown.info.index + 1}/${shown.info.count}` +
      `${accepts.image ? " (picture too)" : ""}${measured ? `, ${measured} measurement${measured > 1 ? "s" : ""}` : ""}`;
  } catch (error) {
    ui.shared.textContent = `Not shared: ${error instanceof Error ? error.message : error}`;
  }
}

// -------------------------------------------------------------------------------------------- opening

/** Open a series of the study (default: view_series' image set and series). */
async function openSeries(target?: { imageSet: string; uid?: string }, start?: SeriesShown): Promise<void> {
  if (!args) return;
  ui.main.dataset.state = "loading";
  const answer = await tools.call<ViewerSeries>("viewer_series", {
    ...where(target?.imageSet ?? args.image_set_id),
    ...(target?.uid ? { series_instance_uid: target.uid } : {}),
  });
  series = answer.data;
  ui.series.replaceChildren(
    ...series.series.map((choice, i) => {
      const option = new Option(
        `${choice.number ?? "?"} · ${choice.modality ?? "?"} ${choice.description ?? ""} (${choice.frame_count})`,
        String(i),
      );
      option.selected =
        choice.image_set_id === series?.image_set_id && choice.series_instance_uid === series?.series_instance_uid;
      return option;
    }),
  );
  ui.window.replaceChildren(
    new Option("series", ""),
    ...Object.entries(series.presets).map(([name, [c, w]], i) => new Option(`${i + 1} ${name} (${c}/${w})`, name)),
  );
  const planes = PLANES.filter((name) => series?.planes[name]);
  plane = planes.length ? (args.plane && series.planes[args.plane] ? args.plane : series.acquired_plane ?? planes[0]) : null;
  // view_series numbers slices as the view does: positions of the plane, or frames of a series without planes.
  if (start && (plane === null || start.plane === plane)) indexes.set(indexKey(), start.slice_index);
  window_ = args.window && series.presets[args.window] ? series.presets[args.window] : null;
  ui.window.value = window_ ? (args.window as string) : "";
  for (const control of [ui.slab, ui.projection]) control.disabled = !plane;
  for (const button of ui.toolButtons) button.disabled = !plane && button.dataset.tool !== "window";
  if (series.notes.length) ui.caption.title = series.notes.join("\n");
  inputAt = null;
  await show();
}

let received: ViewArguments | null = null;
let started = false;

app.ontoolinput = (params) => {
  received = (params.arguments ?? null) as ViewArguments | null;
};

app.ontoolresult = (result) => {
  if (started) return;
  if (result.isError) {
    const text = (result.content ?? []).map((b) => ("text" in b ? b.text : "")).join("\n");
    fail(new Error(errorMessage(text)));
    return;
  }
  started = true;
  args = received;
  const start = result.structuredContent as SeriesShown | undefined;
  const uid = start?.series_instance_uid ?? args?.series_instance_uid;
  openSeries(args ? { imageSet: args.image_set_id, uid } : undefined, start).catch(fail);
};

app.onhostcontextchanged = (context) => applyTheme(context.theme);

function applyTheme(theme: string | undefined): void {
  if (theme) document.documentElement.dataset.theme = theme;
}

chooseTool("window");
app
  .connect()
  .then(() => applyTheme(app.getHostContext()?.theme))
  .catch(fail);

/** For the browser tests: the view's state and timings (nothing here reaches the server or the model). */
Object.assign(globalThis, {
  seriesViewer: {
    stats,
    state: () => ({ plane, index: currentIndex(), window: window_, slab, projection, tool, count: count() }),
    shown: () => shown?.info ?? null,
    series: () => series && { image_set_id: series.image_set_id, series_instance_uid: series.series_instance_uid },
    measurements: () => measurements.map(({ shape, plane, index, points, radiusMm, result, error }) => ({
      shape, plane, index, points, radiusMm, result, error,
    })),
  },
});
