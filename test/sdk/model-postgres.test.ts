// The SDK model test with postgres metadata (test/sdk/model-suite.ts): fewer runs, each slower.
import { modelSuite } from './model-suite.js';

modelSuite('postgres', Number(process.env.STRATA_MODEL_RUNS ?? 30));
