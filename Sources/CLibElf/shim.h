#pragma once
#include <libelf.h>
#include <gelf.h>

// Constants that are macros in some header versions, as values Swift can see.
static const unsigned cw_ev_current = EV_CURRENT;
