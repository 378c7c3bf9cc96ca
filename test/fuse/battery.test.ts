// The FUSE battery on a real mount with SQLite metadata (test/fuse/battery-suite.ts).
import { batterySuite } from './battery-suite.js';

batterySuite('sqlite', { hugeDirectory: true });
