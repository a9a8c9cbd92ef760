#ifndef KDS_CZLIB_SHIM_H
#define KDS_CZLIB_SHIM_H
#include <zlib.h>
#endif
