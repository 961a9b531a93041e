import { invalidRequest } from '../server/errors.js';

/**
 * The parameters of an `application/x-www-form-urlencoded` body, already checked for RFC 6749 §3.2
 * ("parameters MUST NOT be included more than once"). Empty values count as absent (RFC 6749 §3.1).
 */
export class FormParams {
  readonly #values: Map<string, string>;

  constructor(values: Map<string, string>) {
    this.#values = values;
  }

  /** The parameter's value, or undefined when absent or empty. */
  get(name: string): string | undefined {
    return this.#values.get(name);
  }

  has(name: string): boolean {
    return this.#values.has(name);
  }

  /** The parameter's value; a missing one is `invalid_request`. */
  require(name: string): string {
    const value = this.#values.get(name);
    if (value === undefined) throw invalidRequest(`missing required parameter "${name}"`);
    return value;
  }

  names(): string[] {
    return [...this.#values.keys()];
  }
}

/** Longest parameter name we echo in an error description; longer names are not repeated back. */
const MAX_ECHOED_NAME = 40;

/**
 * Parse a form body. A repeated parameter is `invalid_request` (RFC 6749 §3.2), so every value a grant
 * reads is a single string.
 *
 * @example
 * const form = parseForm('grant_type=client_credentials&scope=a+b');
 * form.get('scope'); // 'a b'
 */
export function parseForm(body: string): FormParams {
  const values = new Map<string, string>();
  const seen = new Set<string>();
  for (const [name, value] of new URLSearchParams(body)) {
    if (seen.has(name)) {
      const shown = /^[a-z_]{1,40}$/.test(name) && name.length <= MAX_ECHOED_NAME ? ` "${name}"` : '';
      throw invalidRequest(`parameter${shown} included more than once`);
    }
    seen.add(name);
    if (value !== '') values.set(name, value);
  }
  return new FormParams(values);
}

/** The form of a request that sent none (no body or no content type): every parameter is absent. */
export const EMPTY_FORM = new FormParams(new Map());
