# Write-then-read scenarios: `python3 coherence.py SCENARIO DIR SIZE` prints one JSON object
# {"failures": [...], ...}. Every scenario writes SIZE bytes and reads them back before anything
# is closed or fsynced, through the same descriptor, another descriptor, another process, a
# shared mapping, or threads reading while a writer is still going. POSIX says each of those
# reads sees the bytes written before it; an empty failure list means they all did. The same
# scenario run on a local directory is the reference. A SIGBUS kills the process: the caller
# reports the signal.
import hashlib
import json
import mmap
import os
import random
import subprocess
import sys
import threading

PAGE = mmap.PAGESIZE
MiB = 1024 * 1024


def data_of(n, seed):
    return random.Random(seed).randbytes(n)


def sha(b):
    return hashlib.sha256(b).hexdigest()


def write_all(fd, data, piece=MiB):
    view = memoryview(data)
    done = 0
    while done < len(data):
        done += os.write(fd, view[done:done + piece])


def read_to_eof(fd, piece=MiB):
    parts = []
    while True:
        b = os.read(fd, piece)
        if not b:
            return b''.join(parts)
        parts.append(b)


def first_difference(got, want):
    n = min(len(got), len(want))
    for at in range(0, n, 4096):
        if got[at:at + 4096] != want[at:at + 4096]:
            for i in range(at, min(at + 4096, n)):
                if got[i] != want[i]:
                    zeros = got[i:i + 4096].count(0)
                    return f'first difference at byte {i:#x} ({zeros} of the next 4096 bytes read are zero)'
    return f'lengths differ: read {len(got)} bytes, wrote {len(want)}' if len(got) != len(want) else None


def expect_same(failures, what, got, want):
    diff = first_difference(got, want)
    if diff:
        failures.append(f'{what}: {diff}')


# The other process reads the way parallel data loaders do: several threads pread pieces of the
# file at once, so the first READ to arrive is not alone. It is started before the writer opens
# the file: a fork after the open would close the writer's descriptor in the child at exec, and
# that close flushes.
OTHER_PROCESS_READER = '''
import hashlib, os, sys, threading
path, size = sys.argv[1], int(sys.argv[2])
sys.stdin.readline()
fd = os.open(path, os.O_RDONLY)
piece = 1 << 19
pieces = {}
def read(k):
    for off in range(k * piece, size, 4 * piece):
        pieces[off] = os.pread(fd, piece, off)
threads = [threading.Thread(target=read, args=(k,)) for k in range(4)]
for t in threads: t.start()
for t in threads: t.join()
tail = os.pread(fd, 1, size)
data = b"".join(pieces[k] for k in sorted(pieces))
print(len(data) + len(tail), hashlib.sha256(data + tail).hexdigest())
'''


class OtherProcessReader:
    """Start before opening the file; read() has the process read it and report (length, sha)."""

    def __init__(self, path, size):
        self.proc = subprocess.Popen([sys.executable, '-c', OTHER_PROCESS_READER, path, str(size)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, close_fds=True)

    def read(self):
        out, _ = self.proc.communicate('go\n')
        if self.proc.returncode != 0:
            raise RuntimeError(f'reader process exited with {self.proc.returncode}')
        n, digest = out.split()
        return int(n), digest


def scenario_same_fd(d, size):
    failures = []
    data = data_of(size, 1)
    fd = os.open(os.path.join(d, 'same-fd'), os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
    write_all(fd, data)
    os.lseek(fd, 0, os.SEEK_SET)
    expect_same(failures, 'read to EOF after lseek(0)', read_to_eof(fd), data)
    expect_same(failures, 'one pread of the whole file', os.pread(fd, size, 0), data)
    os.close(fd)
    return failures


def scenario_other_fd(d, size):
    failures = []
    data = data_of(size, 2)
    p = os.path.join(d, 'other-fd')
    fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    write_all(fd, data)
    other = os.open(p, os.O_RDONLY)
    expect_same(failures, 'read through a second descriptor', read_to_eof(other), data)
    os.close(other)
    os.close(fd)
    return failures


def scenario_other_process(d, size):
    failures = []
    data = data_of(size, 3)
    p = os.path.join(d, 'other-process')
    reader = OtherProcessReader(p, size)
    fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    write_all(fd, data)
    n, digest = reader.read()
    if n != size or digest != sha(data):
        failures.append(f'another process read {n} bytes (sha {digest[:12]}), the writer wrote {size} (sha {sha(data)[:12]})')
    os.close(fd)
    return failures


def scenario_mmap_read(d, size):
    failures = []
    data = data_of(size, 4)
    fd = os.open(os.path.join(d, 'mmap-read'), os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
    write_all(fd, data)
    with mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ) as m:
        expect_same(failures, 'a shared mapping made right after the write', m[:], data)
    os.close(fd)
    return failures


def scenario_mmap_write(d, size):
    """Unflushed write(2)s, then stores through a shared mapping over them, then reads by
    read(2), by another process, and again after msync, close and reopen."""
    failures = []
    data = bytearray(data_of(size, 5))
    p = os.path.join(d, 'mmap-write')
    reader = OtherProcessReader(p, size)
    fd = os.open(p, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
    write_all(fd, data)
    patch = data_of(PAGE, 55)
    m = mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
    # Every fourth page (and at least the first) gets new bytes through the mapping; a store
    # faults the page in first, so the old bytes must be there to read.
    for at in range(0, size, 4 * PAGE):
        n = min(PAGE, size - at)
        m[at:at + n] = patch[:n]
        data[at:at + n] = patch[:n]
    want = bytes(data)
    expect_same(failures, 'mapping read back', m[:], want)
    expect_same(failures, 'pread after stores to the mapping', os.pread(fd, size, 0), want)
    n, digest = reader.read()
    if n != size or digest != sha(want):
        failures.append(f'another process read {n} bytes (sha {digest[:12]}) after stores to the mapping; want {size} (sha {sha(want)[:12]})')
    m.flush()
    m.close()
    os.close(fd)
    fd = os.open(p, os.O_RDONLY)
    # Drop this file's cached pages so the bytes come from the file system, not the page cache.
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    expect_same(failures, 'read after msync, munmap and reopen', read_to_eof(fd), want)
    os.close(fd)
    return failures


def scenario_concurrent_pread(d, size):
    """One thread writes the file front to back; three threads keep preading ranges already
    written through another descriptor. Every read must return exactly what was written."""
    failures = []
    data = data_of(size, 6)
    p = os.path.join(d, 'concurrent')
    wfd = os.open(p, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
    rfd = os.open(p, os.O_RDONLY)
    piece = max(512, min(128 * 1024, size // 64))
    progress = [0]
    done = threading.Event()
    lock = threading.Lock()

    def writer():
        try:
            at = 0
            while at < size:
                n = os.pwrite(wfd, data[at:at + piece], at)
                at += n
                progress[0] = at
        finally:
            done.set()

    def reader(seed, fd):
        rng = random.Random(seed)
        reads = 0
        while not done.is_set() or reads < 20:
            upto = progress[0]
            if upto == 0:
                continue
            off = rng.randrange(0, upto)
            n = rng.randint(1, min(upto - off, 1 << 20))
            got = os.pread(fd, n, off)
            reads += 1
            if got != data[off:off + n]:
                with lock:
                    if len(failures) < 10:
                        diff = first_difference(got, data[off:off + n])
                        failures.append(f'pread({n}, {off:#x}) while {upto} bytes were written: {diff}')

    threads = [threading.Thread(target=writer)] + [threading.Thread(target=reader, args=(s, fd)) for s, fd in ((1, rfd), (2, rfd), (3, wfd))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    expect_same(failures, 'whole file after the writer finished', os.pread(rfd, size, 0), data)
    os.close(rfd)
    os.close(wfd)
    return failures


def scenario_fstat_append(d, size):
    """O_APPEND writes; after each one fstat, stat and a second descriptor's fstat must report
    every byte appended so far."""
    failures = []
    data = data_of(size, 7)
    p = os.path.join(d, 'appended')
    fd = os.open(p, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_TRUNC, 0o644)
    other = os.open(p, os.O_RDONLY)
    piece = max(256, size // 16)
    total = 0
    for at in range(0, size, piece):
        total += os.write(fd, data[at:at + piece])
        sizes = {'fstat': os.fstat(fd).st_size, 'stat': os.stat(p).st_size, 'other fd': os.fstat(other).st_size}
        wrong = {k: v for k, v in sizes.items() if v != total}
        if wrong and len(failures) < 10:
            failures.append(f'after appending {total} bytes: {wrong}')
    expect_same(failures, 'appended bytes read back', read_to_eof(other), data)
    os.close(other)
    os.close(fd)
    return failures


SCENARIOS = {
    'same-fd': scenario_same_fd,
    'other-fd': scenario_other_fd,
    'other-process': scenario_other_process,
    'mmap-read': scenario_mmap_read,
    'mmap-write': scenario_mmap_write,
    'concurrent-pread': scenario_concurrent_pread,
    'fstat-append': scenario_fstat_append,
}

if __name__ == '__main__':
    name, directory, size = sys.argv[1], sys.argv[2], int(sys.argv[3])
    print(json.dumps({'scenario': name, 'size': size, 'failures': SCENARIOS[name](directory, size)}))
