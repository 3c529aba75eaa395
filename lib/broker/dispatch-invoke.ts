import { toEventLogError } from '../log/errors.js';
import { buildEvent, readBatchResponse } from '../log/lambda-kafka-event.js';
import type { InvocationResponse } from '../log/on-failure-record.js';
import type { FunctionInvoker } from '../store/function-invoker.js';
import type { Attempt, DispatchContext, Item, PartitionWork } from './dispatch-types.js';

/**
 * One synchronous invocation of a subscription's function with a batch (Lambda's self-managed
 * Kafka event), and what its answer means: success, a partial batch response, or a failure
 * that does or does not count against the retries.
 */
export async function invokeFunction(
  ctx: DispatchContext,
  work: PartitionWork,
  items: Item[],
): Promise<Attempt> {
  const { config, topic, partition, run } = work;
  const event = buildEvent(
    ctx.options.bootstrapServers,
    topic.name,
    partition,
    items.map((i) => i.event),
  );
  const payload = Buffer.from(JSON.stringify(event));
  const left = run.hardDeadline - Date.now();
  const signal = Number.isFinite(left) ? AbortSignal.timeout(Math.max(1, left)) : undefined;
  let result: Awaited<ReturnType<FunctionInvoker['invoke']>>;
  try {
    result = await ctx.deps.invoker.invoke(config.functionName, payload, signal);
  } catch (error) {
    const failure = toEventLogError(error);
    const reached = failure.details?.['reachedFunction'];
    return {
      kind: 'failed',
      error: `${failure.code}: ${failure.message}`,
      counts: failure.code === 'TIMEOUT' || reached !== false,
    };
  }
  const text = Buffer.from(result.payload).toString('utf8');
  const response: InvocationResponse = {
    statusCode: result.statusCode ?? 200,
    ...(result.executedVersion === undefined ? {} : { executedVersion: result.executedVersion }),
    ...(result.functionError === undefined ? {} : { functionError: result.functionError }),
    ...(result.requestId === undefined ? {} : { requestId: result.requestId }),
  };
  if (result.functionError !== undefined) {
    return {
      kind: 'failed',
      error: functionErrorOf(result.functionError, text),
      counts: true,
      response,
    };
  }
  if (!config.functionResponseTypes.includes('ReportBatchItemFailures')) return { kind: 'ok' };
  let answer: unknown;
  try {
    answer = text.trim() === '' ? null : JSON.parse(text);
  } catch {
    return { kind: 'failed', error: 'the answer is not JSON', counts: true, response };
  }
  const read = readBatchResponse(
    answer,
    topic.name,
    partition,
    new Set(items.map((i) => i.record.offset)),
  );
  if (read.kind === 'success') return { kind: 'ok' };
  if (read.kind === 'invalid') {
    return { kind: 'failed', error: read.reason, counts: true, response };
  }
  return {
    kind: 'partial',
    offset: read.offset,
    error: `batchItemFailures from offset ${read.offset}`,
    response,
  };
}

/** "Unhandled: Error: boom" from Lambda's error document. */
function functionErrorOf(functionError: string, payload: string): string {
  try {
    const doc = JSON.parse(payload) as { errorType?: unknown; errorMessage?: unknown };
    const type = typeof doc.errorType === 'string' ? doc.errorType : 'Error';
    const message = typeof doc.errorMessage === 'string' ? doc.errorMessage : payload;
    return `${functionError}: ${type}: ${message}`.slice(0, 1000);
  } catch {
    return `${functionError}: ${payload}`.slice(0, 1000);
  }
}
