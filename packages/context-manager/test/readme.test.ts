import { createMemoryStorage } from '@convokit/storage-memory';
import { expect, it } from 'vitest';
import { createChatContextManager } from '../src/index.js';

it('the README example runs as written (on the memory adapter)', async () => {
  const storage = createMemoryStorage();
  {
    await using manager = createChatContextManager({ storage, slidingExpiry: { session: true } });
    const alice = manager.as({ id: 'alice', kind: 'user', personas: ['analyst'] });
    const session = await alice.create('session', { topic: 'sales', filters: { year: 2025 } });
    const updated = await alice.update(session.id, { filters: { region: 'EU' } });
    expect(updated.data).toEqual({ topic: 'sales', filters: { year: 2025, region: 'EU' } });
    const chart = await alice.createChart({ chartId: 'sales', chartType: 'bar' }, { parentId: session.id });
    const pushed = await alice.pushNavigation(chart.context.id, { level: 'country', value: 'FR' });
    expect(pushed.filters).toEqual({ country: 'FR' });
    const resolved = await alice.resolve(chart.context.id);
    expect(resolved?.data.topic).toBe('sales');
    expect(resolved?.chain).toEqual([chart.context.id, session.id]);
  }
  await storage.close();
});
