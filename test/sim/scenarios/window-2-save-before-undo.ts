import type { Scenario } from './scenario';

/**
 * Window 2: a save of the next life that cannot be ordered after the delete it follows. a saves k
 * twice and deletes it (the delete orders at version 2); b saved k once meanwhile (version 1, older
 * than the delete). b's save reaches a after a recorded its delete: it inserts, reads the tombstone
 * and is about to undo itself when a's application saves the item it sees (version 2, on b's
 * data). The undo's condition no longer holds, so the save stays, but it inherited b's generation:
 * it orders before a's own earlier delete and loses to it everywhere else.
 */
export const saveBetweenCheckAndUndo: Scenario = {
  name: 'save-between-check-and-undo',
  window: 2,
  description: "a's application saves a stale insert between its tombstone check and its undo",
  options: {
    program: [
      { region: 'a', kind: 'save', key: 'k' },
      { region: 'a', kind: 'save', key: 'k' },
      { region: 'a', kind: 'delete', key: 'k' },
      { region: 'a', kind: 'save', key: 'k' },
      { region: 'b', kind: 'save', key: 'k' },
    ],
  },
  script: [
    { step: 'app:a#1' },
    { step: 'app:a#2' },
    { step: 'app:a#3' },
    { step: 'app:b#1' },
    { step: 'es:a@1' },
    { finish: 'es:a' },
    { step: 'es:b@1' },
    { runUntil: /→ a DeleteItem Items k/ },
    { step: 'app:a#4' },
  ],
  before:
    "convergence: a keeps a4 (generation 0, inherited from b's save); b refuses it against a's earlier delete and ends absent",
};
