import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RetentionReport } from '../broker/retention.js';
import type { ResourceNames } from '../store/resources.js';

/**
 * What a running `npm start` leaves in its data directory for other processes: the CLI's
 * `maintenance run` reads it to reach the same emulators, and a second `npm start` on the
 * same directory reads it to refuse to open the same database twice.
 *
 * `.eventlog/endpoints.json`   this file, while the server runs (removed on a clean stop)
 * `.eventlog/cluster-id`       the Confluent v3 cluster id, made once, kept across restarts
 * `.eventlog/dynamodb/`        DynamoDB Local's database (-dbPath)
 * `.eventlog/s3/`              s3rver's buckets and objects
 */

export const DEFAULT_DATA_DIR = '.eventlog';
const STATE_FILE = 'endpoints.json';
const CLUSTER_ID_FILE = 'cluster-id';

export interface LocalInstance {
  /** The `npm start` process. */
  pid: number;
  /** The API's base URL; empty for `eventlog maintenance run`, which serves no API. */
  api: string;
  clusterId: string;
  endpoints: { s3: string; dynamodb: string };
  names: ResourceNames;
  /** The endpoints are LocalStack's (or another's), not emulators of this process. */
  external: boolean;
  dataDir: string;
  startedAt: string;
}

export async function writeInstance(dataDir: string, instance: LocalInstance): Promise<void> {
  await mkdir(dataDir, { recursive: true });
  const path = join(dataDir, STATE_FILE);
  // Readers must never see half a file.
  await writeFile(`${path}.tmp`, `${JSON.stringify(instance, null, 2)}\n`);
  await rename(`${path}.tmp`, path);
}

/** The instance running on this data directory, or undefined when none is (a stale file is ignored). */
export async function readInstance(dataDir: string): Promise<LocalInstance | undefined> {
  let text: string;
  try {
    text = await readFile(join(dataDir, STATE_FILE), 'utf8');
  } catch {
    return undefined;
  }
  let instance: LocalInstance;
  try {
    instance = JSON.parse(text) as LocalInstance;
  } catch {
    return undefined;
  }
  return typeof instance.pid === 'number' && isAlive(instance.pid) ? instance : undefined;
}

/** Removes the state file if it is this process's (another instance may have taken over). */
export async function removeInstance(dataDir: string, pid = process.pid): Promise<void> {
  const path = join(dataDir, STATE_FILE);
  try {
    const instance = JSON.parse(await readFile(path, 'utf8')) as Partial<LocalInstance>;
    if (instance.pid !== pid) return;
  } catch {
    return;
  }
  await rm(path, { force: true });
}

/**
 * The cluster id of this data directory: made once, at random, like Kafka's
 * `kafka-storage random-uuid` (a UUID's 16 bytes in base64url, 22 characters), so a v3
 * client's configured URL keeps working across restarts.
 */
export async function clusterIdOf(dataDir: string): Promise<string> {
  const path = join(dataDir, CLUSTER_ID_FILE);
  try {
    const id = (await readFile(path, 'utf8')).trim();
    if (/^[A-Za-z0-9_-]{1,64}$/.test(id)) return id;
  } catch {
    // Not made yet.
  }
  await mkdir(dataDir, { recursive: true });
  const id = randomBytes(16).toString('base64url');
  await writeFile(path, `${id}\n`);
  return id;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, it is just not ours to signal.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * One line about what a maintenance pass did, or undefined when it did nothing (so a timer
 * that runs every minute stays quiet).
 */
export function summarizeRetention(report: RetentionReport, elapsedMs: number): string | undefined {
  const parts: string[] = [];
  for (const topic of report.topics) {
    const batches = topic.partitions.reduce((sum, p) => sum + p.entriesDeleted, 0);
    const bytes = topic.partitions.reduce((sum, p) => sum + p.bytesRemoved, 0);
    const holes = topic.partitions.reduce((sum, p) => sum + p.abortedRanges, 0);
    const done: string[] = [];
    if (batches > 0) done.push(`${batches} expired batches (${formatBytes(bytes)}) deleted`);
    if (topic.objectsDeleted > 0) done.push(`${topic.objectsDeleted} objects deleted`);
    if (topic.orphansDeleted > 0) {
      done.push(`${topic.orphansDeleted} orphan objects of failed writes deleted`);
    }
    if (holes > 0) done.push(`${holes} abandoned offset ranges closed`);
    if (done.length > 0) parts.push(`${topic.topic}: ${done.join(', ')}`);
  }
  if (report.deletedTopicsCleaned.length > 0) {
    parts.push(`data of deleted topics removed: ${report.deletedTopicsCleaned.join(', ')}`);
  }
  if (parts.length === 0) return undefined;
  return `maintenance: ${parts.join('; ')} (${elapsedMs} ms)`;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
