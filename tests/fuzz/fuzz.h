/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Shared pieces of the libFuzzer harnesses (tests/fuzz/fuzz_*.c; built and
 * run by `make fuzz`, see tests/fuzz/run.sh).
 *
 * Harnesses for code that reads files (the config loader, the sudoers scans,
 * PAM stacks) write the input into a private scratch directory made once per
 * process; an input that stands for several files is split at FUZZ_SPLIT, a
 * line of its own that the dictionaries carry.
 */
#ifndef JIT_FUZZ_H
#define JIT_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* What separates the files of one input. */
#define FUZZ_SPLIT "\n--8<--\n"

/* The input as a NUL-terminated string (embedded NULs kept); free() it. */
static inline char *fuzz_strndup(const uint8_t *data, size_t size)
{
        char *s = malloc(size + 1);

        if (!s)
                abort();
        memcpy(s, data, size);
        s[size] = '\0';
        return s;
}

/* The scratch directory, made on first use; the harness runs single-threaded. */
const char *fuzz_dir(void);
/* Write n bytes to fuzz_dir()/name (replacing it); returns the full path in a
 * static buffer that the next call reuses. Aborts on failure: a harness that
 * cannot write its input would fuzz nothing. */
const char *fuzz_write(const char *name, const void *data, size_t n);
/* Split data at FUZZ_SPLIT into at most max pieces: starts and lengths. The
 * last piece runs to the end. Returns how many. */
size_t fuzz_split(const uint8_t *data, size_t size, const uint8_t **starts, size_t *lens, size_t max);
/* Aborts with a message: the harness found an invariant broken. */
void fuzz_fail(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

#endif
