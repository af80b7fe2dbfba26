/** Entry point of the `galore-ts` executable. */
import { disposeBackends } from '@galore-ts/core';
import { main } from './main.js';

const code = await main(process.argv.slice(2));
await disposeBackends();
process.exitCode = code;
