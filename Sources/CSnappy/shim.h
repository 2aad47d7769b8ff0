// libsnappy's C API (Debian/Ubuntu: libsnappy-dev), for snappy-compressed table blocks.
#include <snappy-c.h>
