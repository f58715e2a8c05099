import { describe, expect, it } from 'vitest';
import {
  ALL_PILOT_CODES,
  CURATED_GUIDANCE,
  ERROR_COMPONENTS,
  guidanceFor,
  pilotCode,
} from '../../src/panda/knowledge.ts';

describe('error-code knowledge base', () => {
  it('holds all 147 pilot error codes, unique and sorted, with name and message', () => {
    expect(ALL_PILOT_CODES).toHaveLength(147);
    const codes = ALL_PILOT_CODES.map((c) => c.code);
    expect(new Set(codes).size).toBe(147);
    expect([...codes].sort((a, b) => a - b)).toEqual(codes);
    for (const c of ALL_PILOT_CODES) {
      expect(c.name).toMatch(/^[A-Z0-9_]+$/);
      expect(c.message.length).toBeGreaterThan(3);
    }
    expect(pilotCode(1235)).toMatchObject({
      name: 'PAYLOADEXCEEDMAXMEM',
      message: 'Payload exceeded maximum allowed memory',
    });
    expect(pilotCode(1305)?.name).toBe('PAYLOADEXECUTIONFAILURE');
  });

  it('has curated guidance for every code users hit most, with all sections filled', () => {
    const required = [1099, 1104, 1137, 1150, 1151, 1152, 1201, 1213, 1235, 1236, 1305, 1322, 1324, 1354, 1361, 1368];
    for (const code of required) {
      const g = guidanceFor('pilot', code);
      expect(g, `pilot ${code}`).toBeDefined();
      expect(pilotCode(code), `pilot ${code} is an official code`).toBeDefined();
      for (const list of [g!.causes, g!.recommendations, g!.investigation, g!.scenarios, g!.prevention])
        expect(list.length).toBeGreaterThan(0);
      expect(g!.problem.length).toBeGreaterThan(40);
      expect(g!.analysis.length).toBeGreaterThan(60);
      expect(g!.patterns.length).toBeGreaterThan(0);
    }
    expect(guidanceFor('taskbuffer', 100)?.problem).toMatch(/reassign/i);
    expect(CURATED_GUIDANCE.length).toBeGreaterThanOrEqual(17);
  });

  it('every curated pattern matches its own example line and is a valid regex', () => {
    for (const g of CURATED_GUIDANCE) {
      for (const p of g.patterns) {
        expect(new RegExp(p.regex, 'i').test(p.example), `${g.component}:${g.code} ${p.regex}`).toBe(true);
      }
    }
  });

  it('maps the job error components to their fields', () => {
    const names = ERROR_COMPONENTS.map((c) => c.name);
    for (const n of [
      'pilot',
      'executor',
      'transform',
      'dataservice',
      'taskbuffer',
      'brokerage',
      'jobdispatcher',
      'supervisor',
    ])
      expect(names).toContain(n);
    expect(ERROR_COMPONENTS.find((c) => c.name === 'pilot')?.codeField).toBe('piloterrorcode');
  });
});
