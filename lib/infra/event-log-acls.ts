/**
 * The ACLs that grantProduce / grantConsume / grantAdmin write: one item per binding in the
 * groups table, put by a custom resource when the stack deploys and deleted with it.
 */
import { createHash } from 'node:crypto';
import { Aws, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import type { Table } from 'aws-cdk-lib/aws-dynamodb';
import { type IGrantable, type IRole, type IUser, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import {
  AwsCustomResource,
  AwsCustomResourcePolicy,
  PhysicalResourceId,
} from 'aws-cdk-lib/custom-resources';
import type { Construct, IConstruct } from 'constructs';
import type { Operation, PatternType, ResourceType } from '../log/acl.js';
import { acknowledge } from './acknowledge.js';

/**
 * Writes the ACL items of one EventLog. Its custom resources and their log group are children
 * of the EventLog construct itself, so that their construct ids (and the templates' logical
 * ids) do not depend on where this code lives.
 */
export class EventLogAclWriter {
  private readonly scope: Construct;
  /** The groups table, which holds the ACLs. */
  private readonly table: Table;
  private aclCount = 0;
  private aclWriterLogGroup: LogGroup | undefined;

  constructor(scope: Construct, table: Table) {
    this.scope = scope;
    this.table = table;
  }

  /**
   * One ACL item per binding in the groups table (pk `acls`), written by a custom resource
   * when the stack deploys and deleted with it (lib/store/auth-store.ts has the layout).
   */
  write(grantee: IGrantable, bindings: [ResourceType, string, Operation][]): void {
    const principal = principalOfGrantee(grantee);
    // Every name checked before anything is written: a bad one leaves no half grant.
    const patterns = bindings.map(([type, name]) => aclPattern(type, name));
    for (const [i, [type, name, operation]] of bindings.entries()) {
      const { patternType, resourceName } = patterns[i] as ReturnType<typeof aclPattern>;
      const index = this.aclCount++;
      const id = `cdk-${createHash('sha256')
        .update(`${this.scope.node.path}|${index}|${type}|${name}|${operation}`)
        .digest('hex')
        .slice(0, 24)}`;
      const table = this.table;
      const Item = {
        pk: { S: 'acls' },
        sk: { S: id },
        principal: { S: principal },
        resourceType: { S: type },
        patternType: { S: patternType },
        resourceName: { S: resourceName },
        operation: { S: operation },
        permission: { S: 'allow' },
        source: { S: 'cdk' },
        createdAt: { N: '0' },
      };
      const put = {
        service: 'DynamoDB',
        action: 'putItem',
        parameters: { TableName: table.tableName, Item },
        physicalResourceId: PhysicalResourceId.of(id),
      };
      const resource = new AwsCustomResource(this.scope, `Acl${index}`, {
        onCreate: put,
        onUpdate: put,
        onDelete: {
          service: 'DynamoDB',
          action: 'deleteItem',
          parameters: { TableName: table.tableName, Key: { pk: { S: 'acls' }, sk: { S: id } } },
        },
        policy: AwsCustomResourcePolicy.fromStatements([
          new PolicyStatement({
            actions: ['dynamodb:PutItem', 'dynamodb:DeleteItem'],
            resources: [table.tableArn],
          }),
        ]),
        installLatestAwsSdk: false,
        logGroup: this.aclWriterLogs(),
      });
      table.encryptionKey?.grant(resource, 'kms:Encrypt', 'kms:Decrypt', 'kms:GenerateDataKey');
      this.acknowledgeAclWriter();
    }
  }

  private aclWriterLogs(): LogGroup {
    this.aclWriterLogGroup ??= new LogGroup(this.scope, 'AclWriterLogs', {
      retention: RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    return this.aclWriterLogGroup;
  }

  private acknowledgeAclWriter(): void {
    const provider = Stack.of(this.scope).node.tryFindChild('AWS679f53fac002430cb0da5b7982bd2287');
    if (provider === undefined || (provider as { acknowledged?: boolean }).acknowledged) return;
    (provider as { acknowledged?: boolean }).acknowledged = true;
    const role = provider.node.tryFindChild('ServiceRole');
    if (role !== undefined) {
      acknowledge(
        role,
        'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        'The CDK AwsCustomResource provider that writes the ACLs of grantProduce/grantConsume/grantAdmin at deploy time runs only then; its basic execution role writes its own logs.',
      );
    }
    acknowledge(
      provider,
      'AwsSolutions-L1',
      'The runtime of the CDK AwsCustomResource provider is chosen by aws-cdk-lib (its latest tested Node.js); it runs only at deploy time to write ACL items.',
    );
  }
}

/**
 * The ACL pattern of a grant's name: `*` every name, `orders*` every name starting with
 * `orders` (prefixed), anything else that name (literal).
 */
export function aclPattern(
  type: ResourceType,
  name: string,
): { patternType: PatternType; resourceName: string } {
  if (Token.isUnresolved(name)) return { patternType: 'literal', resourceName: name };
  if (name === '*') return { patternType: 'literal', resourceName: '*' };
  if (!/^[a-zA-Z0-9._-]{1,249}\*?$/.test(name)) {
    throw new Error(
      `"${name}" is not a ${type} name or pattern: use ASCII letters, digits, '.', '_', '-', '*' alone or one trailing '*' for a prefix`,
    );
  }
  return name.endsWith('*')
    ? { patternType: 'prefixed', resourceName: name.slice(0, -1) }
    : { patternType: 'literal', resourceName: name };
}

/**
 * The principal an ACL names for a grantee: a role as `iam:arn:PARTITION:iam::ACCOUNT:role/NAME`
 * (no path: its sessions arrive as assumed-role/NAME/SESSION, lib/log/acl.ts), a user by its ARN.
 */
function principalOfGrantee(grantee: IGrantable): string {
  const principal = grantee.grantPrincipal as unknown as Partial<IRole & IUser> & IConstruct;
  if (typeof principal.roleName === 'string') {
    const account = principal.env?.account ?? Aws.ACCOUNT_ID;
    return `iam:arn:${Aws.PARTITION}:iam::${account}:role/${principal.roleName}`;
  }
  if (typeof principal.userArn === 'string') return `iam:${principal.userArn}`;
  throw new Error(
    'EventLog grants name an IAM role or user (the ACL principal comes from it); grant other principals with ACLs through the API or the CLI',
  );
}
