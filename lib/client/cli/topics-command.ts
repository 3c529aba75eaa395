import { Admin } from '../admin.js';
import { type GlobalOptions, httpClient, UsageError, writeOut } from './context.js';
import { formatTime, table } from './output.js';

export async function createTopic(
  global: GlobalOptions,
  name: string,
  options: { partitions: number; config?: string[]; json?: boolean },
): Promise<void> {
  const admin = new Admin(httpClient(global));
  const topic = await admin.createTopic({
    name,
    partitions: options.partitions,
    ...(options.config === undefined ? {} : { configs: parseConfigs(options.config) }),
  });
  await writeOut(
    options.json
      ? `${JSON.stringify(topic)}\n`
      : `created topic ${topic.name} (${topic.partitions} partition${topic.partitions === 1 ? '' : 's'}, id ${topic.topicId})\n`,
  );
}

export async function listTopics(
  global: GlobalOptions,
  options: { json?: boolean },
): Promise<void> {
  const topics = await new Admin(httpClient(global)).listTopics();
  if (options.json) {
    await writeOut(`${JSON.stringify(topics)}\n`);
    return;
  }
  if (topics.length === 0) {
    await writeOut('no topics\n');
    return;
  }
  await writeOut(
    `${table(
      ['NAME', 'PARTITIONS', 'RETENTION.MS', 'CREATED'],
      topics.map((t) => [
        t.name,
        t.partitions,
        t.configs['retention.ms'] ?? '',
        formatTime(t.createdAt),
      ]),
    )}\n`,
  );
}

export async function describeTopic(
  global: GlobalOptions,
  name: string,
  options: { json?: boolean },
): Promise<void> {
  const topic = await new Admin(httpClient(global)).describeTopic(name);
  if (options.json) {
    await writeOut(`${JSON.stringify(topic)}\n`);
    return;
  }
  const configs = Object.entries(topic.configs).map(([k, v]) => `  ${k}=${v}`);
  await writeOut(
    [
      `topic       ${topic.name}`,
      `id          ${topic.topicId}`,
      `partitions  ${topic.partitions}`,
      `created     ${formatTime(topic.createdAt)}`,
      'configs',
      ...configs,
      '',
      table(
        ['PARTITION', 'LOG-START', 'HIGH-WATERMARK', 'RECORDS'],
        topic.partitionOffsets.map((p) => [
          p.partition,
          p.logStartOffset,
          p.highWatermark,
          p.highWatermark - p.logStartOffset,
        ]),
      ),
      '',
    ].join('\n'),
  );
}

export async function alterTopic(
  global: GlobalOptions,
  name: string,
  options: { config?: string[]; partitions?: number; json?: boolean },
): Promise<void> {
  const hasConfigs = options.config !== undefined && options.config.length > 0;
  if (!hasConfigs && options.partitions === undefined) {
    throw new UsageError('topics alter needs --partitions N or at least one --config name=value');
  }
  const admin = new Admin(httpClient(global));
  const configs = hasConfigs ? parseConfigs(options.config ?? []) : {};
  // Partitions first: a refused decrease then changes no config either.
  let topic =
    options.partitions === undefined
      ? undefined
      : await admin.increasePartitions(name, options.partitions);
  if (hasConfigs) topic = await admin.alterTopicConfigs(name, configs);
  if (topic === undefined) return;
  if (options.json) {
    await writeOut(`${JSON.stringify(topic)}\n`);
    return;
  }
  const changes = [
    ...(options.partitions === undefined ? [] : [`partitions=${topic.partitions}`]),
    ...Object.keys(configs).map((k) => `${k}=${topic.configs[k] ?? configs[k]}`),
  ];
  await writeOut(`altered topic ${topic.name}: ${changes.join(', ')}\n`);
}

export async function deleteTopic(global: GlobalOptions, name: string): Promise<void> {
  const topic = await new Admin(httpClient(global)).deleteTopic(name);
  await writeOut(`deleted topic ${topic.name} (its records are removed in the background)\n`);
}

/** `retention.ms=86400000` pairs; the server checks names and values. */
export function parseConfigs(pairs: readonly string[]): Record<string, string> {
  const configs: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new UsageError(`--config takes name=value, got "${pair}"`);
    configs[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return configs;
}
