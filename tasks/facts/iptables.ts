// Fact: the live filter table of one address family (`iptables-save -t
// filter`, `ip6tables-save -t filter`: the same format), parsed into chain
// policies and rules. Rules apply manages carry a comment starting with
// `hvmctl:`; everything else is someone else's and only counted.
import type { RunResult } from '../../src/connector/connector.ts';
import { ParseError } from '../../src/errors.ts';
import { ipFamilyTools } from '../../src/render/ip-family.ts';
import type { Fact } from '../engine/types.ts';
import { ABSENT, unexpected } from './result.ts';

export interface IptablesRule {
  readonly chain: string;
  /** The rule as iptables-save prints it, without `-A CHAIN `. */
  readonly spec: string;
  /** The `--comment` text, when the rule has one. */
  readonly comment?: string;
}

export interface FilterTable {
  /** Built-in chains' policies (`:INPUT DROP [0:0]` -> INPUT: DROP); user chains have '-'. */
  readonly policies: Readonly<Record<string, string>>;
  readonly rules: readonly IptablesRule[];
}

export const HVMCTL_COMMENT = 'hvmctl:';

/** The live IPv4 filter table; undefined when iptables-save is not installed. */
export const iptablesFilter: Fact<FilterTable | undefined> = {
  key: 'iptables-save:filter',
  command: `command -v iptables-save >/dev/null 2>&1 || exit ${ABSENT}; iptables-save -t filter`,
  parse: (result: RunResult) => parseFilterOutput(ipFamilyTools.ipv4.save, result),
};

/** The kernel has no IPv6 (booted with `ipv6.disable=1`): there is nothing to filter. */
export const IPV6_DISABLED = 'ipv6-disabled';
/** What the IPv6 fact prints when /proc/sys/net/ipv6 is missing (an exit status could be ip6tables-save's own). */
const NO_IPV6 = 'hvmctl: no /proc/sys/net/ipv6';

/** The live IPv6 filter table; undefined when ip6tables-save is not installed. */
export const ip6tablesFilter: Fact<FilterTable | undefined | typeof IPV6_DISABLED> = {
  key: 'ip6tables-save:filter',
  command: `${ipFamilyTools.ipv6.inKernel ?? 'true'} || { echo '${NO_IPV6}'; exit 0; }; command -v ip6tables-save >/dev/null 2>&1 || exit ${ABSENT}; ip6tables-save -t filter`,
  parse: (result: RunResult) =>
    result.code === 0 && result.stdout.trim() === NO_IPV6 ? IPV6_DISABLED : parseFilterOutput(ipFamilyTools.ipv6.save, result),
};

function parseFilterOutput(save: string, result: RunResult): FilterTable | undefined {
  if (result.code === ABSENT) return undefined;
  if (result.code !== 0) throw unexpected(`${save} -t filter`, result, 'apply needs root to read the firewall');
  return parseIptablesSave(result.stdout, save);
}

/**
 * Parses iptables-save (or ip6tables-save, named by `tool` in errors) output
 * for the filter table. An empty output (legacy iptables before any rule was
 * loaded) is an empty table with ACCEPT policies.
 */
export function parseIptablesSave(text: string, tool = 'iptables-save'): FilterTable {
  const policies: Record<string, string> = {};
  const rules: IptablesRule[] = [];
  let table: string | undefined;
  let sawFilter = false;
  text.split('\n').forEach((line, i) => {
    const where = `${tool} line ${i + 1}`;
    if (line === '' || line.startsWith('#')) return;
    if (line.startsWith('*')) {
      table = line.slice(1);
      if (table === 'filter') sawFilter = true;
      return;
    }
    if (line === 'COMMIT') {
      table = undefined;
      return;
    }
    if (table === undefined) throw new ParseError(where, `outside a table: ${JSON.stringify(line)}`);
    if (table !== 'filter') return;
    if (line.startsWith(':')) {
      const m = /^:(\S+) (\S+)/.exec(line);
      if (!m) throw new ParseError(where, `bad chain line ${JSON.stringify(line)}`);
      policies[m[1] ?? ''] = m[2] ?? '';
      return;
    }
    const m = /^-A (\S+) (.*)$/.exec(line);
    if (!m) throw new ParseError(where, `expected '-A CHAIN ...', got ${JSON.stringify(line)}`);
    const spec = m[2] ?? '';
    const comment = ruleComment(spec);
    rules.push(comment === undefined ? { chain: m[1] ?? '', spec } : { chain: m[1] ?? '', spec, comment });
  });
  if (!sawFilter && text.trim() !== '') throw new ParseError(`${tool} -t filter`, 'no *filter table in the output');
  if (!sawFilter) for (const chain of ['INPUT', 'FORWARD', 'OUTPUT']) policies[chain] = 'ACCEPT';
  return { policies, rules };
}

/** The text of `-m comment --comment X` in a rule spec (quoted or bare, as iptables-save prints it). */
export function ruleComment(spec: string): string | undefined {
  const m = /--comment (?:"((?:[^"\\]|\\.)*)"|(\S+))/.exec(spec);
  if (!m) return undefined;
  return m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2];
}

export function isManaged(rule: IptablesRule): boolean {
  return rule.comment?.startsWith(HVMCTL_COMMENT) ?? false;
}
