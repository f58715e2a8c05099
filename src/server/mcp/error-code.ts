import { z } from 'zod';
import { errorDraft } from '../../core/answer.ts';
import { toAnswer } from '../../bot/render.ts';
import { COMPONENT_NAMES, type ComponentName } from '../../panda/error-codes.ts';
import { fromAnswer } from './results.ts';
import { defineTool, toolIncoming } from './tool.ts';

/**
 * The component names a caller may use, and the knowledge base's: BigPanDA's error summaries say
 * `exe:` and `ddm:`, the job record's fields executor and dataservice.
 */
const COMPONENT_ALIASES: Record<string, ComponentName> = {
  ...Object.fromEntries(COMPONENT_NAMES.map((name) => [name, name])),
  exe: 'executor',
  trans: 'transform',
  ddm: 'dataservice',
  dispatcher: 'jobdispatcher',
};

const componentError = 'expected a component name such as pilot, exe, transform, ddm or taskbuffer';
const codeError = 'expected the error code, a whole number such as 1213';

/** panda_error_code: the error-code agent's answer, the same one a chat user gets, offline. */
export const errorCodeTool = defineTool({
  name: 'panda_error_code',
  title: 'What a PanDA error code means',
  description:
    "Explains a PanDA job error code from askpanda's knowledge base, offline: the official name and message, " +
    'which component sets it, and for the common codes the usual causes, what to do and which log shows it. ' +
    'Example: component "pilot", code 1213.',
  input: {
    component: z
      .string({ error: componentError })
      .min(1, { error: componentError })
      .max(40, { error: componentError })
      .describe(
        'error component: pilot, exe (executor), transform, ddm (dataservice), taskbuffer, brokerage, ' +
          'jobdispatcher or supervisor',
      ),
    code: z.number({ error: codeError }).int({ error: codeError }).describe('the numeric error code, e.g. 1213'),
  },
  returnsAnswer: true,
  readOnly: true,
  openWorld: false,
  async run({ component: name, code }, call) {
    const component = COMPONENT_ALIASES[name.trim().toLowerCase()];
    if (!component) {
      const known = Object.keys(COMPONENT_ALIASES).join(', ');
      return fromAnswer(
        toAnswer(
          errorDraft(
            'general',
            'bad_input',
            `"${name.slice(0, 40)}" is not a PanDA job error component. Use one of: ${known}.`,
          ),
        ),
      );
    }
    return fromAnswer(
      await call.app.bot.handleRoute(
        toolIncoming(call, `what does ${component} error ${code} mean?`),
        { agent: 'error_code', errorCode: { component, code }, reason: 'MCP tool panda_error_code' },
        { progress: call.progress, signal: call.signal },
      ),
    );
  },
});
