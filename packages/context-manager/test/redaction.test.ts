import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { alice, availableBackends, bob, rejection, removeTempDirs, setup } from './helpers.js';

afterAll(removeTempDirs);

/** Every value in these tests carries this marker; none may reach a log line or the audit trail. */
const MARK = 'S3CR3T';

describe.each(availableBackends())('no values in logs or audit on $name', (backend) => {
  it('a full workload at trace level logs plenty and never a context value or conversation text', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const logger = pino({ level: 'trace' }, sink);
    const s = await setup(backend, { logger, ttl: { default: 1000 }, limits: { maxBytes: 4096 } });
    const errors: unknown[] = [];
    const h = s.manager.as(alice);
    const conversation = {
      userInput: `${MARK} what were sales in March?`,
      assistantResponse: `${MARK} sales were 42 units`,
    };
    await h.create(
      'conversation',
      { ...conversation, nested: { deep: [`${MARK}-array`] } },
      {
        id: 'conv',
        metadata: { note: `${MARK}-meta` },
      },
    );
    await h.update('conv', { nested: { deep: [`${MARK}-2`] }, added: `${MARK}-added` });
    await h.update('conv', { replaced: `${MARK}-r` }, { strategy: 'replace' });
    await h.update('conv', { s: `${MARK}-shallow` }, { strategy: 'shallow' });
    errors.push(await rejection(h.update('conv', { big: `${MARK}`.repeat(2000) })));
    errors.push(await rejection(h.update('conv', { bad: Number.NaN, label: MARK })));
    errors.push(await rejection(s.manager.as(bob).get('conv')));
    errors.push(await rejection(s.manager.as(bob).update('conv', { x: MARK })));
    await h.resolve('conv');
    await h.createChart(
      { chartId: 'c', chartType: 'bar', title: `${MARK} chart`, filters: { q: MARK } },
      { id: 'chart' },
    );
    await h.pushNavigation('chart', { level: 'region', value: `${MARK}-eu`, label: `${MARK} label` });
    await h.popNavigation('chart');
    await h.delete('chart');
    s.clock.advance(5000);
    expect(await s.manager.sweep()).toBe(1);

    const audit = await s.manager.audit({}, { limit: 1000 });
    expect(audit.items.length).toBeGreaterThanOrEqual(10);
    await s.close();

    // the logs are not empty: debug lines for every write, a warning per denial, the sweep
    const parsed = lines.map((l) => JSON.parse(l) as { msg: string; component?: string });
    expect(parsed.filter((l) => l.msg === 'context updated').length).toBeGreaterThanOrEqual(3);
    expect(parsed.filter((l) => l.msg === 'access denied')).toHaveLength(2);
    expect(parsed.some((l) => l.msg === 'sweep deleted expired contexts')).toBe(true);
    expect(parsed.every((l) => l.component === 'context-manager')).toBe(true);

    const logText = lines.join('');
    expect(logText).not.toContain(MARK);
    expect(logText).not.toContain('sales were');
    const auditText = JSON.stringify(audit.items);
    expect(auditText).not.toContain(MARK);
    expect(auditText).not.toContain('sales');
    // changed keys are names only
    expect(auditText).toContain('"added"');
    // errors name fields and sizes, not values
    expect(
      JSON.stringify(errors.map((e) => ({ ...(e as object), message: (e as Error).message }))),
    ).not.toContain(MARK);
  });
});
