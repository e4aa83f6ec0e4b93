// The three questions of "KRR: Scan Cluster…" (context, namespaces, strategy) as one multi-step quick input with a
// Back button, the way VS Code's own multi-step flows work. Namespaces are read from the chosen context's cluster.
import * as vscode from 'vscode';

export interface ScanChoice {
  /** The first of `contexts`: where the namespaces were read. */
  context: string;
  /** One context, or several for a fleet scan (each gets its own report). */
  contexts: string[];
  /** Empty: all namespaces. */
  namespaces: string[];
  strategy: 'simple' | 'simple_limit';
}

export interface ScanFlowInput {
  contexts: { names: string[]; current: string | null };
  configuredContext: string | null;
  /** krr.contexts: pre-ticked when the person chooses several contexts. */
  configuredContexts?: readonly string[];
  configuredNamespaces: readonly string[];
  strategy: 'simple' | 'simple_limit';
  /** The context's namespaces (kubectl get namespaces), already validated; throws when the cluster cannot be read. */
  namespacesOf(context: string): Promise<{ names: string[]; invalid: number }>;
}

type Step = 'context' | 'namespaces' | 'strategy';
type Answer<T> = { value: T } | 'back' | 'cancel';

/** Asks the three questions; returns undefined when the person cancels. Back goes one step back, keeping the answers. */
export async function askScanChoice(input: ScanFlowInput): Promise<ScanChoice | undefined> {
  const preferred = input.configuredContext ?? input.contexts.current;
  let context = preferred ?? input.contexts.names[0] ?? '';
  let contexts = [context];
  let namespaces = [...input.configuredNamespaces];
  let strategy = input.strategy;
  let step: Step = 'context';
  for (let guard = 0; guard < 100; guard++) {
    if (step === 'context') {
      const answer = await pickContext(input, context, preferred);
      if (answer === 'cancel' || answer === 'back') return undefined;
      if (answer.value === fleetChoice) {
        const several = await pickSeveralContexts(input, contexts.length > 1 ? contexts : [...(input.configuredContexts ?? [])]);
        if (several === 'cancel') return undefined;
        if (several === 'back') continue;
        contexts = several.value;
      } else contexts = [answer.value];
      context = contexts[0] ?? context;
      step = 'namespaces';
    } else if (step === 'namespaces') {
      const answer = await pickNamespaces(input, context, namespaces, contexts.length);
      if (answer === 'cancel') return undefined;
      if (answer === 'back') step = 'context';
      else {
        namespaces = answer.value;
        step = 'strategy';
      }
    } else {
      const answer = await pickStrategy(strategy);
      if (answer === 'cancel') return undefined;
      if (answer === 'back') step = 'namespaces';
      else {
        strategy = answer.value;
        return { context, contexts, namespaces, strategy };
      }
    }
  }
  return undefined;
}

interface Item extends vscode.QuickPickItem {
  value: string;
}

/** One quick pick, resolved by accept, Back or hide. */
function ask(configure: (pick: vscode.QuickPick<Item>) => void, back: boolean, onAccept: (pick: vscode.QuickPick<Item>) => Answer<string[]> | undefined): Promise<Answer<string[]>> {
  const pick = vscode.window.createQuickPick<Item>();
  pick.ignoreFocusOut = false;
  if (back) pick.buttons = [vscode.QuickInputButtons.Back];
  configure(pick);
  return new Promise((resolve) => {
    let done = false;
    const finish = (answer: Answer<string[]>) => {
      if (done) return;
      done = true;
      resolve(answer);
      pick.dispose();
    };
    pick.onDidTriggerButton((button) => {
      if (button === vscode.QuickInputButtons.Back) finish('back');
    });
    pick.onDidAccept(() => {
      const answer = onAccept(pick);
      if (answer) finish(answer);
    });
    pick.onDidHide(() => finish('cancel'));
    pick.show();
  });
}

async function pickContext(input: ScanFlowInput, current: string, preferred: string | null): Promise<Answer<string>> {
  const names = [...input.contexts.names].sort((a, b) => Number(b === preferred) - Number(a === preferred));
  const answer = await ask(
    (pick) => {
      pick.title = 'KRR: Scan — 1/3 context';
      pick.items = names.map((name) => ({
        label: name,
        value: name,
        description: [name === input.contexts.current ? 'current' : '', name === input.configuredContext ? 'krr.context' : ''].filter(Boolean).join(', '),
      }));
      if (names.length > 1) {
        pick.items = [
          ...pick.items,
          { label: '', value: '', kind: vscode.QuickPickItemKind.Separator },
          { label: '$(layers) Several contexts (a fleet)…', value: fleetChoice, description: 'each gets its own report; a plan still changes one context' },
        ];
      }
      const active = pick.items.find((item) => item.value === current);
      if (active) pick.activeItems = [active];
    },
    false,
    (pick) => (pick.selectedItems[0] ? { value: [pick.selectedItems[0].value] } : undefined),
  );
  return typeof answer === 'string' ? answer : { value: answer.value[0] ?? current };
}

/** Marks the "several contexts" entry of the first step (not a valid context name, so it cannot collide with one). */
const fleetChoice = ' fleet';

async function pickSeveralContexts(input: ScanFlowInput, ticked: readonly string[]): Promise<Answer<string[]>> {
  const chosen = new Set(ticked);
  return ask(
    (pick) => {
      pick.title = 'KRR: Scan — 1/3 contexts (a fleet)';
      pick.placeholder = 'Tick the contexts to scan: one report each';
      pick.canSelectMany = true;
      pick.items = input.contexts.names.map((name) => ({ label: name, value: name, description: name === input.contexts.current ? 'current' : '' }));
      pick.selectedItems = pick.items.filter((item) => chosen.has(item.value));
    },
    true,
    (pick) => (pick.selectedItems.length > 0 ? { value: pick.selectedItems.map((item) => item.value) } : undefined),
  );
}

async function pickNamespaces(input: ScanFlowInput, context: string, chosen: readonly string[], contextCount = 1): Promise<Answer<string[]>> {
  let shown: vscode.QuickPick<Item> | undefined;
  // None ticked means every namespace: the scan's default, and what krr does without --namespace. Enter while the
  // list is still loading takes what would be ticked (krr.namespaces; none: all), as a person pressing on expects.
  const answer = ask(
    (pick) => {
      shown = pick;
      // A fleet scans the same namespaces in every context; they are read from the first one.
      pick.title = contextCount > 1 ? `KRR: Scan — 2/3 namespaces (listed from ${context}; scanned in all ${contextCount} contexts)` : 'KRR: Scan — 2/3 namespaces';
      pick.canSelectMany = true;
      pick.matchOnDescription = true;
      pick.placeholder = `Reading the namespaces of ${context}…`;
      pick.busy = true;
    },
    true,
    (pick) => ({ value: pick.busy ? [...chosen] : pick.selectedItems.map((item) => item.value) }),
  );
  // ask() configures and shows the pick before it returns; the namespaces fill it while it is open.
  const pick = shown as vscode.QuickPick<Item>;
  try {
    const { names, invalid } = await input.namespacesOf(context);
    // Namespaces from the settings that the cluster does not list stay offered (ticked), marked as such.
    const all = [...new Set([...names, ...chosen])];
    pick.items = all.map((name) => ({ label: name, value: name, ...(names.includes(name) ? {} : { description: 'not in the cluster (from krr.namespaces)' }) }));
    pick.selectedItems = pick.items.filter((item) => chosen.includes(item.value));
    pick.placeholder = `None ticked = all ${names.length} namespaces${invalid > 0 ? ` (${invalid} with invalid names left out)` : ''} · Enter continues`;
  } catch (error) {
    // Reading namespaces may be forbidden (RBAC) or the cluster unreachable: scanning all namespaces still works.
    pick.items = chosen.map((name) => ({ label: name, value: name, description: 'from krr.namespaces' }));
    pick.selectedItems = pick.items;
    pick.placeholder = `Could not read the namespaces of ${context} (${firstLine(error)}). Enter scans ${chosen.length ? 'the ticked ones' : 'all namespaces'}.`;
  }
  pick.busy = false;
  return answer;
}

async function pickStrategy(current: 'simple' | 'simple_limit'): Promise<Answer<'simple' | 'simple_limit'>> {
  const strategies = [current, ...(['simple', 'simple_limit'] as const).filter((strategy) => strategy !== current)];
  const answer = await ask(
    (pick) => {
      pick.title = 'KRR: Scan — 3/3 strategy';
      pick.items = strategies.map((label) => ({ label, value: label, description: label === 'simple' ? 'requests; no CPU limit' : 'requests and CPU limits' }));
    },
    true,
    (pick) => (pick.selectedItems[0] ? { value: [pick.selectedItems[0].value] } : undefined),
  );
  if (typeof answer === 'string') return answer;
  return { value: answer.value[0] === 'simple_limit' ? 'simple_limit' : 'simple' };
}

function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  const line = text.split('\n')[0] ?? '';
  return line.length > 160 ? `${line.slice(0, 160)}…` : line;
}
