# A randomised file exerciser in the spirit of xfstests' fsx: one file, random operations, an
# in-memory model of what the file must hold, and a check of every byte read and of the size
# after every operation. `python3 fsx.py DIR SEED OPS MAX_SIZE MAX_OP` prints one JSON object;
# on the first disagreement it stops and reports the operation, what differed and the last
# operations before it, so a failing seed can be replayed.
import ctypes
import ctypes.util
import json
import mmap
import os
import random
import sys
import time

FALLOC_FL_KEEP_SIZE = 0x01
FALLOC_FL_PUNCH_HOLE = 0x02
FALLOC_FL_ZERO_RANGE = 0x10

libc = ctypes.CDLL(ctypes.util.find_library('c'), use_errno=True)
libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_longlong, ctypes.c_longlong]


def fallocate(fd, mode, off, length):
    if libc.fallocate(fd, mode, off, length) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))


class Mismatch(Exception):
    pass


class Exerciser:
    def __init__(self, path, seed, max_size, max_op):
        self.path = path
        self.rng = random.Random(seed)
        self.max_size = max_size
        self.max_op = max_op
        # The model is preallocated at its largest and kept zero past `size`, so growing the file
        # costs nothing and shrinking it clears what it cut.
        self.model = bytearray(max_size + max_op)
        self.size = 0
        self.zeros = memoryview(bytes(max_size + max_op))
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
        self.log = []
        self.counts = {}

    def note(self, what):
        self.log.append(what)
        if len(self.log) > 25:
            del self.log[0]

    def span(self, within):
        """A random (offset, length) with offset below `within` and length in 1..max_op, spread
        evenly over the powers of two: small and page-sized operations, that meet block and page
        edges, are as frequent as large ones."""
        off = self.rng.randrange(0, max(1, within))
        top = self.max_op.bit_length()
        n = self.rng.randint(1, min(self.max_op, 1 << self.rng.randrange(0, top)))
        return off, n

    def check_size(self, after):
        st = os.fstat(self.fd).st_size
        if st != self.size:
            raise Mismatch(f'after {after}: fstat size {st}, model {self.size}')

    def resize(self, size):
        if size < self.size:
            self.model[size:self.size] = self.zeros[:self.size - size]
        self.size = size

    def compare(self, what, got, off):
        want = self.model[off:off + len(got)]
        if got != want:
            for i in range(len(got)):
                if got[i] != want[i]:
                    raise Mismatch(f'{what}: byte {off + i:#x} is {got[i]:#04x}, model says {want[i]:#04x} '
                                   f'({got[i:i + 4096].count(0)} of the next 4096 read are zero)')

    # ---- operations ----

    def op_write(self):
        off, n = self.span(min(self.max_size, self.size + self.max_op))
        n = min(n, self.max_size - off)
        if n <= 0:
            return
        data = self.rng.randbytes(n)
        self.note(f'write {off:#x} +{n:#x}')
        if os.pwrite(self.fd, data, off) != n:
            raise Mismatch(f'short write at {off:#x}')
        self.model[off:off + n] = data
        self.size = max(self.size, off + n)

    def op_read(self):
        if self.size == 0:
            return
        off, n = self.span(self.size)
        self.note(f'read {off:#x} +{n:#x}')
        got = os.pread(self.fd, n, off)
        want = min(n, self.size - off)
        if len(got) != want:
            raise Mismatch(f'read {off:#x} +{n:#x}: got {len(got)} bytes, model holds {want} there')
        self.compare(f'read {off:#x} +{n:#x}', got, off)

    def op_truncate(self):
        size = self.rng.randrange(0, self.max_size + 1)
        self.note(f'truncate {size:#x} (from {self.size:#x})')
        os.ftruncate(self.fd, size)
        self.resize(size)

    def op_mapread(self):
        if self.size == 0:
            return
        off, n = self.span(self.size)
        n = min(n, self.size - off)
        self.note(f'mapread {off:#x} +{n:#x}')
        with mmap.mmap(self.fd, self.size, mmap.MAP_SHARED, mmap.PROT_READ) as m:
            got = m[off:off + n]
        self.compare(f'mapread {off:#x} +{n:#x}', got, off)

    def op_mapwrite(self):
        if self.size == 0:
            return
        off, n = self.span(self.size)
        n = min(n, self.size - off)
        data = self.rng.randbytes(n)
        self.note(f'mapwrite {off:#x} +{n:#x}')
        with mmap.mmap(self.fd, self.size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE) as m:
            m[off:off + n] = data
            m.flush()
        self.model[off:off + n] = data

    def op_fallocate(self):
        off, n = self.span(min(self.max_size, self.size + self.max_op))
        n = min(n, self.max_size - off)
        if n <= 0:
            return
        kind = self.rng.choice(['allocate', 'keep-size', 'punch-hole', 'zero-range', 'zero-range-keep'])
        mode = {'allocate': 0, 'keep-size': FALLOC_FL_KEEP_SIZE, 'punch-hole': FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                'zero-range': FALLOC_FL_ZERO_RANGE, 'zero-range-keep': FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE}[kind]
        self.note(f'fallocate {kind} {off:#x} +{n:#x}')
        self.counts[f'fallocate {kind}'] = self.counts.get(f'fallocate {kind}', 0) + 1
        fallocate(self.fd, mode, off, n)
        end = off + n
        if kind in ('punch-hole', 'zero-range', 'zero-range-keep'):
            zero_end = min(end, self.size)
            if zero_end > off:
                self.model[off:zero_end] = self.zeros[:zero_end - off]
        if not (mode & FALLOC_FL_KEEP_SIZE) and end > self.size:
            self.size = end

    def op_fsync(self):
        self.note('fsync')
        os.fsync(self.fd)

    def op_reopen(self):
        self.note('close and reopen')
        os.close(self.fd)
        self.fd = os.open(self.path, os.O_RDWR)

    OPS = [('write', 25), ('read', 25), ('truncate', 6), ('mapread', 10), ('mapwrite', 10),
           ('fallocate', 10), ('fsync', 4), ('reopen', 4)]

    def run(self, ops):
        names = [n for n, _ in self.OPS]
        weights = [w for _, w in self.OPS]
        for i in range(ops):
            name = self.rng.choices(names, weights)[0]
            self.counts[name] = self.counts.get(name, 0) + 1
            try:
                getattr(self, f'op_{name}')()
                self.check_size(self.log[-1] if self.log else name)
            except (Mismatch, OSError) as err:
                return {'failedAt': i, 'error': f'{type(err).__name__}: {err}', 'lastOps': self.log}
        # The file as a whole, through a fresh descriptor, after everything.
        os.close(self.fd)
        self.fd = os.open(self.path, os.O_RDONLY)
        parts = []
        while True:
            b = os.read(self.fd, 1 << 20)
            if not b:
                break
            parts.append(b)
        os.close(self.fd)
        whole = b''.join(parts)
        if whole != self.model[:self.size]:
            try:
                self.compare('final read through a new descriptor', whole[:self.size], 0)
            except Mismatch as err:
                return {'failedAt': ops, 'error': str(err), 'lastOps': self.log}
            return {'failedAt': ops, 'error': f'final read: {len(whole)} bytes, model {self.size}', 'lastOps': self.log}
        return None


if __name__ == '__main__':
    directory, seed, ops, max_size, max_op = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    started = time.monotonic()
    x = Exerciser(os.path.join(directory, f'fsx-{seed}'), seed, max_size, max_op)
    failure = x.run(ops)
    print(json.dumps({'seed': seed, 'ops': ops, 'seconds': round(time.monotonic() - started, 1), 'counts': x.counts, 'failure': failure}))
