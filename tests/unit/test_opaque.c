/* Unit tests for src/common/opaque.c: password preparation (OpaqueString / SASLprep subset). */
#include <string.h>

#include "turnpike/opaque.h"
#include "unit.h"

/* Prepares in and compares with want (NULL: must be refused). */
static bool
prep_is(const char *in, const char *want)
{
	char out[256];
	const char *errstr = NULL;
	size_t outlen = 0;
	int rc = opaque_prepare(in, strlen(in), out, sizeof out, &outlen, &errstr);

	if (want == NULL)
		return rc == -1 && errstr != NULL;
	return rc == 0 && outlen == strlen(want) && memcmp(out, want, outlen) == 0;
}

static void
test_ascii(void)
{
	CHECK(prep_is("VOkJxbRl1RmTxUk/WvJxBt", "VOkJxbRl1RmTxUk/WvJxBt"));
	CHECK(prep_is(" spaces are kept ~", " spaces are kept ~"));
	CHECK(prep_is("", NULL));
	CHECK(prep_is("tab\there", NULL));
	CHECK(prep_is("nl\n", NULL));
	CHECK(prep_is("del\x7f", NULL));
}

static void
test_mappings(void)
{
	/* RFC 5769 §2.4: "The<U+00AD>M<U+00AA>tr<U+2168>". */
	CHECK(prep_is("The\xc2\xad"
		      "M\xc2\xaa"
		      "tr\xe2\x85\xa8",
	    "TheMatrIX"));
	CHECK(prep_is("a\xc2\xa0"
		      "b\xe3\x80\x80"
		      "c\xe2\x80\x83"
		      "d",
	    "a b c d"));
	CHECK(prep_is("a\xe2\x80\x8b"
		      "b\xef\xbb\xbf"
		      "c\xef\xb8\x8f"
		      "d\xcd\x8f",
	    "abcd"));
	CHECK(prep_is("\xef\xbc\xa1\xef\xbd\x9e\xef\xbc\x81", "A~!"));
	CHECK(prep_is("\xc2\xb2\xc2\xb3\xc2\xb9\xc2\xba", "231o"));
	CHECK(prep_is("\xe2\x85\xb7\xe2\x85\xbf\xe2\x85\xa0", "viiimI"));
	CHECK(prep_is("\xef\xac\x83", "ffi"));
	CHECK(prep_is("\xc2\xad", NULL));
	CHECK(prep_is("\xc2\xad\xe2\x80\x8d", NULL));
}

static void
test_kept(void)
{
	/* Non-ASCII letters are kept as given; U+FFFD is allowed. */
	CHECK(prep_is("caf\xc3\xa9", "caf\xc3\xa9"));
	CHECK(prep_is("\xe3\x83\x9e\xe3\x83\x88", "\xe3\x83\x9e\xe3\x83\x88"));
	CHECK(prep_is("\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80"));
	CHECK(prep_is("x\xef\xbf\xbd", "x\xef\xbf\xbd"));
}

static void
test_invalid_utf8(void)
{
	CHECK(prep_is("\xc0\x80", NULL));         /* overlong NUL */
	CHECK(prep_is("\xc1\xbf", NULL));         /* overlong */
	CHECK(prep_is("\xe0\x80\xaf", NULL));     /* overlong '/' */
	CHECK(prep_is("\xf0\x82\x82\xac", NULL)); /* overlong euro */
	CHECK(prep_is("\xed\xa0\x80", NULL));     /* surrogate D800 */
	CHECK(prep_is("\xed\xbf\xbf", NULL));     /* surrogate DFFF */
	CHECK(prep_is("\xf4\x90\x80\x80", NULL)); /* above U+10FFFF */
	CHECK(prep_is("\xf5\x80\x80\x80", NULL));
	CHECK(prep_is("\xff", NULL));
	CHECK(prep_is("abc\x80", NULL));      /* stray continuation */
	CHECK(prep_is("abc\xe2\x85", NULL));  /* truncated */
	CHECK(prep_is("\xe2\x41\xa8", NULL)); /* bad continuation */
}

static void
test_prohibited(void)
{
	CHECK(prep_is("a\xc2\x85", NULL));         /* C1 NEL */
	CHECK(prep_is("a\xee\x80\x80", NULL));     /* private use U+E000 */
	CHECK(prep_is("a\xf3\xb0\x80\x80", NULL)); /* plane 15 private use */
	CHECK(prep_is("a\xef\xbf\xbe", NULL));     /* U+FFFE */
	CHECK(prep_is("a\xef\xb7\x90", NULL));     /* U+FDD0 */
	CHECK(prep_is("a\xf0\x9f\xbf\xbf", NULL)); /* U+1FFFF */
	CHECK(prep_is("a\xe2\x80\x8e", NULL));     /* U+200E LRM */
	CHECK(prep_is("a\xe2\x80\xa8", NULL));     /* U+2028 */
	CHECK(prep_is("a\xf3\xa0\x80\x81", NULL)); /* U+E0001 tag */
}

static void
test_room(void)
{
	char out[8];
	const char *errstr = NULL;
	size_t outlen = 99;

	CHECK(opaque_prepare("12345678", 8, out, sizeof out, &outlen, &errstr) == 0 && outlen == 8);
	CHECK(opaque_prepare("123456789", 9, out, sizeof out, &outlen, &errstr) == -1);
	CHECK(opaque_prepare("\xe2\x85\xb7\xe2\x85\xb7\xe2\x85\xb7", 9, out, sizeof out, &outlen,
		  &errstr) == -1 &&
	    errstr != NULL);
	CHECK(
	    opaque_prepare("\xe2\x85\xb7\xe2\x85\xb7", 6, out, sizeof out, &outlen, &errstr) == 0 &&
	    outlen == 8 && memcmp(out, "viiiviii", 8) == 0);
	CHECK(opaque_prepare("ab\0cd", 5, out, sizeof out, &outlen, &errstr) == -1);
}

int
main(void)
{
	test_ascii();
	test_mappings();
	test_kept();
	test_invalid_utf8();
	test_prohibited();
	test_room();
	return unit_done();
}
