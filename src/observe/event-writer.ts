// The EventSink over the API server, with volume-guard's own credentials: create and patch on
// events.events.k8s.io (the only writes its RBAC grants), and the list of pods it already may do, to find an evicted
// pod's uid. Each call is bounded by a timeout; failures are reported, never retried here.

import http from 'node:http';
import https from 'node:https';
import type { ApiCredentials } from '../cluster/kubeconfig.ts';
import { arrayAt, objectAt, stringAt } from '../json.ts';
import type { EventObject, EventSink } from './events.ts';

const TIMEOUT_MS = 5_000;
const USER_AGENT = 'volume-guard/events';

async function call(kubeConfig: ApiCredentials, method: string, path: string, body?: { type: string; data: unknown }): Promise<unknown> {
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new Error('kubeconfig has no current cluster');
  const url = new URL(cluster.server.replace(/\/+$/, '') + path);
  const options: https.RequestOptions = {};
  await kubeConfig.applyToHTTPSOptions(options);
  const transport = url.protocol === 'http:' ? http : https;
  const payload = body === undefined ? undefined : JSON.stringify(body.data);
  const response = await new Promise<http.IncomingMessage>((resolve, reject) => {
    const request = transport.request(url, {
      ...options,
      method,
      headers: {
        ...options.headers,
        Accept: 'application/json',
        'User-Agent': USER_AGENT,
        ...(body !== undefined ? { 'Content-Type': body.type } : {}),
      },
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    request.on('response', resolve);
    request.on('error', reject);
    request.end(payload);
  });
  response.setEncoding('utf8');
  let text = '';
  for await (const chunk of response) text += String(chunk);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const status = response.statusCode ?? 0;
  if (status < 200 || status > 299) throw new Error(`${method} ${path}: HTTP ${status}: ${stringAt(parsed, 'message') || text.slice(0, 200)}`);
  return parsed;
}

export function apiEventSink(kubeConfig: ApiCredentials): EventSink {
  return {
    async create(event: EventObject) {
      await call(kubeConfig, 'POST', `/apis/events.k8s.io/v1/namespaces/${encodeURIComponent(event.metadata.namespace)}/events`, { type: 'application/json', data: event });
    },
    async patchSeries(namespace, name, series) {
      await call(kubeConfig, 'PATCH', `/apis/events.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/events/${encodeURIComponent(name)}`, {
        type: 'application/merge-patch+json',
        data: { series },
      });
    },
    async podUid(namespace, name) {
      const list = await call(kubeConfig, 'GET', `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods?fieldSelector=${encodeURIComponent(`metadata.name=${name}`)}&limit=1`);
      const uid = stringAt(objectAt(arrayAt(list, 'items')[0], 'metadata'), 'uid');
      return uid === '' ? undefined : uid;
    },
  };
}
