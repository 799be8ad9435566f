/*
 * treefs_ll: the floor for the cold-walk benchmark (bench/suites/vfs.ts).
 *
 * A libfuse low-level server, single-threaded, that serves a fixed tree from memory:
 * every answer is a table look-up, with no system call in any handler. It answers
 * exactly the requests a cold `find` walk produces (READDIRPLUS with attributes, the
 * EOF READDIR, the odd LOOKUP and GETATTR), with opendir disabled (NO_OPENDIR_SUPPORT)
 * and 10 s entry and attribute timeouts, as fusekit's vfs does. Whatever time a walk over
 * this server takes beyond the native walk is what the FUSE round trips themselves cost on
 * this machine: no FUSE server, in any language, can walk faster.
 *
 *   treefs_ll -f -o shape=FILE MOUNTPOINT
 *
 * FILE has one line per entry as written by `find DIR -printf '%y %P\n'`: "d a/b" for a
 * directory, "f a/b/c" for an empty regular file (the root's own line, "d ", is skipped).
 */
#define FUSE_USE_VERSION 34
#include <fuse_lowlevel.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct node {
	char *name;        /* last path component */
	mode_t mode;
	fuse_ino_t parent;
	fuse_ino_t *kids;  /* inode numbers of the children, in listing order */
	size_t nkids, cap;
};

static struct node *nodes; /* nodes[ino], ino 1 = root */
static size_t nnodes, nodes_cap;

static fuse_ino_t add_node(fuse_ino_t parent, const char *name, mode_t mode)
{
	if (nnodes == nodes_cap) {
		nodes_cap = nodes_cap ? nodes_cap * 2 : 1024;
		nodes = realloc(nodes, nodes_cap * sizeof *nodes);
		if (!nodes) { perror("realloc"); exit(1); }
	}
	fuse_ino_t ino = nnodes++;
	nodes[ino] = (struct node){ .name = strdup(name), .mode = mode, .parent = parent };
	if (parent) {
		struct node *p = &nodes[parent];
		if (p->nkids == p->cap) {
			p->cap = p->cap ? p->cap * 2 : 8;
			p->kids = realloc(p->kids, p->cap * sizeof *p->kids);
			if (!p->kids) { perror("realloc"); exit(1); }
		}
		p->kids[p->nkids++] = ino;
	}
	return ino;
}

static fuse_ino_t child(fuse_ino_t dir, const char *name)
{
	struct node *d = &nodes[dir];
	for (size_t i = 0; i < d->nkids; i++)
		if (strcmp(nodes[d->kids[i]].name, name) == 0) return d->kids[i];
	return 0;
}

/* Build the tree from the shape file; parents are listed before their children (find order). */
static void load_shape(const char *file)
{
	FILE *f = fopen(file, "r");
	if (!f) { perror(file); exit(1); }
	add_node(0, "", 0);                         /* slot 0: unused */
	add_node(0, "", S_IFDIR | 0755);            /* 1: root */
	char line[4096];
	while (fgets(line, sizeof line, f)) {
		line[strcspn(line, "\n")] = 0;
		if (strlen(line) < 3) continue;
		mode_t mode = line[0] == 'd' ? S_IFDIR | 0755 : S_IFREG | 0644;
		fuse_ino_t dir = FUSE_ROOT_ID;
		char *path = line + 2, *slash;
		while ((slash = strchr(path, '/'))) {
			*slash = 0;
			fuse_ino_t c = child(dir, path);
			if (!c) c = add_node(dir, path, S_IFDIR | 0755);
			dir = c;
			path = slash + 1;
		}
		if (!child(dir, path)) add_node(dir, path, mode);
	}
	fclose(f);
}

static void fill_attr(fuse_ino_t ino, struct stat *st)
{
	memset(st, 0, sizeof *st);
	st->st_ino = ino;
	st->st_mode = nodes[ino].mode;
	st->st_nlink = S_ISDIR(st->st_mode) ? 2 : 1;
	st->st_blksize = 4096;
}

static const double TIMEOUT = 10.0;

static void tf_init(void *userdata, struct fuse_conn_info *conn)
{
	(void)userdata;
	if (conn->capable & FUSE_CAP_NO_OPENDIR_SUPPORT) conn->want |= FUSE_CAP_NO_OPENDIR_SUPPORT;
	if (conn->capable & FUSE_CAP_READDIRPLUS) conn->want |= FUSE_CAP_READDIRPLUS;
}

static void tf_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	fuse_ino_t c = parent < nnodes ? child(parent, name) : 0;
	if (!c) { fuse_reply_err(req, ENOENT); return; }
	struct fuse_entry_param e = { .ino = c, .generation = 1, .attr_timeout = TIMEOUT, .entry_timeout = TIMEOUT };
	fill_attr(c, &e.attr);
	fuse_reply_entry(req, &e);
}

static void tf_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)fi;
	if (ino >= nnodes) { fuse_reply_err(req, ENOENT); return; }
	struct stat st;
	fill_attr(ino, &st);
	fuse_reply_attr(req, &st, TIMEOUT);
}

static void tf_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino; (void)fi;
	fuse_reply_err(req, ENOSYS); /* with NO_OPENDIR_SUPPORT: the kernel stops sending OPENDIR */
}

/* Offsets: entry i of the listing has offset i + 1 (".", ".." are not listed; find skips them). */
static void do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, int plus)
{
	if (ino >= nnodes || !S_ISDIR(nodes[ino].mode)) { fuse_reply_err(req, ENOTDIR); return; }
	struct node *d = &nodes[ino];
	char *buf = malloc(size);
	if (!buf) { fuse_reply_err(req, ENOMEM); return; }
	size_t used = 0;
	for (size_t i = (size_t)off; i < d->nkids; i++) {
		fuse_ino_t c = d->kids[i];
		size_t n;
		if (plus) {
			struct fuse_entry_param e = { .ino = c, .generation = 1, .attr_timeout = TIMEOUT, .entry_timeout = TIMEOUT };
			fill_attr(c, &e.attr);
			n = fuse_add_direntry_plus(req, buf + used, size - used, nodes[c].name, &e, (off_t)i + 1);
		} else {
			struct stat st = { .st_ino = c, .st_mode = nodes[c].mode };
			n = fuse_add_direntry(req, buf + used, size - used, nodes[c].name, &st, (off_t)i + 1);
		}
		if (n > size - used) break;
		used += n;
	}
	fuse_reply_buf(req, buf, used);
	free(buf);
}

static void tf_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	(void)fi;
	do_readdir(req, ino, size, off, 0);
}

static void tf_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	(void)fi;
	do_readdir(req, ino, size, off, 1);
}

static const struct fuse_lowlevel_ops ops = {
	.init = tf_init,
	.lookup = tf_lookup,
	.getattr = tf_getattr,
	.opendir = tf_opendir,
	.readdir = tf_readdir,
	.readdirplus = tf_readdirplus,
};

struct opts { char *shape; };
static const struct fuse_opt opt_spec[] = { { "shape=%s", offsetof(struct opts, shape), 0 }, FUSE_OPT_END };

int main(int argc, char *argv[])
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct fuse_cmdline_opts cl;
	struct opts o = { 0 };
	if (fuse_parse_cmdline(&args, &cl) != 0) return 1;
	if (fuse_opt_parse(&args, &o, opt_spec, NULL) == -1) return 1;
	if (!o.shape || !cl.mountpoint) {
		fprintf(stderr, "usage: %s -f -o shape=FILE MOUNTPOINT\n", argv[0]);
		return 1;
	}
	load_shape(o.shape);
	struct fuse_session *se = fuse_session_new(&args, &ops, sizeof ops, NULL);
	if (!se) return 1;
	int ret = 1;
	if (fuse_set_signal_handlers(se) == 0) {
		if (fuse_session_mount(se, cl.mountpoint) == 0) {
			ret = fuse_session_loop(se); /* one thread: a walk has one request in flight */
			fuse_session_unmount(se);
		}
		fuse_remove_signal_handlers(se);
	}
	fuse_session_destroy(se);
	free(cl.mountpoint);
	fuse_opt_free_args(&args);
	return ret ? 1 : 0;
}
