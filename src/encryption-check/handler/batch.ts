/**
 * Runs `work` over `items` with at most `limit` running at once, and returns the results in the
 * order of `items`. `work` must not throw (the check turns every error into a result); if it
 * does, the error is returned in place of that item's result, so one bucket never hides the
 * others' verdicts.
 */
export async function mapBounded<T, R>(
  items: readonly T[], limit: number, work: (item: T, index: number) => Promise<R>,
): Promise<(R | BatchError)[]> {
  if (!Number.isInteger(limit) || limit < 1) {
    throw new Error(`limit must be a positive integer, got ${limit}`);
  }
  const results: (R | BatchError)[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      try {
        results[index] = await work(items[index], index);
      } catch (error) {
        results[index] = new BatchError(error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** An error thrown by one item's work. */
export class BatchError {
  public readonly message: string;
  constructor(public readonly cause: unknown) {
    this.message = cause instanceof Error ? cause.message : String(cause);
  }
}
