/**
 * AWS list prices, us-east-1, for the cost model. Every figure names the public page it comes
 * from, the date it was read, and how it was confirmed:
 *
 * - `search`: the figure appears in the public text the research tool returned (an AWS page
 *   when `source` is on an aws.amazon.com / docs.aws.amazon.com host, else a third-party page
 *   quoting the AWS price, named in `note`);
 * - `design`: the figure is the one in the project's design notes ("Cost is a design input"),
 *   which the search tool did not contradict;
 * - `unconfirmed`: the AWS pricing page renders its tables with JavaScript and the stored text
 *   did not carry the number; the figure is AWS's published list price as we know it and must
 *   be checked on the page before anyone relies on it.
 *
 * Prices change; the model takes this table as an argument so a reader can pass fresher ones.
 */

export type Confirmation = 'search' | 'design' | 'unconfirmed';

export interface Price {
  /** US dollars per `unit`. */
  usd: number;
  unit: string;
  source: string;
  /** When the source was read (YYYY-MM-DD). */
  read: string;
  confirmed: Confirmation;
  note?: string;
}

const READ = '2026-11-25';

const S3 = 'https://aws.amazon.com/s3/pricing/';
const DYNAMODB = 'https://aws.amazon.com/dynamodb/pricing/on-demand/';
const APIGW = 'https://aws.amazon.com/api-gateway/pricing/';
const LAMBDA = 'https://aws.amazon.com/lambda/pricing/';
const KINESIS = 'https://aws.amazon.com/kinesis/data-streams/pricing/';
const MSK = 'https://aws.amazon.com/msk/pricing/';

export const PRICES = {
  s3: {
    /** S3 Standard, first 50 TB. */
    storageGbMonth: {
      usd: 0.023,
      unit: 'GB-month',
      source: S3,
      read: READ,
      confirmed: 'search',
      note: 'quoted for US East (N. Virginia), March 2026, by https://cloudburn.io/blog/amazon-s3-pricing',
    },
    put: {
      usd: 0.005 / 1000,
      unit: 'PUT request',
      source: S3,
      read: READ,
      confirmed: 'design',
      note: '$0.005 per 1,000 PUT/COPY/POST/LIST requests; also quoted by https://www.cloudkaramchari.com/blog/understanding-per-1000-put-copy-post-or-list-requests-in-amazon-s3-pricing/',
    },
    get: {
      usd: 0.0004 / 1000,
      unit: 'GET request',
      source: S3,
      read: READ,
      confirmed: 'design',
      note: '$0.0004 per 1,000 GET/SELECT requests; a ranged GET is one request',
    },
  },
  dynamodb: {
    writeRequestUnit: {
      usd: 0.625 / 1e6,
      unit: 'write request unit (1 KB)',
      source: DYNAMODB,
      read: READ,
      confirmed: 'design',
      note: 'also quoted by https://airbyte.com/data-engineering-resources/dynamodb-pricing; a failed conditional write is billed too',
    },
    readRequestUnit: {
      usd: 0.125 / 1e6,
      unit: 'read request unit (4 KB strongly consistent)',
      source: DYNAMODB,
      read: READ,
      confirmed: 'search',
      note: 'quoted by https://airbyte.com/data-engineering-resources/dynamodb-pricing',
    },
    storageGbMonth: {
      usd: 0.25,
      unit: 'GB-month',
      source: DYNAMODB,
      read: READ,
      confirmed: 'unconfirmed',
      note: 'Standard table class, after the first 25 GB free (the free tier is ignored here)',
    },
  },
  apiGateway: {
    /** HTTP API, first 300 million requests a month; metered in 512 KB increments. */
    httpRequest: {
      usd: 1 / 1e6,
      unit: 'HTTP API request (per 512 KB increment)',
      source: APIGW,
      read: READ,
      confirmed: 'search',
      note: 'AWS whitepaper https://docs.aws.amazon.com/whitepapers/latest/best-practices-api-gateway-private-apis-integration/cost-optimization.html: $1.00 per million (first 300 million), metered in 512 KB increments',
    },
  },
  lambda: {
    /** arm64, first 7.5 billion GB-seconds a month. */
    gbSecondArm: {
      usd: 0.0000133334,
      unit: 'GB-second (arm64)',
      source: LAMBDA,
      read: READ,
      confirmed: 'search',
      note: 'quoted by https://cloudchipr.com/blog/aws-lambda-pricing (US East, first 7.5 billion GB-s)',
    },
    request: {
      usd: 0.2 / 1e6,
      unit: 'invocation',
      source: LAMBDA,
      read: READ,
      confirmed: 'search',
      note: '$0.20 per million requests, quoted by the same page',
    },
  },
  kinesisProvisioned: {
    shardHour: {
      usd: 0.015,
      unit: 'shard-hour',
      source: KINESIS,
      read: READ,
      confirmed: 'search',
      note: 'quoted in the worked example of https://kindatechnical.com/aws-kinesis/lesson-29-understanding-kinesis-pricing.html',
    },
    putPayloadUnit: {
      usd: 0.014 / 1e6,
      unit: 'PUT payload unit (25 KB of one record)',
      source: KINESIS,
      read: READ,
      confirmed: 'search',
      note: '$0.014 per million quoted by https://github.com/EveryMundo/aws-kinesis-client/blob/master/docs/why-we-created-this-package.md (US West (Oregon), the same as US East)',
    },
    extendedRetentionShardHour: {
      usd: 0.02,
      unit: 'shard-hour (retention 24 h to 7 days)',
      source: KINESIS,
      read: READ,
      confirmed: 'unconfirmed',
    },
    efoConsumerShardHour: {
      usd: 0.015,
      unit: 'consumer-shard-hour (enhanced fan-out)',
      source: KINESIS,
      read: READ,
      confirmed: 'unconfirmed',
    },
    efoDataGb: {
      usd: 0.013,
      unit: 'GB retrieved (enhanced fan-out)',
      source: KINESIS,
      read: READ,
      confirmed: 'unconfirmed',
    },
  },
  kinesisOnDemand: {
    streamHour: {
      usd: 0.04,
      unit: 'stream-hour',
      source: KINESIS,
      read: READ,
      confirmed: 'unconfirmed',
    },
    dataInGb: {
      usd: 0.08,
      unit: 'GB ingested (records rounded up to 1 KB)',
      source: KINESIS,
      read: READ,
      confirmed: 'unconfirmed',
    },
    dataOutGb: {
      usd: 0.04,
      unit: 'GB retrieved (shared throughput)',
      source: KINESIS,
      read: READ,
      confirmed: 'unconfirmed',
    },
    efoDataOutGb: {
      usd: 0.05,
      unit: 'GB retrieved (enhanced fan-out)',
      source: KINESIS,
      read: READ,
      confirmed: 'unconfirmed',
    },
    extendedRetentionGbMonth: {
      usd: 0.1,
      unit: 'GB-month (retention 24 h to 7 days)',
      source: KINESIS,
      read: READ,
      confirmed: 'unconfirmed',
    },
  },
  mskServerless: {
    clusterHour: {
      usd: 0.75,
      unit: 'cluster-hour',
      source: MSK,
      read: READ,
      confirmed: 'unconfirmed',
    },
    partitionHour: {
      usd: 0.0015,
      unit: 'partition-hour',
      source: MSK,
      read: READ,
      confirmed: 'unconfirmed',
    },
    dataInGb: {
      usd: 0.1,
      unit: 'GB in',
      source: MSK,
      read: READ,
      confirmed: 'unconfirmed',
    },
    dataOutGb: {
      usd: 0.05,
      unit: 'GB out',
      source: MSK,
      read: READ,
      confirmed: 'unconfirmed',
    },
    storageGbMonth: {
      usd: 0.1,
      unit: 'GB-month',
      source: MSK,
      read: READ,
      confirmed: 'unconfirmed',
    },
  },
} as const satisfies Record<string, Record<string, Price>>;

export type PriceTable = {
  [Service in keyof typeof PRICES]: { [Item in keyof (typeof PRICES)[Service]]: Price };
};

/** Every price as rows, for the report. */
export function priceRows(
  table: PriceTable = PRICES,
): { service: string; item: string; price: Price }[] {
  const rows: { service: string; item: string; price: Price }[] = [];
  for (const [service, items] of Object.entries(table)) {
    for (const [item, price] of Object.entries(items as Record<string, Price>)) {
      rows.push({ service, item, price });
    }
  }
  return rows;
}
