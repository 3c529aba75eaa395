/**
 * With `exactOptionalPropertyTypes`, an optional member may be missing but may not hold
 * `undefined`. Where a whole object of maybe-undefined values is handed on (construct props
 * mapped onto settings, say), this drops the undefined members, with the type saying so,
 * instead of a conditional spread per member.
 */
export type WithoutUndefined<T> = {
  [K in keyof T as undefined extends T[K] ? never : K]: T[K];
} & {
  [K in keyof T as undefined extends T[K] ? K : never]?: Exclude<T[K], undefined>;
};

export function omitUndefined<T extends object>(value: T): WithoutUndefined<T> {
  return Object.fromEntries(
    Object.entries(value).filter(([, member]) => member !== undefined),
  ) as WithoutUndefined<T>;
}

/**
 * `defaults` with each member `given` defines put in its place: settings resolved from options
 * that may leave any of them out. Members of `given` that `defaults` does not name are ignored.
 */
export function withDefaults<T extends object>(
  defaults: T,
  given: { [K in keyof T]?: T[K] | undefined },
): T {
  const resolved = { ...defaults };
  for (const key of Object.keys(defaults) as (keyof T)[]) {
    const value = given[key];
    if (value !== undefined) resolved[key] = value as T[keyof T];
  }
  return resolved;
}
