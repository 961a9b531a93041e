import { InvalidOptions } from './errors.js';

const UNITS: Record<string, number> = { ms: 0.001, s: 1, sec: 1, m: 60, min: 60, h: 3600, d: 86400 };

/**
 * Seconds from a number of seconds or a string such as `30s`, `15m`, `2h`, `7d`.
 *
 * @example toSeconds('15m') // 900
 */
export function toSeconds(value: number | string, name: string): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0)
      throw new InvalidOptions(`"${name}" must be a non-negative number of seconds`);
    return value;
  }
  const m = typeof value === 'string' ? /^(\d+(?:\.\d+)?)\s*(ms|s|sec|m|min|h|d)?$/.exec(value.trim()) : null;
  if (!m) throw new InvalidOptions(`"${name}" must be seconds or a duration such as "30s"`);
  return Number(m[1]) * UNITS[m[2] ?? 's']!;
}
