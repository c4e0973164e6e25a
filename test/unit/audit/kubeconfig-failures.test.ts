// Failures of the kubeconfig itself (its credential plugin fails, its server is plain http:// without
// insecure-skip-tls-verify) happen before any request; no retry fixes them. The audit ends at once with a line saying
// what to check, rather than retrying every resource for --timeout (and a plugin each time) and then calling the
// cluster unreachable.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { loadClusterModel } from '../../../src/audit/load.ts';

function kubeConfig(server: string, user: Parameters<KubeConfig['loadFromOptions']>[0]['users'][number], skipTLSVerify = true): KubeConfig {
  const config = new KubeConfig();
  config.loadFromOptions({
    clusters: [{ name: 'c', server, skipTLSVerify }],
    users: [user],
    contexts: [{ name: 'prod', cluster: 'c', user: user.name }],
    currentContext: 'prod',
  });
  return config;
}

async function load(config: KubeConfig): Promise<{ message: string }> {
  try {
    await loadClusterModel({ kubeConfig: config, longhornNamespace: 'longhorn-system', timeoutMs: 8_000 });
    return { message: '(loaded)' };
  } catch (error) {
    return { message: (error as Error).message };
  }
}

describe('kubeconfig failures end the audit at once', () => {
  it('an exec credential plugin that fails (expired SSO session)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'r3-exec-'));
    const calls = join(dir, 'calls');
    const user = {
      name: 'eks',
      exec: {
        apiVersion: 'client.authentication.k8s.io/v1beta1',
        command: 'sh',
        args: ['-c', `echo x >> ${calls}; echo 'Error loading SSO Token: Token for sso expired' >&2; exit 255`],
        env: [],
        interactiveMode: 'Never',
      },
    } as never;
    const { message } = await load(kubeConfig('https://127.0.0.1:1', user));
    expect(message).not.toMatch(/^cluster unreachable/);
    expect(message).toMatch(/^kubeconfig: /);
    expect(message).toContain('Token for sso expired');
    expect(message).toContain('log in again');
    // The plugin ran for the first requests only, not once per retry until the timeout.
    const runs = existsSync(calls) ? readFileSync(calls, 'utf8').split('\n').filter(Boolean).length : 0;
    expect(runs).toBeGreaterThan(0);
    expect(runs).toBeLessThan(40);
  }, 20_000);

  // (createKubeConfig sets insecure-skip-tls-verify on http:// servers, as kubectl speaks to them without TLS:
  // test/unit/cluster/kubeconfig.test.ts. A KubeConfig built otherwise still fails at once.)
  it('a plain http:// server without insecure-skip-tls-verify (as for kubectl proxy)', async () => {
    const { message } = await load(kubeConfig('http://127.0.0.1:1', { name: 'u', token: 't' } as never, false));
    expect(message).not.toMatch(/^cluster unreachable/);
    expect(message).toMatch(/^kubeconfig: /);
  }, 20_000);
});
