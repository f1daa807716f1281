/*
 * Password preparation for long-term credentials (RFC 8489 §9.2.2 asks for the
 * OpaqueString profile of RFC 8265 §4.2; RFC 5389 asked for SASLprep, RFC 4013).
 *
 * What is done, in this order, one code point at a time:
 * - printable ASCII (U+0020-U+007E) only: copied unchanged (fast path);
 * - strict UTF-8 decoding: overlong forms, surrogates, values above U+10FFFF,
 *   stray or missing continuation bytes are refused;
 * - RFC 3454 B.1 "commonly mapped to nothing" (U+00AD, U+034F, U+1806,
 *   U+180B-180D, U+200B-200D, U+2060, U+FE00-FE0F, U+FEFF) are removed; U+200B
 *   is also in C.1.2 and is removed, not turned into a space;
 * - RFC 3454 C.1.2 non-ASCII spaces become U+0020 (RFC 8265 §4.2.2 rule 1);
 * - a small compatibility (NFKC) table: U+00AA, U+00BA, superscript and
 *   subscript digits, Roman numerals U+2160-217F, ligatures U+FB00-FB06,
 *   U+2122, and fullwidth U+FF01-FF5E become ASCII, so that RFC 5769 §2.4's
 *   "The<U+00AD>M<U+00AA>tr<U+2168>" becomes "TheMatrIX" as SASLprep makes it;
 * - refused: C0 controls (tab included), DEL, C1 controls, the other RFC 3454
 *   C.2.2, C.7, C.8 and C.9 code points, private use, non-characters; U+FFFD
 *   is allowed;
 * - an empty result is refused.
 * What is not done: Unicode normalisation (NFC/NFKC) beyond that table,
 * directionality (bidi) checks, and refusing unassigned code points. Other
 * non-ASCII text is kept as the UTF-8 given, so both ends must type it alike.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "turnpike/opaque.h"

struct opaque_range {
	uint32_t lo;
	uint32_t hi;
};

struct opaque_map {
	uint32_t cp;
	const char *to;
};

/* RFC 3454 B.1. */
static const struct opaque_range opaque_nothing[] = {
    {0x00ad, 0x00ad},
    {0x034f, 0x034f},
    {0x1806, 0x1806},
    {0x180b, 0x180d},
    {0x200b, 0x200d},
    {0x2060, 0x2060},
    {0xfe00, 0xfe0f},
    {0xfeff, 0xfeff},
};

/* RFC 3454 C.1.2 (U+200B is taken by B.1 above). */
static const struct opaque_range opaque_spaces[] = {
    {0x00a0, 0x00a0},
    {0x1680, 0x1680},
    {0x2000, 0x200a},
    {0x202f, 0x202f},
    {0x205f, 0x205f},
    {0x3000, 0x3000},
};

/* Controls, RFC 3454 C.2.2-C.9 less what B.1 removes, private use, non-characters. */
static const struct opaque_range opaque_prohibited[] = {
    {0x0000, 0x001f},
    {0x007f, 0x009f},
    {0x0340, 0x0341},
    {0x06dd, 0x06dd},
    {0x070f, 0x070f},
    {0x180e, 0x180e},
    {0x200e, 0x200f},
    {0x2028, 0x202e},
    {0x2061, 0x2063},
    {0x206a, 0x206f},
    {0x2ff0, 0x2ffb},
    {0xd800, 0xdfff},
    {0xe000, 0xf8ff},
    {0xfdd0, 0xfdef},
    {0xfff9, 0xfffc},
    {0x1d173, 0x1d17a},
    {0xe0001, 0xe0001},
    {0xe0020, 0xe007f},
    {0xf0000, 0x10ffff},
};

/* Compatibility mappings to ASCII, sorted by code point. */
/* clang-format off */
static const struct opaque_map opaque_compat[] = {
	{ 0x00aa, "a" }, { 0x00b2, "2" }, { 0x00b3, "3" }, { 0x00b9, "1" },
	{ 0x00ba, "o" }, { 0x2070, "0" }, { 0x2071, "i" }, { 0x2074, "4" },
	{ 0x2075, "5" }, { 0x2076, "6" }, { 0x2077, "7" }, { 0x2078, "8" },
	{ 0x2079, "9" }, { 0x207f, "n" }, { 0x2080, "0" }, { 0x2081, "1" },
	{ 0x2082, "2" }, { 0x2083, "3" }, { 0x2084, "4" }, { 0x2085, "5" },
	{ 0x2086, "6" }, { 0x2087, "7" }, { 0x2088, "8" }, { 0x2089, "9" },
	{ 0x2122, "TM" }, { 0x2160, "I" }, { 0x2161, "II" }, { 0x2162, "III" },
	{ 0x2163, "IV" }, { 0x2164, "V" }, { 0x2165, "VI" }, { 0x2166, "VII" },
	{ 0x2167, "VIII" }, { 0x2168, "IX" }, { 0x2169, "X" }, { 0x216a, "XI" },
	{ 0x216b, "XII" }, { 0x216c, "L" }, { 0x216d, "C" }, { 0x216e, "D" },
	{ 0x216f, "M" }, { 0x2170, "i" }, { 0x2171, "ii" }, { 0x2172, "iii" },
	{ 0x2173, "iv" }, { 0x2174, "v" }, { 0x2175, "vi" }, { 0x2176, "vii" },
	{ 0x2177, "viii" }, { 0x2178, "ix" }, { 0x2179, "x" }, { 0x217a, "xi" },
	{ 0x217b, "xii" }, { 0x217c, "l" }, { 0x217d, "c" }, { 0x217e, "d" },
	{ 0x217f, "m" }, { 0xfb00, "ff" }, { 0xfb01, "fi" }, { 0xfb02, "fl" },
	{ 0xfb03, "ffi" }, { 0xfb04, "ffl" }, { 0xfb05, "st" }, { 0xfb06, "st" },
};
/* clang-format on */

#define nitems(a) (sizeof(a) / sizeof((a)[0]))

static bool
opaque_in(const struct opaque_range *r, size_t n, uint32_t cp)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (cp >= r[i].lo && cp <= r[i].hi)
			return true;
	}
	return false;
}

static bool
opaque_is_prohibited(uint32_t cp)
{
	if ((cp & 0xfffe) == 0xfffe)
		return true; /* U+xFFFE and U+xFFFF in every plane */
	return opaque_in(opaque_prohibited, nitems(opaque_prohibited), cp);
}

static const char *
opaque_compat_lookup(uint32_t cp)
{
	size_t lo = 0, hi = nitems(opaque_compat), mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (opaque_compat[mid].cp == cp)
			return opaque_compat[mid].to;
		if (opaque_compat[mid].cp < cp)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Decodes one UTF-8 sequence strictly; returns its length or 0 when invalid. */
static size_t
opaque_utf8_next(const uint8_t *p, size_t len, uint32_t *cp)
{
	static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
	size_t n, i;
	uint32_t c;

	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		n = 2;
		c = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		n = 3;
		c = p[0] & 0x0f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		n = 4;
		c = p[0] & 0x07;
	} else
		return 0;
	if (n > len)
		return 0;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (p[i] & 0x3f);
	}
	if (c < min[n] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

/* Appends n bytes to out; -1 when there is no room. */
static int
opaque_put(char *out, size_t outcap, size_t *outlen, const void *src, size_t n)
{
	if (n > outcap - *outlen)
		return -1;
	if (n > 0)
		memcpy(out + *outlen, src, n);
	*outlen += n;
	return 0;
}

/*
 * What cp (its UTF-8 bytes are seq[0..n)) becomes: *to and *tolen, possibly
 * nothing; c is room for a one-byte result. -1 when cp is prohibited.
 */
static int
opaque_map(uint32_t cp, const uint8_t *seq, size_t n, char *c, const char **to, size_t *tolen)
{
	*to = c;
	*tolen = 1;
	if (opaque_in(opaque_nothing, nitems(opaque_nothing), cp))
		*tolen = 0;
	else if (opaque_in(opaque_spaces, nitems(opaque_spaces), cp))
		*c = ' ';
	else if ((*to = opaque_compat_lookup(cp)) != NULL)
		*tolen = strlen(*to);
	else if (cp >= 0xff01 && cp <= 0xff5e) {
		*to = c;
		*c = (char)(cp - 0xfee0);
	} else if (opaque_is_prohibited(cp))
		return -1;
	else {
		*to = (const char *)seq;
		*tolen = n;
	}
	return 0;
}

/* The slow path: decode, map, check and append one code point at a time. */
static int
opaque_prepare_utf8(const uint8_t *p, size_t len, char *out, size_t outcap, size_t *outlen,
    const char **errstr)
{
	const char *to;
	size_t off, n, tolen;
	uint32_t cp;
	char c;

	for (off = 0; off < len; off += n) {
		if ((n = opaque_utf8_next(p + off, len - off, &cp)) == 0) {
			*errstr = "invalid UTF-8 in password";
			return -1;
		}
		if (opaque_map(cp, p + off, n, &c, &to, &tolen) == -1) {
			*errstr = "prohibited character in password";
			return -1;
		}
		if (opaque_put(out, outcap, outlen, to, tolen) == -1) {
			*errstr = "prepared password too long";
			return -1;
		}
	}
	return 0;
}

static bool
opaque_is_printable_ascii(const char *in, size_t inlen)
{
	size_t i;

	for (i = 0; i < inlen; i++) {
		if ((unsigned char)in[i] < 0x20 || (unsigned char)in[i] > 0x7e)
			return false;
	}
	return true;
}

int
opaque_prepare(const char *in, size_t inlen, char *out, size_t outcap, size_t *outlen,
    const char **errstr)
{
	*outlen = 0;
	if (opaque_is_printable_ascii(in, inlen)) {
		if (opaque_put(out, outcap, outlen, in, inlen) == -1) {
			*errstr = "prepared password too long";
			return -1;
		}
	} else if (opaque_prepare_utf8((const uint8_t *)in, inlen, out, outcap, outlen, errstr) ==
	    -1)
		return -1;
	if (*outlen == 0) {
		*errstr = "empty password";
		return -1;
	}
	return 0;
}
