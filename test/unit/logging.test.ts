// The logger's two shortcuts: jsonLineWriter (one JSON.stringify instead of pino's per-key loop) must write
// the line pino writes, and LineBatcher (one write per event-loop turn) must keep every line and its order.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { createLogger, isoTime, jsonLineWriter, LineBatcher, LOG_FLUSH_BYTES, LOG_FLUSH_DELAY_MS } from '../../src/logging.ts';

function capture(): { lines: string[]; stream: { write(line: string): void } } {
  const lines: string[] = [];
  return { lines, stream: { write: (line: string) => void lines.push(line) } };
}

const withoutTime = (line: string) => line.replace(/"time":"[^"]+"/, '"time":"T"');

const FIELDS = {
  uid: 'u-1',
  target: 'node-cordon',
  kind: 'policy/Eviction',
  name: 'quote " back\\slash \u0001 control, ünïcödé',
  missing: undefined,
  dryRun: false,
  checks: ['single-replica', 'volume-health'],
  overrides: [],
  durationMs: 0.123,
  notANumber: Number.NaN,
};

describe('jsonLineWriter', () => {
  it('writes what pino writes for the same fields, at each level, with bindings', () => {
    const viaPino = capture();
    const viaWriter = capture();
    const a = createLogger('info', viaPino.stream).child({ component: 'x' });
    const b = createLogger('info', viaWriter.stream).child({ component: 'x' });
    const write = jsonLineWriter(b, Object.keys(FIELDS));
    expect(write).toBeDefined();
    a.info(FIELDS, 'admission');
    write!('info', FIELDS, 'admission');
    a.warn({}, 'empty');
    write!('warn', {}, 'empty');
    expect(viaWriter.lines.map(withoutTime)).toEqual(viaPino.lines.map(withoutTime));
    expect(JSON.parse(viaWriter.lines[0]!)).toMatchObject({ level: 'info', service: 'volume-guard', component: 'x', name: FIELDS.name, notANumber: null, msg: 'admission' });
  });

  it('writes nothing below the logger level, and follows level changes', () => {
    const out = capture();
    const log = createLogger('warn', out.stream);
    const write = jsonLineWriter(log, ['a'])!;
    write('info', { a: 1 }, 'quiet');
    expect(out.lines).toEqual([]);
    log.level = 'info';
    write('info', { a: 1 }, 'now');
    expect(out.lines).toHaveLength(1);
  });

  it('leaves loggers with a mixin, hooks or serializers for the fields to pino', () => {
    const out = capture();
    expect(jsonLineWriter(pino({ mixin: () => ({ extra: 1 }) }, out.stream), ['a'])).toBeUndefined();
    expect(jsonLineWriter(pino({ hooks: { streamWrite: (line: string) => line } }, out.stream), ['a'])).toBeUndefined();
    expect(jsonLineWriter(pino({ serializers: { a: () => 'x' } }, out.stream), ['a'])).toBeUndefined();
    expect(jsonLineWriter(pino({ redact: ['a'] }, out.stream), ['a'])).toBeUndefined();
    expect(jsonLineWriter(pino({ messageKey: 'message' }, out.stream), ['a'])).toBeUndefined();
    expect(jsonLineWriter(pino({}, out.stream), ['a'])).toBeDefined();
  });
});

describe('isoTime', () => {
  it("is pino's isoTime", async () => {
    for (let i = 0; i < 3; i++) {
      const before = pino.stdTimeFunctions.isoTime();
      const ours = isoTime();
      const after = pino.stdTimeFunctions.isoTime();
      expect([before, after]).toContain(ours);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  });

  it('formats every millisecond as toISOString does, across seconds, days and years, forwards and back', () => {
    const starts = [0, 1_764_604_799_000, Date.UTC(2026, 11, 31, 23, 59, 59, 990), Date.UTC(1969, 11, 31, 23, 59, 59, 0), 253_402_300_799_000];
    const now = vi.spyOn(Date, 'now');
    try {
      for (const start of starts) {
        const times = [...Array.from({ length: 1100 }, (_, i) => start + i), start + 999, start - 1, start + 1000, start, start];
        for (const time of times) {
          now.mockReturnValue(time);
          expect(isoTime(), String(time)).toBe(`,"time":"${new Date(time).toISOString()}"`);
        }
      }
    } finally {
      now.mockRestore();
    }
  });
});

describe('LineBatcher', () => {
  it('writes the lines logged close together in one write, in order, at most LOG_FLUSH_DELAY_MS late', async () => {
    const out = capture();
    const batcher = new LineBatcher(out.stream);
    const log = createLogger('info', batcher);
    log.info('one');
    await new Promise((resolve) => setImmediate(resolve));
    log.warn('two');
    expect(out.lines).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, LOG_FLUSH_DELAY_MS + 30));
    expect(out.lines).toHaveLength(1);
    expect(out.lines[0]!.split('\n').filter(Boolean).map((line) => JSON.parse(line).msg)).toEqual(['one', 'two']);
    log.info('three');
    await new Promise<void>((resolve) => log.flush(() => resolve()));
    expect(out.lines).toHaveLength(2);
  });

  it('writes at once when LOG_FLUSH_BYTES are pending', () => {
    const out = capture();
    const log = createLogger('info', new LineBatcher(out.stream));
    const long = 'x'.repeat(1000);
    for (let i = 0; i * 1000 < LOG_FLUSH_BYTES + 1000; i++) log.info({ i, long }, 'big');
    expect(out.lines.length).toBeGreaterThanOrEqual(1);
    expect(out.lines[0]!.length).toBeGreaterThanOrEqual(LOG_FLUSH_BYTES);
  });

  it('loses nothing when the process exits in the same turn', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vg-log-'));
    const file = join(dir, 'out.log');
    const script = `
      import { pino } from 'pino';
      import { createLogger, LineBatcher } from ${JSON.stringify(join(import.meta.dirname, '..', '..', 'src', 'logging.ts'))};
      const log = createLogger('info', new LineBatcher(pino.destination({ dest: ${JSON.stringify(file)}, sync: true })));
      for (let i = 0; i < 100; i++) log.info({ i }, 'line');
      process.exit(3);
    `;
    const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: join(import.meta.dirname, '..', '..'), encoding: 'utf8' });
    expect(result.status).toBe(3);
    const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line).i);
    expect(lines).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });
});
