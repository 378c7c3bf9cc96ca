# A scriptable process for the FUSE battery: it reads one JSON command per line on stdin and
# answers one JSON line on stdout. It holds descriptors and locks between commands, so a test can
# drive several independent processes (locks are per process / per open file description).
# Errors answer {"err": "EAGAIN"} (the errno name) instead of raising.
import errno
import fcntl
import json
import os
import struct
import sys

FLAGS = {
    'r': os.O_RDONLY,
    'r+': os.O_RDWR,
    'w': os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
    'w+': os.O_RDWR | os.O_CREAT | os.O_TRUNC,
    'dir': os.O_RDONLY | os.O_DIRECTORY,
}


def stat_json(st):
    return {
        'ino': st.st_ino, 'mode': st.st_mode, 'nlink': st.st_nlink, 'size': st.st_size,
        'uid': st.st_uid, 'gid': st.st_gid,
        'atimeNs': str(st.st_atime_ns), 'mtimeNs': str(st.st_mtime_ns), 'ctimeNs': str(st.st_ctime_ns),
    }


def handle(c):
    op = c['op']
    if op == 'pid':
        return {'pid': os.getpid()}
    if op == 'open':
        return {'fd': os.open(c['path'], FLAGS[c.get('flags', 'r')], 0o644)}
    if op == 'close':
        os.close(c['fd'])
        return {}
    if op == 'pread':
        return {'hex': os.pread(c['fd'], c['n'], c.get('off', 0)).hex()}
    if op == 'pwrite':
        return {'n': os.pwrite(c['fd'], bytes.fromhex(c['hex']), c.get('off', 0))}
    if op == 'fstat':
        return stat_json(os.fstat(c['fd']))
    if op == 'fsync':
        os.fsync(c['fd'])
        return {}
    if op == 'fdatasync':
        os.fdatasync(c['fd'])
        return {}
    if op == 'flock':
        how = {'ex': fcntl.LOCK_EX, 'sh': fcntl.LOCK_SH, 'un': fcntl.LOCK_UN}[c['how']]
        if c.get('nb', True) and how != fcntl.LOCK_UN:
            how |= fcntl.LOCK_NB
        fcntl.flock(c['fd'], how)
        return {}
    if op == 'lockf':
        # fcntl(2) byte-range locks (F_SETLK / F_SETLKW) through lockf(3)-style arguments.
        how = {'ex': fcntl.LOCK_EX, 'sh': fcntl.LOCK_SH, 'un': fcntl.LOCK_UN}[c['how']]
        if c.get('nb', True) and how != fcntl.LOCK_UN:
            how |= fcntl.LOCK_NB
        fcntl.lockf(c['fd'], how, c.get('len', 0), c.get('start', 0), os.SEEK_SET)
        return {}
    if op == 'getlk':
        # struct flock on x86_64 / aarch64 Linux: short l_type, short l_whence, off_t l_start,
        # off_t l_len, pid_t l_pid.
        ltype = {'w': fcntl.F_WRLCK, 'r': fcntl.F_RDLCK}[c.get('type', 'w')]
        arg = struct.pack('hhqqi', ltype, os.SEEK_SET, c.get('start', 0), c.get('len', 0), 0)
        res = fcntl.fcntl(c['fd'], fcntl.F_GETLK, arg + b'\0' * 4)
        ltype, _whence, start, length, pid = struct.unpack('hhqqi', res[:struct.calcsize('hhqqi')])
        names = {fcntl.F_UNLCK: 'unlocked', fcntl.F_WRLCK: 'write', fcntl.F_RDLCK: 'read'}
        return {'type': names.get(ltype, ltype), 'start': start, 'len': length, 'pid': pid}
    if op == 'exit':
        return {'bye': True}
    raise ValueError('unknown op ' + op)


def main():
    print(json.dumps({'ready': os.getpid()}), flush=True)
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        c = json.loads(line)
        try:
            out = handle(c)
        except OSError as e:
            out = {'err': errno.errorcode.get(e.errno, str(e.errno))}
        print(json.dumps(out), flush=True)
        if c['op'] == 'exit':
            return


main()
