import { describe, expect, it } from 'vitest';
import { personaPreferenceOf, personaPreferenceOfRows } from '../src/index.js';

describe('personaPreferenceOf', () => {
  it('takes each user persona with most turns, ties by name, split triples summed', () => {
    // u1: eng 3 (2 + 1), cto 2 -> eng. u2: cto 2, eng 2 -> cto (tie, name). u3: ops 1 -> ops.
    // u4: only a zero count -> no preference.
    expect(
      personaPreferenceOf([
        ['u1', 'eng', 2],
        ['u1', 'cto', 2],
        ['u2', 'eng', 2],
        ['u1', 'eng', 1],
        ['u2', 'cto', 2],
        ['u3', 'ops', 1],
        ['u4', 'eng', 0],
      ]),
    ).toEqual({
      users: 3,
      personas: [
        { persona: 'cto', users: 1 },
        { persona: 'eng', users: 1 },
        { persona: 'ops', users: 1 },
      ],
    });
  });

  it('orders personas by users, most first', () => {
    expect(
      personaPreferenceOf([
        ['a', 'x', 1],
        ['b', 'y', 1],
        ['c', 'y', 5],
        ['c', 'x', 4],
      ]),
    ).toEqual({
      users: 3,
      personas: [
        { persona: 'y', users: 2 },
        { persona: 'x', users: 1 },
      ],
    });
    expect(personaPreferenceOf([])).toEqual({ users: 0, personas: [] });
  });

  it('leaves out aggregate rows without a user or a persona', () => {
    const row = (user: string | null, persona: string | null, count: number) => ({
      keys: [user, persona],
      values: { count },
    });
    expect(
      personaPreferenceOfRows([
        row('u1', null, 9),
        row('u1', 'eng', 1),
        row(null, 'cto', 5),
        row('u2', null, 3),
      ]),
    ).toEqual({ users: 1, personas: [{ persona: 'eng', users: 1 }] });
  });
});
