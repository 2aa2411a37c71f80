import { ipFamily, isHostname, isIpAddress } from '../util/ip.js';

/** `host`, `host:port`, `[v6]:port` or a bare IPv6 address. Returns an error message on failure. */
export const parseEndpoint = (text: string): { host: string; port?: number } | string => {
  if (text.includes('://')) return `"${text}" is a URL; write host[:port], e.g. 192.0.2.100:6443`;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  let host: string;
  let portText: string | undefined;
  if (bracketed) {
    host = bracketed[1]!;
    portText = bracketed[2];
    if (ipFamily(host) !== 6) return `"${host}" in "${text}" is not an IPv6 address`;
  } else if (ipFamily(text) === 6) {
    host = text;
  } else {
    const i = text.lastIndexOf(':');
    host = i >= 0 ? text.slice(0, i) : text;
    portText = i >= 0 ? text.slice(i + 1) : undefined;
    if (!isIpAddress(host) && !isHostname(host)) return `"${host}" in "${text}" is neither an IP address nor a host name`;
  }
  if (portText === undefined) return { host };
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port < 1 || port > 65535) return `port "${portText}" in "${text}" is out of range (1 to 65535)`;
  return { host, port };
};
