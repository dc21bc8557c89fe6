import { runService } from '@omniaffect/core';
import { loadFusionConfig, type FusionConfig } from './config';
import { startFusion } from './fusion-service';

// Parsed once: runService validates it first (a bad variable exits 78 before anything starts) and
// every setup attempt reuses that parse.
let cfg: FusionConfig | undefined;
const config = (): FusionConfig => (cfg ??= loadFusionConfig());

void runService({ name: 'fusion', config, setup: (ctx) => startFusion(config(), ctx) });
