import { OpenAPIHono, type RouteConfig, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { describe, expect, it } from 'vitest';
import { errorResponseParts } from '../../../lib/api/error-mapping.js';
import {
  CHECK_RESPONSES_ENV,
  checkResponsesFromEnv,
  checkResponsesOf,
  streamedAnswer,
  withResponseCheck,
} from '../../../lib/api/response-check.js';
import { toEventLogError } from '../../../lib/log/errors.js';

const TopicSchema = z.object({ name: z.string(), partitions: z.number().int() });

const config: RouteConfig = {
  method: 'get',
  path: '/v1/topics/{topic}',
  responses: {
    200: { description: 'The topic', content: { 'application/json': { schema: TopicSchema } } },
  },
};

/** An app serving one handler under `config`, mapping thrown errors as createApp does. */
function appAnswering(answer: (c: Context) => Response, checked = true): OpenAPIHono {
  const app = new OpenAPIHono();
  if (checked) checkResponsesOf(app);
  app.get('/v1/topics/:topic', withResponseCheck(app, config, answer));
  app.onError((thrown, c) => {
    const { status, body } = errorResponseParts(toEventLogError(thrown));
    return c.json(body, status);
  });
  return app;
}

describe('response check', () => {
  it('passes an answer that matches the declared schema', async () => {
    const app = appAnswering((c) => c.json({ name: 'orders', partitions: 3 }));
    const response = await app.request('/v1/topics/orders');
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ name: 'orders', partitions: 3 });
  });

  it('turns a wrong answer into an INTERNAL error naming the route and the member', async () => {
    const app = appAnswering((c) => c.json({ name: 'orders', partitions: '3' }));
    const response = await app.request('/v1/topics/orders');
    expect(response.status).toBe(500);
    const body = (await response.json()) as { code: string; message: string };
    expect(body.code).toBe('INTERNAL');
    expect(body.message).toContain('GET /v1/topics/{topic}');
    expect(body.message).toContain('partitions');
  });

  it('refuses a 2xx JSON status the route does not declare', async () => {
    const app = appAnswering((c) => c.json({ name: 'orders', partitions: 3 }, 201));
    const response = await app.request('/v1/topics/orders');
    expect(response.status).toBe(500);
    expect(((await response.json()) as { message: string }).message).toContain('201');
  });

  it('checks each CRLF-separated value, as Confluent v3 produce answers one report per line', async () => {
    const lines = (second: unknown) =>
      `${JSON.stringify({ name: 'a', partitions: 1 })}\r\n${JSON.stringify(second)}\r\n`;
    const json = { 'content-type': 'application/json' };
    const good = appAnswering(
      () => new Response(lines({ name: 'b', partitions: 2 }), { headers: json }),
    );
    expect((await good.request('/v1/topics/orders')).status).toBe(200);
    const bad = appAnswering(() => new Response(lines({ name: 'b' }), { headers: json }));
    const response = await bad.request('/v1/topics/orders');
    expect(response.status).toBe(500);
    expect(((await response.json()) as { message: string }).message).toContain('partitions');
  });

  it('checks a streamed answer value by value as it passes, without holding it back', async () => {
    const encoder = new TextEncoder();
    const line = (value: unknown) => encoder.encode(`${JSON.stringify(value)}\r\n`);
    // The stream's second value waits for the test: the first must reach the client before it.
    let release: (() => void) | undefined;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const streamed = (second: unknown) => () =>
      streamedAnswer(
        new Response(
          new ReadableStream<Uint8Array>({
            async start(controller) {
              controller.enqueue(line({ name: 'a', partitions: 1 }));
              await released;
              // One value split over two chunks is checked once it is whole.
              const bytes = line(second);
              controller.enqueue(bytes.subarray(0, 5));
              controller.enqueue(bytes.subarray(5));
              controller.close();
            },
          }),
          { headers: { 'content-type': 'application/json' } },
        ),
      );
    const good = await appAnswering(streamed({ name: 'b', partitions: 2 })).request('/v1/topics/x');
    expect(good.status).toBe(200);
    const reader = good.body!.pipeThrough(new TextDecoderStream()).getReader();
    expect((await reader.read()).value).toBe('{"name":"a","partitions":1}\r\n');
    release?.();
    let rest = '';
    for (let read = await reader.read(); !read.done; read = await reader.read()) rest += read.value;
    expect(rest).toBe('{"name":"b","partitions":2}\r\n');

    const bad = await appAnswering(streamed({ name: 'b' })).request('/v1/topics/x');
    expect(bad.status).toBe(200);
    await expect(bad.text()).rejects.toThrow(
      /GET \/v1\/topics\/\{topic\} answered 200 against its schema: partitions/,
    );
  });

  it('leaves errors, bodies that are not JSON and unchecked apps alone', async () => {
    const error = appAnswering((c) => c.json({ anything: true }, 404));
    expect((await error.request('/v1/topics/orders')).status).toBe(404);
    const text = appAnswering((c) => c.text('plain'));
    expect(await (await text.request('/v1/topics/orders')).text()).toBe('plain');
    const unchecked = appAnswering((c) => c.json({ name: 1 }), false);
    expect((await unchecked.request('/v1/topics/orders')).status).toBe(200);
  });
});

describe('checkResponsesFromEnv', () => {
  it('is off unless the variable says on, and refuses anything but on or off', () => {
    expect(checkResponsesFromEnv({})).toBe(false);
    expect(checkResponsesFromEnv({ [CHECK_RESPONSES_ENV]: '' })).toBe(false);
    expect(checkResponsesFromEnv({ [CHECK_RESPONSES_ENV]: 'off' })).toBe(false);
    expect(checkResponsesFromEnv({ [CHECK_RESPONSES_ENV]: 'on' })).toBe(true);
    expect(() => checkResponsesFromEnv({ [CHECK_RESPONSES_ENV]: 'yes' })).toThrow(
      'EVENTLOG_CHECK_RESPONSES must be on or off, got "yes"',
    );
  });
});
