// The machine a benchmark ran on: figures are only comparable between runs on the same line.
import { cpus, loadavg, totalmem } from 'node:os';

export interface Machine {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  node: string;
  kubectl: string | null;
  platform: string;
  loadAverageAtStart: number[];
}

export async function describeMachine(): Promise<Machine> {
  const list = cpus();
  return {
    cpuModel: list[0]?.model.trim() ?? 'unknown',
    cores: list.length,
    memoryGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    kubectl: await kubectlVersion(),
    platform: `${process.platform}-${process.arch}`,
    loadAverageAtStart: loadavg().map((value) => Math.round(value * 100) / 100),
  };
}

async function kubectlVersion(): Promise<string | null> {
  try {
    const { execa } = await import('execa');
    const { stdout } = await execa('kubectl', ['version', '--client', '-o', 'json'], { stdin: 'ignore' });
    return (JSON.parse(stdout) as { clientVersion?: { gitVersion?: string } }).clientVersion?.gitVersion ?? null;
  } catch {
    return null;
  }
}

export function machineLine(machine: Machine): string {
  return `${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.platform}, Node ${machine.node}, kubectl ${machine.kubectl ?? 'not found'}`;
}
