/*
 * Password preparation for long-term credentials: the OpaqueString profile of
 * RFC 8265 (which RFC 8489 §9.2.2 requires) with the SASLprep (RFC 4013) mappings
 * that RFC 5769 §2.4 exercises. See opaque.c for exactly what is mapped.
 */
#ifndef TURNPIKE_OPAQUE_H
#define TURNPIKE_OPAQUE_H

#include <stddef.h>

/*
 * Prepares in[0..inlen) into out (capacity outcap) and sets *outlen. ASCII
 * printable input is copied unchanged. Returns -1 with *errstr for invalid
 * UTF-8, prohibited characters, an empty result or lack of room.
 */
int opaque_prepare(const char *in, size_t inlen, char *out, size_t outcap, size_t *outlen,
    const char **errstr);

#endif
