// The bench's reading of a server child's admission log lines from its stdout pipe (test/bench/lib/admission-log.ts):
// only the lines written between mark() and durations() count, whatever the chunks' boundaries.
import { describe, expect, it } from 'vitest';
import { AdmissionLog } from '../bench/lib/admission-log.ts';

const line = (target: string, durationMs: number) => `${JSON.stringify({ level: 30, msg: 'admission', target, durationMs })}\n`;

describe('admission log lines read from a pipe', () => {
  it('keeps the lines for the target written after mark(), split across chunks anyhow', () => {
    const log = new AdmissionLog();
    log.push(line('node-cordon', 9));
    log.mark();
    const text = line('node-cordon', 0.2) + line('upgrade', 5) + line('node-cordon', 0.4) + '{"msg":"admission","target":"node-cordon","dur';
    for (let at = 0; at < text.length; at += 7) log.push(text.slice(at, at + 7));
    const durations = log.durations('node-cordon');
    expect(durations).toMatchObject({ count: 2, max: 400 });
  });

  it('drops the rest of a line begun before mark(), and keeps nothing once read', () => {
    const log = new AdmissionLog();
    const before = line('node-cordon', 7);
    log.push(before.slice(0, 20));
    log.mark();
    log.push(before.slice(20) + line('node-cordon', 1));
    expect(log.durations('node-cordon')).toMatchObject({ count: 1, max: 1000 });
    log.push(line('node-cordon', 3));
    expect(log.durations('node-cordon')).toBeUndefined();
  });
});
