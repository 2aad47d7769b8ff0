#ifndef PORTER_CZLIB_SHIM_H
#define PORTER_CZLIB_SHIM_H
#include <zlib.h>

/// inflateInit2 for raw deflate streams (zip entries); a function because Swift cannot call the macro.
static inline int porter_inflate_init_raw(z_stream *stream) {
    return inflateInit2(stream, -15);
}
#endif
