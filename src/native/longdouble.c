/* INCRBYFLOAT arithmetic in C's long double, as Redis does it.
 *
 * Redis adds the increment in `long double` (80-bit x87 on x86-64) and
 * prints the sum with "%.17Lf" before trimming zeros, so `INCRBYFLOAT k 0.1`
 * yields "10.6" on 10.5 rather than a 64-bit double's "10.59999999999999964".
 * Rust has no long double, so this file does that one computation. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ctype.h>

#define MAX_LONG_DOUBLE_CHARS 5120

/* Parses like Redis's string2ld. Returns 1 on success. */
static int parse_ld(const char *s, size_t len, long double *out) {
    char buf[MAX_LONG_DOUBLE_CHARS];
    char *end;
    if (len == 0 || len >= sizeof(buf)) return 0;
    memcpy(buf, s, len);
    buf[len] = '\0';
    errno = 0;
    long double v = strtold(buf, &end);
    if (isspace((unsigned char)buf[0]) || end[0] != '\0' || (size_t)(end - buf) != len ||
        (errno == ERANGE && (v == HUGE_VALL || v == -HUGE_VALL || fpclassify(v) == FP_ZERO)) ||
        errno == EINVAL || isnan(v))
        return 0;
    *out = v;
    return 1;
}

/* Computes a + b and writes Redis's human-friendly form into out.
 * Returns the length written, -1 if an input is not a valid float,
 * -2 if the result is NaN or infinite. */
long strata_ld_add(const char *a, size_t alen, const char *b, size_t blen, char *out, size_t outlen) {
    long double x, y;
    if (!parse_ld(a, alen, &x) || !parse_ld(b, blen, &y)) return -1;
    long double v = x + y;
    if (isnan(v) || isinf(v)) return -2;
    int l = snprintf(out, outlen, "%.17Lf", v);
    if (l < 0 || (size_t)l + 1 > outlen) return -1;
    if (strchr(out, '.') != NULL) {
        char *p = out + l - 1;
        while (*p == '0') { p--; l--; }
        if (*p == '.') l--;
    }
    if (l == 2 && out[0] == '-' && out[1] == '0') { out[0] = '0'; l = 1; }
    return l;
}

/* Parses a long double as Redis does (string2ld); returns 1 when valid. */
int strata_ld_valid(const char *a, size_t alen) {
    long double x;
    return parse_ld(a, alen, &x);
}

/* A blocking command's timeout in seconds to milliseconds, as Redis 7.0's
 * getTimeoutFromObjectOrReply: ceill(v * 1000) cast to long long. Values the
 * cast cannot represent come out as LLONG_MIN, which is what the x86-64 cast
 * yields in Redis (so "inf" and "1e300" are "negative" there too).
 * Returns 1 on success, 0 if the text is not a float. */
int strata_ld_timeout_ms(const char *a, size_t alen, long long *out) {
    long double v;
    if (!parse_ld(a, alen, &v)) return 0;
    long double ms = ceill(v * 1000.0L);
    if (!(ms < 9223372036854775807.0L && ms > -9223372036854775807.0L))
        *out = (-9223372036854775807LL - 1);
    else
        *out = (long long)ms;
    return 1;
}
