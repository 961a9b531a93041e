import { invalidScope } from '../server/errors.js';

/** RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ). */
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

/** Split a scope parameter into its tokens; malformed tokens are invalid_scope. */
export function parseScope(text: string): string[] {
  const tokens = text.split(' ').filter((t) => t !== '');
  for (const token of tokens) if (!SCOPE_TOKEN.test(token)) throw invalidScope('malformed scope');
  return [...new Set(tokens)];
}

/**
 * The scope to grant: the requested scope if it is a subset of what is allowed, otherwise invalid_scope;
 * the whole allowed scope when none was requested (RFC 6749 §3.3 default; an empty `scope=` is absent,
 * §3.1); a whitespace-only value is invalid_scope.
 *
 * @example
 * resolveScope('read', ['read', 'write']); // ['read']
 */
export function resolveScope(requested: string | undefined, allowed: readonly string[]): string[] {
  if (requested === undefined) return [...allowed];
  const tokens = parseScope(requested);
  // RFC 6749 §3.3: scope = scope-token *( SP scope-token ), at least one token. A whitespace-only value is
  // malformed, never "no scope" (a token without `scope` is read as unrestricted by some resource servers).
  if (tokens.length === 0) throw invalidScope('scope must name at least one scope token');
  const outside = tokens.filter((t) => !allowed.includes(t));
  if (outside.length > 0) throw invalidScope('requested scope exceeds the scope granted to the client');
  return tokens;
}
