import { describeEndToEnd } from './end-to-end.ts';

describeEndToEnd('ollama');
