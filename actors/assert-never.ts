/**
 * The default branch of an exhaustive switch: the compiler proves it unreachable (a new member
 * of a union that no case handles is a type error there), and if a value from outside the types
 * (an unparsed payload) gets there anyway, it throws naming the value instead of going on.
 */
export function assertNever(x: never): never {
  throw new Error(`unexpected value: ${JSON.stringify(x)}`);
}
