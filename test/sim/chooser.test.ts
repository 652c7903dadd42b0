import { ExhaustiveChooser, RandomChooser, ReplayChooser, ScriptChooser, type Chooser } from './chooser';

/** A toy world: three decisions, the last one's bound depending on the first value. */
function toy(chooser: Chooser): string {
  const a = chooser.choose('step', 2);
  const b = chooser.choose('fault', 3);
  const c = chooser.choose('batch', a === 0 ? 2 : 4);
  return `${a}${b}${c}`;
}

function enumerate(world: (c: Chooser) => string): string[] {
  const chooser = new ExhaustiveChooser();
  const seen: string[] = [];
  do seen.push(world(chooser));
  while (chooser.advance());
  return seen;
}

describe('ExhaustiveChooser', () => {
  it('runs every choice list of fixed bounds exactly once (the product of the bounds)', () => {
    const lists = enumerate((c) => `${c.choose('step', 2)}${c.choose('fault', 3)}${c.choose('batch', 2)}`);
    expect(lists).toHaveLength(2 * 3 * 2);
    expect(new Set(lists).size).toBe(lists.length);
  });

  it('follows bounds that depend on earlier choices (3·2 lists after a 0, 3·4 after a 1)', () => {
    const lists = enumerate(toy);
    expect(lists).toHaveLength(3 * 2 + 3 * 4);
    expect(new Set(lists).size).toBe(lists.length);
    expect(lists[0]).toBe('000');
    expect(lists[lists.length - 1]).toBe('123');
  });

  it('does not record or branch on forced decisions', () => {
    const lists = enumerate((c) => `${c.choose('step', 1)}${c.choose('fault', 2)}${c.choose('step', 1)}`);
    expect(lists).toEqual(['000', '010']);
  });

  it('refuses a world that meets other decisions on the same prefix', () => {
    const chooser = new ExhaustiveChooser();
    chooser.choose('step', 2);
    chooser.choose('fault', 2);
    chooser.advance();
    expect(() => chooser.choose('batch', 2)).toThrow(/nondeterminism/);
  });
});

describe('RandomChooser', () => {
  it('makes the same choices for the same seed and others for another seed', () => {
    const run = (seed: number) => {
      const c = new RandomChooser(seed);
      return Array.from({ length: 50 }, () => c.choose('step', 7));
    };
    expect(run(42)).toEqual(run(42));
    expect(run(42)).not.toEqual(run(43));
  });

  it('draws each kind of decision from its own stream', () => {
    const steps = (extraFaults: number) => {
      const c = new RandomChooser(7);
      const out: number[] = [];
      for (let i = 0; i < 20; i++) {
        for (let j = 0; j < extraFaults; j++) c.choose('fault', 5);
        out.push(c.choose('step', 9));
      }
      return out;
    };
    expect(steps(0)).toEqual(steps(3));
  });

  it('follows weights: a zero-weight option is never chosen', () => {
    const c = new RandomChooser(3);
    const picks = Array.from({ length: 200 }, () => c.choose('fault', 3, { weights: [1, 0, 1] }));
    expect(picks).not.toContain(1);
    expect(picks).toContain(0);
    expect(picks).toContain(2);
  });
});

describe('ReplayChooser', () => {
  it('replays a recorded run exactly', () => {
    const recorded = new RandomChooser(11);
    const first = toy(recorded);
    const replayed = new ReplayChooser(recorded.choices.map((c) => c.value));
    expect(toy(replayed)).toBe(first);
    expect(replayed.diverged).toBe(false);
  });

  it('clamps a value the bound no longer allows and says so', () => {
    const replayed = new ReplayChooser([5]);
    expect(replayed.choose('step', 3)).toBe(2);
    expect(replayed.diverged).toBe(true);
    expect(replayed.choose('step', 3)).toBe(0);
  });
});

describe('ScriptChooser', () => {
  const labels = (...l: string[]) => ({ labels: () => l });

  it('picks the scripted step by label and applies its fault to the call', () => {
    const c = new ScriptChooser([{ step: 'app:b#1' }, { step: /→ b PutItem/, fault: 'lost' }]);
    expect(c.choose('step', 2, labels('app:a#1 save k', 'app:b#1 save k'))).toBe(1);
    expect(
      c.choose('step', 2, labels('es:a#1/1 → a GetItem tombstones k', 'es:a#1/2 → b PutItem Items k')),
    ).toBe(1);
    expect(c.choose('fault', 3, labels('none', 'fail', 'crash-before'))).toBe(0);
    expect(c.choose('fault', 3, labels('none', 'lost', 'crash-after'))).toBe(1);
    expect(c.followed).toBe(true);
  });

  it('lets running calls go on while waiting, and gives up when only new work could start', () => {
    const c = new ScriptChooser([{ step: 'app:a#2' }]);
    expect(c.choose('step', 2, labels('es:b@1 poll', 'es:a#1/3 → b PutItem Items k'))).toBe(1);
    expect(c.choose('step', 1, labels('es:b@1 poll'))).toBe(0);
    expect(c.followed).toBe(false);
    expect(c.stuck).toMatch(/app:a#2/);
  });
});
