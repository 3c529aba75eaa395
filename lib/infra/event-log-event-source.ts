import { Names, Token } from 'aws-cdk-lib';
import type { IEventSource, IFunction } from 'aws-cdk-lib/aws-lambda';
import type { Construct } from 'constructs';
import type { EventLog } from './event-log.js';
import { EventLogConsumer, type EventLogConsumerOptions } from './event-log-consumer.js';
import { EventLogTopic } from './event-log-topic.js';

export interface EventLogEventSourceProps extends EventLogConsumerOptions {
  /** The event log of the topic. @default the EventLogTopic's, required with a topic name */
  readonly eventLog?: EventLog;
}

/**
 * A topic as a Lambda event source, as CDK's `KafkaEventSource` and `KinesisEventSource` are:
 * `fn.addEventSource(new EventLogEventSource(topic, { startingPosition: StartingPosition.LATEST }))`.
 * Binding creates an EventLogConsumer under the function, with the same settings.
 */
export class EventLogEventSource implements IEventSource {
  private boundConsumer: EventLogConsumer | undefined;

  constructor(
    readonly topic: EventLogTopic | string,
    readonly props: EventLogEventSourceProps,
  ) {
    if (typeof topic === 'string' && props.eventLog === undefined) {
      throw new Error('EventLogEventSource: a topic given by name needs props.eventLog');
    }
  }

  bind(target: IFunction): void {
    if (this.boundConsumer !== undefined) {
      throw new Error('EventLogEventSource is already bound to a function; make one per function');
    }
    const eventLog =
      this.props.eventLog ??
      (this.topic instanceof EventLogTopic ? this.topic.eventLog : undefined);
    if (eventLog === undefined) throw new Error('EventLogEventSource: no event log');
    // Ids cannot hold tokens: a token name is labelled by position instead.
    const label =
      typeof this.topic !== 'string'
        ? this.topic.node.id
        : Token.isUnresolved(this.topic)
          ? 'Topic'
          : this.topic;
    const scope = target as unknown as Construct;
    const id = `EventLogEventSource:${Names.nodeUniqueId(target.node)}${label}`;
    this.boundConsumer = new EventLogConsumer(scope, id, {
      ...this.props,
      eventLog,
      topic: this.topic,
      function: target,
    });
  }

  /** The consumer made by bind(); an error before the source is added to a function. */
  get consumer(): EventLogConsumer {
    if (this.boundConsumer === undefined) {
      throw new Error('EventLogEventSource is not yet bound to a function');
    }
    return this.boundConsumer;
  }
}
