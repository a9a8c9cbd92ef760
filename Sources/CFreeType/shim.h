#ifndef KDS_CFREETYPE_SHIM_H
#define KDS_CFREETYPE_SHIM_H
#include <ft2build.h>
#include FT_FREETYPE_H
#include FT_GLYPH_H
#include FT_BITMAP_H
#endif
