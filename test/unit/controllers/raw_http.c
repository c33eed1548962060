/* raw_http.c - the loopback exchanges of raw_http.h. */
#include "raw_http.h"

#include "common/alloc.h"
#include "common/sbuf.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int raw_http_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(fd, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

char *raw_http_exchange(int fd, const char *raw, size_t len)
{
    size_t off = 0;
    while (off < len) {
        ssize_t n = send(fd, raw + off, len - off, MSG_NOSIGNAL);
        cr_assert_gt(n, 0);
        off += (size_t)n;
    }
    sbuf b = SBUF_INIT;
    char buf[4096];
    ssize_t n;
    while ((n = recv(fd, buf, sizeof buf, 0)) > 0)
        sbuf_append(&b, buf, (size_t)n);
    close(fd);
    sbuf_putc(&b, '\0');
    return sbuf_detach(&b, NULL);
}

char *raw_http_get(int port, const char *path)
{
    char *req = xasprintf("GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path);
    char *answer = raw_http_exchange(raw_http_connect(port), req, strlen(req));
    free(req);
    return answer;
}
