// The FUSE battery on a real mount with mysql metadata (test/fuse/battery-suite.ts).
import { batterySuite } from './battery-suite.js';

batterySuite('mysql', { hugeDirectory: false });
