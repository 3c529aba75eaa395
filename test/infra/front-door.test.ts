import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AccountRootPrincipal, Role } from 'aws-cdk-lib/aws-iam';
import { beforeAll, describe, expect, it } from 'vitest';
import { EventLog } from '../../lib/infra/event-log.js';
import { runNag, synthEventLogStack, testContext } from './synth.js';

/**
 * The front doors (function URLs by default, API Gateway's HTTP API as an option, a bearer
 * door beside either) and the grants, which now open the front door and write ACLs.
 */

// biome-ignore lint/suspicious/noExplicitAny: template JSON, read by shape
type Json = any;

function urls(template: Template): Json[] {
  return Object.values(template.findResources('AWS::Lambda::Url')).map((r: Json) => r.Properties);
}

describe('front doors', () => {
  it('defaults to a function URL with AWS_IAM on alias iam, no API Gateway, auth on', () => {
    const { template, stack } = synthEventLogStack({}, 'FrontDefault');
    template.resourceCountIs('AWS::ApiGatewayV2::Api', 0);
    expect(urls(template).map((u) => [u.AuthType, u.Qualifier])).toEqual([['AWS_IAM', 'iam']]);
    template.hasResourceProperties('AWS::Lambda::Alias', { Name: 'iam' });
    const api = Object.values(template.findResources('AWS::Lambda::Function')).find((f: Json) =>
      String(f.Properties.Description).includes('HTTP API'),
    ) as Json;
    expect(api.Properties.Environment.Variables.EVENTLOG_AUTH).toBe('on');
    const outputs = template.toJSON().Outputs as Json;
    expect(JSON.stringify(outputs.ApiUrl.Value)).toContain('FunctionUrl');
    expect(runNag(stack).violations).toEqual([]);
  });

  it('serves SigV4 and bearer callers from one deployment: two URLs on two aliases', () => {
    const { template } = synthEventLogStack(
      {
        eventLog: {
          bearer: { jwt: { issuer: 'https://issuer.example.com/', audience: 'eventlog' } },
        },
      },
      'FrontBoth',
    );
    expect(
      urls(template)
        .map((u) => u.AuthType)
        .sort(),
    ).toEqual(['AWS_IAM', 'NONE']);
    template.hasResourceProperties('AWS::Lambda::Alias', { Name: 'bearer' });
    // The NONE door is public at the resource policy: the API authenticates every request.
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunctionUrl',
      Principal: '*',
      FunctionUrlAuthType: 'NONE',
    });
    // Since October 2025 a function URL also needs lambda:InvokeFunction, only via the URL.
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      Principal: '*',
      InvokedViaFunctionUrl: true,
    });
    const api = Object.values(template.findResources('AWS::Lambda::Function')).find((f: Json) =>
      String(f.Properties.Description).includes('HTTP API'),
    ) as Json;
    expect(api.Properties.Environment.Variables).toMatchObject({
      EVENTLOG_AUTH: 'on',
      EVENTLOG_JWT_ISSUER: 'https://issuer.example.com/',
      EVENTLOG_JWT_AUDIENCE: 'eventlog',
    });
  });

  it('puts API Gateway with IAM on every route in front when asked', () => {
    const { template, stack } = synthEventLogStack(
      { eventLog: { frontDoor: 'httpApi' } },
      'FrontApigw',
    );
    template.resourceCountIs('AWS::ApiGatewayV2::Api', 1);
    for (const route of Object.values(template.findResources('AWS::ApiGatewayV2::Route'))) {
      expect((route as Json).Properties.AuthorizationType).toBe('AWS_IAM');
    }
    expect(urls(template)).toEqual([]);
    expect(runNag(stack).violations).toEqual([]);
  });
});

describe('grantProduce / grantConsume / grantAdmin', () => {
  const statementsOf = (template: Template, rolePrefix: string): Json[] =>
    Object.values(template.findResources('AWS::IAM::Policy'))
      .filter((policy: Json) => JSON.stringify(policy.Properties.Roles).includes(rolePrefix))
      .flatMap((policy: Json) => policy.Properties.PolicyDocument.Statement);

  const acls = (template: Template): Json[] =>
    Object.values(template.findResources('Custom::AWS')).map((r: Json) => {
      // {"Fn::Join": ["", [text, {Ref}, text, ...]]}: references become REF.
      const parts = r.Properties.Create['Fn::Join'][1] as unknown[];
      return JSON.parse(parts.map((p) => (typeof p === 'string' ? p : 'REF')).join(''));
    });

  let template: Template;
  let stack: Stack;
  beforeAll(() => {
    const app = new App({ context: testContext() });
    stack = new Stack(app, 'Grants');
    const eventLog = new EventLog(stack, 'EventLog');
    const producer = new Role(stack, 'Producer', { assumedBy: new AccountRootPrincipal() });
    const consumer = new Role(stack, 'Consumer', {
      assumedBy: new AccountRootPrincipal(),
      path: '/team/payments/',
    });
    const admin = new Role(stack, 'Admin', { assumedBy: new AccountRootPrincipal() });
    eventLog.grantProduce(producer, 'orders');
    eventLog.grantConsume(consumer, 'payments.*', 'billing');
    eventLog.grantAdmin(admin);
    expect(() => eventLog.grantProduce(producer, 'orders/../*')).toThrow(/not a topic name/);
    expect(() => eventLog.grantConsume(consumer, 'orders', 'a*b')).toThrow(/not a group name/);
    template = Template.fromStack(stack);
  });

  it('opens the IAM function URL, and Invoke only through the URL (no forged request context)', () => {
    const statements = statementsOf(template, 'Producer');
    expect(statements.map((s) => s.Action).sort()).toEqual([
      'lambda:InvokeFunction',
      'lambda:InvokeFunctionUrl',
    ]);
    const invoke = statements.find((s) => s.Action === 'lambda:InvokeFunction');
    expect(invoke.Condition).toEqual({ Bool: { 'lambda:InvokedViaFunctionUrl': 'true' } });
    expect(JSON.stringify(invoke.Resource)).toContain('ApiIamAlias');
  });

  it('writes one ACL item per binding, naming the role without its path', () => {
    const items = acls(template).map((c) => c.parameters.Item);
    const summary = items.map(
      (i) =>
        `${i.resourceType.S} ${i.patternType.S} ${i.resourceName.S} ${i.operation.S} ${i.permission.S}`,
    );
    expect(summary.sort()).toEqual(
      [
        'topic literal orders produce allow',
        'producer literal * produce allow',
        'topic prefixed payments. consume allow',
        'group literal billing consume allow',
        'cluster literal eventlog admin allow',
      ].sort(),
    );
    for (const item of items) expect(item.pk).toEqual({ S: 'acls' });
    const principals = JSON.stringify(items.map((i) => i.principal));
    expect(principals).toContain(':role/');
    expect(principals).not.toContain('team/payments');
  });

  it('passes cdk-nag with the ACL writer in the stack', () => {
    expect(runNag(stack).violations).toEqual([]);
  });
});
