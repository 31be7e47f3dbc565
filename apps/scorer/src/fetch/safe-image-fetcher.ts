import { lookup as dnsLookup } from 'node:dns/promises';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { errorMessage } from '@moodstream/core';
import { AddressPolicy } from './address-policy';
import { SNIFF_BYTES, sniffImageType, type SniffedImageType } from './content-sniff';
import { ImageFetchError } from './image-fetch-error';

export interface ImageFetchLimits {
  /** Whole fetch, DNS and redirects included. */
  timeoutMs: number;
  maxBytes: number;
  maxRedirects: number;
  /** IPs or CIDRs allowed although private or loopback. */
  allowlist: readonly string[];
}

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

export interface FetchedImage {
  bytes: Buffer;
  type: SniffedImageType;
  /** The URL that finally answered, after redirects. */
  finalUrl: string;
}

export interface ImageFetcherDeps {
  /** Name resolution; the system resolver unless a test injects one. */
  resolve?: (hostname: string) => Promise<ResolvedAddress[]>;
  /** Told of every connection about to be made — lets tests prove a refused address saw no traffic. */
  onConnect?: (target: { address: string; port: number; url: string }) => void;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

const systemResolve = async (hostname: string): Promise<ResolvedAddress[]> => {
  const answers = await dnsLookup(hostname, { all: true, verbatim: true });
  return answers.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
};

/**
 * Fetches images from URLs that strangers wrote. Each hop: http(s) only, the host resolved once and
 * every answer checked against the address policy, the connection pinned to the checked address
 * (a second DNS answer cannot rebind it), bytes capped while streaming, the type sniffed from the
 * bytes, and one deadline over everything.
 */
export class SafeImageFetcher {
  private readonly policy: AddressPolicy;
  private readonly resolve: (hostname: string) => Promise<ResolvedAddress[]>;
  private readonly httpAgent = new http.Agent({ keepAlive: true, maxSockets: 32 });
  private readonly httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 32 });

  constructor(
    private readonly limits: ImageFetchLimits,
    private readonly deps: ImageFetcherDeps = {},
  ) {
    this.policy = new AddressPolicy(limits.allowlist);
    this.resolve = deps.resolve ?? systemResolve;
  }

  async fetch(url: string): Promise<FetchedImage> {
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        controller.abort();
        reject(new ImageFetchError('IMAGE_TIMEOUT', `no complete image within ${this.limits.timeoutMs} ms`));
      }, this.limits.timeoutMs);
    });
    try {
      return await Promise.race([this.follow(url, controller.signal), deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  private async follow(start: string, signal: AbortSignal): Promise<FetchedImage> {
    let current = start;
    for (let hop = 0; ; hop++) {
      const target = parseHttpUrl(current);
      const address = await this.checkedAddress(target);
      const response = await this.request(target, address, signal);
      const status = response.statusCode ?? 0;
      if (REDIRECTS.has(status)) {
        response.destroy();
        const location = response.headers.location;
        if (location === undefined) throw new ImageFetchError('IMAGE_HTTP_STATUS', `HTTP ${status} without a Location`);
        if (hop >= this.limits.maxRedirects) {
          throw new ImageFetchError('IMAGE_TOO_MANY_REDIRECTS', `more than ${this.limits.maxRedirects} redirects`);
        }
        current = new URL(location, target).toString();
        continue;
      }
      if (status !== 200) {
        response.destroy();
        throw new ImageFetchError('IMAGE_HTTP_STATUS', `HTTP ${status}`);
      }
      const { bytes, type } = await this.readImage(response);
      return { bytes, type, finalUrl: target.toString() };
    }
  }

  private async checkedAddress(target: URL): Promise<ResolvedAddress> {
    const host = bareHostname(target);
    const literal = isIP(host);
    let answers: ResolvedAddress[];
    if (literal !== 0) {
      answers = [{ address: host, family: literal === 6 ? 6 : 4 }];
    } else {
      try {
        answers = await this.resolve(host);
      } catch (error) {
        throw new ImageFetchError('IMAGE_DNS_FAILED', `cannot resolve ${host}: ${errorMessage(error)}`, { cause: error });
      }
    }
    if (answers.length === 0) throw new ImageFetchError('IMAGE_DNS_FAILED', `no address for ${host}`);
    // Every answer must pass: otherwise a name listing one public and one private address could pick either.
    for (const answer of answers) {
      const verdict = this.policy.check(answer.address);
      if (!verdict.allowed) throw new ImageFetchError('IMAGE_FORBIDDEN_ADDRESS', `refused ${host}: ${verdict.reason}`);
    }
    return answers[0] as ResolvedAddress;
  }

  private request(target: URL, pinned: ResolvedAddress, signal: AbortSignal): Promise<IncomingMessage> {
    const secure = target.protocol === 'https:';
    const port = target.port === '' ? (secure ? 443 : 80) : Number(target.port);
    this.deps.onConnect?.({ address: pinned.address, port, url: target.toString() });
    // Node asks this instead of DNS, so the socket goes to the address the policy approved.
    const pinnedLookup: LookupFunction = (_hostname, options, callback) => {
      if ((options as { all?: boolean }).all === true) {
        (callback as (err: null, addresses: { address: string; family: number }[]) => void)(null, [pinned]);
      } else {
        callback(null, pinned.address, pinned.family);
      }
    };
    return new Promise((resolve, reject) => {
      const request = (secure ? https : http).request(
        {
          protocol: target.protocol,
          hostname: bareHostname(target),
          port,
          path: `${target.pathname}${target.search}`,
          method: 'GET',
          headers: { 'user-agent': 'moodstream-scorer', accept: 'image/*', 'accept-encoding': 'identity' },
          agent: secure ? this.httpsAgent : this.httpAgent,
          lookup: pinnedLookup,
          signal,
        },
        resolve,
      );
      request.on('error', (error) => {
        reject(
          signal.aborted
            ? new ImageFetchError('IMAGE_TIMEOUT', 'aborted at the deadline')
            : new ImageFetchError('IMAGE_CONNECTION_FAILED', `${target.host}: ${errorMessage(error)}`, { cause: error }),
        );
      });
      request.end();
    });
  }

  private readImage(response: IncomingMessage): Promise<{ bytes: Buffer; type: SniffedImageType }> {
    const { maxBytes } = this.limits;
    const declared = Number(response.headers['content-length']);
    if (Number.isFinite(declared) && declared > maxBytes) {
      response.destroy();
      return Promise.reject(new ImageFetchError('IMAGE_TOO_LARGE', `declares ${declared} bytes, the cap is ${maxBytes}`));
    }
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let received = 0;
      let type: SniffedImageType | null = null;
      const fail = (error: ImageFetchError): void => {
        response.destroy();
        reject(error);
      };
      response.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received > maxBytes) {
          fail(new ImageFetchError('IMAGE_TOO_LARGE', `more than ${maxBytes} bytes`));
          return;
        }
        chunks.push(chunk);
        // Judge the format from the first bytes, so a large non-image is dropped before it is downloaded.
        if (type === null && received >= SNIFF_BYTES) {
          type = sniffImageType(Buffer.concat(chunks).subarray(0, SNIFF_BYTES));
          if (type === null) fail(new ImageFetchError('IMAGE_NOT_AN_IMAGE', 'content is not a JPEG, PNG, GIF or WebP'));
        }
      });
      response.on('end', () => {
        const bytes = Buffer.concat(chunks);
        const sniffed = type ?? sniffImageType(bytes);
        if (sniffed === null) {
          reject(new ImageFetchError('IMAGE_NOT_AN_IMAGE', 'content is not a JPEG, PNG, GIF or WebP'));
          return;
        }
        resolve({ bytes, type: sniffed });
      });
      response.on('error', (error) => {
        reject(new ImageFetchError('IMAGE_CONNECTION_FAILED', `while reading: ${errorMessage(error)}`, { cause: error }));
      });
    });
  }
}

function parseHttpUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ImageFetchError('IMAGE_BAD_URL', 'not a URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ImageFetchError('IMAGE_BAD_URL', `only http and https are fetched, not ${url.protocol}`);
  }
  if (url.username !== '' || url.password !== '') throw new ImageFetchError('IMAGE_BAD_URL', 'URLs with credentials are refused');
  return url;
}

/** URL keeps IPv6 literals in brackets; sockets and the policy want them bare. */
function bareHostname(url: URL): string {
  return url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
}
