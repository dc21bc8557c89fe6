import type { Command } from 'commander';

/** `train` and `eval` (issue: fusion policy + evaluation harness) register here. */
export function registerResearchCommands(program: Command): void {
  void program;
}
