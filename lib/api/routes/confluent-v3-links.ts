import type { Context } from 'hono';
import { EventLogError } from '../../log/errors.js';

/**
 * What every Confluent v3 answer builds its links from. A link is only emitted when a route of
 * this API answers it (test/integration/api-confluent-v3-links.test.ts follows every one).
 */

/** `{origin}/v3/clusters/{cluster_id}`: the root of every self and related link. */
export function v3Base(c: Context, clusterId: string): string {
  return `${new URL(c.req.url).origin}/v3/clusters/${clusterId}`;
}

/** A name as one path segment of a link. */
export const segment = (name: string | number): string => encodeURIComponent(String(name));

/** Confluent answers an unknown cluster id with 404 and error_code 404. */
export function checkV3Cluster(c: Context, clusterId: string): void {
  const id = c.req.param('cluster_id');
  if (id !== clusterId) {
    throw new EventLogError('NOT_FOUND', `Cluster ${id} cannot be found.`, {
      details: { cluster_id: id },
    });
  }
}
