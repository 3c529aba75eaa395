import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, type CfnResource, type Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import cdkNag from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { afterAll } from 'vitest';
import { PROJECT_ROOT } from '../../lib/infra/event-log.js';
import { EventLogStack, type EventLogStackProps } from '../../lib/infra/event-log-stack.js';

/** The context of cdk.json, so that tests synthesize with the feature flags `cdk synth` uses. */
export function cdkJsonContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as {
    context: Record<string, unknown>;
  };
  return cdkJson.context;
}

/**
 * Context for an in-process test app: cdk.json's, and unless `bundle` is set, no asset
 * bundling. Template assertions do not need the bundles (their hashes come from the sources
 * then); test/infra/bundles.test.ts and app.test.ts build and run the real ones.
 */
export function testContext(options: { bundle?: boolean } = {}): Record<string, unknown> {
  return {
    ...cdkJsonContext(),
    ...(options.bundle === true ? {} : { 'aws:cdk:bundling-stacks': [] }),
  };
}

export interface SynthesizedStack {
  app: App;
  stack: EventLogStack;
  template: Template;
  nag: InstanceType<typeof cdkNag.AwsSolutionsChecks>;
  outdir: string;
}

/**
 * Builds the app as bin/app.ts does (same stack, same cdk-nag plugin, cdk.json's context)
 * into a fresh temporary directory, and synthesizes it: a failing nag check fails here.
 */
const outdirs: string[] = [];
// Each synthesis writes a cloud assembly: removed after the test file that made it.
afterAll(() => {
  for (const dir of outdirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

export function synthEventLogStack(
  props: EventLogStackProps = {},
  id = 'EventLogStack',
  options: { bundle?: boolean } = {},
): SynthesizedStack {
  const outdir = mkdtempSync(join(tmpdir(), 'eventlog-cdk-'));
  outdirs.push(outdir);
  const app = new App({ context: testContext(options), outdir });
  const stack = new EventLogStack(app, id, props);
  const nag = new cdkNag.AwsSolutionsChecks(app);
  Validations.of(app).addPlugins(nag);
  const template = Template.fromStack(stack);
  return { app, stack, template, nag, outdir };
}

/** Every cdk-nag acknowledgment in a construct tree: where it sits, the rule, the reason. */
export function acknowledgments(root: IConstruct): { path: string; id: string; reason: string }[] {
  const found: { path: string; id: string; reason: string }[] = [];
  for (const construct of root.node.findAll()) {
    for (const entry of construct.node.metadata) {
      if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
      for (const [id, reason] of Object.entries(entry.data as Record<string, string>)) {
        found.push({ path: construct.node.path, id: id.replace(/^annotation::/i, ''), reason });
      }
    }
  }
  return found;
}

/**
 * Runs the AWS Solutions pack over a stack and records which acknowledgments it consulted
 * for a finding, so a test can tell a used acknowledgment from a stale one.
 */
export function runNag(stack: Stack): {
  violations: { rule: string; paths: string[] }[];
  used: Set<string>;
} {
  const pack = new cdkNag.AwsSolutionsChecks();
  const used = new Set<string>();
  // isAcknowledged(node, ruleId) is private; wrapping it is the only way to see the lookups.
  const internals = pack as unknown as {
    isAcknowledged(node: CfnResource, ruleId: string): boolean;
  };
  const original = internals.isAcknowledged.bind(pack);
  internals.isAcknowledged = (node, ruleId) => {
    const acknowledged = original(node, ruleId);
    if (acknowledged) {
      // The lookup walks up the tree: record the construct that holds the acknowledgment.
      for (let current: IConstruct | undefined = node; current; current = current.node.scope) {
        const holds = current.node.metadata.some(
          (entry) =>
            entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY &&
            Object.keys(entry.data as object).some(
              (key) => key.replace(/^annotation::/i, '') === ruleId,
            ),
        );
        if (holds) {
          used.add(`${current.node.path} ${ruleId}`);
          break;
        }
      }
    }
    return acknowledged;
  };
  const report = pack.validateScope(stack);
  return {
    violations: report.violations.map((violation) => ({
      rule: violation.ruleName,
      paths: violation.violatingResources.map((resource) => resource.constructPath ?? '?'),
    })),
    used,
  };
}
