# One-shot scenarios for the FUSE battery: `python3 ops.py SCENARIO ARGS...` prints one JSON
# object. Each scenario only uses paths it is given, so the same run can be made on the mount and
# on a local reference directory and the answers compared.
import ctypes
import hashlib
import json
import mmap
import os
import sys
import time

PAGE = mmap.PAGESIZE


def pattern(n, salt=0):
    return bytes((i * 7 + salt) % 251 for i in range(n))


def sha(b):
    return hashlib.sha256(b).hexdigest()


def scenario_mmap(d):
    out = {}
    size = 3 * PAGE + 100
    p = os.path.join(d, 'mapped')
    with open(p, 'wb') as f:
        f.write(pattern(size))

    # Read through a shared read-only mapping.
    with open(p, 'rb') as f:
        with mmap.mmap(f.fileno(), 0, mmap.MAP_SHARED, mmap.PROT_READ) as m:
            out['len'] = len(m)
            out['readSha'] = sha(m[:])
            out['acrossPage'] = m[PAGE - 6:PAGE + 6].hex()
            out['tail'] = m[size - 4:].hex()

    # MAP_SHARED writes (one across a page boundary), msync, munmap: a later read sees them.
    with open(p, 'r+b') as f:
        m = mmap.mmap(f.fileno(), 0, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        m[0:5] = b'HELLO'
        m[PAGE - 3:PAGE + 3] = b'ABCDEF'
        m[size - 3:] = b'END'
        m.flush()  # msync(MS_SYNC)
        m.close()  # munmap
    with open(p, 'rb') as f:
        after = f.read()
    out['afterSha'] = sha(after)
    out['afterSize'] = len(after)
    out['afterHead'] = after[:5].decode()
    out['afterPage'] = after[PAGE - 3:PAGE + 3].decode()
    out['afterEnd'] = after[-3:].decode()

    # A write(2) through another descriptor is seen by an existing shared mapping.
    with open(p, 'r+b') as f, open(p, 'r+b') as g:
        with mmap.mmap(f.fileno(), 0, mmap.MAP_SHARED, mmap.PROT_READ) as m:
            first = m[2 * PAGE:2 * PAGE + 4]
            os.pwrite(g.fileno(), b'WXYZ', 2 * PAGE)
            out['coherent'] = [first.hex(), m[2 * PAGE:2 * PAGE + 4].decode()]

    # MAP_PRIVATE writes never reach the file.
    with open(p, 'r+b') as f:
        with mmap.mmap(f.fileno(), 0, mmap.MAP_PRIVATE, mmap.PROT_READ | mmap.PROT_WRITE) as m:
            m[0:5] = b'xxxxx'
            out['privateSees'] = m[0:5].decode()
    with open(p, 'rb') as f:
        out['privateLeaves'] = f.read(5).decode()
        f.seek(0)
        out['finalSha'] = sha(f.read())
    return out


class Timespec(ctypes.Structure):
    _fields_ = [('tv_sec', ctypes.c_long), ('tv_nsec', ctypes.c_long)]


UTIME_NOW = (1 << 30) - 1
UTIME_OMIT = (1 << 30) - 2
AT_FDCWD = -100
AT_SYMLINK_NOFOLLOW = 0x100
libc = ctypes.CDLL(None, use_errno=True)


def utimensat(path, atime, mtime, flags=0):
    """atime / mtime: (sec, nsec) or 'now' or 'omit'."""
    def ts(t):
        if t == 'now':
            return Timespec(0, UTIME_NOW)
        if t == 'omit':
            return Timespec(0, UTIME_OMIT)
        return Timespec(t[0], t[1])
    times = (Timespec * 2)(ts(atime), ts(mtime))
    if libc.utimensat(AT_FDCWD, path.encode(), times, flags) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e), path)


def scenario_utimes(d):
    out = {}
    p = os.path.join(d, 'timed')
    with open(p, 'w') as f:
        f.write('x')

    def times(path=p, follow=True):
        st = os.stat(path, follow_symlinks=follow)
        return st.st_atime_ns, st.st_mtime_ns, st.st_ctime_ns

    # The kernel's clock for UTIME_NOW is coarse (a tick) and the server's may be ms-grained:
    # "now" means within this window around the call.
    slack = 50_000_000

    def is_now(t, before, after):
        return before - slack <= t <= after + slack

    # Explicit nanoseconds, including ones a float would round.
    os.utime(p, ns=(1_600_000_000_123_456_789, 1_500_000_000_987_654_321))
    a, m, _ = times()
    out['explicit'] = [str(a), str(m)]

    # Beyond 2038 and before 1970.
    os.utime(p, ns=(4_102_444_800_000_000_001, -1_000_000_001))
    a, m, _ = times()
    out['wide'] = [str(a), str(m)]

    # UTIME_OMIT for atime, explicit mtime: atime unchanged, ctime moves.
    os.utime(p, ns=(1_600_000_000_000_000_001, 1_500_000_000_000_000_002))
    a0, m0, c0 = times()
    time.sleep(0.02)
    utimensat(p, 'omit', (1_400_000_000, 5))
    a, m, c = times()
    out['omitAtime'] = {'atimeKept': a == a0, 'mtime': str(m), 'ctimeMoved': c > c0}

    # UTIME_NOW for atime, UTIME_OMIT for mtime.
    before = time.time_ns()
    utimensat(p, 'now', 'omit')
    after = time.time_ns()
    a, m, c = times()
    out['nowAtime'] = {'atimeNow': is_now(a, before, after), 'mtime': str(m), 'ctimeNow': is_now(c, before, after)}

    # Explicit atime, UTIME_NOW for mtime.
    before = time.time_ns()
    utimensat(p, (1_300_000_000, 999_999_999), 'now')
    after = time.time_ns()
    a, m, c = times()
    out['nowMtime'] = {'atime': str(a), 'mtimeNow': is_now(m, before, after)}

    # Both omitted: nothing changes (not even ctime).
    a0, m0, c0 = times()
    time.sleep(0.02)
    utimensat(p, 'omit', 'omit')
    out['bothOmit'] = list(times()) == [a0, m0, c0]

    # Both UTIME_NOW, and times=NULL (utime(path)).
    os.utime(p, ns=(1, 2))
    before = time.time_ns()
    utimensat(p, 'now', 'now')
    after = time.time_ns()
    a, m, c = times()
    out['bothNow'] = [is_now(a, before, after), is_now(m, before, after), a == m or abs(a - m) < slack]
    os.utime(p, ns=(1, 2))
    before = time.time_ns()
    os.utime(p)
    after = time.time_ns()
    a, m, c = times()
    out['nullTimes'] = [is_now(a, before, after), is_now(m, before, after)]

    # An invalid nanosecond value is refused.
    try:
        utimensat(p, (1, 1_000_000_000), 'omit')
        out['badNsec'] = 'accepted'
    except OSError as e:
        out['badNsec'] = os.strerror(e.errno)

    # futimens through a descriptor.
    fd = os.open(p, os.O_RDONLY)
    try:
        os.utime(fd, ns=(1_234_567_890_000_000_123, 1_234_567_890_000_000_456))
    finally:
        os.close(fd)
    a, m, _ = times()
    out['futimens'] = [str(a), str(m)]

    # AT_SYMLINK_NOFOLLOW changes the link, not its target.
    link = os.path.join(d, 'timed-link')
    os.symlink('timed', link)
    ta, tm, _ = times()
    utimensat(link, (1_100_000_000, 11), (1_100_000_000, 22), AT_SYMLINK_NOFOLLOW)
    la, lm, _ = times(link, follow=False)
    out['symlink'] = {'link': [str(la), str(lm)], 'targetKept': times()[:2] == (ta, tm)}

    # Through the link (following it) changes the target.
    os.utime(link, ns=(1_050_000_000_000_000_007, 1_050_000_000_000_000_008))
    out['followed'] = [str(t) for t in times()[:2]]
    return out


def scenario_sync(d):
    out = {}
    p = os.path.join(d, 'synced')
    fd = os.open(p, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
    os.write(fd, b'a' * 100_000)
    os.fsync(fd)
    os.pwrite(fd, b'b' * 10, 50)
    os.fdatasync(fd)
    os.ftruncate(fd, 70_000)
    os.fsync(fd)
    os.close(fd)
    ro = os.open(p, os.O_RDONLY)
    os.fsync(ro)  # fsync on a read-only descriptor is allowed
    os.fdatasync(ro)
    os.close(ro)
    dfd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
    os.fsync(dfd)  # directories too
    os.close(dfd)
    with open(p, 'rb') as f:
        data = f.read()
    out['size'] = len(data)
    out['sha'] = sha(data)
    # O_SYNC / O_DSYNC writes.
    for name, flag in (('osync', os.O_SYNC), ('odsync', os.O_DSYNC)):
        q = os.path.join(d, name)
        fd = os.open(q, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | flag, 0o644)
        os.write(fd, pattern(10_000, 3))
        os.close(fd)
        with open(q, 'rb') as f:
            out[name] = sha(f.read())
    return out


def scenario_create_many(d, n):
    n = int(n)
    t0 = time.monotonic()
    for i in range(n):
        open(os.path.join(d, 'f%06d' % i), 'w').close()
    return {'seconds': time.monotonic() - t0}


def scenario_unlink_many(d, n):
    n = int(n)
    t0 = time.monotonic()
    for i in range(n):
        os.unlink(os.path.join(d, 'f%06d' % i))
    return {'seconds': time.monotonic() - t0}


def scenario_unlinked_open(d):
    out = {}
    p = os.path.join(d, 'doomed')
    with open(p, 'wb') as f:
        f.write(pattern(200_000, 1))
    fd = os.open(p, os.O_RDWR)
    os.unlink(p)
    out['exists'] = os.path.exists(p)
    out['listed'] = 'doomed' in os.listdir(d)
    st = os.fstat(fd)
    out['nlink'] = st.st_nlink
    out['size'] = st.st_size
    out['readSha'] = sha(os.pread(fd, 300_000, 0))
    os.pwrite(fd, b'still here', 199_995)
    out['afterWrite'] = [os.fstat(fd).st_size, os.pread(fd, 20, 199_990).hex()]
    # A new file under the same name is a different file.
    with open(p, 'w') as f:
        f.write('new')
    out['newName'] = open(p).read()
    out['oldStill'] = os.pread(fd, 5, 0).hex()
    os.close(fd)
    return out


SCENARIOS = {
    'mmap': scenario_mmap,
    'utimes': scenario_utimes,
    'sync': scenario_sync,
    'create-many': scenario_create_many,
    'unlink-many': scenario_unlink_many,
    'unlinked-open': scenario_unlinked_open,
}

if __name__ == '__main__':
    print(json.dumps(SCENARIOS[sys.argv[1]](*sys.argv[2:])))
