import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { EventLogError } from '../log/errors.js';

/**
 * AWS Signature V4 for requests to the API on AWS (API Gateway with IAM authorization).
 * Loaded by HttpClient only when a URL needs it, so local use never touches the AWS
 * credential chain (nor pays for loading it).
 */

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface SigV4Options {
  /** Default: from the URL (`*.execute-api.{region}.amazonaws.com`), else AWS_REGION / AWS_DEFAULT_REGION. */
  region?: string;
  /** Default: `execute-api` (`lambda` for a function URL, `*.lambda-url.{region}.on.aws`). */
  service?: string;
  /** Default: the AWS SDK's default credential chain (env, SSO, web identity, profile, IMDS/ECS). */
  credentials?: AwsCredentials | (() => Promise<AwsCredentials>);
}

export interface SignableRequest {
  method: string;
  url: URL;
  headers: Record<string, string>;
  body: string | Uint8Array | undefined;
}

/** Returns the headers to send: the given ones plus host, x-amz-date, authorization... */
export type RequestSigner = (request: SignableRequest) => Promise<Record<string, string>>;

const EXECUTE_API = /\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$/;
const FUNCTION_URL = /\.lambda-url\.([a-z0-9-]+)\.on\.aws$/;

/** The service and region an AWS endpoint URL names, or undefined for any other host. */
export function awsEndpointOf(url: URL): { service: string; region: string } | undefined {
  const api = EXECUTE_API.exec(url.hostname);
  if (api?.[1] !== undefined) return { service: 'execute-api', region: api[1] };
  const fn = FUNCTION_URL.exec(url.hostname);
  if (fn?.[1] !== undefined) return { service: 'lambda', region: fn[1] };
  return undefined;
}

export async function createSigner(
  baseUrl: URL,
  options: SigV4Options = {},
): Promise<RequestSigner> {
  const endpoint = awsEndpointOf(baseUrl);
  const region =
    options.region ??
    endpoint?.region ??
    nonEmpty(process.env['AWS_REGION']) ??
    nonEmpty(process.env['AWS_DEFAULT_REGION']);
  if (region === undefined) {
    throw new EventLogError(
      'INVALID_REQUEST',
      `SigV4 signing needs a region: ${baseUrl.host} does not name one, so set AWS_REGION`,
    );
  }
  const service = options.service ?? endpoint?.service ?? 'execute-api';
  // Both packages come with the AWS SDK clients this project depends on anyway.
  const [{ SignatureV4 }, credentials] = await Promise.all([
    import('@smithy/signature-v4'),
    options.credentials === undefined
      ? import('@aws-sdk/credential-provider-node').then(({ defaultProvider }) => defaultProvider())
      : Promise.resolve(options.credentials),
  ]);
  const signer = new SignatureV4({ service, region, credentials, sha256: NodeSha256 });

  return async ({ method, url, headers, body }) => {
    const query: Record<string, string | string[]> = {};
    for (const [name, value] of url.searchParams) {
      const existing = query[name];
      query[name] =
        existing === undefined
          ? value
          : Array.isArray(existing)
            ? [...existing, value]
            : [existing, value];
    }
    let signed: { headers: Record<string, string> };
    try {
      signed = await signer.sign({
        method,
        protocol: url.protocol,
        hostname: url.hostname,
        ...(url.port === '' ? {} : { port: Number(url.port) }),
        path: url.pathname,
        query,
        headers: { ...headers, host: url.host },
        body,
      });
    } catch (error) {
      throw new EventLogError(
        'INVALID_REQUEST',
        `Cannot sign the request for ${url.host}: ${error instanceof Error ? error.message : String(error)} (AWS credentials come from the default chain: AWS_PROFILE, AWS_ACCESS_KEY_ID, SSO...)`,
        { cause: error },
      );
    }
    // fetch sets Host itself and refuses to be told.
    const { host: _host, ...rest } = signed.headers;
    return rest;
  };
}

/** The hash SignatureV4 wants (what @smithy/hash-node does), on node:crypto directly. */
class NodeSha256 {
  private hash: Hash | Hmac;

  constructor(private readonly secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash = NodeSha256.create(secret);
  }

  private static create(secret?: string | ArrayBuffer | ArrayBufferView): Hash | Hmac {
    return secret === undefined ? createHash('sha256') : createHmac('sha256', toBytes(secret));
  }

  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.hash.update(toBytes(data));
  }

  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.hash.digest()));
  }

  reset(): void {
    this.hash = NodeSha256.create(this.secret);
  }
}

function toBytes(data: string | ArrayBuffer | ArrayBufferView): Uint8Array | string {
  if (typeof data === 'string') return data;
  if (ArrayBuffer.isView(data))
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return new Uint8Array(data);
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
