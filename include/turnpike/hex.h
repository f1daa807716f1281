/* Hexadecimal text for keys and hashes. */
#ifndef TURNPIKE_HEX_H
#define TURNPIKE_HEX_H

#include <stddef.h>
#include <stdint.h>

/* Writes 2n lower-case hex digits and a NUL to out (2n + 1 bytes). */
void hex_encode(char *out, const uint8_t *p, size_t n);
/* Exactly 2n hex digits (either case) into n bytes; -1 for anything else. */
int hex_decode(const char *hex, uint8_t *out, size_t n);

#endif
