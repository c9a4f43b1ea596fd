import { BlockList, isIP } from 'node:net';

/**
 * Which webhook targets the registry may call (server-side request forgery guard), as pure
 * functions.
 *
 * - Only `http:` and `https:` URLs, without user name or password (they would be a secret kept
 *   in clear in the URL, which the API returns), at most 2048 characters.
 * - Unless private targets are allowed (WEBHOOK_ALLOW_PRIVATE_TARGETS), a target address must be
 *   public: not unspecified, loopback, private (RFC 1918), shared/CGNAT (100.64/10), link-local
 *   (which holds the cloud metadata address 169.254.169.254), unique-local IPv6 (fc00::/7, which
 *   holds AWS's fd00:ec2::254), IETF protocol assignments, benchmarking, documentation,
 *   multicast, reserved or broadcast. IPv6 forms that embed an IPv4 address (mapped ::ffff:a.b.c.d,
 *   NAT64 64:ff9b::/96, 6to4 2002::/16, the deprecated compatible ::a.b.c.d) are judged by that
 *   address. Host names that name the machine itself (`localhost`, `*.localhost`) and the metadata
 *   host names are refused by name.
 * - The check runs when a webhook is created or changed (an IP literal or a name that resolves
 *   to such an address is refused with 400) and again at every delivery on the addresses the
 *   name resolves to then, and the connection goes to the address that was checked: a name that
 *   later resolves to an internal address (DNS rebinding) is refused at send time.
 */

const V4_BLOCKED: [string, number, string][] = [
  ['0.0.0.0', 8, 'unspecified'],
  ['10.0.0.0', 8, 'private'],
  ['100.64.0.0', 10, 'shared (CGNAT)'],
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link-local (cloud metadata)'],
  ['172.16.0.0', 12, 'private'],
  ['192.0.0.0', 24, 'IETF protocol assignments'],
  ['192.0.2.0', 24, 'documentation'],
  ['192.88.99.0', 24, 'reserved (6to4 relay)'],
  ['192.168.0.0', 16, 'private'],
  ['198.18.0.0', 15, 'benchmarking'],
  ['198.51.100.0', 24, 'documentation'],
  ['203.0.113.0', 24, 'documentation'],
  ['224.0.0.0', 4, 'multicast'],
  ['240.0.0.0', 4, 'reserved or broadcast'],
];

const V6_BLOCKED: [string, number, string][] = [
  ['::', 128, 'unspecified'],
  ['::1', 128, 'loopback'],
  ['100::', 64, 'discard-only'],
  ['2001:db8::', 32, 'documentation'],
  ['fc00::', 7, 'unique local'],
  ['fe80::', 10, 'link-local'],
  ['fec0::', 10, 'site-local (deprecated)'],
  ['ff00::', 8, 'multicast'],
];

const BLOCKED_HOST_NAMES = new Set([
  'localhost',
  'metadata',
  'metadata.google.internal',
  'metadata.goog',
  'instance-data',
  'instance-data.ec2.internal',
]);

function lists(entries: [string, number, string][], type: 'ipv4' | 'ipv6') {
  return entries.map(([net, prefix, reason]) => {
    const list = new BlockList();
    list.addSubnet(net, prefix, type);
    return { list, reason };
  });
}
const V4 = lists(V4_BLOCKED, 'ipv4');
const V6 = lists(V6_BLOCKED, 'ipv6');

/** The 16 bytes of an IPv6 address (which isIP accepted). */
function v6Bytes(address: string): number[] {
  let a = address.toLowerCase();
  const zone = a.indexOf('%');
  if (zone >= 0) a = a.slice(0, zone);
  // A dotted IPv4 tail becomes two groups.
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  if (dotted) {
    const o = dotted[1].split('.').map(Number);
    a = `${a.slice(0, -dotted[1].length)}${((o[0] << 8) | o[1]).toString(16)}:${((o[2] << 8) | o[3]).toString(16)}`;
  }
  const [head, tail] = a.includes('::') ? a.split('::') : [a, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups =
    tail === undefined ? h : [...h, ...new Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return groups.flatMap((g) => {
    const n = parseInt(g || '0', 16);
    return [n >> 8, n & 0xff];
  });
}

/** The IPv4 address an IPv6 address carries (mapped, compatible, NAT64, 6to4), if any. */
function embeddedV4(b: number[]): string | undefined {
  const zeros = (from: number, to: number) => b.slice(from, to).every((x) => x === 0);
  const v4 = (at: number) => b.slice(at, at + 4).join('.');
  if (zeros(0, 10) && b[10] === 0xff && b[11] === 0xff) return v4(12); // ::ffff:a.b.c.d
  if (zeros(0, 12) && !(zeros(12, 15) && b[15] <= 1)) return v4(12); // ::a.b.c.d (not :: or ::1)
  if (b[0] === 0x00 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b && zeros(4, 12))
    return v4(12); // 64:ff9b::/96
  if (b[0] === 0x20 && b[1] === 0x02) return v4(2); // 2002:a.b.c.d::/16
  return undefined;
}

/**
 * Why an IP address is not a public target ('loopback', 'private', …), or null when it is public.
 * Anything that is not an IP address is refused too.
 */
export function nonPublicReason(address: string): string | null {
  const kind = isIP(address.replace(/%.*$/, ''));
  if (kind === 4) return V4.find((e) => e.list.check(address, 'ipv4'))?.reason ?? null;
  if (kind !== 6) return 'not an IP address';
  const bare = address.replace(/%.*$/, '');
  const inner = embeddedV4(v6Bytes(bare));
  if (inner !== undefined) return nonPublicReason(inner);
  return V6.find((e) => e.list.check(bare, 'ipv6'))?.reason ?? null;
}

export type TargetCheck =
  | {
      ok: true;
      url: URL;
      /** The host as an IP literal (brackets removed), when it is one. */ ip?: string;
    }
  | { ok: false; reason: string };

/**
 * Checks a target URL by itself (scheme, form, and the host when it is an IP literal or a name
 * refused by name); a host name still has to be resolved and its addresses checked.
 */
export function checkTargetUrl(raw: string, allowPrivate: boolean): TargetCheck {
  if (raw.length > 2048) return { ok: false, reason: 'the URL is longer than 2048 characters' };
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, reason: 'not a valid absolute URL' };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    return { ok: false, reason: 'only http and https URLs are allowed' };
  if (url.username || url.password)
    return { ok: false, reason: 'the URL must not hold a user name or password' };
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (!host) return { ok: false, reason: 'the URL has no host' };
  const ip = isIP(host) ? host : undefined;
  if (allowPrivate) return { ok: true, url, ip };
  if (ip) {
    const reason = nonPublicReason(ip);
    return reason ? { ok: false, reason: `${host} is a ${reason} address` } : { ok: true, url, ip };
  }
  const name = host.replace(/\.$/, '');
  if (BLOCKED_HOST_NAMES.has(name) || name.endsWith('.localhost') || name.endsWith('.internal'))
    return { ok: false, reason: `${host} names an internal host` };
  // A name with only digits and dots that isIP refused (e.g. 2130706433 or 0x7f.1) was already
  // normalized by the URL parser; anything left is a DNS name.
  return { ok: true, url };
}

/** The first resolved address that is not public, with its reason; null when all are public. */
export function firstNonPublic(addresses: string[]): { address: string; reason: string } | null {
  for (const address of addresses) {
    const reason = nonPublicReason(address);
    if (reason) return { address, reason };
  }
  return null;
}
