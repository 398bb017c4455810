/* files.h — how layerlab opens what it reads and writes.
 *
 * Inputs: only regular files are read. A FIFO, a device or a directory is refused before any byte is read
 * (opening a FIFO would block until a writer came).
 *
 * Outputs: written whole or not at all. The data goes to a new temporary file beside the destination
 * (PATH.tmp-PID-N, created exclusively), which is renamed over PATH only after every write, the flush and
 * the close succeeded. A destination that exists and is not a regular file (a device node, a FIFO, a
 * directory) is refused: it is never replaced by a regular file. Temporary files still open when the
 * process gets SIGINT, SIGTERM or SIGHUP are removed before it dies of the signal.
 */
#ifndef LL_FILES_H
#define LL_FILES_H
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Opens path for reading if it is a regular file: a file descriptor (O_CLOEXEC), or -1 with the error set
 * ("'PATH' (model) is a FIFO, not a regular file"). `what` names the file's role in that message. */
int ll_open_input(const char *path, const char *what);
/* The same as a stdio stream ("rb"); NULL with the error set. */
FILE *ll_fopen_input(const char *path, const char *what);

/* Maps a regular input file read-only (ll_open_input, then mmap): *map and *size, *map NULL for an empty file.
 * 0, or -1 with the error set. Unmap with munmap(*map, *size). */
int ll_map_input(const char *path, const char *what, void **map, size_t *size);

/* Everything an open descriptor yields until end of file, NUL-terminated (*len without the NUL); path
 * names it in messages. NULL with the error set. */
char *ll_read_fd(int fd, const char *path, size_t *len);
/* A whole regular file (ll_open_input, then ll_read_fd). */
char *ll_read_file(const char *path, const char *what, size_t *len);

/* 0 if path may be written as an output (absent, or an existing regular file), else -1 with the error set.
 * Commands call it while parsing options, so a bad --out fails before the work starts. */
int ll_out_check(const char *path);

/* An output being written. */
typedef struct {
    FILE *f;
    char path[4096], tmp[4096 + 32];
    int slot;        /* index in the signal-cleanup table, -1 if not registered */
} ll_out;

/* Starts writing path (checked as ll_out_check does): o->f is the stream. 0, or -1 with the error set. */
int ll_out_open(ll_out *o, const char *path, bool binary);
/* Finishes: when ok, flushes, syncs, closes and renames the temporary file over the destination; otherwise
 * (or if any of that fails) removes it. ok = false is for the caller's own failure (its error is kept).
 * Write errors the stream saw are reported with the system's reason ("No space left on device").
 * 0, or -1 with the error set. */
int ll_out_close(ll_out *o, bool ok);

/* mkdir -p: dir and its missing parents (mode 0777 before the umask). 0, or -1 with the error set. */
int ll_mkdir_p(const char *dir);

/* Makes dir ready for a run's files: created if absent (a non-directory there is an error). An existing
 * directory must be empty, unless replace: then the entries for which ours(name) is true (the files an
 * earlier run of the same writer made) are removed and all others are left alone. `what` names the option
 * in messages ("--dump"). 0, or -1 with the error set. */
int ll_dir_prepare(const char *dir, bool replace, bool (*ours)(const char *name), const char *what);

/* Installs the SIGINT/SIGTERM/SIGHUP handler that removes open temporary files (idempotent; ll_out_open
 * calls it). Also used by the CLI for files it registers itself. */
void ll_files_install_cleanup(void);

#endif
