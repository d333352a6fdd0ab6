/** The manual clock of every case starts here: Monday 2026-03-02 12:00 UTC. */
export const CONFORMANCE_START = Date.UTC(2026, 2, 2, 12, 0, 0);
