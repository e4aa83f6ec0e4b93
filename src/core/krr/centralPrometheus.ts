// A centralized Prometheus (Thanos, Mimir, VictoriaMetrics) holds many clusters' series; krr picks one cluster's with
// `--prometheus-label <NAME> -l <VALUE>`. The two are easy to swap (krr's own short `-l` is the value), and a swap
// silently selects no series at all, so a value that looks like a label name is worth a warning before the scan.

/** Label names people use to tell clusters apart; a cluster *value* equal to one of these is most likely swapped. */
const commonClusterLabelNames = ['cluster', 'cluster_name', 'clustername', 'cluster_id', 'k8s_cluster', 'kubernetes_cluster', 'cluster_label', 'kube_cluster', 'source_cluster', 'tenant'];

/** Warnings (never errors: a cluster may really be called `cluster`) for one context's label name and value. */
export function clusterLabelWarnings(label: string | undefined, value: string | undefined): string[] {
  if (label === undefined || value === undefined) return [];
  const warnings: string[] = [];
  const lower = value.toLowerCase();
  if (value === label) {
    warnings.push(`The Prometheus cluster label value equals the label name (${label}); the value should be this cluster's name, e.g. ${label}="prod-eu-1". Check krr.prometheusLabel (the NAME) and krr.prometheusClusterLabel (the VALUE) are not swapped.`);
  } else if (commonClusterLabelNames.includes(lower)) {
    warnings.push(`The Prometheus cluster label value "${value}" looks like a label name, not a cluster's name. krr.prometheusLabel is the label NAME (e.g. cluster); krr.prometheusClusterLabel is this cluster's VALUE (e.g. prod-eu-1).`);
  }
  if (/[-.]/.test(label) || /^[a-z0-9]+(-[a-z0-9]+)+$/.test(label)) {
    warnings.push(`The Prometheus label name "${label}" looks like a cluster's name; swapped with the value?`);
  }
  return warnings;
}
