// libhdf5's C API. The include path (/usr/include/hdf5/serial on Debian) and the
// library path come from pkg-config `hdf5` (see Package.swift).
#include <hdf5.h>
