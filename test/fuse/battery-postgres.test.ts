// The FUSE battery on a real mount with postgres metadata (test/fuse/battery-suite.ts).
import { batterySuite } from './battery-suite.js';

batterySuite('postgres', { hugeDirectory: false });
