import { describe, expect, it } from 'vitest';
import { anyOf, wordRegex, withPlurals } from '../../src/util/word-pattern.ts';

describe('word lists as regular expressions', () => {
  it('matches whole words only', () => {
    const re = wordRegex(['job', 'task']);
    expect(re.test('why did my job fail?')).toBe(true);
    expect(re.test('TASK 46374283')).toBe(true);
    expect(re.test('my jobs')).toBe(false);
    expect(re.test('a subtask')).toBe(false);
  });

  it('escapes characters that mean something in a pattern', () => {
    const re = new RegExp(`^${anyOf([':-)', 'no.', 'c++', 'panda-client'])}$`);
    expect([':-)', 'no.', 'c++', 'panda-client'].every((text) => re.test(text))).toBe(true);
    expect(re.test('noX')).toBe(false);
    expect(re.test('c')).toBe(false);
    expect(re.test(':-')).toBe(false);
  });

  it('lets any whitespace separate the words of an entry, or exactly one space', () => {
    const anyGap = wordRegex(['how many']);
    const oneSpace = wordRegex(['how many'], { gap: 'one space' });
    for (const text of ['how many queues', 'how  many queues', 'how\tmany', 'how\nmany'])
      expect(anyGap.test(text)).toBe(true);
    expect(anyGap.test('howmany')).toBe(false);
    expect(oneSpace.test('how many queues')).toBe(true);
    expect(oneSpace.test('how  many queues')).toBe(false);
    expect(oneSpace.test('how\nmany queues')).toBe(false);
  });

  it('is case-insensitive unless told otherwise, and keeps the flags it is given', () => {
    expect(wordRegex(['cric']).test('CRIC')).toBe(true);
    expect(wordRegex(['CRIC'], { flags: '' }).test('cric')).toBe(false);
    const global = wordRegex(['tell me'], { flags: 'gi' });
    expect('Tell me, tell me more'.replace(global, '_')).toBe('_, _ more');
  });

  it('names a noun once and matches it in the singular and the plural', () => {
    expect(withPlurals(['job', 'worker node'])).toEqual(['job', 'jobs', 'worker node', 'worker nodes']);
    const re = wordRegex(withPlurals(['queue']));
    expect(re.test('which queues?')).toBe(true);
    expect(re.test('the queue')).toBe(true);
  });
});
