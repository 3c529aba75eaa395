/** The settings of the EventLog construct (lib/infra/event-log.ts). */
import type { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type { ThrottleSettings } from 'aws-cdk-lib/aws-apigatewayv2';
import type { IAlarmAction } from 'aws-cdk-lib/aws-cloudwatch';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { EventLogFunctionName } from './event-log-functions.js';
import type { EventLogMetricsProps } from './metrics.js';

export type EventLogAuthorization = 'iam' | 'none';

/**
 * What carries requests to the api function. `functionUrl`: Lambda function URLs, free (no
 * charge beyond Lambda's); `httpApi`: API Gateway's HTTP API, $1.00 per million requests,
 * for its stage throttling, custom domains and access logs. See docs/cost-model.md.
 */
export type FrontDoor = 'functionUrl' | 'httpApi';

/**
 * Callers that send `Authorization: Bearer` instead of signing with SigV4: API keys created by
 * an admin (`eventlog keys create`) always, and JWT when an issuer is given.
 */
export interface BearerAuthProps {
  /** Accept JWT from this OIDC issuer. @default no JWT */
  readonly jwt?: {
    readonly issuer: string;
    readonly audience: string;
    /** The claim naming the principal (`jwt:<value>` in ACLs). @default 'sub' */
    readonly principalClaim?: string;
    /** @default the jwks_uri of the issuer's OIDC discovery document */
    readonly jwksUrl?: string;
  };
}

export interface EventLogProps {
  /**
   * What happens to the bucket and tables when the stack is deleted. `DESTROY` also empties
   * the bucket (autoDeleteObjects) so that development stacks delete cleanly.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy.RETAIN | RemovalPolicy.DESTROY;
  /**
   * A customer-managed KMS key for the bucket (with an S3 Bucket Key, so that not every
   * object costs a KMS call) and the tables.
   * @default S3-managed encryption for the bucket, the AWS-managed key for the tables
   */
  readonly encryptionKey?: IKey;
  /**
   * Where S3 server access logs of the segment bucket go. Every produce and fetch is an S3
   * request, so these logs are as large as the traffic: opt in when you need them.
   * @default no server access logs
   */
  readonly serverAccessLogs?: { bucket: IBucket; prefix?: string };
  /**
   * `iam`: the API authenticates every caller (SigV4 through the IAM front door, and bearer
   * credentials through the bearer door when `bearer` is set) and authorizes each request by
   * its ACLs (grantProduce / grantConsume / grantAdmin write them). `none` turns both off and
   * leaves the API open to anyone who knows the URL: development only.
   * @default 'iam'
   */
  readonly authorization?: EventLogAuthorization;
  /**
   * The front door of SigV4 callers: a function URL with AWS_IAM auth (on alias `iam`), or
   * API Gateway's HTTP API with IAM authorization.
   * @default 'functionUrl' (API Gateway would add $1.00 per million requests)
   */
  readonly frontDoor?: FrontDoor;
  /**
   * A second door for bearer callers: a function URL with auth NONE on alias `bearer` (an
   * IAM front door refuses `Authorization: Bearer`, which is its own SigV4 header). The API
   * still refuses every request without a valid key or JWT.
   * @default no bearer door: SigV4 callers only
   */
  readonly bearer?: BearerAuthProps;
  /**
   * Per-principal request rate, per execution environment (429 with Retry-After beyond it).
   * @default no limit
   */
  readonly rateLimit?: { readonly requestsPerSecond: number; readonly burst?: number };
  /** With frontDoor httpApi. @default no stage throttling beyond the account's limits */
  readonly throttle?: ThrottleSettings;
  /** @default every 5 minutes */
  readonly retentionSchedule?: Duration;
  /**
   * The dispatcher's safety-net run (every produce also notifies it).
   * @default every minute
   */
  readonly dispatchSchedule?: Duration;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /**
   * Per-function overrides; the defaults are sized for arm64 with the SDK bundled.
   * @default the memory sizes in FUNCTIONS
   */
  readonly functions?: Partial<
    Record<EventLogFunctionName, { memorySize?: number; reservedConcurrentExecutions?: number }>
  >;
  /**
   * Active X-Ray tracing for the functions. Off by default: at one trace per request it
   * would cost more than API Gateway itself.
   * @default false
   */
  readonly tracing?: boolean;
  /** Actions for every alarm (an SNS topic, typically). @default no actions */
  readonly alarmActions?: IAlarmAction[];
  /** Metrics namespace, per-partition lag, the dashboard (docs/metrics.md). */
  readonly metrics?: EventLogMetricsProps;
}
