/**
 * Counts the AWS calls a piece of code makes, exactly, with SDK middleware on the real
 * clients (S3Client, DynamoDBClient; a DynamoDBDocumentClient shares its base client's stack,
 * so attaching to either covers both). Per command name (`PutObject`, `UpdateItem`, ...):
 *
 * - calls: logical calls (what the code asked for), with their outcome;
 * - attempts: what reached the wire, retries included (each one is billed on AWS);
 * - failedConditions: calls refused by a condition (`ConditionalCheckFailedException`, a
 *   `TransactionCanceledException` whose reasons include a failed condition): billed, wasted;
 * - errors: other failed calls;
 * - requestBytes / responseBytes: HTTP bodies on the wire (Content-Length), all attempts;
 * - readUnits / writeUnits: DynamoDB's ConsumedCapacity, when the answer carries it. With
 *   `consumedCapacity: true` the counter asks for it (`ReturnConsumedCapacity: TOTAL`) on
 *   every DynamoDB command that accepts the parameter; that changes nothing else.
 *
 * Measurement only: nothing in the produce or fetch path depends on it.
 */

export interface CommandCount {
  calls: number;
  attempts: number;
  failedConditions: number;
  errors: number;
  requestBytes: number;
  responseBytes: number;
  readUnits: number;
  writeUnits: number;
}

export type CallCounts = Record<string, CommandCount>;

/** Anything with an SDK middleware stack: S3Client, DynamoDBClient, DynamoDBDocumentClient. */
export interface CountableClient {
  middlewareStack: {
    // biome-ignore lint/suspicious/noExplicitAny: the SDK's stack types differ per client.
    add(middleware: any, options: any): void;
    remove(toRemove: string): boolean;
  };
}

/** DynamoDB commands that accept ReturnConsumedCapacity. */
const CAPACITY_COMMANDS = new Set([
  'GetItem',
  'PutItem',
  'UpdateItem',
  'DeleteItem',
  'Query',
  'Scan',
  'BatchGetItem',
  'BatchWriteItem',
  'TransactGetItems',
  'TransactWriteItems',
]);

/** S3 commands that carry an object body up or down, for the byte counts. */
export const S3_WRITE_COMMANDS = ['PutObject', 'UploadPart', 'CompleteMultipartUpload'] as const;
export const DYNAMODB_WRITE_COMMANDS = [
  'PutItem',
  'UpdateItem',
  'DeleteItem',
  'BatchWriteItem',
  'TransactWriteItems',
] as const;
export const DYNAMODB_READ_COMMANDS = [
  'GetItem',
  'Query',
  'Scan',
  'BatchGetItem',
  'TransactGetItems',
] as const;

interface HttpMessage {
  headers?: Record<string, string | undefined>;
  body?: unknown;
}

interface ConsumedCapacity {
  CapacityUnits?: number;
  ReadCapacityUnits?: number;
  WriteCapacityUnits?: number;
}

let counterIds = 0;

export function emptyCount(): CommandCount {
  return {
    calls: 0,
    attempts: 0,
    failedConditions: 0,
    errors: 0,
    requestBytes: 0,
    responseBytes: 0,
    readUnits: 0,
    writeUnits: 0,
  };
}

export class CallCounter {
  private counts: CallCounts = {};
  private readonly name = `eventlogCallCounter${++counterIds}`;
  private readonly stacks = new Set<CountableClient['middlewareStack']>();
  private readonly consumedCapacity: boolean;

  constructor(options: { consumedCapacity?: boolean } = {}) {
    this.consumedCapacity = options.consumedCapacity === true;
  }

  /** Installs the middleware (once per stack); returns a function that removes it. */
  attach(...clients: CountableClient[]): () => void {
    for (const client of clients) {
      const stack = client.middlewareStack;
      if (this.stacks.has(stack)) continue;
      stack.add(this.callMiddleware(), {
        step: 'initialize',
        priority: 'high',
        name: `${this.name}Call`,
        tags: ['CALL_COUNTER'],
      });
      // Deserialize, low priority: below the retry middleware, so it sees every attempt.
      stack.add(this.attemptMiddleware(), {
        step: 'deserialize',
        priority: 'low',
        name: `${this.name}Attempt`,
        tags: ['CALL_COUNTER'],
      });
      this.stacks.add(stack);
    }
    return () => this.detach(...clients);
  }

  detach(...clients: CountableClient[]): void {
    for (const client of clients) {
      const stack = client.middlewareStack;
      if (!this.stacks.delete(stack)) continue;
      stack.remove(`${this.name}Call`);
      stack.remove(`${this.name}Attempt`);
    }
  }

  /** A copy of the counts so far. */
  snapshot(): CallCounts {
    return structuredClone(this.counts);
  }

  reset(): void {
    this.counts = {};
  }

  /** Counts since `before` (a snapshot), per command. */
  since(before: CallCounts): CallCounts {
    return diffCounts(this.counts, before);
  }

  private entry(command: string): CommandCount {
    let entry = this.counts[command];
    if (entry === undefined) {
      entry = emptyCount();
      this.counts[command] = entry;
    }
    return entry;
  }

  private callMiddleware() {
    return (
      next: (args: { input: Record<string, unknown> }) => Promise<{ output?: unknown }>,
      context: { commandName?: string; clientName?: string },
    ) =>
      async (args: { input: Record<string, unknown> }) => {
        const command = commandName(context.commandName);
        if (
          this.consumedCapacity &&
          context.clientName === 'DynamoDBClient' &&
          CAPACITY_COMMANDS.has(command) &&
          args.input['ReturnConsumedCapacity'] === undefined
        ) {
          args = { ...args, input: { ...args.input, ReturnConsumedCapacity: 'TOTAL' } };
        }
        const entry = this.entry(command);
        entry.calls++;
        try {
          const result = await next(args);
          addCapacity(
            entry,
            command,
            (result.output as { ConsumedCapacity?: unknown })?.ConsumedCapacity,
          );
          return result;
        } catch (error) {
          if (isFailedCondition(error)) entry.failedConditions++;
          else entry.errors++;
          // A refused write still consumed (and is billed) capacity; DynamoDB reports none then.
          throw error;
        }
      };
  }

  private attemptMiddleware() {
    return (
      next: (args: { request?: HttpMessage }) => Promise<{ response?: unknown }>,
      context: { commandName?: string },
    ) =>
      async (args: { request?: HttpMessage }) => {
        const entry = this.entry(commandName(context.commandName));
        entry.attempts++;
        entry.requestBytes += bodyBytes(args.request);
        const result = await next(args);
        entry.responseBytes += bodyBytes(result.response as HttpMessage | undefined);
        return result;
      };
  }
}

function commandName(name: string | undefined): string {
  return (name ?? 'Unknown').replace(/Command$/, '');
}

function isFailedCondition(error: unknown): boolean {
  const e = error as { name?: string; CancellationReasons?: { Code?: string }[] } | null;
  if (e === null || typeof e !== 'object') return false;
  if (e.name === 'ConditionalCheckFailedException') return true;
  return (
    e.name === 'TransactionCanceledException' &&
    (e.CancellationReasons ?? []).some((reason) => reason.Code === 'ConditionalCheckFailed')
  );
}

function addCapacity(entry: CommandCount, command: string, consumed: unknown): void {
  if (consumed === undefined || consumed === null) return;
  for (const item of (Array.isArray(consumed) ? consumed : [consumed]) as ConsumedCapacity[]) {
    const read = item.ReadCapacityUnits;
    const write = item.WriteCapacityUnits;
    if (read !== undefined || write !== undefined) {
      entry.readUnits += read ?? 0;
      entry.writeUnits += write ?? 0;
    } else if (item.CapacityUnits !== undefined) {
      // TOTAL without the split: reads and writes are told apart by the command.
      if ((DYNAMODB_READ_COMMANDS as readonly string[]).includes(command)) {
        entry.readUnits += item.CapacityUnits;
      } else {
        entry.writeUnits += item.CapacityUnits;
      }
    }
  }
}

function bodyBytes(message: HttpMessage | undefined): number {
  if (message === undefined) return 0;
  const header = message.headers?.['content-length'] ?? message.headers?.['Content-Length'];
  if (header !== undefined && header !== '') return Number(header) || 0;
  const body = message.body;
  if (typeof body === 'string') return Buffer.byteLength(body);
  if (body instanceof Uint8Array) return body.byteLength;
  return 0;
}

/** `after - before`, per command; commands with no calls and no attempts are left out. */
export function diffCounts(after: CallCounts, before: CallCounts): CallCounts {
  const out: CallCounts = {};
  for (const [command, a] of Object.entries(after)) {
    const b = before[command] ?? emptyCount();
    const d: CommandCount = {
      calls: a.calls - b.calls,
      attempts: a.attempts - b.attempts,
      failedConditions: a.failedConditions - b.failedConditions,
      errors: a.errors - b.errors,
      requestBytes: a.requestBytes - b.requestBytes,
      responseBytes: a.responseBytes - b.responseBytes,
      readUnits: a.readUnits - b.readUnits,
      writeUnits: a.writeUnits - b.writeUnits,
    };
    if (d.calls !== 0 || d.attempts !== 0) out[command] = d;
  }
  return out;
}

/** `a + b`, per command. */
export function addCounts(a: CallCounts, b: CallCounts): CallCounts {
  const out: CallCounts = {};
  for (const command of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const x = a[command] ?? emptyCount();
    const y = b[command] ?? emptyCount();
    out[command] = {
      calls: x.calls + y.calls,
      attempts: x.attempts + y.attempts,
      failedConditions: x.failedConditions + y.failedConditions,
      errors: x.errors + y.errors,
      requestBytes: x.requestBytes + y.requestBytes,
      responseBytes: x.responseBytes + y.responseBytes,
      readUnits: x.readUnits + y.readUnits,
      writeUnits: x.writeUnits + y.writeUnits,
    };
  }
  return out;
}

/** Sum of one field over some commands (all when `commands` is omitted). */
export function total(
  counts: CallCounts,
  field: keyof CommandCount,
  commands?: readonly string[],
): number {
  let sum = 0;
  for (const [command, count] of Object.entries(counts)) {
    if (commands === undefined || commands.includes(command)) sum += count[field];
  }
  return sum;
}
