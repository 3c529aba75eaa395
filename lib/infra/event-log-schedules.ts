/**
 * What runs the retention and dispatch functions: EventBridge schedules, and for the
 * dispatcher also a notification from the produce path.
 */
import { ArnFormat, type Duration, Fn, Stack } from 'aws-cdk-lib';
import type { HttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { Construct } from 'constructs';
import { BOOTSTRAP_SERVERS_ENV_VAR, DISPATCH_FUNCTION_ENV_VAR } from '../store/resources.js';
import { type EventLogFunctionName, pascalCase } from './event-log-functions.js';

/** Runs a function on a schedule with EventBridge's "Scheduled Event" payload. */
export function scheduleFor(
  scope: Construct,
  name: EventLogFunctionName,
  fn: NodejsFunction,
  every: Duration,
): Rule {
  return new Rule(scope, `${pascalCase(name)}Schedule`, {
    description: `Runs the event log ${name} function every ${every.toHumanString()}`,
    schedule: Schedule.rate(every),
    targets: [
      new LambdaFunction(fn, {
        // The next run does the same work; retries would only pile up behind it.
        retryAttempts: 0,
        maxEventAge: every,
      }),
    ],
  });
}

/** The functions and front door that connectDispatcher wires together. */
export interface DispatcherWiring {
  api: NodejsFunction;
  dispatch: NodejsFunction;
  /** The dispatcher's fixed name with a function URL front door; undefined with the HTTP API. */
  dispatchFunctionName: string | undefined;
  httpApi: HttpApi | undefined;
  apiUrl: string;
}

/**
 * The produce path notifies the dispatcher (an asynchronous invoke from the api function,
 * allowed on that one function only), and a schedule runs it as a safety net. The consumers'
 * own invoke rights come from EventLogConsumer.
 */
export function connectDispatcher(
  scope: Construct,
  wiring: DispatcherWiring,
  every: Duration,
): void {
  const { api, dispatch, dispatchFunctionName, httpApi, apiUrl } = wiring;
  const stack = Stack.of(scope);
  // With a function URL, the dispatcher's environment names the URL, which hangs on the api
  // function: the api side must then name the dispatcher without a reference to it (its
  // fixed name, in an ARN of pseudo parameters), or CloudFormation sees a cycle.
  const dispatchName = dispatchFunctionName ?? dispatch.functionName;
  const dispatchArn =
    dispatchFunctionName === undefined
      ? dispatch.functionArn
      : stack.formatArn({
          service: 'lambda',
          resource: 'function',
          resourceName: dispatchFunctionName,
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        });
  api.addEnvironment(DISPATCH_FUNCTION_ENV_VAR, dispatchName);
  api.role?.addToPrincipalPolicy(
    new PolicyStatement({
      effect: Effect.ALLOW,
      actions: ['lambda:InvokeFunction'],
      resources: [dispatchArn],
    }),
  );
  dispatch.addEnvironment(
    BOOTSTRAP_SERVERS_ENV_VAR,
    httpApi !== undefined
      ? `${httpApi.apiId}.execute-api.${stack.region}.${stack.urlSuffix}:443`
      : `${Fn.select(2, Fn.split('/', apiUrl))}:443`,
  );
  scheduleFor(scope, 'dispatch', dispatch, every);
}
