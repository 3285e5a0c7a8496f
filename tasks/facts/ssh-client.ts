// Fact: the operator's address as the host sees it, the first field of the
// session's $SSH_CLIENT (sshd sets it; sudo hands it over, see
// src/connector/sudo.ts), undefined for local runs. The firewall builds the
// operator's SSH rule from it, so a default-drop ruleset never locks the
// operator out.
import type { Fact } from '../engine/types.ts';

export const operatorFact: Fact<string | undefined> = {
  key: 'hvmctl:operator-address',
  command: 'printf "%s\\n" "${SSH_CLIENT:-}"',
  parse: (r) => r.stdout.trim().split(/\s+/)[0] || undefined,
};
