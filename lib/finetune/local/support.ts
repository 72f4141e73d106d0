// What the local trainer can run today. The config can describe more (QLoRA, FSDP, ZeRO-3) so that
// `plan` can size those runs; a run the trainer would not carry out as written is refused, never
// quietly trained another way.
import type { StudentConfig } from '../../../core/config';

/** Why the trainer cannot run this student as configured, or undefined when it can. */
export function trainerCannotRun(st: StudentConfig): string | undefined {
  const asked = [
    ...(st.mode === 'qlora' ? ['mode "qlora"'] : []),
    ...(st.sharding !== 'ddp' ? [`sharding "${st.sharding}"`] : []),
  ];
  if (!asked.length) return undefined;
  return (
    `student "${st.name}": the local trainer cannot run ${asked.join(' with ')} yet; it trains mode "lora" or "full" ` +
    `with sharding "ddp" (each GPU holds the whole model). Change the student to those, or fine-tune it elsewhere`
  );
}
