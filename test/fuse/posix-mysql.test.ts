// The POSIX battery on a real mount with mysql metadata (test/fuse/posix-suite.ts).
import { posixSuite } from './posix-suite.js';

posixSuite('mysql');
