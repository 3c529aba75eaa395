/**
 * The one rule for every name a user gives a resource (subscriptions, groups, members,
 * consumer instances): Kafka's topic alphabet, 1-249 characters, and never "." or "..". Those
 * two pass the alphabet but vanish from a URL path when it is normalized (RFC 3986 dot
 * segments), so a subscription named ".." could be created and then never read, changed or
 * deleted.
 */

export const MAX_RESOURCE_NAME_LENGTH = 249;

const ALPHABET = /^[a-zA-Z0-9._-]{1,249}$/;

export const RESOURCE_NAME_RULE = `1-249 characters of [a-zA-Z0-9._-], not "." or ".."`;

export function isResourceName(name: unknown): name is string {
  return typeof name === 'string' && ALPHABET.test(name) && name !== '.' && name !== '..';
}
