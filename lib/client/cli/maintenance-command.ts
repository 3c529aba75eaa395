import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { UsageError, writeErr, writeOut } from './context.js';

/**
 * `eventlog maintenance run`: one pass of retention and healing (what `npm start` runs every
 * minute, and the scheduled function on AWS), now. It needs the stores themselves, not the
 * HTTP API, so it works on the local event log only:
 *
 * - while `npm start` runs on the data directory, it reaches the same emulators through the
 *   endpoints that server wrote to `{dataDir}/endpoints.json`;
 * - otherwise it starts the emulators on the data directory itself for the pass.
 *
 * On AWS the retention function runs on its schedule (invoke it to run it now).
 * The AWS SDK and the broker are loaded here only, so other commands start fast.
 */
export async function runMaintenance(options: {
  dataDir?: string;
  topic?: string[];
  json?: boolean;
}): Promise<void> {
  const [
    { createBroker, createStores },
    { createAwsClients, destroyAwsClients },
    { DEFAULT_DATA_DIR, readInstance, removeInstance, summarizeRetention, writeInstance },
  ] = await Promise.all([
    import('../../broker/broker.js'),
    import('../../store/aws-clients.js'),
    import('../../local/instance.js'),
  ]);
  const dataDir = resolve(options.dataDir ?? DEFAULT_DATA_DIR);
  const instance = await readInstance(dataDir);
  let clients: ReturnType<typeof createAwsClients>;
  let names: Parameters<typeof createStores>[1];
  let stop: () => Promise<void>;
  if (instance !== undefined) {
    // The same endpoints, whether emulators of that process or LocalStack.
    clients = createAwsClients({
      s3Endpoint: instance.endpoints.s3,
      dynamoEndpoint: instance.endpoints.dynamodb,
    });
    names = instance.names;
    stop = async () => destroyAwsClients(clients);
    writeErr(`using the event log running on ${dataDir} (pid ${instance.pid})\n`);
  } else {
    if (!existsSync(dataDir)) {
      throw new UsageError(
        `No local event log in ${dataDir}: start one with \`npm start\` (or pass --data-dir)`,
      );
    }
    const { startLocalEnvironment } = await import('../../local/environment.js');
    writeErr(`no event log running on ${dataDir}: starting its emulators for this pass\n`);
    const environment = await startLocalEnvironment({ dataDir, quiet: true, prefix: 'eventlog' });
    clients = environment.clients;
    names = environment.names;
    // Announced like a server, so that an `npm start` meanwhile does not open the same
    // database a second time (and another `maintenance run` joins this one's emulators).
    await writeInstance(dataDir, {
      pid: process.pid,
      api: '',
      clusterId: '',
      endpoints: environment.endpoints,
      names: environment.names,
      external: environment.external,
      dataDir,
      startedAt: new Date().toISOString(),
    });
    stop = async () => {
      await removeInstance(dataDir);
      await environment.stop();
    };
  }
  try {
    const broker = createBroker(createStores(clients, names));
    const started = Date.now();
    const report = await broker.retention.runOnce(
      options.topic === undefined ? {} : { topics: options.topic },
    );
    if (options.json) {
      await writeOut(`${JSON.stringify(report)}\n`);
    } else {
      const summary = summarizeRetention(report, Date.now() - started);
      await writeOut(
        `${summary ?? `maintenance: nothing to do (${report.topics.length} topic${report.topics.length === 1 ? '' : 's'} checked)`}\n`,
      );
    }
  } finally {
    await stop();
  }
}
