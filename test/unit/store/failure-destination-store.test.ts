import { afterEach, describe, expect, it } from 'vitest';
import { isEventLogError } from '../../../lib/log/errors.js';
import { type AwsDestination, parseDestination } from '../../../lib/log/subscription-config.js';
import { mapAwsError } from '../../../lib/store/aws-errors.js';
import {
  AwsFailureDestinationStore,
  createFailureDestinationClients,
  queueUrlOf,
} from '../../../lib/store/failure-destination-store.js';

const aws = (arn: string) => parseDestination(arn) as AwsDestination;
const ENDPOINT_VARIABLES = ['AWS_ENDPOINT_URL_SQS', 'AWS_ENDPOINT_URL_SNS', 'AWS_ENDPOINT_URL'];

describe('failure destination store', () => {
  const saved = Object.fromEntries(ENDPOINT_VARIABLES.map((k) => [k, process.env[k]]));
  afterEach(() => {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  });

  it('builds the queue URL from the ARN, per partition', () => {
    expect(queueUrlOf(aws('arn:aws:sqs:eu-west-1:123456789012:failures'))).toBe(
      'https://sqs.eu-west-1.amazonaws.com/123456789012/failures',
    );
    expect(queueUrlOf(aws('arn:aws-cn:sqs:cn-north-1:123456789012:f.fifo'))).toBe(
      'https://sqs.cn-north-1.amazonaws.com.cn/123456789012/f.fifo',
    );
  });

  it('makes one client per service and region, in the region of the ARN', async () => {
    const clients = createFailureDestinationClients();
    try {
      const a = clients.sqs('eu-west-1');
      expect(clients.sqs('eu-west-1')).toBe(a);
      expect(clients.sqs('us-east-2')).not.toBe(a);
      expect(await a.config.region()).toBe('eu-west-1');
      expect(await clients.sns('ap-south-1').config.region()).toBe('ap-south-1');
    } finally {
      clients.destroy();
    }
  });

  it('on the local server, refuses to send without an endpoint and says which variable to set', async () => {
    for (const key of ENDPOINT_VARIABLES) delete process.env[key];
    const clients = createFailureDestinationClients({ requireEndpoint: true });
    const store = new AwsFailureDestinationStore(clients);
    for (const [arn, variable] of [
      ['arn:aws:sqs:us-east-1:123456789012:q', 'AWS_ENDPOINT_URL_SQS'],
      ['arn:aws:sns:us-east-1:123456789012:t', 'AWS_ENDPOINT_URL_SNS'],
    ] as const) {
      const error = await store
        .send(aws(arn), { body: '{}', groupId: 'g', deduplicationId: 'd' })
        .catch((e: unknown) => e);
      expect(isEventLogError(error, 'INVALID_CONFIG')).toBe(true);
      expect((error as Error).message).toContain(`set ${variable}`);
      expect((error as Error).message).toContain('records stay in place');
    }
    // With the variable, a client is made (the SDK reads the endpoint itself).
    process.env['AWS_ENDPOINT_URL_SQS'] = 'http://127.0.0.1:9';
    expect(() => clients.sqs('us-east-1')).not.toThrow();
    clients.destroy();
  });

  it('maps SQS and SNS errors into the error hierarchy', () => {
    const error = (name: string, status = 400) =>
      Object.assign(new Error(`${name} happened`), { name, $metadata: { httpStatusCode: status } });
    const missing = mapAwsError(error('QueueDoesNotExist'), 'Sending');
    expect(missing).toMatchObject({ code: 'INTERNAL', retriable: false });
    expect(mapAwsError(error('NotFoundException', 404), 'Sending').code).toBe('INTERNAL');
    expect(mapAwsError(error('AuthorizationErrorException', 403), 'Sending')).toMatchObject({
      code: 'INTERNAL',
      retriable: false,
    });
    expect(mapAwsError(error('KMSAccessDeniedException'), 'Sending').retriable).toBe(false);
    expect(mapAwsError(error('ThrottledException'), 'Sending')).toMatchObject({
      code: 'THROTTLED',
      retriable: true,
    });
    expect(mapAwsError(error('InternalError', 500), 'Sending')).toMatchObject({
      code: 'STORAGE_UNAVAILABLE',
      retriable: true,
    });
  });
});
