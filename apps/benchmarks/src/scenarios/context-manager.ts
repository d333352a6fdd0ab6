import { createManualClock } from '@convokit/core';
import { makeContext, ONE_KB } from '../data.js';
import { type ContextHandle, type ContextManager, loadContextManager, settledHeap } from '../managers.js';
import type { Scenario } from '../scenario.js';
import { sizeLabel } from './history.js';

const PRINCIPAL = { id: 'user-1', kind: 'user' as const };

const cpuMs = (usage: NodeJS.CpuUsage) => (usage.user + usage.system) / 1000;

/**
 * Issue 5: the context manager with its default policy and audit trail, 1 KB session contexts:
 * create, get, shallow update, a sweep of expired contexts, and on the memory adapter the heap per
 * context beyond its data at 1k and 100k contexts.
 */
export const contextManager: Scenario = {
  id: 'context-manager',
  title: 'Context manager: create, get, update, sweep, memory per context',
  issues: [5],
  quick: true,
  async run({ rec, adapters, sizes, options }) {
    const create = await loadContextManager();
    if (typeof create === 'string') {
      rec.skip('context manager', create);
      return;
    }
    for (const adapter of adapters) {
      const clock = createManualClock(Date.UTC(2026, 10, 1));
      const { storage, dispose } = await adapter.open({ clock });
      let manager: ContextManager | undefined;
      try {
        manager = create({ storage, clock, sweepIntervalMs: 0 });
        const handle: ContextHandle = manager.as(PRINCIPAL);
        const count = sizes.writes[adapter.klass];
        const spec = { subject: adapter.subject, kind: 'ours' as const, klass: adapter.klass };
        let prefix = '';
        await rec.fixed(
          { ...spec, operation: 'manager context create' },
          count,
          (i) => handle.create('session', ONE_KB, { id: `${prefix}${i}`, sessionId: 's-1' }),
          {
            setup: (run) => {
              prefix = `m${run}-`;
            },
          },
        );
        let i = 0;
        await rec.bench({ ...spec, operation: 'manager context get' }, () => handle.get(`m0-${i++ % count}`));
        let j = 0;
        await rec.bench({ ...spec, operation: 'manager context update (shallow)' }, () =>
          handle.update(`m0-${j % count}`, { step: j++ }, { strategy: 'shallow' }),
        );

        // Sweep: contexts that expire in one second, put straight into the store, then swept.
        const contexts = storage.contexts;
        if (contexts) {
          const n = sizes.sweep[adapter.klass];
          const at = clock.now();
          for (let k = 0; k < n; k += 500) {
            await Promise.all(
              Array.from({ length: Math.min(500, n - k) }, (_, x) =>
                contexts.create(
                  makeContext(`x-${k + x}`, ONE_KB, at, { expiresAt: at + 1000, ownerId: 'user-2' }),
                ),
              ),
            );
          }
          clock.advance(2000);
          const cpu0 = process.cpuUsage();
          const t0 = performance.now();
          const swept = await manager.sweep();
          const ms = performance.now() - t0;
          const cpu1 = process.cpuUsage(cpu0);
          rec.metric(
            `manager sweep ${sizeLabel(n)}/${adapter.subject}`,
            `${adapter.subject}: sweep of ${sizeLabel(n)} expired contexts`,
            ms,
            'ms',
            `${swept} swept, audited; CPU ${cpuMs(cpu1).toFixed(0)} ms`,
          );
          // The whole cost: a store that expires logically (deferred) writes the events and removes
          // the rows after sweep() returns; an audit read waits for all of it. Eager stores did it all
          // in the sweep, and the read is then one small query.
          const page = await manager.audit({ action: 'expire' }, { limit: 1 });
          const total = performance.now() - t0;
          const cpu2 = process.cpuUsage(cpu0);
          rec.metric(
            `manager sweep ${sizeLabel(n)}, expire events materialized/${adapter.subject}`,
            `${adapter.subject}: sweep of ${sizeLabel(n)} expired contexts, then an audit read (every expire event written)`,
            total,
            'ms',
            `CPU ${cpuMs(cpu2).toFixed(0)} ms; ${page.items.length === 1 ? 'events listed' : 'NO EVENT LISTED'}`,
          );
        }
      } finally {
        await manager?.close();
        await dispose();
      }
    }

    // Heap per context on the memory adapter, beyond the context's own data.
    const memory = adapters.find((a) => a.name === 'memory');
    if (!memory) return;
    for (const n of options.quick ? [1_000, 10_000] : [1_000, 100_000]) {
      const clock = createManualClock(Date.UTC(2026, 10, 1));
      const base = settledHeap();
      let copies: unknown[] = Array.from({ length: n }, () => structuredClone(ONE_KB));
      const dataOnly = settledHeap();
      const dataBytes = (dataOnly.heap - base.heap) / n;
      copies = [];
      const empty = settledHeap();
      const { storage, dispose } = await memory.open({ clock });
      const manager = create({ storage, clock, sweepIntervalMs: 0 });
      try {
        const handle = manager.as(PRINCIPAL);
        for (let k = 0; k < n; k += 500) {
          await Promise.all(
            Array.from({ length: Math.min(500, n - k) }, (_, x) =>
              handle.create('session', structuredClone(ONE_KB), { id: `h-${k + x}`, sessionId: 's-1' }),
            ),
          );
        }
        const full = settledHeap();
        const perContext = (full.heap - empty.heap) / n;
        rec.metric(
          `manager heap @${sizeLabel(n)} contexts/${memory.subject}`,
          `${memory.subject}: heap of store and manager with ${sizeLabel(n)} contexts of 1 KB`,
          (full.heap - empty.heap) / 2 ** 20,
          'MB',
          `RSS +${((full.rss - empty.rss) / 2 ** 20).toFixed(1)} MB`,
        );
        if (n >= 10_000) {
          rec.metric(
            `manager overhead per context/${memory.subject}`,
            `${memory.subject}: heap per context beyond its data (${sizeLabel(n)} contexts)`,
            perContext - dataBytes,
            'bytes',
            `${perContext.toFixed(0)} per context incl. its create audit event, data alone ${dataBytes.toFixed(0)}`,
          );
        }
      } finally {
        await manager.close();
        await dispose();
      }
      void copies;
    }
  },
};
