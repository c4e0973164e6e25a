// Before the fault tests: the same cluster and registered volume-guard as the end-to-end suite, started once per
// run. vitest runs each project's global setup, in no fixed order; a second run of the e2e setup would start a
// second volume-guard over the first one's files and webhook registration. So when the e2e project is part of
// this run (`npm test`), its own setup runs (at most once: vitest skips a project already set up, and tears it down
// at the end) and the fault project takes what it provided; run alone (`npm run test:fault`), the fault project
// runs the e2e setup itself.
import type { TestProject } from 'vitest/node';
import setupEndToEnd from '../e2e/global-setup.ts';

/** vitest's own (internal) entry point for a project's global setup: runs it once per project and run. */
interface GlobalSetupOnce {
  _initializeGlobalSetup(): Promise<void>;
}

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const e2e = project.vitest.projects.find((other) => other.name === 'e2e');
  if (!e2e) return setupEndToEnd(project);
  await (e2e as unknown as GlobalSetupOnce)._initializeGlobalSetup();
  const provided = e2e.getProvidedContext();
  if (!provided.cluster || !provided.guard) throw new Error('the e2e global setup provided no cluster and volume-guard');
  project.provide('cluster', provided.cluster);
  project.provide('guard', provided.guard);
  return undefined;
}
