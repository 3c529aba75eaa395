import { Validations } from 'aws-cdk-lib';
import type { Construct } from 'constructs';

/** A cdk-nag acknowledgment on exactly one construct, with the reason on record. */
export function acknowledge(construct: Construct, id: string, reason: string): void {
  Validations.of(construct).acknowledge({ id, reason });
}
