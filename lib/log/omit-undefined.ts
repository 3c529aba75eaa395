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
