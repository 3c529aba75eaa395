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
  type EventLogConsumerProps,
} from './event-log-consumer.js';
export { EventLogStack, type EventLogStackProps } from './event-log-stack.js';
