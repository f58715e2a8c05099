// Imports point one way: down this table (a row may import the rows above it, never its own row's
// other folders or anything below). docs/architecture.md explains each layer. `npm run lint` runs it.
const LAYERS = [
  ['util'], // logging, redaction, time zones, request context: knows nothing of PanDA
  ['core'], // the domain's vocabulary: Answer, Turn, Incoming, ids, error kinds, metrics
  ['http'], // the one HTTP layer: calls out (bounded, retried) and the one inbound server
  ['config'], // settings, checked at start
  ['storage'], // the Store interface and its SQLite and Redis implementations
  ['llm', 'panda', 'rag'], // models; BigPanDA, CRIC and logs; documents
  ['tools'], // PanDA tools: typed input, a monitor budget, structured output, an offline rendering
  ['agents'], // what answers a question
  ['bot'], // the conversation core: commands, history, routing to agents, posting
  ['digest', 'adapters', 'server'], // what reaches people: schedules, chat platforms, HTTP surfaces
  ['app.ts', 'load-config.ts'], // the composition root: the App, and the configuration with every provider's settings
  ['cli'], // the askpanda command
];

const name = (folder) => (folder.endsWith('.ts') ? `src/${folder.replace('.', '\\.')}$` : `src/${folder}/`);
const any = (folders) => `^(${folders.map(name).join('|')})`;

const layerRules = LAYERS.flatMap((row, index) =>
  row.map((folder) => {
    const higher = LAYERS.slice(index + 1).flat();
    const siblings = row.filter((other) => other !== folder);
    const forbidden = [...higher, ...siblings];
    return {
      name: `layer-${folder.replace('.ts', '')}`,
      comment: `${folder} may import only ${LAYERS.slice(0, index).flat().join(', ') || 'node and packages'}`,
      severity: 'error',
      from: { path: `^${name(folder)}` },
      to: { path: any(forbidden) },
    };
  }),
).filter((rule) => !rule.to.path.endsWith('()'));

module.exports = {
  forbidden: [
    ...layerRules,
    {
      name: 'no-cycles',
      comment: 'a file cycle makes two files one concept: merge them or move the shared part down',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'adapters-only-translate',
      comment:
        'adapters translate a platform to the conversation core (src/bot/conversation.ts, src/bot/surface.ts); ' +
        "what answers a question is the core's business",
      severity: 'error',
      from: { path: '^src/adapters/' },
      to: { path: '^src/(agents|panda|llm|rag|digest|storage)/|^src/bot/selection' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
