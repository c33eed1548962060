/*
 * testutil.h - helpers of the client unit tests: a private temp directory per test, fixture
 * files copied or written into it, and small file readers.
 */
#ifndef FOO_TEST_CLIENT_TESTUTIL_H
#define FOO_TEST_CLIENT_TESTUTIL_H

#include "common/apierr.h"

#include <stdbool.h>
#include <stddef.h>

/* Fake clock start: 2030-01-01T00:00:00Z. */
#define TU_WALL_START_MS 1893456000000LL

/* Creates a fresh temp directory (mkdtemp) and returns its path; malloc'd. */
char *tu_tmpdir(void);
/* Removes a directory tree. */
void tu_rmtree(const char *dir);
/* The absolute path of a file under test/unit/client/fixtures; malloc'd. */
char *tu_fixture(const char *name);
/* Writes text to dir/name (creating dir/name's parent directories); returns the malloc'd path. */
char *tu_write(const char *dir, const char *name, const char *text);
/* Copies fixture `name` to dir/as with the given mode; returns the malloc'd path. */
char *tu_copy_fixture(const char *dir, const char *name, const char *as, int mode);
/* The content of a file as a malloc'd string, or NULL when it cannot be read. */
char *tu_read(const char *path);
/* The integer in a file (the exec plugin's run counter); 0 when the file does not exist. */
int tu_read_int(const char *path);
/* true when haystack contains needle (for assertions on messages). */
bool tu_contains(const char *haystack, const char *needle);
/*
 * Asserts e holds an error of the configuration code (docs/design.md §4.8: 400 BadRequest for
 * bad content, else 500 InternalError, with a message), and hands its message over: the caller
 * frees it; e is cleared.
 */
char *tu_take_message(api_error *e);

#endif
