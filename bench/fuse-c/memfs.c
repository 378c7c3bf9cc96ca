/*
 * bench-memfs: a minimal libfuse3 low-level server keeping everything in memory; the "pure C"
 * baseline of bench/fuse. Directories, regular files (data in malloc'd growing buffers),
 * lookup/getattr/setattr/create/open/read/write/unlink/mkdir/rmdir/readdir/statfs, served by
 * fuse_session_loop_mt. Like Strata's mount it asks for 512 KiB READs (-o max_read=524288 must
 * be passed too: libfuse requires both to agree), 1 MiB WRITEs, and keeps the kernel's page cache
 * across opens (keep_cache).
 *
 * Build: cc -O2 $(pkg-config --cflags --libs fuse3) -o build/bench-memfs bench/fuse-c/memfs.c
 * Run:   build/bench-memfs MOUNTPOINT -f -o max_read=524288[,timeout=SECONDS]   (timeout: entry
 *        and attribute validity, default 1 s); stop with fusermount3 -u MOUNTPOINT.
 */
#define FUSE_USE_VERSION 312
#define _GNU_SOURCE

#include <fuse_lowlevel.h>

#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_READ (512u * 1024u)
#define MAX_WRITE (1024u * 1024u)
#define HASH_BITS 18
#define HASH_SIZE (1u << HASH_BITS)

struct node {
	fuse_ino_t ino;
	fuse_ino_t parent;
	char *name;             /* NULL once unlinked */
	mode_t mode;
	nlink_t nlink;
	uid_t uid;
	gid_t gid;
	uint64_t nlookup;
	struct timespec atime, mtime, ctime;
	struct node *hnext;     /* name hash chain */
	struct node *cprev, *cnext; /* siblings in the parent directory */
	struct node *children;  /* directories: first child */
	size_t nchildren;
	char *data;             /* regular files */
	size_t size, cap;
};

struct dirbuf {
	char *p;
	size_t size;
};

static struct {
	double timeout;
} mopts = { 1.0 };

static const struct fuse_opt memfs_opts[] = {
	{ "timeout=%lf", offsetof(typeof(mopts), timeout), 0 },
	FUSE_OPT_END
};

static pthread_rwlock_t lock = PTHREAD_RWLOCK_INITIALIZER;
static struct node **inodes;    /* indexed by inode number; inode numbers are never reused */
static size_t ninodes, inodes_cap;
static struct node *names[HASH_SIZE];

static uint64_t hash_name(fuse_ino_t parent, const char *name)
{
	uint64_t h = 1469598103934665603ull ^ parent;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
		h ^= *p;
		h *= 1099511628211ull;
	}
	return (h ^ (h >> 29)) & (HASH_SIZE - 1);
}

static struct node *get_node(fuse_ino_t ino)
{
	return ino < ninodes ? inodes[ino] : NULL;
}

static struct node *find_child(fuse_ino_t parent, const char *name)
{
	for (struct node *n = names[hash_name(parent, name)]; n; n = n->hnext)
		if (n->parent == parent && strcmp(n->name, name) == 0)
			return n;
	return NULL;
}

static void now(struct timespec *ts)
{
	clock_gettime(CLOCK_REALTIME, ts);
}

static struct node *new_node(struct node *dir, const char *name, mode_t mode, const struct fuse_ctx *ctx)
{
	if (ninodes == inodes_cap) {
		size_t cap = inodes_cap ? inodes_cap * 2 : 1024;
		struct node **p = realloc(inodes, cap * sizeof *p);
		if (!p)
			return NULL;
		inodes = p;
		inodes_cap = cap;
	}
	struct node *n = calloc(1, sizeof *n);
	if (!n)
		return NULL;
	n->name = strdup(name);
	if (!n->name) {
		free(n);
		return NULL;
	}
	n->ino = ninodes;
	inodes[ninodes++] = n;
	n->parent = dir->ino;
	n->mode = mode;
	n->nlink = S_ISDIR(mode) ? 2 : 1;
	n->uid = ctx ? ctx->uid : 0;
	n->gid = ctx ? ctx->gid : 0;
	now(&n->mtime);
	n->atime = n->ctime = n->mtime;
	uint64_t h = hash_name(dir->ino, name);
	n->hnext = names[h];
	names[h] = n;
	n->cnext = dir->children;
	if (dir->children)
		dir->children->cprev = n;
	dir->children = n;
	dir->nchildren++;
	if (S_ISDIR(mode))
		dir->nlink++;
	dir->mtime = dir->ctime = n->mtime;
	return n;
}

static void maybe_free(struct node *n)
{
	if (n->nlink == 0 && n->nlookup == 0) {
		inodes[n->ino] = NULL;
		free(n->data);
		free(n);
	}
}

/* Takes the name out of its directory; the node lives on until the kernel forgets it. */
static void detach(struct node *dir, struct node *n)
{
	struct node **pp = &names[hash_name(n->parent, n->name)];
	while (*pp != n)
		pp = &(*pp)->hnext;
	*pp = n->hnext;
	if (n->cprev)
		n->cprev->cnext = n->cnext;
	else
		dir->children = n->cnext;
	if (n->cnext)
		n->cnext->cprev = n->cprev;
	dir->nchildren--;
	if (S_ISDIR(n->mode))
		dir->nlink--;
	free(n->name);
	n->name = NULL;
	n->nlink = 0;
	now(&dir->mtime);
	dir->ctime = dir->mtime;
	n->ctime = dir->mtime;
}

static void fill_attr(const struct node *n, struct stat *st)
{
	memset(st, 0, sizeof *st);
	st->st_ino = n->ino;
	st->st_mode = n->mode;
	st->st_nlink = n->nlink;
	st->st_uid = n->uid;
	st->st_gid = n->gid;
	st->st_size = S_ISDIR(n->mode) ? 4096 : (off_t)n->size;
	st->st_blksize = 4096;
	st->st_blocks = (st->st_size + 511) / 512;
	st->st_atim = n->atime;
	st->st_mtim = n->mtime;
	st->st_ctim = n->ctime;
}

static void fill_entry(struct node *n, struct fuse_entry_param *e)
{
	memset(e, 0, sizeof *e);
	e->ino = n->ino;
	e->generation = 1;
	e->attr_timeout = mopts.timeout;
	e->entry_timeout = mopts.timeout;
	fill_attr(n, &e->attr);
	n->nlookup++;
}

/*
 * Grows or shrinks a file's data to `size` bytes; with `zero`, bytes past the old end read as
 * zeros (a WRITE that is about to fill them passes 0: in a VM the first touch of a fresh page is
 * the expensive part, so touch it once). Big buffers ask for transparent huge pages: 512 times
 * fewer page faults when a WRITE lands in fresh memory.
 */
static int set_size(struct node *n, size_t size, int zero)
{
	if (size > n->cap) {
		size_t cap = n->cap ? n->cap : 65536;
		while (cap < size)
			cap *= 2;
		char *p = realloc(n->data, cap);
		if (!p)
			return ENOMEM;
		if (cap >= (4u << 20)) {
			uintptr_t a = ((uintptr_t)p + (2u << 20) - 1) & ~(uintptr_t)((2u << 20) - 1);
			uintptr_t e = ((uintptr_t)p + cap) & ~(uintptr_t)((2u << 20) - 1);
			if (e > a)
				madvise((void *)a, e - a, MADV_HUGEPAGE);
		}
		n->data = p;
		n->cap = cap;
	}
	if (size > n->size && zero)
		memset(n->data + n->size, 0, size - n->size);
	n->size = size;
	return 0;
}

/* ---- operations ---- */

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	(void)userdata;
	conn->max_read = MAX_READ; /* must equal -o max_read, or libfuse ends the session */
	conn->max_write = MAX_WRITE;
	conn->want |= FUSE_CAP_ASYNC_READ & conn->capable;
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e;
	pthread_rwlock_wrlock(&lock);
	struct node *n = find_child(parent, name);
	if (n)
		fill_entry(n, &e);
	pthread_rwlock_unlock(&lock);
	if (n)
		fuse_reply_entry(req, &e);
	else
		fuse_reply_err(req, ENOENT);
}

static void forget_one(fuse_ino_t ino, uint64_t nlookup)
{
	struct node *n = get_node(ino);
	if (!n || ino == FUSE_ROOT_ID)
		return;
	n->nlookup = n->nlookup > nlookup ? n->nlookup - nlookup : 0;
	maybe_free(n);
}

static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	pthread_rwlock_wrlock(&lock);
	forget_one(ino, nlookup);
	pthread_rwlock_unlock(&lock);
	fuse_reply_none(req);
}

static void op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
	pthread_rwlock_wrlock(&lock);
	for (size_t i = 0; i < count; i++)
		forget_one(forgets[i].ino, forgets[i].nlookup);
	pthread_rwlock_unlock(&lock);
	fuse_reply_none(req);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)fi;
	struct stat st;
	pthread_rwlock_rdlock(&lock);
	struct node *n = get_node(ino);
	if (n)
		fill_attr(n, &st);
	pthread_rwlock_unlock(&lock);
	if (n)
		fuse_reply_attr(req, &st, mopts.timeout);
	else
		fuse_reply_err(req, ENOENT);
}

static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set, struct fuse_file_info *fi)
{
	(void)fi;
	struct stat st;
	int err = 0;
	pthread_rwlock_wrlock(&lock);
	struct node *n = get_node(ino);
	if (!n) {
		err = ENOENT;
	} else {
		struct timespec t;
		now(&t);
		if (to_set & FUSE_SET_ATTR_SIZE) {
			if (S_ISDIR(n->mode))
				err = EISDIR;
			else if ((err = set_size(n, (size_t)attr->st_size, 1)) == 0)
				n->mtime = t;
		}
		if (!err) {
			if (to_set & FUSE_SET_ATTR_MODE)
				n->mode = (n->mode & S_IFMT) | (attr->st_mode & 07777);
			if (to_set & FUSE_SET_ATTR_UID)
				n->uid = attr->st_uid;
			if (to_set & FUSE_SET_ATTR_GID)
				n->gid = attr->st_gid;
			if (to_set & FUSE_SET_ATTR_ATIME_NOW)
				n->atime = t;
			else if (to_set & FUSE_SET_ATTR_ATIME)
				n->atime = attr->st_atim;
			if (to_set & FUSE_SET_ATTR_MTIME_NOW)
				n->mtime = t;
			else if (to_set & FUSE_SET_ATTR_MTIME)
				n->mtime = attr->st_mtim;
			n->ctime = t;
			fill_attr(n, &st);
		}
	}
	pthread_rwlock_unlock(&lock);
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_attr(req, &st, mopts.timeout);
}

static int make(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, struct fuse_entry_param *e)
{
	int err = 0;
	pthread_rwlock_wrlock(&lock);
	struct node *dir = get_node(parent);
	if (!dir || !dir->name)
		err = ENOENT;
	else if (!S_ISDIR(dir->mode))
		err = ENOTDIR;
	else if (find_child(parent, name))
		err = EEXIST;
	else {
		struct node *n = new_node(dir, name, mode, fuse_req_ctx(req));
		if (!n)
			err = ENOMEM;
		else
			fill_entry(n, e);
	}
	pthread_rwlock_unlock(&lock);
	return err;
}

static void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	struct fuse_entry_param e;
	int err = make(req, parent, name, S_IFDIR | (mode & 07777), &e);
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_entry(req, &e);
}

static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, struct fuse_file_info *fi)
{
	struct fuse_entry_param e;
	int err = make(req, parent, name, S_IFREG | (mode & 07777), &e);
	if (err) {
		fuse_reply_err(req, err);
		return;
	}
	fi->keep_cache = 1;
	fuse_reply_create(req, &e, fi);
}

static void remove_name(fuse_req_t req, fuse_ino_t parent, const char *name, int want_dir)
{
	int err = 0;
	pthread_rwlock_wrlock(&lock);
	struct node *dir = get_node(parent);
	struct node *n = dir ? find_child(parent, name) : NULL;
	if (!n)
		err = ENOENT;
	else if (want_dir && !S_ISDIR(n->mode))
		err = ENOTDIR;
	else if (!want_dir && S_ISDIR(n->mode))
		err = EISDIR;
	else if (want_dir && n->nchildren)
		err = ENOTEMPTY;
	else {
		detach(dir, n);
		maybe_free(n);
	}
	pthread_rwlock_unlock(&lock);
	fuse_reply_err(req, err);
}

static void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	remove_name(req, parent, name, 0);
}

static void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	remove_name(req, parent, name, 1);
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	pthread_rwlock_rdlock(&lock);
	struct node *n = get_node(ino);
	int err = !n ? ENOENT : S_ISDIR(n->mode) ? EISDIR : 0;
	pthread_rwlock_unlock(&lock);
	if (err) {
		fuse_reply_err(req, err);
		return;
	}
	fi->keep_cache = 1;
	fuse_reply_open(req, fi);
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	(void)fi;
	/* Replying under the read lock: writers cannot move the buffer while the kernel copies it. */
	pthread_rwlock_rdlock(&lock);
	struct node *n = get_node(ino);
	if (!n) {
		pthread_rwlock_unlock(&lock);
		fuse_reply_err(req, ENOENT);
		return;
	}
	size_t len = 0;
	if ((size_t)off < n->size)
		len = n->size - (size_t)off < size ? n->size - (size_t)off : size;
	fuse_reply_buf(req, len ? n->data + off : NULL, len);
	pthread_rwlock_unlock(&lock);
}

static void op_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
	(void)fi;
	int err = 0;
	pthread_rwlock_wrlock(&lock);
	struct node *n = get_node(ino);
	if (!n)
		err = ENOENT;
	else if ((size_t)off + size > n->size) {
		/* zero only a hole between the old end and this WRITE */
		if ((size_t)off > n->size)
			err = set_size(n, (size_t)off, 1);
		if (!err)
			err = set_size(n, (size_t)off + size, 0);
	}
	if (!err) {
		memcpy(n->data + off, buf, size);
		now(&n->mtime);
		n->ctime = n->mtime;
	}
	pthread_rwlock_unlock(&lock);
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_write(req, size);
}

static void op_ok(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	(void)fi;
	fuse_reply_err(req, 0);
}

static void op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	(void)datasync;
	op_ok(req, ino, fi);
}

static void dirbuf_add(fuse_req_t req, struct dirbuf *b, const char *name, fuse_ino_t ino)
{
	struct stat st;
	memset(&st, 0, sizeof st);
	st.st_ino = ino;
	size_t old = b->size;
	size_t need = fuse_add_direntry(req, NULL, 0, name, NULL, 0);
	char *p = realloc(b->p, old + need);
	if (!p)
		return;
	b->p = p;
	b->size += need;
	fuse_add_direntry(req, b->p + old, need, name, &st, (off_t)b->size);
}

/* A snapshot of the directory at opendir, handed out by offset (as libfuse's hello_ll does). */
static void op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct dirbuf *b = calloc(1, sizeof *b);
	if (!b) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	int err = 0;
	pthread_rwlock_rdlock(&lock);
	struct node *dir = get_node(ino);
	if (!dir)
		err = ENOENT;
	else if (!S_ISDIR(dir->mode))
		err = ENOTDIR;
	else {
		dirbuf_add(req, b, ".", dir->ino);
		dirbuf_add(req, b, "..", dir->parent);
		for (struct node *n = dir->children; n; n = n->cnext)
			dirbuf_add(req, b, n->name, n->ino);
	}
	pthread_rwlock_unlock(&lock);
	if (err) {
		free(b->p);
		free(b);
		fuse_reply_err(req, err);
		return;
	}
	fi->fh = (uint64_t)(uintptr_t)b;
	fuse_reply_open(req, fi);
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	(void)ino;
	struct dirbuf *b = (struct dirbuf *)(uintptr_t)fi->fh;
	if ((size_t)off < b->size)
		fuse_reply_buf(req, b->p + off, b->size - (size_t)off < size ? b->size - (size_t)off : size);
	else
		fuse_reply_buf(req, NULL, 0);
}

static void op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	struct dirbuf *b = (struct dirbuf *)(uintptr_t)fi->fh;
	free(b->p);
	free(b);
	fuse_reply_err(req, 0);
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	(void)ino;
	struct statvfs sv;
	memset(&sv, 0, sizeof sv);
	sv.f_bsize = 4096;
	sv.f_frsize = 4096;
	sv.f_blocks = sv.f_bfree = sv.f_bavail = 64ull << 18; /* 64 GiB */
	sv.f_files = sv.f_ffree = sv.f_favail = 1u << 24;
	sv.f_namemax = 255;
	fuse_reply_statfs(req, &sv);
}

static const struct fuse_lowlevel_ops ops = {
	.init = op_init,
	.lookup = op_lookup,
	.forget = op_forget,
	.forget_multi = op_forget_multi,
	.getattr = op_getattr,
	.setattr = op_setattr,
	.mkdir = op_mkdir,
	.unlink = op_unlink,
	.rmdir = op_rmdir,
	.create = op_create,
	.open = op_open,
	.read = op_read,
	.write = op_write,
	.flush = op_ok,
	.release = op_ok,
	.fsync = op_fsync,
	.opendir = op_opendir,
	.readdir = op_readdir,
	.releasedir = op_releasedir,
	.statfs = op_statfs,
};

int main(int argc, char *argv[])
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct fuse_cmdline_opts opts;
	struct fuse_session *se = NULL;
	struct fuse_loop_config *config = NULL;
	int ret = 1;

	if (fuse_opt_parse(&args, &mopts, memfs_opts, NULL) == -1)
		return 1;
	if (fuse_parse_cmdline(&args, &opts) != 0)
		return 1;
	if (opts.show_help || !opts.mountpoint) {
		printf("usage: %s MOUNTPOINT -f -o max_read=524288[,timeout=SECONDS]\n", argv[0]);
		fuse_cmdline_help();
		fuse_lowlevel_help();
		ret = opts.show_help ? 0 : 1;
		goto out_args;
	}

	/* The root directory is inode 1; inode 0 stays unused. */
	inodes_cap = 1024;
	inodes = calloc(inodes_cap, sizeof *inodes);
	struct node *root = calloc(1, sizeof *root);
	if (!inodes || !root)
		goto out_args;
	root->ino = FUSE_ROOT_ID;
	root->parent = FUSE_ROOT_ID;
	root->name = strdup("/");
	root->mode = S_IFDIR | 0755;
	root->nlink = 2;
	root->uid = getuid();
	root->gid = getgid();
	now(&root->mtime);
	root->atime = root->ctime = root->mtime;
	inodes[FUSE_ROOT_ID] = root;
	ninodes = FUSE_ROOT_ID + 1;

	se = fuse_session_new(&args, &ops, sizeof ops, NULL);
	if (!se)
		goto out_args;
	if (fuse_set_signal_handlers(se) != 0)
		goto out_session;
	if (fuse_session_mount(se, opts.mountpoint) != 0)
		goto out_signals;
	fuse_daemonize(opts.foreground);

	config = fuse_loop_cfg_create();
	fuse_loop_cfg_set_clone_fd(config, opts.clone_fd);
	fuse_loop_cfg_set_max_threads(config, opts.max_threads);
	ret = fuse_session_loop_mt(se, config) ? 1 : 0;
	fuse_loop_cfg_destroy(config);

	fuse_session_unmount(se);
out_signals:
	fuse_remove_signal_handlers(se);
out_session:
	fuse_session_destroy(se);
out_args:
	free(opts.mountpoint);
	fuse_opt_free_args(&args);
	return ret;
}
