// Rendered slices kept in the view: decoded once, reused while scrolling, fetched ahead of the user.

import type { Picture, SliceInfo } from "./api";

/** A slice as displayed: its description, the decoded picture, and the encoded one (handed to the model). */
export interface Slice {
  info: SliceInfo;
  bitmap: ImageBitmap;
  picture: Picture;
}

export type Fetch = (key: string) => Promise<{ info: SliceInfo; picture: Picture }>;

/** Slices by key (a request's identity): least recently used dropped beyond `capacity`; at most `parallel`
 * requests in flight, what the user waits for first, then prefetches nearest first. */
export class SliceStore {
  private readonly cache = new Map<string, Slice>();
  private readonly pending = new Map<string, Promise<Slice>>();
  private queue: string[] = [];
  private running = 0;

  /** Called after each slice arrives. */
  onloaded: () => void = () => undefined;

  constructor(
    private readonly fetch: Fetch,
    private readonly capacity = 160,
    private readonly parallel = 3,
  ) {}

  peek(key: string): Slice | undefined {
    const slice = this.cache.get(key);
    if (slice) {
      this.cache.delete(key); // most recently used last
      this.cache.set(key, slice);
    }
    return slice;
  }

  /** The slice for `key`, fetched now (ahead of any prefetch) when not held or already coming. */
  get(key: string): Promise<Slice> {
    const held = this.peek(key);
    if (held) return Promise.resolve(held);
    const coming = this.pending.get(key);
    if (coming) return coming;
    const promise = this.load(key);
    this.pending.set(key, promise);
    promise.catch(() => undefined).finally(() => this.pending.delete(key));
    return promise;
  }

  /** Replace the prefetch queue (nearest first); slices held or coming are skipped. */
  prefetch(keys: string[]): void {
    this.queue = keys.filter((key) => !this.cache.has(key) && !this.pending.has(key));
    this.pump();
  }

  /** Whether every key is held (prefetch finished around the current slice). */
  holds(keys: string[]): boolean {
    return keys.every((key) => this.cache.has(key));
  }

  clear(): void {
    this.cache.clear();
    this.queue = [];
  }

  private async load(key: string): Promise<Slice> {
    this.running++;
    try {
      const { info, picture } = await this.fetch(key);
      const bitmap = await decode(picture);
      const slice = { info, bitmap, picture };
      this.cache.set(key, slice);
      while (this.cache.size > this.capacity) {
        const oldest = this.cache.keys().next().value as string;
        this.cache.get(oldest)?.bitmap.close();
        this.cache.delete(oldest);
      }
      this.onloaded();
      return slice;
    } finally {
      this.running--;
      this.pump();
    }
  }

  private pump(): void {
    while (this.running < this.parallel && this.queue.length) {
      const key = this.queue.shift() as string;
      if (this.cache.has(key) || this.pending.has(key)) continue;
      this.get(key).catch(() => undefined); // a failed prefetch is fetched again when shown
    }
  }
}

/** base64 PNG/JPEG → ImageBitmap, without any URL (the page's CSP allows no image source). */
export async function decode(picture: Picture): Promise<ImageBitmap> {
  const bytes = Uint8Array.from(atob(picture.data), (c) => c.charCodeAt(0));
  return createImageBitmap(new Blob([bytes], { type: picture.mimeType }));
}
