import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { EventLogError } from '../log/errors.js';
import type { AwsDestination } from '../log/subscription-config.js';
import { LOCAL_CREDENTIALS } from './aws-clients.js';
import { mapAwsError } from './aws-errors.js';

/**
 * The SQS and SNS on-failure destinations of Lambda consumers: the dispatcher hands a message
 * (lib/log/on-failure-record.ts) and a queue or topic ARN, this sends it. Only the dispatcher
 * needs it, so it stays out of the other functions' bundles (functions/dispatch.ts and the
 * local server build it; lib/broker/broker.ts takes it as an optional store).
 */

export interface FailureMessage {
  /** JSON text, within SQS's and SNS's 256 KiB. */
  body: string;
  /** FIFO queues and topics: the message group (one per partition keeps its notices in order). */
  groupId: string;
  /** FIFO queues and topics: the same notice sent again within 5 minutes is dropped by AWS. */
  deduplicationId: string;
}

export interface FailureDestinationStore {
  /**
   * Sends one message. Resolves once SQS or SNS accepted it; otherwise throws an EventLogError
   * (retriable when the same send may work later) and nothing can be assumed to have arrived.
   */
  send(destination: AwsDestination, message: FailureMessage): Promise<{ messageId: string }>;
}

/** SDK clients by region: a destination's client is made in the region of its ARN. */
export interface FailureDestinationClients {
  sqs(region: string): SQSClient;
  sns(region: string): SNSClient;
}

/**
 * Sends with SendMessage and Publish only: the dispatcher's role may do that and nothing more
 * (EventLogConsumer grants sqs:SendMessage and sns:Publish on the one queue or topic). The
 * queue URL is therefore built from the ARN rather than asked of SQS (GetQueueUrl), and the
 * SQS clients must not take their endpoint from that URL (`useQueueUrlAsEndpoint: false`, as
 * createFailureDestinationClients sets), or an emulator's endpoint would be bypassed.
 */
export class AwsFailureDestinationStore implements FailureDestinationStore {
  constructor(private readonly clients: FailureDestinationClients) {}

  async send(destination: AwsDestination, message: FailureMessage): Promise<{ messageId: string }> {
    const fifo = destination.fifo
      ? { MessageGroupId: message.groupId, MessageDeduplicationId: message.deduplicationId }
      : {};
    try {
      if (destination.kind === 'sqs') {
        const sqs = this.clients.sqs(destination.region);
        const sent = await sqs.send(
          new SendMessageCommand({
            QueueUrl: queueUrlOf(destination),
            MessageBody: message.body,
            ...fifo,
          }),
        );
        return { messageId: sent.MessageId ?? '' };
      }
      const sns = this.clients.sns(destination.region);
      const published = await sns.send(
        new PublishCommand({ TopicArn: destination.arn, Message: message.body, ...fifo }),
      );
      return { messageId: published.MessageId ?? '' };
    } catch (error) {
      const mapped = mapAwsError(
        error,
        `Sending to the on-failure ${destination.kind.toUpperCase()} ${destination.kind === 'sqs' ? 'queue' : 'topic'} ${destination.arn}`,
      );
      throw new EventLogError(mapped.code, mapped.message, {
        cause: error,
        retriable: mapped.retriable,
        details: { destination: destination.arn, ...mapped.details },
      });
    }
  }
}

/** A queue's URL from its ARN: `https://sqs.{region}.{domain}/{account}/{name}`. */
export function queueUrlOf(destination: AwsDestination): string {
  const partition = destination.arn.split(':')[1];
  const domain = partition === 'aws-cn' ? 'amazonaws.com.cn' : 'amazonaws.com';
  return `https://sqs.${destination.region}.${domain}/${destination.account}/${destination.name}`;
}

export interface FailureDestinationClientOptions {
  /** Attempts per call, the first included (SDK default: 3). */
  maxAttempts?: number;
  /**
   * The local server: without an endpoint for the service (AWS_ENDPOINT_URL_SQS /
   * AWS_ENDPOINT_URL_SNS / AWS_ENDPOINT_URL, e.g. LocalStack), sending fails with a message
   * that says so, instead of reaching for real AWS with the developer's credentials.
   */
  requireEndpoint?: boolean;
}

export interface ClosableFailureDestinationClients extends FailureDestinationClients {
  /** Closes every client made so far. */
  destroy(): void;
}

/**
 * Clients made on first use, one per service and region, then kept. An endpoint comes from
 * the SDK's own variables (`AWS_ENDPOINT_URL_SQS`, `AWS_ENDPOINT_URL_SNS`, `AWS_ENDPOINT_URL`),
 * which the SDK reads itself; with one, the emulator's dummy credentials are used, as
 * createAwsClients does for S3 and DynamoDB.
 */
export function createFailureDestinationClients(
  options: FailureDestinationClientOptions = {},
): ClosableFailureDestinationClients {
  const sqsClients = new Map<string, SQSClient>();
  const snsClients = new Map<string, SNSClient>();
  const config = (service: 'SQS' | 'SNS', region: string) => {
    const local = hasEndpointEnv(service);
    if (!local && options.requireEndpoint === true) {
      throw new EventLogError(
        'INVALID_CONFIG',
        `${service} on-failure destinations need an ${service} endpoint on the local server: set AWS_ENDPOINT_URL_${service} (e.g. LocalStack's http://localhost:4566) before npm start. The records stay in place until a send succeeds.`,
        { retriable: true, details: { service, region } },
      );
    }
    return {
      region,
      ...(local ? { credentials: LOCAL_CREDENTIALS } : {}),
      ...(options.maxAttempts === undefined ? {} : { maxAttempts: options.maxAttempts }),
    };
  };
  return {
    sqs(region) {
      let client = sqsClients.get(region);
      if (client === undefined) {
        client = new SQSClient({
          ...config('SQS', region),
          // The endpoint is the SDK's (the region's, or AWS_ENDPOINT_URL_SQS), never the host
          // of a queue URL (see AwsFailureDestinationStore).
          useQueueUrlAsEndpoint: false,
        });
        sqsClients.set(region, client);
      }
      return client;
    },
    sns(region) {
      let client = snsClients.get(region);
      if (client === undefined) {
        client = new SNSClient(config('SNS', region));
        snsClients.set(region, client);
      }
      return client;
    },
    destroy() {
      for (const client of sqsClients.values()) client.destroy();
      for (const client of snsClients.values()) client.destroy();
      sqsClients.clear();
      snsClients.clear();
    },
  };
}

function hasEndpointEnv(service: 'SQS' | 'SNS'): boolean {
  const env = process.env;
  const value = env[`AWS_ENDPOINT_URL_${service}`] ?? env['AWS_ENDPOINT_URL'];
  return (
    value !== undefined && value !== '' && env['AWS_IGNORE_CONFIGURED_ENDPOINT_URLS'] !== 'true'
  );
}
