import {
  AdamW,
  getBackend,
  LlamaForCausalLM,
  llamaPreset,
  manualSeed,
  nextTokenLoss,
} from '/work/wt/cpuspeed/packages/core/src/index.js';

const [model, B, S] = [process.env.M ?? 'llama_small', Number(process.env.B ?? 4), Number(process.env.S ?? 128)];
const config = llamaPreset(model);
manualSeed(0);
const m = new LlamaForCausalLM(config);
const opt = new AdamW(m.parameters(), { lr: 1e-4, weightDecay: 0 });
const tokens = Int32Array.from({ length: B * (S + 1) }, () => Math.floor(Math.random() * config.vocab_size));
const batch = { tokens, shape: [B, S + 1] as [number, number] };
const be = getBackend() as any;
const stats = new Map<string, { n: number; ms: number }>();
let on = false;
for (const name of Object.getOwnPropertyNames(Object.getPrototypeOf(be))) {
  if (name === 'constructor' || typeof be[name] !== 'function' || name.startsWith('own') || name === 'assertUsable')
    continue;
  const orig = be[name].bind(be);
  be[name] = (...args: any[]) => {
    if (!on) return orig(...args);
    const t = performance.now();
    const r = orig(...args);
    let key = name;
    if (name === 'binary' || name === 'unary') key += `(${args[0]})`;
    if (name === 'binary') {
      const l = args[4];
      key += ` a[${l.aStrides}] b[${l.bStrides}] shape[${l.shape}]`;
    }
    if (name === 'copy') key += ` ${JSON.stringify(args[1]).slice(0, 80)}`;
    const s = stats.get(key) ?? { n: 0, ms: 0 };
    s.n++;
    s.ms += performance.now() - t;
    stats.set(key, s);
    return r;
  };
}
async function step() {
  const loss = nextTokenLoss(m, batch);
  loss.backward();
  const v = await loss.item();
  loss.dispose();
  opt.step();
  opt.zeroGrad();
  return v;
}
await step();
await step();
on = true;
const t0 = performance.now();
await step();
const total = performance.now() - t0;
on = false;
const rows = [...stats].sort((a, b) => b[1].ms - a[1].ms);
let sum = 0;
for (const [, s] of rows) sum += s.ms;
console.log(`step ${total.toFixed(0)} ms, in kernels ${sum.toFixed(0)} ms`);
for (const [k, s] of rows.slice(0, 40)) console.log(s.ms.toFixed(1).padStart(8), String(s.n).padStart(5), k);
