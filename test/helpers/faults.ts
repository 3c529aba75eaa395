/**
 * Fault injection for the real AWS SDK v3 clients: a middleware on the client's stack that
 * fails chosen calls the way AWS and the network fail them, while everything else reaches
 * the emulator unchanged. Nothing of the SDK is mocked: retries, error classes, error
 * classification and the DocumentClient's marshalling all run as in production.
 *
 * Where the middleware sits, and why: it is added at the `deserialize` step with priority
 * `low`, which makes it the innermost middleware, right before the HTTP handler:
 *
 *   retryMiddleware (finalizeRequest, high) → signing → deserializer → … → FAULTS → HTTP
 *
 * so:
 * - every attempt passes through it: the SDK's retry strategy sees each injected fault,
 *   exactly as it would see a real one. With the default `maxAttempts` of 3, a fault that
 *   fires once on a retriable action (throttle, serverError, timeoutBefore, loseResponse)
 *   is retried and HIDDEN from the caller: the call succeeds and `$metadata.attempts` is 2.
 *   To see the fault in the caller, build the client with `maxAttempts: 1` or let the rule
 *   fire at least `maxAttempts` times (`times: Infinity`). `crash` is never retried.
 *   The SDK also keeps a retry quota per client (500 tokens, 5 per retry, 10 per timeout
 *   retry): under long runs of injected faults it stops retrying, as it would on AWS.
 * - throttle and serverError return a fabricated HTTP error response in the service's own
 *   protocol, so the SDK's deserializer builds the real exception class
 *   (`ProvisionedThroughputExceededException`, S3 `SlowDown`, ...) with real `$metadata`,
 *   `$fault` and retry classification.
 * - loseResponse lets the real request reach the emulator, then drops the answer and
 *   throws the error Node gives for a reset connection: the write happened, the caller
 *   cannot know. The SDK treats that error as transient and retries it, so with
 *   maxAttempts > 1 the same request is sent twice (a conditional write then fails
 *   its condition on the retry: exactly the hazard production code must handle).
 *
 * The DocumentClient shares its base client's middleware stack, so attaching to either
 * covers both, and rules name the underlying command (`PutItem`, not `Put`); the input a
 * rule's predicate sees is the marshalled, low-level one (`{ Item: { pk: { S: ... } } }`).
 */

import { seededRandom } from './random.js';

/** What a rule does to a matching attempt. */
export type FaultAction =
  /** Fabricated throttling answer (DynamoDB ProvisionedThroughputExceededException, S3 SlowDown 503, Lambda 429). Not sent. */
  | 'throttle'
  /** Fabricated 500 (DynamoDB InternalServerError, S3 InternalError, Lambda ServiceException). Not sent. */
  | 'serverError'
  /** A `TimeoutError` as the HTTP handler throws it: the request never reaches the emulator. */
  | 'timeoutBefore'
  /** The request is applied by the emulator, then the answer is lost (ECONNRESET). */
  | 'loseResponse'
  /** The process "dies" before sending: throws InjectedCrash; later calls throw it too. */
  | 'crash'
  /** The process "dies" after the request was applied, before it saw the answer. */
  | 'crashAfter';

export interface FaultContext {
  /** e.g. 'PutItem', 'UpdateItem', 'PutObject' (the SDK's command name without `Command`). */
  command: string;
  /** e.g. 'DynamoDBClient', 'S3Client'. */
  client: string;
}

export interface FaultRule {
  /** Command name(s) without the `Command` suffix, or a pattern tested against that name. */
  command: string | readonly string[] | RegExp;
  action: FaultAction;
  /** Fires only for attempts whose input this accepts (DynamoDB input is marshalled). */
  when?: (input: Record<string, unknown>, context: FaultContext) => boolean;
  /** How many times the rule fires (default 1); `Infinity` for every matching attempt. */
  times?: number;
  /** Matching attempts let through before the rule starts firing (default 0). */
  skip?: number;
  /** Fires on each eligible attempt with this probability, drawn from the injector's seeded RNG. */
  probability?: number;
  /** Overrides the error code of throttle/serverError, e.g. 'ThrottlingException', 'ServiceUnavailable'. */
  errorCode?: string;
  /** Shown in the log; defaults to `action:command`. */
  name?: string;
}

export interface FiredFault {
  rule: string;
  action: FaultAction;
  command: string;
  client: string;
  /** The SDK's attempt number of the faulted request (1 = first try). */
  attempt: number | undefined;
  at: number;
}

/** Thrown where the simulated process died; nothing after it runs "in that process". */
export class InjectedCrash extends Error {
  readonly command: string;
  constructor(command: string, message = `Injected crash at ${command}`) {
    super(message);
    this.name = 'InjectedCrash';
    this.command = command;
  }
}

/** True when the error, or any error in its `cause` chain, is an InjectedCrash. */
export function isInjectedCrash(error: unknown): error is Error {
  for (let e: unknown = error, depth = 0; e !== undefined && e !== null && depth < 10; depth++) {
    if (e instanceof InjectedCrash) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/** Anything with an SDK middleware stack: S3Client, DynamoDBClient, DynamoDBDocumentClient, LambdaClient. */
export interface ClientWithMiddleware {
  middlewareStack: {
    // biome-ignore lint/suspicious/noExplicitAny: the SDK's stack types differ per client.
    add(middleware: any, options: any): void;
    remove(toRemove: string): boolean;
  };
}

interface ActiveRule {
  id: number;
  rule: FaultRule;
  label: string;
  remaining: number;
  toSkip: number;
}

interface MiddlewareArgs {
  input: Record<string, unknown>;
  request?: { headers?: Record<string, string> };
}

interface MiddlewareResult {
  response: unknown;
  output?: unknown;
}

let injectorIds = 0;

export class FaultInjector {
  /** Every fault fired, in order. */
  readonly log: FiredFault[] = [];
  private readonly middlewareName = `eventlogFaultInjector${++injectorIds}`;
  private readonly rules: ActiveRule[] = [];
  private readonly stacks = new Set<ClientWithMiddleware['middlewareStack']>();
  private nextRuleId = 0;
  private random: () => number;
  private readonly seed: number;
  private deadAt: string | undefined;

  constructor(options: { seed?: number } = {}) {
    this.seed = options.seed ?? 1;
    this.random = seededRandom(this.seed);
  }

  /** Adds a rule; returns a function that removes it. Earlier rules win when several match. */
  add(rule: FaultRule): () => void {
    const active: ActiveRule = {
      id: this.nextRuleId++,
      rule,
      label: rule.name ?? `${rule.action}:${String(rule.command)}`,
      remaining: rule.times ?? 1,
      toSkip: rule.skip ?? 0,
    };
    this.rules.push(active);
    return () => {
      const index = this.rules.indexOf(active);
      if (index >= 0) this.rules.splice(index, 1);
    };
  }

  /** Installs the middleware on a client (once per stack); returns a function that removes it. */
  attach(client: ClientWithMiddleware): () => void {
    const stack = client.middlewareStack;
    if (!this.stacks.has(stack)) {
      stack.add(this.middleware(), {
        step: 'deserialize',
        priority: 'low',
        name: this.middlewareName,
        tags: ['FAULT_INJECTION'],
      });
      this.stacks.add(stack);
    }
    return () => this.detach(client);
  }

  detach(client: ClientWithMiddleware): void {
    const stack = client.middlewareStack;
    if (this.stacks.delete(stack)) stack.remove(this.middlewareName);
  }

  detachAll(): void {
    for (const stack of this.stacks) stack.remove(this.middlewareName);
    this.stacks.clear();
  }

  /** The command at which a crash rule fired, if one did. */
  get crashedAt(): string | undefined {
    return this.deadAt;
  }

  /** Number of faults fired, optionally for one command and/or action. */
  fired(filter: { command?: string; action?: FaultAction } = {}): number {
    return this.log.filter(
      (f) =>
        (filter.command === undefined || f.command === filter.command) &&
        (filter.action === undefined || f.action === filter.action),
    ).length;
  }

  /** Drops all rules, the log and the crashed state; re-seeds the RNG. Stays attached. */
  reset(): void {
    this.rules.length = 0;
    this.log.length = 0;
    this.deadAt = undefined;
    this.random = seededRandom(this.seed);
  }

  private middleware() {
    return (
      next: (args: MiddlewareArgs) => Promise<MiddlewareResult>,
      context: { commandName?: string; clientName?: string },
    ) =>
      async (args: MiddlewareArgs): Promise<MiddlewareResult> => {
        const command = (context.commandName ?? 'Unknown').replace(/Command$/, '');
        const client = context.clientName ?? 'UnknownClient';
        if (this.deadAt !== undefined) {
          throw new InjectedCrash(command, `The process crashed earlier, at ${this.deadAt}`);
        }
        const rule = this.match(args.input, { command, client });
        if (rule === undefined) return next(args);

        this.log.push({
          rule: rule.label,
          action: rule.rule.action,
          command,
          client,
          attempt: attemptOf(args),
          at: Date.now(),
        });
        const errorCode = rule.rule.errorCode;
        switch (rule.rule.action) {
          case 'throttle':
            return { response: errorResponse(client, 'throttle', errorCode) };
          case 'serverError':
            return { response: errorResponse(client, 'serverError', errorCode) };
          case 'timeoutBefore':
            throw Object.assign(new Error('Connection timed out after 1000 ms (injected)'), {
              name: 'TimeoutError',
            });
          case 'crash':
            this.deadAt = command;
            throw new InjectedCrash(command);
          case 'loseResponse': {
            const { response } = await next(args);
            discardBody(response);
            throw Object.assign(new Error('socket hang up (injected: response lost)'), {
              code: 'ECONNRESET',
            });
          }
          case 'crashAfter': {
            const { response } = await next(args);
            discardBody(response);
            this.deadAt = command;
            throw new InjectedCrash(command, `Injected crash after ${command} was sent`);
          }
        }
      };
  }

  private match(input: Record<string, unknown>, context: FaultContext): ActiveRule | undefined {
    for (const active of this.rules) {
      const { rule } = active;
      if (active.remaining <= 0 || !commandMatches(rule.command, context.command)) continue;
      if (rule.when !== undefined && !rule.when(input, context)) continue;
      if (active.toSkip > 0) {
        active.toSkip--;
        continue;
      }
      if (rule.probability !== undefined && this.random() >= rule.probability) continue;
      active.remaining--;
      return active;
    }
    return undefined;
  }
}

function commandMatches(pattern: FaultRule['command'], command: string): boolean {
  if (typeof pattern === 'string') return pattern.replace(/Command$/, '') === command;
  if (pattern instanceof RegExp) return pattern.test(command);
  return pattern.some((p) => p.replace(/Command$/, '') === command);
}

function attemptOf(args: MiddlewareArgs): number | undefined {
  const header = args.request?.headers?.['amz-sdk-request'];
  const match = header === undefined ? null : /attempt=(\d+)/.exec(header);
  return match === null ? undefined : Number(match[1]);
}

/** Frees the socket of a response nobody will read. */
function discardBody(response: unknown): void {
  const body = (response as { body?: { destroy?: () => void; resume?: () => void } } | undefined)
    ?.body;
  body?.destroy?.();
}

interface FabricatedResponse {
  statusCode: number;
  reason?: string;
  headers: Record<string, string>;
  body: Uint8Array;
}

/**
 * An error answer in the service's wire protocol, for the SDK to deserialize itself:
 * DynamoDB speaks awsJson1_0, S3 restXml, Lambda restJson1.
 */
function errorResponse(
  client: string,
  kind: 'throttle' | 'serverError',
  code: string | undefined,
): FabricatedResponse {
  const requestId = `injected-${Math.random().toString(36).slice(2, 12)}`;
  const message =
    kind === 'throttle' ? 'Rate exceeded (injected fault)' : 'Internal failure (injected fault)';
  if (client === 'S3Client') {
    const errorCode = code ?? (kind === 'throttle' ? 'SlowDown' : 'InternalError');
    return {
      statusCode: kind === 'throttle' ? 503 : 500,
      headers: { 'content-type': 'application/xml', 'x-amz-request-id': requestId },
      body: Buffer.from(
        `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${errorCode}</Code><Message>${message}</Message><RequestId>${requestId}</RequestId></Error>`,
      ),
    };
  }
  if (client === 'DynamoDBClient') {
    const errorCode =
      code ??
      (kind === 'throttle' ? 'ProvisionedThroughputExceededException' : 'InternalServerError');
    return {
      statusCode: kind === 'throttle' ? 400 : 500,
      headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': requestId },
      body: Buffer.from(
        JSON.stringify({ __type: `com.amazonaws.dynamodb.v20120810#${errorCode}`, message }),
      ),
    };
  }
  // restJson1 (Lambda and most newer services).
  const errorCode = code ?? (kind === 'throttle' ? 'TooManyRequestsException' : 'ServiceException');
  return {
    statusCode: kind === 'throttle' ? 429 : 500,
    headers: {
      'content-type': 'application/json',
      'x-amzn-errortype': errorCode,
      'x-amzn-requestid': requestId,
    },
    body: Buffer.from(JSON.stringify({ message, Type: kind === 'throttle' ? 'User' : 'Service' })),
  };
}
