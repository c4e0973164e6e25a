// Which failures of an API call end the audit at once, like kubectl does, and the one line that says what to
// check. A retry cannot fix a refused connection, an unknown host, a TLS or an authentication error; waiting the
// whole --timeout for them only hides the cause. Only a cluster that answers slowly (or a 5xx, a 429) is retried.

import { KubeApiError, KubeconfigError } from '../cluster/kube-client.ts';

/** Where the audit connects to, for messages: the kubeconfig's server and context. */
export interface ClusterTarget {
  readonly server: string;
  readonly context: string;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The error's Node.js code (`ECONNREFUSED`, `ERR_TLS_CERT_ALTNAME_INVALID`...), or its cause's. */
export function errorCode(error: unknown): string | undefined {
  for (let current: unknown = error, depth = 0; current !== undefined && current !== null && depth < 4; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && code !== '') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** OpenSSL and Node certificate verification codes: the server's certificate or the handshake. */
const TLS_CODES: ReadonlySet<string> = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_SIGNATURE_FAILURE',
  'CERT_REVOKED',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'INVALID_CA',
  'HOSTNAME_MISMATCH',
  'EPROTO',
]);

function isTlsCode(code: string): boolean {
  return TLS_CODES.has(code) || code.startsWith('ERR_TLS_') || code.startsWith('ERR_SSL_');
}

function originOf(server: string): string {
  try {
    return new URL(server).origin;
  } catch {
    return '';
  }
}

function where(target: ClusterTarget): string {
  return target.context === '' ? target.server : `${target.server} (context ${target.context})`;
}

/**
 * The line for a failure no retry fixes, or undefined when waiting may help (a 5xx, a 429, a slow answer).
 * `verb` and `resource` name what was being read, for a 403.
 */
export function fatalFailure(error: unknown, verb: string, resource: string, target: ClusterTarget): string | undefined {
  if (error instanceof KubeApiError) {
    if (error.statusCode === 403) return `missing permission: ${error.message} (the audit needs ${verb} on ${resource})`;
    if (error.statusCode === 401) {
      return `unauthorized: ${where(target)} rejected the credentials (${error.message}); check the kubeconfig user's token or client certificate (expired? another cluster's?)`;
    }
    if (error.statusCode === 400) {
      return `bad request: ${where(target)} answered HTTP 400 (${error.message}); check that the kubeconfig's server address and scheme (https://) point at the API server`;
    }
    return undefined;
  }
  if (error instanceof KubeconfigError) {
    return `kubeconfig: the user or server of ${where(target)} cannot be used (${error.message}); fix it or log in again (kubectl get nodes fails the same way)`;
  }
  const code = errorCode(error);
  if (code === undefined) return undefined;
  // The client names the server in its errors; the line names it once.
  let detail = messageOf(error);
  for (const prefix of [target.server.replace(/\/+$/, ''), originOf(target.server)]) {
    if (prefix !== '' && detail.startsWith(`${prefix}: `)) detail = detail.slice(prefix.length + 2);
  }
  if (code === 'ECONNREFUSED') {
    return `connection refused: ${where(target)} (${detail}); is the API server running, and are the kubeconfig's host and port right?`;
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_NONAME' || code === 'EAI_FAIL') {
    return `unknown host: ${where(target)} (${detail}); check the server address in the kubeconfig and the DNS`;
  }
  // No connection in time (boundConnect, or the system's connect timeout): packets dropped on the way, or nothing
  // speaking TLS at that address.
  if (code === 'ETIMEDOUT') {
    return `no connection: ${where(target)} (${detail}); is the API server up, and reachable from here (VPN, firewall, proxy)? check the kubeconfig's host and port`;
  }
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || code === 'EADDRNOTAVAIL') {
    return `no route to ${where(target)} (${detail}); check the network path (VPN, firewall) to the API server`;
  }
  if (code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR') {
    return `cannot read a file the kubeconfig names for ${where(target)} (${detail}); check its certificate and key paths`;
  }
  if (isTlsCode(code)) {
    return `TLS error: ${where(target)} (${detail}); check the kubeconfig's certificate-authority-data and that the server address is the API server's`;
  }
  return undefined;
}
