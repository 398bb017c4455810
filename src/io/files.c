/* files.c — regular-file inputs, and outputs written to a temporary file then renamed (files.h). */
#include "files.h"

#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/err.h"

static const char *kind_of(mode_t m) {
    if (S_ISDIR(m)) return "a directory";
    if (S_ISLNK(m)) return "a symbolic link";
    if (S_ISFIFO(m)) return "a FIFO";
    if (S_ISCHR(m)) return "a character device";
    if (S_ISBLK(m)) return "a block device";
    if (S_ISSOCK(m)) return "a socket";
    return "of an unknown kind";
}

int ll_open_input(const char *path, const char *what) {
    /* O_NONBLOCK: opening a FIFO without a writer must not wait; it is refused just below */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return ll_fail("cannot open '%s': %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return ll_fail("cannot stat '%s': %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return ll_fail("'%s' (%s) is %s, not a regular file; layerlab reads only regular files", path, what,
                       kind_of(st.st_mode));
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0) fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    return fd;
}

FILE *ll_fopen_input(const char *path, const char *what) {
    int fd = ll_open_input(path, what);
    if (fd < 0) return NULL;
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        close(fd);
        ll_fail("cannot open '%s': %s", path, strerror(errno));
    }
    return f;
}

char *ll_read_fd(int fd, const char *path, size_t *len) {
    size_t cap = 1 << 16, n = 0;
    char *buf = ll_malloc(cap);
    if (!buf) return NULL;
    for (;;) {
        if (cap - n < 2) {
            char *nb = ll_realloc(buf, cap * 2);
            if (!nb) { free(buf); return NULL; }
            buf = nb;
            cap *= 2;
        }
        ssize_t r = read(fd, buf + n, cap - n - 1);
        if (r < 0) {
            if (errno == EINTR) continue;
            ll_fail("%s: read error: %s", path, strerror(errno));
            free(buf);
            return NULL;
        }
        if (r == 0) break;
        n += (size_t)r;
    }
    buf[n] = 0;
    *len = n;
    return buf;
}

char *ll_read_file(const char *path, const char *what, size_t *len) {
    int fd = ll_open_input(path, what);
    if (fd < 0) return NULL;
    char *b = ll_read_fd(fd, path, len);
    close(fd);
    return b;
}

int ll_out_check(const char *path) {
    if (!path || !*path) return ll_fail("empty output path");
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
        return ll_fail("refusing to write '%s': it is %s, and an output replaces only a regular file", path,
                       kind_of(st.st_mode));
    return 0;
}

int ll_map_input(const char *path, const char *what, void **map, size_t *size) {
    *map = NULL;
    *size = 0;
    int fd = ll_open_input(path, what);
    if (fd < 0) return -1;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return ll_fail("%s: cannot stat: %s", path, strerror(e));
    }
    if ((uint64_t)st.st_size > SIZE_MAX) {
        close(fd);
        return ll_fail("%s: file too large to map (%lld bytes)", path, (long long)st.st_size);
    }
    size_t n = (size_t)st.st_size;
    if (n) {
        void *p = mmap(NULL, n, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            int e = errno;
            close(fd);
            return ll_fail("%s: cannot map %zu bytes: %s", path, n, strerror(e));
        }
        *map = p;
    }
    close(fd);
    *size = n;
    return 0;
}

/* ---- temporary files removed on a fatal signal ---- */

#define N_SLOTS 64
static char g_tmp[N_SLOTS][4096 + 32];
static volatile sig_atomic_t g_used[N_SLOTS];
static volatile sig_atomic_t g_installed;

static void on_signal(int sig) {
    for (int i = 0; i < N_SLOTS; i++)
        if (g_used[i]) unlink(g_tmp[i]);
    signal(sig, SIG_DFL);
    raise(sig);
}

void ll_files_install_cleanup(void) {
    if (g_installed) return;
    g_installed = 1;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    int sigs[] = {SIGINT, SIGTERM, SIGHUP};
    for (int i = 0; i < 3; i++) {
        struct sigaction old;
        /* a signal the caller chose to ignore stays ignored */
        if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN) continue;
        sigaction(sigs[i], &sa, NULL);
    }
}

static int slot_take(const char *tmp) {
    ll_files_install_cleanup();
    for (int i = 0; i < N_SLOTS; i++) {
        if (g_used[i]) continue;
        memcpy(g_tmp[i], tmp, strlen(tmp) + 1);
        g_used[i] = 1;
        return i;
    }
    return -1;   /* table full: the file is still written safely, only not removed on a signal */
}

static void slot_release(int i) {
    if (i >= 0) g_used[i] = 0;
}

int ll_out_open(ll_out *o, const char *path, bool binary) {
    (void)binary;   /* POSIX streams make no text/binary difference */
    o->f = NULL;
    o->slot = -1;
    if (ll_out_check(path)) return -1;
    size_t n = strlen(path);
    if (n >= sizeof o->path) return ll_fail("output path too long: '%.64s...'", path);
    memcpy(o->path, path, n + 1);
    int fd = -1;
    /* the name goes into the signal handler's table before the file exists: a signal between open() and the
     * table would leave the file behind (the handler's unlink of a name not yet created fails harmlessly; a
     * stale file of this pid's naming, met as EEXIST, may be removed by it, which is as well) */
    for (int k = 0; k < 1000 && fd < 0; k++) {
        snprintf(o->tmp, sizeof o->tmp, "%s.tmp-%ld-%d", path, (long)getpid(), k);
        o->slot = slot_take(o->tmp);
        fd = open(o->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0) {
            int e = errno;
            slot_release(o->slot);
            o->slot = -1;
            if (e != EEXIST) return ll_fail("cannot create '%s': %s", o->tmp, strerror(e));
        }
    }
    if (fd < 0) return ll_fail("cannot create a temporary file beside '%s'", path);
    if (!(o->f = fdopen(fd, "wb"))) {
        int e = errno;
        close(fd);
        unlink(o->tmp);
        slot_release(o->slot);
        return ll_fail("cannot open '%s': %s", o->tmp, strerror(e));
    }
    return 0;
}

int ll_out_close(ll_out *o, bool ok) {
    if (!o->f) return ll_fail("output '%s' is not open", o->path);
    int err = 0;
    errno = 0;
    if (fflush(o->f) != 0) err = errno ? errno : EIO;
    else if (ferror(o->f)) /* an earlier write failed and its data was dropped: ask the file system why */
        err = fsync(fileno(o->f)) != 0 && errno ? errno : EIO;
    if (!err && fsync(fileno(o->f)) != 0 && errno != EINVAL && errno != EROFS) err = errno;
    if (fclose(o->f) != 0 && !err) err = errno ? errno : EIO;
    o->f = NULL;
    if (ok && !err && rename(o->tmp, o->path) != 0) err = errno;
    if (!ok || err) unlink(o->tmp);
    slot_release(o->slot);
    o->slot = -1;
    if (!ok) return -1;
    if (err) return ll_fail("error writing '%s': %s", o->path, strerror(err));
    return 0;
}

int ll_dir_prepare(const char *dir, bool replace, bool (*ours)(const char *name), const char *what) {
    if (mkdir(dir, 0777) == 0) return 0;
    if (errno != EEXIST) return ll_fail("%s: cannot create directory '%s': %s", what, dir, strerror(errno));
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) return ll_fail("%s: '%s' exists and is not a directory", what, dir);
    DIR *d = opendir(dir);
    if (!d) return ll_fail("%s: cannot read directory '%s': %s", what, dir, strerror(errno));
    long n_other = 0, n_removed = 0;
    char first[256] = "";
    int rc = 0;
    struct dirent *de;
    while (!rc && (de = readdir(d))) {
        const char *nm = de->d_name;
        if (!strcmp(nm, ".") || !strcmp(nm, "..")) continue;
        if (!replace) {
            rc = ll_fail("%s: directory '%s' is not empty (it holds '%s'); an earlier run's files would mix "
                         "with this one's: give an empty or new directory, or %s-replace to remove the files "
                         "an earlier run wrote there", what, dir, nm, what);
            break;   /* the message is made before closedir frees the entry */
        }
        if (!ours(nm)) {
            if (!n_other++) snprintf(first, sizeof first, "%s", nm);
            continue;
        }
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", dir, nm);
        if (unlink(path) != 0) rc = ll_fail("%s: cannot remove '%s': %s", what, path, strerror(errno));
        else n_removed++;
    }
    closedir(d);
    if (!rc && n_other)
        fprintf(stderr, "layerlab: %s: kept %ld file(s) in '%s' that are not an earlier run's (such as '%s')\n", what,
                n_other, dir, first);
    (void)n_removed;
    return rc;
}

int ll_mkdir_p(const char *dir) {
    char p[4096];
    size_t n = strlen(dir);
    if (!n || n >= sizeof p) return ll_fail("bad directory path '%.64s'", dir);
    memcpy(p, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (p[i] != '/' && p[i] != 0) continue;
        char c = p[i];
        p[i] = 0;
        if (mkdir(p, 0777) != 0 && errno != EEXIST) return ll_fail("cannot create directory '%s': %s", p, strerror(errno));
        p[i] = c;
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) return ll_fail("'%s' is not a directory", dir);
    return 0;
}
