import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AccountRootPrincipal, Role } from 'aws-cdk-lib/aws-iam';
import { beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../lib/api/app.js';
import type { Broker } from '../../lib/broker/broker.js';
import { ADMIN_ONLY_ROUTES, API_ACCESS, routeMatches } from '../../lib/infra/api-access.js';
import { EventLog } from '../../lib/infra/event-log.js';
import { testContext } from './synth.js';

/** Every route the API registers in its OpenAPI registry, with sample path parameters. */
function documentedRoutes(): { method: string; path: string; template: string }[] {
  // Registering routes touches no store, so a broker is not needed to read the registry.
  const app = createApp({ broker: {} as Broker, clusterId: 'c1' });
  const samples: Record<string, string> = {
    topic: 'orders',
    topic_name: 'orders',
    partition: '0',
    cluster_id: 'c1',
    group: 'billing',
    group_name: 'billing',
    member: 'm1',
    instance: 'i1',
  };
  return app.openAPIRegistry.definitions.flatMap((definition) => {
    if (definition.type !== 'route') return [];
    const { method, path: template } = definition.route;
    return [
      {
        method: method.toUpperCase(),
        template,
        path: template.replaceAll(/{(\w+)}/g, (_, name: string) => samples[name] ?? 'x'),
      },
    ];
  });
}

describe('API access levels against the routes lib/api registers', () => {
  let routes: { method: string; path: string; template: string }[];
  beforeAll(() => {
    routes = documentedRoutes();
  });

  it('finds the routes', () => {
    expect(routes.length).toBeGreaterThan(10);
  });

  it('classifies every route: produce, consume, or admin only', () => {
    const unclassified = routes.filter(
      ({ method, path, template }) =>
        !ADMIN_ONLY_ROUTES.includes(`${method} ${template}`) &&
        ![...API_ACCESS.produce, ...API_ACCESS.consume].some((pattern) =>
          routeMatches(pattern, method, path),
        ),
    );
    expect(
      unclassified.map((r) => `${r.method} ${r.template}`),
      'add each to API_ACCESS or ADMIN_ONLY_ROUTES in lib/infra/api-access.ts',
    ).toEqual([]);
  });

  it('lets admin call every route', () => {
    for (const { method, path } of routes) {
      expect(API_ACCESS.admin.some((p) => routeMatches(p, method, path))).toBe(true);
    }
  });

  it('covers each produce and consume route of the API', () => {
    const covered = (access: 'produce' | 'consume', method: string, path: string) =>
      API_ACCESS[access].some((p) =>
        routeMatches(p, method, path, { topic: 'orders', group: 'billing' }),
      );
    expect(covered('produce', 'POST', '/v1/topics/orders/records')).toBe(true);
    expect(covered('produce', 'POST', '/topics/orders')).toBe(true);
    expect(covered('produce', 'POST', '/topics/orders/partitions/3')).toBe(true);
    expect(covered('produce', 'POST', '/v3/clusters/c1/topics/orders/records')).toBe(true);
    expect(covered('produce', 'POST', '/v1/producers')).toBe(true);
    expect(covered('consume', 'GET', '/v1/topics/orders/partitions/0/records')).toBe(true);
    expect(covered('consume', 'GET', '/v1/topics/orders/offsets')).toBe(true);
    expect(covered('consume', 'GET', '/v1/topics/orders/partitions/0/offsets')).toBe(true);
    expect(covered('consume', 'POST', '/v1/groups/billing/commits')).toBe(true);
    expect(covered('consume', 'POST', '/v1/groups/billing/members/m1/heartbeat')).toBe(true);
    expect(covered('consume', 'DELETE', '/v1/groups/billing/members/m1')).toBe(true);
    expect(covered('consume', 'GET', '/v1/groups/billing/offsets')).toBe(true);
    expect(covered('consume', 'POST', '/consumers/billing')).toBe(true);
    expect(covered('consume', 'GET', '/consumers/billing/instances/i1/records')).toBe(true);
    // Producers cannot read, consumers cannot write.
    expect(covered('produce', 'GET', '/v1/topics/orders/partitions/0/records')).toBe(false);
    expect(covered('consume', 'POST', '/v1/topics/orders/records')).toBe(false);
  });

  it('keeps topic and group administration away from producers and consumers', () => {
    const administrative = routes.filter(({ method, template }) =>
      ADMIN_ONLY_ROUTES.includes(`${method} ${template}`),
    );
    expect(administrative).toHaveLength(ADMIN_ONLY_ROUTES.length);
    for (const { method, path, template } of administrative) {
      for (const access of ['produce', 'consume'] as const) {
        expect(
          API_ACCESS[access].some((p) => routeMatches(p, method, path)),
          `${access} reaches ${method} ${template}`,
        ).toBe(false);
      }
    }
  });

  it('scopes a grant to its topic and group', () => {
    const scope = { topic: 'orders', group: 'billing' };
    for (const access of ['produce', 'consume'] as const) {
      for (const { method, path } of routes) {
        for (const [mine, other] of [
          ['orders', 'payments'],
          ['billing', 'shipping'],
        ] as const) {
          if (!path.includes(mine)) continue;
          const elsewhere = path.replace(mine, other);
          expect(
            API_ACCESS[access].some((p) => routeMatches(p, method, elsewhere, scope)),
            `${access} on ${JSON.stringify(scope)} reaches ${method} ${elsewhere}`,
          ).toBe(false);
        }
      }
    }
  });
});

describe('grantProduce / grantConsume / grantAdmin', () => {
  const resourcesOf = (template: Template, roleLogicalIdPrefix: string): string[] => {
    const policies = Object.values(template.findResources('AWS::IAM::Policy')).filter((policy) =>
      JSON.stringify(policy.Properties.Roles).includes(roleLogicalIdPrefix),
    );
    return policies.flatMap((policy) =>
      (policy.Properties.PolicyDocument.Statement as { Action: string; Resource: unknown }[])
        .filter((statement) => statement.Action === 'execute-api:Invoke')
        .flatMap((statement) =>
          Array.isArray(statement.Resource) ? statement.Resource : [statement.Resource],
        )
        .map((arn) => {
          // Fn::Join ['', ['arn:', partition, ':execute-api:', region, ':', account, ':', api, '/*/POST/...']]
          const parts = (arn as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1];
          return String(parts[parts.length - 1]);
        }),
    );
  };

  let template: Template;
  beforeAll(() => {
    const app = new App({ context: testContext() });
    const stack = new Stack(app, 'Grants');
    const eventLog = new EventLog(stack, 'EventLog');
    const producer = new Role(stack, 'Producer', { assumedBy: new AccountRootPrincipal() });
    const consumer = new Role(stack, 'Consumer', { assumedBy: new AccountRootPrincipal() });
    const admin = new Role(stack, 'Admin', { assumedBy: new AccountRootPrincipal() });
    eventLog.grantProduce(producer, 'orders');
    eventLog.grantConsume(consumer, '*', 'billing');
    eventLog.grantAdmin(admin);
    expect(() => eventLog.grantProduce(producer, 'orders/../*')).toThrow(/not a topic name/);
    expect(() => eventLog.grantConsume(consumer, 'orders', 'a/b')).toThrow(/not a group name/);
    template = Template.fromStack(stack);
  });

  it('grants execute-api:Invoke on the produce routes of one topic, any stage', () => {
    expect(resourcesOf(template, 'Producer').sort()).toEqual(
      [
        '/*/POST/v1/topics/orders/records',
        '/*/POST/topics/orders',
        '/*/POST/topics/orders/partitions/*',
        '/*/POST/v3/clusters/*/topics/orders/records',
        '/*/POST/v1/producers',
        '/*/GET/v1/topics/orders',
        '/*/GET/topics/orders',
        '/*/GET/v3/clusters/*/topics/orders',
        '/*/GET/v3/clusters',
      ].sort(),
    );
  });

  it('grants consume on every topic by default and on the group given, and admin on everything', () => {
    const consume = resourcesOf(template, 'Consumer');
    expect(consume).toContain('/*/GET/v1/topics/*/partitions/*/records');
    expect(consume).toContain('/*/POST/v1/groups/billing/commits');
    expect(consume).toContain('/*/*/consumers/billing/instances/*');
    expect(consume.filter((arn) => arn.includes('/POST/v1/topics'))).toEqual([]);
    expect(resourcesOf(template, 'Admin')).toEqual(['/*/*/*']);
  });
});
