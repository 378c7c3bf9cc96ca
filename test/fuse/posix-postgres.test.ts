// The POSIX battery on a real mount with postgres metadata (test/fuse/posix-suite.ts).
import { posixSuite } from './posix-suite.js';

posixSuite('postgres');
