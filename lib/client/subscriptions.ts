import type { SubscriptionSettings, SubscriptionView } from '../log/subscription-config.js';
import { HttpClient, type HttpClientOptions } from './http.js';

/**
 * Lambda consumers' subscriptions over `/v1/subscriptions`: which function reads which topic
 * as which group, with Lambda's event source mapping settings (docs/lambda-consumers.md).
 */

export interface CreateSubscriptionRequest extends SubscriptionSettings {
  name: string;
  topic: string;
  /** Default: the name. */
  group?: string;
  /** A Lambda function name, ARN or partial ARN (locally: a consumer of eventlog.config.ts). */
  functionName: string;
}

export type UpdateSubscriptionRequest = Partial<
  Omit<SubscriptionSettings, 'startingPosition' | 'startingPositionTimestamp'>
> & {
  functionName?: string;
  /** `{}` removes the destination. */
  destinationConfig?: { onFailure?: { destination: string } | null };
};

/** A subscription as the API answers it. */
export type Subscription = SubscriptionView;

export class Subscriptions {
  readonly http: HttpClient;

  constructor(http: HttpClient | HttpClientOptions) {
    this.http = http instanceof HttpClient ? http : new HttpClient(http);
  }

  create(request: CreateSubscriptionRequest): Promise<Subscription> {
    return this.http.request<Subscription>('POST', '/v1/subscriptions', { body: request });
  }

  async list(options: { topic?: string } = {}): Promise<Subscription[]> {
    const answer = await this.http.request<{ subscriptions: Subscription[] }>(
      'GET',
      '/v1/subscriptions',
      { query: { topic: options.topic } },
    );
    return answer.subscriptions;
  }

  describe(name: string): Promise<Subscription> {
    return this.http.request<Subscription>('GET', subscriptionPath(name));
  }

  update(name: string, request: UpdateSubscriptionRequest): Promise<Subscription> {
    return this.http.request<Subscription>('PATCH', subscriptionPath(name), {
      body: request,
      // Setting the same values again gives the same settings.
      retry: 'idempotent',
    });
  }

  delete(name: string): Promise<Subscription> {
    return this.http.request<Subscription>('DELETE', subscriptionPath(name));
  }
}

export function subscriptionPath(name: string): string {
  return `/v1/subscriptions/${encodeURIComponent(name)}`;
}
