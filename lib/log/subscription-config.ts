/**
 * The settings of a Lambda consumer's subscription, with the names, defaults and limits of
 * Lambda's own event source mappings for Kafka (CreateEventSourceMapping), so that a handler
 * and its tuning move between Lambda's Kafka trigger and this log unchanged.
 *
 * Pure rules: the API checks requests with them, the dispatcher reads stored subscriptions
 * through them, and the CDK construct (lib/infra/event-log-consumer.ts) validates at synth time
 * with them, skipping values that are still tokens.
 */
import { EventLogError } from './errors.js';
import { destinationProblem, parseDestinationQuietly } from './failure-destination.js';
import { type FilterCriteria, filterCriteriaProblems } from './filter-pattern.js';
import { isResourceName, RESOURCE_NAME_RULE } from './resource-name.js';
import { validateTopicName } from './topic-config.js';

// The destinations live in failure-destination.ts; their importers keep this path.
export {
  type AwsDestination,
  type OnFailureDestination,
  parseDestination,
  type S3Destination,
  SUPPORTED_DESTINATIONS,
} from './failure-destination.js';

export const STARTING_POSITIONS = ['TRIM_HORIZON', 'LATEST', 'AT_TIMESTAMP'] as const;
export type StartingPosition = (typeof STARTING_POSITIONS)[number];

export const FUNCTION_RESPONSE_TYPES = ['ReportBatchItemFailures'] as const;
export type FunctionResponseType = (typeof FUNCTION_RESPONSE_TYPES)[number];

/**
 * Lambda's limits. The batching window of Kafka mappings defaults to 500 ms (Kinesis's to 0);
 * Lambda takes whole seconds when it is set, this log also takes fractions (ms resolution).
 */
export const SUBSCRIPTION_LIMITS = {
  batchSize: { min: 1, max: 10_000, default: 100 },
  maximumBatchingWindowInSeconds: { min: 0, max: 300, default: 0.5 },
  maximumRetryAttempts: { min: 0, max: 10_000, default: -1 },
  maximumRecordAgeInSeconds: { min: 60, max: 604_800, default: -1 },
} as const;

/**
 * When a record that keeps failing "expires" (maximumRetryAttempts -1 retries until then):
 * records are deleted by the topic's time retention once their batch's largest timestamp is
 * older than retention.ms, so a record cannot go before `timestamp + retention.ms`. The
 * dispatcher gives up on a failing record this long before that moment, so that the
 * on-failure destination still receives it (retention runs every minute, and clocks of
 * different machines disagree a little): 10% of retention.ms, at most an hour.
 *
 * retention.bytes may delete records earlier, at no time anyone can predict: those show up as
 * a gap below the log start, and the destination gets a RecordExpired notice for the range.
 */
export const RETENTION_SAFETY_MARGIN = { fraction: 0.1, maxMs: 3_600_000 } as const;

/** The settings a subscription can be created with; everything but startingPosition has a default. */
export interface SubscriptionSettings {
  /** Records per invocation, 1-10000. @default 100 */
  batchSize?: number;
  /** How long to gather records before invoking, 0-300 s. @default 0.5 */
  maximumBatchingWindowInSeconds?: number;
  /**
   * Where a group without committed offsets starts. Required, as Lambda requires it: either
   * default surprises someone (a backlog replayed, or records silently skipped).
   */
  startingPosition: StartingPosition;
  /** Epoch seconds; required with AT_TIMESTAMP and only then. */
  startingPositionTimestamp?: number;
  /** -1 (retry until the records expire) or 0-10000. @default -1 */
  maximumRetryAttempts?: number;
  /** -1 (no limit) or 60-604800 s. @default -1 */
  maximumRecordAgeInSeconds?: number;
  /** Split a failing batch in two and retry the halves. @default false */
  bisectBatchOnFunctionError?: boolean;
  /** `["ReportBatchItemFailures"]`: the handler answers `{ batchItemFailures: [...] }`. @default [] */
  functionResponseTypes?: readonly FunctionResponseType[];
  /**
   * Where records given up on go, with why: `kafka://{topic}` (a topic of this log: the records
   * themselves, with failure headers), or an SQS queue or SNS topic ARN (Lambda's invocation
   * record: metadata only, see lib/log/on-failure-record.ts).
   * @default records given up on are dropped (and logged)
   */
  destinationConfig?: { onFailure?: { destination: string } };
  /**
   * Lambda's FilterCriteria: only records whose value matches one of the patterns reach the
   * function; the others are committed without an invocation (lib/log/filter-pattern.ts).
   * `{}` or no filters: every record. @default every record
   */
  filterCriteria?: FilterCriteria | Record<string, never>;
  /** @default true */
  enabled?: boolean;
}

export interface SubscriptionInput extends SubscriptionSettings {
  /** The subscription's name: 1-249 of [a-zA-Z0-9._-]. */
  name: string;
  topic: string;
  /** @default the subscription's name */
  group?: string;
  /** A function name, ARN, partial ARN (`123456789012:function:name`), with an optional qualifier. */
  functionName: string;
}

/** A subscription with every default applied: what is stored and what the dispatcher reads. */
export interface SubscriptionConfig {
  name: string;
  topic: string;
  group: string;
  functionName: string;
  batchSize: number;
  maximumBatchingWindowInSeconds: number;
  startingPosition: StartingPosition;
  startingPositionTimestamp?: number;
  maximumRetryAttempts: number;
  maximumRecordAgeInSeconds: number;
  bisectBatchOnFunctionError: boolean;
  functionResponseTypes: FunctionResponseType[];
  destinationConfig?: { onFailure: { destination: string } };
  /** Absent when every record goes to the function. */
  filterCriteria?: FilterCriteria;
  enabled: boolean;
}

/** A subscription as the API answers it (and the SDK returns it): its settings and its state. */
export interface SubscriptionView extends SubscriptionConfig {
  /** Lambda's State of an event source mapping. */
  state: 'Enabled' | 'Disabled';
  /** The subscription's id, where Lambda has the event source mapping's UUID (S3 object keys). */
  uuid: string;
  version: number;
  createdAt: number;
  updatedAt: number;
  /** Partitions whose records are failing right now and being retried. */
  failing: {
    partition: number;
    offset: number;
    attempts: number;
    since: number;
    lastError: string;
  }[];
}

/** What an update may change: the rest (topic, group, starting position) is fixed, as in Lambda. */
export const MUTABLE_SETTINGS = [
  'functionName',
  'batchSize',
  'maximumBatchingWindowInSeconds',
  'maximumRetryAttempts',
  'maximumRecordAgeInSeconds',
  'bisectBatchOnFunctionError',
  'functionResponseTypes',
  'destinationConfig',
  'filterCriteria',
  'enabled',
] as const;
export type SubscriptionUpdate = Partial<
  Pick<SubscriptionConfig, Exclude<(typeof MUTABLE_SETTINGS)[number], 'filterCriteria'>>
> & {
  /** `{}` removes the filters (Lambda's `--filter-criteria "{}"`). */
  filterCriteria?: FilterCriteria | Record<string, never>;
};

/** A problem with one setting: what the API answers in `details.problems`. */
export interface SettingProblem {
  field: string;
  message: string;
  /** The limit the value broke, when there is one. */
  limit?: { min?: number; max?: number; allowed?: readonly (string | number)[] };
}

/**
 * Lambda's FunctionName pattern for Invoke: a name, a partial ARN or a full ARN, each with an
 * optional version or alias qualifier.
 */
const FUNCTION_NAME =
  /^(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_.]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?$/;

export interface NormalizeOptions {
  /** Values that are not known yet (CDK tokens) are not checked. */
  isUnresolved?: (value: unknown) => boolean;
}

/**
 * Applies the defaults and checks every limit; throws one INVALID_CONFIG error naming every
 * problem (message: all of them joined by "; "; details.problems: one entry per setting).
 */
export function normalizeSubscription(
  input: SubscriptionInput,
  options: NormalizeOptions = {},
): SubscriptionConfig {
  const problems: SettingProblem[] = [];
  const isUnresolved = options.isUnresolved ?? (() => false);
  const known = (value: unknown): boolean => value !== undefined && !isUnresolved(value);

  if (known(input.name) && !isResourceName(input.name)) {
    problems.push({
      field: 'name',
      message: `name must be ${RESOURCE_NAME_RULE}, got ${JSON.stringify(input.name)}`,
    });
  }
  checkTopic('topic', input.topic, known, problems);
  const group = input.group ?? input.name;
  // Group ids travel in URL paths and sort keys: the same rule as every other name.
  if (known(group) && !isResourceName(group)) {
    problems.push({
      field: 'group',
      message: `group ${JSON.stringify(group)} must be ${RESOURCE_NAME_RULE}`,
    });
  }
  if (
    known(input.functionName) &&
    !(
      typeof input.functionName === 'string' &&
      input.functionName.length <= 170 &&
      FUNCTION_NAME.test(input.functionName)
    )
  ) {
    problems.push({
      field: 'functionName',
      message: `functionName must be a Lambda function name, ARN or partial ARN (at most 170 characters), got ${JSON.stringify(input.functionName)}`,
    });
  }

  const settings = normalizeSettings(input, { ...options, isUnresolved }, problems);
  const destination = settings.destinationConfig?.onFailure.destination;
  if (destination !== undefined && known(destination) && known(input.topic)) {
    const parsed = parseDestinationQuietly(destination);
    if (parsed?.kind === 'topic' && parsed.topic === input.topic) {
      problems.push({
        field: 'destinationConfig.onFailure.destination',
        message:
          'the onFailure topic must differ from the subscribed topic, or failed records would loop',
      });
    }
  }
  throwIfProblems(problems, `subscription ${String(input.name)}`);
  return {
    name: input.name,
    topic: input.topic,
    group,
    functionName: input.functionName,
    ...settings,
  };
}

/** A value to check: present, and known (not a CDK token still to be resolved). */
type KnownTest = (value: unknown) => boolean;

/**
 * The settings part alone (no names): the defaults applied, problems appended to `problems`.
 * Also used for updates, on the stored config merged with the change.
 */
export function normalizeSettings(
  input: SubscriptionSettings,
  options: NormalizeOptions,
  problems: SettingProblem[],
): Omit<SubscriptionConfig, 'name' | 'topic' | 'group' | 'functionName'> {
  const isUnresolved = options.isUnresolved ?? (() => false);
  const known: KnownTest = (value) => value !== undefined && !isUnresolved(value);
  const numberIn = (
    name: keyof typeof SUBSCRIPTION_LIMITS,
    value: unknown,
    rule: { integer: boolean; minusOne: boolean },
  ): number => numberSetting(name, value, rule, known, problems);

  const batchSize = numberIn('batchSize', input.batchSize, { integer: true, minusOne: false });
  const window = numberIn('maximumBatchingWindowInSeconds', input.maximumBatchingWindowInSeconds, {
    integer: false,
    minusOne: false,
  });
  const retries = numberIn('maximumRetryAttempts', input.maximumRetryAttempts, {
    integer: true,
    minusOne: true,
  });
  const maxAge = numberIn('maximumRecordAgeInSeconds', input.maximumRecordAgeInSeconds, {
    integer: true,
    minusOne: true,
  });
  checkStartingPosition(input, known, problems);
  const timestamp = input.startingPositionTimestamp;

  const responseTypes = input.functionResponseTypes ?? [];
  if (known(input.functionResponseTypes)) {
    const ok =
      Array.isArray(responseTypes) &&
      responseTypes.every((t) => (FUNCTION_RESPONSE_TYPES as readonly string[]).includes(t));
    if (!ok) {
      problems.push({
        field: 'functionResponseTypes',
        message: `functionResponseTypes may only hold ${FUNCTION_RESPONSE_TYPES.map((t) => `"${t}"`).join(', ')}, got ${JSON.stringify(responseTypes)}`,
        limit: { allowed: FUNCTION_RESPONSE_TYPES },
      });
    }
  }

  for (const [name, value] of [
    ['bisectBatchOnFunctionError', input.bisectBatchOnFunctionError],
    ['enabled', input.enabled],
  ] as const) {
    if (known(value) && typeof value !== 'boolean') {
      problems.push({ field: name, message: `${name} must be true or false` });
    }
  }

  checkDestinationConfigShape(input.destinationConfig, known, problems);
  const destination = input.destinationConfig?.onFailure?.destination;
  if (known(destination)) {
    const problem = destinationProblem(destination);
    if (problem !== undefined) problems.push(problem);
  }
  const filterCriteria = input.filterCriteria as FilterCriteria | undefined;
  if (known(filterCriteria)) {
    for (const { path, message } of filterCriteriaProblems(filterCriteria)) {
      const field = path === '' ? 'filterCriteria' : `filterCriteria.${path}`;
      problems.push({ field, message: `${field}: ${message}` });
    }
  }
  // Read defensively: with problems, this result is thrown away (normalizeSubscription).
  const filters: { pattern: string }[] = Array.isArray(filterCriteria?.filters)
    ? filterCriteria.filters
    : [];

  return {
    batchSize,
    maximumBatchingWindowInSeconds: window,
    startingPosition: input.startingPosition,
    ...(timestamp === undefined ? {} : { startingPositionTimestamp: timestamp }),
    maximumRetryAttempts: retries,
    maximumRecordAgeInSeconds: maxAge,
    bisectBatchOnFunctionError: input.bisectBatchOnFunctionError ?? false,
    functionResponseTypes: [...new Set(responseTypes)],
    ...(destination === undefined ? {} : { destinationConfig: { onFailure: { destination } } }),
    // `{}` and no filters are the same thing: every record.
    ...(filters.length === 0
      ? {}
      : { filterCriteria: { filters: filters.map((f) => ({ pattern: f?.pattern })) } }),
    enabled: input.enabled ?? true,
  };
}

/** A numeric setting within its SUBSCRIPTION_LIMITS (its default when absent). */
function numberSetting(
  name: keyof typeof SUBSCRIPTION_LIMITS,
  value: unknown,
  rule: { integer: boolean; minusOne: boolean },
  known: KnownTest,
  problems: SettingProblem[],
): number {
  const limits = SUBSCRIPTION_LIMITS[name];
  if (!known(value)) return (value as number | undefined) ?? limits.default;
  const n = value as number;
  const ok =
    typeof n === 'number' &&
    Number.isFinite(n) &&
    (rule.integer ? Number.isInteger(n) : Number.isInteger(n * 1000)) &&
    ((n >= limits.min && n <= limits.max) || (rule.minusOne && n === -1));
  if (!ok) {
    problems.push({
      field: name,
      message: `${name} must be ${rule.integer ? 'an integer' : 'a number of seconds (ms resolution)'} from ${limits.min} to ${limits.max}${rule.minusOne ? ' or -1' : ''}, got ${JSON.stringify(value)}`,
      limit: { min: rule.minusOne ? -1 : limits.min, max: limits.max },
    });
  }
  return n;
}

/** startingPosition is required; startingPositionTimestamp goes with AT_TIMESTAMP alone. */
function checkStartingPosition(
  input: SubscriptionSettings,
  known: KnownTest,
  problems: SettingProblem[],
): void {
  if (input.startingPosition === undefined) {
    problems.push({
      field: 'startingPosition',
      message: `startingPosition is required: one of ${STARTING_POSITIONS.join(', ')}`,
      limit: { allowed: STARTING_POSITIONS },
    });
  } else if (
    known(input.startingPosition) &&
    !STARTING_POSITIONS.includes(input.startingPosition)
  ) {
    problems.push({
      field: 'startingPosition',
      message: `startingPosition must be one of ${STARTING_POSITIONS.join(', ')}, got ${JSON.stringify(input.startingPosition)}`,
      limit: { allowed: STARTING_POSITIONS },
    });
  }
  const timestamp = input.startingPositionTimestamp;
  if (input.startingPosition === 'AT_TIMESTAMP') {
    if (timestamp === undefined) {
      problems.push({
        field: 'startingPositionTimestamp',
        message: 'startingPositionTimestamp is required with startingPosition AT_TIMESTAMP',
      });
    } else if (
      known(timestamp) &&
      !(typeof timestamp === 'number' && Number.isFinite(timestamp) && timestamp >= 0)
    ) {
      problems.push({
        field: 'startingPositionTimestamp',
        message: `startingPositionTimestamp must be epoch seconds, got ${JSON.stringify(timestamp)}`,
      });
    }
  } else if (timestamp !== undefined) {
    problems.push({
      field: 'startingPositionTimestamp',
      message: 'startingPositionTimestamp is only allowed with startingPosition AT_TIMESTAMP',
    });
  }
}

/**
 * Lambda's DestinationConfig also has onSuccess; only onFailure is supported, and a member
 * dropped silently would promise deliveries that never happen.
 */
function checkDestinationConfigShape(
  config: unknown,
  known: KnownTest,
  problems: SettingProblem[],
): void {
  if (!known(config) || config === null) return;
  const extra =
    typeof config === 'object' && !Array.isArray(config)
      ? Object.keys(config).filter((key) => key !== 'onFailure')
      : ['(not an object)'];
  const onFailure: unknown = (config as { onFailure?: unknown }).onFailure;
  if (onFailure !== null && typeof onFailure === 'object') {
    extra.push(...Object.keys(onFailure).filter((key) => key !== 'destination'));
  }
  if (extra.length > 0) {
    problems.push({
      field: 'destinationConfig',
      message: `destinationConfig supports only onFailure.destination; unknown: ${extra.join(', ')}`,
    });
  }
}

/** The stored config with a change applied, checked as a whole. */
export function applyUpdate(
  current: SubscriptionConfig,
  update: SubscriptionUpdate & Record<string, unknown>,
): SubscriptionConfig {
  const fixed = Object.keys(update).filter(
    (key) => update[key] !== undefined && !(MUTABLE_SETTINGS as readonly string[]).includes(key),
  );
  if (fixed.length > 0) {
    throw new EventLogError(
      'INVALID_REQUEST',
      `${fixed.join(', ')} cannot be changed: delete the subscription and create it again (the group's committed offsets stay)`,
      { details: { fixed, mutable: MUTABLE_SETTINGS } },
    );
  }
  const merged: SubscriptionInput = { ...current };
  for (const key of MUTABLE_SETTINGS) {
    if (update[key] !== undefined)
      (merged as unknown as Record<string, unknown>)[key] = update[key];
  }
  // `destinationConfig: {}` (or with onFailure null) removes the destination.
  if (update.destinationConfig !== undefined && update.destinationConfig.onFailure == null) {
    delete merged.destinationConfig;
  }
  // `filterCriteria: {}` removes the filters, as Lambda's `--filter-criteria "{}"` does.
  if (update.filterCriteria !== undefined && update.filterCriteria.filters === undefined) {
    delete merged.filterCriteria;
  }
  return normalizeSubscription(merged);
}

/**
 * The retries the dispatcher makes after the first attempt: Infinity for -1, whether or not
 * there is a destination, until the record expires (maximumRecordAgeInSeconds, or the topic's
 * retention: see retentionGiveUpAgeMs). Lambda's Kafka mappings cap -1 at 10 retries when a
 * destination is set; this log keeps the issue's definition instead (docs/lambda-consumers.md).
 */
export function effectiveRetries(config: SubscriptionConfig): number {
  return config.maximumRetryAttempts >= 0 ? config.maximumRetryAttempts : Number.POSITIVE_INFINITY;
}

/**
 * How old (by its timestamp) a failing record may get before the dispatcher gives up on it
 * because the topic's retention would soon delete it; undefined when the topic keeps records
 * forever (retention.ms -1). See RETENTION_SAFETY_MARGIN.
 */
export function retentionGiveUpAgeMs(retentionMs: number): number | undefined {
  if (retentionMs < 0) return undefined;
  return retentionMs - retentionSafetyMarginMs(retentionMs);
}

export function retentionSafetyMarginMs(retentionMs: number): number {
  return Math.min(
    Math.floor(retentionMs * RETENTION_SAFETY_MARGIN.fraction),
    RETENTION_SAFETY_MARGIN.maxMs,
  );
}

function checkTopic(
  field: string,
  name: unknown,
  known: (value: unknown) => boolean,
  problems: SettingProblem[],
): void {
  if (!known(name)) {
    if (name === undefined) problems.push({ field, message: `${field} is required` });
    return;
  }
  try {
    validateTopicName(name as string);
  } catch (error) {
    problems.push({ field, message: `${field}: ${(error as Error).message}` });
  }
}

function throwIfProblems(problems: SettingProblem[], what: string): void {
  if (problems.length === 0) return;
  throw new EventLogError(
    'INVALID_CONFIG',
    `Invalid ${what}: ${problems.map((p) => p.message).join('; ')}`,
    { details: { problems } },
  );
}
