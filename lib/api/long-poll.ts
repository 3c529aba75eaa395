import { setTimeout as sleep } from 'node:timers/promises';
import type { Broker } from '../broker/broker.js';
import type {
  FetchRequest,
  FetchResult,
  MultiFetchRequest,
  PartitionFetch,
} from '../broker/fetch.js';
import { sequenceOf } from '../log/commit.js';

/** The longest a fetch may wait; API Gateway's integration timeout is 30 s. */
export const MAX_WAIT_MS = 20_000;

const FIRST_RECHECK_MS = 25;
const MAX_RECHECK_MS = 250;

/**
 * A fetch that, when nothing is there yet, waits up to `waitMs` for records to arrive (Kafka's
 * fetch.max.wait.ms). Between attempts it reads only the commit sequence's head, one small GetItem,
 * and fetches again once commits past what this process has seen were reserved; the gap between
 * checks grows from 25 ms to 250 ms, so an idle wait costs a few dozen reads at most.
 * Stops early when `signal` aborts (the client went away).
 */
export async function fetchWithWait(
  broker: Broker,
  request: FetchRequest,
  waitMs: number,
  signal?: AbortSignal,
): Promise<FetchResult> {
  let result = await broker.fetch.fetch(request);
  if (waitMs <= 0 || arrived(result, request)) return result;

  const deadline = performance.now() + waitMs;
  const topic = await broker.topics.resolve(request.topic);
  let gap = FIRST_RECHECK_MS;
  for (;;) {
    const remaining = deadline - performance.now();
    if (remaining <= 0 || signal?.aborted === true) return result;
    try {
      await sleep(Math.min(gap, remaining), undefined, signal === undefined ? {} : { signal });
    } catch {
      return result; // aborted: nobody is waiting for the answer any more
    }
    gap = Math.min(gap * 2, MAX_RECHECK_MS);
    if (!(await broker.reader.mayHaveMore(topic, request.partition))) continue;
    // Commits were reserved past what this process has seen; their writer may still be
    // publishing, so fetch again and keep waiting if the batch is not visible yet.
    result = await broker.fetch.fetch(request);
    if (arrived(result, request)) return result;
  }
}

/** Records came back, or the log moved past the offset (an aborted range was skipped). */
function arrived(result: FetchResult, request: FetchRequest): boolean {
  return result.records.length > 0 || result.nextOffset > request.offset;
}

/**
 * fetchWithWait for several partitions of one topic (one fetchMany per attempt): returns as
 * soon as any partition has records, moved past its offset, or failed. Between attempts it
 * reads one sequence head per commit sequence the partitions live in (not one per partition),
 * so waiting on 16 partitions of a topic costs what waiting on one does.
 */
export async function fetchManyWithWait(
  broker: Broker,
  request: MultiFetchRequest,
  waitMs: number,
  signal?: AbortSignal,
): Promise<PartitionFetch[]> {
  let results = await broker.fetch.fetchMany(request);
  if (waitMs <= 0 || anyArrived(results, request)) return results;

  const deadline = performance.now() + waitMs;
  const topic = await broker.topics.resolve(request.topic);
  // One partition per sequence stands for all of the sequence's partitions.
  const bySequence = new Map<number, number>();
  for (const { partition } of request.partitions) {
    const sequence = sequenceOf(partition, topic.sequences);
    if (!bySequence.has(sequence)) bySequence.set(sequence, partition);
  }
  let gap = FIRST_RECHECK_MS;
  for (;;) {
    const remaining = deadline - performance.now();
    if (remaining <= 0 || signal?.aborted === true) return results;
    try {
      await sleep(Math.min(gap, remaining), undefined, signal === undefined ? {} : { signal });
    } catch {
      return results; // aborted: nobody is waiting for the answer any more
    }
    gap = Math.min(gap * 2, MAX_RECHECK_MS);
    const grown = await Promise.all(
      [...bySequence.values()].map((p) => broker.reader.mayHaveMore(topic, p)),
    );
    if (!grown.includes(true)) continue;
    results = await broker.fetch.fetchMany(request);
    if (anyArrived(results, request)) return results;
  }
}

function anyArrived(results: readonly PartitionFetch[], request: MultiFetchRequest): boolean {
  return results.some((result, i) => {
    if ('error' in result) return true;
    const offset = request.partitions[i]?.offset ?? 0;
    return result.records.length > 0 || result.nextOffset > offset;
  });
}
