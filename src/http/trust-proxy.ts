/**
 * Which peers may tell the server, through `X-Forwarded-For` and `X-Forwarded-Proto`, who the client is and which
 * protocol it used: a reverse proxy on the same host (loopback), as express's `'loopback'` setting says.
 *
 * Express asks on every `req.protocol` (each `Location` and `meta.location`) and `req.ip` (rate limits), and
 * proxy-addr parses the peer's address each time: ~1.6 µs for `127.0.0.1`, ~6 µs for `::ffff:127.0.0.1` (how an
 * IPv4 peer looks to a dual-stack listener). A peer's answer never changes, so it is kept; the cache is emptied when
 * it holds `MAX_KNOWN` addresses, so that a flood of distinct peers cannot grow it.
 */
import proxyAddr from 'proxy-addr';

const MAX_KNOWN = 4096;

export function trustedProxies(): (address: string, hop: number) => boolean {
  const trusts = proxyAddr.compile('loopback');
  const known = new Map<string, boolean>();
  return (address, hop) => {
    const key = `${hop} ${address}`;
    let trusted = known.get(key);
    if (trusted === undefined) {
      if (known.size >= MAX_KNOWN) known.clear();
      trusted = trusts(address, hop);
      known.set(key, trusted);
    }
    return trusted;
  };
}
