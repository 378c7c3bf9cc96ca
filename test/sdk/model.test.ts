// The SDK model test with SQLite metadata (test/sdk/model-suite.ts).
import { modelSuite } from './model-suite.js';

modelSuite('sqlite');
