import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBroker, createStores } from '../../lib/broker/broker.js';
import { Admin, Consumer, Producer } from '../../lib/client/index.js';
import { buildConsole } from '../../lib/console/build.js';
import { type ApiServer, startApiServer } from '../../lib/local/server.js';
import { testClients, testNames, uniqueName } from '../helpers/aws.js';
import { ensureChromium, launchChromium } from '../helpers/chromium.js';

/**
 * The web console in headless Chromium against the local server, as a user clicks through it:
 * create a topic, produce from the form, find the records in the browser at their offsets, and
 * watch a group's lag rise while its consumer is away and fall to zero as it catches up. Every
 * page is photographed into test-output/console/, and the browser's log must stay free of
 * errors throughout.
 *
 * Time bound: 3 minutes for the run (a few seconds of it per page; the console refreshes every
 * 2 s), plus up to 10 minutes once per machine for apt-get to install Chromium.
 */

const SHOTS = resolve(import.meta.dirname, '../../test-output/console');
const RUN_MS = 180_000;

let server: ApiServer;
let browser: Browser;
let page: Page;
const browserErrors: string[] = [];

beforeAll(async () => {
  ensureChromium();
  await Promise.all([buildConsole(), mkdir(SHOTS, { recursive: true })]);
  server = await startApiServer({
    broker: createBroker(createStores(testClients(), testNames())),
    clusterId: 'console-test',
    validateResponses: true,
  });
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('console', (message) => {
    if (message.type() === 'error') browserErrors.push(message.text());
  });
  page.on('pageerror', (error) => browserErrors.push(error.message));
}, 600_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

const shot = (name: string) =>
  page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
const open = (hash: string) => page.goto(`${server.url}/console${hash}`);
/** The text of column `column` of every row of the first table in `scope`. */
const column = (scope: string, index: number) =>
  page.locator(`${scope} table tbody tr td:nth-child(${index})`).allInnerTexts();

describe('the web console', () => {
  it(
    'creates a topic, produces from the form, browses the records and follows a group’s lag',
    async () => {
      const url = server.url;
      const topic = uniqueName('console');
      const group = uniqueName('console-g');
      const dlq = `${topic}.dlq`;

      // Topics: the create form, then the topic's page.
      await open('#/topics');
      await page.getByRole('heading', { name: 'Topics' }).waitFor();
      await page.fill('input[name=name]', topic);
      await page.fill('input[name=partitions]', '2');
      await page.click('form button[type=submit]');
      await page.waitForURL(`**/console#/topics/${topic}`);
      await page.getByRole('heading', { name: `Topic ${topic}` }).waitFor();

      // Produce three JSON records with one key (so one partition) from the form.
      await open(`#/produce?topic=${topic}`);
      await page.locator('select[name=topic]').selectOption(topic);
      await page.fill('input[name=key]', 'customer-7');
      await page.fill(
        'textarea[name=value]',
        '{"n":0,"item":"book"}\n{"n":1,"item":"pen"}\n{"n":2,"item":"ink"}',
      );
      await page.check('input[name=perLine]');
      await page.fill('textarea[name=headers]', 'source=console');
      await page.click('form button[type=submit]');
      await page.locator('#produced table tbody tr').nth(2).waitFor();
      const partitions = await column('#produced', 1);
      const offsets = await column('#produced', 2);
      expect(offsets).toEqual(['0', '1', '2']);
      expect(new Set(partitions).size).toBe(1);
      const partition = Number(partitions[0]);
      await shot('produce');

      // The record browser shows them at their offsets, values as JSON, headers as text.
      await open(`#/records?topic=${topic}&partition=${partition}&offset=0`);
      await page.locator('#records table tbody tr').nth(2).waitFor();
      expect(await column('#records', 1)).toEqual(['0', '1', '2']);
      const values = await column('#records', 4);
      expect(values.map((v) => JSON.parse(v).item)).toEqual(['book', 'pen', 'ink']);
      expect(await column('#records', 5)).toEqual(Array(3).fill('source: console'));
      await page.locator('select[name=view]').selectOption('hex');
      await page.click('form button[type=submit]');
      await page.locator('#records td pre', { hasText: '63 75 73 74' }).first().waitFor(); // "cust"
      await shot('records');

      // Seek by time: from a moment after the records, nothing; from before, all three.
      await page.locator('select[name=view]').selectOption('text');
      await page.fill('input[name=time]', '2100-01-01T00:00:00');
      await page.click('form button[type=submit]');
      await page.getByText('showing from 3').waitFor();
      expect(await column('#records', 1)).toEqual(['none']);
      await page.fill('input[name=time]', '2000-01-01T00:00:00');
      await page.click('form button[type=submit]');
      await page.locator('#records table tbody tr').nth(2).waitFor();
      expect(await column('#records', 1)).toEqual(['0', '1', '2']);

      // The topic's partitions: log start, high watermark, records.
      await open(`#/topics/${topic}`);
      const row = page.locator('table').nth(0).locator('tbody tr').nth(partition);
      await expect
        .poll(() => row.locator('td').nth(2).textContent(), { timeout: 10_000 })
        .toBe('3');
      await expect.poll(() => row.locator('td').nth(3).textContent()).toBe('3');
      await page.locator('.chart svg path').first().waitFor();
      await shot('topic');
      await open('#/topics');
      await page.getByRole('link', { name: topic }).waitFor();
      await shot('topics');

      // A consumer reads the three records and commits: the group's lag is 0.
      const read = async (count: number) => {
        const consumer = new Consumer(
          { url },
          { group, topics: [topic], autoOffsetReset: 'earliest' },
        );
        let seen = 0;
        for await (const batch of consumer) {
          seen += batch.records.length;
          if (seen >= count) {
            await consumer.commit();
            break;
          }
        }
        return seen;
      };
      expect(await read(3)).toBe(3);
      await open(`#/groups/${group}`);
      const lag = page.locator('#total-offset-lag');
      await expect.poll(() => lag.textContent(), { timeout: 10_000 }).toBe('0');

      // While it is away, two more records: the lag rises to 2 on the open page.
      await new Producer({ url }).send({
        topic,
        records: [
          { key: 'customer-7', value: { n: 3 } },
          { key: 'customer-7', value: { n: 4 } },
        ],
      });
      await expect.poll(() => lag.textContent(), { timeout: 15_000 }).toBe('2');
      await shot('group-lagging');

      // It comes back and catches up: the lag falls back to 0.
      expect(await read(2)).toBe(2);
      await expect.poll(() => lag.textContent(), { timeout: 15_000 }).toBe('0');
      await shot('group');

      // The consumers page lists the group, and a Lambda subscription with its dead letters.
      await new Admin({ url }).createTopic({ name: dlq, partitions: 1 });
      const subscription = uniqueName('console-s');
      const created = await fetch(`${url}/v1/subscriptions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          name: subscription,
          topic,
          functionName: 'not-deployed-here',
          startingPosition: 'TRIM_HORIZON',
          destinationConfig: { onFailure: { destination: `kafka://${dlq}` } },
        }),
      });
      expect(created.status).toBe(201);
      await open('#/groups');
      await page.getByRole('link', { name: group }).waitFor();
      await page.getByRole('link', { name: subscription }).waitFor();
      await shot('consumers');
      await open(`#/subscriptions/${subscription}`);
      // Nothing dispatches here: the subscription's group has committed nothing, none is dead.
      await expect.poll(() => lag.textContent(), { timeout: 10_000 }).toBe('nothing committed');
      await page.getByText(`0 record(s) in`).waitFor();
      await shot('subscription');

      expect(browserErrors).toEqual([]);
    },
    RUN_MS,
  );

  it('serves the console at /console/ too, as people type it, and it runs there', async () => {
    const plain = await fetch(`${server.url}/console`);
    const slash = await fetch(`${server.url}/console/`);
    expect(slash.status).toBe(200);
    expect(slash.headers.get('content-type')).toContain('text/html');
    expect(await slash.text()).toBe(await plain.text());
    await page.goto(`${server.url}/console/#/topics`);
    await page.getByRole('heading', { name: 'Topics' }).waitFor();
  });

  it('signs in with an API key when auth is on, keeps it in the tab, and signs out', async () => {
    const broker = createBroker(createStores(testClients(), testNames()));
    const guarded = await startApiServer({
      broker,
      clusterId: 'console-auth',
      auth: { enabled: true },
      validateResponses: true,
    });
    const { key, id } = await broker.auth.createKey({
      createdBy: 'console-test',
      acls: [
        {
          resourceType: 'cluster',
          resourceName: 'eventlog',
          operation: 'admin',
          patternType: 'literal',
          permission: 'allow',
        },
      ],
    });
    const context = await browser.newContext();
    const signInPage = await context.newPage();
    const errors: string[] = [];
    signInPage.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    signInPage.on('pageerror', (error) => errors.push(error.message));
    try {
      await signInPage.goto(`${guarded.url}/console#/topics`);
      await signInPage.getByRole('heading', { name: 'Sign in' }).waitFor();
      await signInPage.fill('input[name=token]', key);
      await signInPage.click('form button[type=submit]');
      await signInPage.getByRole('heading', { name: 'Topics' }).waitFor();
      await expect.poll(() => signInPage.locator('#who').textContent()).toContain(`key:${id}`);
      await signInPage.locator('main h2', { hasText: 'topic(s)' }).waitFor();
      await signInPage.screenshot({ path: join(SHOTS, 'signed-in.png'), fullPage: true });
      expect(await signInPage.evaluate(() => sessionStorage.getItem('eventlog.token'))).toBe(key);

      await signInPage.getByRole('button', { name: 'Sign out' }).click();
      await signInPage.getByRole('heading', { name: 'Sign in' }).waitFor();
      expect(await signInPage.evaluate(() => sessionStorage.length)).toBe(0);
      // The only errors: the browser's notes of the two unauthenticated calls (401).
      expect(errors.filter((e) => !e.includes('status of 401'))).toEqual([]);
      expect(errors.length).toBeGreaterThan(0);
    } finally {
      await context.close();
      await guarded.close();
    }
  }, 60_000);
});
