import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { EventLogError } from '../log/errors.js';
import { awsErrorName, mapAwsError } from './aws-errors.js';

/**
 * Invoking Lambda functions: the consumers the dispatcher delivers to (synchronously), and the
 * dispatcher itself when a produce notifies it (asynchronously). Locally the same client talks
 * to the local server's invoke endpoint (lib/local/lambda-endpoint.ts), so both paths are the
 * real SDK's.
 */

export interface InvokeResult {
  /** The function's answer, or its error document when `functionError` is set. */
  payload: Uint8Array;
  /** Lambda's X-Amz-Function-Error: the function threw, timed out or ran out of memory. */
  functionError?: string;
  /** The HTTP status of the answer (200 for RequestResponse), the version that ran, the request id. */
  statusCode?: number;
  executedVersion?: string;
  requestId?: string;
}

export interface FunctionInvoker {
  /**
   * RequestResponse. A function error is an answer (`functionError`), not a throw. Throws
   * TIMEOUT when `signal` aborts first; otherwise an EventLogError whose
   * `details.reachedFunction` says whether the function may have run (see invokeError).
   */
  invoke(functionName: string, payload: Uint8Array, signal?: AbortSignal): Promise<InvokeResult>;
  /** InvocationType Event: queued by Lambda, answered 202 before the function runs. */
  invokeAsync(functionName: string, payload: Uint8Array, signal?: AbortSignal): Promise<void>;
}

export class LambdaFunctionInvoker implements FunctionInvoker {
  constructor(private readonly lambda: LambdaClient) {}

  async invoke(
    functionName: string,
    payload: Uint8Array,
    signal?: AbortSignal,
  ): Promise<InvokeResult> {
    try {
      const response = await this.lambda.send(
        new InvokeCommand({
          FunctionName: functionName,
          InvocationType: 'RequestResponse',
          Payload: payload,
        }),
        signal === undefined ? {} : { abortSignal: signal },
      );
      return {
        payload: response.Payload ?? new Uint8Array(0),
        ...(response.FunctionError === undefined ? {} : { functionError: response.FunctionError }),
        ...(response.StatusCode === undefined ? {} : { statusCode: response.StatusCode }),
        ...(response.ExecutedVersion === undefined
          ? {}
          : { executedVersion: response.ExecutedVersion }),
        ...(response.$metadata.requestId === undefined
          ? {}
          : { requestId: response.$metadata.requestId }),
      };
    } catch (error) {
      if (signal?.aborted === true || awsErrorName(error) === 'AbortError') {
        throw new EventLogError('TIMEOUT', `Invoking ${functionName} did not finish in time`, {
          cause: error,
        });
      }
      throw invokeError(error, functionName);
    }
  }

  async invokeAsync(
    functionName: string,
    payload: Uint8Array,
    signal?: AbortSignal,
  ): Promise<void> {
    try {
      await this.lambda.send(
        new InvokeCommand({
          FunctionName: functionName,
          InvocationType: 'Event',
          Payload: payload,
        }),
        signal === undefined ? {} : { abortSignal: signal },
      );
    } catch (error) {
      throw invokeError(error, functionName);
    }
  }
}

/**
 * An Invoke that threw. With an HTTP status, Lambda answered and the function did not run
 * (unknown function, no permission, throttled, a Lambda fault): `reachedFunction: false`.
 * Without one (a reset connection, a socket error) the function may have run: `'unknown'`,
 * which the dispatcher counts as a failed attempt, as it counts a timeout.
 */
function invokeError(error: unknown, functionName: string): EventLogError {
  const mapped = mapAwsError(error, `Invoking ${functionName}`);
  const status = (error as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata
    ?.httpStatusCode;
  return new EventLogError(mapped.code, mapped.message, {
    cause: error,
    // Nothing was delivered for sure, so the same invocation may be sent again.
    retriable: true,
    details: {
      functionName,
      reachedFunction: status === undefined ? 'unknown' : false,
      awsError: awsErrorName(error) ?? null,
      ...(status === undefined ? {} : { httpStatus: status }),
    },
  });
}
