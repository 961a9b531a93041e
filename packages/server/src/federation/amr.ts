/** Longest `amr` list and value carried from an upstream (RFC 8176 values are short words like `pwd`, `mfa`). */
const MAX_METHODS = 8;
const METHOD = /^[A-Za-z0-9_.:-]{1,32}$/;

/**
 * The `amr` of a federated session: the upstream ID token's, when it is an array of short strings (RFC
 * 8176 §2), so a resource can still see that the user used a second factor upstream; otherwise `["fed"]`
 * (RFC 8176 §2: "federated authentication").
 *
 * @example upstreamAmr(['pwd', 'otp']); // ['pwd', 'otp']
 * @example upstreamAmr('pwd'); // ['fed']
 */
export function upstreamAmr(value: unknown): string[] {
  if (
    Array.isArray(value) &&
    value.length > 0 &&
    value.length <= MAX_METHODS &&
    value.every((m) => typeof m === 'string' && METHOD.test(m))
  )
    return [...(value as string[])];
  return ['fed'];
}
