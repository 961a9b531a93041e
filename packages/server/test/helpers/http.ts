/** HTTP Basic client credentials per RFC 6749 §2.3.1: id and secret form-urlencoded, then base64. */
export function basic(id: string, secret: string): string {
  const enc = (s: string) => encodeURIComponent(s).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${enc(id)}:${enc(secret)}`).toString('base64')}`;
}
