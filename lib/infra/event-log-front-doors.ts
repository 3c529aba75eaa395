/**
 * The front doors of the api function: the IAM door (a function URL with AWS_IAM on alias `iam`,
 * or API Gateway's HTTP API with IAM authorization), the bearer door (a function URL with auth
 * NONE on alias `bearer`), the right to call the IAM door, and the api function's auth settings.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  HttpApi,
  HttpMethod,
  HttpNoneAuthorizer,
  HttpStage,
  LogGroupLogDestination,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { Grant, type IGrantable } from 'aws-cdk-lib/aws-iam';
import {
  Alias,
  type FunctionUrl,
  FunctionUrlAuthType,
  type IVersion,
} from 'aws-cdk-lib/aws-lambda';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { AUTH_ENV } from '../api/auth-config.js';
import { acknowledge } from './acknowledge.js';
import type { EventLogAuthorization, EventLogProps } from './event-log-props.js';

/** The IAM door as API Gateway's HTTP API: one catch-all route to `api`, with access logs. */
export function createHttpApi(
  scope: Construct,
  api: NodejsFunction,
  authorization: EventLogAuthorization,
  props: EventLogProps,
  logRetention: RetentionDays,
  retain: boolean,
): { httpApi: HttpApi; url: string } {
  const iam = authorization === 'iam';
  const httpApi = new HttpApi(scope, 'HttpApi', {
    description: 'Event log HTTP API',
    defaultAuthorizer: iam ? new HttpIamAuthorizer() : new HttpNoneAuthorizer(),
    // The default stage is created below, with access logs.
    createDefaultStage: false,
  });
  const accessLogs = new LogGroup(scope, 'ApiAccessLogs', {
    retention: logRetention,
    removalPolicy: retain ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
  });
  const stage = new HttpStage(scope, 'DefaultStage', {
    httpApi,
    stageName: '$default',
    autoDeploy: true,
    accessLogSettings: {
      destination: new LogGroupLogDestination(accessLogs),
      format: AccessLogFormat.custom(
        JSON.stringify({
          requestId: '$context.requestId',
          ip: '$context.identity.sourceIp',
          caller: '$context.identity.caller',
          user: '$context.identity.userArn',
          requestTime: '$context.requestTime',
          method: '$context.httpMethod',
          path: '$context.path',
          status: '$context.status',
          protocol: '$context.protocol',
          responseLength: '$context.responseLength',
          integrationLatency: '$context.integrationLatency',
          integrationError: '$context.integrationErrorMessage',
        }),
      ),
    },
    ...(props.throttle === undefined ? {} : { throttle: props.throttle }),
  });

  // One catch-all route: Hono routes and answers 404s in our JSON error format, and IAM
  // still authorizes per route because the execute-api ARN carries the request's path.
  const integration = new HttpLambdaIntegration('ApiIntegration', api);
  const routes = httpApi.addRoutes({ path: '/{proxy+}', methods: [HttpMethod.ANY], integration });
  if (!iam) {
    for (const route of routes) {
      acknowledge(
        route,
        'AwsSolutions-APIG4',
        'authorization: "none" was chosen explicitly for a development stack; the default is IAM (SigV4).',
      );
    }
  }
  return { httpApi, url: stage.url };
}

/** The IAM door as a function URL (AWS_IAM) on alias `iam`; NONE with authorization none. */
export function createIamFunctionUrl(
  scope: Construct,
  api: NodejsFunction,
  authorization: EventLogAuthorization,
): { alias: Alias; functionUrl: FunctionUrl } {
  const alias = new Alias(scope, 'ApiIamAlias', {
    aliasName: 'iam',
    version: currentVersion(api),
    description: 'The api function behind the SigV4 function URL',
  });
  const functionUrl = alias.addFunctionUrl({
    authType: authorization === 'iam' ? FunctionUrlAuthType.AWS_IAM : FunctionUrlAuthType.NONE,
  });
  return { alias, functionUrl };
}

/**
 * The bearer door: a function URL with auth NONE, on its own alias (one function may have
 * one URL per qualifier). The API refuses every request on it that has no valid API key or
 * JWT; no SigV4 identity can appear there, since Lambda builds the request context.
 */
export function createBearerFunctionUrl(scope: Construct, api: NodejsFunction): FunctionUrl {
  const alias = new Alias(scope, 'ApiBearerAlias', {
    aliasName: 'bearer',
    version: currentVersion(api),
    description: 'The api function behind the bearer-token (API key, JWT) function URL',
  });
  return alias.addFunctionUrl({ authType: FunctionUrlAuthType.NONE });
}

/**
 * The right to call the IAM front door at all (what a caller may do there is the ACLs'
 * business): execute-api:Invoke on the HTTP API, or lambda:InvokeFunctionUrl plus
 * lambda:InvokeFunction on the `iam` alias. InvokeFunction is conditioned on
 * lambda:InvokedViaFunctionUrl: a direct Invoke would let the caller write the request
 * context, its identity included, itself.
 */
export function grantFrontDoor(
  grantee: IGrantable,
  door: { httpApi: HttpApi } | { iamAlias: Alias },
): Grant {
  if ('httpApi' in door) {
    return Grant.addToPrincipal({
      grantee,
      actions: ['execute-api:Invoke'],
      resourceArns: [door.httpApi.arnForExecuteApi('*', '/*', '*')],
    });
  }
  const alias = door.iamAlias;
  const url = Grant.addToPrincipal({
    grantee,
    actions: ['lambda:InvokeFunctionUrl'],
    resourceArns: [alias.functionArn],
    conditions: { StringEquals: { 'lambda:FunctionUrlAuthType': 'AWS_IAM' } },
  });
  const invoke = Grant.addToPrincipal({
    grantee,
    actions: ['lambda:InvokeFunction'],
    resourceArns: [alias.functionArn],
    conditions: { Bool: { 'lambda:InvokedViaFunctionUrl': 'true' } },
  });
  return url.combine(invoke);
}

/** The api function's authorization settings (lib/api/auth-config.ts reads them). */
export function authEnvironment(
  authorization: EventLogAuthorization,
  props: EventLogProps,
): Record<string, string> {
  if (authorization === 'none') return { [AUTH_ENV.mode]: 'off' };
  const jwt = props.bearer?.jwt;
  return {
    [AUTH_ENV.mode]: 'on',
    ...(jwt === undefined
      ? {}
      : {
          [AUTH_ENV.jwtIssuer]: jwt.issuer,
          [AUTH_ENV.jwtAudience]: jwt.audience,
          ...(jwt.principalClaim === undefined
            ? {}
            : { [AUTH_ENV.jwtPrincipalClaim]: jwt.principalClaim }),
          ...(jwt.jwksUrl === undefined ? {} : { [AUTH_ENV.jwtJwksUrl]: jwt.jwksUrl }),
        }),
    ...(props.rateLimit === undefined
      ? {}
      : {
          [AUTH_ENV.rateLimit]: String(props.rateLimit.requestsPerSecond),
          ...(props.rateLimit.burst === undefined
            ? {}
            : { [AUTH_ENV.rateBurst]: String(props.rateLimit.burst) }),
        }),
  };
}

/**
 * The function's current version as an IVersion. aws-cdk-lib's declarations are not written for
 * exactOptionalPropertyTypes (the Version class declares optional members as `T | undefined`,
 * its IVersion interface as `T`), so the class does not satisfy its own interface under it.
 */
function currentVersion(fn: NodejsFunction): IVersion {
  return fn.currentVersion as IVersion;
}
