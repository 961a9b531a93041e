/**
 * HTML templating for Tessera's pages: a tagged template that escapes every interpolation unless it is a
 * fragment built by this same tag. Nothing the user, a client or the store supplies can become markup
 * (stored and reflected XSS, OWASP XSS Prevention Cheat Sheet rule #1), because the only way to insert raw
 * HTML is to build it with `html`.
 */

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Escape text for an HTML text node or a quoted attribute value. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

/** Markup built by `html`: the one kind of value inserted without escaping. */
export class SafeHtml {
  readonly #markup: string;
  constructor(markup: string) {
    this.#markup = markup;
  }
  toString(): string {
    return this.#markup;
  }
}

/** What may be interpolated: text (escaped), numbers, fragments, lists of those; nothing renders for false/null/undefined. */
export type HtmlValue = string | number | SafeHtml | false | null | undefined | readonly HtmlValue[];

function render(value: HtmlValue): string {
  if (value === false || value === null || value === undefined) return '';
  if (value instanceof SafeHtml) return value.toString();
  if (Array.isArray(value)) return (value as readonly HtmlValue[]).map(render).join('');
  return escapeHtml(String(value));
}

/**
 * Build markup; every `${…}` is escaped unless it is itself an `html` fragment.
 *
 * @example
 * html`<p>Signed in as ${user.email}</p>`; // an email of `<script>` renders as text
 */
export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): SafeHtml {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += render(values[i]!) + strings[i + 1]!;
  return new SafeHtml(out);
}
