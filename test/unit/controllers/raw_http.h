/*
 * raw_http.h - plain blocking HTTP/1.1 exchanges over loopback for the tests of the
 * controller-manager's own servers (httpd, its probes and metrics). Bytes go out as given and
 * every byte the server answers comes back unparsed, so a test sees exactly what went on the
 * wire. Failures are Criterion assertions (they end the test). Thread-safe (no shared state).
 */
#ifndef FOO_TEST_CONTROLLERS_RAW_HTTP_H
#define FOO_TEST_CONTROLLERS_RAW_HTTP_H

#include <stddef.h>

/* A socket connected to 127.0.0.1:port. */
int raw_http_connect(int port);
/* Sends the len bytes of raw on fd, reads until the server closes, closes fd; returns the whole
 * answer as a string (caller frees). */
char *raw_http_exchange(int fd, const char *raw, size_t len);
/* "GET path" on 127.0.0.1:port; returns the whole answer (caller frees). */
char *raw_http_get(int port, const char *path);

#endif
