import { access } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { EventLogError, toEventLogError } from '../log/errors.js';
import {
  normalizeSubscription,
  type SubscriptionConfig,
  type SubscriptionSettings,
} from '../log/subscription-config.js';
import type { LambdaHandler } from './lambda-endpoint.js';

/**
 * `eventlog.config.ts`: the Lambda consumers `npm start` runs, as a module whose default
 * export is
 *
 *   export default {
 *     topics: [{ name: 'orders', partitions: 3 }],          // created when missing
 *     consumers: [{
 *       name: 'print-orders',                               // function + subscription name
 *       topic: 'orders',
 *       handler: './handler.ts',                            // exports `handler` ('./h.ts#other')
 *       startingPosition: 'TRIM_HORIZON',
 *       batchSize: 10,                                      // ...any subscription setting
 *     }],
 *   };
 *
 * Found as EVENTLOG_CONFIG, else eventlog.config.{ts,mts,js,mjs} in the working directory.
 * Handler paths are relative to the config file.
 */

export interface LocalConsumerConfig extends SubscriptionSettings {
  /** The local function's name, and the subscription's. */
  name: string;
  topic: string;
  /** @default the name */
  group?: string;
  /** A module path, relative to the config file, optionally `#exportName` (default `handler`). */
  handler: string;
  /** The function's timeout in seconds. @default 60 */
  timeout?: number;
}

export interface EventLogConfig {
  topics?: { name: string; partitions?: number; configs?: Record<string, string> }[];
  consumers?: LocalConsumerConfig[];
}

export interface LoadedConfig {
  path: string;
  topics: NonNullable<EventLogConfig['topics']>;
  consumers: {
    settings: LocalConsumerConfig;
    subscription: SubscriptionConfig;
    handler: LambdaHandler;
  }[];
}

const CONFIG_NAMES = [
  'eventlog.config.ts',
  'eventlog.config.mts',
  'eventlog.config.js',
  'eventlog.config.mjs',
];

/** The config file to load, or undefined when there is none. */
export async function findConfig(
  cwd = process.cwd(),
  env: NodeJS.ProcessEnv = process.env,
): Promise<string | undefined> {
  const given = env['EVENTLOG_CONFIG'];
  if (given !== undefined && given !== '') {
    const path = resolve(cwd, given);
    if (!(await exists(path))) {
      throw new EventLogError(
        'INVALID_CONFIG',
        `EVENTLOG_CONFIG names ${path}, which does not exist`,
      );
    }
    return path;
  }
  for (const name of CONFIG_NAMES) {
    const path = resolve(cwd, name);
    if (await exists(path)) return path;
  }
  return undefined;
}

/** Imports the config and its handlers, and checks every consumer's settings. */
export async function loadConfig(path: string): Promise<LoadedConfig> {
  let module: { default?: unknown };
  try {
    module = (await import(pathToFileURL(path).href)) as { default?: unknown };
  } catch (error) {
    throw new EventLogError(
      'INVALID_CONFIG',
      `Loading ${path} failed: ${toEventLogError(error).message}`,
      {
        cause: error,
      },
    );
  }
  const config = module.default as EventLogConfig | undefined;
  if (config === null || typeof config !== 'object') {
    throw new EventLogError('INVALID_CONFIG', `${path} must export default { consumers: [...] }`);
  }
  const consumers: LoadedConfig['consumers'] = [];
  const names = new Set<string>();
  for (const [i, settings] of (config.consumers ?? []).entries()) {
    const where = `${path}: consumers[${i}]${typeof settings?.name === 'string' ? ` (${settings.name})` : ''}`;
    if (settings === null || typeof settings !== 'object') {
      throw new EventLogError('INVALID_CONFIG', `${where} must be an object`);
    }
    if (names.has(settings.name)) {
      throw new EventLogError(
        'INVALID_CONFIG',
        `${where}: the name ${settings.name} is used twice`,
      );
    }
    names.add(settings.name);
    const { handler: handlerPath, timeout: _timeout, ...rest } = settings;
    let subscription: SubscriptionConfig;
    try {
      subscription = normalizeSubscription({ ...rest, functionName: settings.name });
    } catch (error) {
      throw new EventLogError('INVALID_CONFIG', `${where}: ${toEventLogError(error).message}`, {
        cause: error,
      });
    }
    if (typeof handlerPath !== 'string' || handlerPath === '') {
      throw new EventLogError(
        'INVALID_CONFIG',
        `${where}: handler must be a module path, e.g. './handler.ts'`,
      );
    }
    consumers.push({
      settings,
      subscription,
      handler: await loadHandler(dirname(path), handlerPath, where),
    });
  }
  return { path, topics: config.topics ?? [], consumers };
}

async function loadHandler(dir: string, spec: string, where: string): Promise<LambdaHandler> {
  const hash = spec.lastIndexOf('#');
  const file = hash > 0 ? spec.slice(0, hash) : spec;
  const exportName = hash > 0 ? spec.slice(hash + 1) : 'handler';
  const path = isAbsolute(file) ? file : resolve(dir, file);
  let module: Record<string, unknown>;
  try {
    module = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  } catch (error) {
    throw new EventLogError(
      'INVALID_CONFIG',
      `${where}: loading handler ${path} failed: ${toEventLogError(error).message}`,
      {
        cause: error,
      },
    );
  }
  const handler = module[exportName];
  if (typeof handler !== 'function') {
    throw new EventLogError(
      'INVALID_CONFIG',
      `${where}: ${path} exports no function "${exportName}"`,
    );
  }
  return handler as LambdaHandler;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
