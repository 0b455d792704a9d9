import { DeleteObjectsCommand, ListObjectVersionsCommand, ObjectIdentifier, S3Client } from '@aws-sdk/client-s3';
import { answerOf, describeAnswer, S3Caller } from './s3-call';

/** What cleanup did. */
export interface CleanupResult {
  /** Object versions and delete markers removed. */
  readonly deleted: number;
  /** Keys (with version ids) still present afterwards, or errors that prevented removal. */
  readonly leftovers: string[];
}

/**
 * Deletes `known` probe objects (by version id where known), then lists every version and
 * delete marker left under `prefix` and deletes those too, so a versioned bucket keeps nothing:
 * not a noncurrent version, not a delete marker. Never throws.
 */
export async function cleanUp(s3: S3Client, caller: S3Caller, bucket: string, prefix: string, known: ObjectIdentifier[]): Promise<CleanupResult> {
  let deleted = 0;
  const leftovers: string[] = [];
  const remove = async (objects: ObjectIdentifier[]): Promise<void> => {
    for (let i = 0; i < objects.length; i += 1000) {
      const batch = objects.slice(i, i + 1000);
      try {
        const response = await caller.call('DeleteObjects', (abortSignal) => s3.send(new DeleteObjectsCommand({
          Bucket: bucket,
          Delete: { Objects: batch, Quiet: true },
        }), { abortSignal }));
        deleted += batch.length - (response.Errors?.length ?? 0);
      } catch (error) {
        leftovers.push(`DeleteObjects failed: ${describeAnswer(answerOf(error))}`);
      }
    }
  };

  if (known.length > 0) {
    await remove(known);
    // Deleting a version by id removes it for good: if every object was deleted that way, nothing
    // can be left. Without a version id (unversioned or suspended buckets, or a write whose answer
    // was lost) a delete marker or an unknown version may remain, so look.
    if (known.every((o) => o.VersionId !== undefined) && leftovers.length === 0 && deleted === known.length) {
      return { deleted, leftovers };
    }
  }

  // Second pass: whatever is still there (a delete marker, a version whose id was unknown, a
  // deletion that failed). Bounded so a misbehaving bucket cannot keep the handler looping.
  let keyMarker: string | undefined;
  let versionMarker: string | undefined;
  for (let page = 0; page < 5; page++) {
    let listed;
    try {
      listed = await caller.call('ListObjectVersions', (abortSignal) => s3.send(new ListObjectVersionsCommand({
        Bucket: bucket, Prefix: prefix, KeyMarker: keyMarker, VersionIdMarker: versionMarker,
      }), { abortSignal }));
    } catch (error) {
      const answer = answerOf(error);
      if (answer.code !== 'NoSuchBucket') {
        leftovers.push(`ListObjectVersions failed: ${describeAnswer(answer)}`);
      }
      break;
    }
    const remaining: ObjectIdentifier[] = [...(listed.Versions ?? []), ...(listed.DeleteMarkers ?? [])]
      .filter((v) => v.Key !== undefined && v.Key.startsWith(prefix))
      .map((v) => ({ Key: v.Key!, VersionId: v.VersionId }));
    if (remaining.length > 0) {
      const before = leftovers.length;
      const deletedBefore = deleted;
      await remove(remaining);
      if (leftovers.length > before || deleted - deletedBefore < remaining.length) {
        leftovers.push(...remaining.map((o) => `${o.Key}${o.VersionId ? `?versionId=${o.VersionId}` : ''}`));
      }
    }
    if (!listed.IsTruncated) {
      break;
    }
    keyMarker = listed.NextKeyMarker;
    versionMarker = listed.NextVersionIdMarker;
  }
  return { deleted, leftovers };
}
