import { History } from './history';
import { compareRaw, finalStateFailure } from './oracles';

const item = (data: string, version: string) => ({
  pk: { S: 'k' },
  data: { S: data },
  version: { N: version },
});

/** a saves a1; b saves b1 on it and deletes it; a saves a2 on the absence that delete left. */
function saveDeleteRecreate(): History {
  const h = new History();
  h.recordSave('a', 'k', 'save', 'a1', '1', undefined, 1);
  h.recordSave('b', 'k', 'save', 'b1', '2', 'a1', 2);
  h.recordDelete('b', 'k', 'b1', 3);
  h.noteRemoval('a', 'k', 'b1');
  h.recordSave('a', 'k', 'save', 'a2', '1', undefined, 4);
  return h;
}

describe('happens-before', () => {
  it('orders a write after the state it was made on, after its region’s earlier writes, and after the delete whose absence it filled', () => {
    const h = saveDeleteRecreate();
    const [a1, b1, del, a2] = h.writes;
    expect(h.before(a1, b1)).toBe(true);
    expect(h.before(b1, del)).toBe(true);
    expect(h.before(del, a2)).toBe(true);
    expect(h.before(a1, a2)).toBe(true);
    expect(h.before(a2, a1)).toBe(false);
    expect(h.maximal('k')).toEqual([a2]);
  });

  it('leaves writes that saw nothing of each other concurrent', () => {
    const h = new History();
    const a = h.recordSave('a', 'k', 'save', 'a1', '1', undefined, 1);
    const b = h.recordSave('b', 'k', 'save', 'b1', '1', undefined, 2);
    expect(h.before(a, b) || h.before(b, a)).toBe(false);
    expect(finalStateFailure(h, 'k', item('a1', '1'))).toBeUndefined();
    expect(finalStateFailure(h, 'k', item('b1', '1'))).toBeUndefined();
  });

  it('forbids a save from before a delete once that delete is recorded in a region', () => {
    const h = saveDeleteRecreate();
    expect(h.forbids('b', 'k', 'a1')).toBeUndefined();
    h.markApplied('b', 'k', 2);
    expect(h.forbids('b', 'k', 'a1')?.id).toBe(2);
    expect(h.forbids('b', 'k', 'a2')).toBeUndefined();
  });
});

describe('final state oracle', () => {
  it('accepts the last write', () => {
    expect(finalStateFailure(saveDeleteRecreate(), 'k', item('a2', '1'))).toBeUndefined();
  });

  it('calls an absence a lost write when a save came after every delete', () => {
    expect(finalStateFailure(saveDeleteRecreate(), 'k', undefined)?.oracle).toBe('lost-write');
  });

  it('calls a deleted save that ends as the final state a resurrection', () => {
    expect(finalStateFailure(saveDeleteRecreate(), 'k', item('b1', '2'))?.oracle).toBe('resurrection');
  });

  it('refuses data no save wrote, and the right data at another version', () => {
    expect(finalStateFailure(saveDeleteRecreate(), 'k', item('zz', '1'))?.oracle).toBe('lost-write');
    expect(finalStateFailure(saveDeleteRecreate(), 'k', item('a2', '7'))?.message).toMatch(/version 7/);
  });
});

describe('raw comparison (idempotence)', () => {
  it('reports any stored change, reserved attributes included', () => {
    const before = { a: { items: ['{"_ddbm_ord":{"S":"1"}}'], tombstones: [] } };
    expect(compareRaw(before, before)).toEqual([]);
    expect(compareRaw(before, { a: { items: ['{"_ddbm_ord":{"S":"2"}}'], tombstones: [] } })).toHaveLength(1);
  });
});
