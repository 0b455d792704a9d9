import { DeleteObjectsCommand, ListObjectVersionsCommand, ObjectIdentifier, S3Client } from '@aws-sdk/client-s3';
import { answerOf, describeAnswer, S3Caller } from './s3-call';

/** What cleanup did. */
export interface CleanupResult {
  /** Object versions and delete markers removed. */
  readonly deleted: number;
  /** Keys (with version ids) still present afterwards, or errors that prevented removal. */
  readonly leftovers: string[];
  /**
   * Writes the check gave up on without an answer (reset, timeout, deadline) that no listing
   * found: they may still land after cleanup. The lifecycle rule expires them and the Delete
   * event's cleanup lists the prefix again.
   */
  readonly unsettled?: string[];
}

/** Options of one cleanup. */
export interface CleanupOptions {
  /**
   * The key of every write attempt sent without an answer, once per attempt: looked for once
   * more at the end of the window. A key is settled once the listings showed as many versions of
   * it that no answer named as it has abandoned attempts.
   */
  readonly abandoned?: string[];
  /**
   * How long to wait before the last listing when writes were abandoned (bounded by the cleanup
   * deadline), so that a write still in flight on S3's side lands and is deleted.
   * @default 5_000
   */
  readonly lateWriteWaitMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => number;
  /** Epoch milliseconds by which cleanup must end (the caller's deadline). */
  readonly deadline?: number;
}

const MAX_PAGES = 10;
const versionOf = (o: ObjectIdentifier) => `${o.Key}${o.VersionId ? `?versionId=${o.VersionId}` : ''}`;

/**
 * Deletes `known` probe objects (by version id where known), then lists every version and
 * delete marker under `prefix` and deletes those too, so a versioned bucket keeps nothing: not
 * a noncurrent version, not a delete marker, not a version whose id no answer named (a retry
 * after a lost answer on a server that ignores `If-None-Match`). Never throws: whatever it could
 * not delete, and every request that failed, is in `leftovers`.
 */
export async function cleanUp(
  s3: S3Client, caller: S3Caller, bucket: string, prefix: string, known: ObjectIdentifier[], options: CleanupOptions = {},
): Promise<CleanupResult> {
  let deleted = 0;
  const leftovers: string[] = [];
  const answered = new Set(known.filter((o) => o.VersionId !== undefined).map((o) => `${o.Key}@${o.VersionId}`));
  /** Per key, the versions listed that no answer named: what abandoned attempts wrote. */
  const unnamed = new Map<string, Set<string>>();
  let knownFailed: ObjectIdentifier[] = [];

  /** Deletes `objects`; returns those that may still exist. */
  const remove = async (objects: ObjectIdentifier[]): Promise<ObjectIdentifier[]> => {
    const failed: ObjectIdentifier[] = [];
    for (let i = 0; i < objects.length; i += 1000) {
      const batch = objects.slice(i, i + 1000);
      try {
        const response = await caller.call('DeleteObjects', (abortSignal) => s3.send(new DeleteObjectsCommand({
          Bucket: bucket,
          Delete: { Objects: batch, Quiet: true },
        }), { abortSignal }));
        const errors = response.Errors ?? [];
        deleted += batch.length - errors.length;
        failed.push(...batch.filter((o) => errors.some((e) => e.Key === o.Key && (e.VersionId ?? o.VersionId) === o.VersionId)));
      } catch (error) {
        leftovers.push(`DeleteObjects failed: ${describeAnswer(answerOf(error))}`);
        failed.push(...batch);
      }
    }
    return failed;
  };

  /** Lists the prefix and deletes what is there; false if the listing failed. */
  const sweep = async (): Promise<{ listed: boolean; failed: ObjectIdentifier[] }> => {
    const failed: ObjectIdentifier[] = [];
    let keyMarker: string | undefined;
    let versionMarker: string | undefined;
    // Bounded so that a misbehaving bucket cannot keep the handler looping.
    for (let page = 0; page < MAX_PAGES; page++) {
      let listed;
      try {
        listed = await caller.call('ListObjectVersions', (abortSignal) => s3.send(new ListObjectVersionsCommand({
          Bucket: bucket, Prefix: prefix, KeyMarker: keyMarker, VersionIdMarker: versionMarker,
        }), { abortSignal }));
      } catch (error) {
        const answer = answerOf(error);
        if (answer.code === 'NoSuchBucket') {
          return { listed: true, failed };
        }
        leftovers.push(`ListObjectVersions failed: ${describeAnswer(answer)}`);
        return { listed: false, failed };
      }
      const found: ObjectIdentifier[] = [...(listed.Versions ?? []), ...(listed.DeleteMarkers ?? [])]
        // Never anything outside the prefix, whatever the server lists.
        .filter((v) => v.Key !== undefined && v.Key.startsWith(prefix))
        .map((v) => ({ Key: v.Key!, VersionId: v.VersionId }));
      for (const version of listed.Versions ?? []) {
        const named = answered.has(`${version.Key}@${version.VersionId}`)
          // Unversioned: the 'null' version of a key whose delete failed is that known object.
          || (version.VersionId === 'null' && knownFailed.some((o) => o.Key === version.Key && o.VersionId === undefined));
        if (version.Key !== undefined && !named) {
          unnamed.set(version.Key, (unnamed.get(version.Key) ?? new Set()).add(version.VersionId ?? 'null'));
        }
      }
      if (found.length > 0) {
        failed.push(...await remove(found));
      }
      if (!listed.IsTruncated) {
        return { listed: true, failed };
      }
      keyMarker = listed.NextKeyMarker;
      versionMarker = listed.NextVersionIdMarker;
    }
    leftovers.push(`more than ${MAX_PAGES} pages of probe versions under ${prefix}: the rest is left to the lifecycle rule`);
    return { listed: true, failed };
  };

  try {
    knownFailed = known.length > 0 ? await remove(known) : [];
    let result = await sweep();
    const abandoned = (options.abandoned ?? []).filter((key) => key.startsWith(prefix));
    if (abandoned.length > 0 && options.sleep && options.now && options.deadline !== undefined) {
      // A write given up on may still be landing: look once more, as late as the window allows.
      const wait = Math.min(options.lateWriteWaitMs ?? 5_000, options.deadline - options.now() - 2_000);
      if (wait > 0) {
        await options.sleep(wait);
      }
      const last = await sweep();
      result = { listed: result.listed && last.listed, failed: last.failed };
    }
    if (!result.listed) {
      // Nothing proves the known objects are gone: name each one not deleted, and each key that
      // may hold a version no answer named (the listing would have found it).
      leftovers.push(...knownFailed.map(versionOf));
      leftovers.push(...known.filter((o) => !knownFailed.includes(o))
        .map((o) => `${o.Key} (deleted${o.VersionId ? ` version ${o.VersionId}` : ''}; other versions unknown: the listing failed)`));
    }
    leftovers.push(...result.failed.map(versionOf));
    const unsettled = [...new Set(abandoned)]
      .filter((key) => (unnamed.get(key)?.size ?? 0) < abandoned.filter((k) => k === key).length);
    return { deleted, leftovers, ...(unsettled.length ? { unsettled } : {}) };
  } catch (error) {
    // A programming error or an unexpected SDK failure: still report what was done.
    leftovers.push(`cleanup stopped: ${describeAnswer(answerOf(error))}`);
    return { deleted, leftovers };
  }
}
