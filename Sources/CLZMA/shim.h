#pragma once
#include <lzma.h>

// Function-like macros do not import into Swift; the decoder flag as a constant.
static const uint32_t cw_lzma_concatenated = LZMA_CONCATENATED;
