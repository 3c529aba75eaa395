import type { Broker } from '../broker/broker.js';
import {
  createDispatcher,
  type Dispatcher,
  type DispatcherOptions,
  type DispatchReport,
} from '../broker/dispatcher.js';
import type { ProducedEvent } from '../broker/produce-notifier.js';
import { EventLogError, isEventLogError, toEventLogError } from '../log/errors.js';
import type { SubscriptionView } from '../log/subscription-config.js';
import { MUTABLE_SETTINGS, type SubscriptionConfig } from '../log/subscription-config.js';
import { LambdaFunctionInvoker } from '../store/function-invoker.js';
import { createLambdaClient } from '../store/lambda-client.js';
import type { LoadedConfig } from './consumer-config.js';
import { LocalFunctions } from './lambda-endpoint.js';

/**
 * Lambda consumers on the local server: the functions of eventlog.config.ts behind the local
 * Invoke endpoint, their subscriptions created or updated at start, and the dispatcher run in
 * this process after every produce and on a timer (1 s), where AWS runs it after every
 * produce and every minute. The dispatcher calls the functions through @aws-sdk/client-lambda
 * and the local endpoint (or AWS_ENDPOINT_URL_LAMBDA when set), as it would on AWS.
 */

export interface LocalConsumersOptions {
  /** The sweep of every subscription. @default 1000 */
  intervalMs?: number;
  log?: (message: string) => void;
  dispatcher?: Omit<DispatcherOptions, 'log'>;
}

export interface ConsumerLine {
  name: string;
  topic: string;
  group: string;
  handler: string;
  action: 'created' | 'updated' | 'unchanged';
}

export class LocalConsumers {
  readonly functions = new LocalFunctions();
  private dispatcher: Dispatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly inflight = new Set<Promise<unknown>>();
  private sweeping = false;
  private stopped = false;
  private readonly log: (message: string) => void;

  constructor(private readonly options: LocalConsumersOptions = {}) {
    this.log = options.log ?? ((message) => console.log(message));
  }

  /** The broker's onProduced hook: wake waiting batches, dispatch the partitions written. */
  readonly onProduced = (event: ProducedEvent): void => {
    const dispatcher = this.dispatcher;
    if (dispatcher === undefined || this.stopped) return;
    dispatcher.notify(event.topic, event.partitions);
    this.track(dispatcher.run({ topic: event.topic, partitions: event.partitions }));
  };

  /**
   * Registers the config's functions, creates its topics and subscriptions (or updates the
   * subscriptions' settings), and starts dispatching. `apiUrl` is the local server's, which
   * serves the Invoke endpoint.
   */
  async start(
    broker: Broker,
    apiUrl: string,
    config: LoadedConfig | undefined,
  ): Promise<ConsumerLine[]> {
    const lines: ConsumerLine[] = [];
    if (config !== undefined) {
      for (const consumer of config.consumers) {
        this.functions.register({
          name: consumer.settings.name,
          handler: consumer.handler,
          ...(consumer.settings.timeout === undefined
            ? {}
            : { timeout: consumer.settings.timeout }),
        });
      }
      await createTopics(broker, config);
      for (const consumer of config.consumers) {
        const action = await applySubscription(broker, consumer.subscription, config.path);
        lines.push({
          name: consumer.subscription.name,
          topic: consumer.subscription.topic,
          group: consumer.subscription.group,
          handler: consumer.settings.handler,
          action,
        });
      }
    }
    // AWS_ENDPOINT_URL_LAMBDA (LocalStack) wins: the SDK reads it itself.
    const endpoint = process.env['AWS_ENDPOINT_URL_LAMBDA'] ? undefined : apiUrl;
    const invoker = new LambdaFunctionInvoker(
      createLambdaClient({ ...(endpoint === undefined ? {} : { endpoint }), maxAttempts: 1 }),
    );
    this.dispatcher = createDispatcher(broker, invoker, {
      bootstrapServers: new URL(apiUrl).host,
      // Notifications reach the dispatcher here: a caught-up partition waits a little for the
      // next one with its lease still held.
      lingerMs: 100,
      ...this.options.dispatcher,
      log: this.log,
    });
    this.schedule();
    return lines;
  }

  /** Stops the timer, ends waits, and waits for runs in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.dispatcher?.close();
    await Promise.allSettled([...this.inflight]);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      const dispatcher = this.dispatcher;
      if (dispatcher !== undefined && !this.sweeping) {
        this.sweeping = true;
        this.track(dispatcher.run()).finally(() => {
          this.sweeping = false;
        });
      }
      this.schedule();
    }, this.options.intervalMs ?? 1000);
    this.timer.unref();
  }

  private track(run: Promise<DispatchReport>): Promise<unknown> {
    const tracked = run.then(
      (report) => this.report(report),
      (error: unknown) => {
        if (!this.stopped) this.log(`dispatch failed: ${toEventLogError(error).message}`);
      },
    );
    this.inflight.add(tracked);
    void tracked.finally(() => this.inflight.delete(tracked));
    return tracked;
  }

  private report(report: DispatchReport): void {
    for (const p of report.partitions) {
      if (p.invocations === 0 && p.outcome !== 'stopped') continue;
      const parts = [
        `${p.delivered} delivered`,
        ...(p.deadLettered > 0 ? [`${p.deadLettered} dead-lettered`] : []),
        ...(p.dropped > 0 ? [`${p.dropped} dropped`] : []),
      ];
      this.log(
        `dispatch ${p.subscription} ${p.topic}/${p.partition}: ${parts.join(', ')} in ${p.invocations} invocation(s), ${p.outcome}${p.committed === undefined ? '' : `, committed ${p.committed}`}${p.error === undefined ? '' : ` (${p.error})`}`,
      );
    }
    for (const e of report.errors) this.log(`dispatch ${e.subscription}: ${e.error}`);
  }
}

async function createTopics(broker: Broker, config: LoadedConfig): Promise<void> {
  for (const topic of config.topics) {
    try {
      await broker.topics.create({
        name: topic.name,
        partitions: topic.partitions ?? 1,
        ...(topic.configs === undefined ? {} : { configs: topic.configs }),
      });
    } catch (error) {
      if (!isEventLogError(error, 'TOPIC_ALREADY_EXISTS')) throw error;
    }
  }
}

/** Creates the subscription, or brings an existing one's settings in line with the config. */
async function applySubscription(
  broker: Broker,
  config: SubscriptionConfig,
  path: string,
): Promise<ConsumerLine['action']> {
  let existing: SubscriptionView;
  try {
    existing = await broker.subscriptions.get(config.name);
  } catch (error) {
    if (!isEventLogError(error, 'UNKNOWN_SUBSCRIPTION')) throw error;
    await broker.subscriptions.create(config);
    return 'created';
  }
  const fixed = (
    ['topic', 'group', 'startingPosition', 'startingPositionTimestamp'] as const
  ).filter((key) => existing[key] !== config[key]);
  if (fixed.length > 0) {
    throw new EventLogError(
      'INVALID_CONFIG',
      `${path}: consumer ${config.name} changes ${fixed.join(', ')} of its existing subscription, which cannot change. Delete it first (npm run -s eventlog -- subscriptions delete ${config.name}; the group's offsets stay) or give the consumer another name.`,
    );
  }
  const update: Record<string, unknown> = {};
  for (const key of MUTABLE_SETTINGS) {
    if (JSON.stringify(existing[key] ?? null) !== JSON.stringify(config[key] ?? null)) {
      // An empty object removes a destination or the filters; undefined would keep them.
      update[key] =
        config[key] ?? (key === 'destinationConfig' || key === 'filterCriteria' ? {} : undefined);
    }
  }
  if (Object.keys(update).length === 0) return 'unchanged';
  await broker.subscriptions.update(config.name, update);
  return 'updated';
}
