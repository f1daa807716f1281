/*
 * ChannelData messages (RFC 8656 §12.4; padded to 4 on streams, §12.5).
 */
#ifndef TURNPIKE_CHANDATA_H
#define TURNPIKE_CHANDATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CHANDATA_HEADER_LEN 4
#define CHANNEL_MIN 0x4000
/* RFC 8656 §12: the range a client should pick from (turnpike-bench does). */
#define CHANNEL_MAX 0x4FFF
/*
 * RFC 5766 allowed up to 0x7FFF and coturn's clients (turnutils_uclient) still
 * pick numbers there; ChannelBind accepts them only with rfc5766-channel-numbers.
 */
#define CHANNEL_LEGACY_MAX 0x7FFF

/* True for a number a ChannelData header can carry (top bits 01): 0x4000-0x7FFF. */
bool chandata_is_channel(uint16_t ch);

/*
 * Decodes one ChannelData message from p[0..len). On datagrams the length field
 * must fit in len (trailing bytes ignored); with stream true the padding must
 * also be present. Sets channel, data, datalen and *consumed (header + data
 * + padding on streams). Returns -1 with *errstr on anything malformed.
 */
int chandata_decode(const uint8_t *p, size_t len, bool stream, uint16_t *channel,
    const uint8_t **data, size_t *datalen, size_t *consumed, const char **errstr);

/* Writes header, data and (stream) zero padding; returns bytes written or -1. */
int chandata_encode(uint8_t *out, size_t cap, uint16_t channel, const void *data, size_t datalen,
    bool stream);

#endif
