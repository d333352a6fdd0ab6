import { createChatContextManager } from '@convokit/context-manager';
import { createManualClock } from '@convokit/core';
import { createConversationalDataManager } from '@convokit/data-manager';
import { createMemoryStorage } from '@convokit/storage-memory';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type ChatAnalyticsWorkflow, createChatAnalyticsWorkflow } from '../src/chat/index.js';

const now = Date.parse('2026-03-18T12:00:00Z');
const H = 3_600_000;
const D = 24 * H;

function turn(
  at: number,
  persona: string,
  userId: string,
  text: string,
  extra: Record<string, unknown> = {},
) {
  return {
    sessionId: `s-${userId}-${Math.floor(at / D)}`,
    userId,
    at,
    persona,
    userInput: text,
    assistantResponse: `answer about ${text}`,
    latencyMs: 100,
    ...extra,
  };
}

describe('chat analytics workflow', () => {
  let cleanup: Array<() => Promise<void>> = [];
  let workflow: ChatAnalyticsWorkflow;
  const alice = { id: 'alice' };

  beforeEach(async () => {
    const clock = createManualClock(now);
    const storage = createMemoryStorage({ clock });
    const dataManager = createConversationalDataManager({ storage, clock });
    const contexts = createChatContextManager({ storage, clock });
    cleanup = [() => dataManager.close(), () => contexts.close(), () => storage.close()];
    // Last week (2026-03-09 .. 03-16): diego 3 turns, camille 1; this week: camille 2.
    await dataManager.recordTurns([
      turn(Date.parse('2026-03-09T10:00:00Z'), 'diego', 'ana', 'kubernetes rollout plan', {
        frameworks: ['okr'],
      }),
      turn(Date.parse('2026-03-10T10:00:00Z'), 'diego', 'ben', 'hiring budget', {
        frameworks: ['okr', 'swot'],
      }),
      turn(Date.parse('2026-03-11T10:00:00Z'), 'diego', 'ana', 'quarterly review'),
      turn(Date.parse('2026-03-12T10:00:00Z'), 'camille', 'ana', 'kubernetes costs'),
      turn(now - 2 * H, 'camille', 'ben', 'team topology'),
      turn(now - H, 'camille', 'ana', 'roadmap'),
    ]);
    workflow = createChatAnalyticsWorkflow({ dataManager, contexts, clock });
  });

  afterEach(async () => {
    for (const c of cleanup) await c();
  });

  it('answers "which personas did I use most last week?" from stored turns with a chart and a summary', async () => {
    const answer = await workflow.processChatQuery('which personas did I use most last week?', {
      principal: alice,
      sessionId: 'chat-1',
    });
    expect(answer.understood).toBe(true);
    expect(answer.query).toMatchObject({
      type: 'persona_usage',
      timeRange: { from: Date.parse('2026-03-09T00:00:00Z'), to: Date.parse('2026-03-16T00:00:00Z') },
    });
    const data = answer.response!.data as {
      totalTurns: number;
      personas: Array<{ persona: string; turns: number }>;
    };
    expect(data.totalTurns).toBe(4);
    expect(data.personas.map((p) => [p.persona, p.turns])).toEqual([
      ['diego', 3],
      ['camille', 1],
    ]);
    expect(answer.chart).toMatchObject({ mark: { type: 'bar' }, data: { values: expect.any(Array) } });
    expect(answer.summary).toContain('**diego** was used most (last week): 3 of 4 turns (75.0%)');
  });

  it('keeps the previous question in an analytics context so a follow-up refines it', async () => {
    await workflow.processChatQuery('which personas did I use most last week?', {
      principal: alice,
      sessionId: 'chat-1',
    });
    const next = await workflow.processChatQuery('now only for diego', {
      principal: alice,
      sessionId: 'chat-1',
    });
    expect(next.query).toMatchObject({ type: 'persona_usage', filters: { persona: 'diego' } });
    const data = next.response!.data as { totalTurns: number };
    expect(data.totalTurns).toBe(3);
    // Another session of the same principal starts fresh.
    const other = await workflow.processChatQuery('now only for diego', {
      principal: alice,
      sessionId: 'chat-2',
    });
    expect(other.query).toMatchObject({ type: 'persona_usage', filters: { persona: 'diego' } });
    expect(other.request).toMatchObject({ followUp: false });
  });

  it('searches conversation text and marks the matches', async () => {
    const answer = await workflow.processChatQuery('find conversations about kubernetes', {
      principal: alice,
      sessionId: 'chat-1',
    });
    expect(answer.search).toMatchObject({ text: 'kubernetes' });
    const hits = answer.response!.data as Array<{ snippet: string }>;
    expect(hits).toHaveLength(2);
    expect(hits.every((h) => h.snippet.includes('<mark>kubernetes</mark>'))).toBe(true);
    expect(answer.summary).toMatch(/^2 turns mention "kubernetes"/);
  });

  it('explains what it can do when it cannot read the question', async () => {
    const answer = await workflow.processChatQuery('what is the weather', {
      principal: alice,
      sessionId: 'chat-1',
    });
    expect(answer.understood).toBe(false);
    expect(answer.response).toBeUndefined();
    expect(answer.summary).toContain('find conversations about kubernetes');
  });

  it('reads p95 per day this month as a performance time series', async () => {
    const answer = await workflow.processChatQuery('p95 latency per day this month', {
      principal: alice,
      sessionId: 'chat-1',
    });
    expect(answer.query).toMatchObject({ type: 'performance_metrics', aggregation: 'daily' });
    expect(answer.chart).toMatchObject({ mark: { type: 'line' }, encoding: { y: { field: 'latencyP95' } } });
    const data = answer.response!.data as { overall: { turns: number; latencyP95: number } };
    expect(data.overall.turns).toBe(6);
    expect(data.overall.latencyP95).toBe(100);
  });
});
