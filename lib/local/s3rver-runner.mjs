// Runs s3rver in a process of its own; lib/local/s3-local.ts starts it as
//   node --openssl-legacy-provider s3rver-runner.mjs '{"directory": "..."}'
// s3rver encrypts ListObjectsV2 continuation tokens with DES, which OpenSSL 3 (Node 17+)
// only offers through its legacy provider: without the flag the second page of every
// listing fails. The flag cannot be turned on inside a running process, hence this runner.
//
// Prints one JSON line {"port": N} on stdout once listening. Exits when its stdin closes
// (the parent is gone, however it died) or on SIGTERM/SIGINT, and then removes the data
// directory when told it is a temporary one ("removeOnExit": true), since a parent that
// was killed cannot.
import { createCipheriv } from 'node:crypto';
import { readdirSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { posix } from 'node:path';

const require = createRequire(import.meta.url);

// S3 lists keys in lexicographic order, and retention relies on it (ULID keys sort by
// time). s3rver walks its directory in readdir order, which on most file systems is not
// sorted, and then pages by "key > last key": keys get skipped. Sorting the walk fixes both.
// The patch must be in place before s3rver's store module takes its own reference to walk.
const utils = require('s3rver/lib/utils');
utils.walk = function* sortedWalk(dir, recurseFilter) {
  for (const filename of readdirSync(dir).sort()) {
    const filePath = posix.join(dir, filename);
    if (!statSync(filePath).isDirectory()) {
      yield filePath;
    } else if (!recurseFilter || recurseFilter(filePath)) {
      yield* sortedWalk(filePath, recurseFilter);
    }
  }
};
const S3rver = require('s3rver');

const options = JSON.parse(process.argv[2] ?? '{}');

try {
  createCipheriv('des', Buffer.alloc(8), Buffer.alloc(8));
} catch {
  process.stderr.write(
    's3rver-runner: DES is unavailable, so s3rver cannot page listings. ' +
      'Run this script with node --openssl-legacy-provider.\n',
  );
  process.exit(2);
}

// s3rver knows one access key, S3RVER, and rejects every other with InvalidAccessKeyId
// (it does not check SigV4 signatures at all). DynamoDB Local and LocalStack take any key,
// so s3rver is made to as well: clients then need no s3rver-specific credentials.
const AWSAccount = require('s3rver/lib/models/account');
const lookUp = AWSAccount.registry.get.bind(AWSAccount.registry);
AWSAccount.registry.get = (accessKeyId) => lookUp(accessKeyId) ?? AWSAccount.DUMMY_ACCOUNT;

const server = new S3rver({
  address: '127.0.0.1',
  port: 0,
  silent: true,
  directory: options.directory,
  // Buckets are only ever addressed by path: a host name is never a bucket name.
  vhostBuckets: false,
});

const address = await server.run();
process.stdout.write(`${JSON.stringify({ port: address.port })}\n`);

let closing = false;
const shutdown = () => {
  if (closing) return;
  closing = true;
  // Keep-alive sockets from SDK clients would hold close() open; nothing is in flight.
  server.httpServer?.closeAllConnections?.();
  server.close().finally(exit);
  setTimeout(exit, 2000).unref();
};
const exit = () => {
  if (options.removeOnExit) rmSync(options.directory, { recursive: true, force: true });
  process.exit(0);
};
process.stdin.on('end', shutdown);
process.stdin.on('error', shutdown);
process.stdin.resume();
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
