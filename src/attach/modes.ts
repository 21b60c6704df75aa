// The attach modes a user can ask for (--attach-mode), apart from the code that acts on them.

/** Every AttachMode: auto picks the PMU when present and a BPF link when the kernel has them. */
export const ATTACH_MODES = ['auto', 'pmu', 'tracefs', 'link'] as const;
/** How probes attach: auto (the best this kernel offers), tracefs events, PMU perf events, or BPF links. */
export type AttachMode = (typeof ATTACH_MODES)[number];
