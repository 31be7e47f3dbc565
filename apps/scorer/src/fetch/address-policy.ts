import { BlockList, isIP } from 'node:net';

/**
 * Ranges an image URL may never reach: a post author controls the URL, so without this the scorer
 * could be steered at the broker, Redis, cloud metadata endpoints or anything else on the host's network.
 */
const FORBIDDEN_V4: [string, number][] = [
  ['0.0.0.0', 8], // "this network"
  ['10.0.0.0', 8], // private
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local (cloud metadata lives here)
  ['172.16.0.0', 12], // private
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // documentation
  ['192.88.99.0', 24], // 6to4 relay anycast
  ['192.168.0.0', 16], // private
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // documentation
  ['203.0.113.0', 24], // documentation
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, including broadcast
];

const FORBIDDEN_V6: [string, number][] = [
  ['::', 96], // unspecified, loopback and the deprecated IPv4-compatible form
  ['100::', 64], // discard
  ['2001::', 32], // Teredo: tunnels to an embedded IPv4 address
  ['2001:db8::', 32], // documentation
  ['2002::', 16], // 6to4: tunnels to an embedded IPv4 address
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated)
  ['ff00::', 8], // multicast
];

export type AddressVerdict = { allowed: true } | { allowed: false; reason: string };

/** Decides which resolved addresses image fetching may connect to. */
export class AddressPolicy {
  private readonly forbidden = new BlockList();
  private readonly allowlist = new BlockList();

  /** @param allowlist IPs or CIDRs permitted although they fall in a forbidden range (tests: 127.0.0.1). */
  constructor(allowlist: readonly string[] = []) {
    for (const [network, prefix] of FORBIDDEN_V4) this.forbidden.addSubnet(network, prefix, 'ipv4');
    for (const [network, prefix] of FORBIDDEN_V6) this.forbidden.addSubnet(network, prefix, 'ipv6');
    for (const entry of allowlist) addEntry(this.allowlist, entry);
  }

  check(address: string): AddressVerdict {
    const family = isIP(address);
    if (family === 0) return { allowed: false, reason: `not an IP address: ${address}` };
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (this.allowlist.check(address, type)) return { allowed: true };
    const embedded = family === 6 ? embeddedIpv4(address) : null;
    if (embedded !== null && !this.allowlist.check(embedded, 'ipv4') && this.forbidden.check(embedded, 'ipv4')) {
      return { allowed: false, reason: `${address} embeds the forbidden IPv4 address ${embedded}` };
    }
    // BlockList matches IPv4-mapped IPv6 (::ffff:a.b.c.d) against IPv4 ranges by itself.
    if (this.forbidden.check(address, type)) {
      return { allowed: false, reason: `${address} is a private, loopback, link-local or reserved address` };
    }
    return { allowed: true };
  }
}

function addEntry(list: BlockList, entry: string): void {
  const [address, prefixText] = entry.split('/');
  const family = isIP(address ?? '');
  if (address === undefined || family === 0) throw new RangeError(`image allowlist entry is not an IP or CIDR: ${entry}`);
  const type = family === 4 ? 'ipv4' : 'ipv6';
  if (prefixText === undefined) {
    list.addAddress(address, type);
    return;
  }
  const prefix = Number(prefixText);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > (family === 4 ? 32 : 128)) {
    throw new RangeError(`image allowlist entry has a bad prefix length: ${entry}`);
  }
  list.addSubnet(address, prefix, type);
}

/** The IPv4 address inside an IPv4-mapped (::ffff:0:0/96) or NAT64 (64:ff9b::/96) IPv6 address, else null. */
export function embeddedIpv4(address: string): string | null {
  const bytes = ipv6Bytes(address);
  if (bytes === null) return null;
  const isMapped = bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  const isNat64 =
    bytes[0] === 0x00 && bytes[1] === 0x64 && bytes[2] === 0xff && bytes[3] === 0x9b && bytes.slice(4, 12).every((b) => b === 0);
  if (!isMapped && !isNat64) return null;
  return bytes.slice(12).join('.');
}

function ipv6Bytes(address: string): number[] | null {
  if (isIP(address) !== 6) return null;
  let text = address.toLowerCase().split('%')[0] ?? '';
  // A trailing dotted quad stands for the last two groups.
  const quad = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (quad !== null) {
    const [a, b, c, d] = quad.slice(1).map(Number) as [number, number, number, number];
    text = text.slice(0, quad.index) + ((a << 8) | b).toString(16) + ':' + ((c << 8) | d).toString(16);
  }
  const [head = '', tail] = text.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':');
  const zeros = tail === undefined ? 0 : 8 - headGroups.length - tailGroups.length;
  const groups = [...headGroups, ...Array<string>(zeros).fill('0'), ...tailGroups].map((g) => parseInt(g, 16));
  if (groups.length !== 8) return null;
  return groups.flatMap((g) => [g >> 8, g & 0xff]);
}
