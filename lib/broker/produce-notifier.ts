import { toEventLogError } from '../log/errors.js';
import type { FunctionInvoker } from '../store/function-invoker.js';
import type { ProduceService } from './produce.js';

/** What a produce wrote: the dispatcher's cue (docs/lambda-consumers.md). */
export interface ProducedEvent {
  topic: string;
  /** Partitions that received records, ascending. */
  partitions: number[];
}

export type ProducedHook = (event: ProducedEvent) => void | Promise<void>;

/**
 * Calls `onProduced` after every produce that committed records, before the produce answers.
 * On AWS the hook is an asynchronous Invoke of the dispatcher (tens of ms), awaited so that a
 * Lambda frozen right after answering does not sit on it; locally it only wakes the in-process
 * dispatcher. A failed notification fails nothing: the scheduled dispatcher run is the net.
 *
 * It wraps the service's method rather than living in ProduceService, so the produce path
 * stays the same whether or not anything listens.
 */
export function observeProduce(
  service: ProduceService,
  onProduced: ProducedHook,
  log: (message: string) => void = (message) => console.error(message),
): void {
  const produce = service.produce.bind(service);
  service.produce = async (request) => {
    const result = await produce(request);
    const partitions = new Set<number>();
    for (const record of result.records) {
      if (record.offset !== undefined) partitions.add(record.partition);
    }
    if (partitions.size > 0) {
      try {
        await onProduced({
          topic: result.topic,
          partitions: [...partitions].sort((a, b) => a - b),
        });
      } catch (error) {
        log(`produce notification for ${result.topic} failed: ${toEventLogError(error).message}`);
      }
    }
    return result;
  };
}

/**
 * The hook of the API function on AWS: an asynchronous invoke of the dispatcher, given up
 * after `timeoutMs` so that a slow Lambda API never holds a produce's answer for long.
 */
export function notifyDispatcher(
  invoker: FunctionInvoker,
  functionName: string,
  timeoutMs = 2000,
): ProducedHook {
  return (event) =>
    invoker.invokeAsync(
      functionName,
      Buffer.from(JSON.stringify(event)),
      AbortSignal.timeout(timeoutMs),
    );
}
