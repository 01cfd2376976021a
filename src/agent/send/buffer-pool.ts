/**
 * Reused buffers for batch bodies. A body lives until the server acknowledges it, long enough for its JS wrapper to
 * be promoted to V8's old generation, and old-generation garbage is only collected by a major GC that a small heap
 * rarely triggers: measured on the 5M-line bench, RSS reached 165 MiB with per-batch buffers. Bodies therefore live
 * in pooled buffers (the C LZ4 compresses straight into one, see compress.ts; other output is copied in at once, so
 * the compressor's own result dies young) that return here when their batch is done, so memory is bounded by the
 * batches in flight.
 */
const CLASSES = [16 * 1024, 64 * 1024, 256 * 1024, 1024 * 1024];

export class BufferPool {
  private readonly free: Buffer[][] = CLASSES.map(() => []);

  /** A copy of `data` in a pooled buffer; returns the view (exactly `data.length`) and its backing slab. */
  copy(data: Uint8Array): { view: Buffer; slab: Buffer | undefined } {
    const c = CLASSES.findIndex((size) => size >= data.length);
    if (c < 0) {
      const view = Buffer.allocUnsafeSlow(data.length);
      view.set(data);
      return { view, slab: undefined };
    }
    const slab = this.free[c]!.pop() ?? Buffer.allocUnsafeSlow(CLASSES[c]!);
    slab.set(data);
    return { view: slab.subarray(0, data.length), slab };
  }

  /** A pooled buffer of at least `bytes` (its size class), or undefined when `bytes` is above the largest class. */
  take(bytes: number): Buffer | undefined {
    const c = CLASSES.findIndex((size) => size >= bytes);
    if (c < 0) return undefined;
    return this.free[c]!.pop() ?? Buffer.allocUnsafeSlow(CLASSES[c]!);
  }

  release(slab: Buffer | undefined): void {
    if (slab === undefined) return;
    const c = CLASSES.indexOf(slab.length);
    // Keep a handful per class: enough for the batches in flight, without holding a past burst forever.
    if (c >= 0 && this.free[c]!.length < 16) this.free[c]!.push(slab);
  }
}
