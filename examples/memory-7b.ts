/**
 * How much memory pre-training LLaMA 7B takes, planned without a GPU: each configuration runs
 * real training steps on the meta backend (allocations counted, nothing computed) and prints the
 * peak split into weights, gradients, optimizer state and activations, beside the closed-form
 * figures and the GaLore paper's.
 *
 *   npx tsx examples/memory-7b.ts
 *
 * Environment: TOKENS (tokens per step as batch x seq, default 1x256).
 */
import { pathToFileURL } from 'node:url';
import { formatMemoryPlan, type MemoryPlan, type PlanMemoryOptions, planMemory } from '@galore-ts/galore';

export function planLlama7b(batchSize = 1, seqLen = 256): MemoryPlan[] {
  const common = { model: 'llama_7b', batchSize, seqLen, dtype: 'bf16' } as const;
  const configurations: PlanMemoryOptions[] = [
    { ...common, optimizer: 'adamw' },
    { ...common, optimizer: 'galore_adamw', rank: 1024 },
    { ...common, optimizer: 'galore_adamw_8bit_layerwise', rank: 1024 },
  ];
  return configurations.map((c) => planMemory(c));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [batch, seq] = (process.env.TOKENS ?? '1x256').split('x').map(Number);
  for (const plan of planLlama7b(batch, seq)) console.log(`${formatMemoryPlan(plan)}\n`);
}
