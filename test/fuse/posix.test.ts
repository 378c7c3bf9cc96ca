// The POSIX battery on a real mount with sqlite metadata (test/fuse/posix-suite.ts).
import { posixSuite } from './posix-suite.js';

posixSuite('sqlite');
