/**
 * The CDK constructs, as the package exports them at `eventlog/cdk`. A new construct is one
 * more line here.
 */
export {
  type BearerAuthProps,
  EventLog,
  type EventLogAuthorization,
  type EventLogFunctionName,
  type EventLogProps,
  type FrontDoor,
} from './event-log.js';
export {
  EventLogConsumer,
  type EventLogConsumerOnFailure,
  type EventLogConsumerOptions,
  type EventLogConsumerProps,
  type EventLogStartingPosition,
  type IEventLogFailureDestination,
  S3OnFailure,
  SnsOnFailure,
  SqsOnFailure,
  TopicOnFailure,
} from './event-log-consumer.js';
export { EventLogEventSource, type EventLogEventSourceProps } from './event-log-event-source.js';
export { EventLogStack, type EventLogStackProps } from './event-log-stack.js';
export { EventLogTopic, type EventLogTopicProps } from './event-log-topic.js';
