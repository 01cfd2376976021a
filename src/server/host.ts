/**
 * Virtual-host addressing: SLS clients put the project in the Host header (`<project>.<endpoint>`). The project is
 * the label in front of a configured endpoint suffix; a bare endpoint, a bare IP or `localhost` names no project.
 * Ports are ignored (Python SDK omits it, Node SDK sends it).
 */
export function projectFromHost(host: string | undefined, endpoints: readonly string[]): string | undefined {
  if (!host) return undefined;
  let name = host.trim().toLowerCase();
  if (name.startsWith('[')) return undefined; // IPv6 literal: no room for a project label
  const colon = name.lastIndexOf(':');
  if (colon >= 0) name = name.slice(0, colon);
  if (name.endsWith('.')) name = name.slice(0, -1);
  // The longest matching suffix decides: with both `example.com` and `sls.example.com` configured,
  // `p.sls.example.com` is project `p` under the latter, whatever order the configuration lists them in.
  let match: string | undefined;
  for (const suffix of endpoints) {
    if (name === suffix) return undefined;
    if (name.endsWith(`.${suffix}`) && (match === undefined || suffix.length > match.length)) match = suffix;
  }
  if (match !== undefined) {
    const label = name.slice(0, name.length - match.length - 1);
    return label.includes('.') ? undefined : label;
  }
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(name)) return undefined;
  // Unknown domain: its first label is the project, as with `<project>.<region>.log.aliyuncs.com`.
  const dot = name.indexOf('.');
  return dot > 0 ? name.slice(0, dot) : undefined;
}
