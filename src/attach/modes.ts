// The attach modes a user can ask for (--attach-mode), apart from the code that acts on them.

/** auto picks the PMU when present and a BPF link when the kernel has them. */
export const ATTACH_MODES = ['auto', 'pmu', 'tracefs', 'link'] as const;
export type AttachMode = (typeof ATTACH_MODES)[number];
