// The SDK model test with mysql metadata (test/sdk/model-suite.ts): fewer runs, each slower.
import { modelSuite } from './model-suite.js';

modelSuite('mysql', Number(process.env.STRATA_MODEL_RUNS ?? 30));
