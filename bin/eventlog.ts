#!/usr/bin/env -S npx tsx
/**
 * The eventlog CLI: topics, produce, consume, offsets and maintenance over the HTTP API.
 * Run it as `npm run -s eventlog -- <command>` or `npx tsx bin/eventlog.ts <command>` in this
 * repository; the package ships it compiled as the `eventlog` bin (dist/bin/eventlog.js).
 *
 * Exit codes: 0 done; 1 the command failed (an error answer, the server unreachable,
 * records not written); 2 a usage error (unknown command or option, a bad or conflicting
 * option value); 130 interrupted (Ctrl-C) while producing or reading up to the end.
 * Errors print one line on stderr, `error: <message> (<CODE>)`, never a stack trace
 * (EVENTLOG_DEBUG=1 prints it).
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { registerAuthCommands } from '../lib/client/cli/auth-command.js';
import { DEFAULT_URL, type GlobalOptions, UsageError } from '../lib/client/cli/context.js';
import { DATA_FORMATS, HEADER_FORMATS } from '../lib/client/cli/output.js';
import { registerSubscriptionCommands } from '../lib/client/cli/subscriptions-command.js';
import { isEventLogError } from '../lib/log/errors.js';

// Each command's module loads when that command runs, so that `--help` and a quick command
// load only what they use (the start time is in the bench's `cli` section).
const topicsCommand = () => import('../lib/client/cli/topics-command.js');
const groupsCommand = () => import('../lib/client/cli/groups-command.js');
const resetCommand = () => import('../lib/client/cli/reset-command.js');

function integer(min: number, max = Number.MAX_SAFE_INTEGER) {
  return (text: string): number => {
    const value = Number(text);
    if (!/^\d+$/.test(text) || value < min || value > max) {
      throw new InvalidArgumentError(`Expected an integer from ${min} to ${max}.`);
    }
    return value;
  };
}

/** Repeatable option values, in order. */
function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** ISO 8601 (2026-11-25T10:00:00Z) or ms since the epoch, as ms. */
function time(text: string): number {
  const value = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new InvalidArgumentError('Expected an ISO 8601 time or ms since the epoch.');
  }
  return value;
}

const program = new Command('eventlog')
  .description(
    "A serverless event log with Kafka's model: the command line client of its HTTP API.",
  )
  .addOption(new Option('--url <url>', 'the API base URL').env('EVENTLOG_URL').default(DEFAULT_URL))
  .option(
    '--sigv4',
    'sign requests with AWS SigV4 (automatic for execute-api and Lambda function URLs)',
  )
  .addOption(
    new Option('--token <token>', 'an API key or JWT, sent as Authorization: Bearer').env(
      'EVENTLOG_TOKEN',
    ),
  )
  .showHelpAfterError('(add --help for usage)')
  // Usage errors exit 2; the catch below decides.
  .exitOverride()
  .configureOutput({ outputError: (text, write) => write(text) });

function globals(command: Command): GlobalOptions {
  return command.optsWithGlobals<GlobalOptions>();
}

registerAuthCommands(program, globals);

const topics = program
  .command('topics')
  .description('create, list, describe, alter and delete topics');

topics
  .command('create <name>')
  .description('create a topic')
  .option('-p, --partitions <n>', 'number of partitions (1-1000)', integer(1, 1000), 1)
  .option(
    '-c, --config <name=value...>',
    'topic configs, e.g. retention.ms=86400000 compression.type=zstd (none, gzip, snappy, lz4, zstd)',
  )
  .option('--json', 'print the topic as JSON')
  .action(async (name: string, options, command: Command) =>
    (await topicsCommand()).createTopic(globals(command), name, options),
  );

topics
  .command('list')
  .description('list topics')
  .option('--json', 'print JSON')
  .action(async (options, command: Command) =>
    (await topicsCommand()).listTopics(globals(command), options),
  );

topics
  .command('describe <name>')
  .description("a topic's configs and each partition's offsets")
  .option('--json', 'print JSON')
  .action(async (name: string, options, command: Command) =>
    (await topicsCommand()).describeTopic(globals(command), name, options),
  );

topics
  .command('alter <name>')
  .description(
    'change configs of a topic (the others keep their values), or increase its partition count (only up: new keyed records remap, old records stay)',
  )
  .option('-c, --config <name=value...>', 'the configs to set, e.g. retention.ms=86400000')
  .option(
    '-p, --partitions <n>',
    'the new partition count, above the current one',
    integer(1, 1000),
  )
  .option('--json', 'print the topic as JSON')
  .action(async (name: string, options, command: Command) =>
    (await topicsCommand()).alterTopic(globals(command), name, options),
  );

topics
  .command('delete <name>')
  .description('delete a topic (its records are removed in the background)')
  .action(async (name: string, _options, command: Command) =>
    (await topicsCommand()).deleteTopic(globals(command), name),
  );

program
  .command('produce <topic>')
  .description('write records read from stdin or a file, one per line')
  .option('-f, --file <path>', 'read this file instead of stdin')
  .addOption(
    new Option(
      '--format <format>',
      'lines: each line is a value; jsonl: each line is JSON; json: each line a record as consume --format json or kcat prints it',
    ).choices(['lines', 'jsonl', 'json']),
  )
  .option('-k, --key <key>', 'the same key for every record')
  .option(
    '--key-field <field>',
    "jsonl: the key is this field of each line's object (a.b for nested)",
  )
  .option(
    '-K, --key-separator <sep>',
    'lines: the key is the text before the first <sep> (kcat -K; escapes \\t \\xNN)',
  )
  .option('-D, --delimiter <delim>', 'records end at this instead of a newline (kcat -D)')
  .option('-Z, --null-empty', 'send an empty value as null (kcat -Z)')
  .addOption(
    new Option('--key-format <format>', 'json: how keys were printed').choices(DATA_FORMATS),
  )
  .addOption(
    new Option('--value-format <format>', 'json: how values were printed').choices(DATA_FORMATS),
  )
  .addOption(
    new Option('--header-format <format>', 'json: how header values were printed').choices(
      HEADER_FORMATS,
    ),
  )
  .option('--partition <p>', 'write to this partition (default: by key, else spread)', integer(0))
  .option('-H, --header <name=value...>', 'a header for every record')
  .option('--batch-records <n>', 'records per request', integer(1, 10_000), 500)
  .option('--batch-bytes <n>', 'bytes per request', integer(1, 6 * 1024 * 1024), 1024 * 1024)
  .option(
    '--in-flight <n>',
    'requests at once (default 1 with keys or --partition, to keep their order; else 4)',
    integer(1, 64),
  )
  .action(async (topic: string, options, command: Command) => {
    const { produce } = await import('../lib/client/cli/produce-command.js');
    process.exitCode = await produce(globals(command), topic, options);
  });

program
  .command('consume <topic>')
  .description('print records of a topic, all partitions merged or one')
  .option('--from-beginning', 'start at the oldest record kept (default: only new records)')
  .option(
    '-o, --offset <spec>',
    "kcat's -o: beginning, end, <offset>, -<n> (n before the end), s@<ms> (start time), e@<ms> (end time, not included); twice for a start and an end",
    (v: string, prev: string[] = []) => [...prev, v],
  )
  .option(
    '--from-time <time>',
    'start at the first record at or after this time (ISO 8601 or ms since the epoch)',
    time,
  )
  .option(
    '--to-time <time>',
    "stop each partition before its first record at or after this time (ISO 8601 or ms; kcat's e@)",
    time,
  )
  .option('--partition <p>', 'read only this partition', integer(0))
  .option('-f, --follow', 'keep waiting for new records (long poll) until Ctrl-C or --max')
  .option('--max <n>', 'stop after this many records', integer(1))
  .addOption(
    new Option(
      '--format <format>',
      "json: one object per record; kcat: kcat -J's envelope; value: the value alone",
    )
      .choices(['json', 'kcat', 'value'])
      .default('json'),
  )
  .addOption(
    new Option('--key-format <format>', 'how keys are shown')
      .choices(DATA_FORMATS)
      .default('string'),
  )
  .addOption(
    new Option('--value-format <format>', 'how values are shown')
      .choices(DATA_FORMATS)
      .default('string'),
  )
  .addOption(
    new Option('--header-format <format>', 'how header values are shown')
      .choices(HEADER_FORMATS)
      .default('string'),
  )
  .option('--wait-ms <ms>', 'long-poll wait per request with --follow', integer(0, 20_000), 20_000)
  .option(
    '-g, --group <group>',
    'read as a member of this consumer group: partitions shared with its other members, offsets committed; runs until Ctrl-C or --max',
  )
  .action(async (topic: string, options, command: Command) => {
    process.exitCode =
      options.group === undefined
        ? await (await import('../lib/client/cli/consume-command.js')).consume(
            globals(command),
            topic,
            options,
          )
        : await (await groupsCommand()).consumeGroup(globals(command), topic, options);
  });

const groups = program
  .command('groups')
  .description('list, describe, reset and delete consumer groups');

groups
  .command('list')
  .description('list groups')
  .option('--json', 'print JSON')
  .action(async (options, command: Command) =>
    (await groupsCommand()).listGroups(globals(command), options),
  );

groups
  .command('describe <group>')
  .description("a group's members, and per partition its owner, committed offset and lag")
  .option('--json', 'print JSON')
  .action(async (group: string, options, command: Command) =>
    (await groupsCommand()).describeGroup(globals(command), group, options),
  );

groups
  .command('reset <group>')
  .description(
    "plan, and with --execute set, a group's committed offsets (kafka-consumer-groups --reset-offsets; only while it has no live members)",
  )
  .option(
    '--topic <topic[:partitions]>',
    'a topic, or topic:0,1 for some partitions; repeatable',
    collect,
  )
  .option('--all-topics', 'every topic the group has offsets for')
  .option(
    '--partition <p...>',
    'only these partitions (with one --topic)',
    (v: string, prev: number[] = []) => [...prev, integer(0)(v)],
  )
  .option('--to-earliest', 'the log start')
  .option('--to-latest', 'the log end')
  .option('--to-current', 'the committed offsets (as they are, clamped to the log)')
  .option('--to-offset <n>', 'this offset (clamped to the log)', integer(0))
  .option('--shift-by <n>', 'the committed offset plus n (n may be negative; clamped)')
  .option(
    '--by-duration <duration>',
    'the first offset at or after now minus this ISO-8601 duration (PT10M, P1DT2H)',
  )
  .option(
    '--to-datetime <time>',
    'the first offset at or after YYYY-MM-DDTHH:mm:SS.sss (local time without a zone) or ms',
  )
  .option(
    '--from-file <csv>',
    'the offsets of a file as --export writes it (topic,partition,offset)',
  )
  .option('--to <where>', 'earliest or latest (the same as --to-earliest, --to-latest)')
  .option('--dry-run', 'only show the plan (the default)')
  .option('--execute', 'write the plan')
  .option('--export', 'print the plan as CSV for --from-file')
  .option('--force', 'even while members are alive (they lose these partitions and re-read)')
  .option('--json', 'print JSON')
  .action(async (group: string, options, command: Command) =>
    (await resetCommand()).resetGroup(globals(command), group, options),
  );

groups
  .command('delete-offsets <group>')
  .description(
    "forget a group's committed offsets of topics (kafka-consumer-groups --delete-offsets)",
  )
  .requiredOption('--topic <topic[:partitions]>', 'a topic, or topic:0,1; repeatable', collect)
  .action(async (group: string, options, command: Command) =>
    (await resetCommand()).deleteOffsets(globals(command), group, options),
  );

groups
  .command('delete <group>')
  .description("delete a group's offsets and members")
  .option('--force', 'even while members are alive')
  .action(async (group: string, options, command: Command) =>
    (await groupsCommand()).deleteGroup(globals(command), group, options),
  );

program
  .command('offsets <topic>')
  .description("each partition's earliest and latest offset, or the first offset at a time")
  .option('--at <time>', 'ISO-8601 time or ms since the epoch (also earliest, latest)')
  .option('--partition <p>', 'only this partition', integer(0))
  .option('--json', 'print JSON')
  .action(async (topic: string, options, command: Command) =>
    (await import('../lib/client/cli/offsets-command.js')).showOffsets(
      globals(command),
      topic,
      options,
    ),
  );

program
  .command('maintenance')
  .description('maintenance of the local event log')
  .command('run')
  .description(
    'run retention and healing once, now, on the local event log (the one `npm start` runs on --data-dir, else its emulators are started for the pass)',
  )
  .option('--data-dir <dir>', 'the local data directory', '.eventlog')
  .option('--topic <name...>', 'only these topics')
  .option('--json', 'print the report as JSON')
  // The stores, the broker and the emulators: loaded by this command alone.
  .action(async (options) =>
    (await import('../lib/client/cli/maintenance-command.js')).runMaintenance(options),
  );

program
  .command('delete-records [topic]')
  .description(
    "move partitions' log start forward: records below it are gone (kafka-delete-records)",
  )
  .option(
    '--offset-json-file <file>',
    'Kafka\'s JSON: {"partitions": [{"topic", "partition", "offset"}]}',
  )
  .option('--partition <p>', 'with <topic>: this partition', integer(0))
  .option('--offset <n>', 'with <topic>: the new log start (-1: the high watermark)')
  .action(async (topic: string | undefined, options, command: Command) =>
    (await import('../lib/client/cli/delete-records-command.js')).deleteRecords(
      globals(command),
      topic,
      options,
    ),
  );

registerSubscriptionCommands(program, globals);

async function main(): Promise<void> {
  try {
    await program.parseAsync(process.argv);
  } catch (error) {
    process.exitCode = exitCodeOf(error);
  }
}

function exitCodeOf(error: unknown): number {
  if (error instanceof CommanderError) {
    // Help and version end here too, successfully; commander printed the rest already.
    return error.exitCode === 0 ? 0 : 2;
  }
  if (process.env['EVENTLOG_DEBUG'] && error instanceof Error)
    process.stderr.write(`${error.stack}\n`);
  if (error instanceof UsageError) {
    process.stderr.write(`error: ${error.message}\n`);
    return 2;
  }
  if (isEventLogError(error)) {
    process.stderr.write(`error: ${error.message} (${error.code})\n`);
    return 1;
  }
  process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
  return 1;
}

// A reader that went away (`| head`) is not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

await main();
// Idle keep-alive sockets must not hold the process: exit once stdout is flushed.
process.stdout.write('', () => process.exit());
