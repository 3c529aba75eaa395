import { createBroker, createStores } from '../lib/broker/broker.js';
import {
  TopicResource,
  type TopicResourceEvent,
  type TopicResourceResult,
} from '../lib/broker/topic-resource.js';
import { createAwsClients } from '../lib/store/aws-clients.js';
import { resourceNamesFromEnv } from '../lib/store/resources.js';

/**
 * The onEvent handler of EventLogTopic's custom resource provider: CloudFormation's Create,
 * Update and Delete of a topic (lib/broker/topic-resource.ts). A thrown error fails the
 * deployment step with its message, which CloudFormation shows in the stack's events.
 */

const broker = createBroker(createStores(createAwsClients(), resourceNamesFromEnv()));
const resource = new TopicResource(broker.topics);

export const handler = (event: TopicResourceEvent): Promise<TopicResourceResult> =>
  resource.handle(event);
