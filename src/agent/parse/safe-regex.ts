/**
 * User regexes must not be able to hang the agent. V8 ships a linear-time (automaton) regex engine next to its
 * backtracking one; with `--enable-experimental-regexp-engine-on-excessive-backtracks` a match that backtracks too
 * much is re-run on the linear engine, so `(a+)+b` against a long line costs microseconds, not forever, while
 * ordinary patterns keep the fast backtracking engine. The linear engine cannot run backreferences or lookaround,
 * so those are refused at config time (RE2, the engine SLS documents, refuses them too).
 */
import { setFlagsFromString } from 'node:v8';
import { ConfigFieldError } from '../config/config-error.js';

let enabled = false;

/** Turns on the linear-time fallback for every RegExp compiled afterwards. Idempotent. */
export function enableLinearRegexFallback(): void {
  if (enabled) return;
  setFlagsFromString('--enable-experimental-regexp-engine-on-excessive-backtracks');
  enabled = true;
}

const UNSAFE: readonly [RegExp, string][] = [
  [/\\[1-9]/, 'backreferences (\\1)'],
  [/\\k</, 'named backreferences (\\k<name>)'],
  [/\(\?<?[=!]/, 'lookaround ((?=, (?!, (?<=, (?<!)'],
];

/**
 * Checks that a user regex compiles and can run on the linear engine; returns its number of capture groups.
 * Throws `ConfigFieldError` naming `field`.
 */
export function checkUserRegex(source: string, field: string): number {
  enableLinearRegexFallback();
  for (const [re, what] of UNSAFE) {
    if (re.test(source)) throw new ConfigFieldError(field, `uses ${what}, which cannot run in linear time`);
  }
  let re: RegExp;
  try {
    re = new RegExp(`${source}|`);
  } catch (err) {
    throw new ConfigFieldError(field, `is not a valid regular expression: ${(err as Error).message}`);
  }
  return (re.exec('')?.length ?? 1) - 1;
}

/** Compiles a checked user regex. `anchored` makes it match the whole input, as Logtail's regex mode does. */
export function compileUserRegex(source: string, anchored: boolean): RegExp {
  enableLinearRegexFallback();
  return new RegExp(anchored ? `^(?:${source})$` : source, 's');
}
