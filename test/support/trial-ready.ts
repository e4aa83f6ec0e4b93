// After the control plane's reset the seed's workloads roll their pods again for a moment: a trial proposed then is
// refused (no ready pod yet, a rollout under way, a pod gone between the listing and the dry-run). Tests that want a
// trial wait those out by proposing again; any other refusal is a real one.
export const notYetTriable = /no running, ready pod|it is rolling out|its controller has not yet seen its latest change|pods? "[^"]+" not found/;
