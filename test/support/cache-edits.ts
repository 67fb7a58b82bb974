/**
 * Edits of a stopped gateway's cache (cache.sqlite in its data folder),
 * through the store's own key-value layer: what a DC restored from backup,
 * or a snapshot read from another server, leaves behind for the next start
 * to find.
 */
import path from 'node:path';
import type { SnapshotMeta } from '../../src/model/principal.js';
import type { Watermark } from '../../src/model/watermark.js';
import { openKvStore } from '../../src/store/kv-store.js';

interface Pointer {
  readonly meta: SnapshotMeta;
}

/**
 * Replaces the watermark of the snapshot a connection serves (the one its
 * pointer names) with `edit(watermark)`; returns the watermark as it was.
 * The gateway must be stopped: it keeps the served snapshot in memory.
 */
export async function editServedWatermark(
  dataDir: string,
  connectionId: string,
  edit: (watermark: Watermark) => Watermark,
): Promise<Watermark> {
  const kv = await openKvStore(`sqlite://${path.join(dataDir, 'cache.sqlite')}`, 'dirgate-cache');
  try {
    const key = `snapshot:${connectionId}`;
    const pointer = await kv.get<Pointer>(key);
    const watermark = pointer?.meta.watermark;
    if (!pointer || !watermark) throw new Error(`no served snapshot with a watermark for ${connectionId}`);
    await kv.set(key, { ...pointer, meta: { ...pointer.meta, watermark: edit(watermark) } });
    return watermark;
  } finally {
    await kv.close();
  }
}
