/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * rawsend SOCKET HEX...   send each HEX string as one datagram, print the reply
 * rawsend SOCKET --hold N  connect and sit there for N seconds saying nothing
 * For tests that feed jitd malformed frames: every reply is decoded with the
 * real decoder and printed as "error EBADMSG: why" or the reply type's name.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "proto.h"

static int hexval(char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

int main(int argc, char **argv)
{
        static uint8_t buf[70000];
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd;

        if (argc < 3 || strlen(argv[1]) >= sizeof(sa.sun_path)) {
                fprintf(stderr, "usage: rawsend SOCKET HEX... | --hold N\n");
                return 2;
        }
        memcpy(sa.sun_path, argv[1], strlen(argv[1]) + 1);
        fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                perror("rawsend: connect");
                return 3;
        }
        if (strcmp(argv[2], "--hold") == 0) {
                sleep(argc > 3 ? (unsigned) atoi(argv[3]) : 5);
                return 0;
        }
        for (int a = 2; a < argc; a++) {
                const char *h = argv[a];
                size_t n = 0;
                struct pollfd p = { .fd = fd, .events = POLLIN };
                struct proto_msg m;
                ssize_t got;

                /* "Z<count>" sends count zero bytes: oversize frames without huge argv. */
                if (h[0] == 'Z') {
                        n = (size_t) atol(h + 1);
                        if (n > sizeof(buf))
                                return 2;
                        memset(buf, 0, n);
                } else {
                        for (; h[0] && h[1] && n < sizeof(buf); h += 2) {
                                int hi = hexval(h[0]), lo = hexval(h[1]);

                                if (hi < 0 || lo < 0)
                                        return 2;
                                buf[n++] = (uint8_t) (hi << 4 | lo);
                        }
                }
                if (send(fd, buf, n, MSG_NOSIGNAL) != (ssize_t) n) {
                        printf("send failed: %s\n", strerror(errno));
                        return 1;
                }
                if (poll(&p, 1, 3000) != 1) {
                        printf("no reply\n");
                        return 1;
                }
                got = recv(fd, buf, sizeof(buf), 0);
                if (got <= 0) {
                        printf("closed\n");
                        return 1;
                }
                if (proto_decode(buf, (size_t) got, &m, NULL, 0) < 0) {
                        printf("garbled reply\n");
                        return 1;
                }
                if (m.type == PROTO_REP_ERROR) {
                        uint64_t e = 0;
                        const char *msg = proto_get_str(&m, PF_MESSAGE);

                        proto_get_u64(&m, PF_ERRNO, &e);
                        printf("error %s: %s\n", strerrorname_np((int) e) ? strerrorname_np((int) e) : "?",
                               msg ? msg : "");
                } else
                        printf("%s\n", proto_type_name(m.type));
        }
        close(fd);
        return 0;
}
