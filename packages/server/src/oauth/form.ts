import type { FastifyInstance } from 'fastify';
import { invalidRequest } from '../server/errors.js';

/**
 * The parameters of an `application/x-www-form-urlencoded` body, already checked for RFC 6749 §3.2
 * ("parameters MUST NOT be included more than once"). Empty values count as absent (RFC 6749 §3.1).
 */
export class FormParams {
  /** Every parameter sent, empty values included (so a repeat of an empty one is still detected). */
  readonly #values: Map<string, string>;
  /** The later values of the parameters that may repeat (REPEATABLE_PARAMS), in order. */
  readonly #repeats: Map<string, string[]>;

  constructor(values: Map<string, string>, repeats: Map<string, string[]> = new Map()) {
    this.#values = values;
    this.#repeats = repeats;
  }

  /**
   * Every non-empty value of a parameter that may repeat (RFC 8707 §2 `resource`), in order; for any other
   * parameter, its single value.
   */
  getAll(name: string): string[] {
    const first = this.#values.get(name);
    if (first === undefined) return [];
    return [first, ...(this.#repeats.get(name) ?? [])].filter((value) => value !== '');
  }

  /** The parameter's value, or undefined when absent or empty. */
  get(name: string): string | undefined {
    const value = this.#values.get(name);
    return value === '' ? undefined : value;
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  /** The parameter's value; a missing one is `invalid_request`. */
  require(name: string): string {
    const value = this.get(name);
    if (value === undefined) throw invalidRequest(`missing required parameter "${name}"`);
    return value;
  }

  /** Names of the parameters with a value. */
  names(): string[] {
    return [...this.#values].filter(([, value]) => value !== '').map(([name]) => name);
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
  const repeats = new Map<string, string[]>();
  if (isLiteralForm(body)) {
    // Nothing to decode: the WHATWG parser's steps reduce to splitting on '&' and the first '='.
    for (let start = 0; start < body.length;) {
      let end = body.indexOf('&', start);
      if (end === -1) end = body.length;
      if (end > start) {
        const eq = body.indexOf('=', start);
        if (eq === -1 || eq > end) addParam(values, repeats, body.slice(start, end), '');
        else addParam(values, repeats, body.slice(start, eq), body.slice(eq + 1, end));
      }
      start = end + 1;
    }
  } else {
    for (const [name, value] of new URLSearchParams(body)) addParam(values, repeats, name, value);
  }
  return new FormParams(values, repeats);
}

/**
 * Parameters an extension lets a client send more than once: RFC 8707 §2 `resource` ("may use the parameter
 * multiple times"); the token endpoint then decides what several values mean.
 */
const REPEATABLE_PARAMS: ReadonlySet<string> = new Set(['resource']);

/** RFC 6749 §3.2: a parameter sent twice (even empty) is invalid_request, unless an extension allows it. */
function addParam(
  values: Map<string, string>,
  repeats: Map<string, string[]>,
  name: string,
  value: string,
): void {
  if (values.has(name) && REPEATABLE_PARAMS.has(name)) {
    const later = repeats.get(name);
    if (later === undefined) repeats.set(name, [value]);
    else later.push(value);
    return;
  }
  if (values.has(name)) {
    const shown = /^[a-z_]{1,40}$/.test(name) && name.length <= MAX_ECHOED_NAME ? ` "${name}"` : '';
    throw invalidRequest(`parameter${shown} included more than once`);
  }
  values.set(name, value);
}

/**
 * True when WHATWG form parsing (URLSearchParams) would decode nothing: no '%' escapes, no '+' for space,
 * no leading '?' (which URLSearchParams drops). Usual token requests qualify, and a JWT in `token=` costs
 * a scan instead of a character-by-character percent-decoder.
 */
function isLiteralForm(body: string): boolean {
  return body.charCodeAt(0) !== 0x3f && body.indexOf('%') === -1 && body.indexOf('+') === -1;
}

/** The form of a request that sent none (no body or no content type): every parameter is absent. */
export const EMPTY_FORM = new FormParams(new Map());

/**
 * Parse `application/x-www-form-urlencoded` bodies in this plugin's scope with parseForm (repeated
 * parameters refused, RFC 6749 §3.1), up to `bodyLimit` bytes: the one parser of every form endpoint.
 *
 * @example acceptForms(app, 16 * 1024);
 */
export function acceptForms(app: FastifyInstance, bodyLimit: number): void {
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit },
    (_request, body, done) => {
      try {
        done(null, parseForm(body as string));
      } catch (err) {
        done(err as Error, undefined);
      }
    },
  );
}
