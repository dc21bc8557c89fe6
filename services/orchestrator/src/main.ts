import { runService } from '@omniaffect/core';
import { loadOrchestratorConfig, type OrchestratorConfig } from './config';
import { startOrchestrator } from './orchestrator-service';

// Parsed once: runService validates it first (a bad variable exits 78 before anything starts) and
// every setup attempt reuses that parse.
let cfg: OrchestratorConfig | undefined;
const config = (): OrchestratorConfig => (cfg ??= loadOrchestratorConfig());

void runService({ name: 'orchestrator', config, setup: (ctx) => startOrchestrator(config(), ctx) });
